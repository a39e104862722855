import type { Behaviour } from './bookinfo/protocol.js';
import type { Say, Stack } from './stack.js';
import type { Sample, TrafficClient } from './traffic.js';
import type { RunningWorkload } from './workloads.js';

/** What a demo step can do, and what it reports. The scenario implements the context. */

export interface Check {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface MetricsExcerpt {
  /** The workload whose proxy to scrape. */
  readonly workload: string;
  readonly where: Record<string, string>;
  readonly by: readonly string[];
}

export interface StepOutcome {
  readonly passed: boolean;
  readonly detail: string;
  /** The requests the step sent, for the split, error rate and identities printed under it. */
  readonly samples: readonly Sample[];
  /** More lines to print under the step. */
  readonly notes?: readonly string[];
}

export interface DemoContext {
  readonly say: Say;
  readonly stack: Stack;
  readonly traffic: TrafficClient;
  workload(name: string): RunningWorkload;
  /**
   * Applies a file (relative to the repository) in the sample's namespace, prints the command, and
   * waits until the proxies named in `affected` have ACKed a configuration sent after it.
   */
  apply(file: string, affected: readonly string[]): Promise<void>;
  /** Deletes one resource, printing the command, and waits as `apply` does. */
  remove(resource: string, affected: readonly string[]): Promise<void>;
  /** Switches misbehaviour on (or off, with `{}`) at a workload's application. */
  behave(workload: string, behaviour: Behaviour): Promise<void>;
  /** Requests the workload's application answered since its behaviour was last set. */
  served(workload: string): Promise<number>;
  restartControlPlane(): Promise<{ downMs: number }>;
}

export interface Step {
  readonly name: string;
  readonly title: string;
  /** The proxy metrics that show the step: printed as what the step added to them. */
  readonly metrics?: MetricsExcerpt;
  run(ctx: DemoContext): Promise<StepOutcome>;
}

export const SAMPLES = 'crds/samples/bookinfo';
export const DEMO_MANIFESTS = 'test/demo/manifests';
export const JASON = { 'end-user': 'jason' };
