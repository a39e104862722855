import type { Gateway, Server } from '../../crds/generated/types/gateway.js';
import type { Listener } from '../../proxy/config/generated/proxy-config.js';
import type { Diagnostic } from './virtual-services.js';
import { nameOf, namespaceOf } from './visibility.js';

/**
 * Gateway servers as a gateway proxy serves them: classified, named, and grouped by the port they
 * bind, with Istio's conflicts between servers of one port resolved. Pure.
 *
 * What a server is decides what it may share its port with, as an Envoy listener's filter chains:
 * - `http`: plaintext HTTP (HTTP, HTTP2, GRPC). Every such server on a port is served by one
 *   listener that routes by Host (Istio's `http.<port>` route), whichever Gateway it comes from.
 * - `terminate` (tls.mode SIMPLE or MUTUAL: HTTP inside on HTTP ports, HTTPS among them; on TLS, TCP
 *   and other ports a TCP stream, forwarded by a VirtualService tcp route, as Istio's TLS + SIMPLE)
 *   and `passthrough` (PASSTHROUGH, the default mode on HTTPS and TLS ports): TLS chosen by the
 *   ClientHello's server name. Any number share a port, each with its own hosts; a host already
 *   served on the port is a conflict.
 * - `tcp`: one server per port, forwarding by a VirtualService tcp route; bytes are not inspected,
 *   so nothing can tell two apart.
 */

export type ServerKind = 'http' | 'terminate' | 'passthrough' | 'tcp';

/** One server of a Gateway that selects the proxy. */
export interface GatewayServer {
  /** `namespace/name` of the Gateway. */
  readonly gateway: string;
  readonly server: Server;
  /** Its position in spec.servers, for diagnostics. */
  readonly index: number;
  /** The port the proxy binds: targetPort, else the port number. */
  readonly port: number;
  readonly kind: ServerKind;
  /** Its hosts without the `namespace/` part: the server names (SNI) it answers. */
  readonly hosts: readonly string[];
  /** Its hosts with the namespace whose VirtualServices may bind to each (`ns/host`, `./host`). */
  readonly namespacedHosts: readonly ServerHost[];
  /**
   * `gateway|<port>|<namespace>/<gateway>|<port name>`: unique (Istio requires a Gateway's port
   * names to be), and stable when servers are added, reordered or given other hosts.
   */
  readonly name: string;
}

/** A server host, and the one namespace whose VirtualServices may bind to it (undefined: any). */
export interface ServerHost {
  readonly host: string;
  readonly namespace: string | undefined;
}

/** The servers one port serves: all of one family. */
export interface GatewayPort {
  readonly port: number;
  readonly family: 'http' | 'tls' | 'tcp';
  readonly servers: readonly GatewayServer[];
}

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC']);
const TLS_PROTOCOLS = new Set(['HTTPS', 'TLS']);

const familyOf = (kind: ServerKind): GatewayPort['family'] =>
  kind === 'http' ? 'http' : kind === 'tcp' ? 'tcp' : 'tls';

const FAMILY_WORDS: Record<GatewayPort['family'], string> = {
  http: 'plaintext HTTP',
  tls: 'TLS by server name',
  tcp: 'TCP',
};

const GATEWAY_PROTOCOLS: Record<string, Listener['protocol']> = {
  HTTP: 'http',
  HTTPS: 'http',
  HTTP2: 'http2',
  GRPC: 'grpc',
  TCP: 'tcp',
  TLS: 'tls',
};

/** The proxy protocol of a server's port: HTTPS is HTTP once terminated; unknown protocols are TCP. */
export const listenerProtocol = (server: Server): Listener['protocol'] =>
  GATEWAY_PROTOCOLS[server.port.protocol.toUpperCase()] ?? 'tcp';

/** How a server is served, or why it cannot be. Pure. */
export function serverKind(server: Server): ServerKind | { unsupported: string } {
  const protocol = server.port.protocol.toUpperCase();
  const mode = server.tls?.mode;
  // Terminated: HTTP follows on HTTP ports (HTTPS, HTTP with a certificate), a TCP stream on the others.
  if (mode === 'SIMPLE' || mode === 'MUTUAL') return 'terminate';
  // On a plaintext port, tls only asks for a redirect to HTTPS (httpsRedirect), as in Istio.
  if (HTTP_PROTOCOLS.has(protocol)) return 'http';
  if (!TLS_PROTOCOLS.has(protocol)) return 'tcp';
  if (!server.tls)
    return {
      unsupported: `port protocol ${protocol} needs tls settings: set tls.mode (SIMPLE, MUTUAL or PASSTHROUGH)`,
    };
  if (mode === undefined || mode === 'PASSTHROUGH') return 'passthrough';
  return {
    unsupported: `tls.mode ${mode} is not supported by Weft gateways; use SIMPLE, MUTUAL or PASSTHROUGH`,
  };
}

