import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byCategory, byFile, categoryOf, selfTimes, shortUrl, type CpuProfile } from './cpu-profile.js';

const frame = (id: number, functionName: string, url: string, hitCount: number, lineNumber = 0) => ({
  id,
  callFrame: { functionName, url, lineNumber },
  hitCount,
});

// 100 samples over 100 ms: 1 ms each.
const PROFILE: CpuProfile = {
  startTime: 0,
  endTime: 100_000,
  nodes: [
    frame(1, '(root)', '', 0),
    frame(2, '(idle)', '', 50),
    frame(3, '(garbage collector)', '', 5),
    frame(4, 'route', 'file:///repo/dist/proxy/routing/router.js', 10, 41),
    frame(5, 'route', 'file:///repo/dist/proxy/routing/router.js', 10, 41), // same function, another call path
    frame(6, 'writev', '', 5),
    frame(7, 'parserOnHeadersComplete', 'node:_http_common', 10),
    frame(8, 'observe', 'file:///repo/node_modules/prom-client/lib/histogram.js', 10, 9),
  ],
};

describe('cpu profile summary', () => {
  it('counts only the samples inside a window of the monotonic clock when given one', () => {
    // Samples every 1 ms from t=1000 µs: route x3, idle x2, then route x5 after the window.
    const profile: CpuProfile = {
      ...PROFILE,
      startTime: 0,
      endTime: 11_000,
      samples: [4, 4, 4, 2, 2, 5, 5, 5, 5, 5],
      timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
    };
    const times = selfTimes(profile, { startUs: 1000, endUs: 5000 });
    assert.equal(times.find((t) => t.name === 'route')!.ms, 3);
    assert.equal(times.find((t) => t.name === '(idle)')!.ms, 2);
    assert.equal(times.find((t) => t.name === 'route')!.percent, 100);
  });

  it('sorts frames into categories', () => {
    assert.equal(categoryOf('(idle)', ''), 'idle');
    assert.equal(categoryOf('(program)', ''), 'vm');
    assert.equal(categoryOf('writev', ''), 'native');
    assert.equal(categoryOf('x', 'node:internal/stream_base_commons'), 'node');
    assert.equal(categoryOf('x', 'file:///r/node_modules/pino/pino.js'), 'dependencies');
    assert.equal(categoryOf('x', 'file:///r/dist/proxy/proxy.js'), 'weft');
  });

  it('shortens script URLs', () => {
    assert.equal(
      shortUrl('file:///work/main/dist/proxy/http/downstream.js'),
      'dist/proxy/http/downstream.js',
    );
    assert.equal(shortUrl('file:///w/node_modules/undici/lib/core.js'), 'undici/lib/core.js');
    assert.equal(shortUrl('node:_http_server'), 'node:_http_server');
  });

  it('sums a function over its call paths and gives its share of the busy time', () => {
    const times = selfTimes(PROFILE);
    assert.deepEqual(times[0], {
      name: '(idle)',
      where: '',
      category: 'idle',
      ms: 50,
      percent: 0,
    });
    const route = times.find((t) => t.name === 'route')!;
    assert.equal(route.ms, 20);
    assert.equal(route.where, 'dist/proxy/routing/router.js:42');
    assert.equal(route.percent, 40); // 20 of 50 busy samples
    assert.equal(
      times.some((t) => t.name === '(root)'),
      false,
    );
  });

  it('totals by category and by file, idle kept out of the busy shares', () => {
    const categories = byCategory(selfTimes(PROFILE));
    assert.deepEqual(categories[0], { category: 'idle', ms: 50, percent: 0 });
    assert.deepEqual(
      categories.find((c) => c.category === 'weft'),
      { category: 'weft', ms: 20, percent: 40 },
    );
    const files = byFile(selfTimes(PROFILE));
    assert.deepEqual(files[0], { file: 'dist/proxy/routing/router.js', ms: 20, percent: 40 });
    assert.ok(files.some((f) => f.file === '(native)'));
    assert.ok(!files.some((f) => f.file === '(idle)'));
  });
});
