import { performance } from 'node:perf_hooks';
import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import type {
  MeshService,
  MeshSnapshot,
  ProxyIdentity,
  Workload,
} from '../../controllers/translate/snapshot.js';
import {
  translate,
  translateEndpoints,
  translateResources,
  type Translation,
} from '../../controllers/translate/translate.js';
import type { BenchOptions, SuiteResult } from './suite.js';

/**
 * The translate suite, at the scale the traffic API issue sets: 1,000 services with 2 subsets each,
 * 1,000 VirtualServices and 2,000 proxies (one per workload), in 10 namespaces. Full translation of
 * every proxy, then one-resource updates: a VirtualService change (routes re-translated) and a
 * workload change (endpoints only).
 */

function fixture(services: number): { snapshot: MeshSnapshot; proxies: ProxyIdentity[] } {
  const svc: MeshService[] = [];
  const workloads: Workload[] = [];
  const vss: VirtualService[] = [];
  const drs: DestinationRule[] = [];
  const proxies: ProxyIdentity[] = [];
  for (let i = 0; i < services; i++) {
    const ns = `ns${i % 10}`;
    const name = `svc${i}`;
    svc.push({
      host: `${name}.${ns}.svc.cluster.local`,
      namespace: ns,
      selector: { app: name },
      ports: [{ port: 8080, name: 'http', protocol: 'http' }],
    });
    for (const [j, version] of ['v1', 'v2'].entries()) {
      workloads.push({
        name: `${name}-${version}`,
        namespace: ns,
        address: `127.${1 + j}.${Math.floor(i / 250)}.${i % 250}`,
        labels: { app: name, version },
        serviceAccount: name,
        meshTls: true,
      });
      proxies.push({
        id: `${name}-${version}.${ns}`,
        role: 'sidecar',
        namespace: ns,
        serviceAccount: name,
        workload: `${name}-${version}`,
        labels: { app: name, version },
      });
    }
    drs.push({
      apiVersion: 'networking.weft.dev/v1',
      kind: 'DestinationRule',
      metadata: { name, namespace: ns },
      spec: {
        host: name,
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    });
    vss.push({
      apiVersion: 'networking.weft.dev/v1',
      kind: 'VirtualService',
      metadata: { name, namespace: ns },
      spec: {
        hosts: [name],
        http: [
          {
            match: [{ headers: { 'end-user': { exact: 'jason' } } }],
            route: [{ destination: { host: name, subset: 'v2' } }],
          },
          {
            route: [
              { destination: { host: name, subset: 'v1' }, weight: 90 },
              { destination: { host: name, subset: 'v2' }, weight: 10 },
            ],
            timeout: '2s',
          },
        ],
      },
    });
  }
  const snapshot: MeshSnapshot = {
    mesh: { trustDomain: 'cluster.local', rootNamespace: 'weft-system', mtlsMode: 'STRICT' },
    services: svc,
    workloads,
    virtualServices: vss,
    destinationRules: drs,
    gateways: [],
    sidecars: [],
    peerAuthentications: [],
    authorizationPolicies: [],
  };
  return { snapshot, proxies };
}

const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
const ms = (since: number): number => Math.round((performance.now() - since) * 10) / 10;

export function translateSuite({ quick }: BenchOptions): Promise<SuiteResult> {
  const services = 1000;
  const { snapshot, proxies } = fixture(services);
  const measured = quick ? proxies.filter((_, i) => i % 4 === 0) : proxies;
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;

  let started = performance.now();
  const configs = new Map<string, Translation>();
  for (const proxy of measured) configs.set(proxy.id, translate(snapshot, proxy));
  const fullMs = ms(started);
  global.gc?.();
  const heapAfter = process.memoryUsage().heapUsed;
  const bytes = JSON.stringify(configs.get(measured[0]!.id)!.config).length;

  // One VirtualService changes: a new snapshot; listeners, routes and clusters are translated again.
  const changedVs = snapshot.virtualServices.map((vs, i) =>
    i === 0
      ? { ...vs, spec: { ...vs.spec, http: [{ route: [{ destination: { host: 'svc0', subset: 'v2' } }] }] } }
      : vs,
  );
  const vsSnapshot = { ...snapshot, virtualServices: changedVs };
  started = performance.now();
  for (const proxy of measured) translateResources(vsSnapshot, proxy);
  const vsChangeMs = ms(started);

  // One workload goes away: only endpoints are translated again.
  const epSnapshot = { ...snapshot, workloads: snapshot.workloads.slice(1) };
  started = performance.now();
  for (const proxy of measured) translateEndpoints(epSnapshot, proxy, configs.get(proxy.id)!.config.clusters);
  const endpointChangeMs = ms(started);

  return Promise.resolve({
    suite: 'translate',
    notes: [
      `${services} services x 2 subsets, ${snapshot.virtualServices.length} VirtualServices, ${measured.length} proxies${quick ? ' (quick: a quarter of the 2,000)' : ''} in 10 namespaces`,
      'proxies with the same scope (namespace, role, labels anything selects on) share their outbound configuration',
      `one proxy's configuration: ${snapshot.services.length * 3 + 1} clusters, ${mib(bytes)} MiB of JSON`,
    ],
    metrics: {
      proxies: measured.length,
      full_translation_ms: fullMs,
      full_translation_ms_per_proxy: Math.round((fullMs / measured.length) * 100) / 100,
      heap_held_mib: mib(heapAfter - heapBefore),
      config_json_mib_per_proxy: mib(bytes),
      one_virtualservice_change_ms: vsChangeMs,
      one_workload_change_ms: endpointChangeMs,
    },
  });
}
