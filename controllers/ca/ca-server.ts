import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { AuthenticationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import {
  identityForToken,
  isRegistrationToken,
  REGISTRATION_SECRET,
  type RegisteredIdentity,
} from './registration-tokens.js';
import { CsrRefused, signWorkloadCsr, type SigningCa, type WorkloadIdentity } from './signer.js';

export { CSR_PATH } from '../../proxy/identity/workload-identity.js';
/** The audience a proxy's projected ServiceAccount token must carry for the CA to accept it. */
export const CA_AUDIENCE = 'weft-ca';
const MAX_BODY_BYTES = 64 * 1024;

export interface CaServerOptions {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly registry: Registry;
  /** The signing CA, trust domain, certificate TTL and mesh namespace, as the Mesh currently says. */
  readonly current: () =>
    { ca: SigningCa; trustDomain: string; ttlMs: number; namespace: string } | undefined;
  /** Whether a WorkloadEntry in `namespace` runs as `serviceAccount`: registration tokens are for those only. */
  readonly hasWorkloadEntry: (namespace: string, serviceAccount: string) => boolean;
}

/** `system:serviceaccount:<namespace>:<name>` into its parts; anything else is not a workload. Pure. */
export function serviceAccountOf(
  username: string | undefined,
): { namespace: string; serviceAccount: string } | undefined {
  const m = /^system:serviceaccount:([a-z0-9-]+):([a-z0-9.-]+)$/.exec(username ?? '');
  return m ? { namespace: m[1]!, serviceAccount: m[2]! } : undefined;
}

/**
 * The certificate authority's endpoint: `POST /weft.ca.v1/certificates` with `{"csr": PEM}` and, as a
 * bearer token, the caller's projected ServiceAccount token (audience `weft-ca`, checked by
 * TokenReview) or, for a WorkloadEntry workload, its registration token (registration-tokens.ts). The
 * identity comes from that token, never from the CSR; a CSR asking for another identity is refused,
 * logged and counted.
 */
export class CaServer {
  private readonly tokens: AuthenticationV1Api;
  private readonly core: CoreV1Api;
  private readonly issued: Counter;
  private readonly refused: Counter<'reason'>;

  constructor(private readonly options: CaServerOptions) {
    this.tokens = options.kc.makeApiClient(AuthenticationV1Api);
    this.core = options.kc.makeApiClient(CoreV1Api);
    this.issued = new Counter({
      name: 'weft_ca_certificates_issued_total',
      help: 'Workload certificates signed.',
      registers: [options.registry],
    });
    this.refused = new Counter({
      name: 'weft_ca_certificates_refused_total',
      help: 'Certificate requests refused, by reason.',
      labelNames: ['reason'] as const,
      registers: [options.registry],
    });
  }

  handleStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const reply = (status: number, body: object): void => {
      if (stream.closed) return;
      stream.respond({ ':status': status, 'content-type': 'application/json' });
      stream.end(JSON.stringify(body) + '\n');
    };
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY_BYTES) reply(413, { error: `request over ${MAX_BODY_BYTES} bytes` });
    });
    stream.on('end', () => {
      this.sign(headers.authorization, body).then(
        (result) => reply(result.status, result.body),
        (err: unknown) => {
          this.options.log.error({ err }, 'certificate request failed');
          reply(500, { error: 'internal error' });
        },
      );
    });
  }

  private refuse(
    status: number,
    reason: string,
    error: string,
    context: object = {},
  ): { status: number; body: object } {
    this.refused.inc({ reason });
    this.options.log.warn({ reason, error, ...context }, 'certificate request refused');
    return { status, body: { error } };
  }

  private async sign(
    authorization: string | undefined,
    body: string,
  ): Promise<{ status: number; body: object }> {
    const current = this.options.current();
    if (!current) return { status: 503, body: { error: 'the mesh CA is not ready yet; retry' } };
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token)
      return this.refuse(
        401,
        'unauthenticated',
        'send the projected ServiceAccount token as "authorization: Bearer <token>"',
      );
    const account = isRegistrationToken(token)
      ? await this.registeredIdentity(token, current.namespace)
      : await this.serviceAccountIdentity(token);
    if (typeof account === 'string') return this.refuse(401, 'unauthenticated', account);
    const identity: WorkloadIdentity = { trustDomain: current.trustDomain, ...account };
    let csr: string;
    try {
      csr = (JSON.parse(body) as { csr?: unknown }).csr as string;
      if (typeof csr !== 'string') throw new Error('missing "csr"');
    } catch (err) {
      return this.refuse(400, 'malformed', `send {"csr": "<PEM>"}: ${(err as Error).message}`);
    }
    try {
      const certChain = signWorkloadCsr(csr, identity, current.ca, current.ttlMs);
      this.issued.inc();
      return { status: 200, body: { certChain } };
    } catch (err) {
      if (!(err instanceof CsrRefused)) throw err;
      return this.refuse(err.reason === 'foreign-identity' ? 403 : 400, err.reason, err.message, {
        caller: account,
      });
    }
  }

  /** The ServiceAccount a projected token proves, by TokenReview; or why it proves none. */
  private async serviceAccountIdentity(token: string): Promise<RegisteredIdentity | string> {
    const review = await this.tokens.createTokenReview({
      body: { spec: { token, audiences: [CA_AUDIENCE] } },
    });
    const account = review.status?.authenticated ? serviceAccountOf(review.status.user?.username) : undefined;
    return account ?? `the token is not a valid ServiceAccount token for audience ${CA_AUDIENCE}`;
  }

  /** The identity a registration token is for, while a WorkloadEntry still runs as it; or why none. */
  private async registeredIdentity(
    token: string,
    meshNamespace: string,
  ): Promise<RegisteredIdentity | string> {
    const where = `Secret ${meshNamespace}/${REGISTRATION_SECRET}`;
    let data: Record<string, string> = {};
    try {
      data =
        (await this.core.readNamespacedSecret({ name: REGISTRATION_SECRET, namespace: meshNamespace }))
          .data ?? {};
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
    const decoded = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
    );
    const id = identityForToken(token, decoded);
    if (!id) return `the registration token is not in ${where}`;
    if (!this.options.hasWorkloadEntry(id.namespace, id.serviceAccount))
      return `the registration token is for ${id.namespace}/${id.serviceAccount}, but no WorkloadEntry in ${id.namespace} runs as ${id.serviceAccount}`;
    return id;
  }
}
