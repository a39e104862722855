import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { holdForSplice, splice } from './splice.js';

// Everything a test opened is closed after the file, so a failed test cannot keep its process alive.
const servers: Server[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

async function listen(onConnection: (s: Socket) => void, allowHalfOpen = false): Promise<number> {
  const server = createServer({ allowHalfOpen }, (s) => {
    sockets.push(s);
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** Everything a socket reads until its peer's FIN, as text. */
function readToEnd(s: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    s.setEncoding('latin1');
    s.on('data', (c: string) => (got += c));
    s.once('end', () => resolve(got));
    s.once('error', reject);
  });
}

const closeOf = (s: Socket): Promise<void> => new Promise((r) => s.once('close', () => r()));

/**
 * client → [accepted | splice | connected] → app, as the TCP proxy has them: the accepted socket
 * comes from a server that is not half-open (net's default, like the proxy's listeners), and is
 * held while the upstream connects. `closed` counts the calls of splice's callback.
 */
async function through(
  app: (s: Socket) => void,
  idleTimeoutMs = 0,
): Promise<{ client: Socket; closed: Promise<number> }> {
  const appPort = await listen(app, true);
  let calls = 0;
  let closedOnce: () => void = () => undefined;
  const closed = new Promise<number>((r) => (closedOnce = () => r(calls)));
  const proxyPort = await listen((down) => {
    holdForSplice(down);
    const up = connect({ host: '127.0.0.1', port: appPort });
    sockets.push(up);
    up.once('error', () => down.destroy());
    up.once('connect', () =>
      splice(
        down,
        up,
        () => {
          calls += 1;
          // Let a second call, if any, be counted before the test reads the count.
          setImmediate(closedOnce);
        },
        idleTimeoutMs,
      ),
    );
  });
  const client = connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen: true });
  sockets.push(client);
  await new Promise<void>((r) => client.once('connect', () => r()));
  return { client, closed };
}

// A relay that never closes would otherwise hang the run: fail instead.
describe('splice: a bidirectional relay that honours half-close', { timeout: 30_000 }, () => {
  it("relays the client's FIN and still carries the answer the upstream writes after it", async () => {
    const { client, closed } = await through((s) => {
      readToEnd(s).then(
        (got) => s.end(`got ${got.length} bytes: ${got}`),
        () => s.destroy(),
      );
    });
    const answer = readToEnd(client);
    client.end('request');
    assert.equal(await answer, 'got 7 bytes: request');
    assert.equal(await closed, 1);
  });

  it("relays the upstream's FIN and still carries what the client sends after it", async () => {
    let appGot: Promise<string> = Promise.resolve('');
    const { client, closed } = await through((s) => {
      appGot = readToEnd(s);
      s.end('greeting');
    });
    assert.equal(await readToEnd(client), 'greeting');
    client.end('sent after the upstream finished');
    assert.equal(await appGot, 'sent after the upstream finished');
    assert.equal(await closed, 1);
  });

  it('destroys both sides when one is reset, and reports the close once', async () => {
    let accepted: (s: Socket) => void = () => undefined;
    const app = new Promise<Socket>((r) => (accepted = r));
    const { client, closed } = await through((s) => {
      s.on('error', () => undefined);
      // Bytes from the client: the relay is up.
      s.once('data', () => accepted(s));
    });
    client.on('error', () => undefined);
    client.end('half-closed, waiting');
    const clientClosed = closeOf(client);
    (await app).resetAndDestroy();
    await clientClosed;
    assert.equal(await closed, 1);
  });

  it('destroys the other side at once when one had already closed before the splice', async () => {
    const down = connect({ host: '127.0.0.1', port: await listen(() => undefined) });
    const upPort = await listen(() => undefined);
    const up = connect({ host: '127.0.0.1', port: upPort });
    await new Promise<void>((r) => up.once('connect', () => r()));
    down.destroy();
    await closeOf(down);
    let calls = 0;
    await new Promise<void>((r) =>
      splice(down, up, () => {
        calls += 1;
        r();
      }),
    );
    assert.equal(up.destroyed, true);
    assert.equal(calls, 1);
  });

  it('closes both sides of a relay that carried no byte for its idle timeout', async () => {
    let appEnded: Promise<unknown> = Promise.resolve();
    const { client, closed } = await through((s) => {
      appEnded = new Promise((r) => s.resume().once('end', r));
    }, 100);
    // Both peers are half-open: the proxy's close reaches each as the end of what it reads.
    await new Promise((r) => client.resume().once('end', r));
    await appEnded;
    assert.equal(await closed, 1);
  });

  it('keeps a relay open while bytes flow, whichever way', async () => {
    const { client, closed } = await through((s) => s.on('data', () => undefined), 1_000);
    let open = true;
    void closed.then(() => (open = false));
    // 30 bytes, 50 ms apart: 1.5 s in all, longer than the idle timeout, never 1 s without one.
    for (let i = 0; i < 30; i++) {
      client.write('x');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(open, true, 'the relay stayed open while the client was sending');
    client.end();
    assert.equal(await closed, 1);
  });
});
