import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { kubectlAsync } from '../cluster/local-cluster.js';
import type { DemoSummary } from '../demo/report.js';
import { runDemo, SUMMARY_FILE, type DemoRun } from '../demo/scenario.js';
import { STEPS } from '../demo/steps/index.js';

/**
 * The demo's scenario, asserted: what `npm run demo -- --once` shows a newcomer is what CI checks.
 * Each step's check is one test; a failure message carries what the step measured and the demo's
 * output before it.
 */

describe('the demo: one Mesh, bookinfo with a proxy per workload, traffic steered step by step', () => {
  let run: DemoRun | undefined;
  const output: string[] = [];
  const context = (): string => `\n--- demo output (last 60 lines) ---\n${output.slice(-60).join('\n')}`;

  before(async () => {
    run = await runDemo((line = '') => output.push(line));
  });

  after(async () => {
    await run?.stop();
    // The next suites bring their own Mesh; the operator allows one active Mesh per cluster.
    await kubectlAsync(['delete', 'mesh', 'default', '--ignore-not-found', '--wait=false']);
    await kubectlAsync(['delete', 'namespace', 'bookinfo', '--ignore-not-found', '--wait=false']);
  });

  it('the Mesh is Ready, and all 7 proxies (gateway and 6 sidecars) are connected and synced', () => {
    assert.ok(run, `the demo did not start${context()}`);
    assert.equal(run.summary.meshReady, true, context());
    assert.deepEqual(run.summary.proxies, { connected: 7, synced: 7 }, context());
  });

  for (const step of STEPS) {
    it(`${step.name}: ${step.title}`, () => {
      const check = run?.summary.checks.find((c) => c.name === step.name);
      assert.ok(check, `no check ${step.name}${context()}`);
      assert.equal(check.passed, true, `${check.name}: ${check.detail}${context()}`);
    });
  }

  it('no page request failed over the whole demo, and every reviews version served some', () => {
    const traffic = run?.summary.traffic;
    assert.ok(traffic && traffic.requests > 1_000, `too little traffic: ${JSON.stringify(traffic)}`);
    assert.equal(traffic.failed, 0, `${traffic.failed} of ${traffic.requests} failed${context()}`);
    for (const v of ['v1', 'v2', 'v3'])
      assert.ok((traffic.byVersion[v] ?? 0) > 0, `no ${v}: ${JSON.stringify(traffic)}`);
  });

  it('wrote the summary to .weft/demo-summary.json', () => {
    assert.ok(existsSync(SUMMARY_FILE));
    const written = JSON.parse(readFileSync(SUMMARY_FILE, 'utf8')) as DemoSummary;
    assert.deepEqual(written, run?.summary);
  });
});
