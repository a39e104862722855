import { exitCodes, type ExitCode } from '../cli-error.js';
import type { Io } from '../io.js';
import { weftVersion } from '../package-info.js';

export function version(command: { readonly output: 'text' | 'json' }, io: Io): ExitCode {
  const release = weftVersion();
  io.out(command.output === 'json' ? JSON.stringify({ weftctl: release }) : `weftctl ${release}`);
  return exitCodes.ok;
}
