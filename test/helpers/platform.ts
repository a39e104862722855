import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ensureCluster } from './cluster.js';
import {
  controlPlaneLogs,
  SERVING_WEBHOOKS,
  startControlPlane,
  type RunningControlPlane,
} from './control-plane.js';
import { MeshClient, removeLeftoverMeshes, testMesh } from './mesh.js';
import { installCrds, startOperator, type RunningOperator } from './operator.js';

/**
 * The platform most integration tests stand on: the CRDs, the operator (webhooks pointed at the
 * local control plane on 15017), a Ready Mesh of the test's own, and the control plane, started once
 * it logs `readyLog`. `stop()` deletes the Mesh and stops both processes.
 */
export interface MeshPlatform {
  readonly kc: KubeConfig;
  readonly operator: RunningOperator;
  readonly controlPlane: RunningControlPlane;
  readonly meshNamespace: string;
  /** The mesh root certificate (PEM), as proxies and clients trust it. */
  readonly rootPem: string;
  stop(): Promise<void>;
}

export async function startMeshPlatform(
  prefix: string,
  controlPlaneArgs: readonly string[],
  readyLog: string,
): Promise<MeshPlatform> {
  const kc = await ensureCluster();
  await installCrds();
  await removeLeftoverMeshes(kc);
  const operator = await startOperator([
    '--control-plane-url=https://127.0.0.1:15017',
    '--leader-elect=false',
  ]);
  const meshes = new MeshClient(kc);
  const mesh = testMesh(prefix);
  const stop = async (controlPlane?: RunningControlPlane): Promise<void> => {
    await meshes.deleteAndWait(mesh.metadata.name);
    await controlPlane?.stop();
    await operator.stop();
  };
  try {
    await meshes.create(mesh);
    await meshes.waitReady(mesh.metadata.name);
    const controlPlane = await startControlPlane(controlPlaneArgs);
    await controlPlaneLogs(controlPlane, readyLog);
    if (!controlPlaneArgs.includes('--webhook-address=off'))
      await controlPlaneLogs(controlPlane, SERVING_WEBHOOKS);
    const meshNamespace = mesh.spec.namespace!;
    const secret = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedSecret({ name: 'weft-ca-secret', namespace: meshNamespace });
    const rootPem = Buffer.from(secret.data!['root-cert.pem']!, 'base64').toString('utf8');
    return { kc, operator, controlPlane, meshNamespace, rootPem, stop: () => stop(controlPlane) };
  } catch (err) {
    await stop();
    throw err;
  }
}
