import { randomBytes, randomUUID } from 'node:crypto';

/** The trace context of this hop, after {@link propagateTrace} rewrote the request headers. */
export interface TraceContext {
  /** 32 lower-case hex digits; a 64-bit B3 trace id is left-padded with zeros. */
  traceId: string;
  /** This hop's span: 16 lower-case hex digits. */
  spanId: string;
  /** The caller's span, when the request continued a trace. */
  parentSpanId?: string;
  requestId: string;
  sampled: boolean;
}

export type HeaderMap = Record<string, string | string[] | undefined>;

/** What the incoming headers said about the trace, before this hop adds its span. */
interface Incoming {
  traceId?: string;
  parentSpanId?: string;
  /** W3C trace-flags, two hex digits; kept as received when the trace came in on traceparent. */
  flags: string;
  /** B3 debug (`X-B3-Flags: 1` or `b3: …-d`), which implies sampled. */
  debug: boolean;
}

const SPAN_ID = /^[0-9a-f]{16}$/;
const B3_TRACE_ID = /^(?:[0-9a-f]{16}|[0-9a-f]{32})$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
const SAMPLED_FLAGS = '01';
const UNSAMPLED_FLAGS = '00';

// randomBytes per request is a syscall-backed call; slicing a refilled pool is far cheaper.
const POOL_SIZE = 4096;
const ID_BYTES = 16;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

/** 16 fresh random bytes from a pooled buffer, consumed by the caller before the next call. */
export function pooledRandom(): Buffer {
  if (poolOffset + ID_BYTES > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + ID_BYTES);
  poolOffset += ID_BYTES;
  return out;
}

/** One header value; repeated headers are ambiguous for tracing, so they count as absent. */
function single(v: string | string[] | undefined): string | undefined {
  if (typeof v === 'string') return v;
  return v?.length === 1 ? v[0] : undefined;
}

/**
 * Parses a W3C traceparent (Trace Context level 1): lower-case hex only, non-zero ids, version ff
 * invalid, version 00 exactly 55 characters, and a later version read by its version-00 prefix.
 */
export function parseTraceparent(
  value: string | undefined,
): { traceId: string; parentId: string; flags: string } | undefined {
  if (value === undefined || value.length < 55) return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m) return undefined;
  const [, version, traceId, parentId, flags, rest] = m;
  if (version === undefined || traceId === undefined || parentId === undefined || flags === undefined) {
    return undefined;
  }
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return undefined;
  return { traceId, parentId, flags };
}

/** B3 sampling state: `1`/`true` sampled, `0`/`false` not, `d` debug; anything else is no decision. */
function b3Sampling(v: string | undefined): { sampled?: boolean; debug: boolean } {
  switch (v) {
    case '1':
    case 'true':
      return { sampled: true, debug: false };
    case '0':
    case 'false':
      return { sampled: false, debug: false };
    case 'd':
      return { sampled: true, debug: true };
    default:
      return { debug: false };
  }
}

function validB3Ids(traceId: string, spanId: string): boolean {
  return (
    B3_TRACE_ID.test(traceId) && SPAN_ID.test(spanId) && !/^0+$/.test(traceId) && spanId !== ZERO_SPAN_ID
  );
}

function fromB3(
  traceId: string | undefined,
  spanId: string | undefined,
  sampling: { sampled?: boolean; debug: boolean },
): Incoming | undefined {
  // A deferred B3 decision falls to this proxy, which samples as it does for new traces.
  const flags = sampling.sampled === false ? UNSAMPLED_FLAGS : SAMPLED_FLAGS;
  if (traceId !== undefined && spanId !== undefined && validB3Ids(traceId, spanId)) {
    return { traceId: traceId.padStart(32, '0'), parentSpanId: spanId, flags, debug: sampling.debug };
  }
  // Absent, half-present or malformed ids cannot be continued; a sampling decision alone still holds.
  return sampling.sampled === undefined ? undefined : { flags, debug: sampling.debug };
}

