import { connect, type ClientHttp2Session } from 'node:http2';
import type { ProxyAnnouncement } from '../../proxy/config/generated/push-protocol.js';

/**
 * A lean push client for load: many of them run in one process, so messages are not parsed beyond
 * the version and nonce at their head (the control plane writes those first), and every one is ACKed.
 */
export class LoadClient {
  received = 0;
  lastVersion = '';
  lastAt = 0;
  /** Characters of push messages received (ASCII JSON: bytes). */
  receivedChars = 0;
  private session: ClientHttp2Session | undefined;

  constructor(
    private readonly url: string,
    readonly node: ProxyAnnouncement,
  ) {}

  connect(): void {
    this.session = connect(this.url);
    this.session.on('error', () => undefined);
    const stream = this.session.request({ ':method': 'POST', ':path': '/weft.push.v1/stream' });
    stream.on('error', () => undefined);
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.receivedChars += chunk.length;
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const head = pending.slice(0, 160);
        pending = pending.slice(newline + 1);
        const m = /"version":"([0-9a-f]+)","nonce":"([0-9a-f]+)"/.exec(head);
        if (m) {
          this.received++;
          this.lastVersion = m[1]!;
          this.lastAt = Date.now();
          stream.write(`{"type":"ack","version":"${m[1]}","nonce":"${m[2]}"}\n`);
        }
        newline = pending.indexOf('\n');
      }
    });
    stream.write(JSON.stringify({ type: 'hello', node: this.node }) + '\n');
  }

  close(): void {
    this.session?.close();
  }
}
