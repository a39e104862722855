import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { snapshotFromObjects } from './snapshot-from-objects.js';
import type { ProxyIdentity } from './snapshot.js';
import { translate } from './translate.js';

/**
 * Golden tests: input YAML (bookinfo, Istio's samples ported to Weft, and a file with every field)
 * to the exact proxy configuration. `WEFT_UPDATE_GOLDEN=1 npm test -- translate` rewrites the
 * expected files; review the diff before committing it.
 */

const here = fileURLToPath(new URL('.', import.meta.url));
const repo = join(here, '..', '..');
const mesh = { trustDomain: 'cluster.local', rootNamespace: 'weft-system', mtlsMode: 'PERMISSIVE' as const };

function load(...files: string[]): KubernetesObject[] {
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(repo, file), 'utf8'))
      .map((doc) => doc.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => !!o),
  );
}

const productpage: ProxyIdentity = {
  id: 'productpage-v1.bookinfo',
  role: 'sidecar',
  namespace: 'bookinfo',
  workload: 'productpage-v1',
  serviceAccount: 'bookinfo-productpage',
  labels: { app: 'productpage', version: 'v1' },
};
const reviews: ProxyIdentity = {
  id: 'reviews-v2.bookinfo',
  role: 'sidecar',
  namespace: 'bookinfo',
  workload: 'reviews-v2',
  serviceAccount: 'bookinfo-reviews',
  labels: { app: 'reviews', version: 'v2' },
};

const BOOKINFO = 'controllers/translate/testdata/bookinfo.yaml';
const EDGE = 'controllers/translate/testdata/edge.yaml';
const gateway: ProxyIdentity = {
  id: 'weft-ingressgateway.weft-system',
  role: 'gateway',
  namespace: 'weft-system',
  serviceAccount: 'weft-ingressgateway',
  labels: { app: 'weft-ingressgateway' },
};
const scoped: ProxyIdentity = {
  id: 'audit.scoped',
  role: 'sidecar',
  namespace: 'scoped',
  serviceAccount: 'audit',
  labels: { app: 'audit' },
};
const outsider: ProxyIdentity = {
  id: 'web.frontend',
  role: 'sidecar',
  namespace: 'frontend',
  serviceAccount: 'web',
  labels: { app: 'web' },
};
const SAMPLES = 'crds/samples/bookinfo';

const cases: { name: string; files: string[]; proxy: ProxyIdentity }[] = [
  { name: 'bookinfo-no-routing', files: [BOOKINFO], proxy: productpage },
  {
    name: 'bookinfo-all-v1',
    files: [BOOKINFO, `${SAMPLES}/destination-rule-all.yaml`, `${SAMPLES}/virtual-service-all-v1.yaml`],
    proxy: productpage,
  },
  {
    name: 'bookinfo-reviews-90-10',
    files: [
      BOOKINFO,
      `${SAMPLES}/destination-rule-all.yaml`,
      `${SAMPLES}/virtual-service-reviews-90-10.yaml`,
    ],
    proxy: productpage,
  },
  {
    name: 'bookinfo-reviews-jason',
    files: [
      BOOKINFO,
      `${SAMPLES}/destination-rule-all.yaml`,
      `${SAMPLES}/virtual-service-reviews-jason-v2-v3.yaml`,
    ],
    proxy: productpage,
  },
  {
    name: 'bookinfo-ratings-delay',
    files: [
      BOOKINFO,
      `${SAMPLES}/destination-rule-all.yaml`,
      `${SAMPLES}/virtual-service-ratings-test-delay.yaml`,
    ],
    proxy: reviews,
  },
  {
    name: 'bookinfo-ratings-abort',
    files: [
      BOOKINFO,
      `${SAMPLES}/destination-rule-all.yaml`,
      `${SAMPLES}/virtual-service-ratings-test-abort.yaml`,
    ],
    proxy: reviews,
  },
  {
    name: 'bookinfo-mtls-alias',
    files: [BOOKINFO, `${SAMPLES}/destination-rule-all-mtls.yaml`],
    proxy: productpage,
  },
  {
    name: 'all-fields-client',
    files: [BOOKINFO, 'controllers/translate/testdata/all-fields.yaml'],
    proxy: productpage,
  },
  {
    name: 'all-fields-server',
    files: [BOOKINFO, 'controllers/translate/testdata/all-fields.yaml'],
    proxy: reviews,
  },
  { name: 'edge-gateway', files: [BOOKINFO, EDGE], proxy: gateway },
  { name: 'edge-tcp-and-external', files: [BOOKINFO, EDGE], proxy: reviews },
  { name: 'edge-sidecar-scoped', files: [BOOKINFO, EDGE], proxy: scoped },
  { name: 'edge-other-namespace', files: [BOOKINFO, EDGE], proxy: outsider },
];

