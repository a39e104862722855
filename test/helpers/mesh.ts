import { randomBytes } from 'node:crypto';
import {
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { Condition, Mesh, MeshSpec } from '../../crds/generated/types/mesh.js';
import { listLabelled, MESH_CHILD_KINDS } from './cluster.js';
import { waitUntil } from './wait.js';

export const meshApi = { group: 'mesh.weft.dev', version: 'v1alpha1', plural: 'meshes' } as const;

/** A Mesh of a test's own: a unique name and install namespace, one gateway, the local control-plane URL. */
export function testMesh(prefix: string, spec: MeshSpec = {}): Mesh & { metadata: { name: string } } {
  const id = randomBytes(3).toString('hex');
  return {
    apiVersion: 'mesh.weft.dev/v1alpha1',
    kind: 'Mesh',
    metadata: { name: `${prefix}-${id}` },
    spec: {
      namespace: `${prefix}-${id}`,
      gateways: [
        {
          name: 'ingress',
          replicas: 1,
          service: { type: 'ClusterIP', ports: [{ name: 'http2', port: 80, targetPort: 8080 }] },
        },
      ],
      ...spec,
    },
  };
}

export class MeshClient {
  readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async create(mesh: Mesh): Promise<Mesh> {
    return (await this.api.createClusterCustomObject({ ...meshApi, body: mesh })) as Mesh;
  }

  async get(name: string): Promise<Mesh | undefined> {
    try {
      return (await this.api.getClusterCustomObject({ ...meshApi, name })) as Mesh;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  condition(mesh: Mesh | undefined, type: string): Condition | undefined {
    return mesh?.status?.conditions?.find((c) => c.type === type);
  }

  /** Waits until the Mesh is Ready for its current generation; returns it. */
  async waitReady(name: string, timeoutMs = 30_000): Promise<Mesh> {
    return this.waitFor(
      `Mesh ${name} to be Ready with observedGeneration == generation`,
      name,
      timeoutMs,
      (mesh) => {
        const ready = this.condition(mesh, 'Ready');
        return ready?.status === 'True' && mesh?.status?.observedGeneration === mesh?.metadata?.generation;
      },
    );
  }

  async waitCondition(
    name: string,
    type: string,
    status: string,
    reason?: string,
    timeoutMs = 30_000,
  ): Promise<Mesh> {
    return this.waitFor(
      `Mesh ${name} condition ${type}=${status}${reason ? ` (${reason})` : ''}`,
      name,
      timeoutMs,
      (mesh) => {
        const c = this.condition(mesh, type);
        return c?.status === status && (!reason || c.reason === reason);
      },
    );
  }

  /** Waits for `done(mesh)`; on timeout reports the generation and status seen last (not the managedFields). */
  private async waitFor(
    what: string,
    name: string,
    timeoutMs: number,
    done: (mesh: Mesh | undefined) => boolean,
  ): Promise<Mesh> {
    let last: Mesh | undefined;
    await waitUntil(
      what,
      async () => {
        last = await this.get(name);
        return {
          done: done(last),
          state: last && { generation: last.metadata?.generation, status: last.status },
        };
      },
      { timeoutMs },
    );
    return last!;
  }

  /** Deletes the Mesh and waits until it is gone (its finalizer has run). */
  async deleteAndWait(name: string, timeoutMs = 30_000): Promise<void> {
    await this.api.deleteClusterCustomObject({ ...meshApi, name }).catch(() => undefined);
    await waitUntil(
      `Mesh ${name} to be deleted`,
      async () => {
        const mesh = await this.get(name);
        return { done: mesh === undefined, state: mesh?.metadata };
      },
      { timeoutMs },
    );
  }
}

/**
 * Removes Meshes left on the shared test cluster (by the demo, or an interrupted run), so a suite
 * starts with none: only one Mesh is reconciled per cluster. Finalizers are dropped because no
 * operator may be running to honour them; the garbage collector removes the children.
 */
export async function removeLeftoverMeshes(kc: KubeConfig): Promise<void> {
  const client = new MeshClient(kc);
  const list = (await client.api.listClusterCustomObject({ ...meshApi })) as { items: Mesh[] };
  for (const mesh of list.items) {
    const name = mesh.metadata!.name!;
    await client.api
      .patchClusterCustomObject(
        { ...meshApi, name, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      )
      .catch(() => undefined);
    await client.deleteAndWait(name);
  }
  const admission = KubernetesObjectApi.makeApiClient(kc);
  const webhooks = MESH_CHILD_KINDS.filter((k) => k.apiVersion.startsWith('admissionregistration'));
  for (const config of await listLabelled(kc, webhooks, 'app.kubernetes.io/managed-by=weft-operator')) {
    await admission.delete(config);
  }
}
