import { join } from 'node:path';
import type { ProxyConfig } from '../../../proxy/config/generated/proxy-config.js';
import { inboundConfig, outboundConfig, route, SERVICE, SERVICE_PORT } from '../../helpers/proxy.js';
import { repoRoot } from '../../cluster/paths.js';
import type { TlsFiles } from '../bench-pki.js';
import { UPSTREAM_PORT, type HopProcess, type PathContext, type PeerPath } from '../topology.js';

const SVC_CLUSTER = `outbound|${SERVICE_PORT}||${SERVICE}`;

/**
 * The client's sidecar: Host svc:9080 routes to svc's cluster; its one endpoint is the upstream itself
 * (one hop) or the server's sidecar, over mesh mTLS verified against the server's SPIFFE ID when asked.
 */
export function clientSidecarConfig(next: { port: number; mtlsIdentity?: string }): ProxyConfig {
  const endpoint = next.mtlsIdentity
    ? { address: '127.0.0.1', port: next.port, identity: next.mtlsIdentity, meshTls: true }
    : { address: '127.0.0.1', port: next.port };
  return outboundConfig(
    [route('default/svc', { clusters: [{ cluster: SVC_CLUSTER, weight: 100 }] })],
    [{ name: SVC_CLUSTER, ...(next.mtlsIdentity ? { tls: { mode: 'MESH' } } : {}), endpoints: [endpoint] }],
  );
}

/** The server's sidecar: inbound on svc's port to the local application (the upstream); STRICT with mTLS. */
export function serverSidecarConfig(mtls: boolean): ProxyConfig {
  return inboundConfig(UPSTREAM_PORT, mtls ? 'STRICT' : 'DISABLE');
}

/** Admin, health and metrics get ports of their own beside the traffic ones. */
export function weftPorts(base: number): {
  outbound: number;
  inbound: number;
  admin: number;
  health: number;
  metrics: number;
} {
  return { outbound: base, inbound: base + 1, admin: base + 2, health: base + 3, metrics: base + 4 };
}

/** The proxy as the image runs it: the bundle `npm run build` writes (proxy/tools/bundle.ts). */
export const WEFT_PROXY_BUNDLE = 'dist/proxy/weft-proxy.mjs';

/** A standalone weft-proxy from the build (`entry`, relative to the repository). */
function weftProcess(
  ctx: PathContext,
  entry: string,
  name: string,
  config: ProxyConfig,
  base: number,
  identity: TlsFiles | undefined,
  listenOn: 'outbound' | 'inbound',
): HopProcess {
  const file = join(ctx.dir, `${name}.json`);
  const ports = weftPorts(base);
  const args = [
    join(repoRoot, entry),
    `--config=${file}`,
    ...Object.entries(ports).map(([k, v]) => `--${k}-port=${v}`),
    '--log-level=warn',
    ...(identity
      ? [`--cert-chain=${identity.certChain}`, `--key=${identity.key}`, `--root-cert=${identity.root}`]
      : []),
  ];
  return {
    name,
    command: process.execPath,
    args,
    files: [{ path: file, content: JSON.stringify(config, null, 2) }],
    port: ports[listenOn],
  };
}

/**
 * Weft: 28300 + 20 per scenario; the client's sidecar on base..base+4, the server's on base+10...
 * `entry` is the build the hops run, the bundle unless a suite needs another.
 */
export function weftPath(ctx: PathContext, entry = WEFT_PROXY_BUNDLE): PeerPath {
  const base = 28300 + ctx.index * 20;
  const a = `weft-${ctx.scenario.name}-a`;
  if (ctx.scenario.hops === 1) {
    const hop = weftProcess(
      ctx,
      entry,
      a,
      clientSidecarConfig({ port: UPSTREAM_PORT }),
      base,
      undefined,
      'outbound',
    );
    return { entryPort: hop.port, hops: [hop] };
  }
  const mtls = ctx.scenario.mtls;
  const server = weftProcess(
    ctx,
    entry,
    `weft-${ctx.scenario.name}-b`,
    serverSidecarConfig(mtls),
    base + 10,
    mtls ? ctx.pki.weftServer : undefined,
    'inbound',
  );
  const next = { port: server.port, ...(mtls ? { mtlsIdentity: ctx.pki.weftServer.spiffeId } : {}) };
  const client = weftProcess(
    ctx,
    entry,
    a,
    clientSidecarConfig(next),
    base,
    mtls ? ctx.pki.weftClient : undefined,
    'outbound',
  );
  return { entryPort: client.port, hops: [client, server] };
}
