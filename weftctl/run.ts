import { CliError, exitCodes, type ExitCode } from './cli-error.js';
import { parseCommandLine, type Command } from './command-line.js';
import { analyzeCommand } from './commands/analyze.js';
import { check } from './commands/check.js';
import { install } from './commands/install.js';
import { manifestGenerate } from './commands/manifest-generate.js';
import { proxyConfig } from './commands/proxy-config.js';
import { proxyStatus } from './commands/proxy-status.js';
import { uninstall } from './commands/uninstall.js';
import { version } from './commands/version.js';
import type { Io } from './io.js';

function dispatch(command: Command, io: Io): Promise<ExitCode> | ExitCode {
  switch (command.name) {
    case 'help':
      io.out(command.text);
      return exitCodes.ok;
    case 'version':
      return version(command, io);
    case 'proxy-status':
      return proxyStatus(command, io);
    case 'proxy-config':
      return proxyConfig(command, io);
    case 'analyze':
      return analyzeCommand(command, io);
    case 'manifest-generate':
      return manifestGenerate(command, io);
    case 'install':
      return install(command, io);
    case 'uninstall':
      return uninstall(command, io);
    case 'check':
      return check(command, io);
  }
}

/**
 * Runs one weftctl command line and returns its exit code. A CliError is the user's to act on and is
 * printed as is; anything else is a bug, printed with its stack.
 */
export async function run(
  argv: readonly string[],
  io: Io,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ExitCode> {
  try {
    return await dispatch(parseCommandLine(argv, env), io);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(err.exitCode === exitCodes.usage ? err.message : `weftctl: ${err.message}`);
      return err.exitCode;
    }
    io.err(
      `weftctl: unexpected failure (please report it): ${err instanceof Error ? err.stack : String(err)}`,
    );
    return exitCodes.problems;
  }
}
