import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ProxyConfig } from '../../proxy/config/generated/proxy-config.js';
import { injectionSettings } from '../../webhooks/injection/settings.js';
import { startWebhookServer } from '../../webhooks/server.js';
import { validators } from '../../webhooks/validation/index.js';
import { issueCertificate } from '../ca/issue.js';
import { CaServer, CSR_PATH } from '../ca/ca-server.js';
import { PUSH_PATH, PushServer, type PeerIdentity } from '../push/push-server.js';
import { ControlPlane } from './control-plane.js';
import { Discovery } from './discovery.js';
import { GatewayCredentials, secretReader } from './gateway-credentials.js';
import { listen, parseBindAddress } from '../runtime/listen.js';
import { MeshCaSource, trustBundleOf, type MeshCa } from './mesh-ca.js';
import { monitoringHandler } from './monitoring.js';
import { secureContextOptions, ServingCertificate, type ServingCredential } from './serving-certificate.js';

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
    initialConfig: (node, peer): ProxyConfig | undefined => controlPlane.configFor(node, peer),
  });
  const credentials = new GatewayCredentials({ read: secretReader(kc), log, registry });
  const controlPlane: ControlPlane = new ControlPlane(discovery, push, { log, credentials });
  let synced = false;

  const monitoring = createServer(monitoringHandler(registry, push, () => synced, credentials));
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
  void serveWithMeshCa(kc, discovery, push, controlPlane, registry, addresses, log).catch((err: unknown) =>
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

/** The serving certificate lives 30 days and is renewed at two thirds of that (serving-certificate.ts). */
const SERVING_VALIDITY_MS = 30 * 86_400_000;

/** A serving certificate for the control plane's Service, from the mesh CA as it is now. */
function servingCredential(mesh: MeshCa, validityMs: number): ServingCredential {
  const service = `weft-control-plane.${mesh.namespace}.svc`;
  const leaf = issueCertificate(
    {
      commonName: service,
      usage: 'server',
      validityMs,
      dnsNames: [service, `${service}.cluster.local`, 'localhost'],
      ipAddresses: ['127.0.0.1'],
    },
    { certPem: mesh.ca.certPem, keyPem: mesh.ca.keyPem },
  );
  return { ...leaf, chainPem: mesh.ca.chainPem, rootPem: mesh.rootPem };
}

/**
 * Once the mesh CA exists: the TLS port (15012), where proxies get certificates (token-authenticated)
 * and hold their push stream (client-certificate-authenticated), and the admission webhooks (15017),
 * both with a serving certificate from the mesh CA, whose root the proxies and API server trust. The
 * certificate is renewed before it expires and when the CA changes, in both servers at once; the
 * roots go to every proxy as its trust bundle, again whenever they change.
 */
async function serveWithMeshCa(
  kc: KubeConfig,
  discovery: Discovery,
  push: PushServer,
  controlPlane: ControlPlane,
  registry: Registry,
  addresses: { push: string; webhook: string },
  log: pino.Logger,
): Promise<void> {
  const mesh = await MeshCaSource.start(kc, discovery);
  const serving = await ServingCertificate.start({
    issue: (validityMs) => servingCredential(mesh.current, validityMs),
    validityMs: SERVING_VALIDITY_MS,
    log,
    registry,
  });
  controlPlane.setTrustBundle(trustBundleOf(mesh.current.rootPem));
  mesh.follow((ca) => {
    void serving.renew('mesh CA changed');
    controlPlane.setTrustBundle(trustBundleOf(ca.rootPem));
  }, log);
  if (addresses.push !== 'off') {
    const ca = new CaServer({
      kc,
      log,
      registry,
      current: () => mesh.current,
      hasWorkloadEntry: (namespace, serviceAccount) => discovery.hasWorkloadEntry(namespace, serviceAccount),
    });
    const pushContext = (c: ServingCredential): SecureContextOptions =>
      secureContextOptions(c, { verifyClients: true });
    const server = createSecureServer({
      ...pushContext(serving.current),
      requestCert: true,
      rejectUnauthorized: false,
    });
    serving.serve(server, pushContext);
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
    const webhookContext = (c: ServingCredential): SecureContextOptions =>
      secureContextOptions(c, { verifyClients: false });
    const server = await startWebhookServer({
      ...parseBindAddress(addresses.webhook),
      cert: serving.current.certPem + serving.current.chainPem,
      key: serving.current.keyPem,
      validators: validators({ destinationRules: () => discovery.destinationRules() }),
      injectionSettings: () => {
        const active = discovery.mesh();
        return active ? injectionSettings(active) : undefined;
      },
      log,
    });
    serving.serve(server, webhookContext);
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
