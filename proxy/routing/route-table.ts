import type { IncomingHttpHeaders } from 'node:http';
import type {
  KeyMatcher,
  Route,
  RouteConfiguration,
  RouteMatch,
  StringMatcher,
  VirtualHost,
  WeightedCluster,
} from '../config/generated/proxy-config.js';
import { ConfigError } from '../config/config-error.js';
import type { CompiledCors } from './cors.js';
import { compileCors } from './cors.js';
import type { StringPredicate } from './string-match.js';
import { compileRegex, compileStringMatcher } from './string-match.js';

export interface RouteRequest {
  authority: string;
  method: string;
  /** The request target in origin form, with its query string. */
  path: string;
  scheme: 'http' | 'https';
  headers: IncomingHttpHeaders;
}

export interface RouteSelection {
  virtualHost: string;
  route: CompiledRoute;
  /** index of the match that held, -1 for an empty match list */
  matchIndex: number;
}

export interface RouteTable {
  readonly name: string;
  select(req: RouteRequest): RouteSelection | undefined;
}

export interface CompiledRoute {
  readonly name: string;
  readonly config: Route;
  /** The redirect's status code; 301 unless the route sets one. */
  readonly redirectCode: number;
  /** The route's CORS policy, compiled; undefined when it has none. */
  readonly cors: CompiledCors | undefined;
  /** Weighted choice over `config.clusters`; `random01` in [0, 1). Undefined when no cluster has weight. */
  pickCluster(random01: number): WeightedCluster | undefined;
  /** The upstream path (with query) after `rewrite.uri` or `rewrite.uriRegex`. */
  rewritePath(path: string, matchIndex: number): string;
  rewriteAuthority(authority: string): string;
  /** The Location of the route's redirect: absolute when it changes scheme, authority or port. */
  redirectLocation(req: RouteRequest, matchIndex: number): string;
}

/** firstMatch's answer when no match holds; -1 already means "an empty match list". */
const NO_MATCH = -2;

const DEFAULT_PORT: Readonly<Record<string, number>> = { http: 80, https: 443 };

/** The index of the `:` before the port of a host, or -1 when it has none (`[::1]` has none). */
function portIndex(host: string): number {
  const colon = host.lastIndexOf(':');
  return colon > host.lastIndexOf(']') ? colon : -1;
}

function stripPort(host: string): string {
  const colon = portIndex(host);
  return colon < 0 ? host : host.slice(0, colon);
}

/** What a request offers the matchers, derived once per select. */
class RequestView {
  /** The path without its query string. */
  readonly path: string;
  private readonly query: string;
  private params: Map<string, string> | undefined;

  constructor(readonly req: RouteRequest) {
    const q = req.path.indexOf('?');
    this.path = q < 0 ? req.path : req.path.slice(0, q);
    this.query = q < 0 ? '' : req.path.slice(q + 1);
  }

  header(name: string): string | undefined {
    const value = this.req.headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  }

  /** Parsed on first use, so requests whose routes match no query parameter never pay for it. */
  queryParam(name: string): string | undefined {
    this.params ??= parseQuery(this.query);
    return this.params.get(name);
  }
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // Malformed escapes are matched as sent, as Envoy does.
    return s;
  }
}

/** Query parameters, percent-decoded; the first value of a repeated name wins, as in Envoy. */
function parseQuery(query: string): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq < 0 ? pair : pair.slice(0, eq));
    if (!params.has(name)) params.set(name, eq < 0 ? '' : decode(pair.slice(eq + 1)));
  }
  return params;
}

interface CompiledKeyMatch {
  readonly name: string;
  readonly match: StringPredicate | undefined;
  readonly present: boolean;
}

interface CompiledMatch {
  readonly uri: StringPredicate | undefined;
  readonly method: StringPredicate | undefined;
  readonly scheme: StringPredicate | undefined;
  readonly authority: StringPredicate | undefined;
  readonly headers: readonly CompiledKeyMatch[];
  readonly queryParams: readonly CompiledKeyMatch[];
}

/**
 * `present: false` is Istio's withoutHeaders, which Envoy runs as an inverted matcher: it holds
 * when the key is absent or, if a value matcher is given, when the value does not match.
 */
function keyHolds(k: CompiledKeyMatch, value: string | undefined): boolean {
  if (value === undefined) return !k.present;
  if (!k.present) return k.match !== undefined && !k.match(value);
  return k.match === undefined || k.match(value);
}

