import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../config/config-error.js';
import type {
  AuthorizationPolicies,
  AuthzCondition,
  AuthzOperation,
  AuthzPolicy,
  AuthzRule,
  AuthzSource,
  ValueSet,
} from '../config/generated/proxy-config.js';

/**
 * Istio AuthorizationPolicy evaluation (security.istio.io/v1), compiled once per configuration into
 * closures so that `check` neither parses the policy nor allocates (decisions are shared frozen objects).
 *
 * Istio behaviours followed here, which are easy to get wrong:
 * - An empty list (`values: []`, `from: []`, ...) is the same as an absent one: protobuf cannot tell them apart.
 * - principals / namespaces / source.principal / source.namespace are mTLS-only. A plaintext request has no
 *   principal, so it never matches `values` but does satisfy `notValues` (ISTIO-SECURITY-2021-004): a
 *   plaintext request passes `notNamespaces: [foo]`, and DENY `notPrincipals: ["*"]` rejects plaintext.
 *   The same holds for any absent attribute (missing header, host, method or path).
 * - Principals are matched in Istio form (`<td>/ns/<ns>/sa/<sa>`) against the SPIFFE ID without `spiffe://`.
 *   Namespaces come from the principal's `/ns/<ns>/` segment; Istio turns every `*` in a namespace into a
 *   wildcard, so inner wildcards work there (elsewhere only `*`, `prefix*` and `*suffix`).
 * - Hosts compare case-insensitively against the whole authority: `example.com` does not match
 *   `example.com:8080` (write `example.com:*`). Methods and header values are case-sensitive.
 * - Paths match without the query string; `{*}` / `{**}` make a path an Envoy URI template.
 * - TCP: a rule of an ALLOW policy that uses an HTTP-only field (hosts, methods, paths, request.headers)
 *   matches nothing; in DENY and AUDIT policies those fields are dropped, which makes the rule broader.
 * - requestPrincipals (JWT) are never present, as Weft has no request authentication: `requestPrincipals`
 *   never matches (an ALLOW on them allows nothing) and `notRequestPrincipals` always holds.
 * - A `when` key Weft does not support (connection.sni, destination.ip, request.auth.*, ...) never holds,
 *   so its rule never matches: Istio rejects such rules too, and this keeps an ALLOW from widening.
 */

export interface AuthzRequest {
  /** peer SPIFFE ID from the mTLS certificate, e.g. spiffe://cluster.local/ns/a/sa/b; undefined for plaintext */
  principal: string | undefined;
  /** IPv4 or IPv6 (may be ::ffff:1.2.3.4) */
  sourceIp: string;
  destinationPort: number;
  /** false for a TCP connection: no host/method/path/headers */
  http: boolean;
  host?: string;
  method?: string;
  /** may include ?query; matched without it */
  path?: string;
  headers?: IncomingHttpHeaders;
}

export interface AuthzDecision {
  allowed: boolean;
  /** deciding policy '<ns>/<name>' */
  policy?: string;
  reason: 'denied' | 'no-allow-match' | 'allowed' | 'no-policy';
}

export interface Authorizer {
  /** The returned decision is shared and frozen: do not mutate it. */
  check(req: AuthzRequest): AuthzDecision;
  /** No ALLOW or DENY policy: every request is allowed with reason 'no-policy'. */
  readonly empty: boolean;
}

/** What `compileAuthorization` returns: an Authorizer that can also tell which AUDIT policy applies. */
export interface AuditingAuthorizer extends Authorizer {
  /** The first AUDIT policy matching the request, for the access log; never affects `check`. */
  audit(req: AuthzRequest): string | undefined;
}

type Pred = (req: AuthzRequest) => boolean;
/** Compiles a non-empty list into "the attribute is present and matches one of the values". */
type ListCompiler = (values: readonly string[], path: string) => Pred;
/** A compiled source / operation field or condition; `httpOnly` ones get Istio's TCP treatment. */
interface Field {
  readonly test: Pred;
  readonly httpOnly: boolean;
}
interface CompiledRule {
  readonly from: readonly (readonly Field[])[] | undefined;
  readonly to: readonly (readonly Field[])[] | undefined;
  readonly when: readonly Field[];
}
interface CompiledPolicy {
  readonly name: string;
  readonly http: Pred;
  readonly tcp: Pred;
  readonly decision: AuthzDecision;
}
type Action = 'allow' | 'deny' | 'audit';

