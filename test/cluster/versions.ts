/**
 * The one place the local cluster's versions are pinned. Bumping Kubernetes means changing
 * this line; the build script derives the staging-module versions from it.
 */
export const KUBERNETES_VERSION = 'v1.35.4';
export const KWOK_VERSION = 'v0.8.0';
