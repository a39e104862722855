import type { HeaderOperations } from '../config/generated/proxy-config.js';

/** Headers as Node carries them, keyed by (normally lowercase) name. */
export type HeaderRecord = Record<string, string | string[] | undefined>;

/** Deletes every spelling of a header, so a mixed-case key left by a caller cannot survive a set or remove. */
function deleteHeader(headers: HeaderRecord, lower: string): void {
  delete headers[lower];
  for (const key in headers) {
    if (key !== lower && key.toLowerCase() === lower) delete headers[key];
  }
}

/** The header's current value under any spelling of its name. */
function currentValue(headers: HeaderRecord, lower: string): string | string[] | undefined {
  const direct = headers[lower];
  if (direct !== undefined) return direct;
  for (const key in headers) {
    if (key.toLowerCase() === lower) return headers[key];
  }
  return undefined;
}

function addHeader(headers: HeaderRecord, lower: string, value: string): void {
  const existing = currentValue(headers, lower);
  deleteHeader(headers, lower);
  // concat, not push: the existing array may be shared with the incoming request's headers.
  headers[lower] = existing === undefined ? value : ([] as string[]).concat(existing, value);
}

/**
 * Applies a route's header operations in place, in Envoy's order: remove, then set (overwrite),
 * then add (append; a header already present becomes an array). Names are compared lowercase.
 */
export function applyHeaderOperations(headers: HeaderRecord, ops: HeaderOperations | undefined): void {
  if (!ops) return;
  if (ops.remove) {
    for (const name of ops.remove) deleteHeader(headers, name.toLowerCase());
  }
  if (ops.set) {
    for (const name in ops.set) {
      const lower = name.toLowerCase();
      deleteHeader(headers, lower);
      headers[lower] = ops.set[name];
    }
  }
  if (ops.add) {
    for (const name in ops.add) addHeader(headers, name.toLowerCase(), ops.add[name] ?? '');
  }
}
