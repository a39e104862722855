import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { meshSpecWithDefaults } from '../../crds/defaults.js';
import { pemCertificates } from '../../proxy/identity/trust-bundle.js';
import type { SigningCa } from '../ca/signer.js';
import { parseDuration } from '../translate/durations.js';
import type { Discovery } from './discovery.js';
import { waitForValue } from './wait.js';

/** The mesh CA as the control plane uses it: to sign workload certificates and its own serving one. */
export interface MeshCa {
  readonly namespace: string;
  readonly trustDomain: string;
  readonly ttlMs: number;
  readonly ca: SigningCa;
  readonly rootPem: string;
}

/** How often the CA Secret is re-read. */
const FOLLOW_INTERVAL_MS = 30_000;

/** The active Mesh's CA, read from its Secret; undefined until the operator has made both. */
async function readMeshCa(core: CoreV1Api, discovery: Discovery): Promise<MeshCa | undefined> {
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
}

/** Whether the certificates or key differ: what a serving certificate issued from `a` depends on. Pure. */
export function caMaterialChanged(a: MeshCa, b: MeshCa): boolean {
  return (
    a.ca.certPem !== b.ca.certPem ||
    a.ca.keyPem !== b.ca.keyPem ||
    a.ca.chainPem !== b.ca.chainPem ||
    a.rootPem !== b.rootPem
  );
}

/**
 * The trust bundle proxies get (security.trustBundle): every certificate of root-cert.pem, one PEM
 * each, in order, without repeats. Several during a root rotation (docs/root-ca-rotation.md). Pure.
 */
export function trustBundleOf(rootPem: string): string[] {
  return [...new Set(pemCertificates(rootPem))];
}

/**
 * The active Mesh's CA, kept current: the CA Secret is re-read every 30 s, so a replaced plug-in CA
 * or a changed set of roots (docs/root-ca-rotation.md) reaches the signer, the serving certificate
 * and the proxies' trust bundle without a restart. One named Secret: a GET now and then is simpler than a
 * watch, which RBAC scoped by resourceName allows only with a field selector the shared Informer
 * does not take.
 */
export class MeshCaSource {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly read: () => Promise<MeshCa | undefined>,
    private value: MeshCa,
  ) {}

  /** Waits for the active Mesh and its CA Secret (the operator creates both). */
  static async start(kc: KubeConfig, discovery: Discovery): Promise<MeshCaSource> {
    const core = kc.makeApiClient(CoreV1Api);
    const read = (): Promise<MeshCa | undefined> => readMeshCa(core, discovery);
    return new MeshCaSource(read, await waitForValue(read, 1_000));
  }

  get current(): MeshCa {
    return this.value;
  }

  /** Re-reads the Secret from now on; `onCaChange` runs when the CA certificates or key changed. */
  follow(onCaChange: (ca: MeshCa) => void, log: Logger): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      this.read().then(
        (next) => {
          // No Mesh or an incomplete Secret for a moment (a Mesh being replaced): keep signing with what we have.
          if (!next) return;
          const changed = caMaterialChanged(this.value, next);
          this.value = next;
          if (!changed) return;
          log.info({ namespace: next.namespace }, 'the mesh CA changed');
          onCaChange(next);
        },
        (err: unknown) => log.warn({ err }, 'reading the mesh CA Secret failed; keeping the CA read before'),
      );
    }, FOLLOW_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
