import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captureRules, cleanupCommands } from './capture-rules.js';
import { DEFAULT_CAPTURE, parseCaptureFlags, type CaptureFlags } from './capture-settings.js';

const rulesOf = (flags: CaptureFlags, family: 'ipv4' | 'ipv6' = 'ipv4'): string[] =>
  captureRules(parseCaptureFlags(flags), family).trimEnd().split('\n');

/** The rules of one chain, in order, without the `-A <chain>` prefix. */
const chain = (rules: string[], name: string): string[] =>
  rules.filter((r) => r.startsWith(`-A ${name} `)).map((r) => r.slice(`-A ${name} `.length));

describe('captureRules', () => {
  it('writes the whole nat document Istio writes for a default sidecar', () => {
    assert.equal(
      captureRules(DEFAULT_CAPTURE),
      [
        '*nat',
        ':WEFT_INBOUND - [0:0]',
        ':WEFT_IN_REDIRECT - [0:0]',
        ':WEFT_OUTPUT - [0:0]',
        ':WEFT_REDIRECT - [0:0]',
        '-A WEFT_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006',
        '-A WEFT_REDIRECT -p tcp -j REDIRECT --to-ports 15001',
        '-A PREROUTING -p tcp -j WEFT_INBOUND',
        '-A WEFT_INBOUND -p tcp --dport 15000 -j RETURN',
        '-A WEFT_INBOUND -p tcp --dport 15006 -j RETURN',
        '-A WEFT_INBOUND -p tcp --dport 15021 -j RETURN',
        '-A WEFT_INBOUND -p tcp --dport 15090 -j RETURN',
        '-A WEFT_INBOUND -p tcp -j WEFT_IN_REDIRECT',
        '-A OUTPUT -p tcp -j WEFT_OUTPUT',
        '-A WEFT_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN',
        '-A WEFT_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --uid-owner 1337 -j WEFT_IN_REDIRECT',
        '-A WEFT_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN',
        '-A WEFT_OUTPUT -m owner --uid-owner 1337 -j RETURN',
        '-A WEFT_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --gid-owner 1337 -j WEFT_IN_REDIRECT',
        '-A WEFT_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN',
        '-A WEFT_OUTPUT -m owner --gid-owner 1337 -j RETURN',
        '-A WEFT_OUTPUT -d 127.0.0.1/32 -j RETURN',
        '-A WEFT_OUTPUT -j WEFT_REDIRECT',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('keeps the outbound port 15001 captured inbound, so no other pod can use it as a relay', () => {
    const inbound = chain(rulesOf({}), 'WEFT_INBOUND');
    assert.ok(!inbound.some((r) => r.includes('--dport 15001')), inbound.join('\n'));
  });

  it('redirects to the ports and spares the user and group it is given', () => {
    const rules = rulesOf({
      proxyPort: '16001',
      inboundCapturePort: '16006',
      proxyUid: '2000',
      proxyGid: '3000',
    });
    assert.deepEqual(chain(rules, 'WEFT_REDIRECT'), ['-p tcp -j REDIRECT --to-ports 16001']);
    assert.deepEqual(chain(rules, 'WEFT_IN_REDIRECT'), ['-p tcp -j REDIRECT --to-ports 16006']);
    assert.ok(chain(rules, 'WEFT_INBOUND').includes('-p tcp --dport 16006 -j RETURN'));
    assert.ok(chain(rules, 'WEFT_OUTPUT').includes('-m owner --uid-owner 2000 -j RETURN'));
    assert.ok(chain(rules, 'WEFT_OUTPUT').includes('-m owner --gid-owner 3000 -j RETURN'));
  });

  it('the group defaults to the user id, as in Istio', () => {
    assert.ok(
      chain(rulesOf({ proxyUid: '2000' }), 'WEFT_OUTPUT').includes('-m owner --gid-owner 2000 -j RETURN'),
    );
  });

  it('excludes inbound ports after the proxy’s own, before the catch-all redirect', () => {
    assert.deepEqual(chain(rulesOf({ excludeInboundPorts: '9090, 22,9090' }), 'WEFT_INBOUND'), [
      '-p tcp --dport 15000 -j RETURN',
      '-p tcp --dport 15006 -j RETURN',
      '-p tcp --dport 15021 -j RETURN',
      '-p tcp --dport 15090 -j RETURN',
      '-p tcp --dport 9090 -j RETURN',
      '-p tcp --dport 22 -j RETURN',
      '-p tcp -j WEFT_IN_REDIRECT',
    ]);
  });

  it('captures only the listed inbound ports, and ignores inbound exclusions then', () => {
    assert.deepEqual(
      chain(rulesOf({ includeInboundPorts: '8080,9080', excludeInboundPorts: '9090' }), 'WEFT_INBOUND'),
      ['-p tcp --dport 8080 -j WEFT_IN_REDIRECT', '-p tcp --dport 9080 -j WEFT_IN_REDIRECT'],
    );
  });

  it('captures nothing inbound when the inbound port list is empty', () => {
    const rules = rulesOf({ includeInboundPorts: '' });
    assert.deepEqual(chain(rules, 'WEFT_INBOUND'), []);
    assert.deepEqual(chain(rules, 'PREROUTING'), []);
    assert.deepEqual(chain(rules, 'OUTPUT'), ['-p tcp -j WEFT_OUTPUT']);
  });

  it('returns excluded outbound ports first, so even the proxy’s calls to its own pod on them pass', () => {
    const out = chain(rulesOf({ excludeOutboundPorts: '5432,6379' }), 'WEFT_OUTPUT');
    assert.deepEqual(out.slice(0, 2), ['-p tcp --dport 5432 -j RETURN', '-p tcp --dport 6379 -j RETURN']);
  });

  it('returns excluded CIDRs before the catch-all redirect, and only those of the family', () => {
    const flags = { excludeOutboundCidrs: '10.96.0.0/12,fd00::/8' };
    const v4 = chain(rulesOf(flags), 'WEFT_OUTPUT');
    assert.deepEqual(v4.slice(-3), [
      '-d 127.0.0.1/32 -j RETURN',
      '-d 10.96.0.0/12 -j RETURN',
      '-j WEFT_REDIRECT',
    ]);
    const v6 = chain(rulesOf(flags, 'ipv6'), 'WEFT_OUTPUT');
    assert.deepEqual(v6.slice(-3), ['-d ::1/128 -j RETURN', '-d fd00::/8 -j RETURN', '-j WEFT_REDIRECT']);
    assert.ok(v6.includes('-o lo ! -d ::1/128 -m owner --uid-owner 1337 -j WEFT_IN_REDIRECT'));
    assert.ok(v6.includes('-o lo -s ::6/128 -j RETURN'));
  });

  it('with include CIDRs redirects only those, and the rest leaves the chain uncaptured', () => {
    const out = chain(rulesOf({ includeOutboundCidrs: '10.0.0.0/8,172.16.0.0/12' }), 'WEFT_OUTPUT');
    assert.deepEqual(out.slice(-2), ['-d 10.0.0.0/8 -j WEFT_REDIRECT', '-d 172.16.0.0/12 -j WEFT_REDIRECT']);
    assert.ok(!out.includes('-j WEFT_REDIRECT'));
  });

  it('captures nothing outbound when the include list is empty, or names only the other family', () => {
    for (const includeOutboundCidrs of ['', 'fd00::/8']) {
      const rules = rulesOf({ includeOutboundCidrs });
      assert.deepEqual(chain(rules, 'WEFT_OUTPUT'), [], includeOutboundCidrs);
      assert.deepEqual(chain(rules, 'OUTPUT'), [], includeOutboundCidrs);
    }
  });

  it('sends the proxy’s own calls to its pod address over lo to the inbound side, before sparing its traffic', () => {
    const out = chain(rulesOf({}), 'WEFT_OUTPUT');
    const delivery = out.indexOf('-o lo -s 127.0.0.6/32 -j RETURN');
    const toInbound = out.indexOf('-o lo ! -d 127.0.0.1/32 -m owner --uid-owner 1337 -j WEFT_IN_REDIRECT');
    const appOverLo = out.indexOf('-o lo -m owner ! --uid-owner 1337 -j RETURN');
    const proxyOwn = out.indexOf('-m owner --uid-owner 1337 -j RETURN');
    assert.ok(delivery >= 0 && delivery < toInbound, 'inbound delivery from 127.0.0.6 is spared first');
    assert.ok(toInbound >= 0 && toInbound < appOverLo && appOverLo < proxyOwn, out.join('\n'));
  });
});

describe('cleanupCommands', () => {
  it('deletes the jumps before flushing and deleting the chains (a chain in use cannot be deleted)', () => {
    const commands = cleanupCommands().map((c) => c.join(' '));
    assert.deepEqual(commands.slice(0, 2), [
      '-t nat -D PREROUTING -p tcp -j WEFT_INBOUND',
      '-t nat -D OUTPUT -p tcp -j WEFT_OUTPUT',
    ]);
    const flushes = commands.filter((c) => c.includes(' -F '));
    const deletes = commands.filter((c) => c.includes(' -X '));
    assert.equal(flushes.length, 4);
    assert.equal(deletes.length, 4);
    assert.ok(commands.indexOf(flushes.at(-1)!) < commands.indexOf(deletes[0]!));
  });
});
