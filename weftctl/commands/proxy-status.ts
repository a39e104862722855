import type { ProxyStatusEntry } from '../../controllers/push/push-server.js';
import { CliError, exitCodes, type ExitCode } from '../cli-error.js';
import { getDebug } from '../control-plane-client.js';
import type { Io } from '../io.js';
import { formatTable } from '../table.js';

const isEntry = (e: unknown): e is ProxyStatusEntry =>
  typeof e === 'object' &&
  e !== null &&
  typeof (e as ProxyStatusEntry).id === 'string' &&
  typeof (e as ProxyStatusEntry).status === 'string';

/** The endpoint's answer, checked: a list of proxies, or an error naming what came back. Pure. */
export function parseProxyStatus(body: unknown, url: string): ProxyStatusEntry[] {
  if (!Array.isArray(body) || !body.every(isEntry)) {
    throw new CliError(
      `${url} did not answer with a list of proxies; is it a Weft control plane's monitoring port (15014)?`,
      exitCodes.unavailable,
    );
  }
  return body;
}

/**
 * The proxy-status table (NAME NAMESPACE ROLE STATUS SENT ACKED), then one line per NACK with the
 * proxy's reason, since a rejected configuration is what a user came here to find. Pure.
 */
export function formatProxyStatus(entries: readonly ProxyStatusEntry[]): string {
  const rows = entries.map((e) => [e.id, e.namespace, e.role, e.status, e.sent ?? '-', e.acked ?? '-']);
  const table = formatTable(['NAME', 'NAMESPACE', 'ROLE', 'STATUS', 'SENT', 'ACKED'], rows);
  const nacks = entries
    .filter((e) => e.status === 'NACK')
    .map((e) => `NACK ${e.id}: ${e.nack ?? 'no reason given'}`);
  return nacks.length > 0 ? `${table}\n${nacks.join('\n')}\n` : table;
}

export async function proxyStatus(
  command: { readonly controlPlane: string; readonly output: 'table' | 'json' },
  io: Io,
): Promise<ExitCode> {
  const path = 'debug/proxy-status';
  const { body } = await getDebug(command.controlPlane, path);
  const entries = parseProxyStatus(body, `${command.controlPlane}/${path}`);
  if (command.output === 'json') io.out(JSON.stringify(entries, null, 2));
  else if (entries.length === 0)
    io.err(`no proxies are connected to the control plane at ${command.controlPlane}`);
  else io.out(formatProxyStatus(entries));
  return exitCodes.ok;
}
