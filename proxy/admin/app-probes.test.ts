import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { healthServer } from './admin-servers.js';
import { parseAppProbers, probeApplication } from './app-probes.js';

describe('parseAppProbers', () => {
  it('reads the probes injection wrote, by path', () => {
    const probers = parseAppProbers(
      JSON.stringify({
        '/app-health/app/livez': { httpGet: { path: '/healthz', port: 8080 }, timeoutSeconds: 3 },
        '/app-health/app/readyz': { httpGet: { path: '/ready', port: 8080, scheme: 'HTTPS' } },
      }),
    );
    assert.deepEqual([...probers.keys()], ['/app-health/app/livez', '/app-health/app/readyz']);
    assert.equal(probers.get('/app-health/app/livez')?.timeoutSeconds, 3);
  });

  it('is empty when unset', () => {
    assert.equal(parseAppProbers(undefined).size, 0);
    assert.equal(parseAppProbers('  ').size, 0);
  });

  it('refuses bad input, naming the entry and the fix', () => {
    assert.throws(() => parseAppProbers('{'), /WEFT_APP_PROBERS is not JSON/);
    assert.throws(() => parseAppProbers('[]'), /JSON object of path → probe/);
    assert.throws(
      () => parseAppProbers(JSON.stringify({ '/x': { httpGet: { port: 1 } } })),
      /WEFT_APP_PROBERS\["\/x"\]: paths start with \/app-health\//,
    );
    assert.throws(
      () => parseAppProbers(JSON.stringify({ '/app-health/a/livez': { httpGet: { port: 'http' } } })),
      /needs httpGet.port, a port number/,
    );
    assert.throws(
      () =>
        parseAppProbers(JSON.stringify({ '/app-health/a/livez': { httpGet: { port: 80, scheme: 'TCP' } } })),
      /scheme must be HTTP or HTTPS/,
    );
  });
});

describe('probeApplication', () => {
  let app: Server;
  let port = 0;
  const seen: { url?: string; headers: Record<string, unknown> }[] = [];

  before(async () => {
    app = createServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      if (req.url === '/slow') return; // never answers
      res.writeHead(req.url === '/healthz' ? 204 : 503).end();
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    port = (app.address() as AddressInfo).port;
  });
  after(() => {
    app.closeAllConnections();
    app.close();
  });

  it("answers with the application's status, calling its path with its headers", async () => {
    const ok = await probeApplication(
      { httpGet: { path: '/healthz', port, httpHeaders: [{ name: 'x-probe', value: 'live' }] } },
      '127.0.0.1',
    );
    assert.equal(ok, 204);
    assert.equal(seen.at(-1)?.url, '/healthz');
    assert.equal(seen.at(-1)?.headers['x-probe'], 'live');
    assert.equal(await probeApplication({ httpGet: { path: '/other', port } }, '127.0.0.1'), 503);
  });

  it('answers 500 when the application is not there, or too slow', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const free = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    assert.equal(await probeApplication({ httpGet: { port: free } }, '127.0.0.1'), 500);
    assert.equal(
      await probeApplication({ httpGet: { path: '/slow', port }, timeoutSeconds: 0.2 }, '127.0.0.1'),
      500,
    );
  });
});

describe('the health port forwards application probes', () => {
  it('answers /app-health/<container>/<probe> with the application status, and 404 for unknown probes', async () => {
    const app = createServer((req, res) => res.writeHead(req.url === '/live' ? 200 : 500).end());
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    const appPort = (app.address() as AddressInfo).port;
    const probers = parseAppProbers(
      JSON.stringify({
        '/app-health/web/livez': { httpGet: { path: '/live', port: appPort } },
        '/app-health/web/readyz': { httpGet: { path: '/not-ready', port: appPort } },
      }),
    );
    const state = {
      configDump: () => ({}),
      clusters: () => ({}),
      ready: () => ({ ready: true, why: '' }),
      quit: () => undefined,
    };
    const health = healthServer(state, { probers, host: '127.0.0.1' });
    await new Promise<void>((r) => health.listen(0, '127.0.0.1', () => r()));
    const at = (path: string): Promise<number> =>
      fetch(`http://127.0.0.1:${(health.address() as AddressInfo).port}${path}`).then((r) => r.status);
    try {
      assert.equal(await at('/app-health/web/livez'), 200);
      assert.equal(await at('/app-health/web/readyz'), 500);
      assert.equal(await at('/app-health/other/livez'), 404);
      assert.equal(await at('/healthz/ready'), 200);
    } finally {
      health.closeAllConnections();
      health.close();
      app.close();
    }
  });
});
