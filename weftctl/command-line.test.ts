import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError, exitCodes } from './cli-error.js';
import { parseCommandLine } from './command-line.js';
import { DEFAULT_CONTROL_PLANE } from './usage.js';

/** The usage error a command line gets, with its message. */
function usageErrorOf(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (err) {
    assert.ok(err instanceof CliError, String(err));
    assert.equal(err.exitCode, exitCodes.usage);
    return err.message;
  }
  assert.fail(`expected ${argv.join(' ')} to be refused`);
}

describe('weftctl command line', () => {
  it('reads proxy-status with the default control plane, the environment, or --control-plane', () => {
    assert.deepEqual(parseCommandLine(['proxy-status']), {
      name: 'proxy-status',
      controlPlane: DEFAULT_CONTROL_PLANE,
      output: 'table',
    });
    const env = { WEFT_CONTROL_PLANE: 'http://10.0.0.1:15014' };
    assert.equal(
      (parseCommandLine(['proxy-status'], env) as { controlPlane: string }).controlPlane,
      'http://10.0.0.1:15014',
    );
    assert.deepEqual(
      parseCommandLine(['--control-plane', 'http://cp:15014', 'proxy-status', '-o', 'json'], env),
      {
        name: 'proxy-status',
        controlPlane: 'http://cp:15014',
        output: 'json',
      },
    );
  });

  it('reads proxy-config with its proxy id and output format', () => {
    assert.deepEqual(parseCommandLine(['proxy-config', 'reviews-v1.shop', '--output=yaml']), {
      name: 'proxy-config',
      controlPlane: DEFAULT_CONTROL_PLANE,
      proxyId: 'reviews-v1.shop',
      output: 'yaml',
    });
    assert.match(usageErrorOf(['proxy-config']), /which proxy/);
    assert.match(
      usageErrorOf(['proxy-config', 'a', '-o', 'table']),
      /--output must be one of json, yaml, not "table"/,
    );
  });

  it('reads analyze of files (-f and paths together) or of the cluster, never both', () => {
    assert.deepEqual(parseCommandLine(['analyze', '-f', 'a.yaml', '-f', 'dir', 'b.yaml']), {
      name: 'analyze',
      source: { from: 'files', paths: ['a.yaml', 'dir', 'b.yaml'] },
      output: 'text',
    });
    assert.deepEqual(parseCommandLine(['analyze', '--cluster', '-n', 'shop', '--kubeconfig', '/k']), {
      name: 'analyze',
      source: { from: 'cluster', kubeconfig: '/k', namespace: 'shop' },
      output: 'text',
    });
    assert.match(usageErrorOf(['analyze', '--cluster', 'a.yaml']), /files or --cluster, not both/);
    assert.match(usageErrorOf(['analyze']), /nothing to check/);
    assert.match(usageErrorOf(['analyze', '-n', 'shop', 'a.yaml']), /--cluster only/);
  });

  it('reads manifest generate and refuses a missing or unknown subcommand', () => {
    assert.deepEqual(parseCommandLine(['manifest', 'generate', '-n', 'ops', '--image', 'weft:dev']), {
      name: 'manifest-generate',
      namespace: 'ops',
      image: 'weft:dev',
    });
    assert.match(usageErrorOf(['manifest']), /the subcommand is generate/);
    assert.match(usageErrorOf(['manifest', 'apply']), /the subcommand is generate/);
  });

  it('names a flag the command does not take, an unknown flag and an unknown command', () => {
    assert.match(usageErrorOf(['version', '--cluster']), /weftctl version does not take --cluster/);
    assert.match(usageErrorOf(['proxy-status', '--kubeconfig', 'k']), /does not take --kubeconfig/);
    assert.match(usageErrorOf(['proxy-status', '--bogus']), /Unknown option '--bogus'/);
    assert.match(usageErrorOf(['instal']), /unknown command "instal"/);
    assert.match(usageErrorOf(['version', 'extra']), /unexpected extra/);
  });

  it('reads install with its defaults: wait on, a 5 minute timeout per step', () => {
    assert.deepEqual(parseCommandLine(['install']), {
      name: 'install',
      namespace: undefined,
      image: undefined,
      meshFile: undefined,
      wait: true,
      timeoutMs: 300_000,
      kubeconfig: undefined,
    });
    assert.deepEqual(
      parseCommandLine([
        'install',
        '-n',
        'ops',
        '--image',
        'w:dev',
        '--mesh',
        'm.yaml',
        '--no-wait',
        '--timeout',
        '90s',
      ]),
      {
        name: 'install',
        namespace: 'ops',
        image: 'w:dev',
        meshFile: 'm.yaml',
        wait: false,
        timeoutMs: 90_000,
        kubeconfig: undefined,
      },
    );
    assert.match(
      usageErrorOf(['install', '--timeout', 'soon']),
      /--timeout must be a duration such as 90s or 5m, not "soon"/,
    );
    assert.match(usageErrorOf(['install', '--yes']), /weftctl install does not take --yes/);
  });

  it('reads uninstall, whose deletions need --yes or --force', () => {
    assert.deepEqual(parseCommandLine(['uninstall', '-y', '--keep-crds', '--kubeconfig', '/k']), {
      name: 'uninstall',
      namespace: undefined,
      keepCrds: true,
      yes: true,
      force: false,
      timeoutMs: 300_000,
      kubeconfig: '/k',
    });
    assert.equal((parseCommandLine(['uninstall', '--force']) as { force: boolean }).force, true);
    assert.match(usageErrorOf(['uninstall', '--mesh', 'm.yaml']), /does not take --mesh/);
  });

  it('reads check before (--pre) and after install, as text or JSON', () => {
    assert.deepEqual(parseCommandLine(['check']), {
      name: 'check',
      mode: 'post',
      namespace: undefined,
      controlPlane: DEFAULT_CONTROL_PLANE,
      output: 'text',
      kubeconfig: undefined,
    });
    assert.deepEqual(parseCommandLine(['check', '--pre', '-o', 'json', '-n', 'ops']), {
      name: 'check',
      mode: 'pre',
      namespace: 'ops',
      controlPlane: DEFAULT_CONTROL_PLANE,
      output: 'json',
      kubeconfig: undefined,
    });
    assert.match(usageErrorOf(['check', '-o', 'table']), /--output must be one of text, json/);
  });

  it('gives the overview, or a command help, for help and --help', () => {
    const overview = parseCommandLine([]);
    assert.equal(overview.name, 'help');
    assert.match((overview as { text: string }).text, /proxy-status .*\n.*proxy-config/);
    for (const argv of [
      ['help', 'analyze'],
      ['analyze', '--help'],
      ['analyze', '-h'],
    ]) {
      const help = parseCommandLine(argv) as { name: string; text: string };
      assert.equal(help.name, 'help');
      assert.match(help.text, /^usage: weftctl analyze/);
    }
  });
});
