import type { Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { configVersion } from '../../controllers/push/proxy-connection.js';
import { PushServer } from '../../controllers/push/push-server.js';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { waitUntil } from './wait.js';

/**
 * The control plane's real push endpoint (docs/adr/0005) in the test process, on loopback, for
 * proxies under test started with its `url`: it serves the configuration the test sets for each
 * proxy, on connect and at once when set again, and tells what the proxy answered.
 */
export class TestPushServer {
  private readonly configs = new Map<string, ProxyConfig>();
  private readonly push: PushServer;
  private readonly server: Http2Server = PushServer.createServer();

  private constructor() {
    this.push = new PushServer({
      log: pino({ level: 'silent' }),
      registry: new Registry(),
      initialConfig: (node) => this.configs.get(node.id),
    });
    this.push.attach(this.server);
  }

  static async start(): Promise<TestPushServer> {
    const s = new TestPushServer();
    await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', () => r()));
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Sets proxy `id`'s configuration: pushed now if the proxy is connected, else when it connects. */
  set(id: string, config: ProxyConfig): void {
    this.configs.set(id, config);
    const connection = this.push.connections.get(id);
    if (connection) this.push.push(connection, config);
  }

  /** Sets the configuration and waits for the proxy's answer: undefined for an ACK, the error of a NACK. */
  async apply(id: string, config: ProxyConfig): Promise<string | undefined> {
    this.set(id, config);
    const version = configVersion(config);
    const answer = await waitUntil(`proxy ${id} to answer configuration ${version}`, () => {
      const c = this.push.connections.get(id);
      if (c?.ackedVersion === version) return { done: true, state: { ack: true } };
      if (c?.lastNack?.version === version) return { done: true, state: { nack: c.lastNack.error } };
      return { done: false, state: c ? { sent: c.sentVersion, acked: c.ackedVersion } : 'not connected' };
    });
    return (answer as { nack?: string }).nack;
  }

  async close(): Promise<void> {
    for (const c of this.push.connections.values()) c.close();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
