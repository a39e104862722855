import { isIP } from 'node:net';

/**
 * Parsers for the values of injection annotations. Each returns the value, or what is wrong and how
 * to write it instead, so a refusal can name the annotation and the fix. Pure.
 */

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string; readonly fix: string };

/** Every port or address: the `*` of include annotations. */
export const ALL = '*';

const items = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** A comma-separated list of port numbers; `*` too when `allowAll`. An empty list is a valid value. */
export function parsePorts(text: string, allowAll: boolean): Parsed<typeof ALL | number[]> {
  const fix = `list port numbers from 1 to 65535 separated by commas, e.g. "8080,9090"${allowAll ? ', or "*" for every port' : ''}`;
  if (allowAll && text.trim() === ALL) return { ok: true, value: ALL };
  const ports: number[] = [];
  for (const item of items(text)) {
    const port = /^[0-9]{1,5}$/.test(item) ? Number(item) : NaN;
    if (!(port >= 1 && port <= 65_535)) return { ok: false, problem: `"${item}" is not a port number`, fix };
    if (!ports.includes(port)) ports.push(port);
  }
  return { ok: true, value: ports };
}

/** A comma-separated list of CIDRs (IPv4 or IPv6); `*` too when `allowAll`. */
export function parseCidrs(text: string, allowAll: boolean): Parsed<typeof ALL | string[]> {
  const fix = `list CIDRs separated by commas, e.g. "10.0.0.0/8,fd00::/8"${allowAll ? ', or "*" for every address' : ''}`;
  if (allowAll && text.trim() === ALL) return { ok: true, value: ALL };
  const cidrs: string[] = [];
  for (const item of items(text)) {
    const [address = '', prefix, ...rest] = item.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return { ok: false, problem: `"${item}" is not a CIDR`, fix };
    if (prefix === undefined) {
      const bits = family === 4 ? 32 : 128;
      return { ok: false, problem: `"${item}" has no prefix length`, fix: `write "${item}/${bits}"` };
    }
    const max = family === 4 ? 32 : 128;
    if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > max)
      return { ok: false, problem: `"${item}" has a prefix length outside 0-${max}`, fix };
    cidrs.push(item);
  }
  return { ok: true, value: cidrs };
}

export function parseBoolean(text: string): Parsed<boolean> {
  if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
  return {
    ok: false,
    problem: `"${text}" is not a boolean`,
    fix: 'write "true" or "false" (quoted in YAML)',
  };
}

const QUANTITY = /^(\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A non-negative Kubernetes quantity ("100m", "1", "128Mi", "1e3"), with its value to compare two. */
export function parseQuantity(text: string): Parsed<{ readonly text: string; readonly amount: number }> {
  const m = QUANTITY.exec(text);
  if (!m)
    return {
      ok: false,
      problem: `"${text}" is not a Kubernetes quantity`,
      fix: 'write a quantity such as "100m" or "2" for CPU, "128Mi" or "1Gi" for memory',
    };
  const suffix = m[2] ?? '';
  const scale = BINARY[suffix] ?? DECIMAL[suffix] ?? (suffix ? 10 ** Number(suffix.slice(1)) : 1);
  return { ok: true, value: { text, amount: Number(m[1]) * scale } };
}
