/**
 * What weftctl's exit code means, so scripts can tell "the answer is no" from "could not ask":
 * 0 done; 1 the command ran and found problems (analyze errors, an unknown proxy); 2 the command line
 * is wrong; 3 something it needs is unavailable (control plane, cluster, a file).
 */
export const exitCodes = { ok: 0, problems: 1, usage: 2, unavailable: 3 } as const;
export type ExitCode = (typeof exitCodes)[keyof typeof exitCodes];

/** An error for the user: the message says what went wrong and what to do; the code is the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export const usageError = (message: string): CliError => new CliError(message, exitCodes.usage);
export const unavailable = (message: string): CliError => new CliError(message, exitCodes.unavailable);
