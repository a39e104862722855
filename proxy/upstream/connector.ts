import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import type { buildConnector } from 'undici';
import type { Credentials } from '../identity/credentials.js';
import { peerSpiffeId } from '../identity/credentials.js';
import { forgetSession, keepSessions, savedSession, sessionKey } from './tls-sessions.js';

type Connector = buildConnector.connector;

export interface MeshTlsOptions {
  /** The proxy's current credentials; read per connection so a renewal applies to new connections. */
  readonly credentials: () => Credentials | undefined;
  /** SNI, Istio's `outbound_.<port>_.<subset>_.<host>`: it tells the peer which inbound port is meant. */
  readonly sni: string;
  /** SPIFFE IDs the peer may present; empty: any certificate of the mesh CA. */
  readonly expectedIdentities: readonly string[];
  /** ALPN offer: h2 and http/1.1 between proxies for HTTP, `weft-tcp` for opaque TCP. */
  readonly alpn: readonly string[];
  readonly connectTimeoutMs: number;
}

/** A plaintext TCP connector with Nagle off (the proxy writes whole frames), from `localAddress` if given. */
export function plainConnector(connectTimeoutMs: number, localAddress?: string): Connector {
  return (opts, callback) => {
    const socket = netConnect({
      host: opts.hostname,
      port: Number(opts.port),
      noDelay: true,
      ...(localAddress ? { localAddress } : {}),
    });
    guard(socket, 'connect', connectTimeoutMs, callback);
  };
}

/**
 * Mesh mTLS origination: presents the workload certificate, trusts only the mesh roots, and checks
 * the peer's SPIFFE ID against the identities the service is expected to run as (Istio's secure
 * naming), so a compromised endpoint cannot impersonate another service.
 */
export function meshTlsConnector(options: MeshTlsOptions): Connector {
  return (opts, callback) => {
    const creds = options.credentials();
    if (!creds) {
      callback(new Error('no workload certificate yet; mesh mTLS cannot start'), null);
      return;
    }
    const port = Number(opts.port);
    const key = sessionKey(opts.hostname, port, options.sni, options.alpn);
    const saved = savedSession(creds, key);
    const socket = tlsConnect({
      host: opts.hostname,
      port,
      secureContext: creds.context,
      servername: options.sni,
      ALPNProtocols: [...options.alpn],
      rejectUnauthorized: true,
      checkServerIdentity: (_host, cert) => checkPeerIdentity(cert, options.expectedIdentities),
      ...(saved ? { session: saved.session } : {}),
    });
    socket.setNoDelay(true);
    // Node skips checkServerIdentity when a session is resumed (tls onConnectSecure), and shows no
    // peer certificate then: check the identity the session was made with (tls-sessions.ts).
    const resumedIdentity = (): Error | undefined => {
      if (!socket.isSessionReused()) return undefined;
      const refused = checkIdentity(saved?.peerIdentity, options.expectedIdentities);
      if (refused) forgetSession(creds, key);
      return refused;
    };
    const acceptedIdentity = (): string | undefined => {
      if (!socket.isSessionReused()) return peerSpiffeId(socket.getPeerCertificate());
      return resumedIdentity() === undefined ? saved?.peerIdentity : undefined;
    };
    keepSessions(creds, key, socket, acceptedIdentity);
    socket.once('error', () => forgetSession(creds, key));
    guard(socket, 'secureConnect', options.connectTimeoutMs, callback, resumedIdentity);
  };
}

/** Plain TLS origination to a non-mesh service (DestinationRule `SIMPLE`). */
export function simpleTlsConnector(
  sni: string | undefined,
  skipVerify: boolean,
  connectTimeoutMs: number,
  alpn: readonly string[] = MESH_ALPN_HTTP1,
): Connector {
  return (opts, callback) => {
    const socket = tlsConnect({
      host: opts.hostname,
      port: Number(opts.port),
      servername: sni ?? opts.hostname,
      rejectUnauthorized: !skipVerify,
      ALPNProtocols: [...alpn],
    });
    socket.setNoDelay(true);
    guard(socket, 'secureConnect', connectTimeoutMs, callback);
  };
}

/** An Error when the peer's identity is not one of `expected`. Pure. */
/** ALPN protocols between Weft proxies; `weft-tcp` marks a connection that carries opaque TCP. */
export const MESH_ALPN_HTTP: readonly string[] = ['h2', 'http/1.1'];
export const MESH_ALPN_TCP: readonly string[] = ['weft-tcp'];
/** An upgrade (WebSocket) between proxies: HTTP/1.1, since HTTP/2 has no Upgrade. */
export const MESH_ALPN_HTTP1: readonly string[] = ['http/1.1'];
/** An `http2`/`grpc` cluster's connections: h2 only, since its pool speaks nothing else. */
export const ALPN_H2: readonly string[] = ['h2'];

export function checkPeerIdentity(cert: PeerCertificate, expected: readonly string[]): Error | undefined {
  return checkIdentity(peerSpiffeId(cert), expected);
}

function checkIdentity(id: string | undefined, expected: readonly string[]): Error | undefined {
  if (!id) return new Error('the peer certificate carries no SPIFFE ID');
  if (expected.length > 0 && !expected.includes(id))
    return new Error(`the peer is ${id}, not one of the expected identities ${expected.join(', ')}`);
  return undefined;
}

function guard(
  socket: ReturnType<typeof netConnect>,
  ready: 'connect' | 'secureConnect',
  timeoutMs: number,
  callback: buildConnector.Callback,
  verify: () => Error | undefined = () => undefined,
): void {
  let done = false;
  const timer = setTimeout(() => fail(new ConnectTimeoutError(timeoutMs)), timeoutMs);
  const fail = (err: Error): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    callback(err, null);
  };
  socket.once(ready, () => {
    if (done) return;
    const refused = verify();
    if (refused) return fail(refused);
    done = true;
    clearTimeout(timer);
    socket.removeListener('error', fail);
    callback(null, socket);
  });
  socket.once('error', fail);
}

export class ConnectTimeoutError extends Error {
  readonly code = 'UND_ERR_CONNECT_TIMEOUT';
  constructor(ms: number) {
    super(`connect timeout after ${ms} ms`);
  }
}
