import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  echoThrough,
  freePort,
  kube,
  startEcho,
  translateGateway,
  workload,
  type EchoServer,
} from '../helpers/gateway.js';
import { startTestProxy, startUpstream, type TestProxy, type Upstream } from '../helpers/proxy.js';
import { waitUntil } from '../helpers/wait.js';

/** One plaintext HTTP/1.1 GET on a fresh connection: status, location, body. */
function get(
  port: number,
  host: string,
  path: string,
): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('weft-proxy gateway: tls.httpsRedirect on an HTTP server (translated from Gateway and VirtualService resources)', () => {
  let app: Upstream;
  let gw: TestProxy;
  let port: number;

  /** Two Gateways' HTTP servers on one port: `web` redirects secure.example.com, `open` routes open.example.com. */
  function resources(): KubernetesObject[] {
    const http = (name: string, host: string, redirect: boolean) => ({
      port: { number: 80, name, protocol: 'HTTP', targetPort: port },
      hosts: [host],
      ...(redirect ? { tls: { httpsRedirect: true } } : {}),
    });
    const routeTo = (host: string, gateway: string) => ({
      hosts: [host],
      gateways: [gateway],
      http: [{ route: [{ destination: { host: 'app' } }] }],
    });
    return [
      kube('Service', 'app', { selector: { app: 'app' }, ports: [{ name: 'http', port: 8080 }] }),
      workload('app', 'http', app.port),
      kube('Gateway', 'web', {
        selector: { app: 'gw' },
        servers: [http('http', 'secure.example.com', true)],
      }),
      kube('Gateway', 'open', {
        selector: { app: 'gw' },
        servers: [http('http', 'open.example.com', false)],
      }),
      kube('VirtualService', 'secure', routeTo('secure.example.com', 'web')),
      kube('VirtualService', 'open', routeTo('open.example.com', 'open')),
    ];
  }

  before(async () => {
    app = await startUpstream('app');
    port = await freePort();
    gw = await startTestProxy(translateGateway(resources()));
    await waitUntil('the gateway port to answer HTTP', async () => {
      const res = await get(port, 'open.example.com', '/ready').catch((err: Error) => err);
      return { done: !(res instanceof Error), state: res instanceof Error ? res.message : res };
    });
  });

  after(async () => {
    await gw?.stop();
    await app?.close();
  });

  it('answers 301 to https://<host without port><path and query>, and contacts no upstream', async () => {
    const before = app.received.length;
    const res = await get(port, `secure.example.com:${port}`, '/shop/cart?item=42&size=xl');
    assert.equal(res.status, 301);
    assert.equal(res.location, 'https://secure.example.com/shop/cart?item=42&size=xl');
    const bare = await get(port, 'secure.example.com', '/');
    assert.deepEqual([bare.status, bare.location], [301, 'https://secure.example.com/']);
    assert.equal(app.received.length, before, 'the upstream counted no request');
  });

  it("routes the other Gateway's host on the same port as usual: the redirect is the asking server's only", async () => {
    const before = app.received.length;
    const res = await get(port, `open.example.com:${port}`, '/open?x=1');
    assert.deepEqual([res.status, res.location, res.body], [200, undefined, 'hello from app\n']);
    assert.equal(app.received.length, before + 1);
    assert.equal(app.received.at(-1)!.url, '/open?x=1');
  });
});

describe('weft-proxy gateway: VirtualService tcp routes on a Gateway TCP server (translated from resources)', () => {
  let mongo: EchoServer;
  let canary: EchoServer;
  let gw: TestProxy;
  let port: number;
  const dial = (): Socket => connect({ host: '127.0.0.1', port });

  /** A MONGO server (TCP to Weft) on 27017, its tcp route splitting 80/20 between two echo servers. */
  function resources(): KubernetesObject[] {
    const service = (name: string) =>
      kube('Service', name, { selector: { app: name }, ports: [{ name: 'tcp-mongo', port: 27017 }] });
    return [
      service('mongo'),
      service('mongo-canary'),
      workload('mongo', 'tcp-mongo', mongo.port),
      workload('mongo-canary', 'tcp-mongo', canary.port),
      kube('Gateway', 'db', {
        selector: { app: 'gw' },
        servers: [
          { port: { number: 27017, name: 'mongo', protocol: 'MONGO', targetPort: port }, hosts: ['*'] },
        ],
      }),
      kube('VirtualService', 'mongo', {
        hosts: ['*'],
        gateways: ['db'],
        tcp: [
          {
            match: [{ port: 27017 }],
            route: [
              { destination: { host: 'mongo', port: { number: 27017 } }, weight: 80 },
              { destination: { host: 'mongo-canary', port: { number: 27017 } }, weight: 20 },
            ],
          },
        ],
      }),
    ];
  }

  before(async () => {
    mongo = await startEcho('mongo');
    canary = await startEcho('mongo-canary');
    port = await freePort();
    gw = await startTestProxy(translateGateway(resources()));
    await waitUntil('the gateway TCP port to forward', async () => {
      const res = await echoThrough(dial(), Buffer.from('ready')).catch((err: Error) => err);
      return { done: !(res instanceof Error), state: res instanceof Error ? res.message : res.greeting };
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([mongo?.close(), canary?.close()]);
  });

  it('carries bytes both ways, server-first greeting included, to a destination of the route', async () => {
    // 1 MiB: more than one socket buffer each way, so back-pressure is exercised too.
    const payload = Buffer.alloc(1024 * 1024, 'weft gateway tcp ');
    const { greeting, echoed } = await echoThrough(dial(), payload);
    assert.ok(['mongo', 'mongo-canary'].includes(greeting), `greeted by ${greeting}`);
    assert.equal(echoed.length, payload.length);
    assert.ok(echoed.equals(payload), 'every byte came back unchanged');
  });

  it('splits connections by the route weights, 80/20', async () => {
    // 200 connections, 10 at a time. The mongo share must be 136..184 (80% ± 12 points): a correct
    // 80/20 split misses that with probability 2.3e-5, a 50/50 one passes it with probability 2e-7.
    const total = 200;
    const greetings: string[] = [];
    const accepted = mongo.accepted.count + canary.accepted.count;
    for (let batch = 0; batch < total / 10; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => echoThrough(dial(), Buffer.from('x'))),
      );
      greetings.push(...answers.map((a) => a.greeting));
    }
    const toMongo = greetings.filter((g) => g === 'mongo').length;
    const toCanary = greetings.filter((g) => g === 'mongo-canary').length;
    assert.equal(toMongo + toCanary, total);
    assert.ok(toMongo >= 136 && toMongo <= 184, `mongo got ${toMongo} of ${total}, canary ${toCanary}`);
    assert.equal(
      mongo.accepted.count + canary.accepted.count,
      accepted + total,
      'one upstream connection each',
    );
  });
});
