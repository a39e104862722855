import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { ADDON_PATH } from '../../proxy/original-dst/original-dst.js';
import { bundleProxy } from '../../proxy/tools/bundle.js';
import { repoRoot } from '../cluster/paths.js';
import { ensureOriginalDstAddon } from '../helpers/original-dst-addon.js';
import { metricReaches } from '../helpers/prometheus.js';
import {
  inboundConfig,
  outboundConfig,
  route,
  scrape,
  send,
  SERVICE,
  SERVICE_PORT,
  startUpstream,
  TestMeshPki,
  type Upstream,
} from '../helpers/proxy.js';
import { startProxyProcess, type ProxyProcess } from '../helpers/proxy-process.js';

/**
 * The proxy as the image runs it: this checkout built with tsc and bundled by proxy/tools/bundle.ts
 * (what `npm run build` does), into a directory of its own outside the repository, so the bundle
 * can reach no node_modules. Two bundled proxies carry requests over mesh mTLS to an application,
 * which fails if the bundle lost a dependency, a built-in, the config validator or the metrics.
 */

const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
const CAPTURE_UNAVAILABLE = 'original destinations cannot be read';

/** Starts the bundle standalone on free loopback ports; resolves once it logs that it started. */
const startBundled = (bundle: string, config: ProxyConfig, args: string[]): Promise<ProxyProcess> =>
  startProxyProcess([bundle], join(bundle, '..'), config, args);

describe('the bundled proxy (dist/proxy/weft-proxy.mjs, as the image runs it)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bundle-'));
  const bundle = join(dir, 'image', 'weft-proxy.mjs');
  const proxies: ProxyProcess[] = [];
  let app: Upstream;
  let client: ProxyProcess;
  let addonSkip: string | undefined;

  before(async () => {
    const tsc = spawnSync(
      process.execPath,
      [
        join(repoRoot, 'node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        join(dir, 'dist'),
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`);
    await bundleProxy(join(dir, 'dist', 'proxy'), bundle);
    // The image copies the addon beside the bundle's directory (Dockerfile); so does this test.
    addonSkip = ensureOriginalDstAddon()?.skip;
    if (!addonSkip) {
      const release = join(dir, 'image', 'original-dst', 'build', 'Release');
      mkdirSync(release, { recursive: true });
      copyFileSync(ADDON_PATH, join(release, 'original_dst.node'));
    }

    const pki = new TestMeshPki();
    const serverIdentity = pki.workload('default', 'svc');
    const clientIdentity = pki.workload('default', 'client');
    const identityArgs = (i: typeof serverIdentity): string[] => [
      `--cert-chain=${i.certChain}`,
      `--key=${i.key}`,
      `--root-cert=${i.root}`,
    ];
    app = await startUpstream('svc');
    const server = await startBundled(
      bundle,
      inboundConfig(app.port, 'STRICT'),
      identityArgs(serverIdentity),
    );
    proxies.push(server);
    const cluster = `outbound|${SERVICE_PORT}||${SERVICE}`;
    const endpoint = {
      address: '127.0.0.1',
      port: server.ports.inbound,
      identity: serverIdentity.spiffeId,
      meshTls: true,
    };
    // Capture on (bound to loopback, nothing redirected): the proxy loads the addon, and says when it cannot.
    client = await startBundled(
      bundle,
      outboundConfig(
        [route('default/svc', { clusters: [{ cluster, weight: 100 }] })],
        [{ name: cluster, tls: { mode: 'MESH' }, endpoints: [endpoint] }],
      ),
      [...identityArgs(clientIdentity), '--capture', '--bind=127.0.0.1'],
    );
    proxies.push(client);
  });

  after(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries requests through two bundled proxies over mesh mTLS, with the verified caller identity', async () => {
    for (const path of ['/one', '/two']) {
      const res = await send(client.ports.outbound, path);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'hello from svc\n');
      assert.equal(app.received.at(-1)?.url, path);
    }
    assert.equal(app.received.at(-1)?.headers['x-forwarded-client-cert'], `URI=${CLIENT_ID}`);
  });

  it('counts the requests in its Prometheus metrics', async () => {
    await metricReaches(
      'the client proxy',
      () => scrape(client.ports.metrics),
      'weft_requests_total',
      { reporter: 'source', response_code: '200' },
      2,
    );
  });

  it('finds the SO_ORIGINAL_DST addon beside the bundle', (t) => {
    if (addonSkip) return t.skip(addonSkip);
    assert.ok(!client.logs().includes(CAPTURE_UNAVAILABLE), client.logs());
  });
});
