import type { Mesh } from '../../crds/generated/types/mesh.js';
import type { ProxyStatusEntry } from '../../controllers/push/push-server.js';
import type { DeploymentReadiness } from '../kube/readiness.js';

/**
 * What `weftctl check` gathered from the cluster and the control plane, before judging any of it:
 * the evaluators are pure functions of these facts, so every verdict and hint is unit-tested
 * without a cluster.
 */

/** A value read, or why it could not be: the HTTP status when the API server answered, and its words. */
export type Fetched<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly status?: number; readonly message: string };

export interface CertificateFact {
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly fingerprint256: string;
}

export interface CrdFact {
  readonly name: string;
  readonly present: boolean;
  readonly labels: Readonly<Record<string, string>>;
  readonly established: boolean;
}

/** One SelfSubjectAccessReview: may the user do `verb` on `resource` (`group/resource`, core as `resource`)? */
export interface AccessFact {
  readonly verb: string;
  readonly resource: string;
  readonly namespace?: string;
  readonly allowed: boolean;
  readonly reason?: string;
}

export interface PodFact {
  readonly name: string;
  /** On a kwok node: the pod's status is simulated and its containers never run. */
  readonly simulated: boolean;
}

export interface OperatorDeploymentFact {
  readonly namespace: string;
  readonly name: string;
  /** app.kubernetes.io/version, which cdk8s/operator-install.ts sets to the Weft release. */
  readonly version?: string;
  readonly image?: string;
  readonly readiness: DeploymentReadiness;
  readonly pods: readonly PodFact[];
}

export interface LeaseFact {
  readonly holder?: string;
  readonly renewTime?: string;
  readonly durationSeconds?: number;
}

export interface WebhookFact {
  readonly name: string;
  readonly url?: string;
  readonly service?: string;
  /** The caBundle, decoded to PEM. */
  readonly caBundle?: string;
}

export interface WebhookConfigurationFact {
  readonly name: string;
  readonly webhooks: readonly WebhookFact[];
}

/** A server-side dry-run create of a VirtualService the validating webhook must refuse. */
export type DryRunFact =
  | { readonly outcome: 'rejected'; readonly message: string }
  | { readonly outcome: 'accepted' }
  | { readonly outcome: 'failed'; readonly status?: number; readonly message: string };

/** The webhook's serving certificate, read by connecting to it (possible when the webhook is a URL). */
export type ServingCertificateFact =
  | {
      readonly seen: true;
      readonly url: string;
      readonly certificate: CertificateFact;
      readonly trusted: boolean;
      readonly trustError?: string;
    }
  | { readonly seen: false; readonly reason: string };

export interface ClusterFacts {
  readonly server: string;
  readonly weftctlVersion: string;
  /** The API server's gitVersion (v1.35.4); not ok when it did not answer. */
  readonly kubernetes: Fetched<string>;
  /** Every Weft CRD by name, present or not. */
  readonly crds: Fetched<readonly CrdFact[]>;
  readonly operatorNamespace: string;
}

export interface PreFacts extends ClusterFacts {
  readonly access: readonly AccessFact[];
}

export interface MeshFacts {
  readonly webhooks: Fetched<{
    readonly validating?: WebhookConfigurationFact;
    readonly mutating?: WebhookConfigurationFact;
  }>;
  readonly dryRun: DryRunFact;
  /** The root certificate from the CA Secret; or, if that cannot be read, only the status's expiry. */
  readonly root: Fetched<CertificateFact>;
  readonly serving: ServingCertificateFact;
}

export interface PostFacts extends ClusterFacts {
  readonly now: string;
  /** weft-operator Deployments (by app.kubernetes.io/name) in every namespace. */
  readonly operators: Fetched<readonly OperatorDeploymentFact[]>;
  readonly lease: Fetched<LeaseFact | undefined>;
  readonly meshes: Fetched<readonly Mesh[]>;
  /** Gathered for the active Mesh only; absent when there is none. */
  readonly mesh?: MeshFacts;
  readonly controlPlane: string;
  readonly proxies: Fetched<readonly ProxyStatusEntry[]>;
}
