/**
 * A configuration the proxy cannot execute. `path` is the JSON path of the offending field
 * (for example `routes[0].virtualHosts[1].routes[2].matches[0].uri.regex`), so the NACK the
 * control plane shows in proxy-status names exactly what to fix.
 */
export class ConfigError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'ConfigError';
  }
}
