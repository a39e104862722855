import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScenarioEntry } from './proxy-report.js';
import {
  END,
  otherSection,
  performanceSection,
  proxySection,
  replaceSection,
  START,
  type SuiteJson,
} from './readme-section.js';

const entry = (peer: ScenarioEntry['peer'], maxRate: boolean, rps: number, p99: number): ScenarioEntry => ({
  name: '1hop-plain',
  peer,
  maxRate,
  rps,
  p50_ms: 0.5,
  p90_ms: 0.7,
  p99_ms: p99,
  cpu_s_per_1k: peer === 'direct' ? null : 0.02,
  rss_mb: peer === 'direct' ? null : 20,
});

const PROXY: SuiteJson = {
  generatedAt: '2026-11-26T11:00:00.000Z',
  quick: false,
  machine: { cpus: 2, cpuModel: 'AMD EPYC', loadAverage: { before: 1.5, after: 2 } },
  scenarios: [
    entry('direct', false, 1000, 1),
    entry('haproxy', false, 1000, 2),
    entry('node', false, 1000, 2.5),
    entry('weft', false, 1000, 3),
    entry('haproxy', true, 60000, 2),
    entry('weft', true, 20000, 4),
  ],
  targets: [
    { target: 'RSS idle', limit: 50, measured: 80, unit: 'MB', met: false, verdict: 'missed by 30 MB' },
  ],
};

describe('README performance section', () => {
  it('shows each peer side by side with Weft over HAProxy, dashes where a peer did not run', () => {
    const lines = proxySection(PROXY);
    const p99 = lines.find((l) => l.includes('p99 ms at 1,000 rps'))!;
    assert.equal(p99, '| 1 hop, plain | p99 ms at 1,000 rps | 1 | 2 | – | 2.5 | 3 | 1.5x |');
    const max = lines.find((l) => l.includes('max rps'))!;
    assert.equal(max, '| 1 hop, plain | max rps (wrk, 32 conn.) | – | 60,000 | – | – | 20,000 | 0.33x |');
    assert.match(lines[0]!, /2026-11-26, load 1\.5→2/);
    assert.ok(!lines.some((l) => l.startsWith('Idle memory')), 'no idle line without idle figures');
  });

  it('gives the largest idle process of each peer, RSS and its private part', () => {
    const lines = proxySection({
      ...PROXY,
      peers: {
        haproxy: { rss_idle_mb_per_process: { a: [16.1] }, private_idle_mb_per_process: { a: [2.5] } },
        weft: {
          rss_idle_mb_per_process: { a: [52.4], b: [52.8, 52.6] },
          private_idle_mb_per_process: { a: [13.1], b: [13.4, 13.2] },
        },
      },
    });
    const idle = lines.find((l) => l.startsWith('Idle memory'));
    assert.match(idle ?? '', /RSS \(private\) MB: HAProxy 16\.1 \(2\.5\), Weft 52\.8 \(13\.4\)\./);
  });

  it('renders the targets and the other suites from their metrics, leaving out suites not run', () => {
    const section = performanceSection({
      proxy: PROXY,
      ca: {
        generatedAt: '2026-11-26T12:00:00.000Z',
        quick: true,
        machine: { cpus: 2 },
        metrics: { rsa2048_certificates_per_s: 45.66, rsa2048_sign_ms_p50: 19.4, ecdsa_p256_supported: 0 },
      },
    });
    assert.match(section, /\| RSS idle \| 50 MB \| 80 MB \| ❌ missed by 30 MB \|/);
    assert.match(
      section,
      /\| CA: workload certificates signed per second \(RSA 2048\) \| 45\.7 \(p50 19\.4 ms each\); ECDSA P-256 not supported \| 2026-11-26 \(--quick\) \|/,
    );
    assert.doesNotMatch(section, /operator/);
    assert.deepEqual(otherSection({}).length, 3);
  });

  it('replaces only what lies between the markers, and refuses a README without them', () => {
    const readme = `# x\n\n## Performance\n\n${START}\nold\n${END}\n\n## License\n`;
    assert.equal(
      replaceSection(readme, `${START}\nnew\n${END}`),
      `# x\n\n## Performance\n\n${START}\nnew\n${END}\n\n## License\n`,
    );
    assert.throws(() => replaceSection('# x\n', 'y'), /no <!-- bench:start/);
  });
});
