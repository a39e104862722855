/** What a condition check saw: whether it holds, and the state to report if it never does. */
export interface Observation {
  readonly done: boolean;
  readonly state?: unknown;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

function describeState(state: unknown): string {
  if (state === undefined) return '(nothing)';
  if (typeof state === 'string') return state;
  try {
    return JSON.stringify(state, null, 2).slice(0, 4_000);
  } catch {
    return '(state could not be serialised)';
  }
}

/**
 * Polls `check` until it reports done. Tests wait on conditions, never on fixed sleeps; on timeout the
 * error names what was awaited and the last state seen, which is what a reader of a CI log needs.
 * A check that throws is retried (the API may be briefly unavailable); its error becomes the last state.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<Observation> | Observation,
  { timeoutMs = 30_000, intervalMs = 100 }: WaitOptions = {},
): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = 'not checked yet';
  for (;;) {
    try {
      const seen = await check();
      if (seen.done) return seen.state;
      last = seen.state;
    } catch (err) {
      last = `check threw: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}\nlast state seen: ${describeState(last)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
