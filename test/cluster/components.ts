import { join } from 'node:path';
import type { ClusterBinary } from './binaries.js';
import { binaryCacheDir, paths } from './paths.js';

/** Loopback ports of the local cluster. Kept off the usual defaults so a machine's own cluster is not disturbed. */
export const ports = {
  etcdClient: 12379,
  etcdPeer: 12380,
  apiserver: 16443,
  controllerManager: 10257,
  scheduler: 10259,
  kwok: 10247,
} as const;

export const apiserverUrl = `https://127.0.0.1:${ports.apiserver}`;
export const serviceClusterIpRange = '10.96.0.0/16';
export const podCidr = '10.244.0.0/16';

/** One process of the local control plane. */
export interface Component {
  readonly name: string;
  readonly binary: ClusterBinary;
  readonly args: readonly string[];
  /** An URL that answers 200 once the component serves; `https` ones are checked with the cluster CA. */
  readonly healthUrl: string;
}

/** kwok's Stages, taken from its Go module by the build script. */
export const kwokStagesFile = (): string => join(binaryCacheDir(), 'kwok-stages.yaml');

const pki = (file: string): string => join(paths.pkiDir, file);
const kubeconfigOf = (user: string): string => join(paths.clusterDir, `${user}.kubeconfig`);

/** The components in start order; each depends on the ones before it. Pure: no I/O. */
export function clusterComponents(): Component[] {
  return [
    {
      name: 'etcd',
      binary: 'etcd',
      healthUrl: `http://127.0.0.1:${ports.etcdClient}/health`,
      args: [
        `--data-dir=${paths.etcdDataDir}`,
        `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${ports.etcdPeer}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
    },
    {
      name: 'kube-apiserver',
      binary: 'kube-apiserver',
      healthUrl: `${apiserverUrl}/readyz`,
      args: [
        `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        `--cert-dir=${paths.pkiDir}`,
        `--tls-cert-file=${pki('apiserver.crt')}`,
        `--tls-private-key-file=${pki('apiserver.key')}`,
        `--client-ca-file=${pki('ca.crt')}`,
        `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
        `--service-account-key-file=${pki('sa.pub')}`,
        `--service-account-signing-key-file=${pki('sa.key')}`,
        `--service-cluster-ip-range=${serviceClusterIpRange}`,
        '--authorization-mode=Node,RBAC',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=0',
      ],
    },
    {
      name: 'kube-controller-manager',
      binary: 'kube-controller-manager',
      healthUrl: `https://127.0.0.1:${ports.controllerManager}/healthz`,
      args: [
        `--kubeconfig=${kubeconfigOf('kube-controller-manager')}`,
        `--authentication-kubeconfig=${kubeconfigOf('kube-controller-manager')}`,
        `--authorization-kubeconfig=${kubeconfigOf('kube-controller-manager')}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        `--tls-cert-file=${pki('loopback-serving.crt')}`,
        `--tls-private-key-file=${pki('loopback-serving.key')}`,
        `--cluster-signing-cert-file=${pki('ca.crt')}`,
        `--cluster-signing-key-file=${pki('ca.key')}`,
        `--root-ca-file=${pki('ca.crt')}`,
        `--service-account-private-key-file=${pki('sa.key')}`,
        `--service-cluster-ip-range=${serviceClusterIpRange}`,
        '--use-service-account-credentials=true',
        '--leader-elect=false',
        '--v=0',
      ],
    },
    {
      name: 'kube-scheduler',
      binary: 'kube-scheduler',
      healthUrl: `https://127.0.0.1:${ports.scheduler}/healthz`,
      args: [
        `--kubeconfig=${kubeconfigOf('kube-scheduler')}`,
        `--authentication-kubeconfig=${kubeconfigOf('kube-scheduler')}`,
        `--authorization-kubeconfig=${kubeconfigOf('kube-scheduler')}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.scheduler}`,
        `--tls-cert-file=${pki('loopback-serving.crt')}`,
        `--tls-private-key-file=${pki('loopback-serving.key')}`,
        '--leader-elect=false',
        '--v=0',
      ],
    },
    {
      name: 'kwok',
      binary: 'kwok',
      healthUrl: `http://127.0.0.1:${ports.kwok}/healthz`,
      args: [
        `--kubeconfig=${kubeconfigOf('kwok')}`,
        `--config=${kwokStagesFile()}`,
        `--server-address=127.0.0.1:${ports.kwok}`,
        '--manage-all-nodes=false',
        '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
        `--cidr=${podCidr}`,
        '--node-lease-duration-seconds=40',
      ],
    },
  ];
}