function headersHold(keys: readonly CompiledKeyMatch[], view: RequestView): boolean {
  for (const k of keys) {
    if (!keyHolds(k, view.header(k.name))) return false;
  }
  return true;
}

function queryHolds(keys: readonly CompiledKeyMatch[], view: RequestView): boolean {
  for (const k of keys) {
    if (!keyHolds(k, view.queryParam(k.name))) return false;
  }
  return true;
}

function matchHolds(m: CompiledMatch, view: RequestView): boolean {
  const req = view.req;
  if (m.uri && !m.uri(view.path)) return false;
  if (m.method && !m.method(req.method)) return false;
  if (m.scheme && !m.scheme(req.scheme)) return false;
  if (m.authority && !m.authority(req.authority)) return false;
  return headersHold(m.headers, view) && queryHolds(m.queryParams, view);
}

const optionalMatcher = (m: StringMatcher | undefined, path: string): StringPredicate | undefined =>
  m && compileStringMatcher(m, path);

function compileKeyMatchers(
  keys: readonly KeyMatcher[] | undefined,
  path: string,
  lowercase: boolean,
): CompiledKeyMatch[] {
  return (keys ?? []).map((k, i) => ({
    name: lowercase ? k.name.toLowerCase() : k.name,
    match: optionalMatcher(k.match, `${path}[${i}].match`),
    present: k.present !== false,
  }));
}

function compileMatch(m: RouteMatch, path: string): CompiledMatch {
  return {
    uri: optionalMatcher(m.uri, `${path}.uri`),
    method: optionalMatcher(m.method, `${path}.method`),
    scheme: optionalMatcher(m.scheme, `${path}.scheme`),
    authority: optionalMatcher(m.authority, `${path}.authority`),
    // Node lowercases incoming header names; query parameter names are case-sensitive.
    headers: compileKeyMatchers(m.headers, `${path}.headers`, true),
    queryParams: compileKeyMatchers(m.queryParams, `${path}.queryParams`, false),
  };
}

/** Replaces a path's first `prefixLength` characters, or all of it for -1, keeping the query. */
function replacePath(path: string, replacement: string, prefixLength: number): string {
  const q = path.indexOf('?');
  const end = q < 0 ? path.length : q;
  const rest = prefixLength < 0 ? '' : path.slice(prefixLength, end);
  return q < 0 ? replacement + rest : replacement + rest + path.slice(q);
}

/** RE2's `\1` group references as JS `$01` (two digits, so a following digit stays literal); `$` escaped. */
function jsReplacement(rewrite: string, groups: number, path: string): string {
  let out = '';
  for (let i = 0; i < rewrite.length; i++) {
    const c = rewrite[i]!;
    if (c === '$') out += '$$';
    else if (c !== '\\') out += c;
    else {
      const next = rewrite[++i] ?? '';
      if (next === '\\') out += '\\';
      else if (next === '0') out += '$&';
      else if (/^[1-9]$/.test(next) && Number(next) <= groups) out += `$0${next}`;
      else throw new ConfigError(path, `invalid group reference \\${next}: the regex has ${groups} group(s)`);
    }
  }
  return out;
}

interface RegexRewrite {
  readonly re: RegExp;
  readonly replacement: string;
}

function compileRegexRewrite(rw: NonNullable<Route['rewrite']>, path: string): RegexRewrite | undefined {
  const spec = rw.uriRegex;
  if (!spec) return undefined;
  if (rw.uri !== undefined) throw new ConfigError(`${path}.uriRegex`, 'set only one of uri and uriRegex');
  // Global, as Envoy's regex_rewrite substitutes every match.
  const re = compileRegex(spec.match, `${path}.uriRegex.match`, { global: true });
  // An empty alternative matches '', so the exec result has one slot per capture group plus one.
  const groups = new RegExp(`${re.source}|`, re.flags.replace('g', '')).exec('')!.length - 1;
  return { re, replacement: jsReplacement(spec.rewrite, groups, `${path}.uriRegex.rewrite`) };
}

class RouteEntry implements CompiledRoute {
  readonly name: string;
  readonly redirectCode: number;
  readonly cors: CompiledCors | undefined;
  private readonly matches: readonly CompiledMatch[];
  /** Per match: the length of its uri prefix, which rewrite.uri and redirect.uri replace; -1 if not a prefix match. */
  private readonly prefixLengths: readonly number[];
  private readonly clusters: readonly WeightedCluster[];
  private readonly cumulative: readonly number[];
  private readonly totalWeight: number;
  private readonly lastWeighted: WeightedCluster | undefined;
  private readonly regexRewrite: RegexRewrite | undefined;
  private readonly absoluteRedirect: boolean;

