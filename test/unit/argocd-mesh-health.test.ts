import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from '../cluster/paths.js';
import { runHealthCheck, type HealthStatus } from '../helpers/argocd-health.js';

/** The Mesh health check, with its fixtures in Argo CD's layout, run through lua5.1 as Argo CD's tests do. */

const checkDir = join(repoRoot, 'docs', 'gitops', 'argocd', 'mesh.weft.dev', 'Mesh');
const script = join(checkDir, 'health.lua');
const probeDir = mkdtempSync(join(tmpdir(), 'weft-lua-'));
const fixtures = parse(readFileSync(join(checkDir, 'health_test.yaml'), 'utf8')) as {
  tests: { healthStatus: HealthStatus; inputPath: string }[];
};

describe('Argo CD health check for Mesh', () => {
  for (const { healthStatus, inputPath } of fixtures.tests) {
    it(`reports ${healthStatus.status} for ${inputPath}`, () => {
      const obj = parse(readFileSync(join(checkDir, inputPath), 'utf8')) as unknown;
      assert.deepEqual(runHealthCheck(script, obj), healthStatus);
    });
  }

  it('has an expected health for every fixture in testdata/', () => {
    const listed = fixtures.tests.map((t) => t.inputPath).sort();
    const present = readdirSync(join(checkDir, 'testdata'))
      .map((f) => `testdata/${f}`)
      .sort();
    assert.deepEqual(listed, present);
  });

  it('covers every health the check can report: Healthy, Progressing and Degraded', () => {
    assert.deepEqual([...new Set(fixtures.tests.map((t) => t.healthStatus.status))].sort(), [
      'Degraded',
      'Healthy',
      'Progressing',
    ]);
  });

  it('runs checks without the string library, as Argo CD does for checks configured in argocd-cm', () => {
    const probe = join(probeDir, 'string-library-probe.lua');
    writeFileSync(probe, 'return { status = string.upper("healthy"), message = "" }\n');
    assert.throws(() => runHealthCheck(probe, {}), /health\.lua failed: .*attempt to index global 'string'/);
    writeFileSync(probe, 'return { status = ("x"):upper(), message = "" }\n');
    assert.throws(() => runHealthCheck(probe, {}), /health\.lua failed/);
  });

  it('hands the object over intact: quotes, backslashes, newlines and non-ASCII text', () => {
    const probe = join(probeDir, 'message-probe.lua');
    writeFileSync(probe, 'return { status = "Healthy", message = obj.metadata.annotations.note }\n');
    const note = 'a "quoted" \\ path\nsecond line: ünïcödé ✓';
    assert.deepEqual(runHealthCheck(probe, { metadata: { annotations: { note } } }), {
      status: 'Healthy',
      message: note,
    });
  });
});
