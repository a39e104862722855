import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { apiserverUrl } from './components.js';
import { paths } from './paths.js';
import { issueCertificate, type KeyPair } from '../../controllers/ca/issue.js';

/** A client identity of the local cluster; `system:masters` gives the admin and kwok full access. */
interface ClusterUser {
  readonly name: string;
  readonly commonName: string;
  readonly organization?: string;
  readonly kubeconfig: string;
}

const users: readonly ClusterUser[] = [
  { name: 'admin', commonName: 'weft-admin', organization: 'system:masters', kubeconfig: paths.kubeconfig },
  {
    name: 'kube-controller-manager',
    commonName: 'system:kube-controller-manager',
    kubeconfig: join(paths.clusterDir, 'kube-controller-manager.kubeconfig'),
  },
  {
    name: 'kube-scheduler',
    commonName: 'system:kube-scheduler',
    kubeconfig: join(paths.clusterDir, 'kube-scheduler.kubeconfig'),
  },
  {
    name: 'kwok',
    commonName: 'kwok',
    organization: 'system:masters',
    kubeconfig: join(paths.clusterDir, 'kwok.kubeconfig'),
  },
];

/** A kubeconfig with embedded credentials, so it works when copied anywhere. Pure. */
export function renderKubeconfig(caPem: string, user: string, client: KeyPair): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'weft-local', cluster: { server: apiserverUrl, 'certificate-authority-data': b64(caPem) } },
    ],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) },
      },
    ],
    contexts: [{ name: 'weft-local', context: { cluster: 'weft-local', user } }],
    'current-context': 'weft-local',
  });
}

function writePair(base: string, pair: KeyPair): void {
  writeFileSync(join(paths.pkiDir, `${base}.crt`), pair.certPem);
  writeFileSync(join(paths.pkiDir, `${base}.key`), pair.keyPem, { mode: 0o600 });
}

/**
 * Generates the cluster's certificates and kubeconfigs once; later `up`s reuse them, which keeps
 * a warm start fast and existing kubeconfigs valid.
 */
export function ensureClusterPki(): string {
  mkdirSync(paths.pkiDir, { recursive: true });
  const caCrt = join(paths.pkiDir, 'ca.crt');
  if (
    existsSync(caCrt) &&
    existsSync(join(paths.pkiDir, 'loopback-serving.crt')) &&
    users.every((u) => existsSync(u.kubeconfig))
  )
    return readFileSync(caCrt, 'utf8');

  const ca = issueCertificate({ commonName: 'weft-local-cluster-ca', usage: 'ca', validDays: 3650 });
  writePair('ca', ca);
  writePair(
    'apiserver',
    issueCertificate(
      {
        commonName: 'kube-apiserver',
        usage: 'server',
        validDays: 3650,
        dnsNames: [
          'localhost',
          'kubernetes',
          'kubernetes.default',
          'kubernetes.default.svc',
          'kubernetes.default.svc.cluster.local',
        ],
        ipAddresses: ['127.0.0.1', '10.96.0.1'],
      },
      ca,
    ),
  );
  // kube-controller-manager and kube-scheduler serve health on loopback; a CA-signed certificate
  // lets `cluster status` verify them instead of skipping verification.
  writePair(
    'loopback-serving',
    issueCertificate(
      {
        commonName: 'weft-local-loopback',
        usage: 'server',
        validDays: 3650,
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
      },
      ca,
    ),
  );
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(paths.pkiDir, 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  writeFileSync(join(paths.pkiDir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));

  for (const user of users) {
    const client = issueCertificate(
      { commonName: user.commonName, organization: user.organization, usage: 'client', validDays: 3650 },
      ca,
    );
    mkdirSync(join(user.kubeconfig, '..'), { recursive: true });
    writeFileSync(user.kubeconfig, renderKubeconfig(ca.certPem, user.commonName, client), { mode: 0o600 });
  }
  return ca.certPem;
}
