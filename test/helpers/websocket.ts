import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Just enough WebSocket (RFC 6455) for tests: a server side that accepts the handshake, greets with
 * one text message and echoes what it is sent, and a raw client that can name any Host (a proxy's
 * outbound listener routes by it). Text frames under 126 bytes only.
 */

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const acceptKey = (key: string): string =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64');

/** One text frame; `mask` as a client must. */
export function textFrame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 126) throw new Error('test frames are under 126 bytes');
  if (!mask) return Buffer.concat([Buffer.from([0x81, payload.length]), payload]);
  const key = randomBytes(4);
  const masked = payload.map((b, i) => b ^ key[i % 4]!);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), key, masked]);
}

/** The text of the first frame in `data`, unmasking if needed; undefined until a whole frame is there. */
export function readTextFrame(data: Buffer): string | undefined {
  if (data.length < 2) return undefined;
  const masked = (data[1]! & 0x80) !== 0;
  const length = data[1]! & 0x7f;
  const start = masked ? 6 : 2;
  if (data.length < start + length) return undefined;
  const payload = data.subarray(start, start + length);
  if (!masked) return payload.toString();
  const key = data.subarray(2, 6);
  return Buffer.from(payload.map((b, i) => b ^ key[i % 4]!)).toString();
}

/** Server side of an upgrade: 101, a greeting `greeting(req)`, then every client text frame echoed. */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, greeting: string): void {
  const key = req.headers['sec-websocket-key'];
  if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\n\r\n`,
  );
  socket.write(textFrame(greeting, false));
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const text = readTextFrame(buffered);
    if (text === undefined) return;
    buffered = Buffer.alloc(0);
    socket.write(textFrame(`echo: ${text}`, false));
  });
  socket.on('error', () => undefined);
  // An HTTP server's sockets allow half-open connections; a peer that ends ends this side too.
  socket.on('end', () => socket.end());
}

export interface WebSocketClient {
  /** The status line and headers of the handshake answer. */
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly key: string;
  /** Waits for the next text message. */
  next(): Promise<string>;
  send(text: string): void;
  close(): void;
}

/** Opens a WebSocket to `address:port` naming `host`, and resolves once the handshake answer is in. */
export function openWebSocket(
  port: number,
  host: string,
  path: string,
  address = '127.0.0.1',
): Promise<WebSocketClient> {
  const key = randomBytes(16).toString('base64');
  const socket = connect({ host: address, port });
  let data = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
    for (const w of waiters.splice(0)) w();
  });
  const more = (): Promise<void> => new Promise((resolve) => waiters.push(resolve));
  socket.write(
    `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: ${key}\r\n\r\n`,
  );
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    const handshake = async (): Promise<void> => {
      while (data.indexOf('\r\n\r\n') < 0) {
        if (socket.destroyed) throw new Error(`closed before a handshake answer: ${data.toString()}`);
        await more();
      }
      const end = data.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = data.subarray(0, end).toString().split('\r\n');
      data = data.subarray(end + 4);
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const next = async (): Promise<string> => {
        for (;;) {
          const text = readTextFrame(data);
          if (text !== undefined) {
            data = data.subarray((data[1]! & 0x7f) + 2);
            return text;
          }
          if (socket.destroyed) throw new Error('closed before a message');
          await more();
        }
      };
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        key,
        next,
        send: (text) => socket.write(textFrame(text, true)),
        close: () => socket.destroy(),
      });
    };
    socket.once('close', () => {
      for (const w of waiters.splice(0)) w();
    });
    handshake().catch(reject);
  });
}
