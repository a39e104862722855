import type { V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { ROOT_CERT_CONFIGMAP } from '../../cdk8s/names.js';
import { CA_AUDIENCE } from '../../controllers/ca/ca-server.js';

const TOKEN_DIR = '/var/run/secrets/weft/tokens';
const ROOT_CERT_DIR = '/var/run/secrets/weft/root-cert';

export const proxyFiles = {
  token: `${TOKEN_DIR}/weft-ca-token`,
  rootCert: `${ROOT_CERT_DIR}/root-cert.pem`,
} as const;

export const volumeNames = { token: 'weft-token', rootCert: 'weft-root-cert' } as const;

/**
 * The proxy's identity inputs: a ServiceAccount token projected for the CA's audience only (the
 * pod's default token, if mounted at all, is for the API server and must not leave the pod), and
 * the mesh root certificate the operator publishes to every injected namespace. The kubelet renews
 * the token at 80% of its life, well before the proxy renews its 24 h certificate at half-life.
 */
export function proxyVolumes(): V1Volume[] {
  return [
    {
      name: volumeNames.token,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: CA_AUDIENCE,
              expirationSeconds: 43_200,
              path: 'weft-ca-token',
            },
          },
        ],
      },
    },
    { name: volumeNames.rootCert, configMap: { name: ROOT_CERT_CONFIGMAP } },
  ];
}

export function proxyVolumeMounts(): V1VolumeMount[] {
  return [
    { name: volumeNames.token, mountPath: TOKEN_DIR, readOnly: true },
    { name: volumeNames.rootCert, mountPath: ROOT_CERT_DIR, readOnly: true },
  ];
}
