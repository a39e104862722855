import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../config/config-error.js';
import type {
  AuthorizationPolicies,
  AuthzPolicy,
  AuthzRule,
  AuthzSource,
  AuthzOperation,
  AuthzCondition,
} from '../config/generated/proxy-config.js';
import { compileAuthorization, type AuthzRequest } from './authorization.js';

const policies = (p: Partial<AuthorizationPolicies>): AuthorizationPolicies => ({
  deny: [],
  allow: [],
  audit: [],
  ...p,
});
const policy = (name: string, ...rules: AuthzRule[]): AuthzPolicy => ({ name, rules });
const from = (...sources: AuthzSource[]): AuthzRule => ({ from: sources });
const to = (...operations: AuthzOperation[]): AuthzRule => ({ to: operations });
const when = (...conditions: AuthzCondition[]): AuthzRule => ({ when: conditions });

const req = (over: Partial<AuthzRequest> = {}): AuthzRequest => ({
  principal: 'spiffe://cluster.local/ns/shop/sa/web',
  sourceIp: '10.1.2.3',
  destinationPort: 8080,
  http: true,
  host: 'cart.shop.svc.cluster.local',
  method: 'GET',
  path: '/api/items?limit=10',
  headers: { 'x-team': 'payments', 'user-agent': 'curl/8.0' },
  ...over,
});
const plaintext = req({ principal: undefined });
const tcp = (over: Partial<AuthzRequest> = {}): AuthzRequest =>
  req({ http: false, host: undefined, method: undefined, path: undefined, headers: undefined, ...over });

/** Whether a single ALLOW policy with `rule` allows `r`. */
const allows = (rule: AuthzRule, r: AuthzRequest): boolean =>
  compileAuthorization(policies({ allow: [policy('ns/p', rule)] })).check(r).allowed;
/** Whether a single DENY policy with `rule` denies `r`. */
const denies = (rule: AuthzRule, r: AuthzRequest): boolean =>
  !compileAuthorization(policies({ deny: [policy('ns/d', rule)] })).check(r).allowed;

const throwsAt = (p: Partial<AuthorizationPolicies>, path: string): void => {
  assert.throws(
    () => compileAuthorization(policies(p)),
    (e: unknown) => e instanceof ConfigError && e.path === path,
  );
};

