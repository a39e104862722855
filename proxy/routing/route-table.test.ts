import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Route, RouteConfiguration, VirtualHost } from '../config/generated/proxy-config.js';
import { ConfigError } from '../config/config-error.js';
import type { RouteRequest } from './route-table.js';
import { compileRouteConfiguration } from './route-table.js';

const request = (over: Partial<RouteRequest> = {}): RouteRequest => ({
  authority: 'svc',
  method: 'GET',
  path: '/',
  scheme: 'http',
  headers: {},
  ...over,
});

const route = (name: string, over: Partial<Route> = {}): Route => ({
  name,
  matches: [],
  clusters: [{ cluster: name, weight: 100 }],
  ...over,
});

const vhost = (name: string, domains: string[], routes: Route[] = [route(name)]): VirtualHost => ({
  name,
  domains,
  routes,
});

/** A table of one virtual host `svc` with the given routes. */
const table = (...routes: Route[]) =>
  compileRouteConfiguration({ name: 'rc', virtualHosts: [vhost('svc', ['svc'], routes)] });

/** The route name selected for a request, or undefined. */
const pick = (rc: RouteConfiguration | ReturnType<typeof table>, over: Partial<RouteRequest>) => {
  const t = 'select' in rc ? rc : compileRouteConfiguration(rc);
  return t.select(request(over))?.route.name;
};

describe('virtual host selection', () => {
  const rc: RouteConfiguration = {
    name: 'rc',
    virtualHosts: [
      vhost('catch-all', ['*']),
      vhost('prefix', ['api.*']),
      vhost('short-suffix', ['*.com']),
      vhost('long-suffix', ['*.example.com']),
      vhost('exact', ['www.example.com', 'www.example.com:8080']),
      vhost('bare', ['reviews']),
    ],
  };
  const t = compileRouteConfiguration(rc);
  const host = (authority: string) => t.select(request({ authority }))?.virtualHost;

  it('prefers exact, then the longest suffix wildcard, then prefix wildcards, then *', () => {
    assert.equal(host('www.example.com'), 'exact');
    assert.equal(host('shop.example.com'), 'long-suffix');
    assert.equal(host('example2.com'), 'short-suffix');
    assert.equal(host('api.example.org'), 'prefix');
    assert.equal(host('api.example.com'), 'long-suffix');
    assert.equal(host('other.org'), 'catch-all');
    assert.equal(t.name, 'rc');
  });

  it('compares the authority case-insensitively', () => {
    assert.equal(host('WWW.Example.COM'), 'exact');
    assert.equal(host('Shop.EXAMPLE.com'), 'long-suffix');
  });

  it('a wildcard never matches the empty string', () => {
    assert.equal(host('.example.com'), 'short-suffix');
    assert.equal(host('api.'), 'catch-all');
  });

  it('tries the authority with its port, then without, before *', () => {
    assert.equal(host('www.example.com:8080'), 'exact');
    assert.equal(host('reviews:9080'), 'bare');
    assert.equal(host('shop.example.com:443'), 'long-suffix');
    assert.equal(host('unknown:9080'), 'catch-all');
  });

  it('keeps an IPv6 literal whole', () => {
    const v6 = compileRouteConfiguration({ name: 'v6', virtualHosts: [vhost('v6', ['[::1]'])] });
    assert.equal(v6.select(request({ authority: '[::1]:8080' }))?.virtualHost, 'v6');
    assert.equal(v6.select(request({ authority: '[::2]' })), undefined);
  });

  it('selects nothing when no host matches and there is no *', () => {
    const t2 = compileRouteConfiguration({ name: 'x', virtualHosts: [vhost('a', ['a'])] });
    assert.equal(t2.select(request({ authority: 'b' })), undefined);
  });

  it('gives a domain listed twice to the first virtual host', () => {
    const t2 = compileRouteConfiguration({
      name: 'x',
      virtualHosts: [vhost('first', ['a', '*.b']), vhost('second', ['a', '*.b'])],
    });
    assert.equal(t2.select(request({ authority: 'a' }))?.virtualHost, 'first');
    assert.equal(t2.select(request({ authority: 'x.b' }))?.virtualHost, 'first');
  });
});

