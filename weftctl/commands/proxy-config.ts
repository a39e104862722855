import { stringify } from 'yaml';
import { CliError, exitCodes, type ExitCode } from '../cli-error.js';
import { getDebug } from '../control-plane-client.js';
import type { Io } from '../io.js';

/** A configuration as JSON or YAML. Pure. */
export function formatConfig(config: unknown, output: 'json' | 'yaml'): string {
  return output === 'json' ? `${JSON.stringify(config, null, 2)}\n` : stringify(config, { lineWidth: 0 });
}

export async function proxyConfig(
  command: { readonly controlPlane: string; readonly proxyId: string; readonly output: 'json' | 'yaml' },
  io: Io,
): Promise<ExitCode> {
  const { status, body } = await getDebug(
    command.controlPlane,
    `debug/proxy-config?proxy=${encodeURIComponent(command.proxyId)}`,
  );
  if (status === 404) {
    throw new CliError(
      `no proxy "${command.proxyId}" is connected to the control plane at ${command.controlPlane}; list them with weftctl proxy-status`,
      exitCodes.problems,
    );
  }
  if (status !== 200)
    throw new CliError(
      `the control plane answered HTTP ${status}: ${JSON.stringify(body)}`,
      exitCodes.unavailable,
    );
  io.out(formatConfig(body, command.output));
  return exitCodes.ok;
}
