import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { repoRoot } from '../cluster/paths.js';
import { waitUntil } from './wait.js';

/** Runs a command to completion and returns its standard output; throws with its output when it fails. */
export function run(command: string, args: readonly string[], input?: string): string {
  const res = spawnSync(command, args, { encoding: 'utf8', ...(input === undefined ? {} : { input }) });
  if (res.error) throw new Error(`${command}: ${res.error.message}`);
  if (res.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${res.status}:\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

const TOOLS = [
  ['ip', 'iproute2'],
  ['iptables-restore', 'iptables'],
  ['setpriv', 'util-linux'],
] as const;

/**
 * Whether this machine can build pods from network namespaces. A reason to skip only for what is
 * the environment's to give (root, and the right to create namespaces: containers without
 * CAP_SYS_ADMIN lack it); missing tools are a setup error and throw, with the package to install.
 */
export function podNetworkUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces and iptables need root';
  for (const [tool, pkg] of TOOLS) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is not installed: apt-get install -y ${pkg}`);
  }
  const probe = `weft-probe-${process.pid}`;
  const res = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (res.status !== 0) {
    if (/Operation not permitted|Permission denied/.test(res.stderr))
      return `this environment may not create network namespaces: ${res.stderr.trim()}`;
    throw new Error(`ip netns add failed: ${res.stderr}`);
  }
  run('ip', ['netns', 'del', probe]);
  return undefined;
}

/** A "pod": a network namespace with one interface on the pod network, and loopback. */
export interface Pod {
  readonly name: string;
  readonly netns: string;
  readonly address: string;
}

/** A process in a pod; `logs` is everything it printed so far. */
export interface PodProcess {
  readonly child: ChildProcess;
  logs(): string;
  /** Waits until the process has printed `text`; fails at once if it exits first. */
  printed(text: string, what: string): Promise<void>;
}

/**
 * Pods as network namespaces on one bridge, the bridge in a namespace of its own so the host's
 * network is never touched. Names carry the test's process id, so runs never collide. `destroy`
 * stops every process started here, then deletes every namespace (their interfaces go with them).
 */
export class PodNetwork {
  private readonly namespaces: string[] = [];
  private readonly processes: ChildProcess[] = [];
  private readonly bridgeNs: string;

  constructor(
    private readonly prefix: string,
    private readonly prefixLength = 24,
  ) {
    this.bridgeNs = this.namespace('bridge');
    try {
      run('ip', ['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
      run('ip', ['-n', this.bridgeNs, 'link', 'set', 'br0', 'up']);
    } catch (err) {
      spawnSync('ip', ['netns', 'del', this.bridgeNs]);
      throw err;
    }
  }

  addPod(name: string, address: string): Pod {
    const netns = this.namespace(name);
    const port = `p${this.namespaces.length}`;
    run('ip', [
      'link',
      'add',
      'eth0',
      'netns',
      netns,
      'type',
      'veth',
      'peer',
      'name',
      port,
      'netns',
      this.bridgeNs,
    ]);
    run('ip', ['-n', this.bridgeNs, 'link', 'set', port, 'master', 'br0', 'up']);
    run('ip', ['-n', netns, 'addr', 'add', `${address}/${this.prefixLength}`, 'dev', 'eth0']);
    run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    return { name, netns, address };
  }

  /** Runs `argv` in the pod to completion (as root) and returns its output. */
  exec(pod: Pod, argv: readonly string[], input?: string): string {
    return run('ip', ['netns', 'exec', pod.netns, ...argv], input);
  }

  /** Starts `argv` in the pod, as `uid` (same group) when given, from the repository root. */
  start(pod: Pod, argv: readonly string[], uid?: number): PodProcess {
    const user = uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    const child = spawn('ip', ['netns', 'exec', pod.netns, ...user, ...argv], {
      cwd: repoRoot,
      // A user other than root cannot read root's home; nothing here needs one.
      env: { ...process.env, HOME: '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.processes.push(child);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    return {
      child,
      logs: () => output,
      printed: async (text, what) => {
        await waitUntil(what, () => {
          if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output}`);
          return { done: output.includes(text), state: output.slice(-2_000) };
        });
      },
    };
  }

  async destroy(): Promise<void> {
    await Promise.all(this.processes.map((child) => stop(child)));
    for (const netns of this.namespaces.reverse()) spawnSync('ip', ['netns', 'del', netns]);
  }

  private namespace(name: string): string {
    const netns = `${this.prefix}-${name}`;
    run('ip', ['netns', 'add', netns]);
    this.namespaces.push(netns);
    return netns;
  }
}

/** SIGTERM, then SIGKILL if the process is still there when the grace period ends. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const grace = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(grace);
}
