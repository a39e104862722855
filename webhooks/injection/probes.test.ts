import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { rewriteHttpProbes } from './probes.js';

const web: V1Container = {
  name: 'web',
  image: 'shop/web',
  ports: [{ name: 'http', containerPort: 8080 }],
  livenessProbe: {
    httpGet: { path: '/healthz', port: 'http', httpHeaders: [{ name: 'X-Probe', value: '1' }] },
    timeoutSeconds: 2,
    periodSeconds: 10,
  },
  readinessProbe: { httpGet: { path: '/ready', port: 8081, scheme: 'HTTPS' }, failureThreshold: 5 },
  startupProbe: { httpGet: { path: '/started', port: '8080' } },
};

describe('probe rewriting', () => {
  it("sends each HTTP probe through the proxy's health port, keeping its timing", () => {
    const [rewritten] = rewriteHttpProbes([web]).containers;
    assert.deepEqual(rewritten?.livenessProbe, {
      httpGet: { path: '/app-health/web/livez', port: 15021, scheme: 'HTTP' },
      timeoutSeconds: 2,
      periodSeconds: 10,
    });
    assert.deepEqual(rewritten?.readinessProbe, {
      httpGet: { path: '/app-health/web/readyz', port: 15021, scheme: 'HTTP' },
      failureThreshold: 5,
    });
    assert.deepEqual(rewritten?.startupProbe?.httpGet?.path, '/app-health/web/startupz');
  });

  it('records each original with its port as a number, for the proxy to call', () => {
    assert.deepEqual(rewriteHttpProbes([web]).appProbers, {
      '/app-health/web/livez': {
        httpGet: { path: '/healthz', port: 8080, httpHeaders: [{ name: 'X-Probe', value: '1' }] },
        timeoutSeconds: 2,
      },
      '/app-health/web/readyz': { httpGet: { path: '/ready', port: 8081, scheme: 'HTTPS' } },
      '/app-health/web/startupz': { httpGet: { path: '/started', port: 8080 } },
    });
  });

  it('leaves TCP, exec and gRPC probes, and HTTP probes on an unknown port name, as they are', () => {
    const other: V1Container = {
      name: 'worker',
      livenessProbe: { tcpSocket: { port: 9000 } },
      readinessProbe: { exec: { command: ['true'] } },
      startupProbe: { httpGet: { path: '/x', port: 'metrics' } },
    };
    const { containers, appProbers } = rewriteHttpProbes([other]);
    assert.deepEqual(containers, [other]);
    assert.deepEqual(appProbers, {});
  });

  it('keys probes by container, so two containers with the same probe do not collide', () => {
    const a: V1Container = { name: 'a', readinessProbe: { httpGet: { path: '/r', port: 1 } } };
    const b: V1Container = { name: 'b', readinessProbe: { httpGet: { path: '/r', port: 2 } } };
    assert.deepEqual(Object.keys(rewriteHttpProbes([a, b]).appProbers), [
      '/app-health/a/readyz',
      '/app-health/b/readyz',
    ]);
  });
});