  constructor(
    readonly config: Route,
    path: string,
  ) {
    this.name = config.name;
    this.matches = config.matches.map((m, i) => compileMatch(m, `${path}.matches[${i}]`));
    this.prefixLengths = config.matches.map((m) => m.uri?.prefix?.length ?? -1);
    this.redirectCode = config.redirect?.code ?? 301;
    this.cors = config.cors && compileCors(config.cors, `${path}.cors`);
    this.regexRewrite = config.rewrite && compileRegexRewrite(config.rewrite, `${path}.rewrite`);
    const r = config.redirect;
    this.absoluteRedirect =
      !!r && (r.scheme !== undefined || r.authority !== undefined || r.port !== undefined);

    this.clusters = config.clusters ?? [];
    let total = 0;
    this.cumulative = this.clusters.map((c) => (total += Math.max(0, c.weight)));
    this.totalWeight = total;
    // Where a random01 of 1 (outside the contract, but cheap to honour) lands.
    this.lastWeighted = this.clusters.findLast((c) => c.weight > 0);
  }

  /** The index of the first match that holds, -1 for an empty match list, NO_MATCH otherwise. */
  firstMatch(view: RequestView): number {
    const matches = this.matches;
    if (matches.length === 0) return -1;
    for (let i = 0; i < matches.length; i++) {
      if (matchHolds(matches[i]!, view)) return i;
    }
    return NO_MATCH;
  }

  pickCluster(random01: number): WeightedCluster | undefined {
    if (this.totalWeight <= 0) return undefined;
    const target = random01 * this.totalWeight;
    const cumulative = this.cumulative;
    // Zero-weight entries add nothing to the running sum, so `target <` never stops on them.
    for (let i = 0; i < cumulative.length; i++) {
      if (target < cumulative[i]!) return this.clusters[i];
    }
    return this.lastWeighted;
  }

  rewritePath(path: string, matchIndex: number): string {
    const rx = this.regexRewrite;
    if (rx) {
      const q = path.indexOf('?');
      if (q < 0) return path.replace(rx.re, rx.replacement);
      return path.slice(0, q).replace(rx.re, rx.replacement) + path.slice(q);
    }
    const uri = this.config.rewrite?.uri;
    return uri === undefined ? path : replacePath(path, uri, this.prefixLengths[matchIndex] ?? -1);
  }

  rewriteAuthority(authority: string): string {
    return this.config.rewrite?.authority ?? authority;
  }

  redirectLocation(req: RouteRequest, matchIndex: number): string {
    const r = this.config.redirect;
    const path = r?.uri === undefined ? req.path : this.redirectPath(req.path, r.uri, matchIndex);
    if (!r || !this.absoluteRedirect) return path;
    const scheme = r.scheme ?? req.scheme;
    return `${scheme}://${redirectAuthority(r, req, scheme)}${path}`;
  }

  private redirectPath(path: string, uri: string, matchIndex: number): string {
    const prefixLength = this.prefixLengths[matchIndex] ?? -1;
    // Envoy's path_redirect: a query in the new path replaces the request's.
    if (prefixLength < 0 && uri.includes('?')) return uri;
    return replacePath(path, uri, prefixLength);
  }
}

function redirectAuthority(r: NonNullable<Route['redirect']>, req: RouteRequest, scheme: string): string {
  const host = r.authority ?? req.authority;
  if (r.port !== undefined) {
    const bare = stripPort(host);
    return r.port === DEFAULT_PORT[scheme] ? bare : `${bare}:${r.port}`;
  }
  // http://a:80 redirected to https must not become https://a:80.
  const requestDefault = DEFAULT_PORT[req.scheme];
  if (scheme !== req.scheme && host.endsWith(`:${requestDefault}`)) {
    return stripPort(host);
  }
  return host;
}

interface CompiledVirtualHost {
  readonly name: string;
  readonly routes: readonly RouteEntry[];
  /** requireTls ALL: the route that answers a plaintext request (Envoy's SSL redirect route). */
  readonly tlsRedirect: RouteEntry | undefined;
}

interface Wildcard {
  /** The domain without its `*`, lowercase: `.example.com` or `api.`. */
  readonly fixed: string;
  readonly host: CompiledVirtualHost;
}

