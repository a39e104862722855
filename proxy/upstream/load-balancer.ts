import type { IncomingHttpHeaders } from 'node:http';
import type { LoadBalancerPolicy } from '../config/generated/proxy-config.js';
import type { UpstreamHost } from './host.js';

export interface PickContext {
  /** The request's consistent-hash key (see `hashKeyFor`); only RING_HASH reads it. */
  hashKey?: string;
}

export interface LoadBalancer {
  /**
   * Chooses a host, skipping those `available` rejects (ejected, overloaded). Returns undefined only
   * when no host is available. Allocates nothing: it runs once per request attempt.
   */
  pick(ctx: PickContext, available: (h: UpstreamHost) => boolean): UpstreamHost | undefined;
}

type Available = (h: UpstreamHost) => boolean;

/** Random re-draws before the linear scan: enough when a few hosts are out, cheap when many are. */
const PICK_ATTEMPTS = 4;
/** Istio's and Envoy's default minimum ring size. */
const DEFAULT_MIN_RING_SIZE = 1024;
/** Envoy's default maximum_ring_size: the ceiling whatever the configuration asks for. */
const MAX_RING_SIZE = 8 * 1024 * 1024;
/** Ring entries walked clockwise past unavailable hosts before scanning the host list. */
const RING_WALK_LIMIT = 256;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/**
 * The load balancer of one cluster's current hosts. Build a new one when the endpoints change: the
 * structures (ring, weight tables) are fixed at creation so that `pick` stays allocation-free.
 */
export function createLoadBalancer(
  policy: LoadBalancerPolicy | undefined,
  hosts: readonly UpstreamHost[],
  random: () => number = Math.random,
): LoadBalancer {
  // A copy: the index-based tables below must not shift if the caller later edits its array.
  const list = hosts.slice();
  switch (policy?.policy ?? 'ROUND_ROBIN') {
    case 'LEAST_REQUEST':
      return new LeastRequest(list, random);
    case 'RANDOM':
      return new RandomPick(list, random);
    case 'RING_HASH':
      return new RingHash(list, policy?.minimumRingSize, random);
    case 'PASSTHROUGH':
      return new Passthrough(list);
    default:
      return new RoundRobin(list, random);
  }
}

/**
 * The hash key of a request under the policy's `hashOn` (Istio consistentHash): a header value, a
 * cookie value, the source IP or a query parameter. Undefined when the policy hashes on nothing or
 * the request lacks the field; the ring then picks at random. Generating a missing cookie (Istio's
 * httpCookie with a ttl) is the HTTP server's business, not this function's.
 */
export function hashKeyFor(
  policy: LoadBalancerPolicy | undefined,
  req: { headers: IncomingHttpHeaders; sourceIp: string; path: string },
): string | undefined {
  const on = policy?.hashOn;
  if (!on) return undefined;
  if (on.header !== undefined) return headerValue(req.headers[on.header.toLowerCase()]);
  if (on.cookie) return cookieValue(headerValue(req.headers.cookie), on.cookie.name);
  if (on.sourceIp) return req.sourceIp;
  if (on.queryParameter !== undefined) return queryValue(req.path, on.queryParameter);
  return undefined;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    // RFC 6265 allows a quoted cookie value; the quotes are not part of it.
    return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  }
  return undefined;
}

function queryValue(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const hash = path.indexOf('#', q);
  const query = path.slice(q + 1, hash < 0 ? undefined : hash);
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    // Raw (undecoded) comparison and value, as Envoy's query_parameter hash policy.
    if (key === name) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return undefined;
}

/** Draws host indexes in proportion to weight: a uniform draw when all weights are equal. */
class WeightedSampler {
  /** Running sum of weights; undefined when every weight is the same. */
  private readonly cumulative: Float64Array | undefined;
  private readonly total: number;

  constructor(private readonly hosts: readonly UpstreamHost[]) {
    let total = 0;
    for (const h of hosts) total += h.weight;
    this.total = total;
    if (uniformWeights(hosts)) {
      this.cumulative = undefined;
      return;
    }
    const cumulative = new Float64Array(hosts.length);
    let sum = 0;
    hosts.forEach((h, i) => {
      sum += h.weight;
      cumulative[i] = sum;
    });
    this.cumulative = cumulative;
  }

