import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBoolean, parseCidrs, parsePorts, parseQuantity } from './annotation-values.js';

describe('annotation values', () => {
  it('read port lists, with spaces and repeats tolerated, and * only where every port is meant', () => {
    assert.deepEqual(parsePorts('8080, 9090,8080', false), { ok: true, value: [8080, 9090] });
    assert.deepEqual(parsePorts('', false), { ok: true, value: [] });
    assert.deepEqual(parsePorts('*', true), { ok: true, value: '*' });
    for (const bad of ['*', 'http', '0', '65536', '80-90', '-1', '8080.5']) {
      const parsed = parsePorts(bad, false);
      assert.equal(parsed.ok, false, bad);
      if (!parsed.ok) assert.match(parsed.fix, /port numbers from 1 to 65535/);
    }
  });

  it('read CIDR lists of both families, and say how to write a bare address', () => {
    assert.deepEqual(parseCidrs('10.0.0.0/8,fd00::/8 , 192.168.1.10/32', false), {
      ok: true,
      value: ['10.0.0.0/8', 'fd00::/8', '192.168.1.10/32'],
    });
    assert.deepEqual(parseCidrs('*', true), { ok: true, value: '*' });
    assert.deepEqual(parseCidrs('10.1.2.3', false), {
      ok: false,
      problem: '"10.1.2.3" has no prefix length',
      fix: 'write "10.1.2.3/32"',
    });
    for (const bad of ['10.0.0.0/33', 'fd00::/129', '10.0.0/8', 'example.com/24', '10.0.0.0/8/1', '*']) {
      assert.equal(parseCidrs(bad, false).ok, false, bad);
    }
  });

  it('read booleans only as "true" or "false"', () => {
    assert.deepEqual(parseBoolean('false'), { ok: true, value: false });
    assert.deepEqual(parseBoolean('true'), { ok: true, value: true });
    const bad = parseBoolean('no');
    assert.equal(bad.ok, false);
    if (!bad.ok) assert.match(bad.fix, /"true" or "false"/);
  });

  it('read Kubernetes quantities with their amount, and refuse anything else', () => {
    const amounts: [string, number][] = [
      ['100m', 0.1],
      ['2', 2],
      ['1.5', 1.5],
      ['128Mi', 128 * 2 ** 20],
      ['1Gi', 2 ** 30],
      ['1G', 1e9],
      ['1e3', 1000],
      ['.5', 0.5],
    ];
    for (const [text, amount] of amounts) {
      const parsed = parseQuantity(text);
      assert.ok(parsed.ok, text);
      assert.ok(Math.abs(parsed.value.amount - amount) < 1e-9, `${text} = ${parsed.value.amount}`);
    }
    for (const bad of ['lots', '-100m', '1 Gi', '1gb', '', '1MiB']) {
      assert.equal(parseQuantity(bad).ok, false, bad);
    }
  });
});
