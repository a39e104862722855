import { join } from 'node:path';
import type { TlsFiles } from '../bench-pki.js';
import { UPSTREAM_PORT, type HopProcess, type PathContext, type PeerPath } from '../topology.js';

/** One HAProxy hop: a frontend on `port`, keep-alive and connection reuse to `next`, TLS as asked. */
export function haproxyConfig(hop: {
  port: number;
  next: number;
  serverTls?: TlsFiles;
  clientTls?: TlsFiles;
}): string {
  const bindTls = hop.serverTls
    ? ` ssl crt ${hop.serverTls.combined} ca-file ${hop.serverTls.root} verify required`
    : '';
  const serverTls = hop.clientTls
    ? ` ssl crt ${hop.clientTls.combined} ca-file ${hop.clientTls.root} verify required`
    : '';
  // One thread: the same one core's worth as nginx's single worker and Node's event loop.
  return `global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend fe
  bind 127.0.0.1:${hop.port}${bindTls}
  default_backend be
backend be
  http-reuse always
  server next 127.0.0.1:${hop.next}${serverTls}
`;
}

function hopProcess(ctx: PathContext, name: string, config: string, port: number): HopProcess {
  const file = join(ctx.dir, `${name}.cfg`);
  return { name, command: 'haproxy', args: ['-f', file], files: [{ path: file, content: config }], port };
}

/** HAProxy from Debian: 28100 + 10 per scenario; hop 1 on +1, hop 2 on +2. */
export function haproxyPath(ctx: PathContext): PeerPath {
  const base = 28100 + ctx.index * 10;
  const first = base + 1;
  if (ctx.scenario.hops === 1) {
    const name = `haproxy-${ctx.scenario.name}`;
    return {
      entryPort: first,
      hops: [hopProcess(ctx, name, haproxyConfig({ port: first, next: UPSTREAM_PORT }), first)],
    };
  }
  const second = base + 2;
  const tls = ctx.scenario.mtls;
  const a = haproxyConfig({ port: first, next: second, ...(tls ? { clientTls: ctx.pki.tlsClient } : {}) });
  const b = haproxyConfig({
    port: second,
    next: UPSTREAM_PORT,
    ...(tls ? { serverTls: ctx.pki.tlsServer } : {}),
  });
  return {
    entryPort: first,
    hops: [
      hopProcess(ctx, `haproxy-${ctx.scenario.name}-a`, a, first),
      hopProcess(ctx, `haproxy-${ctx.scenario.name}-b`, b, second),
    ],
  };
}