describe('compileAuthorization: policy combination', () => {
  it('allows everything with no policy, and says so', () => {
    const a = compileAuthorization(policies({}));
    assert.equal(a.empty, true);
    assert.deepEqual(a.check(req()), { allowed: true, reason: 'no-policy' });
    assert.deepEqual(a.check(tcp()), { allowed: true, reason: 'no-policy' });
  });

  it('DENY wins over a matching ALLOW and names the deny policy', () => {
    const a = compileAuthorization(
      policies({
        deny: [policy('shop/deny-get', to({ methods: { values: ['GET'] } }))],
        allow: [policy('shop/all', {})],
      }),
    );
    assert.equal(a.empty, false);
    assert.deepEqual(a.check(req()), { allowed: false, policy: 'shop/deny-get', reason: 'denied' });
    assert.deepEqual(a.check(req({ method: 'POST' })), {
      allowed: true,
      policy: 'shop/all',
      reason: 'allowed',
    });
  });

  it('an ALLOW policy without rules allows nothing; a DENY policy without rules denies nothing', () => {
    const allowNothing = compileAuthorization(policies({ allow: [policy('shop/allow-nothing')] }));
    assert.deepEqual(allowNothing.check(req()), { allowed: false, reason: 'no-allow-match' });
    assert.deepEqual(allowNothing.check(tcp()), { allowed: false, reason: 'no-allow-match' });
    const denyNothing = compileAuthorization(policies({ deny: [policy('shop/deny-nothing')] }));
    assert.equal(denyNothing.check(req()).reason, 'no-policy');
  });

  it('an empty rule matches everything', () => {
    assert.equal(allows({}, req()), true);
    assert.equal(allows({ from: [], to: [], when: [] }, tcp()), true);
    assert.equal(denies({}, plaintext), true);
  });

  it('allows when any ALLOW policy matches, else no-allow-match', () => {
    const a = compileAuthorization(
      policies({
        allow: [
          policy('shop/posts', to({ methods: { values: ['POST'] } })),
          policy('shop/gets', to({ methods: { values: ['GET'] } })),
        ],
      }),
    );
    assert.equal(a.check(req()).policy, 'shop/gets');
    assert.deepEqual(a.check(req({ method: 'PUT' })), { allowed: false, reason: 'no-allow-match' });
  });

  it('a rule needs a matching source, a matching operation and every condition', () => {
    const rule: AuthzRule = {
      from: [{ namespaces: { values: ['other'] } }, { namespaces: { values: ['shop'] } }],
      to: [
        { methods: { values: ['POST'] } },
        { methods: { values: ['GET'] }, paths: { values: ['/api/*'] } },
      ],
      when: [
        { key: 'destination.port', values: ['8080'] },
        { key: 'request.headers[x-team]', values: ['payments'] },
      ],
    };
    assert.equal(allows(rule, req()), true);
    assert.equal(allows(rule, req({ principal: 'spiffe://cluster.local/ns/x/sa/web' })), false);
    assert.equal(allows(rule, req({ path: '/other' })), false);
    assert.equal(allows(rule, req({ destinationPort: 9090 })), false);
    assert.equal(allows(rule, req({ headers: { 'x-team': 'search' } })), false);
  });

  it('returns shared frozen decisions', () => {
    const a = compileAuthorization(policies({ allow: [policy('shop/all', {})] }));
    assert.equal(a.check(req()), a.check(req({ method: 'POST' })));
    assert.equal(Object.isFrozen(a.check(req())), true);
  });

  it('ignores AUDIT policies in the decision but reports them', () => {
    const a = compileAuthorization(
      policies({ audit: [policy('shop/audit-posts', to({ methods: { values: ['POST'] } }))] }),
    );
    assert.equal(a.empty, true);
    assert.deepEqual(a.check(req({ method: 'POST' })), { allowed: true, reason: 'no-policy' });
    assert.equal(a.audit(req({ method: 'POST' })), 'shop/audit-posts');
    assert.equal(a.audit(req()), undefined);
  });
});

