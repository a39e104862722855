import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import type { HTTPRoute, VirtualService } from '../../crds/generated/types/virtualservice.js';
import type { MeshSnapshot, ProxyIdentity, Workload } from './snapshot.js';
import { translate, translateEndpoints, translateResources } from './translate.js';

/**
 * Properties over random, schema-valid inputs: the translator never throws, and the same input
 * always gives byte-identical output (also when the input lists come in another order).
 */

const namespaces = ['a', 'b'] as const;
const hosts = ['svc0', 'svc1', 'svc2', 'svc0.b.svc.cluster.local', 'external.example.com', '*.example.com'];
const subsets = ['v1', 'v2', 'v3'];
const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const duration = fc.constantFrom('1ms', '250ms', '1s', '1.5s', '1h', '2m30s');
const stringMatch = fc.oneof(
  fc.record({ exact: fc.string({ maxLength: 8 }) }),
  fc.record({ prefix: fc.constantFrom('/', '/api', '/v1/') }),
  fc.record({ regex: fc.constantFrom('^/a.*$', '.*', '[0-9]+') }),
);
const destination = fc.record(
  {
    host: fc.constantFrom(...hosts),
    subset: fc.constantFrom(...subsets),
    port: fc.record({ number: fc.constantFrom(80, 9080) }),
  },
  { requiredKeys: ['host'] },
);

