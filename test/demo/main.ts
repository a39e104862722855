import { parseArgs } from 'node:util';
import { runDemo } from './scenario.js';

/**
 * `npm run demo`: the main job. A local cluster, the CRDs, the operator and the control plane, one
 * Mesh (crds/samples/mesh.yaml), a bookinfo-like application with a Weft proxy beside each workload,
 * and traffic steered step by step, with what happened at each step and a summary
 * (.weft/demo-summary.json). `-- --once` exits after the summary: 0 if every check passed.
 */

const say = (line = ''): void => console.log(line);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { once: { type: 'boolean', default: false } } });
  say('Weft demo: a service mesh on a local Kubernetes, end to end');
  const run = await runDemo(say);
  const passed = run.summary.checks.every((c) => c.passed) && run.summary.meshReady;
  if (!values.once) {
    say();
    say('The mesh keeps running. Try:');
    for (const url of run.urls) say(`  ${url}`);
    say(
      'Ctrl-C stops the proxies, applications, control plane and operator (the cluster stays up: npm run cluster -- down).',
    );
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
  say('stopping...');
  await run.stop();
  return passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