const ALWAYS: Pred = () => true;
const NEVER: Pred = () => false;
const NO_POLICY: AuthzDecision = Object.freeze({ allowed: true, reason: 'no-policy' });
const NO_ALLOW_MATCH: AuthzDecision = Object.freeze({ allowed: false, reason: 'no-allow-match' });
const SPIFFE = 'spiffe://';

// ---------------------------------------------------------------------------------------------------
// String matching over a region of the request string, so no substring is ever allocated.

type StrMatcher =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact' | 'prefix' | 'suffix'; readonly v: string; readonly ci: boolean }
  /** Sticky regex tried at the region start; it checks the region's end itself (by lookahead). */
  | { readonly kind: 'sticky'; readonly re: RegExp };

const asciiLower = (s: string): string => s.replace(/[A-Z]+/g, (c) => c.toLowerCase());
const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Istio's StringMatcher: `*` is presence, a leading `*` a suffix match, a trailing `*` a prefix match. */
function strMatcher(raw: string, ci: boolean): StrMatcher {
  if (raw === '*') return { kind: 'any' };
  const v = ci ? asciiLower(raw) : raw;
  if (v.startsWith('*')) return { kind: 'suffix', v: v.slice(1), ci };
  if (v.endsWith('*')) return { kind: 'prefix', v: v.slice(0, -1), ci };
  return { kind: 'exact', v, ci };
}

/** `s` at `at` starts with `v`; with `ci`, `v` is lower case and ASCII letters of `s` are folded. */
function regionEquals(s: string, at: number, v: string, ci: boolean): boolean {
  if (!ci) return s.startsWith(v, at);
  for (let i = 0; i < v.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== v.charCodeAt(i)) return false;
  }
  return true;
}

function matchRange(m: StrMatcher, s: string, start: number, end: number): boolean {
  switch (m.kind) {
    case 'any':
      return true;
    case 'exact':
      return end - start === m.v.length && regionEquals(s, start, m.v, m.ci);
    case 'prefix':
      return end - start >= m.v.length && regionEquals(s, start, m.v, m.ci);
    case 'suffix':
      return end - start >= m.v.length && regionEquals(s, end - m.v.length, m.v, m.ci);
    case 'sticky':
      m.re.lastIndex = start;
      return m.re.test(s);
  }
}

function anyRange(ms: readonly StrMatcher[], s: string, start: number, end: number): boolean {
  for (const m of ms) if (matchRange(m, s, start, end)) return true;
  return false;
}

/** Istio rewrites each `*` of a namespace to `.*`; here it may not cross the segment's `/`. */
function namespaceMatcher(raw: string): StrMatcher {
  if (!raw.includes('*')) return strMatcher(raw, false);
  return { kind: 'sticky', re: new RegExp(`${raw.split('*').map(escapeRegExp).join('[^/]*')}(?=/)`, 'y') };
}

/**
 * A path with `{*}` (one segment) or `{**}` (the rest) is an Envoy URI template; Istio requires that
 * operators fill their segment, that `{**}` be the last operator and that no other `*`, `{`, `}` appear.
 */
function pathMatcher(raw: string, path: string): StrMatcher {
  if (!raw.includes('{*}') && !raw.includes('{**}')) return strMatcher(raw, false);
  const segments = raw.split('/');
  const lastOperator = segments.findLastIndex((s) => s === '{*}' || s === '{**}');
  const source = segments.map((seg, i) => {
    if (seg === '{*}') return '[^/?]+';
    if (seg === '{**}' && i === lastOperator) return '[^?]*';
    if (seg === '{**}')
      throw new ConfigError(path, `{**} must be the last operator of path template "${raw}"`);
    if (/[*{}]/.test(seg)) throw new ConfigError(path, `invalid path template segment "${seg}" in "${raw}"`);
    return escapeRegExp(seg);
  });
  return { kind: 'sticky', re: new RegExp(`${source.join('/')}(?=\\?|$)`, 'y') };
}

