import { createHash, randomBytes } from 'node:crypto';
import type { ServerHttp2Stream } from 'node:http2';
import type { ClusterLoadAssignment, ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import type {
  EndpointsMessage,
  ProxyAnnouncement,
  SnapshotMessage,
} from '../../proxy/config/generated/push-protocol.js';

export type SyncStatus = 'SYNCED' | 'STALE' | 'NACK';

/** Who a verified client certificate on the mTLS push port says the proxy is (its SPIFFE ID). */
export interface PeerIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** The content version of a configuration: the same configuration always has the same version. */
export function configVersion(config: object): string {
  return createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
}

/**
 * One connected proxy: what it is, what it was sent, what it acknowledged. Writes never wait: if the
 * stream cannot take more (HTTP/2 flow control, a slow or stuck proxy), the newest message replaces
 * any older one still waiting, since only the latest configuration matters.
 */
export class ProxyConnection {
  sentVersion: string | undefined;
  sentNonce: string | undefined;
  ackedVersion: string | undefined;
  lastNack: { version: string; error: string; at: Date } | undefined;
  /** The full configuration last sent, for proxy-config and for endpoint-only updates. */
  config: ProxyConfig | undefined;
  private pending: string | undefined;
  private waitingForDrain = false;
  private readonly sentAt = new Map<string, number>();
  readonly connectedAt = new Date();

  constructor(
    readonly node: ProxyAnnouncement,
    private readonly stream: ServerHttp2Stream,
    /** The verified identity on the mTLS port; undefined on the plaintext port, which proves nothing. */
    readonly peer?: PeerIdentity,
  ) {
    stream.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
  }

  get id(): string {
    return this.node.id;
  }

  status(): SyncStatus {
    if (this.lastNack && this.lastNack.version === this.sentVersion) return 'NACK';
    return this.sentVersion !== undefined && this.sentVersion === this.ackedVersion ? 'SYNCED' : 'STALE';
  }

  /** Sends a full snapshot unless the proxy already has this version. Returns whether it sent. */
  sendSnapshot(config: ProxyConfig): boolean {
    const version = configVersion(config);
    if (version === this.sentVersion) return false;
    this.config = config;
    const message: SnapshotMessage = { type: 'snapshot', version, nonce: this.nextNonce(version), config };
    this.write(message);
    return true;
  }

  /** Sends new endpoints for the current snapshot (incremental); returns whether anything changed. */
  sendEndpoints(endpoints: ClusterLoadAssignment[]): boolean {
    if (!this.config) return false;
    const config = { ...this.config, endpoints };
    const version = configVersion(config);
    if (version === this.sentVersion) return false;
    this.config = config;
    const message: EndpointsMessage = {
      type: 'endpoints',
      version,
      nonce: this.nextNonce(version),
      endpoints,
    };
    this.write(message);
    return true;
  }

  /** Records an ACK or NACK; returns the milliseconds since that version was sent, if it is current. */
  answer(kind: 'ack' | 'nack', version: string, nonce: string, error?: string): number | undefined {
    if (nonce !== this.sentNonce) return undefined; // an answer to a superseded push
    if (kind === 'ack') this.ackedVersion = version;
    else this.lastNack = { version, error: error ?? '', at: new Date() };
    const sent = this.sentAt.get(nonce);
    this.sentAt.delete(nonce);
    return sent === undefined ? undefined : Date.now() - sent;
  }

  close(): void {
    if (!this.stream.closed) this.stream.close();
  }

  private nextNonce(version: string): string {
    const nonce = randomBytes(6).toString('hex');
    this.sentVersion = version;
    this.sentNonce = nonce;
    this.sentAt.clear();
    this.sentAt.set(nonce, Date.now());
    return nonce;
  }

  private write(message: object): void {
    this.pending = JSON.stringify(message) + '\n';
    this.flush();
  }

  private flush(): void {
    if (this.pending === undefined || this.waitingForDrain || this.stream.closed || this.stream.destroyed)
      return;
    const line = this.pending;
    this.pending = undefined;
    // false: the stream buffered this line and wants no more until 'drain'; newer messages wait in
    // `pending`, each replacing the last, so a stuck proxy costs one message of memory.
    if (!this.stream.write(line)) this.waitingForDrain = true;
  }
}
