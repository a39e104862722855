import type { ActiveListener } from './compile.js';
import { ConfigError } from './config-error.js';
import type { Listener } from './generated/proxy-config.js';

/**
 * Gateway listeners, indexed the ways a connection finds them. A gateway port carries either one
 * plaintext listener (HTTP routed by Host, or TCP), or TLS listeners chosen by the server name the
 * ClientHello asks for, as an Envoy listener's filter chains by `server_names`: SIMPLE and MUTUAL
 * ones terminate with their own credential and route by their own route configuration (protocol
 * http, http2, grpc), or forward the decrypted stream by their tcpRoute (protocol tcp or tls, Istio's
 * TLS + SIMPLE); PASSTHROUGH ones forward the encrypted bytes by their tcpRoute. All kinds may share
 * a port.
 */
export interface GatewayListeners {
  /** The plaintext listener of each port. */
  readonly plain: Map<number, ActiveListener>;
  /** TLS listeners by port, then by server name: lowercase, `*.suffix`, or `*` for any (and none). */
  readonly bySni: Map<number, Map<string, ActiveListener>>;
  /** Every gateway listener by name: a terminated connection is routed by the listener that terminated it. */
  readonly byName: Map<string, ActiveListener>;
}

const SNI_MODES = new Set(['SIMPLE', 'MUTUAL', 'PASSTHROUGH']);

/** Whether a SIMPLE or MUTUAL gateway listener forwards the decrypted TCP stream rather than HTTP. */
export const terminatesToTcp = (l: Listener): boolean => l.protocol === 'tcp' || l.protocol === 'tls';

export const emptyGatewayListeners = (): GatewayListeners => ({
  plain: new Map(),
  bySni: new Map(),
  byName: new Map(),
});

/** Adds `listeners[i]`, a gateway listener. Throws ConfigError when it cannot be told from another. */
export function indexGatewayListener(index: GatewayListeners, listener: ActiveListener, i: number): void {
  const l = listener.config;
  if (index.byName.has(l.name))
    throw new ConfigError(`listeners[${i}].name`, `two gateway listeners named "${l.name}"`);
  index.byName.set(l.name, listener);
  const mode = l.tls?.mode;
  if (mode === undefined || !SNI_MODES.has(mode)) {
    if (index.plain.has(l.port) || index.bySni.has(l.port))
      throw new ConfigError(`listeners[${i}].port`, `two gateway listeners on port ${l.port}`);
    index.plain.set(l.port, listener);
    return;
  }
  requireTcpRoute(l, i);
  if (index.plain.has(l.port))
    throw new ConfigError(
      `listeners[${i}].port`,
      `port ${l.port} has a plaintext gateway listener already; TLS listeners chosen by server name need a port of their own`,
    );
  const byHost = index.bySni.get(l.port) ?? new Map<string, ActiveListener>();
  index.bySni.set(l.port, byHost);
  const hosts = l.tls?.hosts && l.tls.hosts.length > 0 ? l.tls.hosts : ['*'];
  hosts.forEach((host, j) => {
    const key = host.toLowerCase();
    const other = byHost.get(key);
    if (other)
      throw new ConfigError(
        `listeners[${i}].tls.hosts[${j}]`,
        `${key} on port ${l.port} already belongs to gateway listener "${other.config.name}"`,
      );
    byHost.set(key, listener);
  });
}

/** A listener that forwards bytes (PASSTHROUGH, or terminated TCP) needs a tcpRoute to forward by. */
function requireTcpRoute(l: Listener, i: number): void {
  if (l.tcpRoute) return;
  if (l.tls?.mode === 'PASSTHROUGH')
    throw new ConfigError(
      `listeners[${i}].tcpRoute`,
      'a PASSTHROUGH gateway listener forwards by its tcpRoute; add one',
    );
  if (terminatesToTcp(l))
    throw new ConfigError(
      `listeners[${i}].tcpRoute`,
      `a ${l.tls?.mode} gateway listener of protocol ${l.protocol} forwards the decrypted stream by its tcpRoute; add one, or use protocol http to route HTTP`,
    );
}
