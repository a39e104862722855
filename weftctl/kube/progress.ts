import type { Io } from '../io.js';
import type { ClusterWriter } from './apply.js';

/**
 * Progress of a long command (install, uninstall) on standard output, one line per step as linkerd
 * prints it: `✔` a step done, `…` waiting (with how far it got), `‼` something to know.
 */
export interface Progress {
  readonly done: (text: string) => void;
  readonly waiting: (text: string) => void;
  readonly warn: (text: string) => void;
  readonly say: (text: string) => void;
}

export function progressTo(io: Io): Progress {
  return {
    done: (text) => io.out(`✔ ${text}`),
    waiting: (text) => io.out(`… waiting for ${text}`),
    warn: (text) => io.out(`‼ ${text}`),
    say: (text) => io.out(text),
  };
}

/** What a long install or uninstall step needs: where it writes, how it reports, how long it may wait. */
export interface ClusterStep {
  readonly writer: ClusterWriter;
  readonly progress: Progress;
  readonly timeoutMs: number;
}
