/**
 * Envoy's response flags, as Istio shows them in `response_flags` and access logs: they say why
 * the proxy, not the application, decided the response.
 */
export const ResponseFlag = {
  none: '-',
  noRoute: 'NR',
  noHealthyUpstream: 'UH',
  upstreamOverflow: 'UO',
  upstreamConnectFailure: 'UF',
  upstreamReset: 'UC',
  upstreamTimeout: 'UT',
  retriesExhausted: 'URX',
  delayInjected: 'DI',
  faultInjected: 'FI',
  downstreamClosed: 'DC',
  rbacDenied: 'RBAC',
} as const;

/** The error kinds a failed upstream attempt is classified into (the retry policy's vocabulary). */
export type UpstreamErrorKind = 'connect-failure' | 'reset' | 'timeout' | 'refused-stream';

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  // An http2/grpc cluster's TLS peer that cannot speak h2: the connection is unusable.
  'ERR_ALPN_NOT_H2',
  'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL',
]);

/** Classifies an undici/socket error. Pure. */
export function classifyUpstreamError(err: Error & { code?: string }, timedOut: boolean): UpstreamErrorKind {
  if (timedOut) return 'timeout';
  if (err.code && CONNECT_CODES.has(err.code)) return 'connect-failure';
  if (/peer is|SPIFFE|certificate|no workload certificate/i.test(err.message)) return 'connect-failure';
  if (err.code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(err.message)) return 'refused-stream';
  return 'reset';
}
