import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
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
import { unaryCall, unaryMethod, type UnaryOutcome } from '../helpers/grpc-text.js';
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

/** One GET over HTTP/2 with prior knowledge (h2c: the connection opens with the preface, no Upgrade). */
function h2cGet(
  port: number,
  authority: string,
  path: string,
): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`);
    const fail = (err: Error): void => {
      session.destroy();
      reject(err);
    };
    session.on('error', fail);
    const req = session.request({ ':path': path, ':authority': authority });
    let status = 0;
    let location: string | undefined;
    let body = '';
    req.on('response', (headers) => {
      status = Number(headers[':status']);
      location = headers.location;
    });
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      session.close();
      resolve({ status, location, body });
    });
    req.on('error', fail);
  });
}

const Greeter = {
  /** "hello <name>", OK, with trailer metadata naming the server. */
  say: unaryMethod('/weft.test.Greeter/Say'),
  /** PERMISSION_DENIED, trailers-only. */
  deny: unaryMethod('/weft.test.Greeter/Deny'),
} satisfies grpc.ServiceDefinition;

async function startGreeter(): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  server.addService(Greeter, {
    say: (call: grpc.ServerUnaryCall<string, string>, done: grpc.sendUnaryData<string>) => {
      const trailer = new grpc.Metadata();
      trailer.set('x-served-by', 'greeter');
      done(null, `hello ${call.request}`, trailer);
    },
    deny: (_call: grpc.ServerUnaryCall<string, string>, done: grpc.sendUnaryData<string>) =>
      done({ code: grpc.status.PERMISSION_DENIED, details: 'not you' }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, server };
}

/** A unary call with a 10 s deadline. */
const unary = (client: grpc.Client, method: typeof Greeter.say, request: string): Promise<UnaryOutcome> =>
  unaryCall(client, method, request, { deadline: Date.now() + 10_000 });

describe('weft-proxy gateway: HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on one plaintext HTTP port (translated from resources)', () => {
  let app: Upstream;
  let greeter: { port: number; server: grpc.Server };
  let gw: TestProxy;
  let port: number;
  let client: grpc.Client;

  /** One Gateway HTTP server (Istio's usual port 80): web.example.com to an HTTP app, grpc.example.com to a gRPC one. */
  function resources(): KubernetesObject[] {
    const routeTo = (host: string, destination: string) => ({
      hosts: [host],
      gateways: ['web'],
      http: [{ route: [{ destination: { host: destination } }] }],
    });
    return [
      kube('Service', 'app', { selector: { app: 'app' }, ports: [{ name: 'http', port: 8080 }] }),
      kube('Service', 'greeter', { selector: { app: 'greeter' }, ports: [{ name: 'grpc', port: 9090 }] }),
      workload('app', 'http', app.port),
      workload('greeter', 'grpc', greeter.port),
      kube('Gateway', 'web', {
        selector: { app: 'gw' },
        servers: [
          {
            port: { number: 80, name: 'http', protocol: 'HTTP', targetPort: port },
            hosts: ['web.example.com', 'grpc.example.com'],
          },
        ],
      }),
      kube('VirtualService', 'web', routeTo('web.example.com', 'app')),
      kube('VirtualService', 'greeter', routeTo('grpc.example.com', 'greeter')),
    ];
  }

  before(async () => {
    app = await startUpstream('app');
    greeter = await startGreeter();
    port = await freePort();
    gw = await startTestProxy(translateGateway(resources()));
    await waitUntil('the gateway port to answer HTTP/1.1', async () => {
      const res = await get(port, 'web.example.com', '/ready').catch((err: Error) => err);
      return { done: !(res instanceof Error), state: res instanceof Error ? res.message : res };
    });
    client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'grpc.example.com',
    });
  });

  after(async () => {
    client?.close();
    await gw?.stop();
    await app?.close();
    greeter?.server.forceShutdown();
  });

  it('routes an h2c request by its :authority to the upstream, which answers it', async () => {
    const before = app.received.length;
    const res = await h2cGet(port, 'web.example.com', '/h2c?x=1');
    assert.deepEqual([res.status, res.body], [200, 'hello from app\n']);
    assert.equal(app.received.length, before + 1);
    assert.equal(app.received.at(-1)!.url, '/h2c?x=1');
  });

  it('still routes HTTP/1.1 on the same port', async () => {
    const res = await get(port, `web.example.com:${port}`, '/http1');
    assert.deepEqual([res.status, res.body], [200, 'hello from app\n']);
    assert.equal(app.received.at(-1)!.url, '/http1');
  });

  it('answers an h2c request for a host no VirtualService routes with 404, as HTTP/1.1', async () => {
    const res = await h2cGet(port, 'nobody.example.com', '/');
    assert.equal(res.status, 404);
  });

  it('carries gRPC over h2c through the gateway: the reply, trailer metadata and grpc-status', async () => {
    const ok = await unary(client, Greeter.say, 'weft');
    assert.equal(ok.error, null);
    assert.equal(ok.reply, 'hello weft');
    assert.equal(ok.status.code, grpc.status.OK);
    assert.deepEqual(ok.status.metadata.get('x-served-by'), ['greeter']);
    const denied = await unary(client, Greeter.deny, 'weft');
    assert.equal(denied.error?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(denied.error?.details, 'not you');
  });
});

describe("weft-proxy gateway: two VirtualServices for one host share its virtual host, as Istio's gateway merges them (translated from resources)", () => {
  let a: Upstream;
  let b: Upstream;
  let gw: TestProxy;
  let port: number;

  /** One Gateway HTTP server for shop.example.com; VirtualService `a` routes /a to upstream a, VirtualService `b` /b to b. */
  function resources(): KubernetesObject[] {
    const service = (name: string) =>
      kube('Service', name, { selector: { app: name }, ports: [{ name: 'http', port: 8080 }] });
    const routeTo = (name: string) =>
      kube('VirtualService', name, {
        hosts: ['shop.example.com'],
        gateways: ['shop'],
        http: [{ match: [{ uri: { prefix: `/${name}` } }], route: [{ destination: { host: name } }] }],
      });
    return [
      service('a'),
      service('b'),
      workload('a', 'http', a.port),
      workload('b', 'http', b.port),
      kube('Gateway', 'shop', {
        selector: { app: 'gw' },
        servers: [
          {
            port: { number: 80, name: 'http', protocol: 'HTTP', targetPort: port },
            hosts: ['shop.example.com'],
          },
        ],
      }),
      routeTo('a'),
      routeTo('b'),
    ];
  }

  before(async () => {
    a = await startUpstream('a');
    b = await startUpstream('b');
    port = await freePort();
    gw = await startTestProxy(translateGateway(resources()));
    await waitUntil('the gateway port to answer HTTP', async () => {
      const res = await get(port, 'shop.example.com', '/a/ready').catch((err: Error) => err);
      return { done: !(res instanceof Error), state: res instanceof Error ? res.message : res };
    });
  });

  after(async () => {
    await gw?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  it("reaches each VirtualService's upstream by path through one gateway port, over HTTP/1.1 and h2c; 404 for a path neither routes", async () => {
    const [beforeA, beforeB] = [a.received.length, b.received.length];
    const toA = await get(port, `shop.example.com:${port}`, '/a/items?x=1');
    assert.deepEqual([toA.status, toA.body], [200, 'hello from a\n']);
    const toB = await get(port, 'shop.example.com', '/b/items?y=2');
    assert.deepEqual([toB.status, toB.body], [200, 'hello from b\n']);
    const h2cToB = await h2cGet(port, 'shop.example.com', '/b/h2c');
    assert.deepEqual([h2cToB.status, h2cToB.body], [200, 'hello from b\n']);
    assert.equal((await get(port, 'shop.example.com', '/c')).status, 404);
    assert.deepEqual(
      a.received.slice(beforeA).map((r) => r.url),
      ['/a/items?x=1'],
    );
    assert.deepEqual(
      b.received.slice(beforeB).map((r) => r.url),
      ['/b/items?y=2', '/b/h2c'],
    );
  });
});

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

  it('answers 301 to https://<host without port><path and query>, over HTTP/1.1 and h2c, and contacts no upstream', async () => {
    const before = app.received.length;
    const res = await get(port, `secure.example.com:${port}`, '/shop/cart?item=42&size=xl');
    assert.equal(res.status, 301);
    assert.equal(res.location, 'https://secure.example.com/shop/cart?item=42&size=xl');
    const bare = await get(port, 'secure.example.com', '/');
    assert.deepEqual([bare.status, bare.location], [301, 'https://secure.example.com/']);
    const h2c = await h2cGet(port, 'secure.example.com', '/h2c?x=1');
    assert.deepEqual([h2c.status, h2c.location], [301, 'https://secure.example.com/h2c?x=1']);
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
