import { PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { INJECTOR_WEBHOOK_NAME, labelKeys, MANAGED_BY, VALIDATOR_WEBHOOK_NAME } from '../../cdk8s/names.js';
import { MESH_FINALIZER } from '../../controllers/mesh/mesh-reconciler.js';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { loadKubeConfig } from '../analyze/cluster.js';
import { CliError, exitCodes, type ExitCode } from '../cli-error.js';
import type { Io } from '../io.js';
import { takeInventory, uninstallRefusal } from '../install/inventory.js';
import { installObjects, PROTECTED_NAMESPACES } from '../install/objects.js';
import { ClusterWriter, describeObject } from '../kube/apply.js';
import { apiFailure } from '../kube/errors.js';
import { progressTo, type ClusterStep } from '../kube/progress.js';
import { waitFor } from '../kube/wait.js';
import { weftVersion } from '../package-info.js';

export interface UninstallCommand {
  readonly namespace?: string;
  readonly keepCrds: boolean;
  readonly yes: boolean;
  readonly force: boolean;
  readonly timeoutMs: number;
  readonly kubeconfig?: string;
}

/** Deletes `o` and waits until the API server no longer has it (finalizers, namespace contents). */
async function deleteAndWait(
  step: ClusterStep,
  o: KubernetesObject,
  why: string,
  hint: string,
): Promise<void> {
  if (!(await step.writer.delete(o))) return;
  await waitFor(
    `${describeObject(o)} to be deleted`,
    async () => ({
      done: !(await step.writer.read(o)),
      progress: `${describeObject(o)} to be deleted${why}`,
    }),
    { timeoutMs: step.timeoutMs, onProgress: step.progress.waiting, hint },
  );
}

/**
 * --force, once the operator has not released a Mesh: drop the finalizer so the API server deletes
 * it, and delete its webhook configurations at once (they fail closed, so left pointing at a
 * control plane that is going away they would block pods and Weft resources); the garbage collector
 * removes the other children through their owner references.
 */
async function forceMeshDeletion(step: ClusterStep, mesh: KubernetesObject): Promise<void> {
  try {
    await step.writer.api.patch(
      {
        apiVersion: mesh.apiVersion,
        kind: mesh.kind,
        metadata: { name: mesh.metadata!.name!, finalizers: null },
      } as unknown as KubernetesObject,
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );
  } catch (err) {
    throw apiFailure(`remove the finalizer of ${describeObject(mesh)}`, err, step.writer.server);
  }
  for (const [kind, name] of [
    ['ValidatingWebhookConfiguration', VALIDATOR_WEBHOOK_NAME],
    ['MutatingWebhookConfiguration', INJECTOR_WEBHOOK_NAME],
  ] as const) {
    const config = { apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name } };
    const live = await step.writer.read(config);
    if (live?.metadata?.labels?.[labelKeys.managedBy] === MANAGED_BY) await step.writer.delete(config);
  }
  step.progress.warn(
    `removed the finalizer of ${describeObject(mesh)}: the garbage collector deletes its children`,
  );
}

async function deleteMeshes(
  step: ClusterStep,
  meshes: readonly KubernetesObject[],
  force: boolean,
  operatorNamespace: string,
): Promise<void> {
  for (const mesh of meshes) {
    const hint = `The operator removes a deleted Mesh's children, then its finalizer ${MESH_FINALIZER}: is it running? Look at kubectl -n ${operatorNamespace} logs deployment/weft-operator. Rerun with --force to remove the finalizer and leave the children to the garbage collector.`;
    try {
      await deleteAndWait(
        step,
        mesh,
        ` (the operator cleans up its children, finalizer ${MESH_FINALIZER})`,
        hint,
      );
    } catch (err) {
      if (!force || !(err instanceof CliError)) throw err;
      step.progress.warn(err.message.split('\n')[0]!);
      await forceMeshDeletion(step, mesh);
      await deleteAndWait(step, mesh, '', hint);
    }
    step.progress.done(`${describeObject(mesh)} deleted`);
    await waitForMeshNamespace(step, mesh);
  }
}

/**
 * Waits for the Mesh's install namespace to go, when it is the Mesh's own child (labelled with its
 * name): never deletes it here, since a Mesh that stood aside never owned the namespace it names.
 */
