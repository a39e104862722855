import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CaptureSettingsError,
  DEFAULT_CAPTURE,
  parseCaptureFlags,
  type CaptureFlags,
} from './capture-settings.js';

function refusal(flags: CaptureFlags): CaptureSettingsError {
  try {
    parseCaptureFlags(flags);
  } catch (err) {
    assert.ok(err instanceof CaptureSettingsError, String(err));
    return err;
  }
  assert.fail(`${JSON.stringify(flags)} was accepted`);
}

describe('parseCaptureFlags', () => {
  it('gives Istio’s defaults when no flag is set', () => {
    assert.deepEqual(parseCaptureFlags({}), DEFAULT_CAPTURE);
  });

  it('reads lists written by hand: blanks and a trailing comma are ignored, * means all', () => {
    const s = parseCaptureFlags({
      includeInboundPorts: ' 8080, 9090,',
      excludeOutboundPorts: '',
      includeOutboundCidrs: ' * ',
      excludeOutboundCidrs: '10.96.0.0/12, fd00::/8',
    });
    assert.deepEqual(s.includeInboundPorts, [8080, 9090]);
    assert.deepEqual(s.excludeOutboundPorts, []);
    assert.equal(s.includeOutboundCidrs, '*');
    assert.deepEqual(s.excludeOutboundCidrs, ['10.96.0.0/12', 'fd00::/8']);
  });

  it('refuses a port that is not one, naming the flag and the valid range', () => {
    for (const [flags, flag] of [
      [{ proxyPort: '0' }, '-p/--proxy-port'],
      [{ inboundCapturePort: '70000' }, '-z/--inbound-capture-port'],
      [{ excludeInboundPorts: '8080,http' }, '-d/--exclude-inbound-ports'],
      [{ includeInboundPorts: '80-90' }, '-b/--include-inbound-ports'],
      [{ excludeOutboundPorts: '-1' }, '-o/--exclude-outbound-ports'],
    ] as const) {
      const err = refusal(flags);
      assert.equal(err.flag, flag);
      assert.match(err.message, /give a number from 1 to 65535/);
    }
  });

  it('refuses a non-numeric user or group', () => {
    assert.match(refusal({ proxyUid: 'envoy' }).message, /^-u\/--proxy-uid: "envoy" is not a numeric user/);
    assert.equal(refusal({ proxyGid: '1.5' }).flag, '-g/--proxy-gid');
  });

  it('refuses a bare address, and says which CIDR means that one address', () => {
    assert.equal(
      refusal({ excludeOutboundCidrs: '10.0.0.1' }).message,
      '-x/--exclude-outbound-cidrs: "10.0.0.1" has no prefix length; for this one address write 10.0.0.1/32',
    );
    assert.match(refusal({ includeOutboundCidrs: 'fd00::1' }).message, /write fd00::1\/128$/);
  });

  it('refuses what is not an address, and a prefix too long for its family', () => {
    assert.match(
      refusal({ excludeOutboundCidrs: 'example.com/24' }).message,
      /not an IPv4 or IPv6 CIDR; write it as/,
    );
    assert.match(
      refusal({ excludeOutboundCidrs: '10.0.0.0/33' }).message,
      /IPv4 prefix is a number from 0 to 32/,
    );
    assert.match(
      refusal({ includeOutboundCidrs: 'fd00::/129' }).message,
      /IPv6 prefix is a number from 0 to 128/,
    );
    assert.match(refusal({ includeOutboundCidrs: '10.0.0.0/x' }).message, /bad prefix length/);
  });
});
