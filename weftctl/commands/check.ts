import { loadKubeConfig } from '../analyze/cluster.js';
import { exitCodes, type ExitCode } from '../cli-error.js';
import type { Io } from '../io.js';
import { evaluatePost } from '../check/evaluate-post.js';
import { evaluatePre } from '../check/evaluate-pre.js';
import { gatherPost, gatherPre } from '../check/gather.js';
import { checksJson, formatChecks } from '../check/render.js';
import { anyFailed } from '../check/result.js';

export interface CheckCommand {
  readonly mode: 'pre' | 'post';
  readonly namespace?: string;
  readonly controlPlane: string;
  readonly output: 'text' | 'json';
  readonly kubeconfig?: string;
}

/**
 * weftctl check: gathers facts (the only side effects), evaluates them into checks (pure), prints
 * them. Exit 0 when nothing failed (warnings allowed), 1 when a check failed, 3 when the API server
 * could not be reached, as weftctl's other commands do.
 */
export async function check(command: CheckCommand, io: Io): Promise<ExitCode> {
  const kc = loadKubeConfig(command.kubeconfig);
  const { categories, reached } =
    command.mode === 'pre'
      ? await gatherPre(kc, command.namespace).then((f) => ({
          categories: evaluatePre(f),
          reached: f.kubernetes.ok,
        }))
      : await gatherPost(kc, command.namespace, command.controlPlane).then((f) => ({
          categories: evaluatePost(f),
          reached: f.kubernetes.ok,
        }));
  io.out(command.output === 'json' ? checksJson(categories) : formatChecks(categories));
  if (!reached) return exitCodes.unavailable;
  return anyFailed(categories) ? exitCodes.problems : exitCodes.ok;
}
