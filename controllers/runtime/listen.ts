import type { Server } from 'node:http';
import type { Http2Server } from 'node:http2';

/** `host:port` (or `:port`, all interfaces) into listen arguments. Pure. */
export function parseBindAddress(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const host = at <= 0 ? '0.0.0.0' : value.slice(0, at);
  const port = Number(value.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid bind address "${value}": expected host:port or :port, e.g. 127.0.0.1:8081`);
  }
  return { host, port };
}

/** Starts `server` on a bind address; resolves with the bound port (useful with port 0). */
export function listen(server: Server | Http2Server, bind: string): Promise<number> {
  const { host, port } = parseBindAddress(bind);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const bound = server.address();
      resolve(typeof bound === 'object' && bound ? bound.port : port);
    });
  });
}
