import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) and HTTP/2 pseudo-headers: they describe one connection and
 * are never forwarded. `te: trailers` is the one exception gRPC needs, handled by the caller.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'http2-settings',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** The proxy's own peer-metadata header: trusted only over mesh mTLS, always removed inbound. */
export const PEER_METADATA_HEADER = 'x-weft-peer';

/**
 * The client certificate as the inbound proxy saw it, for the application (Envoy's
 * x-forwarded-client-cert, in Istio's sidecar mode SANITIZE_SET): whatever the caller sent is
 * replaced, so an application can trust `URI=` as the mTLS-verified caller, and it is absent on
 * plaintext.
 */
export const CLIENT_CERT_HEADER = 'x-forwarded-client-cert';

export function setClientCertHeader(headers: HeaderMap, peerIdentity: string | undefined): void {
  if (peerIdentity) headers[CLIENT_CERT_HEADER] = `URI=${peerIdentity}`;
  else delete headers[CLIENT_CERT_HEADER];
}

export type HeaderMap = Record<string, string | string[] | undefined>;

/**
 * The headers to send upstream: a copy without hop-by-hop headers, without pseudo-headers, and
 * without anything the `Connection` header names. `host` carries the authority for both protocols.
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, authority: string): HeaderMap {
  const out: HeaderMap = {};
  const named = connectionTokens(incoming.connection);
  for (const name in incoming) {
    if (name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name)) continue;
    if (named !== undefined && named.has(name)) continue;
    out[name] = incoming[name];
  }
  if (incoming.te === 'trailers') out.te = 'trailers';
  out.host = authority;
  return out;
}

/** Response headers to relay downstream: the upstream's, minus hop-by-hop ones. Mutates and returns. */
export function downstreamResponseHeaders(headers: HeaderMap): HeaderMap {
  const named = connectionTokens(headers.connection);
  for (const name of HOP_BY_HOP) delete headers[name];
  if (named) for (const name of named) delete headers[name];
  return headers;
}

function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text === 'keep-alive' || text === 'close') return undefined;
  return new Set(text.split(',').map((t) => t.trim().toLowerCase()));
}

/** Appends the client's address to X-Forwarded-For, as Envoy does at the edge of each hop. */
export function appendForwardedFor(headers: HeaderMap, remoteAddress: string | undefined): void {
  if (!remoteAddress) return;
  const ip = remoteAddress.startsWith('::ffff:') ? remoteAddress.slice(7) : remoteAddress;
  const prior = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${ip}` : ip;
}

/** A header's single value (joins repeated values the way the HTTP field syntax allows). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