/** Whether a terminated server carries HTTP (routed by its route configuration) rather than a TCP stream. */
export const terminatesIntoHttp = (server: Server): boolean => {
  const carries = listenerProtocol(server);
  return carries !== 'tcp' && carries !== 'tls';
};

/** `server 1 (port 443 https)`: how diagnostics name a server. */
export function describeServer(s: Pick<GatewayServer, 'index' | 'server'>): string {
  return `server ${s.index} (port ${s.server.port.number} ${s.server.port.name})`;
}

/**
 * A server host as Istio reads it (sanitizeServerHostNamespace): `ns/host` admits VirtualServices of
 * namespace ns, `./host` those of the Gateway's own namespace; a bare host, or one under namespace
 * `*`, admits any. Pure.
 */
function serverHost(entry: string, gatewayNamespace: string): ServerHost {
  const slash = entry.indexOf('/');
  if (slash < 0) return { host: entry, namespace: undefined };
  const namespace = entry.slice(0, slash);
  const host = entry.slice(slash + 1);
  if (namespace === '*') return { host, namespace: undefined };
  return { host, namespace: namespace === '.' ? gatewayNamespace : namespace };
}

/**
 * The hosts of a server a VirtualService of `namespace` may bind to, as Istio's
 * host.NamesForNamespace: unrestricted ones, and those restricted to that namespace. Its exportTo
 * does not widen this: it must also reach the gateway proxy's namespace (gateways.ts). Pure.
 */
export const hostsFor = (s: GatewayServer, namespace: string): string[] =>
  s.namespacedHosts.filter((h) => h.namespace === undefined || h.namespace === namespace).map((h) => h.host);

/** The hosts of a server restricted to namespaces other than `namespace`, with their `ns/host` entry. Pure. */
export const hostsDeniedTo = (s: GatewayServer, namespace: string): ServerHost[] =>
  s.namespacedHosts.filter((h) => h.namespace !== undefined && h.namespace !== namespace);

/** The servers of `gateways` (oldest first, then in spec order), each classified and named. Pure. */
export function gatewayServers(gateways: readonly Gateway[], diagnostics: Diagnostic[]): GatewayServer[] {
  const out: GatewayServer[] = [];
  for (const gateway of gateways) {
    const ref = nameOf(gateway);
    const named = new Map<string, number>();
    (gateway.spec?.servers ?? []).forEach((server, index) => {
      const kind = serverKind(server);
      if (typeof kind !== 'string') {
        diagnostics.push({
          resource: `Gateway ${ref}`,
          message: `${describeServer({ index, server })} is not served: ${kind.unsupported}`,
        });
        return;
      }
      const port = server.port.targetPort ?? server.port.number;
      const base = `gateway|${port}|${ref}|${server.port.name}`;
      const clash = named.get(base);
      if (clash !== undefined)
        diagnostics.push({
          resource: `Gateway ${ref}`,
          message: `servers ${clash} and ${index} share the port name ${server.port.name} on port ${port}; Istio requires a Gateway's port names to be unique: rename one`,
        });
      else named.set(base, index);
      const name = clash === undefined ? base : `${base}#${index}`;
      const namespacedHosts = server.hosts.map((h) => serverHost(h, namespaceOf(gateway)));
      const hosts = [...new Set(namespacedHosts.map((h) => h.host))];
      out.push({ gateway: ref, server, index, port, kind, hosts, namespacedHosts, name });
    });
  }
  return out;
}

/**
 * Servers grouped by port, in port order. The first server of a port (the oldest Gateway's) decides
 * its family; a server of another family, or a second TCP server, is reported and left out. Pure.
 */
export function gatewayPorts(servers: readonly GatewayServer[], diagnostics: Diagnostic[]): GatewayPort[] {
  const ports = new Map<number, { family: GatewayPort['family']; servers: GatewayServer[] }>();
  for (const s of servers) {
    const family = familyOf(s.kind);
    const port = ports.get(s.port);
    if (!port) {
      ports.set(s.port, { family, servers: [s] });
      continue;
    }
    const first = port.servers[0]!;
    if (port.family === family && family !== 'tcp') {
      port.servers.push(s);
      continue;
    }
    diagnostics.push({
      resource: `Gateway ${s.gateway}`,
      message: `${describeServer(s)} is not served: port ${s.port} already serves ${FAMILY_WORDS[port.family]} for Gateway ${first.gateway} ${describeServer(first)}; a port carries plaintext HTTP, TLS chosen by server name (SIMPLE, MUTUAL, PASSTHROUGH), or one TCP server: move it to another port`,
    });
  }
  return [...ports]
    .sort(([a], [b]) => a - b)
    .map(([port, { family, servers: list }]) => ({ port, family, servers: list }));
}
