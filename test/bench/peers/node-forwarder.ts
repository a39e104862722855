import { readFileSync } from 'node:fs';
// Types apart: the bundler's built-ins plugin (proxy/tools/builtins-by-require.ts) reads value imports only.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { pipeline } from 'node:stream';
import type { PeerCertificate } from 'node:tls';
import { checkServerIdentity } from 'node:tls';
import { Pool } from 'undici';
// RFC 9110 section 7.6.1's list, as Weft has it: a proxy does not forward these, and undici refuses most.
import { HOP_BY_HOP } from '../../../proxy/http/headers.js';
import type { ForwarderHop, TlsPaths } from './node.js';

/**
 * "bare Node": an HTTP/1.1 forwarder on Node written the plain way, with none of Weft's features.
 * node:http (node:https with client certificates) in, undici's Pool through its request API out;
 * headers copied minus the hop-by-hop ones, bodies streamed. No routing, telemetry, retries, timeouts
 * or identity. The proxy bench runs it beside Weft, so every run shows what the runtime costs with no
 * proxy logic at all (docs/performance.md). It is bundled and run by the bench (peers/node.ts), never
 * shipped.
 */

function endToEnd(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

const tls = (p: TlsPaths): { cert: Buffer; key: Buffer; ca: Buffer } => ({
  cert: readFileSync(p.certChain),
  key: readFileSync(p.key),
  ca: readFileSync(p.root),
});

function forwarder(hop: ForwarderHop): (req: IncomingMessage, res: ServerResponse) => void {
  const pool = new Pool(`${hop.clientTls ? 'https' : 'http'}://127.0.0.1:${hop.next}`, {
    // undici names the server after the request's Host (svc); the bench's server certificate is for
    // localhost, which is the name checked, as nginx's hop does.
    ...(hop.clientTls
      ? {
          connect: {
            ...tls(hop.clientTls),
            ALPNProtocols: ['http/1.1'],
            checkServerIdentity: (_host: string, cert: PeerCertificate) =>
              checkServerIdentity('localhost', cert),
          },
        }
      : {}),
  });
  const fail = (res: ServerResponse, err: Error): void => {
    if (res.headersSent) res.destroy(err);
    else res.writeHead(502).end(err.message);
  };
  return (req, res) => {
    const bodyless = req.method === 'GET' || req.method === 'HEAD';
    pool
      .request({
        path: req.url ?? '/',
        method: req.method as 'GET',
        headers: endToEnd(req.headers),
        body: bodyless ? null : req,
      })
      .then(
        (answer) => {
          res.writeHead(answer.statusCode, endToEnd(answer.headers));
          pipeline(answer.body, res, (err) => err && res.destroy());
        },
        (err: Error) => fail(res, err),
      );
  };
}

function main(): void {
  const hop = JSON.parse(process.argv[2] ?? '') as ForwarderHop;
  const handler = forwarder(hop);
  const server = hop.serverTls
    ? createHttpsServer({ ...tls(hop.serverTls), requestCert: true, rejectUnauthorized: true }, handler)
    : createHttpServer(handler);
  server.listen(hop.port, '127.0.0.1');
  process.once('SIGTERM', () => process.exit(0));
}

main();
