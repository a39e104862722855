import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { serverNameOf, tlsRecordLength } from './sni.js';

/** The first bytes Node's TLS client sends (its ClientHello), for `servername`, read by a plain TCP server. */
async function clientHello(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const first = new Promise<Buffer>((resolve) =>
      server.once('connection', (s) => {
        let seen = Buffer.alloc(0);
        s.on('data', (c: Buffer) => {
          seen = Buffer.concat([seen, c]);
          if (seen.length >= (tlsRecordLength(seen) ?? Infinity)) resolve(seen);
        });
      }),
    );
    const client = tlsConnect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      ...(servername === undefined ? {} : { servername }),
      rejectUnauthorized: false,
    });
    client.on('error', () => undefined);
    const hello = await first;
    client.destroy();
    return hello;
  } finally {
    server.close();
  }
}

describe('serverNameOf', () => {
  it('reads the server name of a real ClientHello, lowercase', async () => {
    assert.equal(serverNameOf(await clientHello('API.Example.com')), 'api.example.com');
  });

  it('finds none when the client sends none (an IP address is never sent as SNI)', async () => {
    assert.equal(serverNameOf(await clientHello(undefined)), undefined);
  });

  it('finds none in a ClientHello cut short, at every length, without throwing', async () => {
    const hello = await clientHello('api.example.com');
    for (let n = 0; n < hello.length; n += 1)
      assert.equal(serverNameOf(hello.subarray(0, n)), undefined, `${n}`);
  });

  it('survives corrupted lengths inside the ClientHello', async () => {
    const hello = await clientHello('api.example.com');
    for (let at = 9; at < Math.min(hello.length, 200); at += 1) {
      const bad = Buffer.from(hello);
      bad[at] = 0xff;
      const name = serverNameOf(bad);
      assert.ok(name === undefined || typeof name === 'string');
    }
  });

  it('finds none in what is not TLS', () => {
    assert.equal(serverNameOf(Buffer.from('GET / HTTP/1.1\r\nHost: api.example.com\r\n\r\n')), undefined);
    assert.equal(tlsRecordLength(Buffer.from('GET / HTTP/1.1\r\n')), undefined);
  });
});