describe('route matching', () => {
  it('tries routes in order; an empty match list always matches, with matchIndex -1', () => {
    const t = table(route('api', { matches: [{ uri: { prefix: '/api' } }] }), route('default'));
    assert.deepEqual(
      [t.select(request({ path: '/api/x' }))?.matchIndex, t.select(request({ path: '/web' }))?.matchIndex],
      [0, -1],
    );
    assert.equal(pick(t, { path: '/web' }), 'default');
  });

  it('reports the index of the first match that held', () => {
    const t = table(route('r', { matches: [{ uri: { exact: '/a' } }, { uri: { exact: '/b' } }] }));
    assert.equal(t.select(request({ path: '/b' }))?.matchIndex, 1);
    assert.equal(t.select(request({ path: '/c' })), undefined);
  });

  it('matches the uri without the query string', () => {
    const t = table(
      route('exact', { matches: [{ uri: { exact: '/a' } }] }),
      route('regex', { matches: [{ uri: { regex: '/v[0-9]' } }] }),
    );
    assert.equal(pick(t, { path: '/a?x=1' }), 'exact');
    assert.equal(pick(t, { path: '/v1?x=1' }), 'regex');
    assert.equal(pick(t, { path: '/v1/more' }), undefined);
  });

  it('honours ignoreCase on uri matches', () => {
    const t = table(route('r', { matches: [{ uri: { prefix: '/API', ignoreCase: true } }] }));
    assert.equal(pick(t, { path: '/api/users' }), 'r');
    assert.equal(pick(t, { path: '/apx' }), undefined);
  });

  it('requires every field of a match: method, scheme and authority', () => {
    const t = table(
      route('r', {
        matches: [{ method: { exact: 'POST' }, scheme: { exact: 'https' }, authority: { prefix: 'svc' } }],
      }),
    );
    assert.equal(pick(t, { method: 'POST', scheme: 'https' }), 'r');
    assert.equal(pick(t, { method: 'GET', scheme: 'https' }), undefined);
    assert.equal(pick(t, { method: 'POST', scheme: 'http' }), undefined);
    assert.equal(
      compileRouteConfiguration({
        name: 'x',
        virtualHosts: [vhost('any', ['*'], [route('r', { matches: [{ authority: { exact: 'svc' } }] })])],
      }).select(request({ authority: 'other' })),
      undefined,
    );
  });

  it('matches headers by presence and value; multiple values are joined with commas', () => {
    const t = table(
      route('value', { matches: [{ headers: [{ name: 'x-user', match: { exact: 'jason' } }] }] }),
      route('joined', { matches: [{ headers: [{ name: 'x-multi', match: { exact: 'a,b' } }] }] }),
      route('present', { matches: [{ headers: [{ name: 'X-Debug' }] }] }),
    );
    assert.equal(pick(t, { headers: { 'x-user': 'jason' } }), 'value');
    assert.equal(pick(t, { headers: { 'x-user': 'json' } }), undefined);
    assert.equal(pick(t, { headers: { 'x-multi': ['a', 'b'] } }), 'joined');
    assert.equal(pick(t, { headers: { 'x-debug': '' } }), 'present');
    assert.equal(pick(t, {}), undefined);
  });

  it('withoutHeaders: holds when the header is absent, or does not match the value given', () => {
    const t = table(
      route('no-canary', { matches: [{ headers: [{ name: 'x-canary', present: false }] }] }),
      route('not-beta', {
        matches: [{ headers: [{ name: 'x-env', match: { exact: 'beta' }, present: false }] }],
      }),
    );
    assert.equal(pick(t, { headers: { 'x-env': 'beta' } }), 'no-canary');
    assert.equal(pick(t, { headers: { 'x-canary': '1' } }), 'not-beta');
    assert.equal(pick(t, { headers: { 'x-canary': '1', 'x-env': 'prod' } }), 'not-beta');
    assert.equal(pick(t, { headers: { 'x-canary': '1', 'x-env': 'beta' } }), undefined);
  });

  it('matches query parameters, decoded, first value winning', () => {
    const t = table(
      route('exact', { matches: [{ queryParams: [{ name: 'v', match: { exact: 'a b' } }] }] }),
      route('prefix', { matches: [{ queryParams: [{ name: 'v', match: { prefix: 'pre' } }] }] }),
      route('regex', { matches: [{ queryParams: [{ name: 'id', match: { regex: '[0-9]+' } }] }] }),
      route('present', { matches: [{ queryParams: [{ name: 'flag' }] }] }),
      route('absent', { matches: [{ queryParams: [{ name: 'off', present: false }] }] }),
    );
    assert.equal(pick(t, { path: '/?v=a%20b' }), 'exact');
    assert.equal(pick(t, { path: '/?x=1&v=prefix' }), 'prefix');
    assert.equal(pick(t, { path: '/?v=no&v=prefix&id=12' }), 'regex');
    assert.equal(pick(t, { path: '/?id=12x&flag' }), 'present');
    assert.equal(pick(t, { path: '/?bad=%zz' }), 'absent');
    assert.equal(pick(t, { path: '/?off=1' }), undefined);
    assert.equal(pick(t, { path: '/' }), 'absent');
  });

  it('rejects a bad regex with a ConfigError naming its path', () => {
    const rc: RouteConfiguration = {
      name: 'rc',
      virtualHosts: [
        vhost('a', ['a']),
        vhost('b', ['b'], [route('0'), route('1'), route('2', { matches: [{}, { uri: { regex: '(' } }] })]),
      ],
    };
    assert.throws(
      () => compileRouteConfiguration(rc),
      (err: unknown) =>
        err instanceof ConfigError && err.path === 'virtualHosts[1].routes[2].matches[1].uri.regex',
    );
    const header: RouteConfiguration = {
      name: 'rc',
      virtualHosts: [
        vhost('a', ['a'], [route('0', { matches: [{ headers: [{ name: 'h', match: { regex: '[' } }] }] })]),
      ],
    };
    assert.throws(
      () => compileRouteConfiguration(header),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.path === 'virtualHosts[0].routes[0].matches[0].headers[0].match.regex',
    );
  });
});