describe('sources', () => {
  it('principals: exact, prefix*, *suffix and * in Istio form', () => {
    const p = (values: string[]): AuthzRule => from({ principals: { values } });
    assert.equal(allows(p(['cluster.local/ns/shop/sa/web']), req()), true);
    assert.equal(allows(p(['spiffe://cluster.local/ns/shop/sa/web']), req()), false);
    assert.equal(allows(p(['cluster.local/ns/shop/sa/other']), req()), false);
    assert.equal(allows(p(['cluster.local/ns/shop/*']), req()), true);
    assert.equal(allows(p(['cluster.local/ns/other/*']), req()), false);
    assert.equal(allows(p(['*/sa/web']), req()), true);
    assert.equal(allows(p(['*/sa/api']), req()), false);
    assert.equal(allows(p(['*']), req()), true);
  });

  it('plaintext never matches principals or namespaces values, even *', () => {
    assert.equal(allows(from({ principals: { values: ['*'] } }), plaintext), false);
    assert.equal(allows(from({ namespaces: { values: ['*'] } }), plaintext), false);
    assert.equal(allows(when({ key: 'source.principal', values: ['*'] }), plaintext), false);
  });

  it('plaintext satisfies a notValues-only set (Istio: compared to an empty value)', () => {
    assert.equal(allows(from({ namespaces: { notValues: ['shop'] } }), plaintext), true);
    assert.equal(allows(from({ namespaces: { notValues: ['shop'] } }), req()), false);
    // The documented way to reject plaintext: DENY notPrincipals ["*"].
    assert.equal(denies(from({ principals: { notValues: ['*'] } }), plaintext), true);
    assert.equal(denies(from({ principals: { notValues: ['*'] } }), req()), false);
  });

  it('namespaces come from the principal, with wildcards', () => {
    const ns = (values: string[]): AuthzRule => from({ namespaces: { values } });
    assert.equal(allows(ns(['shop']), req()), true);
    assert.equal(allows(ns(['sho']), req()), false);
    assert.equal(allows(ns(['shop-prod']), req()), false);
    assert.equal(allows(ns(['sh*']), req()), true);
    assert.equal(allows(ns(['*op']), req()), true);
    assert.equal(allows(ns(['s*p']), req()), true);
    assert.equal(allows(ns(['*']), req()), true);
    assert.equal(allows(ns(['sa*']), req()), false);
    assert.equal(allows(ns(['web']), req()), false);
    assert.equal(allows(ns(['shop']), req({ principal: 'spiffe://cluster.local/sa/web' })), false);
    assert.equal(allows(when({ key: 'source.namespace', values: ['shop'] }), req()), true);
    assert.equal(allows(when({ key: 'source.namespace', notValues: ['shop'] }), req()), false);
  });

  it('values and notValues together: in values and not in notValues', () => {
    const rule = from({ principals: { values: ['cluster.local/ns/shop/*'], notValues: ['*/sa/admin'] } });
    assert.equal(allows(rule, req()), true);
    assert.equal(allows(rule, req({ principal: 'spiffe://cluster.local/ns/shop/sa/admin' })), false);
    assert.equal(allows(rule, req({ principal: 'spiffe://cluster.local/ns/x/sa/web' })), false);
  });

  it('treats an empty values list as absent, as protobuf does', () => {
    assert.equal(allows(from({ principals: { values: [] } }), plaintext), true);
    assert.equal(allows(from({ principals: { values: [], notValues: ['*'] } }), plaintext), true);
  });

  it('requestPrincipals never match (no JWT authentication); notRequestPrincipals always hold', () => {
    const only = from({ requestPrincipals: { values: ['*'] } });
    assert.equal(allows(only, req()), false, 'an ALLOW on JWT principals must not allow everyone');
    assert.equal(denies(only, req()), false);
    const sources = {
      from: [{ requestPrincipals: { values: ['issuer/sub'] } }, { namespaces: { values: ['shop'] } }],
    };
    assert.equal(denies(sources, req()), true, 'the other source of the rule still applies');
    assert.equal(denies(from({ requestPrincipals: { notValues: ['*'] } }), req()), true);
  });

  it('all fields of a source must hold', () => {
    const rule = from({ namespaces: { values: ['shop'] }, ipBlocks: { values: ['10.0.0.0/8'] } });
    assert.equal(allows(rule, req()), true);
    assert.equal(allows(rule, req({ sourceIp: '192.168.0.1' })), false);
  });

  it('ipBlocks: IPv4 CIDRs and single addresses', () => {
    const ip = (values: string[], notValues?: string[]): AuthzRule =>
      from({ ipBlocks: { values, ...(notValues ? { notValues } : {}) } });
    assert.equal(allows(ip(['10.0.0.0/8']), req()), true);
    assert.equal(allows(ip(['10.1.2.3']), req()), true);
    assert.equal(allows(ip(['10.1.2.4']), req()), false);
    assert.equal(allows(ip(['10.1.2.0/31']), req()), false);
    assert.equal(allows(ip(['0.0.0.0/0']), req({ sourceIp: '203.0.113.9' })), true);
    assert.equal(allows(ip(['10.0.0.0/8'], ['10.1.0.0/16']), req()), false);
    assert.equal(allows(ip(['10.0.0.0/8'], ['10.1.0.0/16']), req({ sourceIp: '10.2.0.1' })), true);
  });

  it('ipBlocks: IPv6, and ::ffff: mapped addresses treated as IPv4', () => {
    const ip = (...values: string[]): AuthzRule => from({ ipBlocks: { values } });
    assert.equal(allows(ip('2001:db8::/32'), req({ sourceIp: '2001:db8:1::5' })), true);
    assert.equal(allows(ip('2001:db8::/32'), req({ sourceIp: '2001:db9::5' })), false);
    assert.equal(allows(ip('2001:db8::5'), req({ sourceIp: '2001:DB8:0::5' })), true);
    assert.equal(allows(ip('2001:db8::/32'), req()), false);
    assert.equal(allows(ip('10.0.0.0/8'), req({ sourceIp: '2001:db8::1' })), false);
    // Mapped client against IPv4 rules, and IPv6-spelled mapped rules against IPv4 clients.
    assert.equal(allows(ip('10.0.0.0/8'), req({ sourceIp: '::ffff:10.1.2.3' })), true);
    assert.equal(allows(ip('10.1.2.3'), req({ sourceIp: '::ffff:10.1.2.3' })), true);
    assert.equal(allows(ip('10.0.0.0/8'), req({ sourceIp: '::ffff:192.168.1.1' })), false);
    assert.equal(allows(ip('::ffff:10.0.0.0/104'), req()), true);
    assert.equal(allows(ip('::ffff:10.1.2.3'), req()), true);
    // A mapped client is an IPv4 client: native IPv6 ranges do not cover it.
    assert.equal(allows(ip('::/0'), req({ sourceIp: '::ffff:10.1.2.3' })), false);
    assert.equal(allows(ip('::/0'), req()), false);
    assert.equal(allows(ip('::/0'), req({ sourceIp: '::1' })), true);
  });

  it('source.ip and remote.ip conditions use the peer address', () => {
    assert.equal(allows(when({ key: 'source.ip', values: ['10.0.0.0/8'] }), req()), true);
    assert.equal(allows(when({ key: 'remote.ip', values: ['10.0.0.0/8'] }), req()), true);
    assert.equal(allows(when({ key: 'remote.ip', notValues: ['10.0.0.0/8'] }), req()), false);
  });
});

