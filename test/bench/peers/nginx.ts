import { join } from 'node:path';
import { startHop, type RunningHop } from '../hop-process.js';
import type { TlsFiles } from '../bench-pki.js';
import { BODY_BYTES, UPSTREAM_PORT, type HopProcess, type PathContext, type PeerPath } from '../topology.js';

/** Settings every nginx here shares: one worker, foreground, all state in the bench directory. */
function common(dir: string, name: string): string {
  const tmp = join(dir, `${name}-tmp`);
  return `worker_processes 1; daemon off; pid ${join(dir, `${name}.pid`)}; error_log ${join(dir, `${name}-error.log`)} warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  client_body_temp_path ${tmp}-body; proxy_temp_path ${tmp}-proxy; fastcgi_temp_path ${tmp}-fastcgi;
  uwsgi_temp_path ${tmp}-uwsgi; scgi_temp_path ${tmp}-scgi;`;
}

/** The upstream of every path: nginx answering 200 with a 1 KB body. */
export function upstreamConfig(dir: string): string {
  const body = 'x'.repeat(BODY_BYTES - 1) + '\n';
  return `${common(dir, 'upstream')}
  server { listen 127.0.0.1:${UPSTREAM_PORT}; location / { default_type text/plain; return 200 '${body}'; } } }
`;
}

/**
 * One nginx reverse-proxy hop: HTTP/1.1 keep-alive to `next` (an upstream block with idle connections
 * kept), the client's Host passed on; TLS as asked, mutual and hostname-checked when both sides have it.
 */
export function nginxConfig(
  dir: string,
  name: string,
  hop: { port: number; next: number; serverTls?: TlsFiles; clientTls?: TlsFiles },
): string {
  const listenTls = hop.serverTls
    ? ` ssl;
    ssl_certificate ${hop.serverTls.certChain}; ssl_certificate_key ${hop.serverTls.key};
    ssl_client_certificate ${hop.serverTls.root}; ssl_verify_client on`
    : '';
  const proxyTls = hop.clientTls
    ? `
      proxy_ssl_certificate ${hop.clientTls.certChain}; proxy_ssl_certificate_key ${hop.clientTls.key};
      proxy_ssl_trusted_certificate ${hop.clientTls.root}; proxy_ssl_verify on; proxy_ssl_name localhost;
      proxy_ssl_session_reuse on;`
    : '';
  return `${common(dir, name)}
  upstream next { server 127.0.0.1:${hop.next}; keepalive 64; }
  server {
    listen 127.0.0.1:${hop.port}${listenTls};
    location / {
      proxy_pass ${hop.clientTls ? 'https' : 'http'}://next;
      proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $http_host;${proxyTls}
    }
  } }
`;
}

function hopProcess(ctx: PathContext, name: string, config: string, port: number): HopProcess {
  const file = join(ctx.dir, `${name}.conf`);
  return { name, command: 'nginx', args: ['-c', file], files: [{ path: file, content: config }], port };
}

/** nginx from Debian as a reverse proxy: 28200 + 10 per scenario; hop 1 on +1, hop 2 on +2. */
export function nginxPath(ctx: PathContext): PeerPath {
  const base = 28200 + ctx.index * 10;
  const first = base + 1;
  const a = `nginx-${ctx.scenario.name}-a`;
  if (ctx.scenario.hops === 1) {
    const config = nginxConfig(ctx.dir, a, { port: first, next: UPSTREAM_PORT });
    return { entryPort: first, hops: [hopProcess(ctx, a, config, first)] };
  }
  const second = base + 2;
  const b = `nginx-${ctx.scenario.name}-b`;
  const tls = ctx.scenario.mtls;
  const configA = nginxConfig(ctx.dir, a, {
    port: first,
    next: second,
    ...(tls ? { clientTls: ctx.pki.tlsClient } : {}),
  });
  const configB = nginxConfig(ctx.dir, b, {
    port: second,
    next: UPSTREAM_PORT,
    ...(tls ? { serverTls: ctx.pki.tlsServer } : {}),
  });
  return {
    entryPort: first,
    hops: [hopProcess(ctx, a, configA, first), hopProcess(ctx, b, configB, second)],
  };
}

/** The nginx upstream every path ends at (one worker answering 1 KB), started in `dir`. */
export function startUpstreamNginx(dir: string): Promise<RunningHop> {
  const file = join(dir, 'upstream.conf');
  return startHop({
    name: 'upstream',
    command: 'nginx',
    args: ['-c', file],
    files: [{ path: file, content: upstreamConfig(dir) }],
    port: UPSTREAM_PORT,
  });
}
