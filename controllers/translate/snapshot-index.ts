import type { DestinationRule } from '../../crds/generated/types/destinationrule.js';
import type { VirtualService } from '../../crds/generated/types/virtualservice.js';
import type { MeshService, MeshSnapshot, Workload } from './snapshot.js';
import { byAge, namespaceOf, qualify } from './visibility.js';

/** Resources keyed by fully qualified host, exact names apart from wildcards; each list oldest first. */
export interface ByHost<T> {
  readonly exact: ReadonlyMap<string, readonly T[]>;
  readonly wildcard: readonly T[];
}

function byHost<T>(items: readonly T[], hostsOf: (item: T) => readonly string[]): ByHost<T> {
  const exact = new Map<string, T[]>();
  const wildcard: T[] = [];
  for (const item of items) {
    for (const host of hostsOf(item)) {
      if (host.startsWith('*')) {
        if (!wildcard.includes(item)) wildcard.push(item);
        continue;
      }
      const list = exact.get(host) ?? [];
      if (!list.includes(item)) list.push(item);
      exact.set(host, list);
    }
  }
  return { exact, wildcard };
}

/**
 * Lookups the translator needs many times per proxy, built once per snapshot: without them a mesh of
 * 1,000 services costs a scan of every DestinationRule and VirtualService per service. Memoised on
 * the snapshot object, which the translator never mutates, so every proxy translated from one
 * snapshot shares them.
 */
export class SnapshotIndex {
  readonly destinationRules: ReadonlyMap<string, ByHost<DestinationRule>>;
  readonly virtualServicesOldestFirst: readonly VirtualService[];
  readonly workloadsByNamespace: ReadonlyMap<string, readonly Workload[]>;
  readonly servicesByHost: ReadonlyMap<string, MeshService>;
  /** Label keys that change what a proxy's outbound side looks like (sourceLabels, workload selectors). */
  readonly scopingLabelKeys: readonly string[];
  private readonly bound = new Map<string, ByHost<VirtualService>>();
  private readonly memo = new Map<string, unknown>();

  constructor(snapshot: MeshSnapshot) {
    const drsByNamespace = new Map<string, DestinationRule[]>();
    for (const dr of [...snapshot.destinationRules].sort(byAge)) {
      const list = drsByNamespace.get(namespaceOf(dr)) ?? [];
      list.push(dr);
      drsByNamespace.set(namespaceOf(dr), list);
    }
    this.destinationRules = new Map(
      [...drsByNamespace].map(([ns, drs]) => [
        ns,
        byHost(drs, (dr) => (dr.spec?.host ? [qualify(dr.spec.host, ns)] : [])),
      ]),
    );
    this.virtualServicesOldestFirst = [...snapshot.virtualServices].sort(byAge);
    const workloads = new Map<string, Workload[]>();
    for (const w of snapshot.workloads) {
      const list = workloads.get(w.namespace) ?? [];
      list.push(w);
      workloads.set(w.namespace, list);
    }
    this.workloadsByNamespace = workloads;
    this.servicesByHost = new Map(snapshot.services.map((s) => [s.host, s]));
    const keys = scopingLabelKeys(snapshot);
    this.scopingLabelKeys = [...keys].sort();
  }

  /**
   * Proxies with the same scope key see the same outbound configuration: same namespace and role,
   * and the same values of the labels anything selects on.
   */
  scopeKey(proxy: { role: string; namespace: string; labels: Readonly<Record<string, string>> }): string {
    return [
      proxy.role,
      proxy.namespace,
      ...this.scopingLabelKeys.map((k) => `${k}=${proxy.labels[k] ?? ''}`),
    ].join('|');
  }

  /** Computes once per key and snapshot; callers must treat the result as immutable. */
  memoise<T>(key: string, compute: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, compute());
    return this.memo.get(key) as T;
  }

  /** VirtualServices by host, for a set already filtered to one gateway and namespace (`key`). */
  boundByHost(key: string, bound: () => readonly VirtualService[]): ByHost<VirtualService> {
    let found = this.bound.get(key);
    if (!found) {
      found = byHost(bound(), (vs) => (vs.spec?.hosts ?? []).map((h) => qualify(h, namespaceOf(vs))));
      this.bound.set(key, found);
    }
    return found;
  }
}

/** Label keys any resource selects proxies by: VirtualService sourceLabels, workload selectors. Pure. */
function scopingLabelKeys(snapshot: MeshSnapshot): Set<string> {
  const selectors: (Record<string, string> | undefined)[] = [
    ...snapshot.virtualServices.flatMap((vs) =>
      (vs.spec?.http ?? []).flatMap((http) => (http.match ?? []).map((m) => m.sourceLabels)),
    ),
    ...snapshot.destinationRules.map((dr) => dr.spec?.workloadSelector?.matchLabels),
    ...snapshot.sidecars.map((sc) => sc.spec?.workloadSelector?.labels),
    ...snapshot.gateways.map((gw) => gw.spec?.selector),
  ];
  return new Set(selectors.flatMap((labels) => Object.keys(labels ?? {})));
}

const indexes = new WeakMap<MeshSnapshot, SnapshotIndex>();

export function indexOf(snapshot: MeshSnapshot): SnapshotIndex {
  let index = indexes.get(snapshot);
  if (!index) {
    index = new SnapshotIndex(snapshot);
    indexes.set(snapshot, index);
  }
  return index;
}