const httpRoute: fc.Arbitrary<HTTPRoute> = fc.record(
  {
    name,
    match: fc.array(
      fc.record(
        {
          uri: stringMatch,
          method: stringMatch,
          headers: fc.dictionary(fc.constantFrom('x-a', 'end-user', 'X-B'), stringMatch, { maxKeys: 2 }),
          withoutHeaders: fc.dictionary(fc.constantFrom('x-c'), fc.constant({}), { maxKeys: 1 }),
          queryParams: fc.dictionary(fc.constantFrom('q', 'beta'), stringMatch, { maxKeys: 1 }),
          port: fc.constantFrom(80, 9080),
          sourceLabels: fc.dictionary(fc.constantFrom('app'), fc.constantFrom('svc0', 'svc1'), {
            maxKeys: 1,
          }),
          sourceNamespace: fc.constantFrom(...namespaces),
          ignoreUriCase: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
    route: fc.array(
      fc.record({ destination, weight: fc.integer({ min: 0, max: 100 }) }, { requiredKeys: ['destination'] }),
      { minLength: 1, maxLength: 3 },
    ),
    timeout: duration,
    retries: fc.record(
      {
        attempts: fc.integer({ min: 0, max: 5 }),
        perTryTimeout: duration,
        retryOn: fc.constantFrom('5xx', 'gateway-error,reset'),
      },
      { requiredKeys: ['attempts'] },
    ),
    fault: fc.record(
      {
        delay: fc.record({
          fixedDelay: duration,
          percentage: fc.record({ value: fc.double({ min: 0, max: 100, noNaN: true }) }),
        }),
        abort: fc.record({
          httpStatus: fc.integer({ min: 200, max: 599 }),
          percentage: fc.record({ value: fc.integer({ min: 0, max: 100 }) }),
        }),
      },
      { requiredKeys: [] },
    ),
    mirror: destination,
    headers: fc.record({
      request: fc.record({ set: fc.dictionary(fc.constantFrom('x-a'), fc.string({ maxLength: 5 })) }),
    }),
  },
  { requiredKeys: ['route'] },
);

const meta = (ns: string, n: string, day: number) => ({
  name: n,
  namespace: ns,
  creationTimestamp: new Date(Date.UTC(2026, 0, day)),
});

const virtualService: fc.Arbitrary<VirtualService> = fc
  .record({
    ns: fc.constantFrom(...namespaces),
    n: name,
    day: fc.integer({ min: 1, max: 28 }),
    hosts: fc.uniqueArray(fc.constantFrom(...hosts), { minLength: 1, maxLength: 3 }),
    gateways: fc.option(fc.constantFrom(['mesh'], ['gw'], ['a/gw', 'mesh']), { nil: undefined }),
    http: fc.array(httpRoute, { maxLength: 4 }),
    exportTo: fc.option(fc.constantFrom(['.'], ['*'], ['b']), { nil: undefined }),
  })
  .map(({ ns, n, day, ...spec }) => ({
    apiVersion: 'networking.weft.dev/v1',
    kind: 'VirtualService',
    metadata: meta(ns, n, day),
    spec: Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)),
  }));

const destinationRule: fc.Arbitrary<DestinationRule> = fc
  .record({
    ns: fc.constantFrom(...namespaces),
    n: name,
    day: fc.integer({ min: 1, max: 28 }),
    host: fc.constantFrom(...hosts),
    lb: fc.oneof(
      fc.record({
        simple: fc.constantFrom(
          'ROUND_ROBIN',
          'LEAST_REQUEST',
          'RANDOM',
          'PASSTHROUGH',
        ) as fc.Arbitrary<'ROUND_ROBIN'>,
      }),
      fc.record({
        consistentHash: fc.oneof(
          fc.record({ httpHeaderName: fc.constant('x-u') }),
          fc.record({ useSourceIp: fc.constant(true) }),
        ),
      }),
    ),
    tls: fc.constantFrom('DISABLE', 'ISTIO_MUTUAL', 'WEFT_MUTUAL', 'SIMPLE') as fc.Arbitrary<'DISABLE'>,
    subsets: fc.uniqueArray(fc.constantFrom(...subsets), { maxLength: 3 }),
  })
  .map(({ ns, n, day, host, lb, tls, subsets: names }) => ({
    apiVersion: 'networking.weft.dev/v1',
    kind: 'DestinationRule',
    metadata: meta(ns, n, day),
    spec: {
      host,
      trafficPolicy: {
        loadBalancer: lb,
        tls: { mode: tls },
        connectionPool: { tcp: { maxConnections: 10, connectTimeout: '1s' } },
        outlierDetection: { consecutive5xxErrors: 2, interval: '1s' },
      },
      subsets: names.map((s) => ({ name: s, labels: { version: s } })),
    },
  }));

const workloads: Workload[] = namespaces.flatMap((ns) =>
  [0, 1, 2].flatMap((i) =>
    subsets.map((v, j) => ({
      name: `svc${i}-${v}`,
      namespace: ns,
      address: `127.0.${i}.${j + 1}`,
      labels: { app: `svc${i}`, version: v },
      serviceAccount: `svc${i}`,
      meshTls: j !== 2,
    })),
  ),
);

function snapshot(vss: VirtualService[], drs: DestinationRule[]): MeshSnapshot {
  return {
    mesh: { trustDomain: 'cluster.local', rootNamespace: 'weft-system', mtlsMode: 'STRICT' },
    services: [
      ...namespaces.flatMap((ns) =>
        [0, 1, 2].map((i) => ({
          host: `svc${i}.${ns}.svc.cluster.local`,
          namespace: ns,
          selector: { app: `svc${i}` },
          ports: [
            { port: 9080, name: 'http', protocol: 'http' as const },
            ...(i === 2 ? [{ port: 5432, name: 'tcp-db', protocol: 'tcp' as const }] : []),
          ],
        })),
      ),
      {
        host: 'external.example.com',
        namespace: 'a',
        ports: [{ port: 80, name: 'http', protocol: 'http' as const }],
        resolution: 'DNS' as const,
        location: 'MESH_EXTERNAL' as const,
      },
    ],
    workloads,
    virtualServices: vss,
    destinationRules: drs,
    gateways: [],
    sidecars: [],
    peerAuthentications: [],
    authorizationPolicies: [],
  };
}

const proxy = fc
  .record({ ns: fc.constantFrom(...namespaces), app: fc.constantFrom('svc0', 'svc1', 'svc2') })
  .map(({ ns, app }): ProxyIdentity => ({
    id: `${app}.${ns}`,
    role: 'sidecar',
    namespace: ns,
    serviceAccount: app,
    labels: { app, version: 'v1' },
  }));

describe('translate: properties', () => {
  it('never throws on valid input, and is deterministic whatever the input order', () => {
    fc.assert(
      fc.property(
        fc.array(virtualService, { maxLength: 6 }),
        fc.array(destinationRule, { maxLength: 6 }),
        proxy,
        (vss, drs, p) => {
          const once = JSON.stringify(translate(snapshot(vss, drs), p));
          const again = JSON.stringify(translate(snapshot(vss, drs), p));
          const shuffled = JSON.stringify(translate(snapshot([...vss].reverse(), [...drs].reverse()), p));
          assert.equal(again, once);
          assert.equal(shuffled, once);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('routes only to clusters that exist or that the proxy reports missing', () => {
    fc.assert(
      fc.property(
        fc.array(virtualService, { maxLength: 4 }),
        fc.array(destinationRule, { maxLength: 4 }),
        proxy,
        (vss, drs, p) => {
          const { config } = translate(snapshot(vss, drs), p);
          const weights = config.routes.flatMap((rc) =>
            rc.virtualHosts.flatMap((vh) => vh.routes.flatMap((r) => r.clusters ?? [])),
          );
          for (const w of weights) assert.ok(w.weight >= 0 && w.weight <= 100, `weight ${w.weight}`);
          const endpointsFor = new Set(config.endpoints.map((e) => e.cluster));
          for (const c of config.clusters)
            assert.ok(endpointsFor.has(c.name), `cluster ${c.name} has a load assignment`);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is incremental: an endpoint change leaves listeners, routes and clusters untouched', () => {
    fc.assert(
      fc.property(
        fc.array(virtualService, { maxLength: 4 }),
        fc.array(destinationRule, { maxLength: 4 }),
        proxy,
        fc.subarray(workloads),
        (vss, drs, p, remaining) => {
          const before = snapshot(vss, drs);
          const after = { ...before, workloads: remaining };
          const resources = translateResources(before, p);
          assert.equal(JSON.stringify(translateResources(after, p)), JSON.stringify(resources));
          const full = translate(after, p);
          assert.deepEqual(translateEndpoints(after, p, resources.config.clusters), full.config.endpoints);
        },
      ),
      { numRuns: 150 },
    );
  });
});
