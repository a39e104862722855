import { startWeftProcess, type RunningProcess } from './process.js';
import { waitUntil } from './wait.js';

export type RunningControlPlane = RunningProcess;

/** Runs the real control plane process out of cluster against the local cluster. */
export function startControlPlane(args: readonly string[]): Promise<RunningControlPlane> {
  return startWeftProcess('controllers/control-plane/main.ts', args, '"discovery synced"');
}

/**
 * Waits until the control plane logs `line`. Its TLS port and its admission webhooks start only once
 * the Mesh's CA exists, after discovery: until the webhooks serve, the API server refuses every Weft
 * resource (failurePolicy Fail), so a test that applies one must wait for them first.
 */
export async function controlPlaneLogs(controlPlane: RunningControlPlane, line: string): Promise<void> {
  await waitUntil(
    `the control plane to log "${line}"`,
    () => ({ done: controlPlane.logs().includes(line), state: controlPlane.logs().slice(-800) }),
    { timeoutMs: 60_000 },
  );
}

export const SERVING_WEBHOOKS = 'serving admission webhooks';
export const SERVING_TLS = 'serving certificates and config push over TLS';
