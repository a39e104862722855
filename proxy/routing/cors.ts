import type { CorsPolicy } from '../config/generated/proxy-config.js';
import type { StringPredicate } from './string-match.js';
import { compileStringMatcher } from './string-match.js';

/** A route's CORS policy, ready to answer per request. Header names are lowercase. */
export interface CompiledCors {
  /**
   * The headers of the response to a preflight (OPTIONS with Origin and
   * Access-Control-Request-Method) whose origin is allowed; undefined when it is not a preflight
   * or the origin is not allowed, so the request is forwarded as Istio does by default.
   */
  preflight(
    origin: string | undefined,
    requestMethod: string | undefined,
  ): Record<string, string> | undefined;
  /** The headers to add to the response of an actual request from an allowed origin; undefined otherwise. */
  responseHeaders(origin: string | undefined): Record<string, string> | undefined;
}

const joined = (values: readonly string[] | undefined): string | undefined =>
  values && values.length > 0 ? values.join(',') : undefined;

class Cors implements CompiledCors {
  private readonly origins: readonly StringPredicate[];
  /** An origin matcher that accepts `*` allows every origin, as in Envoy. */
  private readonly anyOrigin: boolean;
  private readonly credentials: boolean;
  private readonly methods: string | undefined;
  private readonly allowHeaders: string | undefined;
  private readonly exposeHeaders: string | undefined;
  private readonly maxAge: string | undefined;

  constructor(policy: CorsPolicy, path: string) {
    this.origins = (policy.allowOrigins ?? []).map((m, i) =>
      compileStringMatcher(m, `${path}.allowOrigins[${i}]`),
    );
    this.anyOrigin = this.origins.some((matches) => matches('*'));
    this.credentials = policy.allowCredentials === true;
    this.methods = joined(policy.allowMethods);
    this.allowHeaders = joined(policy.allowHeaders);
    this.exposeHeaders = joined(policy.exposeHeaders);
    const maxAge = policy.maxAgeSeconds;
    this.maxAge = maxAge !== undefined && maxAge >= 0 ? String(Math.floor(maxAge)) : undefined;
  }

  private allows(origin: string | undefined): origin is string {
    if (!origin) return false;
    if (this.anyOrigin) return true;
    for (const matches of this.origins) {
      if (matches(origin)) return true;
    }
    return false;
  }

  private baseHeaders(origin: string): Record<string, string> {
    const headers: Record<string, string> = { 'access-control-allow-origin': origin };
    if (this.credentials) headers['access-control-allow-credentials'] = 'true';
    return headers;
  }

  preflight(
    origin: string | undefined,
    requestMethod: string | undefined,
  ): Record<string, string> | undefined {
    if (!requestMethod || !this.allows(origin)) return undefined;
    const headers = this.baseHeaders(origin);
    if (this.methods) headers['access-control-allow-methods'] = this.methods;
    if (this.allowHeaders) headers['access-control-allow-headers'] = this.allowHeaders;
    if (this.maxAge) headers['access-control-max-age'] = this.maxAge;
    return headers;
  }

  responseHeaders(origin: string | undefined): Record<string, string> | undefined {
    if (!this.allows(origin)) return undefined;
    const headers = this.baseHeaders(origin);
    if (this.exposeHeaders) headers['access-control-expose-headers'] = this.exposeHeaders;
    return headers;
  }
}

/**
 * Compiles an Istio CorsPolicy as Envoy's CORS filter executes it: the allowed origin is echoed
 * back, never `*`. `path` is the policy's JSON path, for a ConfigError on a bad origin regex.
 */
export function compileCors(policy: CorsPolicy, path = 'cors'): CompiledCors {
  return new Cors(policy, path);
}
