import {
  createServer,
  constants,
  type Http2Server,
  type ServerHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import type { ProxyAnnouncement, PushProtocol } from '../../proxy/config/generated/push-protocol.js';
import { LineSplitter } from '../../proxy/push/ndjson.js';
import { PUSH_PATH } from '../../proxy/push/push-client.js';

export { PUSH_PATH };
import { ProxyConnection, type PeerIdentity } from './proxy-connection.js';

export type { PeerIdentity };

/** One proxy in /debug/proxy-status: what `weftctl proxy-status` and the demo read. */
export interface ProxyStatusEntry {
  readonly id: string;
  readonly namespace: string;
  readonly role: string;
  /** SYNCED, STALE or NACK. */
  readonly status: string;
  readonly sent?: string;
  readonly acked?: string;
  readonly nack?: string;
}

const MAX_MESSAGE_BYTES = 64 * 1024;

export interface PushServerOptions {
  readonly log: Logger;
  readonly registry: Registry;
  /**
   * The configuration a newly connected proxy gets at once, or undefined until the mesh is known.
   * `peer` is its verified identity on the mTLS port.
   */
  readonly initialConfig: (node: ProxyAnnouncement, peer?: PeerIdentity) => ProxyConfig | undefined;
}

/**
 * The push endpoint (docs/adr/0005): proxies announce themselves, receive versioned snapshots and
 * answer ACK or NACK. Keeps every connection's sync state for proxy-status and the metrics.
 */
export class PushServer {
  readonly connections = new Map<string, ProxyConnection>();
  private readonly metrics;

  constructor(private readonly options: PushServerOptions) {
    const registers = [options.registry];
    this.metrics = {
      connected: new Gauge({
        name: 'weft_push_connected_proxies',
        help: 'Proxies with an open push stream.',
        registers,
      }),
      pushes: new Counter({
        name: 'weft_push_total',
        help: 'Messages pushed to proxies, by type.',
        labelNames: ['type'] as const,
        registers,
      }),
      nacks: new Counter({
        name: 'weft_push_nacks_total',
        help: 'Configurations proxies refused.',
        registers,
      }),
      convergence: new Histogram({
        name: 'weft_push_convergence_seconds',
        help: 'From a change to the proxy acknowledging the configuration that carries it.',
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
    };
  }

  /** Serves the stream endpoint on a plaintext HTTP/2 server (local development: no peer identity). */
  attach(server: Http2Server): void {
    server.on('stream', (stream, headers) => this.handleStream(stream, headers));
  }

  /**
   * Sends `config` to one proxy if it differs from what it has. `changedAt` is when the change it
   * carries happened; convergence is measured from there to the proxy's ACK.
   */
  push(connection: ProxyConnection, config: ProxyConfig, changedAt = Date.now()): void {
    if (!connection.sendSnapshot(config)) return;
    this.metrics.pushes.inc({ type: 'snapshot' });
    this.markChange(connection, changedAt);
  }

  pushEndpoints(
    connection: ProxyConnection,
    endpoints: ProxyConfig['endpoints'],
    changedAt = Date.now(),
  ): void {
    if (!connection.sendEndpoints(endpoints)) return;
    this.metrics.pushes.inc({ type: 'endpoints' });
    this.markChange(connection, changedAt);
  }

  private readonly changeStartedAt = new Map<string, number>();

  private markChange(connection: ProxyConnection, at: number): void {
    if (!this.changeStartedAt.has(connection.id)) this.changeStartedAt.set(connection.id, at);
  }

  /**
   * One push stream. `peer` is the identity of the client certificate on the mTLS port: a proxy may
   * only announce itself in the namespace and service account its certificate names.
   */
  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, peer?: PeerIdentity): void {
    if (headers[':path'] !== PUSH_PATH || headers[':method'] !== 'POST') {
      stream.respond({ ':status': 404, 'content-type': 'text/plain' });
      stream.end(`no such endpoint; proxies POST ${PUSH_PATH}\n`);
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
    const lines = new LineSplitter(MAX_MESSAGE_BYTES);
    let connection: ProxyConnection | undefined;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      try {
        for (const line of lines.push(chunk))
          connection = this.onMessage(stream, connection, JSON.parse(line) as PushProtocol, peer);
      } catch (err) {
        this.options.log.warn(
          { proxy: connection?.id, err: (err as Error).message },
          'bad message on push stream; closing it',
        );
        stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
      }
    });
    const closed = (): void => {
      if (connection && this.connections.get(connection.id) === connection) {
        this.connections.delete(connection.id);
        this.metrics.connected.set(this.connections.size);
        this.options.log.info({ proxy: connection.id }, 'proxy disconnected');
      }
    };
    stream.on('close', closed);
    stream.on('error', () => closed());
  }

  private onMessage(
    stream: ServerHttp2Stream,
    connection: ProxyConnection | undefined,
    message: PushProtocol,
    peer: PeerIdentity | undefined,
  ): ProxyConnection | undefined {
    if (message.type === 'hello') {
      if (connection) throw new Error('a second hello on one stream');
      const { node } = message;
      if (peer && (peer.namespace !== node.namespace || peer.serviceAccount !== node.serviceAccount)) {
        throw new Error(
          `proxy ${node.id} announced ${node.namespace}/${node.serviceAccount} but its certificate is for ${peer.namespace}/${peer.serviceAccount}`,
        );
      }
      const fresh = new ProxyConnection(message.node, stream, peer);
      this.connections.get(fresh.id)?.close(); // a reconnect replaces the old stream
      this.connections.set(fresh.id, fresh);
      this.metrics.connected.set(this.connections.size);
      this.options.log.info(
        { proxy: fresh.id, namespace: fresh.node.namespace, role: fresh.node.role },
        'proxy connected',
      );
      const config = this.options.initialConfig(fresh.node, fresh.peer);
      if (config) this.push(fresh, config);
      return fresh;
    }
    if (!connection) throw new Error(`"${message.type}" before hello`);
    if (message.type === 'ack' || message.type === 'nack') {
      const elapsed = connection.answer(
        message.type,
        message.version,
        message.nonce,
        message.type === 'nack' ? message.error : undefined,
      );
      if (message.type === 'nack') {
        this.metrics.nacks.inc();
        this.options.log.warn(
          { proxy: connection.id, version: message.version, error: message.error },
          'proxy refused its configuration; it keeps its last good one',
        );
      } else if (elapsed !== undefined) {
        const started = this.changeStartedAt.get(connection.id);
        this.changeStartedAt.delete(connection.id);
        if (started !== undefined) this.metrics.convergence.observe((Date.now() - started) / 1000);
      }
      return connection;
    }
    throw new Error(`proxies do not send "${message.type}"`);
  }

  /** proxy-status: every proxy with its sync state and versions. */
  status(): ProxyStatusEntry[] {
    return [...this.connections.values()]
      .map((c) => ({
        id: c.id,
        namespace: c.node.namespace,
        role: c.node.role,
        status: c.status(),
        ...(c.sentVersion ? { sent: c.sentVersion } : {}),
        ...(c.ackedVersion ? { acked: c.ackedVersion } : {}),
        ...(c.status() === 'NACK' ? { nack: c.lastNack?.error } : {}),
      }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  static createServer(): Http2Server {
    return createServer();
  }
}
