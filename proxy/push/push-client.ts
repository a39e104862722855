import { connect, type ClientHttp2Session } from 'node:http2';
import type { Logger } from 'pino';
import type { ClusterLoadAssignment, ProxyConfig } from '../config/generated/proxy-config.js';
import type { ProxyAnnouncement, PushProtocol } from '../config/generated/push-protocol.js';
import type { Credentials } from '../identity/credentials.js';
import { LineSplitter } from './ndjson.js';

export const PUSH_PATH = '/weft.push.v1/stream';
/** A snapshot for a large mesh is a few hundred KB; anything past this is a broken peer. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 30_000;

/** What the proxy does with pushed configuration; an Error (shown to the control plane) means NACK. */
export interface ConfigSink {
  applySnapshot(config: ProxyConfig, version: string): Error | undefined;
  applyEndpoints(endpoints: ClusterLoadAssignment[], version: string): Error | undefined;
}

export interface PushClientOptions {
  /** `http://host:15010` (plaintext, local development) or `https://host:15012` (mTLS). */
  readonly url: string;
  readonly node: ProxyAnnouncement;
  readonly sink: ConfigSink;
  /** For https: the proxy's workload certificate (client authentication) and the mesh roots it trusts. */
  readonly credentials: () => Credentials | undefined;
  readonly log: Logger;
}

/**
 * The proxy's end of the configuration stream (docs/adr/0005): announce, then apply each snapshot
 * and answer ACK or NACK. If the stream breaks, the proxy keeps serving its last good configuration
 * and reconnects with jittered exponential backoff; the control plane resends the full state on a
 * new stream, so nothing is lost.
 */
export class PushClient {
  private session: ClientHttp2Session | undefined;
  private failures = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  connected = false;
  lastAcked: string | undefined;
  lastNack: { version: string; error: string } | undefined;

  constructor(private readonly options: PushClientOptions) {}

  start(): void {
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.session?.destroy();
  }

  private open(): void {
    if (this.stopped) return;
    const { url, credentials, log } = this.options;
    const creds = url.startsWith('https:') ? credentials() : undefined;
    if (url.startsWith('https:') && !creds) return this.retry(new Error('no workload certificate yet'));
    const session = connect(url, creds ? { secureContext: creds.context, servername: 'localhost' } : {});
    this.session = session;
    session.on('error', (err: Error) => this.retry(err));
    session.on('close', () => this.retry(new Error('stream closed')));
    const stream = session.request({
      ':method': 'POST',
      ':path': PUSH_PATH,
      'content-type': 'application/x-ndjson',
    });
    const lines = new LineSplitter(MAX_MESSAGE_BYTES);
    stream.setEncoding('utf8');
    stream.on('response', (headers) => {
      const status = Number(headers[':status']);
      if (status !== 200) return this.retry(new Error(`control plane answered ${status}`));
      this.connected = true;
      this.failures = 0;
      log.info({ url }, 'connected to the control plane');
    });
    stream.on('data', (chunk: string) => {
      try {
        for (const line of lines.push(chunk))
          this.receive(JSON.parse(line) as PushProtocol, (m) => stream.write(JSON.stringify(m) + '\n'));
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'malformed push stream; reconnecting');
        session.destroy();
      }
    });
    stream.on('error', () => undefined);
    stream.on('close', () => session.close());
    stream.write(JSON.stringify({ type: 'hello', node: this.options.node }) + '\n');
  }

  private receive(message: PushProtocol, send: (m: PushProtocol) => void): void {
    if (message.type !== 'snapshot' && message.type !== 'endpoints') return;
    const error =
      message.type === 'snapshot'
        ? this.options.sink.applySnapshot(message.config, message.version)
        : this.options.sink.applyEndpoints(message.endpoints, message.version);
    if (error) {
      this.lastNack = { version: message.version, error: error.message };
      this.options.log.warn(
        { version: message.version, error: error.message },
        'configuration rejected (NACK); keeping the last good one',
      );
      send({
        type: 'nack',
        version: message.version,
        nonce: message.nonce,
        error: error.message.slice(0, 4096),
      });
      return;
    }
    this.lastAcked = message.version;
    send({ type: 'ack', version: message.version, nonce: message.nonce });
  }

  private retry(err: Error): void {
    if (this.stopped || this.timer) return;
    if (this.connected)
      this.options.log.warn({ err: err.message }, 'lost the control plane; serving the last configuration');
    this.connected = false;
    this.session?.destroy();
    this.session = undefined;
    const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.failures);
    this.failures += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, delay);
    this.timer.unref();
  }
}
