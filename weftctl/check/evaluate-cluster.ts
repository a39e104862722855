import { MIN_KUBE_VERSION } from '../../cdk8s/kubernetes-support.js';
import { REACH_HINT } from '../kube/errors.js';
import type { ClusterFacts, Fetched } from './facts.js';
import { fail, pass, warn, type Category, type Check } from './result.js';

export const INSTALL_HINT =
  'Install Weft with weftctl install (or weftctl manifest generate | kubectl apply --server-side -f -).';

/** `v1.35.4+k3s1` -> [1, 35, 4]; undefined when it is not a version. Pure. */
export function parseKubeVersion(text: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

const compare = (a: readonly number[], b: readonly number[]): number =>
  a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;

/** The API server answers, and runs a Kubernetes Weft supports (MIN_KUBE_VERSION or later). Pure. */
export function kubernetesApi(facts: ClusterFacts): Category {
  const reach = `can reach the Kubernetes API at ${facts.server}`;
  if (!facts.kubernetes.ok) {
    const denied = facts.kubernetes.status === 401 || facts.kubernetes.status === 403;
    const hint = denied
      ? 'Use a kubeconfig whose credentials the cluster accepts (kubectl auth whoami).'
      : REACH_HINT;
    return { categoryName: 'kubernetes-api', checks: [fail(reach, facts.kubernetes.message, hint)] };
  }
  const gitVersion = facts.kubernetes.value;
  const parsed = parseKubeVersion(gitVersion);
  const min = parseKubeVersion(MIN_KUBE_VERSION)!;
  const supported = `Kubernetes ${gitVersion} is supported (${MIN_KUBE_VERSION} or later)`;
  const version: Check = !parsed
    ? warn(
        supported,
        `cannot read a version from "${gitVersion}"`,
        'Make sure the cluster runs Kubernetes 1.29 or later.',
      )
    : compare(parsed, min) < 0
      ? fail(
          supported,
          `Kubernetes ${gitVersion} is older than ${MIN_KUBE_VERSION}, the oldest Weft supports`,
          `Upgrade the cluster to ${MIN_KUBE_VERSION} or later: Weft's proxy is a native sidecar and its CRDs use CEL validation, both on by default from 1.29.`,
        )
      : pass(supported);
  return { categoryName: 'kubernetes-api', checks: [pass(reach), version] };
}

/** A label that says OLM manages the CRD (it labels what a ClusterServiceVersion owns). Pure. */
export function olmOwner(labels: Readonly<Record<string, string>>): string | undefined {
  return Object.keys(labels).find((k) => k.startsWith('operators.coreos.com/') || k === 'olm.managed');
}

/** Why a present CRD (its name and labels) is someone else's to manage, or undefined when it is Weft's. Pure. */
export function foreignOwner(name: string, labels: Readonly<Record<string, string>>): string | undefined {
  const olm = olmOwner(labels);
  if (olm) return `${name} is managed by OLM (label ${olm})`;
  if (labels['app.kubernetes.io/part-of'] !== 'weft')
    return `${name} exists without the app.kubernetes.io/part-of=weft label: another project defines it`;
  return undefined;
}

/** The CRDs could not be read at all: one failed check naming why. Pure. */
export function crdsUnreadable(crds: Extract<Fetched<unknown>, { ok: false }>): Check {
  return fail(
    'can read the Weft CRDs',
    crds.message,
    'Use a kubeconfig that may get customresourcedefinitions.',
  );
}

/** After install: every Weft CRD present and Established. Pure. */
export function installedCrds(facts: ClusterFacts): Category {
  const categoryName = 'weft-crds';
  if (!facts.crds.ok) return { categoryName, checks: [crdsUnreadable(facts.crds)] };
  const crds = facts.crds.value;
  const missing = crds.filter((c) => !c.present).map((c) => c.name);
  const notEstablished = crds.filter((c) => c.present && !c.established).map((c) => c.name);
  const description = `the Weft CRDs are installed and Established (${crds.length})`;
  if (missing.length > 0)
    return {
      categoryName,
      checks: [fail(description, `missing: ${missing.join(', ')}`, INSTALL_HINT)],
    };
  if (notEstablished.length > 0)
    return {
      categoryName,
      checks: [
        fail(
          description,
          `not Established: ${notEstablished.join(', ')}`,
          `Look at kubectl get crd ${notEstablished[0]} -o yaml: status.conditions say why (a name clash with another CRD is the usual cause).`,
        ),
      ],
    };
  return { categoryName, checks: [pass(description)] };
}
