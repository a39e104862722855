import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAccessLogger } from './access-log.js';
import type { AccessLogEntry } from './access-log.js';

function entry(overrides: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    start_time: '2024-05-01T12:00:00.000Z',
    method: 'GET',
    path: '/reviews/1?x="quoted"',
    protocol: 'HTTP/1.1',
    response_code: 200,
    response_flags: '-',
    bytes_received: 0,
    bytes_sent: 295,
    duration: 12,
    upstream_service_time: 10,
    x_forwarded_for: '10.0.0.9',
    user_agent: 'curl/8.5.0',
    request_id: 'a5f1c3d2-0000-4000-8000-000000000001',
    authority: 'reviews:9080',
    upstream_host: '10.1.2.3:9080',
    upstream_cluster: 'inbound|9080||',
    route_name: 'default',
    downstream_remote_address: '10.0.0.9:51234',
    downstream_peer_principal: 'spiffe://cluster.local/ns/bookinfo/sa/productpage',
    connection_security_policy: 'mutual_tls',
    reporter: 'destination',
    ...overrides,
  };
}

function capture(): { lines: string[]; stream: { write(s: string): void } } {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => void lines.push(s) } };
}

describe('createAccessLogger', () => {
  it('writes one JSON line per entry with the Istio fields, level info and msg access', () => {
    const { lines, stream } = capture();
    const log = createAccessLogger({ enabled: true, destination: stream });
    log.log(entry());
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('\n'));
    assert.equal(lines[0]!.trimEnd().includes('\n'), false, 'one line per entry');
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(rec['level'], 30);
    assert.equal(rec['msg'], 'access');
    assert.equal(typeof rec['time'], 'number');
    assert.equal(rec['pid'], undefined, 'no per-line process metadata');
    for (const [k, v] of Object.entries(entry())) assert.deepEqual(rec[k], v, k);
  });

  it('writes absent optional fields as null so every line has the same keys', () => {
    const { lines, stream } = capture();
    const log = createAccessLogger({ enabled: true, destination: stream });
    log.log(entry());
    const {
      upstream_service_time: _1,
      x_forwarded_for: _2,
      user_agent: _3,
      request_id: _4,
      authority: _5,
      upstream_host: _6,
      upstream_cluster: _7,
      route_name: _8,
      downstream_peer_principal: _9,
      ...required
    } = entry({ response_code: 0, response_flags: 'UH' });
    log.log(required);
    const [full, sparse] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(Object.keys(sparse!).sort(), Object.keys(full!).sort());
    assert.equal(sparse!['upstream_host'], null);
    assert.equal(sparse!['upstream_service_time'], null);
    assert.equal(sparse!['response_code'], 0);
    assert.equal(sparse!['response_flags'], 'UH');
  });

  it('escapes client-controlled values so a line cannot be split or forged', () => {
    const { lines, stream } = capture();
    const log = createAccessLogger({ enabled: true, destination: stream });
    const ua = 'evil\n{"msg":"forged"}\u0000';
    log.log(entry({ user_agent: ua }));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.trimEnd().includes('\n'), false);
    assert.equal((JSON.parse(lines[0]!) as Record<string, unknown>)['user_agent'], ua);
  });

  it('does nothing when disabled, and hands out one shared no-op logger', () => {
    const { lines, stream } = capture();
    const a = createAccessLogger({ enabled: false, destination: stream });
    const b = createAccessLogger({ enabled: false });
    assert.equal(a, b);
    a.log(entry());
    a.flush();
    assert.deepEqual(lines, []);
  });

  it('writes asynchronously to a file descriptor and flushes on request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-access-log-'));
    const file = join(dir, 'access.log');
    const fd = openSync(file, 'w');
    try {
      const log = createAccessLogger({ enabled: true, destination: fd });
      log.log(entry({ path: '/one' }));
      log.log(entry({ path: '/two' }));
      log.flush();
      let text = '';
      for (let i = 0; i < 50 && text.split('\n').length < 3; i++) {
        await sleep(10);
        text = readFileSync(file, 'utf8');
      }
      const paths = text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as Record<string, unknown>)['path']);
      assert.deepEqual(paths, ['/one', '/two']);
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
