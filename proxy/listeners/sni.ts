import type { Socket } from 'node:net';
import { TLS_HANDSHAKE_RECORD } from './peek.js';

const CLIENT_HELLO = 0x01;
const SERVER_NAME_EXTENSION = 0x0000;
const HOST_NAME = 0x00;
/** A TLS record carries at most 2^14 bytes (RFC 8446 §5.1); a ClientHello larger than one is not read. */
const MAX_RECORD = 5 + 16_384;

/**
 * How many bytes the first TLS record needs in all, once its 5-byte header is in `b`; undefined
 * before that, or when `b` does not start a handshake record. Pure.
 */
export function tlsRecordLength(b: Buffer): number | undefined {
  if (b.length < 5 || b[0] !== TLS_HANDSHAKE_RECORD) return undefined;
  return 5 + b.readUInt16BE(3);
}

/**
 * The server name (SNI) of a TLS ClientHello, lowercase, from the first record of a connection;
 * undefined when there is none or the bytes are not a whole, well-formed ClientHello. Pure.
 */
export function serverNameOf(b: Buffer): string | undefined {
  const end = tlsRecordLength(b);
  if (end === undefined || end > b.length || b[5] !== CLIENT_HELLO) return undefined;
  // Handshake header (4), client_version (2), random (32), then the variable-length fields.
  let at = 5 + 4 + 2 + 32;
  at += 1 + (b[at] ?? end);
  at += 2 + (at + 2 <= end ? b.readUInt16BE(at) : end);
  at += 1 + (b[at] ?? end);
  if (at + 2 > end) return undefined;
  const extensionsEnd = Math.min(end, at + 2 + b.readUInt16BE(at));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = b.readUInt16BE(at);
    const length = b.readUInt16BE(at + 2);
    at += 4;
    if (type === SERVER_NAME_EXTENSION) return hostName(b, at, Math.min(at + length, extensionsEnd));
    at += length;
  }
  return undefined;
}

/** The first host_name entry of a server_name extension's list. */
function hostName(b: Buffer, start: number, end: number): string | undefined {
  let at = start + 2;
  while (at + 3 <= end) {
    const type = b[at];
    const length = b.readUInt16BE(at + 1);
    at += 3;
    if (at + length > end) return undefined;
    if (type === HOST_NAME) return b.toString('latin1', at, at + length).toLowerCase();
    at += length;
  }
  return undefined;
}

/**
 * Reads a connection's first TLS record without consuming it, then calls `then` with the server
 * name it asks for (undefined if none). A ClientHello may span several TCP segments (post-quantum
 * key shares make it larger than one), so bytes are gathered until the record is whole, within
 * `timeoutMs`; everything read is unshifted back for the TCP proxy to forward.
 */
export function readServerName(
  socket: Socket,
  timeoutMs: number,
  then: (sni: string | undefined) => void,
): void {
  let seen: Buffer = Buffer.alloc(0);
  let done = false;
  const stop = (): void => {
    done = true;
    clearTimeout(timer);
    socket.removeListener('readable', onReadable);
    socket.removeListener('end', finish);
    socket.removeListener('close', stop);
  };
  const finish = (): void => {
    if (done) return;
    stop();
    if (seen.length > 0) socket.unshift(seen);
    then(serverNameOf(seen));
  };
  const onReadable = (): void => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) return;
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const needed = tlsRecordLength(seen);
    if (seen.length >= 5 && (needed === undefined || seen.length >= Math.min(needed, MAX_RECORD))) finish();
  };
  const timer = setTimeout(finish, timeoutMs);
  socket.on('readable', onReadable);
  socket.once('end', finish);
  // A connection that closes before its ClientHello is whole has nowhere to go.
  socket.once('close', stop);
}
