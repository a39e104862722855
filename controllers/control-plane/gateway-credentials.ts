import { X509Certificate } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { ProxyConfig, TlsSecret } from '../../proxy/config/generated/proxy-config.js';
import type { ProxyAnnouncement } from '../../proxy/config/generated/push-protocol.js';
import { CA_SECRET_SUFFIX, tlsSecretFrom, type TlsSecretResult } from '../discovery/tls-secret.js';
import type { PeerIdentity } from '../push/proxy-connection.js';

/**
 * Gateway credentials (Istio's SDS for gateways): the Secrets that Gateway servers name in
 * `tls.credentialName`, read from the gateway workload's namespace and sent only to gateway proxies
 * whose verified identity is in that namespace. The Secrets are read by name, never listed
 * (docs/adr/0011-gateway-credentials-by-get.md): when a gateway's configuration names a credential
 * not read yet, and every 30 s for rotations. A Secret that goes bad or away keeps the credential
 * last read from it, as Istio does, and the problem shows in the log, in
 * `weft_gateway_credential_problems` and at /debug/gateway-credentials.
 */

/** A Gateway server that names a credential, as its translated listener says. */
export interface CredentialReference {
  readonly credentialName: string;
  /** The Gateway, `namespace/name`. */
  readonly gateway: string;
  readonly port: number;
  readonly hosts: readonly string[];
  readonly mutual: boolean;
}

