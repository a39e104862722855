import type { Socket } from 'node:net';

/**
 * Waits for a connection's first bytes without consuming them (they are unshifted back), to tell
 * TLS from plaintext and HTTP/2 from HTTP/1.1. `timeoutMs` bounds the wait so a server-first
 * protocol (the client waits for the server to speak) is never stalled: on timeout `first` is
 * undefined and the connection is treated as plaintext.
 */
export function peekFirstBytes(
  socket: Socket,
  timeoutMs: number,
  then: (first: Buffer | undefined) => void,
): void {
  let done = false;
  const finish = (first: Buffer | undefined): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.removeListener('readable', onReadable);
    socket.removeListener('close', onClose);
    then(first);
  };
  const onReadable = (): void => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) return;
    socket.unshift(chunk);
    finish(chunk);
  };
  const onClose = (): void => {
    done = true;
    clearTimeout(timer);
  };
  const timer = timeoutMs > 0 ? setTimeout(() => finish(undefined), timeoutMs) : undefined;
  socket.on('readable', onReadable);
  socket.once('close', onClose);
}

export const TLS_HANDSHAKE_RECORD = 0x16;
