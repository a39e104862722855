import { unavailable, usageError } from './cli-error.js';

/** How long weftctl waits for the control plane: its debug endpoints answer from memory. */
const TIMEOUT_MS = 5_000;

/** What to do when the control plane does not answer, for the two ways Weft runs. */
export const START_HINT = `Start it with "npm run control-plane" (local development), or forward the in-cluster one with
"kubectl -n weft-system port-forward deploy/weft-control-plane 15014"; pass --control-plane if it listens elsewhere.`;

export interface DebugResponse {
  readonly status: number;
  readonly body: unknown;
}

function endpoint(base: string, path: string): URL {
  try {
    return new URL(path, base.endsWith('/') ? base : `${base}/`);
  } catch {
    throw usageError(`weftctl: --control-plane must be a URL such as http://127.0.0.1:15014, not "${base}"`);
  }
}

/** The network-level cause of a failed fetch (ECONNREFUSED, ENOTFOUND, a timeout), for the message. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/**
 * GETs one of the control plane's debug endpoints (port 15014) and parses its JSON. Throws a
 * CliError naming the URL and how to start the control plane when it cannot be reached.
 */
export async function getDebug(base: string, path: string): Promise<DebugResponse> {
  const url = endpoint(base, path);
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw unavailable(
      `cannot reach the Weft control plane at ${url.origin} (${causeOf(err)}).\n${START_HINT}`,
    );
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw unavailable(
      `${url.href} answered HTTP ${res.status} without JSON; is ${url.origin} a Weft control plane's monitoring port (15014)?`,
    );
  }
}
