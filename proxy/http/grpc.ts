import type { IncomingHttpHeaders } from 'node:http';
import type { DownstreamResponse } from './downstream.js';
import { headerValue } from './headers.js';

/**
 * gRPC over the proxy, as Envoy treats it: a request is gRPC by its content type; a reply the proxy
 * makes itself to a gRPC request is a trailers-only response (HTTP 200, `content-type:
 * application/grpc`, `grpc-status`, `grpc-message`, END_STREAM on the headers), because a gRPC
 * client reads the call's outcome from grpc-status and treats anything else as INTERNAL.
 */

/** Whether the request is gRPC (Envoy's Grpc::Common::isGrpcRequestHeaders). Pure. */
export function isGrpcRequest(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
): boolean {
  const type = headerValue(headers['content-type']);
  return type !== undefined && type.startsWith('application/grpc');
}

/**
 * The gRPC status for a local reply's HTTP status: Envoy's Grpc::Utility::httpToGrpcStatus (after
 * gRPC's http-grpc-status-mapping.md). Envoy's router passes no status of its own for an upstream
 * timeout, so a 504 is UNAVAILABLE too, not DEADLINE_EXCEEDED. Pure.
 */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/**
 * The HTTP status a gRPC status stands for: Envoy's Grpc::Utility::grpcToHttpStatus, which its
 * outlier detection applies to a gRPC response, so UNAVAILABLE counts as a 503. Pure.
 */
export function grpcToHttpStatus(grpcStatus: number): number {
  return GRPC_TO_HTTP[grpcStatus] ?? 500;
}

/** Indexed by gRPC status: OK, CANCELLED (499, client closed), UNKNOWN, ... UNAUTHENTICATED. */
const GRPC_TO_HTTP: readonly number[] = [
  200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
];

/**
 * gRPC's percent-encoding of grpc-message: bytes outside printable ASCII, and `%`, as %XX of their
 * UTF-8 encoding. Pure.
 */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte < 0x20 || byte > 0x7e || byte === 0x25
        ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

/**
 * The headers of the trailers-only response that stands for a local reply: `grpcStatus` when the
 * caller chose one (fault abort), else the mapping of `httpStatus`; the body text as grpc-message.
 * Pure.
 */
export function grpcLocalReplyHeaders(
  httpStatus: number,
  body: string,
  grpcStatus?: string,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/grpc',
    'grpc-status': grpcStatus ?? String(httpToGrpcStatus(httpStatus)),
  };
  if (body !== '') headers['grpc-message'] = encodeGrpcMessage(body);
  return headers;
}

/**
 * Sets the response head without sending it: the next write, or end(), sends it. Ended with no
 * body, the headers then carry END_STREAM over HTTP/2 (a trailers-only response). Node's writeHead
 * would send them at once, and the END_STREAM would follow in an empty DATA frame, which a gRPC
 * client reads as a call that ended without a status.
 */
export function setResponseHead(
  res: DownstreamResponse,
  status: number,
  headers: Record<string, string | string[] | undefined>,
): void {
  res.statusCode = status;
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) res.setHeader(name, value);
  }
}

/** What a local reply put on the wire, for telemetry. */
export interface LocalReplySent {
  readonly status: number;
  readonly bytes: number;
  readonly grpcStatus: string | undefined;
}

/**
 * Sends a reply the proxy makes itself (Envoy's sendLocalReply): to a gRPC request, the
 * trailers-only form of it; otherwise `status` with `body` and `headers` as given.
 */
export function sendLocalReply(
  res: DownstreamResponse,
  grpc: boolean,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): LocalReplySent {
  if (grpc) {
    const { 'content-type': _type, 'content-length': _length, ...rest } = headers;
    const head = { ...rest, ...grpcLocalReplyHeaders(status, body, headers['grpc-status']) };
    setResponseHead(res, 200, head);
    res.end();
    return { status: 200, bytes: 0, grpcStatus: head['grpc-status'] };
  }
  const bytes = Buffer.byteLength(body);
  res.writeHead(status, { ...headers, 'content-length': String(bytes) });
  res.end(body);
  return { status, bytes, grpcStatus: headers['grpc-status'] };
}
