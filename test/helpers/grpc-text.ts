import * as grpc from '@grpc/grpc-js';

/** gRPC messages as plain UTF-8 strings: hand-written service definitions, no .proto files. */
export const text = {
  requestSerialize: (s: string): Buffer => Buffer.from(s),
  requestDeserialize: (b: Buffer): string => b.toString(),
  responseSerialize: (s: string): Buffer => Buffer.from(s),
  responseDeserialize: (b: Buffer): string => b.toString(),
};

export const unaryMethod = (path: string) =>
  ({ path, requestStream: false, responseStream: false, ...text }) as const;
export const serverStreamMethod = (path: string) =>
  ({ path, requestStream: false, responseStream: true, ...text }) as const;

export interface UnaryOutcome {
  readonly error: grpc.ServiceError | null;
  readonly reply: string | undefined;
  /** The status the client saw, trailers included. */
  readonly status: grpc.StatusObject;
}

/** A unary call; resolves with the reply or the error, and the final status, once both are known. */
export function unaryCall(
  client: grpc.Client,
  method: { path: string } & typeof text,
  request: string,
  options: grpc.CallOptions = {},
): Promise<UnaryOutcome> {
  return new Promise((resolve) => {
    let outcome: { error: grpc.ServiceError | null; reply: string | undefined } | undefined;
    let status: grpc.StatusObject | undefined;
    const settle = (): void => {
      if (outcome && status) resolve({ ...outcome, status });
    };
    const call = client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      new grpc.Metadata(),
      options,
      (error, reply) => {
        outcome = { error, reply };
        settle();
      },
    );
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      settle();
    });
  });
}