const byLengthDescending = (a: Wildcard, b: Wildcard): number => b.fixed.length - a.fixed.length;

class Table implements RouteTable {
  readonly name: string;
  private readonly exact = new Map<string, CompiledVirtualHost>();
  private readonly suffixes: Wildcard[] = [];
  private readonly prefixes: Wildcard[] = [];
  private readonly catchAll: CompiledVirtualHost | undefined;

  constructor(rc: RouteConfiguration) {
    this.name = rc.name;
    let catchAll: CompiledVirtualHost | undefined;
    rc.virtualHosts.forEach((vh, i) => {
      const host = compileVirtualHost(vh, `virtualHosts[${i}]`);
      for (const domain of vh.domains) {
        if (domain === '*') catchAll ??= host;
        else this.addDomain(domain.toLowerCase(), host);
      }
    });
    this.catchAll = catchAll;
    // Envoy: the longest wildcard wins; sort is stable, so among equals the first configured does.
    this.suffixes.sort(byLengthDescending);
    this.prefixes.sort(byLengthDescending);
  }

  /** Envoy rejects a domain listed twice; here the first virtual host to list it keeps it. */
  private addDomain(domain: string, host: CompiledVirtualHost): void {
    if (domain.startsWith('*')) this.suffixes.push({ fixed: domain.slice(1), host });
    else if (domain.endsWith('*')) this.prefixes.push({ fixed: domain.slice(0, -1), host });
    else if (!this.exact.has(domain)) this.exact.set(domain, host);
  }

  /** Exact, then the longest suffix wildcard, then the longest prefix wildcard; `*` never matches empty. */
  private lookup(host: string): CompiledVirtualHost | undefined {
    const exact = this.exact.get(host);
    if (exact) return exact;
    for (const w of this.suffixes) {
      if (host.length > w.fixed.length && host.endsWith(w.fixed)) return w.host;
    }
    for (const w of this.prefixes) {
      if (host.length > w.fixed.length && host.startsWith(w.fixed)) return w.host;
    }
    return undefined;
  }

  /**
   * The authority as sent first, then without its port, and only then `*`: a request for
   * `reviews:8080` reaches the `reviews` host rather than a catch-all listed beside it.
   */
  private virtualHost(authority: string): CompiledVirtualHost | undefined {
    const host = authority.toLowerCase();
    const found = this.lookup(host);
    if (found) return found;
    const colon = portIndex(host);
    return (colon >= 0 ? this.lookup(host.slice(0, colon)) : undefined) ?? this.catchAll;
  }

  select(req: RouteRequest): RouteSelection | undefined {
    const vh = this.virtualHost(req.authority);
    if (!vh) return undefined;
    // Envoy checks require_tls before any route: a plaintext request never reaches them.
    if (vh.tlsRedirect && req.scheme !== 'https')
      return { virtualHost: vh.name, route: vh.tlsRedirect, matchIndex: -1 };
    const view = new RequestView(req);
    for (const route of vh.routes) {
      const matchIndex = route.firstMatch(view);
      if (matchIndex !== NO_MATCH) return { virtualHost: vh.name, route, matchIndex };
    }
    return undefined;
  }
}

/**
 * requireTls ALL as a redirect route: https, the host without its port (the plaintext port is not
 * the HTTPS one, and 443 is https's default), the path and query unchanged, 301.
 */
const tlsRedirectRoute = (vh: VirtualHost, path: string): RouteEntry =>
  new RouteEntry(
    { name: `${vh.name}/require-tls`, matches: [], redirect: { scheme: 'https', port: 443, code: 301 } },
    `${path}.requireTls`,
  );

function compileVirtualHost(vh: VirtualHost, path: string): CompiledVirtualHost {
  return {
    name: vh.name,
    routes: vh.routes.map((r, i) => new RouteEntry(r, `${path}.routes[${i}]`)),
    tlsRedirect: vh.requireTls === 'ALL' ? tlsRedirectRoute(vh, path) : undefined,
  };
}

/**
 * Compiles a RouteConfiguration into a table that selects a virtual host and route per request,
 * as Envoy does. Throws ConfigError, with the field's path relative to the RouteConfiguration,
 * for what cannot be executed (a bad regex, an ambiguous matcher, a bad rewrite reference).
 */
export function compileRouteConfiguration(rc: RouteConfiguration): RouteTable {
  return new Table(rc);
}
