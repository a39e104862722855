import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

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

async function listen(server: Server, bind: string): Promise<Server> {
  const { host, port } = parseBindAddress(bind);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** `/healthz` answers while the process serves; `/readyz` once `ready()` says so (caches synced). */
export function serveProbes(bind: string, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    const ok = req.url === '/healthz' ? true : req.url === '/readyz' ? ready() : undefined;
    if (ok === undefined) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
  });
  return listen(server, bind);
}

export function serveMetrics(bind: string, registry: Registry): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  return listen(server, bind);
}