// ---------------------------------------------------------------------------------------------------
// Attributes: each compiler returns "present and one of the values".

const principalList: ListCompiler = (values) => {
  const ms = values.map((v) => strMatcher(v, false));
  return (req) => {
    const p = req.principal;
    if (!p) return false;
    return anyRange(ms, p, p.startsWith(SPIFFE) ? SPIFFE.length : 0, p.length);
  };
};

/** JWT request principals: Weft has no request authentication, so the attribute is never present. */
const requestPrincipalList: ListCompiler = () => NEVER;

const namespaceList: ListCompiler = (values) => {
  const ms = values.map(namespaceMatcher);
  return (req) => {
    const p = req.principal;
    if (!p) return false;
    const at = p.indexOf('/ns/');
    if (at < 0) return false;
    // Istio's regex is `.*/ns/<ns>/.*`: the namespace segment must be closed by a '/'.
    const end = p.indexOf('/', at + 4);
    return end >= 0 && anyRange(ms, p, at + 4, end);
  };
};

const hostList: ListCompiler = (values) => {
  const ms = values.map((v) => strMatcher(v, true));
  return (req) => {
    const h = req.host ?? req.headers?.host;
    return h !== undefined && anyRange(ms, h, 0, h.length);
  };
};

const methodList: ListCompiler = (values) => {
  const ms = values.map((v) => strMatcher(v, false));
  return (req) => req.method !== undefined && anyRange(ms, req.method, 0, req.method.length);
};

const pathList: ListCompiler = (values, path) => {
  const ms = values.map((v, i) => pathMatcher(v, `${path}[${i}]`));
  return (req) => {
    const p = req.path;
    if (p === undefined) return false;
    const q = p.indexOf('?');
    return anyRange(ms, p, 0, q < 0 ? p.length : q);
  };
};

function parsePort(raw: string, path: string): number {
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(port <= 65535)) throw new ConfigError(path, `invalid port "${raw}"`);
  return port;
}

const portList: ListCompiler = (values, path) => {
  const ports = values.map((v, i) => parsePort(v, `${path}[${i}]`));
  return (req) => ports.includes(req.destinationPort);
};

/** Finds IPv4-mapped IPv6 addresses in any spelling, without parsing them in JavaScript. */
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

/**
 * Adds a CIDR or single address. IPv4 ranges, including IPv6-spelled ones inside ::ffff:0:0/96, go to
 * `v4`, which BlockList also matches against mapped addresses; only native IPv6 ranges go to `v6`, so a
 * mapped client is treated as the IPv4 client it is (and `::/0` does not match IPv4 clients).
 */
function addCidr(v4: BlockList, v6: BlockList, raw: string, path: string): void {
  const slash = raw.indexOf('/');
  const addr = slash < 0 ? raw : raw.slice(0, slash);
  const family = addr.includes('%') ? 0 : isIP(addr);
  if (family === 0) throw new ConfigError(path, `invalid IP address or CIDR "${raw}"`);
  const max = family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : raw.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix <= max)) throw new ConfigError(path, `invalid prefix length in CIDR "${raw}"`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const mapped = family === 4 || (prefix >= 96 && MAPPED.check(addr, 'ipv6'));
  (mapped ? v4 : v6).addSubnet(addr, prefix, type);
}

const ipList: ListCompiler = (values, path) => {
  const v4 = new BlockList();
  const v6 = new BlockList();
  values.forEach((v, i) => addCidr(v4, v6, v, `${path}[${i}]`));
  return (req) => {
    const ip = req.sourceIp;
    if (!ip.includes(':')) return v4.check(ip, 'ipv4');
    return MAPPED.check(ip, 'ipv6') ? v4.check(ip, 'ipv6') : v6.check(ip, 'ipv6');
  };
};

