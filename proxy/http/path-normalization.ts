import type { PathNormalization } from '../config/generated/proxy-config.js';

/** The normalised request target, or why it cannot be served (a 400). */
export type NormalizedPath = { readonly path: string } | { readonly error: string };

/**
 * Normalises a request target as Envoy's `normalize_path` (+ `merge_slashes`, and for
 * DECODE_AND_MERGE_SLASHES `path_with_escaped_slashes_action: UNESCAPE_AND_FORWARD`) does for Istio's
 * `meshConfig.pathNormalization`, so that authorization, routing and the application all see one
 * path: a DENY on `/admin` is not bypassed by `/public/../admin`, `/%61dmin` or `/admin/.`.
 *
 * - Percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are decoded, once (no double
 *   decoding: `%2561` stays `%2561`); other escapes are kept as sent. `%2F`/`%5C` are kept too
 *   (Envoy's default KEEP_UNCHANGED), except under DECODE_AND_MERGE_SLASHES.
 * - A backslash is a slash (Istio's BASE); `.` and `..` segments are resolved (RFC 3986 §5.2.4:
 *   `..` above the root stays at the root, as in Envoy). MERGE_SLASHES then merges `//`.
 * - Characters a URL must escape (`"`, `<`, `>`, `^`, `` ` ``, `{`, `|`, `}`, controls, bytes
 *   above 0x7E) are escaped, so that the literal and the escaped spelling are one path.
 * - Refused: `%00` (always, as Istio), a `%` not followed by two hex digits (an application could
 *   decode `%%32%65` into `%2e` and then into `.`), a fragment (never sent by a client), a
 *   character beyond one byte, and a target that is neither origin-form nor absolute-form.
 * - The query is kept as sent; an absolute-form target (`http://host/p`) becomes its path.
 *
 * NONE returns the target unchanged, but still refuses `%00` in the path. Pure.
 */
export function normalizePath(target: string, mode: PathNormalization): NormalizedPath {
  const q = target.indexOf('?');
  const pathPart = q < 0 ? target : target.slice(0, q);
  if (pathPart.includes('%00')) return { error: 'the request path contains %00' };
  if (mode === 'NONE' || target === '*') return { path: target };
  const raw = originFormPath(pathPart);
  if (raw === undefined) return { error: 'the request target is not a path' };
  // The common case, a path with nothing to decode or escape, skips the character loop.
  const decoded = PLAIN.test(raw) ? raw : decodePath(raw, mode === 'DECODE_AND_MERGE_SLASHES');
  if (typeof decoded !== 'string') return decoded;
  const query = q < 0 ? '' : target.slice(q);
  const resolved = removeDotSegments(decoded);
  const path = mode === 'BASE' ? resolved : resolved.replace(/\/{2,}/g, '/');
  return { path: path + query };
}

/** The path of an origin-form (`/p`) or absolute-form (`http://host/p`) target; undefined otherwise. */
function originFormPath(target: string): string | undefined {
  if (target.startsWith('/') || target.startsWith('\\')) return target;
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/\\]*/i.exec(target);
  if (!m) return undefined;
  const rest = target.slice(m[0].length);
  return rest === '' ? '/' : rest;
}

/** pchar and `/` (RFC 3986) without `%`: nothing for decodePath to do. */
const PLAIN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const HEX = '0123456789ABCDEF';

/**
 * Marks per character code below 0x80: 1 = unreserved (an escape of it is decoded), 2 = must be
 * escaped when sent literally (Chromium's URL canonicaliser, which Envoy's normalize_path uses).
 */
const CLASS = new Uint8Array(128);
for (let c = 0; c < 0x21; c++) CLASS[c] = 2;
for (const ch of '"<>^`{|}\x7f') CLASS[ch.charCodeAt(0)] = 2;
for (const ch of '-._~0123456789') CLASS[ch.charCodeAt(0)] = 1;
for (let c = 0x41; c <= 0x5a; c++) CLASS[c] = CLASS[c + 0x20] = 1;

const SLASH = 0x2f;
const BACKSLASH = 0x5c;

/** Decodes unreserved escapes (and `%2F`/`%5C` when `decodeSlashes`), turns `\` into `/`, escapes the rest. */
function decodePath(raw: string, decodeSlashes: boolean): string | { error: string } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25) {
      const value = hexByte(raw, i + 1);
      if (value < 0) return { error: 'the request path has an invalid percent-encoding' };
      if (value < 0x80 && CLASS[value] === 1) out += String.fromCharCode(value);
      else if (decodeSlashes && (value === SLASH || value === BACKSLASH)) out += '/';
      else out += raw.slice(i, i + 3);
      i += 2;
    } else if (c === BACKSLASH) {
      out += '/';
    } else if (c === 0x23) {
      return { error: 'the request path contains a fragment (#)' };
    } else if (c > 0xff) {
      return { error: 'the request path contains a character that is not a byte' };
    } else if (c >= 0x80 || CLASS[c] === 2) {
      out += `%${HEX[c >> 4]}${HEX[c & 15]}`;
    } else {
      out += raw[i];
    }
  }
  return out;
}

/** The byte a `%HH` at `at` (the first hex digit) spells, or -1. */
function hexByte(s: string, at: number): number {
  if (at + 1 >= s.length) return -1;
  const hi = hexDigit(s.charCodeAt(at));
  const lo = hexDigit(s.charCodeAt(at + 1));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

const DOT_SEGMENT = /\/\.\.?(?:\/|$)/;

/**
 * RFC 3986 §5.2.4 on an absolute path: `.` segments go, `..` removes the segment before it (never
 * the root). A path ending in `.` or `..` keeps its trailing slash (`/a/b/..` → `/a/`).
 */
function removeDotSegments(path: string): string {
  if (!DOT_SEGMENT.test(path)) return path;
  const segments = path.slice(1).split('/');
  const out: string[] = [];
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '..') out.pop();
    if (seg === '.' || seg === '..') {
      if (last) out.push('');
      return;
    }
    out.push(seg);
  });
  return `/${out.join('/')}`;
}