/** `b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]]`, or the sampling state alone. */
function fromB3Single(value: string | undefined): Incoming | undefined {
  if (value === undefined) return undefined;
  const parts = value.split('-');
  if (parts.length === 1) return fromB3(undefined, undefined, b3Sampling(parts[0]));
  if (parts.length > 4) return undefined;
  const [traceId, spanId, sampling, parent] = parts;
  if (sampling !== undefined && b3Sampling(sampling).sampled === undefined) return undefined;
  if (parent !== undefined && !SPAN_ID.test(parent)) return undefined;
  const state = sampling === undefined ? { debug: false } : b3Sampling(sampling);
  const incoming = fromB3(traceId, spanId, state);
  return incoming?.traceId === undefined ? undefined : incoming;
}

function fromB3Multi(headers: HeaderMap): Incoming | undefined {
  const sampling = b3Sampling(single(headers['x-b3-sampled']));
  if (single(headers['x-b3-flags']) === '1') {
    sampling.sampled = true;
    sampling.debug = true;
  }
  return fromB3(single(headers['x-b3-traceid']), single(headers['x-b3-spanid']), sampling);
}

function incomingContext(headers: HeaderMap): Incoming {
  const tp = parseTraceparent(single(headers['traceparent']));
  if (tp) return { traceId: tp.traceId, parentSpanId: tp.parentId, flags: tp.flags, debug: false };
  return (
    fromB3Single(single(headers['b3'])) ?? fromB3Multi(headers) ?? { flags: SAMPLED_FLAGS, debug: false }
  );
}

function writeB3(headers: HeaderMap, ctx: TraceContext, debug: boolean): void {
  headers['x-b3-traceid'] = ctx.traceId;
  headers['x-b3-spanid'] = ctx.spanId;
  if (ctx.parentSpanId === undefined) delete headers['x-b3-parentspanid'];
  else headers['x-b3-parentspanid'] = ctx.parentSpanId;
  // B3: debug implies sampled, and X-B3-Sampled is not sent beside it.
  if (debug) {
    headers['x-b3-flags'] = '1';
    delete headers['x-b3-sampled'];
  } else {
    headers['x-b3-sampled'] = ctx.sampled ? '1' : '0';
    delete headers['x-b3-flags'];
  }
  // A stale single b3 header would name the caller's span; keep it only if the caller used it.
  if (headers['b3'] !== undefined) {
    const state = debug ? 'd' : ctx.sampled ? '1' : '0';
    const parent = ctx.parentSpanId === undefined ? '' : `-${ctx.parentSpanId}`;
    headers['b3'] = `${ctx.traceId}-${ctx.spanId}-${state}${parent}`;
  }
}

/**
 * Rewrites the trace headers of a request about to be forwarded (lower-case names, as Node gives
 * them): adds `x-request-id` when absent, continues the caller's trace from `traceparent`, else from
 * B3 (single `b3` first, then multi), else starts a sampled trace, with a new span for this hop.
 * `traceparent` and the B3 multi headers are then written to agree; `tracestate` is left alone.
 * Malformed input never throws: it is treated as absent.
 *
 * `random` must return at least 16 fresh random bytes per call.
 */
export function propagateTrace(headers: HeaderMap, random: () => Buffer = pooledRandom): TraceContext {
  let requestId = single(headers['x-request-id']);
  if (requestId === undefined || requestId === '') {
    requestId = randomUUID();
    headers['x-request-id'] = requestId;
  }
  const incoming = incomingContext(headers);
  const traceId = incoming.traceId ?? random().toString('hex', 0, 16);
  const spanId = random().toString('hex', 0, 8);
  const sampled = (parseInt(incoming.flags, 16) & 1) === 1;
  const ctx: TraceContext = { traceId, spanId, requestId, sampled };
  if (incoming.parentSpanId !== undefined) ctx.parentSpanId = incoming.parentSpanId;
  headers['traceparent'] = `00-${traceId}-${spanId}-${incoming.flags}`;
  writeB3(headers, ctx, incoming.debug);
  return ctx;
}
