import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import type {
  ProxyAnnouncement,
  PushProtocol,
  SnapshotMessage,
} from '../../proxy/config/generated/push-protocol.js';
import { waitUntil } from './wait.js';

/**
 * A test client that speaks the real push protocol (docs/adr/0005) the way a Weft proxy does: it
 * announces itself, records every message, and answers with ACK or NACK when told to.
 */
export class PushTestClient {
  readonly messages: PushProtocol[] = [];
  /** Set: the next configuration message is NACKed with this error, as a proxy that cannot apply it. */
  private nackWith: string | undefined;
  private session: ClientHttp2Session | undefined;
  private stream: ClientHttp2Stream | undefined;

  constructor(
    private readonly url: string,
    readonly node: ProxyAnnouncement,
    /** For the TLS port: the mesh root to verify the control plane, and the proxy's certificate and key. */
    private readonly tls?: { ca: string; cert: string; key: string },
  ) {}

  /** Whether the control plane closed the stream (e.g. refused the proxy). */
  closed = false;

  connect(): void {
    this.session = connect(this.url, this.tls ? { ...this.tls, servername: 'localhost' } : {});
    this.session.on('error', () => undefined);
    const stream = this.session.request({
      ':method': 'POST',
      ':path': '/weft.push.v1/stream',
      'content-type': 'application/x-ndjson',
    });
    stream.setEncoding('utf8');
    let buffer = '';
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.receive(JSON.parse(line) as PushProtocol);
    });
    stream.on('error', () => undefined);
    stream.on('close', () => (this.closed = true));
    stream.write(JSON.stringify({ type: 'hello', node: this.node }) + '\n');
    this.stream = stream;
  }

  /** Like a proxy: every configuration message is answered, ACK unless a NACK was asked for. */
  private receive(message: PushProtocol): void {
    this.messages.push(message);
    if (message.type !== 'snapshot' && message.type !== 'endpoints') return;
    this.answer(message, this.nackWith);
    this.nackWith = undefined;
  }

  nackNext(error: string): void {
    this.nackWith = error;
  }

  last(): PushProtocol | undefined {
    return this.messages[this.messages.length - 1];
  }

  /** Waits for a configuration message after the first `after` messages. */
  async next(
    after: number,
    what = 'a configuration message',
  ): Promise<Extract<PushProtocol, { type: 'snapshot' | 'endpoints' }>> {
    return (await waitUntil(`${this.node.id} to receive ${what}`, () => {
      const found = this.messages.slice(after).find((m) => m.type === 'snapshot' || m.type === 'endpoints');
      return { done: !!found, state: found ?? this.messages.map((m) => m.type) };
    })) as Extract<PushProtocol, { type: 'snapshot' | 'endpoints' }>;
  }

  /** Waits for a snapshot whose configuration satisfies `holds`; earlier ones may predate the state under test. */
  async snapshotWhere(
    what: string,
    holds: (config: ProxyConfig) => boolean,
    timeoutMs = 30_000,
  ): Promise<SnapshotMessage> {
    return (await waitUntil(
      `${this.node.id} to receive a snapshot where ${what}`,
      () => {
        const found = this.messages
          .filter((m): m is SnapshotMessage => m.type === 'snapshot')
          .find((m) => holds(m.config));
        return { done: !!found, state: found ?? this.messages.map((m) => m.type) };
      },
      { timeoutMs },
    )) as SnapshotMessage;
  }

  private answer(message: { version: string; nonce: string }, nack?: string): void {
    const reply = nack
      ? { type: 'nack', version: message.version, nonce: message.nonce, error: nack }
      : { type: 'ack', version: message.version, nonce: message.nonce };
    this.stream?.write(JSON.stringify(reply) + '\n');
  }

  close(): void {
    this.stream?.close();
    this.session?.close();
  }
}