async function waitForMeshNamespace(step: ClusterStep, mesh: KubernetesObject): Promise<void> {
  const name = (mesh as Mesh).spec?.namespace ?? 'weft-system';
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
  const live = await step.writer.read(namespace);
  if (live?.metadata?.labels?.[labelKeys.mesh] !== mesh.metadata?.name) return;
  await waitFor(
    `namespace ${name} to be deleted`,
    async () => ({ done: !(await step.writer.read(namespace)), progress: `namespace ${name} to be deleted` }),
    {
      timeoutMs: step.timeoutMs,
      onProgress: step.progress.waiting,
      hint: `Look at kubectl get namespace ${name} -o yaml: status.conditions name what is left in it.`,
    },
  );
  step.progress.done(`namespace ${name} deleted`);
}

async function deleteOperator(step: ClusterStep, operator: readonly KubernetesObject[]): Promise<void> {
  const [namespaces, others] = [
    operator.filter((o) => o.kind === 'Namespace'),
    operator.filter((o) => o.kind !== 'Namespace').reverse(),
  ];
  for (const o of others) await step.writer.delete(o);
  if (others.length > 0) step.progress.done(`operator removed: ${others.map((o) => o.kind).join(', ')}`);
  for (const ns of namespaces) {
    const name = ns.metadata!.name!;
    if (PROTECTED_NAMESPACES.has(name)) {
      step.progress.warn(`namespace ${name} kept: weftctl never deletes a system namespace`);
      continue;
    }
    await deleteAndWait(
      step,
      ns,
      '',
      `Look at kubectl get namespace ${name} -o yaml: status.conditions name what is left in it.`,
    );
    step.progress.done(`namespace ${name} deleted`);
  }
}

async function deleteCrds(step: ClusterStep, crds: readonly KubernetesObject[]): Promise<void> {
  for (const crd of crds) await step.writer.delete(crd);
  await waitFor(
    'the Weft CRDs to be deleted',
    async () => {
      let left = 0;
      for (const crd of crds) if (await step.writer.read(crd)) left++;
      return { done: left === 0, progress: `the Weft CRDs to be deleted (${left} left)` };
    },
    {
      timeoutMs: step.timeoutMs,
      onProgress: step.progress.waiting,
      hint: 'A CRD waits for its objects to be deleted first: look at kubectl get crd -l app.kubernetes.io/part-of=weft -o yaml (status.conditions).',
    },
  );
  step.progress.done(`CRDs deleted (${crds.length})`);
}

/**
 * Removes Weft in the reverse order of install: the Meshes first, while the operator still runs to
 * clean up their children, then the operator, its namespace and the CRDs. Refuses to delete Meshes
 * and Weft resources without --yes. Idempotent: with nothing installed it says so and succeeds.
 */
export async function uninstall(command: UninstallCommand, io: Io): Promise<ExitCode> {
  const kc: KubeConfig = loadKubeConfig(command.kubeconfig);
  const writer = new ClusterWriter(kc);
  const step: ClusterStep = { writer, progress: progressTo(io), timeoutMs: command.timeoutMs };
  const objects = installObjects({ version: weftVersion(), namespace: command.namespace });
  const inventory = await takeInventory(kc, writer, objects);
  if (inventory.foreignCrds.length > 0)
    throw new CliError(
      `not uninstalling: ${inventory.foreignCrds.join('; ')}. A Weft installed through OLM is removed with OLM (delete its Subscription and ClusterServiceVersion).`,
      exitCodes.problems,
    );
  if (inventory.crds.length === 0 && inventory.operator.length === 0) {
    step.progress.say(
      `Weft is not installed on ${writer.server} (no Weft CRDs, no operator in namespace ${objects.namespace}): nothing to remove.`,
    );
    return exitCodes.ok;
  }
  const refusal = uninstallRefusal(inventory, command.keepCrds);
  if (refusal && !command.yes && !command.force) throw new CliError(refusal, exitCodes.problems);

  step.progress.say(`Uninstalling Weft from ${writer.server}`);
  await deleteMeshes(step, inventory.meshes, command.force, objects.namespace);
  await deleteOperator(step, inventory.operator);
  if (command.keepCrds) step.progress.warn(`CRDs kept (${inventory.crds.length}), with your Weft resources`);
  else await deleteCrds(step, inventory.crds);
  step.progress.say('Weft is uninstalled.');
  return exitCodes.ok;
}
