/**
 * A copy of a request body that streams upstream, kept so that a retry can replay it: the body
 * goes to the first attempt as it arrives (a gRPC call never waits on buffering), and a retry is
 * possible once the body has ended within `limit` bytes, as Envoy's router buffers for retries up to
 * its per-request buffer limit. Bodies without a length (every gRPC call, chunked HTTP/1.1) need it:
 * they cannot be buffered up front without stalling a stream that never ends.
 */
export class BodyRecorder {
  private chunks: Buffer[] | undefined = [];
  private bytes = 0;
  private ended = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    if (!this.chunks) return;
    this.bytes += chunk.length;
    // Past the limit the copy is dropped: this request will not be retried.
    if (this.bytes > this.limit) this.chunks = undefined;
    else this.chunks.push(chunk);
  }

  end(): void {
    this.ended = true;
  }

  /** The whole body, once it has ended within the limit; undefined until then, or ever if it did not. */
  replay(): Buffer | undefined {
    return this.ended && this.chunks ? Buffer.concat(this.chunks) : undefined;
  }
}
