import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';

export interface Probe {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * GETs `url` once and reports whether it answered 200. For https, `ca` verifies the server;
 * unauthenticated access to health endpoints is allowed by the components' default RBAC.
 */
export function probe(url: string, ca?: string, timeoutMs = 2_000): Promise<Probe> {
  return new Promise((resolve) => {
    const isHttps = url.startsWith('https:');
    const options = isHttps ? { ca, timeout: timeoutMs } : { timeout: timeoutMs };
    const req = (isHttps ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ ok: res.statusCode === 200, detail: `${res.statusCode} ${body.slice(0, 200)}` }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ ok: false, detail: err.message }));
    req.end();
  });
}

/** Polls `check` until it reports ok or `timeoutMs` passes; the error names what was awaited and the last state. */
export async function waitFor(
  what: string,
  check: () => Promise<Probe>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Probe = { ok: false, detail: 'not checked yet' };
  while (Date.now() < deadline) {
    last = await check();
    if (last.ok) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${last.detail}`);
}

/** Whether something accepts TCP connections at the host and port of `url`. */
export function portInUse(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
