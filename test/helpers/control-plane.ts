import { startWeftProcess, type RunningProcess } from './process.js';

export type RunningControlPlane = RunningProcess;

/** Runs the real control plane process out of cluster against the local cluster. */
export function startControlPlane(args: readonly string[]): Promise<RunningControlPlane> {
  return startWeftProcess('controllers/control-plane/main.ts', args, '"discovery synced"');
}