describe('operations', () => {
  it('ports: exact numbers, also as destination.port', () => {
    assert.equal(allows(to({ ports: { values: ['8080'] } }), req()), true);
    assert.equal(allows(to({ ports: { values: ['80', '443'] } }), req()), false);
    assert.equal(allows(to({ ports: { notValues: ['8080'] } }), req()), false);
    assert.equal(allows(when({ key: 'destination.port', values: ['8080'] }), req()), true);
    assert.equal(allows(when({ key: 'destination.port', notValues: ['8080'] }), req()), false);
  });

  it('methods: case-sensitive, with wildcards', () => {
    assert.equal(allows(to({ methods: { values: ['GET', 'HEAD'] } }), req()), true);
    assert.equal(allows(to({ methods: { values: ['get'] } }), req()), false);
    assert.equal(allows(to({ methods: { values: ['P*'] } }), req({ method: 'PATCH' })), true);
    assert.equal(allows(to({ methods: { notValues: ['DELETE'] } }), req()), true);
  });

  it('hosts: case-insensitive against the whole authority', () => {
    const host = (...values: string[]): AuthzRule => to({ hosts: { values } });
    assert.equal(allows(host('Cart.Shop.svc.cluster.local'), req()), true);
    assert.equal(
      allows(host('cart.shop.svc.cluster.local'), req({ host: 'CART.shop.svc.cluster.local' })),
      true,
    );
    assert.equal(allows(host('*.svc.cluster.local'), req({ host: 'CART.SHOP.SVC.CLUSTER.LOCAL' })), true);
    assert.equal(allows(host('cart.*'), req()), true);
    assert.equal(
      allows(host('cart.shop.svc.cluster.local'), req({ host: 'cart.shop.svc.cluster.local:8080' })),
      false,
    );
    assert.equal(
      allows(host('cart.shop.svc.cluster.local:*'), req({ host: 'cart.shop.svc.cluster.local:8080' })),
      true,
    );
    assert.equal(allows(host('other'), req()), false);
    assert.equal(
      allows(
        host('cart.shop.svc.cluster.local'),
        req({ host: undefined, headers: { host: 'Cart.shop.svc.cluster.local' } }),
      ),
      true,
    );
  });

  it('paths: match without the query string', () => {
    const path = (...values: string[]): AuthzRule => to({ paths: { values } });
    assert.equal(allows(path('/api/items'), req()), true);
    assert.equal(allows(path('/api/items'), req({ path: '/api/items' })), true);
    assert.equal(allows(path('/api/items'), req({ path: '/api/items/1' })), false);
    assert.equal(allows(path('/api/*'), req()), true);
    assert.equal(allows(path('*/items'), req()), true);
    assert.equal(allows(path('*limit=10'), req()), false);
    assert.equal(allows(path('/API/items'), req()), false);
    assert.equal(allows(to({ paths: { notValues: ['/admin*'] } }), req({ path: '/admin?x=1' })), false);
    assert.equal(allows(to({ paths: { notValues: ['/admin*'] } }), req()), true);
  });

  it('paths: {*} and {**} templates', () => {
    const path = (...values: string[]): AuthzRule => to({ paths: { values } });
    assert.equal(allows(path('/api/{*}'), req()), true);
    assert.equal(allows(path('/api/{*}'), req({ path: '/api/items/1' })), false);
    assert.equal(allows(path('/api/{*}/{**}'), req({ path: '/api/items/1/2?x' })), true);
    assert.equal(allows(path('/{**}'), req({ path: '/' })), true);
    throwsAt(
      { allow: [policy('a/b', path('/a', '/{**}/x/{*}'))] },
      'allow[0].rules[0].to[0].paths.values[1]',
    );
    throwsAt({ allow: [policy('a/b', path('/{*}.txt'))] }, 'allow[0].rules[0].to[0].paths.values[0]');
  });

  it('request.headers conditions: name case-insensitive, values with wildcards', () => {
    const h = (c: Omit<AuthzCondition, 'key'>, key = 'request.headers[X-Team]'): AuthzRule =>
      when({ key, ...c });
    assert.equal(allows(h({ values: ['payments'] }), req()), true);
    assert.equal(allows(h({ values: ['Payments'] }), req()), false);
    assert.equal(allows(h({ values: ['pay*'] }), req()), true);
    assert.equal(allows(h({ values: ['*'] }), req({ headers: { 'x-team': '' } })), true);
    assert.equal(allows(h({ values: ['*'] }), req({ headers: {} })), false);
    // An absent header satisfies notValues.
    assert.equal(allows(h({ notValues: ['payments'] }), req({ headers: {} })), true);
    assert.equal(allows(h({ notValues: ['payments'] }), req()), false);
    assert.equal(
      allows(h({ values: ['a=1,b=2'] }, 'request.headers[cookie]'), req({ headers: { cookie: 'a=1,b=2' } })),
      true,
    );
    assert.equal(allows(h({ values: ['GET'] }, 'request.headers[:method]'), req()), true);
  });

  it('rejects a malformed header key', () => {
    throwsAt(
      { deny: [policy('a/b', {}, when({ key: 'request.headers[x', values: ['1'] }))] },
      'deny[0].rules[1].when[0].key',
    );
  });

  it('a condition with neither values nor notValues holds', () => {
    assert.equal(allows(when({ key: 'source.ip' }), req()), true);
  });
});

