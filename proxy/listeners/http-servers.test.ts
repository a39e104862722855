import assert from 'node:assert/strict';
import { request as http1Request } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HttpServers } from './http-servers.js';

/** Answers every request with the HTTP version it came in. */
const servers = new HttpServers((req, res) => res.end(`HTTP/${req.httpVersionMajor}`));

/** A plain TCP server handing each connection to `servePlaintext` with `timeoutMs`. */
async function listen(timeoutMs: number): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    socket.on('error', () => socket.destroy());
    servers.servePlaintext(socket, timeoutMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('HttpServers.servePlaintext: HTTP/1.1 or h2c by the first bytes', () => {
  let plain: { server: Server; port: number };

  before(async () => {
    plain = await listen(5_000);
  });

  after(() => {
    servers.drain();
    plain.server.close();
  });

  it('serves HTTP/2 to a client that opens with the h2c preface (prior knowledge)', async () => {
    const session = http2Connect(`http://127.0.0.1:${plain.port}`);
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/' });
        let text = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (text += c));
        req.on('end', () => resolve(text));
        req.on('error', reject);
        session.on('error', reject);
      });
      assert.equal(body, 'HTTP/2');
    } finally {
      session.close();
    }
  });

  it('serves HTTP/1.1 to any other client', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = http1Request({ host: '127.0.0.1', port: plain.port, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(body, 'HTTP/1');
  });

  it('closes a client that sends nothing within the timeout, without a byte', async () => {
    const quick = await listen(50);
    try {
      const client = connect(quick.port, '127.0.0.1');
      const received: Buffer[] = [];
      client.on('data', (c: Buffer) => received.push(c));
      await new Promise<void>((resolve, reject) => {
        client.on('close', () => resolve());
        client.on('error', reject);
      });
      assert.equal(Buffer.concat(received).length, 0);
    } finally {
      quick.server.close();
    }
  });
});