describe('pickCluster', () => {
  const only = (over: Partial<Route>) => table(route('r', over)).select(request())!.route;

  it('splits by weight, never picking a zero-weight cluster', () => {
    const r = only({
      clusters: [
        { cluster: 'a', weight: 80 },
        { cluster: 'off', weight: 0 },
        { cluster: 'b', weight: 20 },
      ],
    });
    const counts = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const c = r.pickCluster(i / 1000)!.cluster;
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { a: 800, b: 200 });
    assert.equal(r.pickCluster(0.7999)?.cluster, 'a');
    assert.equal(r.pickCluster(0.8)?.cluster, 'b');
    assert.equal(r.pickCluster(1)?.cluster, 'b');
  });

  it('picks nothing when there are no clusters or no weight', () => {
    assert.equal(only({ clusters: undefined, directResponse: { status: 200 } }).pickCluster(0.5), undefined);
    assert.equal(only({ clusters: [{ cluster: 'a', weight: 0 }] }).pickCluster(0.5), undefined);
  });
});

describe('rewrite', () => {
  const selected = (over: Partial<Route>, path: string) => {
    const s = table(route('r', over)).select(request({ path }))!;
    return s.route.rewritePath(path, s.matchIndex);
  };

  it('replaces the matched prefix when a uri prefix match held, keeping the query', () => {
    const over = { matches: [{ uri: { prefix: '/api/v1' } }], rewrite: { uri: '/v2' } };
    assert.equal(selected(over, '/api/v1/users?page=2'), '/v2/users?page=2');
    assert.equal(selected(over, '/api/v1'), '/v2');
  });

  it('replaces the prefix of the match that held, not of another', () => {
    const over = {
      matches: [{ uri: { exact: '/old' } }, { uri: { prefix: '/legacy' } }],
      rewrite: { uri: '/new' },
    };
    assert.equal(selected(over, '/old?q=1'), '/new?q=1');
    assert.equal(selected(over, '/legacy/x?q=1'), '/new/x?q=1');
  });

  it('replaces the whole path for exact, regex and empty match lists', () => {
    assert.equal(
      selected({ matches: [{ uri: { regex: '/a.*' } }], rewrite: { uri: '/b' } }, '/a/c?x=1'),
      '/b?x=1',
    );
    assert.equal(selected({ rewrite: { uri: '/b' } }, '/anything?x=1'), '/b?x=1');
  });

  it('substitutes RE2 group references with uriRegex, on the path only', () => {
    const over = { rewrite: { uriRegex: { match: '^/service/([^/]+)(/.*)$', rewrite: '\\2/instance/\\1' } } };
    assert.equal(selected(over, '/service/foo/v1/api?x=/service/a/b'), '/v1/api/instance/foo?x=/service/a/b');
    const all = { rewrite: { uriRegex: { match: 'one', rewrite: 'two$' } } };
    assert.equal(selected(all, '/one/x/one'), '/two$/x/two$');
    const digit = { rewrite: { uriRegex: { match: '/(a)', rewrite: '/\\10\\0' } } };
    assert.equal(selected(digit, '/a'), '/a0/a');
  });

  it('leaves the path alone without a uri rewrite, and rewrites the authority', () => {
    const s = table(route('r', { rewrite: { authority: 'upstream.local' } })).select(request())!;
    assert.equal(s.route.rewritePath('/p?q', s.matchIndex), '/p?q');
    assert.equal(s.route.rewriteAuthority('svc'), 'upstream.local');
    assert.equal(table(route('r')).select(request())!.route.rewriteAuthority('svc'), 'svc');
  });

  it('rejects bad regex rewrites, naming the field', () => {
    const at = (rewrite: Route['rewrite']) => {
      try {
        table(route('r', { rewrite }));
      } catch (err) {
        return err instanceof ConfigError ? err.path : 'not a ConfigError';
      }
      return 'no error';
    };
    assert.equal(
      at({ uriRegex: { match: '(', rewrite: '' } }),
      'virtualHosts[0].routes[0].rewrite.uriRegex.match',
    );
    assert.equal(
      at({ uriRegex: { match: '(a)', rewrite: '\\2' } }),
      'virtualHosts[0].routes[0].rewrite.uriRegex.rewrite',
    );
    assert.equal(
      at({ uri: '/x', uriRegex: { match: 'a', rewrite: 'b' } }),
      'virtualHosts[0].routes[0].rewrite.uriRegex',
    );
  });
});