  index(r: number): number {
    const n = this.hosts.length;
    const cumulative = this.cumulative;
    if (!cumulative) return Math.min(n - 1, Math.floor(r * n));
    const target = r * this.total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

function uniformWeights(hosts: readonly UpstreamHost[]): boolean {
  const first = hosts[0]?.weight;
  return hosts.every((h) => h.weight === first);
}

function scanFrom(
  hosts: readonly UpstreamHost[],
  start: number,
  available: Available,
): UpstreamHost | undefined {
  const n = hosts.length;
  for (let k = 0; k < n; k++) {
    const h = hosts[(start + k) % n]!;
    if (available(h)) return h;
  }
  return undefined;
}

/**
 * Weighted random re-draws, then a linear scan from a random start. The shared fallback for a
 * pick that landed on an unavailable host: spreading that pick at random keeps the load of an
 * ejected host from piling onto one neighbour.
 */
function randomAvailable(
  hosts: readonly UpstreamHost[],
  sampler: WeightedSampler,
  random: () => number,
  available: Available,
): UpstreamHost | undefined {
  const n = hosts.length;
  if (n === 0) return undefined;
  for (let a = 0; a < PICK_ATTEMPTS; a++) {
    const h = hosts[sampler.index(random())]!;
    if (available(h)) return h;
  }
  return scanFrom(hosts, Math.min(n - 1, Math.floor(random() * n)), available);
}

/**
 * Round robin. Equal weights: a cursor. Unequal weights: nginx's smooth weighted round robin (each
 * pick adds every host's weight to its current weight, takes the largest and subtracts the total),
 * which interleaves hosts instead of sending a heavy host its whole share in a burst.
 */
class RoundRobin implements LoadBalancer {
  private cursor: number;
  private readonly weights: Float64Array;
  private readonly current: Float64Array | undefined;
  private readonly total: number;
  private readonly sampler: WeightedSampler;

  constructor(
    private readonly hosts: readonly UpstreamHost[],
    private readonly random: () => number,
  ) {
    const n = hosts.length;
    // A random start, so that proxies that received the same push do not all hit host 0 first.
    this.cursor = n === 0 ? 0 : Math.min(n - 1, Math.floor(random() * n));
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.total = this.weights.reduce((a, b) => a + b, 0);
    this.sampler = new WeightedSampler(hosts);
    if (uniformWeights(hosts)) {
      this.current = undefined;
    } else {
      // Random offsets below each weight shift the starting phase for the same reason; the
      // long-run shares are unaffected because the offsets stay bounded.
      this.current = Float64Array.from(hosts, (h) => Math.floor(random() * h.weight));
    }
  }

  pick(_ctx: PickContext, available: Available): UpstreamHost | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    let h: UpstreamHost;
    if (this.current) {
      h = this.hosts[this.nextWeighted(this.current)]!;
    } else {
      h = this.hosts[this.cursor]!;
      this.cursor = this.cursor + 1 === n ? 0 : this.cursor + 1;
    }
    return available(h) ? h : randomAvailable(this.hosts, this.sampler, this.random, available);
  }

  private nextWeighted(current: Float64Array): number {
    const weights = this.weights;
    let best = 0;
    let bestValue = -Infinity;
    for (let i = 0; i < current.length; i++) {
      const c = current[i]! + weights[i]!;
      current[i] = c;
      if (c > bestValue) {
        bestValue = c;
        best = i;
      }
    }
    current[best] = bestValue - this.total;
    return best;
  }
}

/**
 * Least request by the power of two choices: two weighted draws, the one with fewer requests in
 * flight per unit of weight wins. Envoy's default for LEAST_REQUEST (choice_count 2).
 */
class LeastRequest implements LoadBalancer {
  private readonly sampler: WeightedSampler;

  constructor(
    private readonly hosts: readonly UpstreamHost[],
    private readonly random: () => number,
  ) {
    this.sampler = new WeightedSampler(hosts);
  }

