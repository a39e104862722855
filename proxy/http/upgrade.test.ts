import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusOf, upgradeRequestHead } from './upgrade.js';

describe('upgrade tunnel helpers', () => {
  it('writes the request head with the upgrade pair restored after hop-by-hop removal', () => {
    const head = upgradeRequestHead(
      'GET',
      '/chat?room=1',
      { host: 'svc:9080', 'sec-websocket-key': 'abc', cookie: ['a=1', 'b=2'], absent: undefined },
      'websocket',
    );
    assert.equal(
      head,
      'GET /chat?room=1 HTTP/1.1\r\nhost: svc:9080\r\nsec-websocket-key: abc\r\ncookie: a=1\r\ncookie: b=2\r\n' +
        'connection: upgrade\r\nupgrade: websocket\r\n\r\n',
    );
  });

  it("reads the status of the upstream's answer, 0 for anything that is not a status line", () => {
    assert.equal(statusOf(Buffer.from('HTTP/1.1 101 Switching Protocols\r\n')), 101);
    assert.equal(statusOf(Buffer.from('HTTP/1.0 403 Forbidden\r\n')), 403);
    assert.equal(statusOf(Buffer.from('SSH-2.0-OpenSSH\r\n')), 0);
    assert.equal(statusOf(Buffer.from('HTTP/1')), 0);
  });
});
