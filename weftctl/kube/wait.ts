import { CliError, exitCodes } from '../cli-error.js';

/** One look at something being waited for: whether it is there, and a line saying how far it got. */
export interface Look {
  readonly done: boolean;
  /** e.g. "deployment weft-operator/weft-operator (0/1 ready)"; printed whenever it changes. */
  readonly progress: string;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Called with the progress line each time it changes while not done. */
  readonly onProgress?: (line: string) => void;
  /** What to look at when it never happens, appended to the timeout error. */
  readonly hint: string;
  readonly intervalMs?: number;
}

/**
 * Looks until `look` says done, printing progress as it changes (not on every look, so a long wait
 * is a few lines); on timeout throws a CliError (exit 1) with the last progress and the hint. A look
 * that throws is tried again: the API server may be briefly busy right after a CRD is created.
 */
export async function waitFor(what: string, look: () => Promise<Look>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let printed = '';
  let last = 'not looked at yet';
  for (;;) {
    try {
      const seen = await look();
      if (seen.done) return;
      last = seen.progress;
    } catch (err) {
      last = `${what}: ${(err as Error).message}`;
    }
    if (last !== printed) {
      options.onProgress?.(last);
      printed = last;
    }
    if (Date.now() >= deadline)
      throw new CliError(
        `timed out after ${formatDuration(options.timeoutMs)} waiting for ${what}; last seen: ${last}.\n${options.hint}`,
        exitCodes.problems,
      );
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
}

/** 300000 -> "5m", 90000 -> "1m30s", 1500 -> "1.5s". Pure. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${ms / 1000}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
