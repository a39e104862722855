import type { Step } from '../context.js';
import { configUnderLoad, controlPlaneRestart } from './operations.js';
import { circuitBreaker, faultAbort, faultDelay, retries } from './resilience.js';
import { baseline, canary0100, canary9010, headerRouting } from './routing.js';
import { authorizationDeny, strictMtls } from './security.js';

/** The demo's steps, in order; each builds on the routing the previous one left. */
export const STEPS: readonly Step[] = [
  baseline,
  canary9010,
  canary0100,
  headerRouting,
  faultDelay,
  faultAbort,
  retries,
  circuitBreaker,
  strictMtls,
  authorizationDeny,
  configUnderLoad,
  controlPlaneRestart,
];