  pick(_ctx: PickContext, available: Available): UpstreamHost | undefined {
    const hosts = this.hosts;
    const n = hosts.length;
    if (n <= 1) return n === 1 && available(hosts[0]!) ? hosts[0] : undefined;
    for (let a = 0; a < PICK_ATTEMPTS; a++) {
      const i = this.sampler.index(this.random());
      let j = this.sampler.index(this.random());
      // Two distinct candidates, or the comparison is no choice at all.
      if (j === i) j = i + 1 === n ? 0 : i + 1;
      const first = hosts[i]!;
      const second = hosts[j]!;
      const firstOk = available(first);
      const secondOk = available(second);
      if (firstOk && secondOk) return load(second) < load(first) ? second : first;
      if (firstOk) return first;
      if (secondOk) return second;
    }
    return this.leastLoaded(available);
  }

  private leastLoaded(available: Available): UpstreamHost | undefined {
    const hosts = this.hosts;
    const n = hosts.length;
    const start = Math.min(n - 1, Math.floor(this.random() * n));
    let best: UpstreamHost | undefined;
    let bestLoad = Infinity;
    for (let k = 0; k < n; k++) {
      const h = hosts[(start + k) % n]!;
      if (!available(h)) continue;
      const l = load(h);
      if (l < bestLoad) {
        bestLoad = l;
        best = h;
      }
    }
    return best;
  }
}

/** Requests in flight per unit of weight; the +1 lets weight break ties between idle hosts. */
function load(h: UpstreamHost): number {
  return (h.activeRequests + 1) / h.weight;
}

class RandomPick implements LoadBalancer {
  private readonly sampler: WeightedSampler;

  constructor(
    private readonly hosts: readonly UpstreamHost[],
    private readonly random: () => number,
  ) {
    this.sampler = new WeightedSampler(hosts);
  }

  pick(_ctx: PickContext, available: Available): UpstreamHost | undefined {
    return randomAvailable(this.hosts, this.sampler, this.random, available);
  }
}

/** The caller connects to the original destination; a host is only needed when one is asked for. */
class Passthrough implements LoadBalancer {
  constructor(private readonly hosts: readonly UpstreamHost[]) {}

  pick(_ctx: PickContext, available: Available): UpstreamHost | undefined {
    return scanFrom(this.hosts, 0, available);
  }
}

/**
 * Consistent hashing on a ring of virtual nodes (Envoy's ring_hash). Each host owns
 * `weight × perUnit` points at hash(`<key>_<i>`). `perUnit` is `minimumRingSize / totalWeight`
 * rounded up to a power of two, so it rarely changes when a host joins or leaves: the other hosts
 * keep exactly the same points and only the departed host's keys move. (Envoy normalises to the
 * exact minimum, which also shifts some keys between surviving hosts.) The ring holds between
 * minimumRingSize and twice that many points.
 */
class RingHash implements LoadBalancer {
  private readonly ringHashes: Float64Array;
  private readonly ringOwners: Uint32Array;
  /** Per-host mark of the last pick that checked it, so a walk asks `available` once per host. */
  private readonly checked: Float64Array;
  private epoch = 0;

  constructor(
    private readonly hosts: readonly UpstreamHost[],
    minimumRingSize: number | undefined,
    private readonly random: () => number,
  ) {
    const ring = buildRing(hosts, minimumRingSize ?? DEFAULT_MIN_RING_SIZE);
    this.ringHashes = ring.hashes;
    this.ringOwners = ring.owners;
    this.checked = new Float64Array(hosts.length);
  }

  /** Number of virtual nodes on the ring. */
  get ringSize(): number {
    return this.ringHashes.length;
  }