describe('unknown condition keys', () => {
  it('never match, for ALLOW and DENY, HTTP and TCP', () => {
    for (const key of ['connection.sni', 'destination.ip', 'request.auth.claims[iss]', 'nonsense']) {
      const rule = when({ key, values: ['*'] });
      assert.equal(allows(rule, req()), false, key);
      assert.equal(allows(when({ key, notValues: ['x'] }), req()), false, key);
      assert.equal(denies(rule, req()), false, key);
      assert.equal(denies(rule, tcp()), false, key);
    }
  });
});

describe('TCP connections', () => {
  it('an ALLOW rule with HTTP-only fields matches nothing, whatever else it says', () => {
    assert.equal(allows(to({ methods: { values: ['GET'] } }), tcp()), false);
    assert.equal(allows(to({ hosts: { notValues: ['x'] } }), tcp()), false);
    assert.equal(allows(to({ paths: { values: ['*'] } }), tcp()), false);
    assert.equal(allows(when({ key: 'request.headers[x-team]', notValues: ['x'] }), tcp()), false);
    // Even when another operation of the same rule would match on its own.
    assert.equal(allows(to({ ports: { values: ['8080'] } }, { methods: { values: ['GET'] } }), tcp()), false);
  });

  it('an ALLOW rule with TCP fields only still applies', () => {
    const rule: AuthzRule = {
      from: [{ namespaces: { values: ['shop'] }, ipBlocks: { values: ['10.0.0.0/8'] } }],
      to: [{ ports: { values: ['8080'] } }],
      when: [{ key: 'source.principal', values: ['*/sa/web'] }],
    };
    assert.equal(allows(rule, tcp()), true);
    assert.equal(allows(rule, tcp({ destinationPort: 9000 })), false);
    assert.equal(allows(rule, tcp({ principal: undefined })), false);
  });

  it('other rules of the same ALLOW policy still apply', () => {
    const a = compileAuthorization(
      policies({
        allow: [
          policy('shop/mixed', to({ methods: { values: ['GET'] } }), to({ ports: { values: ['8080'] } })),
        ],
      }),
    );
    assert.equal(a.check(tcp()).allowed, true);
    assert.equal(a.check(tcp({ destinationPort: 1 })).reason, 'no-allow-match');
  });

  it('a DENY rule drops its HTTP-only fields and so matches more', () => {
    assert.equal(denies(to({ methods: { values: ['DELETE'] } }), tcp()), true);
    assert.equal(denies(to({ methods: { values: ['DELETE'] } }), req()), false);
    assert.equal(denies(to({ methods: { values: ['DELETE'] }, ports: { values: ['8080'] } }), tcp()), true);
    assert.equal(denies(to({ methods: { values: ['DELETE'] }, ports: { values: ['9000'] } }), tcp()), false);
    assert.equal(
      denies({ from: [{ namespaces: { values: ['other'] } }], to: [{ paths: { values: ['/x'] } }] }, tcp()),
      false,
    );
    const headerRule = {
      from: [{ namespaces: { values: ['shop'] } }],
      when: [{ key: 'request.headers[x-a]', values: ['1'] }],
    };
    assert.equal(denies(headerRule, tcp()), true);
    assert.equal(denies(headerRule, req()), false);
  });

  it('AUDIT rules get the DENY treatment', () => {
    const a = compileAuthorization(
      policies({ audit: [policy('shop/audit', to({ methods: { values: ['POST'] } }))] }),
    );
    assert.equal(a.audit(tcp()), 'shop/audit');
  });
});

