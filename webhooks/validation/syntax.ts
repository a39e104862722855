import { isIP } from 'node:net';
import { parseDuration } from '../../controllers/translate/durations.js';
import type { Problems } from './problems.js';

/**
 * Field checks the CRD schema cannot express, shared by every resource's validator. Each records a
 * problem naming the field and the fix, and returns whether the value is usable.
 */

export function checkDuration(
  p: Problems,
  field: string,
  value: string | undefined,
  { min = 0 } = {},
): boolean {
  if (value === undefined) return true;
  const ms = parseDuration(value);
  if (ms === undefined) {
    p.error(field, `"${value}" is not a duration; write it like 500ms, 1s or 1.5s`);
    return false;
  }
  if (ms < min) {
    p.error(field, `${value} is too short; use at least ${min} ms`);
    return false;
  }
  return true;
}

export function checkRegex(p: Problems, field: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  try {
    new RegExp(value);
    return true;
  } catch (err) {
    p.error(
      field,
      `"${value}" is not a valid regular expression (${(err as Error).message}); fix the pattern or use exact/prefix`,
    );
    return false;
  }
}

/** A host as Istio accepts it: a DNS name, optionally with a leading `*.` wildcard, or `*`. */
export function checkHost(p: Problems, field: string, host: string, { allowShort = true } = {}): boolean {
  if (host === '*') return true;
  const name = host.startsWith('*.') ? host.slice(2) : host;
  const ok =
    name.length > 0 &&
    name.length <= 253 &&
    /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/.test(name);
  if (!ok || name.includes('*')) {
    p.error(
      field,
      `"${host}" is not a host name; use a DNS name such as reviews, reviews.default.svc.cluster.local or *.example.com`,
    );
    return false;
  }
  if (!allowShort && !name.includes('.')) {
    p.error(field, `"${host}" must be fully qualified here, e.g. ${host}.example.com`);
    return false;
  }
  return true;
}

/** An IP address or CIDR block (v4 or v6). */
export function checkCidr(p: Problems, field: string, value: string): boolean {
  const [address, bits, extra] = value.split('/');
  const family = isIP(address ?? '');
  const max = family === 6 ? 128 : 32;
  const bitsOk = bits === undefined || (/^[0-9]+$/.test(bits) && Number(bits) <= max);
  if (family === 0 || !bitsOk || extra !== undefined) {
    p.error(field, `"${value}" is not an IP address or CIDR block; write it like 10.0.0.0/8 or 192.168.1.7`);
    return false;
  }
  return true;
}

/** An HTTP header name: an RFC 9110 token, lower case by convention. */
export function checkHeaderName(p: Problems, field: string, name: string): boolean {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    p.error(field, `"${name}" is not a valid HTTP header name; use letters, digits and - only`);
    return false;
  }
  return true;
}
