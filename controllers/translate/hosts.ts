/**
 * Host names as Istio matches them: a VirtualService host `reviews` in namespace `default` means
 * `reviews.default.svc.cluster.local`; `*.example.com` matches one or more leading labels; `*` matches
 * everything.
 */

export const CLUSTER_DOMAIN = 'svc.cluster.local';

/** The fully qualified form of a short Kubernetes service name, as Istio expands it. Pure. */
export function fqdn(host: string, namespace: string): string {
  if (host === '*' || host.startsWith('*.') || host.includes('.')) return host;
  return `${host}.${namespace}.${CLUSTER_DOMAIN}`;
}

/** Whether `pattern` (possibly `*.` wildcarded) matches `host`. Pure. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/**
 * The hosts a VirtualService serves through a Gateway server: each pair of matching hosts gives the
 * more specific one (`*` and `bookinfo.example.com` give `bookinfo.example.com`). Pure.
 */
export function intersectHosts(vsHosts: readonly string[], serverHosts: readonly string[]): string[] {
  const out = new Set<string>();
  for (const h of vsHosts) {
    for (const sh of serverHosts) {
      if (hostMatches(sh, h)) out.add(h);
      else if (hostMatches(h, sh)) out.add(sh);
    }
  }
  return [...out];
}

/** The names under which a Kubernetes service is reached from `fromNamespace`: what an HTTP Host header may say. */
export function serviceDomains(host: string, port: number, fromNamespace: string): string[] {
  const domains = [host, `${host}:${port}`];
  const suffix = `.${CLUSTER_DOMAIN}`;
  if (host.endsWith(suffix)) {
    const [name, namespace] = host.slice(0, -suffix.length).split('.');
    const short = [`${name}.${namespace}.svc`, `${name}.${namespace}`];
    if (namespace === fromNamespace) short.push(name!);
    for (const s of short) domains.push(s, `${s}:${port}`);
  }
  return domains;
}

/** Istio's cluster name: direction|port|subset|host. */
export function clusterName(
  direction: 'outbound' | 'inbound',
  port: number,
  subset: string,
  host: string,
): string {
  return `${direction}|${port}|${subset}|${host}`;
}
