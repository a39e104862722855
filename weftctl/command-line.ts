import { parseArgs } from 'node:util';
import { parseDuration } from '../controllers/translate/durations.js';
import { usageError } from './cli-error.js';
import type { CheckCommand } from './commands/check.js';
import type { InstallCommand } from './commands/install.js';
import type { UninstallCommand } from './commands/uninstall.js';
import { commandUsage, DEFAULT_CONTROL_PLANE, helpFor, OVERVIEW, type CommandName } from './usage.js';

export type AnalyzeSource =
  | { readonly from: 'files'; readonly paths: readonly string[] }
  | { readonly from: 'cluster'; readonly kubeconfig?: string; readonly namespace?: string };

/** A command line, understood: what to run and with what. */
export type Command =
  | { readonly name: 'help'; readonly text: string }
  | { readonly name: 'version'; readonly output: 'text' | 'json' }
  | { readonly name: 'proxy-status'; readonly controlPlane: string; readonly output: 'table' | 'json' }
  | {
      readonly name: 'proxy-config';
      readonly controlPlane: string;
      readonly proxyId: string;
      readonly output: 'json' | 'yaml';
    }
  | { readonly name: 'analyze'; readonly source: AnalyzeSource; readonly output: 'text' | 'json' }
  | { readonly name: 'manifest-generate'; readonly namespace?: string; readonly image?: string }
  | ({ readonly name: 'install' } & InstallCommand)
  | ({ readonly name: 'uninstall' } & UninstallCommand)
  | ({ readonly name: 'check' } & CheckCommand);

