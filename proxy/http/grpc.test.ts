import assert from 'node:assert/strict';
import { connect, constants, createServer, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { DownstreamResponse } from './downstream.js';
import {
  encodeGrpcMessage,
  grpcLocalReplyHeaders,
  grpcToHttpStatus,
  httpToGrpcStatus,
  isGrpcRequest,
  sendLocalReply,
} from './grpc.js';

/** One request to a real HTTP/2 server whose handler is `answer`; returns the response head and its END_STREAM flag. */
async function roundTrip(
  answer: (res: DownstreamResponse) => void,
): Promise<{ headers: IncomingHttpHeaders; endStream: boolean; body: string }> {
  // As the listeners hand Node's compatibility response to the proxy (http-servers.ts).
  const server = createServer((_req, res) => answer(res as unknown as DownstreamResponse));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': '/svc/Call' }, { endStream: true });
      let head: { headers: IncomingHttpHeaders; endStream: boolean } | undefined;
      let body = '';
      stream.on('response', (headers, flags) => {
        head = { headers, endStream: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0 };
      });
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => resolve({ ...head!, body }));
      stream.on('error', reject);
    });
  } finally {
    session.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

describe('gRPC local replies', () => {
  it("maps HTTP statuses as Envoy's httpToGrpcStatus does", () => {
    const mapped = [400, 401, 403, 404, 429, 502, 503, 504, 500, 418].map(httpToGrpcStatus);
    assert.deepEqual(mapped, [13, 16, 7, 12, 14, 14, 14, 14, 2, 2]);
  });

  it("maps gRPC statuses to HTTP as Envoy's grpcToHttpStatus does (outlier detection)", () => {
    assert.deepEqual(
      [0, 1, 4, 7, 8, 12, 13, 14, 16, 99].map(grpcToHttpStatus),
      [200, 499, 504, 403, 429, 501, 500, 503, 401, 500],
    );
  });

  it('recognises gRPC by content type, with or without a subtype', () => {
    assert.equal(isGrpcRequest({ 'content-type': 'application/grpc' }), true);
    assert.equal(isGrpcRequest({ 'content-type': 'application/grpc+proto' }), true);
    assert.equal(isGrpcRequest({ 'content-type': 'application/json' }), false);
    assert.equal(isGrpcRequest({}), false);
  });

  it('percent-encodes grpc-message outside printable ASCII, and the percent sign', () => {
    assert.equal(encodeGrpcMessage('no healthy upstream'), 'no healthy upstream');
    assert.equal(encodeGrpcMessage('100% done\n'), '100%25 done%0A');
    assert.equal(encodeGrpcMessage('é'), '%C3%A9');
  });

  it('takes a chosen gRPC status over the mapped one', () => {
    assert.deepEqual(grpcLocalReplyHeaders(503, 'upstream connect error'), {
      'content-type': 'application/grpc',
      'grpc-status': '14',
      'grpc-message': 'upstream connect error',
    });
    assert.equal(grpcLocalReplyHeaders(200, '', '8')['grpc-status'], '8');
  });

  it('answers a gRPC request trailers-only: 200, grpc-status, END_STREAM on the headers', async () => {
    let sent: ReturnType<typeof sendLocalReply> | undefined;
    const res = await roundTrip((r) => {
      sent = sendLocalReply(r, true, 403, 'RBAC: access denied', { 'content-type': 'text/plain' });
    });
    assert.equal(res.headers[':status'], 200);
    assert.equal(res.headers['content-type'], 'application/grpc');
    assert.equal(res.headers['grpc-status'], '7');
    assert.equal(res.headers['grpc-message'], 'RBAC: access denied');
    assert.equal(res.endStream, true, 'a gRPC client reads grpc-status from headers only with END_STREAM');
    assert.equal(res.body, '');
    assert.deepEqual(sent, { status: 200, bytes: 0, grpcStatus: '7' });
  });

  it('answers any other request with the status and body as given', async () => {
    const res = await roundTrip((r) => {
      sendLocalReply(r, false, 503, 'no healthy upstream', { 'content-type': 'text/plain' });
    });
    assert.equal(res.headers[':status'], 503);
    assert.equal(res.headers['content-length'], String('no healthy upstream'.length));
    assert.equal(res.body, 'no healthy upstream');
  });
});
