import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { parseTraceparent, pooledRandom, propagateTrace } from './tracing.js';
import type { HeaderMap } from './tracing.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Deterministic ids: the n-th call returns 16 bytes of value n. */
function counterRandom(): () => Buffer {
  let n = 0;
  return () => Buffer.alloc(16, ++n);
}
const hex = (byte: number, bytes: number): string => byte.toString(16).padStart(2, '0').repeat(bytes);

/** traceparent and the B3 multi headers must describe the same span. */
function assertConsistent(h: HeaderMap, ctx: ReturnType<typeof propagateTrace>): void {
  const flags = ctx.sampled ? '01' : '00';
  assert.equal(h['traceparent'], `00-${ctx.traceId}-${ctx.spanId}-${flags}`);
  assert.equal(h['x-b3-traceid'], ctx.traceId);
  assert.equal(h['x-b3-spanid'], ctx.spanId);
  assert.equal(h['x-b3-parentspanid'], ctx.parentSpanId);
  assert.equal(h['x-b3-sampled'], ctx.sampled ? '1' : '0');
  assert.equal(h['x-request-id'], ctx.requestId);
}

describe('propagateTrace', () => {
  it('starts a sampled trace and a request id when the request carries none', () => {
    const h: HeaderMap = {};
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.traceId, hex(1, 16));
    assert.equal(ctx.spanId, hex(2, 8));
    assert.equal(ctx.parentSpanId, undefined);
    assert.equal(ctx.sampled, true);
    assert.match(ctx.requestId, UUID);
    assertConsistent(h, ctx);
    assert.equal('x-b3-parentspanid' in h, false);
  });

  it('continues a valid traceparent with a new span, keeping trace id, flags and tracestate', () => {
    const h: HeaderMap = {
      traceparent: `00-${TRACE}-${SPAN}-01`,
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61',
    };
    const ctx = propagateTrace(h, counterRandom());
    assert.deepEqual(
      { ...ctx, requestId: 'x' },
      { traceId: TRACE, spanId: hex(1, 8), parentSpanId: SPAN, sampled: true, requestId: 'x' },
    );
    assertConsistent(h, ctx);
    assert.equal(h['tracestate'], 'rojo=00f067aa0ba902b7,congo=t61');
  });

  it('keeps unsampled and unknown trace flags as received', () => {
    const unsampled: HeaderMap = { traceparent: `00-${TRACE}-${SPAN}-00` };
    assert.equal(propagateTrace(unsampled).sampled, false);
    assert.match(String(unsampled['traceparent']), /-00$/);
    assert.equal(unsampled['x-b3-sampled'], '0');

    const other: HeaderMap = { traceparent: `00-${TRACE}-${SPAN}-03` };
    assert.equal(propagateTrace(other).sampled, true);
    assert.match(String(other['traceparent']), /-03$/);
  });

  it('reads a future traceparent version by its version-00 prefix and forwards version 00', () => {
    const h: HeaderMap = { traceparent: `cc-${TRACE}-${SPAN}-01-what-the-future-holds` };
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.traceId, TRACE);
    assert.equal(ctx.parentSpanId, SPAN);
    assert.equal(h['traceparent'], `00-${TRACE}-${hex(1, 8)}-01`);
  });

  for (const [why, value] of [
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['short trace id', `00-${TRACE.slice(2)}-${SPAN}-01`],
    ['long parent id', `00-${TRACE}-${SPAN}aa-01`],
    ['version 00 with trailing data', `00-${TRACE}-${SPAN}-01-extra`],
    ['future version without a dash after the flags', `01-${TRACE}-${SPAN}-01x`],
    ['non-hex flags', `00-${TRACE}-${SPAN}-0g`],
    ['two joined headers', `00-${TRACE}-${SPAN}-01, 00-${TRACE}-${SPAN}-01`],
    ['garbage', 'not a traceparent'],
    ['empty', ''],
  ] as const) {
    it(`starts a new trace for an invalid traceparent (${why})`, () => {
      assert.equal(parseTraceparent(value), undefined);
      const h: HeaderMap = { traceparent: value };
      const ctx = propagateTrace(h, counterRandom());
      assert.equal(ctx.traceId, hex(1, 16));
      assert.equal(ctx.parentSpanId, undefined);
      assert.equal(ctx.sampled, true);
      assertConsistent(h, ctx);
    });
  }

  it('treats a traceparent sent as several headers as absent', () => {
    const h: HeaderMap = { traceparent: [`00-${TRACE}-${SPAN}-01`, `00-${TRACE}-${SPAN}-00`] };
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.traceId, hex(1, 16));
    assertConsistent(h, ctx);
  });

  it('continues a B3 multi-header trace when traceparent is invalid', () => {
    const h: HeaderMap = {
      traceparent: 'garbage',
      'x-b3-traceid': TRACE,
      'x-b3-spanid': SPAN,
      'x-b3-parentspanid': 'aaaaaaaaaaaaaaaa',
      'x-b3-sampled': '0',
    };
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.traceId, TRACE);
    assert.equal(ctx.spanId, hex(1, 8));
    assert.equal(ctx.parentSpanId, SPAN);
    assert.equal(ctx.sampled, false);
    assertConsistent(h, ctx);
  });

  it('pads a 64-bit B3 trace id to 128 bits', () => {
    const h: HeaderMap = { 'x-b3-traceid': 'a3ce929d0e0e4736', 'x-b3-spanid': SPAN, 'x-b3-sampled': '1' };
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.traceId, '0000000000000000a3ce929d0e0e4736');
    assertConsistent(h, ctx);
  });

  it('samples a B3 trace whose sampling decision was deferred', () => {
    const h: HeaderMap = { 'x-b3-traceid': TRACE, 'x-b3-spanid': SPAN };
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.traceId, TRACE);
    assert.equal(ctx.sampled, true);
    assertConsistent(h, ctx);
  });

  it('keeps B3 debug as X-B3-Flags without X-B3-Sampled', () => {
    const h: HeaderMap = {
      'x-b3-traceid': TRACE,
      'x-b3-spanid': SPAN,
      'x-b3-flags': '1',
      'x-b3-sampled': '0',
    };
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.sampled, true);
    assert.equal(h['x-b3-flags'], '1');
    assert.equal('x-b3-sampled' in h, false);
    assert.equal(h['traceparent'], `00-${TRACE}-${hex(1, 8)}-01`);
  });

  it('honours a B3 sampling-only decision on a new trace', () => {
    const h: HeaderMap = { 'x-b3-sampled': '0' };
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.traceId, hex(1, 16));
    assert.equal(ctx.sampled, false);
    assertConsistent(h, ctx);
  });

  it('starts a new trace for malformed B3 ids', () => {
    for (const ids of [
      { 'x-b3-traceid': TRACE },
      { 'x-b3-traceid': TRACE, 'x-b3-spanid': 'xyz' },
      { 'x-b3-traceid': '0'.repeat(32), 'x-b3-spanid': SPAN },
      { 'x-b3-traceid': TRACE.slice(1), 'x-b3-spanid': SPAN },
      { 'x-b3-traceid': TRACE, 'x-b3-spanid': '0'.repeat(16) },
    ]) {
      const h: HeaderMap = { ...ids };
      const ctx = propagateTrace(h, counterRandom());
      assert.equal(ctx.traceId, hex(1, 16), JSON.stringify(ids));
      assert.equal(ctx.parentSpanId, undefined);
      assertConsistent(h, ctx);
    }
  });

  it('continues a single b3 header and rewrites it for this hop', () => {
    const h: HeaderMap = { b3: `${TRACE}-${SPAN}-0-aaaaaaaaaaaaaaaa` };
    const ctx = propagateTrace(h, counterRandom());
    assert.equal(ctx.traceId, TRACE);
    assert.equal(ctx.parentSpanId, SPAN);
    assert.equal(ctx.sampled, false);
    assertConsistent(h, ctx);
    assert.equal(h['b3'], `${TRACE}-${hex(1, 8)}-0-${SPAN}`);
  });

  it('prefers the single b3 header over B3 multi headers, and traceparent over both', () => {
    const other = 'aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb';
    const single: HeaderMap = { b3: `${TRACE}-${SPAN}`, 'x-b3-traceid': other, 'x-b3-spanid': SPAN };
    assert.equal(propagateTrace(single).traceId, TRACE);
    assert.equal(single['x-b3-traceid'], TRACE);

    const all: HeaderMap = { traceparent: `00-${other}-${SPAN}-01`, b3: `${TRACE}-${SPAN}-1` };
    const ctx = propagateTrace(all, counterRandom());
    assert.equal(ctx.traceId, other);
    assertConsistent(all, ctx);
    assert.equal(all['b3'], `${other}-${hex(1, 8)}-1-${SPAN}`);
  });

  it('handles single b3 sampling-only, debug and malformed values', () => {
    const deny: HeaderMap = { b3: '0' };
    assert.equal(propagateTrace(deny).sampled, false);
    assert.equal(deny['b3'], `${String(deny['x-b3-traceid'])}-${String(deny['x-b3-spanid'])}-0`);

    const debug: HeaderMap = { b3: `${TRACE}-${SPAN}-d` };
    const ctx = propagateTrace(debug, counterRandom());
    assert.equal(ctx.sampled, true);
    assert.equal(debug['x-b3-flags'], '1');
    assert.equal(debug['b3'], `${TRACE}-${hex(1, 8)}-d-${SPAN}`);

    for (const bad of [
      '',
      'x',
      `${TRACE}`,
      `${TRACE}-${SPAN}-2`,
      `${TRACE}-${SPAN}-1-zz`,
      'a-b-c-d-e',
      '----',
    ]) {
      const h: HeaderMap = { b3: bad };
      const c = propagateTrace(h, counterRandom());
      assert.equal(c.traceId, hex(1, 16), bad);
      assert.equal(c.sampled, true, bad);
    }
  });

  it('keeps an existing x-request-id and replaces an empty one', () => {
    const kept: HeaderMap = { 'x-request-id': 'client-chosen-id' };
    assert.equal(propagateTrace(kept).requestId, 'client-chosen-id');
    assert.equal(kept['x-request-id'], 'client-chosen-id');

    const empty: HeaderMap = { 'x-request-id': '' };
    assert.match(propagateTrace(empty).requestId, UUID);
    assert.match(String(empty['x-request-id']), UUID);
  });

  it("accepts Node's IncomingHttpHeaders and never throws on hostile values", () => {
    const incoming: IncomingHttpHeaders = { host: 'reviews', 'set-cookie': ['a=b'] };
    assert.doesNotThrow(() => propagateTrace(incoming));
    const hostile = ['', '-', '--', '00-', `00-${TRACE}-`, '\u0000', 'é'.repeat(100), '0'.repeat(10_000)];
    for (const v of hostile) {
      const h: HeaderMap = {
        traceparent: v,
        b3: v,
        'x-b3-traceid': v,
        'x-b3-spanid': v,
        'x-b3-sampled': v,
        'x-b3-flags': v,
        'x-request-id': [v, v],
      };
      const ctx = propagateTrace(h);
      assert.match(ctx.traceId, /^[0-9a-f]{32}$/);
      assert.match(ctx.spanId, /^[0-9a-f]{16}$/);
    }
  });

  it('draws distinct ids from the pooled random source across pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = pooledRandom().toString('hex');
      assert.equal(id.length, 32);
      seen.add(id);
    }
    assert.equal(seen.size, 1000);
  });
});