/** Node lowercases header names; HTTP/2 pseudo-headers fall back to the request's own fields. */
function headerValue(req: AuthzRequest, name: string): string | undefined {
  const v = req.headers?.[name];
  if (typeof v === 'string') return v;
  // Only set-cookie arrives as an array; Envoy sees repeated headers joined with ','.
  if (v) return v.join(',');
  if (name === ':authority') return req.host;
  if (name === ':method') return req.method;
  if (name === ':path') return req.path;
  return undefined;
}

function headerList(name: string): ListCompiler {
  return (values) => {
    const ms = values.map((v) => strMatcher(v, false));
    return (req) => {
      const h = headerValue(req, name);
      return h !== undefined && anyRange(ms, h, 0, h.length);
    };
  };
}

/** values / notValues as Istio combines them; undefined when neither constrains anything. */
function valueSet(vs: ValueSet | undefined, path: string, list: ListCompiler): Pred | undefined {
  if (!vs) return undefined;
  const inValues = vs.values?.length ? list(vs.values, `${path}.values`) : undefined;
  const inNot = vs.notValues?.length ? list(vs.notValues, `${path}.notValues`) : undefined;
  if (inValues && inNot) return (req) => inValues(req) && !inNot(req);
  if (inNot) return (req) => !inNot(req);
  return inValues;
}

// ---------------------------------------------------------------------------------------------------
// Rules and policies.

function fields(entries: readonly [Pred | undefined, boolean][]): Field[] {
  return entries.flatMap(([test, httpOnly]) => (test ? [{ test, httpOnly }] : []));
}

function compileSource(s: AuthzSource, path: string): Field[] {
  return fields([
    [valueSet(s.principals, `${path}.principals`, principalList), false],
    [valueSet(s.namespaces, `${path}.namespaces`, namespaceList), false],
    [valueSet(s.ipBlocks, `${path}.ipBlocks`, ipList), false],
    [valueSet(s.requestPrincipals, `${path}.requestPrincipals`, requestPrincipalList), false],
  ]);
}

function compileOperation(o: AuthzOperation, path: string): Field[] {
  return fields([
    [valueSet(o.hosts, `${path}.hosts`, hostList), true],
    [valueSet(o.ports, `${path}.ports`, portList), false],
    [valueSet(o.methods, `${path}.methods`, methodList), true],
    [valueSet(o.paths, `${path}.paths`, pathList), true],
  ]);
}

const HEADER_KEY = /^request\.headers\[(.+)\]$/;

/** The attribute a `when` key names and whether it is HTTP-only; undefined for keys Weft does not support. */
function conditionAttribute(key: string, path: string): [ListCompiler, boolean] | undefined {
  switch (key) {
    case 'source.ip':
    case 'remote.ip': // the proxy sees no trusted X-Forwarded-For, so the remote is the peer
      return [ipList, false];
    case 'source.namespace':
      return [namespaceList, false];
    case 'source.principal':
      return [principalList, false];
    case 'destination.port':
      return [portList, false];
  }
  if (!key.startsWith('request.headers')) return undefined;
  const name = HEADER_KEY.exec(key)?.[1];
  if (name === undefined) throw new ConfigError(`${path}.key`, `malformed header key "${key}"`);
  return [headerList(name.toLowerCase()), true];
}

function compileCondition(c: AuthzCondition, path: string): Field {
  const attribute = conditionAttribute(c.key, path);
  if (!attribute) return { test: NEVER, httpOnly: false };
  const [list, httpOnly] = attribute;
  return { test: valueSet(c, path, list) ?? ALWAYS, httpOnly };
}

function compileRule(r: AuthzRule, path: string): CompiledRule {
  return {
    from: r.from?.length ? r.from.map((s, i) => compileSource(s, `${path}.from[${i}]`)) : undefined,
    to: r.to?.length ? r.to.map((o, i) => compileOperation(o, `${path}.to[${i}]`)) : undefined,
    when: (r.when ?? []).map((c, i) => compileCondition(c, `${path}.when[${i}]`)),
  };
}

