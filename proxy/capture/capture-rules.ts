import {
  isIpv6Cidr,
  PROXY_ADMIN_PORT,
  PROXY_HEALTH_PORT,
  PROXY_METRICS_PORT,
  type CaptureSettings,
} from './capture-settings.js';

export type IpFamily = 'ipv4' | 'ipv6';

/** Weft's chains in the nat table, named as Istio's with WEFT_ for ISTIO_, so a reader of either knows both. */
export const CHAINS = {
  inbound: 'WEFT_INBOUND',
  inRedirect: 'WEFT_IN_REDIRECT',
  output: 'WEFT_OUTPUT',
  redirect: 'WEFT_REDIRECT',
} as const;

/** The built-in chains Weft jumps from, with the rule that jumps into its own chain. */
const JUMPS = [
  ['PREROUTING', `-p tcp -j ${CHAINS.inbound}`],
  ['OUTPUT', `-p tcp -j ${CHAINS.output}`],
] as const;

const LOOPBACK = { ipv4: '127.0.0.1/32', ipv6: '::1/128' } as const;

/**
 * The source address the proxy connects from when it delivers inbound traffic to its workload at
 * the pod's own address (Istio's inbound passthrough address). Its connections over `lo` from it
 * are never captured; any other connection of the proxy to its pod address is sent to the
 * inbound side.
 */
export const INBOUND_SOURCE = { ipv4: '127.0.0.6', ipv6: '::6' } as const;
const INBOUND_SOURCE_CIDR = {
  ipv4: `${INBOUND_SOURCE.ipv4}/32`,
  ipv6: `${INBOUND_SOURCE.ipv6}/128`,
} as const;

/**
 * The iptables-restore document (nat table) that captures a pod's TCP traffic into its proxy, as
 * istio-iptables writes it in REDIRECT mode. Meant for `iptables-restore --noflush`: the pod's
 * other rules stay. Pure.
 *
 * - Inbound (PREROUTING): every TCP connection, or only `includeInboundPorts`, goes to the inbound
 *   capture port, except the proxy's own admin, health and metrics ports and the inbound port.
 *   The outbound port (15001) stays captured on purpose: reached from another pod, it would relay
 *   that pod's requests under this workload's identity; redirected to 15006 it finds no listener.
 * - Outbound (OUTPUT): every TCP connection the application opens goes to the proxy port, except
 *   the proxy's own (by UID and GID, or it would loop), loopback destinations, excluded ports and
 *   CIDRs, and anything outside `includeOutboundCidrs`.
 * - The proxy reaching its own pod's address over `lo` (a client calling a service its own pod
 *   serves) is sent to the inbound capture port, so the request gets inbound policy as from any
 *   other pod; but not from INBOUND_SOURCE, where the inbound side delivers to the workload. The
 *   application reaching its own address over `lo` is left alone.
 */
export function captureRules(settings: CaptureSettings, family: IpFamily = 'ipv4'): string {
  const lines = [
    '*nat',
    ...Object.values(CHAINS).map((chain) => `:${chain} - [0:0]`),
    `-A ${CHAINS.inRedirect} -p tcp -j REDIRECT --to-ports ${settings.inboundCapturePort}`,
    `-A ${CHAINS.redirect} -p tcp -j REDIRECT --to-ports ${settings.proxyPort}`,
    ...inboundRules(settings),
    ...outboundRules(settings, family),
    'COMMIT',
  ];
  return `${lines.join('\n')}\n`;
}

function inboundRules(settings: CaptureSettings): string[] {
  const include = settings.includeInboundPorts;
  if (include !== '*' && include.length === 0) return [];
  const rules = [`-A PREROUTING ${JUMPS[0][1]}`];
  if (include !== '*') {
    for (const port of include)
      rules.push(`-A ${CHAINS.inbound} -p tcp --dport ${port} -j ${CHAINS.inRedirect}`);
    return rules;
  }
  const own = [PROXY_ADMIN_PORT, settings.inboundCapturePort, PROXY_HEALTH_PORT, PROXY_METRICS_PORT];
  for (const port of unique([...own, ...settings.excludeInboundPorts]))
    rules.push(`-A ${CHAINS.inbound} -p tcp --dport ${port} -j RETURN`);
  rules.push(`-A ${CHAINS.inbound} -p tcp -j ${CHAINS.inRedirect}`);
  return rules;
}

function outboundRules(settings: CaptureSettings, family: IpFamily): string[] {
  const include = settings.includeOutboundCidrs;
  const includeCidrs = include === '*' ? [] : include.filter((c) => isIpv6Cidr(c) === (family === 'ipv6'));
  if (include !== '*' && includeCidrs.length === 0) return [];
  const out = CHAINS.output;
  const loopback = LOOPBACK[family];
  const rules = [`-A OUTPUT ${JUMPS[1][1]}`];
  // Port exclusions come before the loopback rules, or the proxy's call to its own pod on an
  // excluded port would be sent back to its inbound side.
  for (const port of unique(settings.excludeOutboundPorts))
    rules.push(`-A ${out} -p tcp --dport ${port} -j RETURN`);
  rules.push(`-A ${out} -o lo -s ${INBOUND_SOURCE_CIDR[family]} -j RETURN`);
  for (const [match, id] of [
    ['--uid-owner', settings.proxyUid],
    ['--gid-owner', settings.proxyGid],
  ] as const) {
    rules.push(
      `-A ${out} -o lo ! -d ${loopback} -m owner ${match} ${id} -j ${CHAINS.inRedirect}`,
      `-A ${out} -o lo -m owner ! ${match} ${id} -j RETURN`,
      `-A ${out} -m owner ${match} ${id} -j RETURN`,
    );
  }
  rules.push(`-A ${out} -d ${loopback} -j RETURN`);
  for (const cidr of unique(settings.excludeOutboundCidrs)) {
    if (isIpv6Cidr(cidr) === (family === 'ipv6')) rules.push(`-A ${out} -d ${cidr} -j RETURN`);
  }
  if (include === '*') rules.push(`-A ${out} -j ${CHAINS.redirect}`);
  for (const cidr of unique(includeCidrs)) rules.push(`-A ${out} -d ${cidr} -j ${CHAINS.redirect}`);
  return rules;
}

/**
 * The iptables commands (arguments after `iptables`) that remove Weft's rules: the jumps from the
 * built-in chains, then Weft's chains. Each may fail because there is nothing to remove; the
 * caller ignores that, so cleaning a clean pod is a no-op. Pure.
 */
export function cleanupCommands(): string[][] {
  return [
    ...JUMPS.map(([chain, rule]) => ['-t', 'nat', '-D', chain, ...rule.split(' ')]),
    ...Object.values(CHAINS).map((chain) => ['-t', 'nat', '-F', chain]),
    ...Object.values(CHAINS).map((chain) => ['-t', 'nat', '-X', chain]),
  ];
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
