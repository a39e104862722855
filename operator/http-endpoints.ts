import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { listen } from '../controllers/runtime/listen.js';

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
  return listen(server, bind).then(() => server);
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
  return listen(server, bind).then(() => server);
}