  pick(ctx: PickContext, available: Available): UpstreamHost | undefined {
    const size = this.ringHashes.length;
    if (size === 0) return undefined;
    // No key: a random point, which is a weighted random pick (Envoy does the same).
    const point = ctx.hashKey === undefined ? Math.floor(this.random() * TWO_POW_53) : hash53(ctx.hashKey);
    let idx = lowerBound(this.ringHashes, point);
    if (idx === size) idx = 0;
    const epoch = ++this.epoch;
    const limit = Math.min(size, RING_WALK_LIMIT);
    // Clockwise past unavailable hosts: the next owner on the ring is what the key would map to
    // if those hosts were gone, so keys stay put when the hosts come back.
    for (let step = 0; step < limit; step++) {
      const owner = this.ringOwners[idx]!;
      if (this.checked[owner] !== epoch) {
        this.checked[owner] = epoch;
        const h = this.hosts[owner]!;
        if (available(h)) return h;
      }
      idx = idx + 1 === size ? 0 : idx + 1;
    }
    // Deterministic for the key, so the choice is still sticky while most hosts are out.
    return scanFrom(this.hosts, this.ringOwners[idx]!, available);
  }
}

function buildRing(
  hosts: readonly UpstreamHost[],
  minimumRingSize: number,
): { hashes: Float64Array; owners: Uint32Array } {
  const minRing = Math.min(MAX_RING_SIZE, Math.max(1, Math.ceil(minimumRingSize)));
  let totalWeight = 0;
  for (const h of hosts) totalWeight += h.weight;
  const counts = ringCounts(hosts, totalWeight, minRing);
  const size = counts.reduce((a, b) => a + b, 0);
  const unsortedHashes = new Float64Array(size);
  const unsortedOwners = new Uint32Array(size);
  let k = 0;
  hosts.forEach((h, owner) => {
    const count = counts[owner]!;
    for (let i = 0; i < count; i++, k++) {
      unsortedHashes[k] = hash53(`${h.key}_${i}`);
      unsortedOwners[k] = owner;
    }
  });
  const order = Uint32Array.from({ length: size }, (_, i) => i);
  // Ties (rare) are broken by host key, so the ring does not depend on the order of the hosts.
  order.sort(
    (a, b) =>
      unsortedHashes[a]! - unsortedHashes[b]! ||
      compareKeys(hosts[unsortedOwners[a]!]!.key, hosts[unsortedOwners[b]!]!.key),
  );
  const hashes = new Float64Array(size);
  const owners = new Uint32Array(size);
  order.forEach((from, to) => {
    hashes[to] = unsortedHashes[from]!;
    owners[to] = unsortedOwners[from]!;
  });
  return { hashes, owners };
}

function ringCounts(hosts: readonly UpstreamHost[], totalWeight: number, minRing: number): number[] {
  if (totalWeight === 0) return [];
  const perUnit = 2 ** Math.ceil(Math.log2(Math.ceil(minRing / totalWeight)));
  if (totalWeight * perUnit <= MAX_RING_SIZE) return hosts.map((h) => h.weight * perUnit);
  // Weights too large for the ring: scale down, every host keeping at least one point.
  const scale = MAX_RING_SIZE / totalWeight;
  return hosts.map((h) => Math.max(1, Math.floor(h.weight * scale)));
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** First index whose hash is ≥ point (the array's length when none is). */
function lowerBound(sorted: Float64Array, point: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < point) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * FNV-1a 64 over the string's UTF-16 code units (two bytes for those above 0xff), computed in two
 * 32-bit halves, then a murmur3-style finaliser: FNV alone clusters keys that differ only in their
 * last characters (`10.0.0.1:80_0`, `_1`, ...), which would bunch a host's ring points together.
 * Returns 53 of the 64 bits, exact in a double, so the ring can be a Float64Array.
 */
function hash53(s: string): number {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Inline (no helper returning a pair): this runs per pick and must not allocate.
    const bytes = c > 0xff ? 2 : 1;
    for (let b = 0; b < bytes; b++) {
      // xor the byte, then multiply by the 64-bit prime 2^40 + 0x1b3 in 32-bit halves.
      const x = (lo ^ (b === 0 ? c & 0xff : c >>> 8)) >>> 0;
      const product = x * 0x1b3; // < 2^41: exact in a double
      hi = (Math.imul(hi, 0x1b3) + Math.floor(product / TWO_POW_32) + (x << 8)) >>> 0;
      lo = product >>> 0;
    }
  }
  lo = fmix32(lo ^ ((hi << 16) | (hi >>> 16)));
  hi = fmix32(hi ^ lo);
  return (hi >>> 11) * TWO_POW_32 + lo;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
