import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { APP_HEALTH_PREFIX, probeApplication, type AppProbe } from './app-probes.js';

export interface AdminState {
  /** The configuration in force, with the version it came with (the config dump). */
  configDump(): object;
  /** Every cluster's hosts with their live state (in flight, ejected). */
  clusters(): object;
  ready(): { ready: boolean; why: string };
  quit(): void;
}

/**
 * Admin (15000, loopback only: it can stop the proxy), health (15021) and Prometheus (15090)
 * endpoints. Separate servers, so the health and metrics ports can be exposed to the kubelet and
 * Prometheus without exposing admin.
 */
export function adminServer(state: AdminState, log: Logger): Server {
  return createServer((req, res) => {
    // An absolute-form target can be one the URL parser refuses ('http://svc:908solute'): a 400,
    // never an exception out of the request handler, which would end the proxy.
    const target = req.url ?? '/';
    if (!URL.canParse(target, 'http://admin')) return text(res, 400, 'admin: invalid request target\n');
    const url = new URL(target, 'http://admin');
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /config_dump':
        return json(res, 200, state.configDump());
      case 'GET /clusters':
        return json(res, 200, state.clusters());
      case 'GET /logging':
        return json(res, 200, { level: log.level });
      case 'POST /logging':
        return setLevel(url, res, log);
      case 'POST /quitquitquit':
        text(res, 200, 'OK\n');
        return state.quit();
      case 'GET /ready':
      case 'GET /healthz/ready':
        return readiness(state, res);
      default:
        return text(
          res,
          404,
          'admin: GET /config_dump, GET /clusters, GET|POST /logging?level=, POST /quitquitquit\n',
        );
    }
  });
}

/** The application's probes the health port forwards (see app-probes.ts), and where the application is. */
export interface AppHealth {
  readonly probers: ReadonlyMap<string, AppProbe>;
  readonly host: string;
}

export function healthServer(state: AdminState, app?: AppHealth): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/healthz/ready') return readiness(state, res);
    const probe = path.startsWith(APP_HEALTH_PREFIX) ? app?.probers.get(path) : undefined;
    if (probe) {
      // A probe that cannot even be sent (a header value Node refuses) is a failed probe, not a crash.
      void probeApplication(probe, app!.host).then(
        (status) => text(res, status, `application: ${status}\n`),
        () => text(res, 500, 'application: the probe could not be sent\n'),
      );
      return;
    }
    text(
      res,
      404,
      `health: GET /healthz/ready${app?.probers.size ? `, ${[...app.probers.keys()].join(', ')}` : ''}\n`,
    );
  });
}

export function metricsServer(registry: Registry): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/stats/prometheus' && req.url !== '/metrics')
      return text(res, 404, 'metrics: GET /stats/prometheus\n');
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      },
      (err: unknown) => text(res, 500, String(err)),
    );
  });
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

function setLevel(url: URL, res: ServerResponse, log: Logger): void {
  const level = url.searchParams.get('level') ?? '';
  if (!LEVELS.has(level)) return text(res, 400, `level must be one of ${[...LEVELS].join(', ')}\n`);
  log.level = level;
  json(res, 200, { level });
}

function readiness(state: AdminState, res: ServerResponse): void {
  const { ready, why } = state.ready();
  text(res, ready ? 200 : 503, ready ? 'ready\n' : `not ready: ${why}\n`);
}

function json(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, null, 2) + '\n');
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(body);
}
