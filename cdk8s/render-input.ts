import type { DefaultedMeshSpec } from '../crds/defaults.js';

/** Everything a Mesh renders from. Gathered by the reconciler; the renderers do no I/O. */
export interface MeshRenderInput {
  readonly meshName: string;
  readonly spec: DefaultedMeshSpec;
  /** The mesh root certificate (PEM), once the certificate authority is ready. */
  readonly rootCertPem?: string;
  /** Namespaces selected for injection: each receives the root certificate ConfigMap. */
  readonly injectedNamespaces: readonly string[];
  /** Local development: the webhooks call this URL instead of the control-plane Service. */
  readonly controlPlaneUrl?: string;
  /**
   * Webhook configurations whose caBundle another field manager owns (the control plane rotating its
   * serving certificate); the operator leaves that field to it rather than fight over it.
   */
  readonly caBundleOwnedElsewhere?: ReadonlySet<string>;
}