describe('configuration errors', () => {
  it('reports a bad CIDR with its path', () => {
    throwsAt(
      {
        allow: [
          policy(
            'a/b',
            {},
            from(
              { principals: { values: ['*'] } },
              { ipBlocks: { values: ['10.0.0.0/8', '1.2.3.4/8', '10.0.0.0/33'] } },
            ),
          ),
        ],
      },
      'allow[0].rules[1].from[1].ipBlocks.values[2]',
    );
    for (const bad of [
      '10.0.0/8',
      'fe80::1%eth0',
      '10.0.0.0/',
      '10.0.0.0/8/8',
      ' 10.0.0.1',
      '2001:db8::/129',
      'x',
    ]) {
      throwsAt(
        { deny: [policy('a/b', from({ ipBlocks: { notValues: [bad] } }))] },
        'deny[0].rules[0].from[0].ipBlocks.notValues[0]',
      );
    }
    throwsAt(
      { audit: [policy('a/b', when({ key: 'remote.ip', values: ['nope'] }))] },
      'audit[0].rules[0].when[0].values[0]',
    );
  });

  it('reports a bad port with its path', () => {
    throwsAt(
      { allow: [policy('a/b', to({ ports: { values: ['80', 'http'] } }))] },
      'allow[0].rules[0].to[0].ports.values[1]',
    );
    throwsAt(
      { allow: [policy('a/b', to({ ports: { values: ['65536'] } }))] },
      'allow[0].rules[0].to[0].ports.values[0]',
    );
    throwsAt(
      { deny: [policy('a/b', when({ key: 'destination.port', notValues: ['-1'] }))] },
      'deny[0].rules[0].when[0].notValues[0]',
    );
  });
});