/** The credentials a proxy configuration's gateway listeners name. Pure. */
export function credentialReferences(config: Pick<ProxyConfig, 'listeners'>): CredentialReference[] {
  return config.listeners.flatMap((l) => {
    const tls = l.tls;
    if (l.direction !== 'gateway' || !tls?.credentialName) return [];
    if (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL') return [];
    return [
      {
        credentialName: tls.credentialName,
        // Translated TLS gateway listeners are named gateway|<port>|<namespace>/<name>|<port name> (ADR 0014).
        gateway: l.name.split('|')[2] ?? l.name,
        port: l.port,
        hosts: tls.hosts ?? [],
        mutual: tls.mode === 'MUTUAL',
      },
    ];
  });
}

/**
 * The namespace whose credentials a proxy may receive: a gateway's, proven by the client certificate
 * it holds its push stream with. Sidecars, and any proxy on the plaintext port, get none. Pure.
 */
export function credentialNamespace(
  node: ProxyAnnouncement,
  peer: PeerIdentity | undefined,
): string | undefined {
  if (node.role !== 'gateway' || !peer || peer.namespace !== node.namespace) return undefined;
  return peer.namespace;
}

/** The secrets one proxy gets for `refs`, from what has been read. Pure. */
export function secretsFor(
  node: ProxyAnnouncement,
  peer: PeerIdentity | undefined,
  refs: readonly CredentialReference[],
  lookup: (namespace: string, name: string) => TlsSecret | undefined,
): TlsSecret[] {
  const namespace = credentialNamespace(node, peer);
  if (!namespace) return [];
  const names = [...new Set(refs.map((r) => r.credentialName))].sort();
  return names.flatMap((name) => lookup(namespace, name) ?? []);
}

/** One credential wanted by connected gateways. */
export interface CredentialDemand {
  readonly namespace: string;
  readonly name: string;
  readonly refs: readonly CredentialReference[];
}

/** Every credential the connected gateways need, by `namespace/name`. Pure. */
export function credentialDemands(
  proxies: Iterable<{ node: ProxyAnnouncement; peer?: PeerIdentity; refs: readonly CredentialReference[] }>,
): Map<string, CredentialDemand> {
  const demands = new Map<string, CredentialDemand>();
  for (const { node, peer, refs } of proxies) {
    const namespace = credentialNamespace(node, peer);
    if (!namespace) continue;
    for (const ref of refs) {
      const key = `${namespace}/${ref.credentialName}`;
      const before = demands.get(key);
      const known = before?.refs.some((r) => r.gateway === ref.gateway && r.port === ref.port);
      demands.set(key, {
        namespace,
        name: ref.credentialName,
        refs: known ? before!.refs : [...(before?.refs ?? []), ref],
      });
    }
  }
  return demands;
}

/** One credential in /debug/gateway-credentials: never its key. */
export interface CredentialStatus {
  readonly secret: string;
  readonly usedBy: readonly string[];
  /** OK, or STALE (a problem, serving the credential read before), or MISSING (a problem, nothing to serve). */
  readonly status: 'OK' | 'STALE' | 'MISSING';
  readonly problem?: string;
  readonly certificate?: {
    readonly subject: string;
    readonly notAfter: string;
    readonly fingerprint256: string;
  };
}

interface Entry {
  good?: TlsSecret;
  problem?: string;
  refs: readonly CredentialReference[];
}

/** Reads one Secret by name; undefined when it does not exist. */
export type ReadSecret = (namespace: string, name: string) => Promise<V1Secret | undefined>;

export function secretReader(kc: KubeConfig): ReadSecret {
  const core = kc.makeApiClient(CoreV1Api);
  return async (namespace, name) => {
    try {
      return await core.readNamespacedSecret({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };
}

const describeRef = (r: CredentialReference): string =>
  `Gateway ${r.gateway} server on port ${r.port} (hosts ${r.hosts.join(', ') || '*'})`;

export interface GatewayCredentialsOptions {
  readonly read: ReadSecret;
  readonly log: Logger;
  readonly registry: Registry;
}

/** What the control plane has read of the credentials connected gateways need. */
export class GatewayCredentials {
  private readonly entries = new Map<string, Entry>();
  private readonly problems: Gauge<'namespace' | 'secret'>;

  constructor(private readonly options: GatewayCredentialsOptions) {
    this.problems = new Gauge({
      name: 'weft_gateway_credential_problems',
      help: 'Gateway credentials (tls.credentialName Secrets) that are missing or unusable: 1 while the problem lasts; /debug/gateway-credentials and the log say what to fix.',
      labelNames: ['namespace', 'secret'] as const,
      registers: [options.registry],
    });
  }

  /** The credential last read well, if any. */
  lookup(namespace: string, name: string): TlsSecret | undefined {
    return this.entries.get(`${namespace}/${name}`)?.good;
  }

  /** Whether this credential has been read (well or not) since it was first wanted. */
  known(namespace: string, name: string): boolean {
    return this.entries.has(`${namespace}/${name}`);
  }

  /**
   * Reads every wanted credential and forgets the rest. Resolves to whether a credential that
   * proxies receive changed (appeared, rotated); a problem alone changes nothing they receive.
   */
  async sync(demands: ReadonlyMap<string, CredentialDemand>): Promise<boolean> {
    for (const key of [...this.entries.keys()]) {
      if (demands.has(key)) continue;
      this.entries.delete(key);
      const [namespace, secret] = key.split('/');
      this.problems.remove({ namespace: namespace!, secret: secret! });
    }
    const results = await Promise.all([...demands.values()].map((d) => this.readOne(d)));
    return results.some(Boolean);
  }

  private async readOne(demand: CredentialDemand): Promise<boolean> {
    const { namespace, name, refs } = demand;
    const key = `${namespace}/${name}`;
    const result = await this.readCredential(
      namespace,
      name,
      refs.some((r) => r.mutual),
    );
    const before = this.entries.get(key);
    const entry: Entry = { ...(before?.good ? { good: before.good } : {}), refs };
    if (result.ok) {
      entry.good = result.secret;
      if (before?.problem)
        this.options.log.info(
          { secret: key, usedBy: refs.map(describeRef) },
          'gateway credential usable again',
        );
      this.problems.remove({ namespace, secret: name });
    } else {
      entry.problem = result.error;
      this.problems.set({ namespace, secret: name }, 1);
      if (before?.problem !== result.error) this.warn(key, refs, result, !!entry.good);
    }
    this.entries.set(key, entry);
    return !!entry.good && !sameSecret(entry.good, before?.good);
  }

  private async readCredential(namespace: string, name: string, mutual: boolean): Promise<TlsSecretResult> {
    try {
      const secret = await this.options.read(namespace, name);
      const ownCa = secret?.data?.['ca.crt'] ?? secret?.stringData?.['ca.crt'];
      const caSecret =
        mutual && secret && !ownCa
          ? await this.options.read(namespace, `${name}${CA_SECRET_SUFFIX}`)
          : undefined;
      return tlsSecretFrom(namespace, name, secret, { mutual, ...(caSecret ? { caSecret } : {}) });
    } catch (err) {
      return {
        ok: false,
        error: `reading Secret ${namespace}/${name} failed: ${(err as Error).message}; the control plane reads credentials only in the namespaces where the Mesh deploys gateways (spec.gateways[].namespace)`,
      };
    }
  }

  private warn(
    secret: string,
    refs: readonly CredentialReference[],
    result: { error: string; key?: string },
    keptLastGood: boolean,
  ): void {
    for (const ref of refs) {
      this.options.log.warn(
        {
          gateway: ref.gateway,
          server: { port: ref.port, hosts: ref.hosts, mode: ref.mutual ? 'MUTUAL' : 'SIMPLE' },
          secret,
          ...(result.key ? { secretKey: result.key } : {}),
          keptLastGood,
        },
        `gateway credential unusable for ${describeRef(ref)}: ${result.error}. ${
          keptLastGood
            ? 'The gateway keeps serving the credential read before.'
            : 'The gateway does not serve this server until the Secret is fixed.'
        }`,
      );
    }
  }

  /** /debug/gateway-credentials: what was read, for whom, and any problem; never a private key. */
  status(): CredentialStatus[] {
    return [...this.entries.entries()]
      .map(([secret, e]) => {
        const leaf = e.good ? firstCertificate(e.good.certificateChain) : undefined;
        return {
          secret,
          usedBy: e.refs.map(describeRef),
          status: e.problem ? (e.good ? 'STALE' : 'MISSING') : 'OK',
          ...(e.problem ? { problem: e.problem } : {}),
          ...(leaf ? { certificate: leaf } : {}),
        } satisfies CredentialStatus;
      })
      .sort((a, b) => a.secret.localeCompare(b.secret));
  }
}

const sameSecret = (a: TlsSecret, b: TlsSecret | undefined): boolean =>
  !!b &&
  a.certificateChain === b.certificateChain &&
  a.privateKey === b.privateKey &&
  a.caCertificates === b.caCertificates;

function firstCertificate(chain: string): CredentialStatus['certificate'] {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chain)?.[0];
  if (!pem) return undefined;
  const cert = new X509Certificate(pem);
  return {
    subject: cert.subject,
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}