describe('translate: golden proxy configurations', () => {
  for (const c of cases) {
    it(c.name, () => {
      const { config, diagnostics } = translate(
        snapshotFromObjects(load(...c.files), mesh, 'bookinfo'),
        c.proxy,
      );
      const actual = JSON.stringify({ config, diagnostics }, null, 2) + '\n';
      const goldenFile = join(here, 'testdata', 'golden', `${c.name}.json`);
      if (process.env.WEFT_UPDATE_GOLDEN === '1') writeFileSync(goldenFile, actual);
      assert.equal(
        actual,
        readFileSync(goldenFile, 'utf8'),
        `${c.name} differs from ${goldenFile}; if intended, regenerate with WEFT_UPDATE_GOLDEN=1`,
      );
    });
  }
});

describe('translate: inbound delivery', () => {
  const objects = load(BOOKINFO);
  const inboundEndpoints = (proxy: ProxyIdentity): unknown =>
    translate(snapshotFromObjects(objects, mesh, 'bookinfo'), proxy).config.endpoints.find((e) =>
      e.cluster.startsWith('inbound|'),
    )?.endpoints;

  it('delivers to the address the proxy announced, per proxy even when their scopes are equal', () => {
    const snapshot = snapshotFromObjects(objects, mesh, 'bookinfo');
    const at = (address: string): ProxyIdentity => ({ ...reviews, id: address, address });
    // The same snapshot twice: endpoints are memoised per scope, which must not share inbound ones.
    const first = translate(snapshot, at('10.0.0.7')).config.endpoints.find((e) =>
      e.cluster.startsWith('inbound|'),
    );
    const second = translate(snapshot, at('10.0.0.8')).config.endpoints.find((e) =>
      e.cluster.startsWith('inbound|'),
    );
    assert.deepEqual(first?.endpoints, [{ address: '10.0.0.7', port: 9080 }]);
    assert.deepEqual(second?.endpoints, [{ address: '10.0.0.8', port: 9080 }]);
  });

  it('delivers on loopback when the proxy announced no address', () => {
    assert.deepEqual(inboundEndpoints(reviews), [{ address: '127.0.0.1', port: 9080 }]);
  });
});

describe('translate: path normalisation', () => {
  const objects = load(BOOKINFO, EDGE);

  it("gives sidecars and gateways the Mesh's pathNormalization", () => {
    const snapshot = snapshotFromObjects(
      objects,
      { ...mesh, pathNormalization: 'MERGE_SLASHES' },
      'bookinfo',
    );
    for (const proxy of [reviews, gateway]) {
      assert.equal(translate(snapshot, proxy).config.security.pathNormalization, 'MERGE_SLASHES', proxy.id);
    }
  });

  it('leaves it out when the Mesh says nothing, which proxies read as BASE', () => {
    const config = translate(snapshotFromObjects(objects, mesh, 'bookinfo'), reviews).config;
    assert.equal('pathNormalization' in config.security, false);
  });
});

describe('translate: trust bundle', () => {
  const objects = load(BOOKINFO, EDGE);
  const roots = [
    '-----BEGIN CERTIFICATE-----\nold\n-----END CERTIFICATE-----\n',
    '-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n',
  ];

  it('gives sidecars and gateways every root of the bundle, in order', () => {
    const snapshot = snapshotFromObjects(objects, { ...mesh, trustBundle: roots }, 'bookinfo');
    for (const proxy of [reviews, gateway]) {
      assert.deepEqual(translate(snapshot, proxy).config.security.trustBundle, roots, proxy.id);
    }
  });

  it('leaves it out before the CA is known, so proxies keep the root they started with', () => {
    const config = translate(snapshotFromObjects(objects, mesh, 'bookinfo'), reviews).config;
    assert.equal('trustBundle' in config.security, false);
  });
});