const OPTIONS = {
  'control-plane': { type: 'string' },
  kubeconfig: { type: 'string' },
  output: { type: 'string', short: 'o' },
  file: { type: 'string', short: 'f', multiple: true },
  cluster: { type: 'boolean' },
  namespace: { type: 'string', short: 'n' },
  image: { type: 'string' },
  mesh: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  'keep-crds': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
  force: { type: 'boolean' },
  pre: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Flag = keyof typeof OPTIONS;
type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

/** The flags each command reads besides --help; any other is a mistake worth reporting. */
const COMMAND_FLAGS: Record<CommandName, readonly Flag[]> = {
  'proxy-status': ['control-plane', 'output'],
  'proxy-config': ['control-plane', 'output'],
  analyze: ['kubeconfig', 'output', 'file', 'cluster', 'namespace'],
  manifest: ['namespace', 'image'],
  version: ['output'],
  install: ['namespace', 'image', 'mesh', 'wait', 'timeout', 'kubeconfig'],
  uninstall: ['namespace', 'keep-crds', 'yes', 'force', 'timeout', 'kubeconfig'],
  check: ['pre', 'namespace', 'control-plane', 'output', 'kubeconfig'],
};

/** How long install and uninstall wait for each step, unless --timeout says otherwise. */
const DEFAULT_TIMEOUT = '5m';

function timeoutMs(command: CommandName, values: Values): number {
  const text = values.timeout ?? DEFAULT_TIMEOUT;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw usageError(`weftctl ${command}: --timeout must be a duration such as 90s or 5m, not "${text}"`);
  return ms;
}

const isCommand = (word: string | undefined): word is CommandName =>
  word !== undefined && Object.hasOwn(commandUsage, word);

function output<T extends string>(command: CommandName, values: Values, allowed: readonly T[]): T {
  const given = values.output ?? allowed[0]!;
  if (!(allowed as readonly string[]).includes(given))
    throw usageError(`weftctl ${command}: --output must be one of ${allowed.join(', ')}, not "${given}"`);
  return given as T;
}

function checkFlags(command: CommandName, values: Values): void {
  const allowed = new Set<string>([...COMMAND_FLAGS[command], 'help']);
  const stray = Object.keys(values).filter((flag) => !allowed.has(flag));
  if (stray.length > 0)
    throw usageError(
      `weftctl ${command} does not take ${stray.map((f) => `--${f}`).join(', ')}\n\n${commandUsage[command]}`,
    );
}

function checkArgCount(command: CommandName, args: readonly string[], max: number): void {
  if (args.length > max)
    throw usageError(
      `weftctl ${command}: unexpected ${args.slice(max).join(' ')}\n\n${commandUsage[command]}`,
    );
}

function analyzeCommand(args: readonly string[], values: Values): Command {
  const paths = [...(values.file ?? []), ...args];
  if (values.cluster && paths.length > 0)
    throw usageError('weftctl analyze: give files or --cluster, not both');
  if (!values.cluster && paths.length === 0)
    throw usageError(`weftctl analyze: nothing to check\n\n${commandUsage.analyze}`);
  if ((values.namespace || values.kubeconfig) && !values.cluster)
    throw usageError('weftctl analyze: --namespace and --kubeconfig apply to --cluster only');
  const source: AnalyzeSource = values.cluster
    ? { from: 'cluster', kubeconfig: values.kubeconfig, namespace: values.namespace }
    : { from: 'files', paths };
  return { name: 'analyze', source, output: output('analyze', values, ['text', 'json']) };
}

/** The commands that change or check a cluster. */
function clusterCommand(
  command: 'install' | 'uninstall' | 'check',
  values: Values,
  controlPlane: string,
): Command {
  const kubeconfig = values.kubeconfig;
  const namespace = values.namespace;
  if (command === 'install')
    return {
      name: command,
      namespace,
      image: values.image,
      meshFile: values.mesh,
      wait: values.wait ?? true,
      timeoutMs: timeoutMs(command, values),
      kubeconfig,
    };
  if (command === 'uninstall')
    return {
      name: command,
      namespace,
      keepCrds: values['keep-crds'] ?? false,
      yes: values.yes ?? false,
      force: values.force ?? false,
      timeoutMs: timeoutMs(command, values),
      kubeconfig,
    };
  const mode = values.pre ? 'pre' : 'post';
  return {
    name: command,
    mode,
    namespace,
    controlPlane,
    output: output(command, values, ['text', 'json']),
    kubeconfig,
  };
}

function commandFor(
  command: CommandName,
  args: readonly string[],
  values: Values,
  env: Readonly<Record<string, string | undefined>>,
): Command {
  const controlPlane = values['control-plane'] ?? env.WEFT_CONTROL_PLANE ?? DEFAULT_CONTROL_PLANE;
  switch (command) {
    case 'version':
      checkArgCount(command, args, 0);
      return { name: 'version', output: output(command, values, ['text', 'json']) };
    case 'proxy-status':
      checkArgCount(command, args, 0);
      return { name: 'proxy-status', controlPlane, output: output(command, values, ['table', 'json']) };
    case 'proxy-config':
      checkArgCount(command, args, 1);
      if (!args[0]) throw usageError(`weftctl proxy-config: which proxy?\n\n${commandUsage[command]}`);
      return {
        name: 'proxy-config',
        controlPlane,
        proxyId: args[0],
        output: output(command, values, ['json', 'yaml']),
      };
    case 'analyze':
      return analyzeCommand(args, values);
    case 'manifest':
      if (args[0] !== 'generate')
        throw usageError(`weftctl manifest: the subcommand is generate\n\n${commandUsage[command]}`);
      checkArgCount(command, args, 1);
      return { name: 'manifest-generate', namespace: values.namespace, image: values.image };
    case 'install':
    case 'uninstall':
    case 'check':
      checkArgCount(command, args, 0);
      return clusterCommand(command, values, controlPlane);
  }
}

/**
 * Understands weftctl's command line; throws a usage error (exit code 2) that names what is wrong.
 * Flags may come before or after the command. Pure: the environment is passed in.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): Command {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      allowNegative: true,
      strict: true,
    });
  } catch (err) {
    throw usageError(`weftctl: ${(err as Error).message}\n\n${OVERVIEW}`);
  }
  const { values, positionals } = parsed;
  const [word, ...args] = positionals;
  if (word === undefined || word === 'help') {
    const topic = args[0];
    return { name: 'help', text: isCommand(topic) ? helpFor(topic) : OVERVIEW };
  }
  if (!isCommand(word)) throw usageError(`weftctl: unknown command "${word}"\n\n${OVERVIEW}`);
  if (values.help) return { name: 'help', text: helpFor(word) };
  checkFlags(word, values);
  return commandFor(word, args, values, env);
}
