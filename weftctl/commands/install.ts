import { ApiextensionsV1Api, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { imageFor } from '../../cdk8s/names.js';
import { loadKubeConfig } from '../analyze/cluster.js';
import { CliError, exitCodes, type ExitCode } from '../cli-error.js';
import { foreignOwner } from '../check/evaluate-cluster.js';
import type { Io } from '../io.js';
import { installObjects, type InstallObjects } from '../install/objects.js';
import { readMeshFile } from '../install/mesh-file.js';
import { ClusterWriter, describeObject, summariseOutcomes, type ApplyOutcome } from '../kube/apply.js';
import { progressTo, type ClusterStep } from '../kube/progress.js';
import { crdEstablished, deploymentReadiness, meshReadiness } from '../kube/readiness.js';
import { waitFor } from '../kube/wait.js';
import { weftVersion } from '../package-info.js';

export interface InstallCommand {
  readonly namespace?: string;
  readonly image?: string;
  readonly meshFile?: string;
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly kubeconfig?: string;
}

async function applyAll(
  writer: ClusterWriter,
  objects: readonly KubernetesObject[],
): Promise<ApplyOutcome[]> {
  const outcomes: ApplyOutcome[] = [];
  for (const o of objects) outcomes.push(await writer.apply(o));
  return outcomes;
}

/**
 * Refuses to take over a CRD of the same name that someone else manages (OLM, another project):
 * the forced apply would win, and the two owners would then fight over it.
 */
async function refuseForeignCrds(writer: ClusterWriter, objects: InstallObjects): Promise<void> {
  const foreign: string[] = [];
  for (const crd of objects.crds) {
    const live = await writer.read(crd);
    const owner = live && foreignOwner(crd.metadata!.name!, live.metadata?.labels ?? {});
    if (owner) foreign.push(owner);
  }
  if (foreign.length > 0)
    throw new CliError(
      `not installing over CRDs someone else manages: ${foreign.join('; ')}. A Weft installed through OLM is upgraded and removed with OLM; weftctl check --pre lists what is in the way.`,
      exitCodes.problems,
    );
}

async function installCrds(
  step: ClusterStep,
  objects: InstallObjects,
  kc: ReturnType<typeof loadKubeConfig>,
): Promise<ApplyOutcome[]> {
  await refuseForeignCrds(step.writer, objects);
  const outcomes = await applyAll(step.writer, objects.crds);
  step.progress.done(`CRDs applied (${summariseOutcomes(outcomes)})`);
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const names = objects.crds.map((c) => c.metadata!.name!);
  await waitFor(
    'the Weft CRDs to be Established',
    async () => {
      const crds = await Promise.all(names.map((name) => api.readCustomResourceDefinition({ name })));
      const established = crds.filter(crdEstablished).length;
      return {
        done: established === names.length,
        progress: `CRDs established (${established}/${names.length})`,
      };
    },
    {
      timeoutMs: step.timeoutMs,
      onProgress: step.progress.waiting,
      hint: 'Look at kubectl get crd -l app.kubernetes.io/part-of=weft -o yaml (status.conditions say why a CRD is not Established).',
    },
  );
  step.progress.done(`CRDs established (${names.length})`);
  return outcomes;
}

async function waitForOperator(step: ClusterStep, objects: InstallObjects): Promise<void> {
  const { namespace, name } = objects.deployment;
  const what = `deployment ${namespace}/${name}`;
  let last = { available: false, ready: 0, replicas: 1 };
  await waitFor(
    `${what} to become Available`,
    async () => {
      const d = await step.writer.read<V1Deployment>({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace },
      });
      if (d) last = deploymentReadiness(d);
      return { done: !!d && last.available, progress: `${what} (${last.ready}/${last.replicas} ready)` };
    },
    {
      timeoutMs: step.timeoutMs,
      onProgress: step.progress.waiting,
      hint: `Look at kubectl -n ${namespace} describe deployment/${name} and kubectl -n ${namespace} get pods -l app.kubernetes.io/name=${name} (an image that cannot be pulled: pass --image), then kubectl -n ${namespace} logs deployment/${name}. Rerun weftctl install when fixed; it is safe to repeat.`,
    },
  );
  step.progress.done(`${what} available (${last.ready}/${last.replicas} ready)`);
}

async function installMeshes(
  step: ClusterStep,
  meshes: readonly (Mesh & KubernetesObject)[],
  wait: boolean,
): Promise<ApplyOutcome[]> {
  const outcomes: ApplyOutcome[] = [];
  for (const mesh of meshes) {
    const outcome = await step.writer.apply(mesh);
    outcomes.push(outcome);
    step.progress.done(`${describeObject(mesh)} applied (${outcome})`);
    if (!wait) continue;
    const name = mesh.metadata!.name!;
    await waitFor(
      `Mesh ${name} to be Ready`,
      async () => {
        const live = await step.writer.read<Mesh & KubernetesObject>(mesh);
        const readiness = live ? meshReadiness(live) : { ready: false, summary: 'not found' };
        return { done: readiness.ready, progress: `Mesh ${name} (${readiness.summary})` };
      },
      {
        timeoutMs: step.timeoutMs,
        onProgress: step.progress.waiting,
        hint: `Look at kubectl describe mesh ${name} (its conditions say what is missing) and the operator's logs; weftctl check lists what is wrong.`,
      },
    );
    step.progress.done(`Mesh ${name} Ready`);
  }
  return outcomes;
}

/** What a user does after an install: apply a Mesh (unless --mesh did), then check. Pure. */
export function nextSteps(meshApplied: boolean, namespace: string | undefined): string {
  const check = `weftctl check${namespace ? ` -n ${namespace}` : ''}`;
  return meshApplied
    ? `Next: ${check}.`
    : `Next: apply a Mesh (kubectl apply -f crds/samples/mesh.yaml), then run ${check}.`;
}

/**
 * Installs the CRDs, then the operator, then (with --mesh) Meshes, by server-side apply as weftctl;
 * each step waits for the previous one to take (CRDs Established, the Deployment Available) so the
 * next never races it. Idempotent: a second run changes nothing and says so.
 */
export async function install(command: InstallCommand, io: Io): Promise<ExitCode> {
  const version = weftVersion();
  const meshes = command.meshFile ? readMeshFile(command.meshFile) : [];
  const objects = installObjects({ version, namespace: command.namespace, image: command.image });
  const kc = loadKubeConfig(command.kubeconfig);
  const step: ClusterStep = {
    writer: new ClusterWriter(kc),
    progress: progressTo(io),
    timeoutMs: command.timeoutMs,
  };
  step.progress.say(
    `Installing Weft ${version} on ${step.writer.server}: operator in namespace ${objects.namespace}, image ${imageFor(version, command.image)}`,
  );
  const outcomes = await installCrds(step, objects, kc);
  const operator = await applyAll(step.writer, objects.operator);
  step.progress.done(
    `operator applied: ${objects.operator.map((o) => o.kind).join(', ')} (${summariseOutcomes(operator)})`,
  );
  outcomes.push(...operator);
  if (command.wait) await waitForOperator(step, objects);
  outcomes.push(...(await installMeshes(step, meshes, command.wait)));

  if (outcomes.every((o) => o === 'unchanged'))
    step.progress.say(`Weft ${version} was already installed: nothing changed.`);
  else step.progress.say(`Weft ${version} is installed. ${nextSteps(meshes.length > 0, command.namespace)}`);
  return exitCodes.ok;
}
