import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cpuSeconds,
  descendantsOf,
  parseProcStat,
  parseSchedstat,
  preciseCpuSeconds,
  processTree,
  rssMiB,
} from './process-stats.js';

describe('process stats', () => {
  it('parses /proc/<pid>/stat even when the command name holds spaces and parentheses', () => {
    const stat = '4242 (nginx: worker (1)) S 4200 4200 4200 0 -1 4194624 120 0 0 0 250 37 0 0 20 0 1 0 9 1 2';
    assert.deepEqual(parseProcStat(stat), { pid: 4242, ppid: 4200, cpuTicks: 287 });
  });

  it('walks a process table down from a root, grandchildren included', () => {
    const table = [
      { pid: 1, ppid: 0, cpuTicks: 0 },
      { pid: 10, ppid: 1, cpuTicks: 0 },
      { pid: 11, ppid: 10, cpuTicks: 0 },
      { pid: 12, ppid: 10, cpuTicks: 0 },
      { pid: 13, ppid: 11, cpuTicks: 0 },
      { pid: 20, ppid: 1, cpuTicks: 0 },
    ];
    assert.deepEqual(descendantsOf(table, 10).sort(), [10, 11, 12, 13]);
    assert.deepEqual(descendantsOf(table, 99), [99]);
  });

  it('reads nanoseconds on CPU from schedstat', () => {
    assert.equal(parseSchedstat('191473927 22202648 829\n'), 191473927);
  });

  it('reads this process from /proc', () => {
    assert.ok(preciseCpuSeconds(process.pid) > 0);
    assert.ok(rssMiB(process.pid) > 1);
    assert.ok(cpuSeconds(process.pid) >= 0);
    assert.ok(processTree(process.pid).includes(process.pid));
  });
});
