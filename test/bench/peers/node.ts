import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { proxyBuildOptions } from '../../../proxy/tools/bundle.js';
import { UPSTREAM_PORT, type HopProcess, type PathContext, type PeerPath } from '../topology.js';

/**
 * "bare Node": the featureless Node forwarder beside Weft (node-forwarder.ts), bundled the way Weft's proxy is
 * (proxy/tools/bundle.ts: one ESM file, undici inside, built-ins required), so the two differ in
 * what they do per request, not in how they load.
 */

/** One hop of the forwarder, passed to it as its one argument (JSON). */
export interface ForwarderHop {
  readonly port: number;
  readonly next: number;
  /** Serve TLS and require a client certificate signed by `root`. */
  readonly serverTls?: TlsPaths;
  /** Connect to `next` with TLS, presenting this certificate and verifying the server's name and chain. */
  readonly clientTls?: TlsPaths;
}

export interface TlsPaths {
  readonly certChain: string;
  readonly key: string;
  readonly root: string;
}

const bundleFile = (dir: string): string => join(dir, 'node-forwarder.mjs');

/** Bundles the forwarder into the run's directory; once per run, before any path starts. */
export async function bundleNodeForwarder(dir: string): Promise<void> {
  const source = join(dirname(fileURLToPath(import.meta.url)), 'node-forwarder.ts');
  const options = proxyBuildOptions(dirname(source), bundleFile(dir));
  await build({ ...options, entryPoints: [source], sourcemap: false, define: {} });
}

function hopProcess(ctx: PathContext, name: string, hop: ForwarderHop): HopProcess {
  return {
    name,
    command: process.execPath,
    args: [bundleFile(ctx.dir), JSON.stringify(hop)],
    files: [],
    port: hop.port,
  };
}

/** 28400 + 10 per scenario; hop 1 on +1, hop 2 on +2; HTTP/1.1 over mutual TLS between the hops when asked. */
export function nodePath(ctx: PathContext): PeerPath {
  const first = 28400 + ctx.index * 10 + 1;
  const name = `node-${ctx.scenario.name}`;
  if (ctx.scenario.hops === 1)
    return { entryPort: first, hops: [hopProcess(ctx, name, { port: first, next: UPSTREAM_PORT })] };
  const second = first + 1;
  const tls = ctx.scenario.mtls;
  return {
    entryPort: first,
    hops: [
      hopProcess(ctx, `${name}-a`, {
        port: first,
        next: second,
        ...(tls ? { clientTls: ctx.pki.tlsClient } : {}),
      }),
      hopProcess(ctx, `${name}-b`, {
        port: second,
        next: UPSTREAM_PORT,
        ...(tls ? { serverTls: ctx.pki.tlsServer } : {}),
      }),
    ],
  };
}
