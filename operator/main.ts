import { parseArgs } from 'node:util';
import pino from 'pino';
import { setupMeshController } from '../controllers/mesh/setup.js';
import { Manager } from './manager.js';

/**
 * weft-operator: reconciles Mesh resources into a running mesh. Out of cluster (`npm run operator`)
 * it uses $KUBECONFIG; `--control-plane-url` points the webhooks at a locally running control plane.
 */
const USAGE = `usage: weft-operator [options]
  --control-plane-url URL          webhooks call this base URL (local development) instead of the control-plane Service
  --metrics-bind-address ADDR      default 127.0.0.1:8080
  --health-probe-bind-address ADDR default 127.0.0.1:8081
  --leader-elect=false             disable leader election (on by default)
  --leader-election-namespace NS   default $POD_NAMESPACE or "default"
  --leader-election-lease-duration SECONDS  default 15
  --log-level LEVEL                trace | debug | info | warn | error (default info)`;

function options(argv: string[]): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({
      args: argv,
      options: {
        'control-plane-url': { type: 'string' },
        'metrics-bind-address': { type: 'string', default: '127.0.0.1:8080' },
        'health-probe-bind-address': { type: 'string', default: '127.0.0.1:8081' },
        'leader-elect': { type: 'string', default: 'true' },
        'leader-election-namespace': { type: 'string', default: process.env.POD_NAMESPACE ?? 'default' },
        'leader-election-lease-duration': { type: 'string', default: '15' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    console.error(`weft-operator: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const { values } = options(process.argv.slice(2));
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const log = pino({ name: 'weft-operator', level: String(values['log-level']) });
  const leaseSeconds = Number(values['leader-election-lease-duration']);
  const manager = new Manager({
    log,
    metricsBindAddress: String(values['metrics-bind-address']),
    probeBindAddress: String(values['health-probe-bind-address']),
    leaderElection:
      values['leader-elect'] === 'false'
        ? undefined
        : {
            namespace: String(values['leader-election-namespace']),
            name: 'weft-operator',
            leaseDurationMs: leaseSeconds * 1000,
          },
  });
  const controlPlaneUrl = values['control-plane-url'] as string | undefined;
  setupMeshController(manager, log, controlPlaneUrl);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    manager.shutdown().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log.info({ controlPlaneUrl }, 'starting');
  await manager.start();
}

main().catch((err: unknown) => {
  console.error(`weft-operator: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
