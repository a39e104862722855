import { isIPv4, isIPv6 } from 'node:net';

/** The proxy's ports that capture must never redirect to itself (DESIGN.md, "Ports"). */
export const PROXY_ADMIN_PORT = 15000;
export const PROXY_HEALTH_PORT = 15021;
export const PROXY_METRICS_PORT = 15090;

/** `*`: every port or address; a list: only those (an empty list captures nothing, as in Istio). */
export type Selection<T> = '*' | readonly T[];

/**
 * What `weft-init` captures, as Istio's istio-iptables takes it. Everything is TCP: UDP (DNS) is
 * not captured.
 */
export interface CaptureSettings {
  /** Where outbound TCP goes (`-p`, the proxy's outbound listener). */
  readonly proxyPort: number;
  /** Where inbound TCP goes (`-z`, the proxy's inbound listener). */
  readonly inboundCapturePort: number;
  /** The proxy's own traffic is never captured: it runs as this user (`-u`) and group (`-g`). */
  readonly proxyUid: number;
  readonly proxyGid: number;
  /** Inbound destination ports to capture (`-b`). */
  readonly includeInboundPorts: Selection<number>;
  /** Inbound ports left alone when `includeInboundPorts` is `*` (`-d`). */
  readonly excludeInboundPorts: readonly number[];
  /** Outbound destinations to capture (`-i`), as CIDRs. */
  readonly includeOutboundCidrs: Selection<string>;
  /** Outbound destinations never captured (`-x`), as CIDRs. */
  readonly excludeOutboundCidrs: readonly string[];
  /** Outbound destination ports never captured (`-o`). */
  readonly excludeOutboundPorts: readonly number[];
}

export const DEFAULT_CAPTURE: CaptureSettings = {
  proxyPort: 15001,
  inboundCapturePort: 15006,
  proxyUid: 1337,
  proxyGid: 1337,
  includeInboundPorts: '*',
  excludeInboundPorts: [],
  includeOutboundCidrs: '*',
  excludeOutboundCidrs: [],
  excludeOutboundPorts: [],
};

/** A flag value that cannot be used: the message names the flag, the value and the fix. */
export class CaptureSettingsError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(`${flag}: ${message}`);
    this.name = 'CaptureSettingsError';
  }
}

/** The flags as written (`-b "8080,9090"`), before validation; an absent flag keeps its default. */
export interface CaptureFlags {
  readonly proxyPort?: string;
  readonly inboundCapturePort?: string;
  readonly proxyUid?: string;
  readonly proxyGid?: string;
  readonly includeInboundPorts?: string;
  readonly excludeInboundPorts?: string;
  readonly includeOutboundCidrs?: string;
  readonly excludeOutboundCidrs?: string;
  readonly excludeOutboundPorts?: string;
}

/** Validates `flags` into settings. Throws CaptureSettingsError naming the first bad flag. Pure. */
export function parseCaptureFlags(flags: CaptureFlags): CaptureSettings {
  const d = DEFAULT_CAPTURE;
  const proxyUid = optional(flags.proxyUid, d.proxyUid, (v) => id(v, '-u/--proxy-uid'));
  return {
    proxyPort: optional(flags.proxyPort, d.proxyPort, (v) => port(v, '-p/--proxy-port')),
    inboundCapturePort: optional(flags.inboundCapturePort, d.inboundCapturePort, (v) =>
      port(v, '-z/--inbound-capture-port'),
    ),
    proxyUid,
    // Istio's default: the proxy's group is its user's number.
    proxyGid: optional(flags.proxyGid, proxyUid, (v) => id(v, '-g/--proxy-gid')),
    includeInboundPorts: optional(flags.includeInboundPorts, d.includeInboundPorts, (v) =>
      selection(v, (p) => port(p, '-b/--include-inbound-ports')),
    ),
    excludeInboundPorts: optional(flags.excludeInboundPorts, d.excludeInboundPorts, (v) =>
      list(v, (p) => port(p, '-d/--exclude-inbound-ports')),
    ),
    includeOutboundCidrs: optional(flags.includeOutboundCidrs, d.includeOutboundCidrs, (v) =>
      selection(v, (c) => cidr(c, '-i/--include-outbound-cidrs')),
    ),
    excludeOutboundCidrs: optional(flags.excludeOutboundCidrs, d.excludeOutboundCidrs, (v) =>
      list(v, (c) => cidr(c, '-x/--exclude-outbound-cidrs')),
    ),
    excludeOutboundPorts: optional(flags.excludeOutboundPorts, d.excludeOutboundPorts, (v) =>
      list(v, (p) => port(p, '-o/--exclude-outbound-ports')),
    ),
  };
}

function optional<T>(value: string | undefined, fallback: T, parse: (v: string) => T): T {
  return value === undefined ? fallback : parse(value);
}

/** Comma-separated, blanks ignored: `"8080, 9090,"` is two ports and `""` none (annotations are written by hand). */
function list<T>(value: string, parse: (item: string) => T): T[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parse);
}

function selection<T>(value: string, parse: (item: string) => T): Selection<T> {
  return value.trim() === '*' ? '*' : list(value, parse);
}

function port(value: string, flag: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 1 && n <= 65_535))
    throw new CaptureSettingsError(flag, `"${value}" is not a port; give a number from 1 to 65535`);
  return n;
}

function id(value: string, flag: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 4_294_967_294))
    throw new CaptureSettingsError(
      flag,
      `"${value}" is not a numeric user or group id; give a number such as 1337`,
    );
  return n;
}

/** An IPv4 or IPv6 CIDR with its prefix length; a bare address is refused, with the CIDR that means it. */
function cidr(value: string, flag: string): string {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : 0;
  if (family === 0)
    throw new CaptureSettingsError(
      flag,
      `"${value}" is not an IPv4 or IPv6 CIDR; write it as 10.0.0.0/8 or fd00::/8`,
    );
  const max = family === 4 ? 32 : 128;
  if (slash < 0)
    throw new CaptureSettingsError(
      flag,
      `"${value}" has no prefix length; for this one address write ${value}/${max}`,
    );
  const prefix = value.slice(slash + 1);
  if (!/^\d+$/.test(prefix) || Number(prefix) > max)
    throw new CaptureSettingsError(
      flag,
      `"${value}" has a bad prefix length; an IPv${family} prefix is a number from 0 to ${max}`,
    );
  return `${address}/${Number(prefix)}`;
}

/** Whether a validated CIDR is IPv6. Pure. */
export function isIpv6Cidr(validated: string): boolean {
  return validated.includes(':');
}
