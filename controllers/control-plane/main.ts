import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { meshSpecWithDefaults } from '../../crds/defaults.js';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { injectionSettings } from '../../webhooks/injection/settings.js';
import { startWebhookServer } from '../../webhooks/server.js';
import { validators } from '../../webhooks/validation/index.js';
import { issueCertificate } from '../ca/issue.js';
import { CaServer, CSR_PATH } from '../ca/ca-server.js';
import type { SigningCa } from '../ca/signer.js';
import { PUSH_PATH, PushServer, type PeerIdentity } from '../push/push-server.js';
import { parseDuration } from '../translate/durations.js';
import { waitForValue } from './wait.js';
import { ControlPlane } from './control-plane.js';
import { Discovery } from './discovery.js';
import { listen, parseBindAddress } from '../runtime/listen.js';
import { monitoringHandler } from './monitoring.js';

/**
 * weft-control-plane: discovery, translation and push to proxies, the injection and validating
 * webhooks, and the debug endpoints. Out of cluster (`npm run control-plane`) it uses $KUBECONFIG.
 */
const USAGE = `usage: weft-control-plane [options]
  --push-plaintext-address ADDR   serve the push stream without TLS (local development), e.g. 127.0.0.1:15010
  --monitoring-address ADDR       metrics, health and debug endpoints (default 127.0.0.1:15014)
  --push-address ADDR             certificates and config push over TLS (default 127.0.0.1:15012; "off" to disable)
  --webhook-address ADDR          admission webhooks over HTTPS (default 127.0.0.1:15017; "off" to disable)
  --log-level LEVEL               default info`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'push-plaintext-address': { type: 'string' },
      'monitoring-address': { type: 'string', default: '127.0.0.1:15014' },
      'webhook-address': { type: 'string', default: '127.0.0.1:15017' },
      'push-address': { type: 'string', default: '127.0.0.1:15012' },
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
  const addresses = { push: values['push-address'], webhook: values['webhook-address'] };
  void serveWithMeshCa(kc, discovery, push, registry, addresses, log).catch((err: unknown) =>
    log.error({ err }, 'serving the TLS endpoints failed'),
  );

  const stop = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    controlPlane.stop();
    for (const c of push.connections.values()) c.close();
    void discovery.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** The mesh CA as the control plane uses it: to sign workload certificates and its own serving one. */
interface MeshCa {
  readonly namespace: string;
  readonly trustDomain: string;
  readonly ttlMs: number;
  readonly ca: SigningCa;
  readonly rootPem: string;
}

/** Waits for the active Mesh and its CA Secret (the operator creates both). */
function meshCa(kc: KubeConfig, discovery: Discovery): Promise<MeshCa> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitForValue(async () => {
    const mesh = discovery.mesh();
    const secretRef = mesh?.status?.certificateAuthority?.secretName;
    if (!mesh || !secretRef) return undefined;
    const [namespace, name] = secretRef.split('/');
    const data = (await core.readNamespacedSecret({ name: name!, namespace: namespace! })).data;
    if (!data?.['ca-cert.pem'] || !data['ca-key.pem'] || !data['cert-chain.pem'] || !data['root-cert.pem'])
      return undefined;
    const decode = (v: string): string => Buffer.from(v, 'base64').toString('utf8');
    const spec = meshSpecWithDefaults(mesh.spec);
    return {
      namespace: spec.namespace,
      trustDomain: spec.security.trustDomain ?? 'cluster.local',
      ttlMs: parseDuration(spec.security.workloadCertTTL) ?? 86_400_000,
      ca: {
        certPem: decode(data['ca-cert.pem']),
        keyPem: decode(data['ca-key.pem']),
        chainPem: decode(data['cert-chain.pem']),
      },
      rootPem: decode(data['root-cert.pem']),
    };
  }, 1_000);
}

/**
 * Once the mesh CA exists: the TLS port (15012), where proxies get certificates (token-authenticated)
 * and hold their push stream (client-certificate-authenticated), and the admission webhooks (15017),
 * both with a serving certificate from the mesh CA, whose root the proxies and API server trust.
 */
async function serveWithMeshCa(
  kc: KubeConfig,
  discovery: Discovery,
  push: PushServer,
  registry: Registry,
  addresses: { push: string; webhook: string },
  log: pino.Logger,
): Promise<void> {
  const mesh = await meshCa(kc, discovery);
  const service = `weft-control-plane.${mesh.namespace}.svc`;
  const serving = issueCertificate(
    {
      commonName: service,
      usage: 'server',
      validDays: 30,
      dnsNames: [service, `${service}.cluster.local`, 'localhost'],
      ipAddresses: ['127.0.0.1'],
    },
    { certPem: mesh.ca.certPem, keyPem: mesh.ca.keyPem },
  );
  if (addresses.push !== 'off') {
    const ca = new CaServer({
      kc,
      log,
      registry,
      current: () => mesh,
      hasWorkloadEntry: (namespace, serviceAccount) => discovery.hasWorkloadEntry(namespace, serviceAccount),
    });
    const server = createSecureServer({
      cert: serving.certPem + mesh.ca.chainPem,
      key: serving.keyPem,
      ca: mesh.rootPem,
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.on('stream', (stream, headers) => {
      if (headers[':path'] === CSR_PATH) return ca.handleStream(stream, headers);
      const peer = peerIdentity(stream.session?.socket as TLSSocket | undefined);
      if (!peer) {
        stream.respond({ ':status': 401, 'content-type': 'text/plain' });
        stream.end(`present a workload certificate from the mesh CA to ${PUSH_PATH}\n`);
        return;
      }
      push.handleStream(stream, headers, peer);
    });
    log.info({ port: await listen(server, addresses.push) }, 'serving certificates and config push over TLS');
  }
  if (addresses.webhook !== 'off') {
    await startWebhookServer({
      ...parseBindAddress(addresses.webhook),
      cert: serving.certPem,
      key: serving.keyPem,
      validators: validators({ destinationRules: () => discovery.destinationRules() }),
      injectionSettings: () => {
        const active = discovery.mesh();
        return active ? injectionSettings(active) : undefined;
      },
      log,
    });
    log.info({ address: addresses.webhook }, 'serving admission webhooks');
  }
}

/** The namespace and service account of a verified client certificate's SPIFFE ID. */
function peerIdentity(socket: TLSSocket | undefined): PeerIdentity | undefined {
  if (!socket?.authorized) return undefined;
  const san = socket.getPeerCertificate()?.subjectaltname ?? '';
  const m = /URI:spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^,\s]+)/.exec(san);
  return m ? { namespace: m[1]!, serviceAccount: m[2]! } : undefined;
}

main().catch((err: unknown) => {
  console.error(`weft-control-plane: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