describe('redirect', () => {
  const location = (
    redirect: Route['redirect'],
    over: Partial<RouteRequest> = {},
    matches: Route['matches'] = [],
  ) => {
    const t = table(route('r', { clusters: undefined, redirect, matches }));
    const req = request({ path: '/old/page?x=1', ...over });
    const s = t.select(req)!;
    return s.route.redirectLocation(req, s.matchIndex);
  };

  it('keeps path and query, relative when scheme, authority and port stay', () => {
    assert.equal(location({}), '/old/page?x=1');
    assert.equal(location({ uri: '/new' }), '/new?x=1');
    assert.equal(location({ uri: '/new?y=2' }), '/new?y=2');
  });

  it('replaces only the matched prefix after a prefix match', () => {
    assert.equal(location({ uri: '/v2' }, {}, [{ uri: { prefix: '/old' } }]), '/v2/page?x=1');
  });

  it('builds an absolute URL when scheme, authority or port is given', () => {
    assert.equal(location({ scheme: 'https' }), 'https://svc/old/page?x=1');
    assert.equal(location({ authority: 'new.example.com' }), 'http://new.example.com/old/page?x=1');
    assert.equal(
      location({ port: 8443, scheme: 'https' }, { authority: 'svc:8080' }),
      'https://svc:8443/old/page?x=1',
    );
    assert.equal(
      location({ port: 443, scheme: 'https' }, { authority: 'svc:80' }),
      'https://svc/old/page?x=1',
    );
    assert.equal(
      location({ authority: 'b.example', uri: '/n' }, { scheme: 'https' }),
      'https://b.example/n?x=1',
    );
  });

  it('drops the default port of the old scheme when the scheme changes', () => {
    assert.equal(location({ scheme: 'https' }, { authority: 'svc:80' }), 'https://svc/old/page?x=1');
    assert.equal(location({ scheme: 'https' }, { authority: 'svc:8080' }), 'https://svc:8080/old/page?x=1');
  });

  it('exposes the redirect code, 301 by default', () => {
    const code = (redirect: Route['redirect']) =>
      table(route('r', { clusters: undefined, redirect })).select(request())!.route.redirectCode;
    assert.equal(code({}), 301);
    assert.equal(code({ code: 308 }), 308);
  });
});