describe("translate: h2UpgradePolicy (Istio's HTTP/1.1 → HTTP/2 upgrade)", () => {
  const upgradeReviews = (policy: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE'): KubernetesObject =>
    ({
      apiVersion: 'networking.weft.dev/v1',
      kind: 'DestinationRule',
      metadata: { name: 'reviews', namespace: 'bookinfo' },
      spec: { host: 'reviews', trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: policy } } } },
    }) as KubernetesObject;
  const upgraded = (objects: KubernetesObject[], meshPolicy?: 'DO_NOT_UPGRADE' | 'UPGRADE') => {
    const snapshot = snapshotFromObjects(
      objects,
      { ...mesh, ...(meshPolicy ? { h2UpgradePolicy: meshPolicy } : {}) },
      'bookinfo',
    );
    const clusters = translate(snapshot, productpage).config.clusters;
    return new Map(clusters.map((c) => [c.name, c.connectionPool?.http2Upgrade === true]));
  };
  const REVIEWS = 'outbound|9080||reviews.bookinfo.svc.cluster.local';
  const RATINGS = 'outbound|9080||ratings.bookinfo.svc.cluster.local';

  it('keeps HTTP/1.1 by default, as Istio does', () => {
    const clusters = upgraded(load(BOOKINFO));
    assert.ok(clusters.size > 0);
    assert.deepEqual(
      [...clusters].filter(([, up]) => up),
      [],
    );
  });

  it('upgrades a destination whose DestinationRule says UPGRADE, and only that one', () => {
    const clusters = upgraded([...load(BOOKINFO), upgradeReviews('UPGRADE')]);
    assert.equal(clusters.get(REVIEWS), true);
    assert.equal(clusters.get(RATINGS), false);
  });

  it("follows the Mesh's policy where the DestinationRule says DEFAULT or nothing, and DO_NOT_UPGRADE overrides it", () => {
    assert.equal(upgraded([...load(BOOKINFO), upgradeReviews('DEFAULT')], 'UPGRADE').get(REVIEWS), true);
    assert.equal(upgraded(load(BOOKINFO), 'UPGRADE').get(RATINGS), true);
    assert.equal(
      upgraded([...load(BOOKINFO), upgradeReviews('DO_NOT_UPGRADE')], 'UPGRADE').get(REVIEWS),
      false,
    );
  });

  it('never marks TCP, HTTP/2 or gRPC clusters (these have no HTTP/1.1 to upgrade)', () => {
    const snapshot = snapshotFromObjects(
      load(BOOKINFO, EDGE),
      { ...mesh, h2UpgradePolicy: 'UPGRADE' },
      'bookinfo',
    );
    const clusters = translate(snapshot, reviews).config.clusters;
    const others = clusters.filter((c) => c.protocol !== 'http');
    assert.ok(others.length > 0, 'the edge fixture has non-HTTP clusters');
    for (const c of others) assert.equal(c.connectionPool?.http2Upgrade, undefined, c.name);
  });
});

describe('translate: DestinationRule connection pool timeouts', () => {
  it('carries tcp.idleTimeout (0s included: never) beside the HTTP idle timeout', () => {
    const pool = (tcpIdle: string) =>
      ({
        apiVersion: 'networking.weft.dev/v1',
        kind: 'DestinationRule',
        metadata: { name: 'reviews', namespace: 'bookinfo' },
        spec: {
          host: 'reviews',
          trafficPolicy: { connectionPool: { tcp: { idleTimeout: tcpIdle }, http: { idleTimeout: '30s' } } },
        },
      }) as KubernetesObject;
    const limits = (tcpIdle: string) =>
      translate(
        snapshotFromObjects([...load(BOOKINFO), pool(tcpIdle)], mesh, 'bookinfo'),
        productpage,
      ).config.clusters.find((c) => c.name === 'outbound|9080||reviews.bookinfo.svc.cluster.local')
        ?.connectionPool;
    assert.equal(limits('90s')?.tcpIdleTimeoutMs, 90_000);
    assert.equal(limits('90s')?.idleTimeoutMs, 30_000);
    assert.equal(limits('0s')?.tcpIdleTimeoutMs, 0);
  });
});
