import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks on every architecture we run on. */
const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat we use. */
export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime, in ticks: all threads, the process's own (not its waited-for children). */
  readonly cpuTicks: number;
}

/** Parses /proc/<pid>/stat; the command name is parenthesised and may itself hold spaces and parens. */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  // Fields after the name: state(3) ppid(4) ... utime(14) stime(15), counted from 1 with pid.
  const fields = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    ppid: Number(fields[1]),
    cpuTicks: Number(fields[11]) + Number(fields[12]),
  };
}

/** `root` and every process below it in a process table. */
export function descendantsOf(table: readonly ProcStat[], root: number): number[] {
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const p of table) if (p.ppid === tree[i]) tree.push(p.pid);
  }
  return tree;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined; // gone between listing and reading
  }
}

/** A process and its descendants (nginx's master and workers), by pid. */
export function processTree(root: number): number[] {
  const table = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readStat(Number(d)))
    .filter((s): s is ProcStat => s !== undefined);
  return descendantsOf(table, root);
}

/** Resident set size of a process, in MiB, from /proc. */
export function rssMiB(pid: number): number {
  return statusKiB(pid, 'VmRSS') / 1024;
}

/**
 * Resident memory only this process holds (RssAnon: heap, stacks, malloc), in MiB. RSS also counts
 * the file-backed pages of the executable and libraries, which every process running the same binary
 * shares through the page cache: for Node that is most of its RSS.
 */
export function privateRssMiB(pid: number): number {
  return statusKiB(pid, 'RssAnon') / 1024;
}

function statusKiB(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.split(/\s+/)[1] ?? 0);
}

/** User plus system CPU time a process has used so far, in seconds, from /proc. */
export function cpuSeconds(pid: number): number {
  return (readStat(pid)?.cpuTicks ?? 0) / TICKS_PER_SECOND;
}

/** The first field of /proc/<pid>/task/<tid>/schedstat: nanoseconds the thread has run on a CPU. */
export function parseSchedstat(text: string): number {
  return Number(text.trim().split(/\s+/)[0]);
}

/**
 * CPU time of a process to the nanosecond, summed over its live threads. /proc/<pid>/stat counts in
 * 10 ms ticks, too coarse for a proxy that uses 50 ms in a few seconds at 1,000 rps.
 */
export function preciseCpuSeconds(pid: number): number {
  let ns = 0;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tids) {
    try {
      ns += parseSchedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
    } catch {
      // the thread ended between listing and reading
    }
  }
  return ns / 1e9;
}

/** Summed over processes (a two-hop path, or a master with its workers). */
export const totalCpuSeconds = (pids: readonly number[]): number =>
  pids.reduce((sum, pid) => sum + preciseCpuSeconds(pid), 0);

export const totalRssMiB = (pids: readonly number[], of: (pid: number) => number = rssMiB): number =>
  pids.reduce((sum, pid) => {
    try {
      return sum + of(pid);
    } catch {
      return sum;
    }
  }, 0);
