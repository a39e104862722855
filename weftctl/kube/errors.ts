import { statusCodeOf } from '../../controllers/runtime/apply.js';
import { CliError, exitCodes, unavailable } from '../cli-error.js';

export { statusCodeOf };

/** What to do when the API server does not answer, for the two ways people run Kubernetes here. */
export const REACH_HINT =
  'check --kubeconfig or $KUBECONFIG (kubectl cluster-info should answer), or start the local cluster with npm run cluster -- up';

/**
 * The API server's own words for a failed request (the `message` of its Status body), else the
 * network cause (ECONNREFUSED, a TLS error). Pure.
 */
export function apiMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  const message = (parsed as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string' && message !== '') return message;
  const status = statusCodeOf(err);
  if (status !== undefined)
    return `HTTP ${status}${typeof body === 'string' && body.trim() ? `: ${body.trim().slice(0, 200)}` : ''}`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether a request failed before the API server answered (no HTTP status at all). */
export const isUnreachable = (err: unknown): boolean => statusCodeOf(err) === undefined;

/** What to do about a 401/403 from weftctl's own writes: they install CRDs and ClusterRoles. */
const INSTALL_RIGHTS_HINT =
  'use a kubeconfig with cluster-admin rights, as installing CRDs and ClusterRoles needs';

/**
 * A failed API request as a CliError that says what weftctl was doing and what the user can do:
 * unreachable or a server error (exit 3: the cluster is unavailable), forbidden (exit 3, with
 * `forbiddenHint`, by default the rights an install needs), or the server's message (exit 1).
 */
export function apiFailure(
  doing: string,
  err: unknown,
  server: string,
  { forbiddenHint = INSTALL_RIGHTS_HINT }: { readonly forbiddenHint?: string } = {},
): CliError {
  const status = statusCodeOf(err);
  if (status === undefined)
    return unavailable(`cannot reach the Kubernetes API at ${server} (${apiMessage(err)}); ${REACH_HINT}`);
  if (status === 401 || status === 403)
    return unavailable(`not allowed to ${doing} (HTTP ${status}: ${apiMessage(err)}); ${forbiddenHint}`);
  return new CliError(
    `${doing} failed with HTTP ${status}: ${apiMessage(err)}`,
    status >= 500 ? exitCodes.unavailable : exitCodes.problems,
  );
}
