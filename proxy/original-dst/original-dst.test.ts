import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ensureOriginalDstAddon } from '../../test/helpers/original-dst-addon.js';
import { ADDON_PATH, loadOriginalDestination, type OriginalDestinationReader } from './original-dst.js';

/**
 * The addon on sockets that were not redirected. A redirected connection needs iptables in a
 * network namespace: test/e2e/capture-netns.test.ts proves that case end to end.
 */
describe('original-dst addon', () => {
  const skip = ensureOriginalDstAddon();
  let read: OriginalDestinationReader;
  let addon: { originalDst(fd: unknown): unknown };
  const server = createServer();
  const accepted: Socket[] = [];

  before(async () => {
    if (skip) return;
    const loaded = loadOriginalDestination();
    assert.equal(typeof loaded, 'function', JSON.stringify(loaded));
    read = loaded as OriginalDestinationReader;
    addon = createRequire(import.meta.url)(ADDON_PATH) as typeof addon;
    server.on('connection', (s: Socket) => accepted.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  after(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });

  it('finds no original destination on a connection made to the listener itself', async (t) => {
    if (skip) return t.skip(skip.skip);
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    const socket = accepted.at(-1)!;
    // Conntrack, when loaded, answers with the listener's own address; both mean "not redirected".
    assert.equal(read(socket), undefined);
    client.destroy();
  });

  it('answers undefined for a descriptor that is not a TCP socket', (t) => {
    if (skip) return t.skip(skip.skip);
    const fd = openSync(ADDON_PATH, 'r');
    try {
      assert.equal(addon.originalDst(fd), undefined);
    } finally {
      closeSync(fd);
    }
  });

  it('refuses an argument that is not a descriptor', (t) => {
    if (skip) return t.skip(skip.skip);
    for (const bad of [-1, 'seven', undefined]) {
      assert.throws(() => addon.originalDst(bad), {
        name: 'TypeError',
        message: /fd must be a non-negative integer/,
      });
    }
  });
});
