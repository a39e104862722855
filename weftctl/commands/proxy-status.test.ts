import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError, exitCodes } from '../cli-error.js';
import { formatTable } from '../table.js';
import type { ProxyStatusEntry } from '../../controllers/push/push-server.js';
import { formatProxyStatus, parseProxyStatus } from './proxy-status.js';

const entries: ProxyStatusEntry[] = [
  {
    id: 'productpage-v1.bookinfo',
    namespace: 'bookinfo',
    role: 'sidecar',
    status: 'SYNCED',
    sent: '7',
    acked: '7',
  },
  {
    id: 'weft-ingressgateway.weft-system',
    namespace: 'weft-system',
    role: 'gateway',
    status: 'STALE',
    sent: '8',
    acked: '7',
  },
  {
    id: 'ratings.bookinfo',
    namespace: 'bookinfo',
    role: 'sidecar',
    status: 'NACK',
    sent: '8',
    acked: '6',
    nack: 'route reviews: unknown cluster',
  },
  { id: 'new.bookinfo', namespace: 'bookinfo', role: 'sidecar', status: 'STALE' },
];

describe('weftctl proxy-status', () => {
  it('prints a table with the columns istioctl users expect, aligned, without trailing spaces', () => {
    const lines = formatProxyStatus(entries).split('\n');
    assert.deepEqual(lines.slice(0, 5), [
      'NAME                              NAMESPACE     ROLE      STATUS   SENT   ACKED',
      'productpage-v1.bookinfo           bookinfo      sidecar   SYNCED   7      7',
      'weft-ingressgateway.weft-system   weft-system   gateway   STALE    8      7',
      'ratings.bookinfo                  bookinfo      sidecar   NACK     8      6',
      'new.bookinfo                      bookinfo      sidecar   STALE    -      -',
    ]);
  });

  it('says why each NACKed proxy refused its configuration, below the table', () => {
    assert.match(formatProxyStatus(entries), /\n\nNACK ratings\.bookinfo: route reviews: unknown cluster\n$/);
    assert.doesNotMatch(formatProxyStatus(entries.slice(0, 2)), /NACK/);
  });

  it('refuses an answer that is not a list of proxies, naming the URL', () => {
    assert.deepEqual(parseProxyStatus(entries, 'u'), entries);
    assert.throws(
      () => parseProxyStatus({ error: 'x' }, 'http://127.0.0.1:9/debug/proxy-status'),
      (err: unknown) =>
        err instanceof CliError &&
        err.exitCode === exitCodes.unavailable &&
        err.message.includes('http://127.0.0.1:9/debug/proxy-status'),
    );
  });

  it('pads short rows and keeps an empty table to its header', () => {
    assert.equal(formatTable(['A', 'BB'], []), 'A   BB\n');
    assert.equal(formatTable(['A', 'B'], [['long', 'x'], ['y']]), 'A      B\nlong   x\ny\n');
  });
});
