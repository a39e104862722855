import type { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import type { PushServer } from '../push/push-server.js';

/**
 * Port 15014: metrics, health, and the debug endpoints behind `weftctl proxy-status` and
 * `weftctl proxy-config`.
 */
export function monitoringHandler(
  registry: Registry,
  push: PushServer,
  ready: () => boolean,
): Parameters<typeof createServer>[1] {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body, null, 2) + '\n');
    };
    switch (url.pathname) {
      case '/healthz':
        res.writeHead(200).end('ok\n');
        return;
      case '/readyz':
        res.writeHead(ready() ? 200 : 503).end(ready() ? 'ok\n' : 'not ready\n');
        return;
      case '/metrics':
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
        return;
      case '/debug/proxy-status':
        json(200, push.status());
        return;
      case '/debug/proxy-config': {
        const id = url.searchParams.get('proxy') ?? '';
        const connection = push.connections.get(id);
        if (!connection?.config)
          json(404, { error: `no connected proxy "${id}"; list them at /debug/proxy-status` });
        else json(200, connection.config);
        return;
      }
      default:
        res.writeHead(404).end('not found\n');
    }
  };
}
