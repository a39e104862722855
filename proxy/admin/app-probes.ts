import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * The application's own HTTP probes, served through the health port (Istio's app-health prober).
 * Injection rewrites a container's httpGet probes to `/app-health/<container>/<livez|readyz|startupz>`
 * on 15021, because under STRICT mTLS the kubelet's plaintext probe could not reach the application
 * through the inbound capture; the originals arrive in WEFT_APP_PROBERS, and the proxy calls the
 * application from inside the pod with them, answering with the application's own status.
 */

export interface AppProbe {
  readonly httpGet: {
    readonly path?: string;
    readonly port: number;
    readonly host?: string;
    readonly scheme?: string;
    readonly httpHeaders?: readonly { name: string; value: string }[];
  };
  readonly timeoutSeconds?: number;
}

export const APP_HEALTH_PREFIX = '/app-health/';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function checkProbe(path: string, probe: unknown): AppProbe {
  const where = `WEFT_APP_PROBERS["${path}"]`;
  if (!path.startsWith(APP_HEALTH_PREFIX)) throw new Error(`${where}: paths start with ${APP_HEALTH_PREFIX}`);
  const get = isRecord(probe) ? probe.httpGet : undefined;
  if (
    !isRecord(get) ||
    !Number.isInteger(get.port) ||
    (get.port as number) < 1 ||
    (get.port as number) > 65_535
  )
    throw new Error(`${where}: needs httpGet.port, a port number (named ports are resolved at injection)`);
  if (get.scheme !== undefined && get.scheme !== 'HTTP' && get.scheme !== 'HTTPS')
    throw new Error(`${where}: httpGet.scheme must be HTTP or HTTPS, not ${JSON.stringify(get.scheme)}`);
  return probe as AppProbe;
}

/** WEFT_APP_PROBERS (JSON, path → probe) checked; empty when unset. Throws naming the bad entry. Pure. */
export function parseAppProbers(raw: string | undefined): ReadonlyMap<string, AppProbe> {
  if (!raw?.trim()) return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`WEFT_APP_PROBERS is not JSON: ${(err as Error).message}`);
  }
  if (!isRecord(parsed) || Array.isArray(parsed))
    throw new Error('WEFT_APP_PROBERS must be a JSON object of path → probe');
  return new Map(Object.entries(parsed).map(([path, probe]) => [path, checkProbe(path, probe)]));
}

/**
 * Calls the application as the kubelet would, from the proxy: to `host` (default: the workload's own
 * address) with the probe's path, headers and timeout (1 s unless set), TLS unverified as the kubelet
 * does. Resolves with the status to answer: the application's, or 500 when it could not be reached.
 */
export function probeApplication(probe: AppProbe, defaultHost: string): Promise<number> {
  const { httpGet } = probe;
  const send = httpGet.scheme === 'HTTPS' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { 'user-agent': 'weft-prober/1.0' };
  for (const h of httpGet.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const req = send(
      {
        host: httpGet.host ?? defaultHost,
        port: httpGet.port,
        path: httpGet.path ?? '/',
        headers,
        timeout: (probe.timeoutSeconds ?? 1) * 1000,
        rejectUnauthorized: false,
        agent: false,
      },
      (res: IncomingMessage) => {
        res.resume();
        resolve(res.statusCode ?? 500);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(500));
    req.end();
  });
}