describe('requireTls ALL (Envoy require_tls, Istio httpsRedirect)', () => {
  const t = compileRouteConfiguration({
    name: 'rc',
    virtualHosts: [
      { ...vhost('secure', ['secure.example.com', 'secure.example.com:8080']), requireTls: 'ALL' },
      { ...vhost('v6', ['[::1]:8080']), requireTls: 'ALL' },
      { ...vhost('open', ['open.example.com']), requireTls: 'NONE' },
    ],
  });
  const answer = (over: Partial<RouteRequest>) => {
    const req = request({ path: '/a/b?q=1&r=2', ...over });
    const s = t.select(req);
    return (
      s && {
        route: s.route.name,
        code: s.route.redirectCode,
        location: s.route.redirectLocation(req, s.matchIndex),
      }
    );
  };

  it('answers a plaintext request with 301 to https, the host without its port, path and query kept', () => {
    const redirect = {
      route: 'secure/require-tls',
      code: 301,
      location: 'https://secure.example.com/a/b?q=1&r=2',
    };
    assert.deepEqual(answer({ authority: 'secure.example.com:8080' }), redirect);
    assert.deepEqual(answer({ authority: 'secure.example.com' }), redirect);
    assert.equal(answer({ authority: '[::1]:8080' })?.location, 'https://[::1]/a/b?q=1&r=2');
  });

  it('redirects before any route is matched, and routes a request that came over TLS', () => {
    assert.equal(answer({ authority: 'secure.example.com', scheme: 'https' })?.route, 'secure');
    assert.equal(answer({ authority: 'open.example.com' })?.route, 'open');
  });

  it('leaves a request for another virtual host alone', () => {
    assert.equal(answer({ authority: 'elsewhere.example.com' }), undefined);
  });
});

describe('compiled route', () => {
  it('exposes its name, config and compiled CORS policy', () => {
    const config = route('ns/vs/0', { cors: { allowOrigins: [{ exact: 'https://a' }] } });
    const r = table(config).select(request())!.route;
    assert.equal(r.name, 'ns/vs/0');
    assert.equal(r.config, config);
    assert.equal(r.cors?.responseHeaders('https://a')?.['access-control-allow-origin'], 'https://a');
    assert.equal(table(route('plain')).select(request())!.route.cors, undefined);
  });

  it('names a bad CORS origin regex by its path', () => {
    assert.throws(
      () => table(route('r', { cors: { allowOrigins: [{ regex: '(' }] } })),
      (err: unknown) =>
        err instanceof ConfigError && err.path === 'virtualHosts[0].routes[0].cors.allowOrigins[0].regex',
    );
  });
});
