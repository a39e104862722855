import type { createServer } from 'node:http';
import type { Registry } from 'prom-client';
import { redactSecrets } from '../discovery/tls-secret.js';
import type { PushServer } from '../push/push-server.js';
import type { GatewayCredentials } from './gateway-credentials.js';

/**
 * Port 15014: metrics, health, and the debug endpoints behind `weftctl proxy-status` and
 * `weftctl proxy-config`, and /debug/gateway-credentials. Private keys never leave it.
 */
export function monitoringHandler(
  registry: Registry,
  push: PushServer,
  ready: () => boolean,
  credentials?: Pick<GatewayCredentials, 'status'>,
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
        else json(200, redactSecrets(connection.config));
        return;
      }
      case '/debug/gateway-credentials':
        json(200, credentials?.status() ?? []);
        return;
      default:
        res.writeHead(404).end('not found\n');
    }
  };
}
