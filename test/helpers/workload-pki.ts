import { generateRsaKeyPem, type KeyPair } from '../../controllers/ca/issue.js';
import { signWorkloadCsr, spiffeUri } from '../../controllers/ca/signer.js';
import { createCsr } from '../../proxy/identity/csr.js';

/**
 * A workload certificate made the way a proxy gets one: its own RSA key, a CSR, and the CA's signer
 * with `root` as the issuing CA (trust domain cluster.local, one hour), as PEM.
 */
export function workloadPem(
  root: KeyPair,
  namespace: string,
  serviceAccount: string,
): { certChain: string; key: string; spiffeId: string } {
  const key = generateRsaKeyPem();
  const identity = { trustDomain: 'cluster.local', namespace, serviceAccount };
  const certChain = signWorkloadCsr(
    createCsr(key),
    identity,
    { certPem: root.certPem, keyPem: root.keyPem, chainPem: root.certPem },
    3_600_000,
  );
  return { certChain, key, spiffeId: spiffeUri(identity) };
}
