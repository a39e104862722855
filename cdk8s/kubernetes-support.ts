/**
 * The oldest Kubernetes Weft supports, in one place for everything that declares or checks it
 * (`weftctl check`, the OLM bundle's `minKubeVersion`). 1.29 because the injector makes the proxy a
 * native sidecar (a restartable init container, on by default from 1.29) and the CRDs' CEL
 * validation rules are GA from 1.29.
 */
export const MIN_KUBE_VERSION = '1.29.0';
