import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { captureRules, cleanupCommands, type IpFamily } from './capture-rules.js';
import { parseCaptureFlags, type CaptureSettings } from './capture-settings.js';

const USAGE = `weft-init: installs the iptables rules that capture a pod's TCP traffic into its Weft proxy
(runs once per pod, in an init container with NET_ADMIN and NET_RAW)

  -p, --proxy-port 15001                   where outbound TCP is redirected
  -z, --inbound-capture-port 15006         where inbound TCP is redirected
  -u, --proxy-uid 1337                     the proxy's user: its own traffic is never captured
  -g, --proxy-gid (the uid)                the proxy's group, likewise
  -b, --include-inbound-ports '*'          inbound ports to capture: '*', a list, or '' for none
  -d, --exclude-inbound-ports ''           inbound ports left alone when -b is '*'
  -i, --include-outbound-cidrs '*'         outbound destinations to capture: '*', CIDRs, or '' for none
  -x, --exclude-outbound-cidrs ''          outbound CIDRs never captured
  -o, --exclude-outbound-ports ''          outbound ports never captured
      --ipv6                               capture IPv6 too (ip6tables)
      --dry-run                            print the iptables-restore document(s), change nothing
      --cleanup                            remove Weft's rules instead
Lists are comma-separated. Rules from an earlier run are removed first, so running twice is safe.`;

interface Invocation {
  readonly settings: CaptureSettings;
  readonly families: readonly IpFamily[];
  readonly dryRun: boolean;
  readonly cleanup: boolean;
}

function invocation(argv: string[]): Invocation | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      'proxy-port': { type: 'string', short: 'p' },
      'inbound-capture-port': { type: 'string', short: 'z' },
      'proxy-uid': { type: 'string', short: 'u' },
      'proxy-gid': { type: 'string', short: 'g' },
      'include-inbound-ports': { type: 'string', short: 'b' },
      'exclude-inbound-ports': { type: 'string', short: 'd' },
      'include-outbound-cidrs': { type: 'string', short: 'i' },
      'exclude-outbound-cidrs': { type: 'string', short: 'x' },
      'exclude-outbound-ports': { type: 'string', short: 'o' },
      ipv6: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      cleanup: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  return {
    settings: parseCaptureFlags({
      proxyPort: values['proxy-port'],
      inboundCapturePort: values['inbound-capture-port'],
      proxyUid: values['proxy-uid'],
      proxyGid: values['proxy-gid'],
      includeInboundPorts: values['include-inbound-ports'],
      excludeInboundPorts: values['exclude-inbound-ports'],
      includeOutboundCidrs: values['include-outbound-cidrs'],
      excludeOutboundCidrs: values['exclude-outbound-cidrs'],
      excludeOutboundPorts: values['exclude-outbound-ports'],
    }),
    families: values.ipv6 ? ['ipv4', 'ipv6'] : ['ipv4'],
    dryRun: values['dry-run'],
    cleanup: values.cleanup,
  };
}

const TOOLS: Record<IpFamily, { command: string; restore: string }> = {
  ipv4: { command: 'iptables', restore: 'iptables-restore' },
  ipv6: { command: 'ip6tables', restore: 'ip6tables-restore' },
};

/** A jump appended twice (by hand, or by a version without cleanup) needs as many deletions. */
const MAX_JUMP_DELETIONS = 16;

/** Removes Weft's rules; failures only mean there was nothing (more) to remove. */
function cleanup(family: IpFamily): void {
  for (const args of cleanupCommands()) {
    const repeats = args.includes('-D') ? MAX_JUMP_DELETIONS : 1;
    for (let i = 0; i < repeats; i += 1) {
      if (spawnSync(TOOLS[family].command, args, { stdio: 'ignore' }).status !== 0) break;
    }
  }
}

function apply(family: IpFamily, document: string): void {
  const { restore } = TOOLS[family];
  const res = spawnSync(restore, ['--noflush'], { input: document, encoding: 'utf8' });
  if (res.error) throw new Error(`cannot run ${restore}: ${res.error.message}; is iptables installed?`);
  if (res.status !== 0)
    throw new Error(
      `${restore} refused the rules (exit ${res.status}): ${res.stderr.trim()}\n` +
        'the container needs NET_ADMIN and NET_RAW; the document was:\n' +
        document,
    );
}

function main(): void {
  const run = invocation(process.argv.slice(2));
  if (!run) return console.log(USAGE);
  for (const family of run.families) {
    if (run.dryRun) {
      if (run.cleanup)
        for (const args of cleanupCommands()) console.log([TOOLS[family].command, ...args].join(' '));
      else process.stdout.write(captureRules(run.settings, family));
      continue;
    }
    cleanup(family);
    if (!run.cleanup) apply(family, captureRules(run.settings, family));
  }
  if (!run.dryRun)
    console.log(
      `weft-init: ${run.cleanup ? 'removed' : 'installed'} capture rules (${run.families.join(', ')})`,
    );
}

try {
  main();
} catch (err) {
  console.error(`weft-init: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
