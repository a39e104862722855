import { round } from './latency.js';

/** The parts of a V8 .cpuprofile (what `node --cpu-prof` writes) that self time needs. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
    readonly hitCount?: number;
  }[];
  /** Microseconds on the system's monotonic clock (the one process.hrtime reads, on Linux). */
  readonly startTime: number;
  readonly endTime: number;
  /** Node id of each sample, and the microseconds since the sample before. */
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** A stretch of the monotonic clock, in microseconds: the load, without start-up and warm-up. */
export interface Window {
  readonly startUs: number;
  readonly endUs: number;
}

export type Category = 'idle' | 'gc' | 'vm' | 'weft' | 'node' | 'dependencies' | 'native';

export interface SelfTime {
  readonly name: string;
  /** file:line, relative to the repository for Weft's own code. */
  readonly where: string;
  readonly category: Category;
  readonly ms: number;
  /** Of the busy time (idle left out). */
  readonly percent: number;
}

/**
 * Where a sample landed: V8's pseudo-frames ((idle), (garbage collector), (program): VM work no
 * JavaScript frame owns), Node's own JavaScript (node:...), packages, Weft's compiled code, or
 * builtins and native code (no script URL).
 */
export function categoryOf(functionName: string, url: string): Category {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(program)' || functionName === '(root)') return 'vm';
  if (url.startsWith('node:')) return 'node';
  if (url.includes('/node_modules/')) return 'dependencies';
  if (url !== '') return 'weft';
  return 'native';
}

/** A script URL shortened for reading: repository-relative for our files, package-relative for deps. */
export function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const dep = path.lastIndexOf('/node_modules/');
  if (dep >= 0) return path.slice(dep + '/node_modules/'.length);
  const dist = path.lastIndexOf('/dist/');
  if (dist >= 0) return path.slice(dist + 1);
  return path;
}

/**
 * Milliseconds per node: each sample counts for the time since the one before it (only samples taken
 * inside `window`, when given and the profile lists its samples with their times); without sample
 * times, hit counts share the profile's duration.
 */
function msPerNode(profile: CpuProfile, window?: Window): Map<number, number> {
  const ms = new Map<number, number>();
  if (!window || !profile.samples || !profile.timeDeltas) {
    const total = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
    const each = total === 0 ? 0 : (profile.endTime - profile.startTime) / 1000 / total;
    for (const n of profile.nodes) ms.set(n.id, (n.hitCount ?? 0) * each);
    return ms;
  }
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < window.startUs || at > window.endUs) continue;
    const id = profile.samples[i]!;
    ms.set(id, (ms.get(id) ?? 0) + delta / 1000);
  }
  return ms;
}

/** Self time per function (same name, file and line summed over call paths), largest first. */
export function selfTimes(profile: CpuProfile, window?: Window): SelfTime[] {
  const perNode = msPerNode(profile, window);
  const byKey = new Map<string, { name: string; where: string; category: Category; ms: number }>();
  for (const n of profile.nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const category = categoryOf(functionName, url);
    const where = url === '' ? '' : `${shortUrl(url)}:${lineNumber + 1}`;
    const key = `${functionName}|${where}`;
    const entry = byKey.get(key) ?? { name: functionName || '(anonymous)', where, category, ms: 0 };
    entry.ms += perNode.get(n.id) ?? 0;
    byKey.set(key, entry);
  }
  const busyMs = [...byKey.values()].filter((e) => e.category !== 'idle').reduce((s, e) => s + e.ms, 0);
  return [...byKey.values()]
    .filter((e) => e.ms > 0)
    .map((e) => ({
      name: e.name,
      where: e.where,
      category: e.category,
      ms: round(e.ms, 1),
      percent: e.category === 'idle' || busyMs === 0 ? 0 : round((100 * e.ms) / busyMs, 1),
    }))
    .sort((a, b) => b.ms - a.ms);
}

/** Busy time by category, largest first; idle is listed with its share of the whole profile. */
export function byCategory(
  times: readonly SelfTime[],
): { category: Category; ms: number; percent: number }[] {
  const sums = new Map<Category, { ms: number; percent: number }>();
  for (const t of times) {
    const s = sums.get(t.category) ?? { ms: 0, percent: 0 };
    s.ms += t.ms;
    s.percent += t.percent;
    sums.set(t.category, s);
  }
  return [...sums.entries()]
    .map(([category, s]) => ({ category, ms: round(s.ms, 1), percent: round(s.percent, 1) }))
    .sort((a, b) => b.ms - a.ms);
}

/** Busy time by script file (Weft's modules, packages, Node's internals), largest first. */
export function byFile(times: readonly SelfTime[]): { file: string; ms: number; percent: number }[] {
  const sums = new Map<string, { ms: number; percent: number }>();
  for (const t of times) {
    if (t.category === 'idle') continue;
    const file = t.where === '' ? `(${t.category})` : t.where.slice(0, t.where.lastIndexOf(':'));
    const s = sums.get(file) ?? { ms: 0, percent: 0 };
    s.ms += t.ms;
    s.percent += t.percent;
    sums.set(file, s);
  }
  return [...sums.entries()]
    .map(([file, s]) => ({ file, ms: round(s.ms, 1), percent: round(s.percent, 1) }))
    .sort((a, b) => b.ms - a.ms);
}
