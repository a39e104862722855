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

/**
 * A failed API request as a CliError that says what weftctl was doing and what the user can do:
 * unreachable (exit 3), forbidden (exit 3, with the verb to ask for), or the server's message.
 */
export function apiFailure(doing: string, err: unknown, server: string): CliError {
  const status = statusCodeOf(err);
  if (status === undefined)
    return unavailable(`cannot reach the Kubernetes API at ${server} (${apiMessage(err)}); ${REACH_HINT}`);
  if (status === 401 || status === 403)
    return unavailable(
      `not allowed to ${doing} (HTTP ${status}: ${apiMessage(err)}); use a kubeconfig with cluster-admin rights, as installing CRDs and ClusterRoles needs`,
    );
  return new CliError(`${doing} failed with HTTP ${status}: ${apiMessage(err)}`, exitCodes.problems);
}