function allOf(preds: readonly Pred[]): Pred {
  const ps = preds.filter((p) => p !== ALWAYS);
  if (ps.includes(NEVER)) return NEVER;
  const [first, second] = ps;
  if (!first) return ALWAYS;
  if (ps.length === 1) return first;
  if (ps.length === 2 && second) return (req) => first(req) && second(req);
  return (req) => {
    for (const p of ps) if (!p(req)) return false;
    return true;
  };
}

function anyOf(preds: readonly Pred[]): Pred {
  const ps = preds.filter((p) => p !== NEVER);
  if (ps.includes(ALWAYS)) return ALWAYS;
  const [first] = ps;
  if (!first) return NEVER;
  if (ps.length === 1) return first;
  return (req) => {
    for (const p of ps) if (p(req)) return true;
    return false;
  };
}

/** A rule as one predicate, keeping only the fields `keep` accepts. */
function rulePred(rule: CompiledRule, keep: (f: Field) => boolean): Pred {
  const group = (fs: readonly Field[]): Pred => allOf(fs.filter(keep).map((f) => f.test));
  const parts: Pred[] = [];
  if (rule.from) parts.push(anyOf(rule.from.map(group)));
  if (rule.to) parts.push(anyOf(rule.to.map(group)));
  parts.push(group(rule.when));
  return allOf(parts);
}

const keepAll = (): boolean => true;
const keepTcp = (f: Field): boolean => !f.httpOnly;
const usesHttp = (rule: CompiledRule): boolean =>
  [...(rule.from ?? []).flat(), ...(rule.to ?? []).flat(), ...rule.when].some((f) => f.httpOnly);

function tcpRulePred(rule: CompiledRule, action: Action): Pred {
  // Istio: for ALLOW the whole rule is dropped (narrower); for DENY/AUDIT only the fields (broader).
  if (action === 'allow') return usesHttp(rule) ? NEVER : rulePred(rule, keepAll);
  return rulePred(rule, keepTcp);
}

function compilePolicy(p: AuthzPolicy, path: string, action: Action): CompiledPolicy {
  const rules = p.rules.map((r, i) => compileRule(r, `${path}.rules[${i}]`));
  const decision: AuthzDecision =
    action === 'allow'
      ? { allowed: true, policy: p.name, reason: 'allowed' }
      : { allowed: false, policy: p.name, reason: 'denied' };
  return {
    name: p.name,
    http: anyOf(rules.map((r) => rulePred(r, keepAll))),
    tcp: anyOf(rules.map((r) => tcpRulePred(r, action))),
    decision: Object.freeze(decision),
  };
}

function firstMatch(policies: readonly CompiledPolicy[], req: AuthzRequest): CompiledPolicy | undefined {
  if (req.http) {
    for (const p of policies) if (p.http(req)) return p;
  } else {
    for (const p of policies) if (p.tcp(req)) return p;
  }
  return undefined;
}

/**
 * Compiles the policies that apply to this proxy. Throws ConfigError (path relative to
 * AuthorizationPolicies, e.g. `allow[0].rules[1].from[0].ipBlocks.values[2]`) for what it cannot execute.
 */
export function compileAuthorization(p: AuthorizationPolicies): AuditingAuthorizer {
  const compile = (action: Action, list: readonly AuthzPolicy[]): CompiledPolicy[] =>
    list.map((policy, i) => compilePolicy(policy, `${action}[${i}]`, action));
  const deny = compile('deny', p.deny);
  const allow = compile('allow', p.allow);
  const audit = compile('audit', p.audit);
  return {
    empty: deny.length === 0 && allow.length === 0,
    check(req: AuthzRequest): AuthzDecision {
      const denied = firstMatch(deny, req);
      if (denied) return denied.decision;
      if (allow.length === 0) return NO_POLICY;
      return firstMatch(allow, req)?.decision ?? NO_ALLOW_MATCH;
    },
    audit(req: AuthzRequest): string | undefined {
      return firstMatch(audit, req)?.name;
    },
  };
}
