import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { meshSpecWithDefaults } from '../../crds/defaults.js';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { startWebhookServer } from '../../webhooks/server.js';
import { validators } from '../../webhooks/validation/index.js';
import { issueCertificate } from '../ca/issue.js';
import { PushServer } from '../push/push-server.js';
import { waitForValue } from './wait.js';
import { ControlPlane } from './control-plane.js';
import { Discovery } from './discovery.js';
import { listen, monitoringHandler } from './monitoring.js';

/**
 * weft-control-plane: discovery, translation and push to proxies, the validating webhook, and the
 * debug endpoints. Out of cluster (`npm run control-plane`) it uses $KUBECONFIG.
 */
const USAGE = `usage: weft-control-plane [options]
  --push-plaintext-address ADDR   serve the push stream without TLS (local development), e.g. 127.0.0.1:15010
  --monitoring-address ADDR       metrics, health and debug endpoints (default 127.0.0.1:15014)
  --webhook-address ADDR          admission webhooks over HTTPS (default 127.0.0.1:15017; "off" to disable)
  --log-level LEVEL               default info`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'push-plaintext-address': { type: 'string' },
      'monitoring-address': { type: 'string', default: '127.0.0.1:15014' },
      'webhook-address': { type: 'string', default: '127.0.0.1:15017' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(USAGE);
  const log = pino({ name: 'weft-control-plane', level: values['log-level'] });
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // Discovery and push call into the control plane, which is built from them; the callbacks only
  // run once everything is constructed.
  const discovery = new Discovery(kc, log, (kind) => controlPlane.changed(kind));
  const push: PushServer = new PushServer({
    log,
    registry,
    initialConfig: (node): ProxyConfig | undefined => controlPlane.configFor(node),
  });
  const controlPlane: ControlPlane = new ControlPlane(discovery, push, { log });
  let synced = false;

  const monitoring = createServer(monitoringHandler(registry, push, () => synced));
  log.info(
    { port: await listen(monitoring, values['monitoring-address']) },
    'serving metrics and debug endpoints',
  );
  await discovery.start();
  synced = true;
  log.info('discovery synced');

  if (values['push-plaintext-address']) {
    const server = PushServer.createServer();
    push.attach(server);
    log.warn(
      { port: await listen(server, values['push-plaintext-address']) },
      'serving config push WITHOUT TLS (local development only)',
    );
  }
  if (values['webhook-address'] !== 'off') {
    const address = values['webhook-address'];
    void serveWebhooks(kc, discovery, address, log).catch((err: unknown) =>
      log.error({ err }, 'webhook server failed'),
    );
  }

  const stop = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    controlPlane.stop();
    for (const c of push.connections.values()) c.close();
    void discovery.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/**
 * Serves the validating webhook with a certificate issued by the mesh CA (the operator publishes its
 * root as the webhooks' caBundle), once the Mesh and its CA exist.
 */
async function serveWebhooks(
  kc: KubeConfig,
  discovery: Discovery,
  address: string,
  log: pino.Logger,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const ca = await waitForValue(async () => {
    const mesh = discovery.mesh();
    const secretRef = mesh?.status?.certificateAuthority?.secretName;
    if (!mesh || !secretRef) return undefined;
    const [namespace, name] = secretRef.split('/');
    const secret = await core
      .readNamespacedSecret({ name: name!, namespace: namespace! })
      .catch(() => undefined);
    const data = secret?.data;
    if (!data?.['ca-cert.pem'] || !data['ca-key.pem']) return undefined;
    const decode = (v: string): string => Buffer.from(v, 'base64').toString('utf8');
    return {
      namespace: meshSpecWithDefaults(mesh.spec).namespace,
      certPem: decode(data['ca-cert.pem']),
      keyPem: decode(data['ca-key.pem']),
    };
  }, 1_000);
  const service = `weft-control-plane.${ca.namespace}.svc`;
  const serving = issueCertificate(
    {
      commonName: service,
      usage: 'server',
      validDays: 30,
      dnsNames: [service, `${service}.cluster.local`, 'localhost'],
      ipAddresses: ['127.0.0.1'],
    },
    ca,
  );
  const at = address.lastIndexOf(':');
  await startWebhookServer({
    host: address.slice(0, at) || '0.0.0.0',
    port: Number(address.slice(at + 1)),
    cert: serving.certPem,
    key: serving.keyPem,
    validators: validators({ destinationRules: () => discovery.destinationRules() }),
    log,
  });
  log.info({ address }, 'serving admission webhooks');
}

main().catch((err: unknown) => {
  console.error(`weft-control-plane: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
