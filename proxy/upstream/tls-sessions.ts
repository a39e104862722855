import type { TLSSocket } from 'node:tls';
import type { Credentials } from '../identity/credentials.js';

/**
 * TLS sessions for resumption of connections to mesh peers, as Envoy's upstream TLS context keeps
 * them (max_session_keys). A resumed TLS 1.3 handshake skips the certificate signature and the
 * chain verification on both sides, the costly part of opening an mTLS connection; HTTP/1.1
 * between proxies (ADR 0013) opens one connection per concurrent request, so bursts open many.
 *
 * Sessions belong to the credentials they were made with: a renewed certificate or a new trust
 * bundle is a new Credentials object, so its connections start with full handshakes, and the peer
 * sees the new certificate. Node neither runs checkServerIdentity on a resumed session nor shows
 * the client the peer's certificate then, so each session is kept with the identity its full
 * handshake verified, and the connector checks that against the cluster's expected identities
 * (connector.ts): resumption never widens who is accepted.
 */

/** Per credentials at most this many peers (address, SNI and ALPN) are remembered, least recent out first. */
export const MAX_SESSIONS = 256;

/** A session, and the peer identity its full handshake verified. */
export interface SavedSession {
  readonly session: Buffer;
  readonly peerIdentity: string;
}

const byCredentials = new WeakMap<Credentials, Map<string, SavedSession>>();

export function sessionKey(host: string, port: number, sni: string, alpn: readonly string[]): string {
  return `${host}:${port}|${sni}|${alpn.join(',')}`;
}

/** The session to offer for a new connection, if one was kept. */
export function savedSession(creds: Credentials, key: string): SavedSession | undefined {
  const sessions = byCredentials.get(creds);
  const session = sessions?.get(key);
  if (session) {
    // Most recently used last: Map keeps insertion order, so the first key is the one to evict.
    sessions!.delete(key);
    sessions!.set(key, session);
  }
  return session;
}

/**
 * Keeps the sessions `socket` receives once its handshake is verified and `accepted` (TLS 1.3
 * sends its tickets after the handshake; TLS 1.2 may emit the session before 'secureConnect'): a
 * session from a connection that failed verification or the identity check is never kept.
 */
export function keepSessions(
  creds: Credentials,
  key: string,
  socket: TLSSocket,
  /** The peer identity the connection was accepted with; undefined if it was refused. */
  acceptedIdentity: () => string | undefined,
): void {
  let peerIdentity: string | undefined;
  let latest: Buffer | undefined;
  const save = (): void => {
    if (!peerIdentity || !latest) return;
    let sessions = byCredentials.get(creds);
    if (!sessions) byCredentials.set(creds, (sessions = new Map<string, SavedSession>()));
    sessions.delete(key);
    sessions.set(key, { session: latest, peerIdentity });
    if (sessions.size > MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
  };
  socket.on('session', (session: Buffer) => {
    latest = session;
    save();
  });
  socket.once('secureConnect', () => {
    peerIdentity = socket.authorized ? acceptedIdentity() : undefined;
    save();
  });
}

/** Forgets a peer's session: its handshake failed, so the next connection starts afresh. */
export function forgetSession(creds: Credentials, key: string): void {
  byCredentials.get(creds)?.delete(key);
}
