import { meshSpecWithDefaults } from '../../crds/defaults.js';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { INSTALL_HINT } from './evaluate-cluster.js';
import type { OperatorDeploymentFact, PostFacts } from './facts.js';
import { fail, pass, warn, type Category, type Check } from './result.js';

const secondsBetween = (from: string, to: string): number =>
  Math.round((new Date(to).getTime() - new Date(from).getTime()) / 1000);

/** The operator Deployment in the namespace checked, if any. Pure. */
export function operatorDeployment(facts: PostFacts): OperatorDeploymentFact | undefined {
  return facts.operators.ok
    ? facts.operators.value.find((d) => d.namespace === facts.operatorNamespace)
    : undefined;
}

function deploymentChecks(facts: PostFacts, d: OperatorDeploymentFact): Check[] {
  const ref = `${d.namespace}/${d.name}`;
  const { ready, replicas, available } = d.readiness;
  const description = `the operator Deployment ${ref} is Available (${ready}/${replicas} ready)`;
  const checks: Check[] = [
    available
      ? pass(description)
      : fail(
          description,
          `${ready} of ${replicas} replicas ready`,
          `Look at kubectl -n ${d.namespace} describe deployment/${d.name}, its pods' events (an image that cannot be pulled: weftctl install --image) and kubectl -n ${d.namespace} logs deployment/${d.name}.`,
        ),
  ];
  const simulated = d.pods.filter((p) => p.simulated);
  if (simulated.length > 0 && simulated.length === d.pods.length)
    checks.push(
      warn(
        `the operator's pods run their containers`,
        `${simulated.map((p) => p.name).join(', ')} run on kwok nodes, which simulate pod status without running containers: "ready" there says nothing about the operator`,
        'Expected on the local development cluster; the operator is judged by its leader-election Lease below.',
      ),
    );
  return checks;
}

/**
 * The operator's leader-election Lease: a live operator renews it every few seconds, so a Lease
 * renewed recently by one of the Deployment's pods is the evidence that the operator runs, which a
 * Ready pod alone is not (kwok, or a process that hangs after its probe server started). Pure.
 */
export function leaseCheck(facts: PostFacts, d: OperatorDeploymentFact | undefined): Check {
  const ref = `${facts.operatorNamespace}/weft-operator`;
  const description = `an operator holds its leader-election Lease ${ref}`;
  const logs = `Look at kubectl -n ${facts.operatorNamespace} logs deployment/weft-operator.`;
  if (!facts.lease.ok) return warn(description, `cannot read the Lease: ${facts.lease.message}`, logs);
  const lease = facts.lease.value;
  if (!lease?.holder || !lease.renewTime)
    return fail(
      description,
      'no operator holds the Lease: none is running, or none has started leading',
      logs,
    );
  const age = secondsBetween(lease.renewTime, facts.now);
  const duration = lease.durationSeconds ?? 15;
  // Twice the duration, and more: the API server's clock and this machine's may differ a little.
  if (age > 2 * duration + 10)
    return fail(
      description,
      `${lease.holder} last renewed it ${age}s ago (it renews every few seconds; lease duration ${duration}s): that operator has stopped`,
      logs,
    );
  const podName = lease.holder.split('_')[0]!;
  const renewed = `${description} (held by ${lease.holder}, renewed ${Math.max(age, 0)}s ago)`;
  if (d && !d.pods.some((p) => p.name === podName))
    return warn(
      renewed,
      `the leader is not one of ${d.namespace}/${d.name}'s pods (${d.pods.map((p) => p.name).join(', ') || 'none'}): an operator runs outside the Deployment, e.g. npm run operator`,
      'Expected in local development; otherwise stop the other operator, as two versions would fight over the Mesh.',
    );
  return pass(renewed);
}

/** The operator Deployment exists, is Available, and an operator is alive and leading. Pure. */
export function operatorCategory(facts: PostFacts): Category {
  const categoryName = 'weft-operator';
  if (!facts.operators.ok)
    return {
      categoryName,
      checks: [
        fail(
          'can read the operator Deployment',
          facts.operators.message,
          'Use a kubeconfig that may list deployments.',
        ),
      ],
    };
  const d = operatorDeployment(facts);
  if (!d) {
    const elsewhere = facts.operators.value.map((o) => o.namespace);
    const hint =
      elsewhere.length > 0
        ? `An operator is installed in namespace ${elsewhere.join(', ')}: pass -n ${elsewhere[0]}.`
        : INSTALL_HINT;
    return {
      categoryName,
      checks: [
        fail(
          `the operator Deployment ${facts.operatorNamespace}/weft-operator exists`,
          `no Deployment labelled app.kubernetes.io/name=weft-operator in namespace ${facts.operatorNamespace}`,
          hint,
        ),
      ],
    };
  }
  return { categoryName, checks: [...deploymentChecks(facts, d), leaseCheck(facts, d)] };
}

/** The Weft release a Mesh runs (spec.version, defaulted by the CRD), without a leading v. Pure. */
const meshVersion = (mesh: Mesh): string => meshSpecWithDefaults(mesh.spec).version.replace(/^v/, '');

/**
 * weftctl, the operator and the Mesh's control plane are the same release; any skew is a warning,
 * as linkerd reports it: mixed versions work within a release line, but the CLI's checks and the
 * CRDs it installs are those of its own release. Pure.
 */
export function versionCategory(facts: PostFacts, active: Mesh | undefined): Category {
  const checks: Check[] = [];
  const cli = facts.weftctlVersion;
  const d = operatorDeployment(facts);
  if (d?.version !== undefined) {
    const description = `the operator runs Weft ${d.version}, as weftctl ${cli} does`;
    checks.push(
      d.version === cli
        ? pass(description)
        : warn(
            description,
            `weftctl is ${cli}, the operator ${d.version}`,
            `Run weftctl install of this release to move the operator to ${cli}, or use weftctl ${d.version}.`,
          ),
    );
  }
  const mesh = active && meshVersion(active);
  const operatorVersion = d?.version ?? cli;
  if (active && mesh) {
    const description = `Mesh ${active.metadata?.name} runs Weft ${mesh}, as the operator does`;
    checks.push(
      mesh === operatorVersion
        ? pass(description)
        : warn(
            description,
            `the Mesh's spec.version is ${mesh}, the operator ${operatorVersion}`,
            `Set spec.version of Mesh ${active.metadata?.name} to ${operatorVersion} to move the control plane and proxies to it (kubectl edit mesh ${active.metadata?.name}).`,
          ),
    );
  }
  return { categoryName: 'weft-version', checks };
}
