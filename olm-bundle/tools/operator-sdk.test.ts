import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BUILD_MODULE,
  isKnownFalsePositive,
  judge,
  operatorSdkArgs,
  operatorSdkVersion,
  parseLogLine,
} from './operator-sdk.js';

// operator-sdk v1.42.2's output on this bundle, as captured (two validators print the same warning;
// the order of its resources is a Go map's).
const WARNING_1 =
  'time="2026-11-26T13:08:02Z" level=warning msg="Warning: Value weft.v0.1.0: this bundle is using APIs which were deprecated and removed in v1.25. More info: https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-25. Migrate the API(s) for endpointslices: ([\\"ClusterServiceVersion.Spec.InstallStrategy.StrategySpec.ClusterPermissions[0].Rules[6]\\"]),events: ([\\"ClusterServiceVersion.Spec.InstallStrategy.StrategySpec.ClusterPermissions[0].Rules[8]\\"]),poddisruptionbudgets: ([\\"ClusterServiceVersion.Spec.InstallStrategy.StrategySpec.ClusterPermissions[0].Rules[26]\\"]),"';
const WARNING_2 =
  'time="2026-11-26T13:08:02Z" level=warning msg="Warning: Value weft.v0.1.0: this bundle is using APIs which were deprecated and removed in v1.25. More info: https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-25. Migrate the API(s) for poddisruptionbudgets: ([\\"ClusterServiceVersion.Spec.InstallStrategy.StrategySpec.ClusterPermissions[0].Rules[26]\\"]),endpointslices: ([\\"ClusterServiceVersion.Spec.InstallStrategy.StrategySpec.ClusterPermissions[0].Rules[6]\\"]),events: ([\\"ClusterServiceVersion.Spec.InstallStrategy.StrategySpec.ClusterPermissions[0].Rules[8]\\"]),"';
const COMPLETED =
  'time="2026-11-26T13:08:02Z" level=info msg="All validation tests have completed successfully"';

const msgOf = (line: string): string => parseLogLine(line)?.msg ?? assert.fail(`unparsed: ${line}`);
const PREFIX =
  'Warning: Value weft.v0.1.0: this bundle is using APIs which were deprecated and removed in v1.25. More info: https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-25. Migrate the API(s) for ';
const rule = (i: number): string =>
  `"ClusterServiceVersion.Spec.InstallStrategy.StrategySpec.ClusterPermissions[0].Rules[${i}]"`;

describe('operator-sdk build module', () => {
  it('pins operator-sdk v1.42.2', () => {
    assert.equal(operatorSdkVersion(readFileSync(join(BUILD_MODULE, 'go.mod'), 'utf8')), 'v1.42.2');
  });
  it('runs the command of the issue', () => {
    assert.deepEqual(operatorSdkArgs('./olm-bundle', '1.35'), [
      'bundle',
      'validate',
      './olm-bundle',
      '--select-optional',
      'suite=operatorframework',
      '--optional-values=k8s-version=1.35',
    ]);
  });
});

describe('parseLogLine', () => {
  it('reads level and unquotes msg', () => {
    assert.deepEqual(parseLogLine(COMPLETED), {
      level: 'info',
      msg: 'All validation tests have completed successfully',
    });
    assert.match(msgOf(WARNING_1), /for endpointslices: \(\["ClusterServiceVersion/);
  });
  it('rejects other formats', () => {
    assert.equal(parseLogLine('WARN[0000] Warning: Value weft.v0.1.0: something'), undefined);
  });
});

describe('isKnownFalsePositive', () => {
  it('accepts the RBAC warning in either order', () => {
    assert.ok(isKnownFalsePositive(msgOf(WARNING_1)));
    assert.ok(isKnownFalsePositive(msgOf(WARNING_2)));
  });
  it('accepts a subset of the three resources and several rules each', () => {
    assert.ok(isKnownFalsePositive(`${PREFIX}events: ([${rule(8)} ${rule(9)}]),`));
  });
  it('rejects another resource, even among the three', () => {
    assert.ok(!isKnownFalsePositive(`${PREFIX}cronjobs: ([${rule(1)}]),events: ([${rule(8)}]),`));
    assert.ok(
      !isKnownFalsePositive(`${PREFIX}events: ([${rule(8)}]),horizontalpodautoscalers: ([${rule(2)}]),`),
    );
  });
  it('rejects objects (reported by kind), other versions, and trailing text', () => {
    assert.ok(!isKnownFalsePositive(`${PREFIX}PodDisruptionBudget: (["weft"]),`));
    assert.ok(!isKnownFalsePositive(`${PREFIX}poddisruptionbudgets: (["weft"]),`));
    assert.ok(
      !isKnownFalsePositive(
        `${PREFIX.replaceAll('1.25', '1.26').replace('v1-25', 'v1-26')}events: ([${rule(8)}]),`,
      ),
    );
    assert.ok(!isKnownFalsePositive(`${PREFIX}events: ([${rule(8)}]), and more`));
    assert.ok(!isKnownFalsePositive(PREFIX));
  });
  it('rejects other warnings', () => {
    assert.ok(
      !isKnownFalsePositive(
        'Warning: Value weft.v0.1.0: owned CRD "meshes.weft.dev" has an empty description',
      ),
    );
  });
});

describe('judge', () => {
  it('passes the captured run, noting the allowed warnings', () => {
    const v = judge(0, `${WARNING_1}\n${WARNING_2}\n`, `${COMPLETED}\n`);
    assert.equal(v.passed, true);
    assert.equal(v.notes.length, 2);
    assert.match(v.notes[0] ?? '', /^allowed: .*operator-framework\/api#378/);
  });
  it('fails on any other warning', () => {
    const other =
      'time="2026-11-26T13:08:02Z" level=warning msg="Warning: Value weft.v0.1.0: example warning"';
    const v = judge(0, `${WARNING_1}\n${other}\n`, `${COMPLETED}\n`);
    assert.equal(v.passed, false);
    assert.ok(v.notes.some((n) => n.includes('example warning')));
  });
  it('fails on errors, a non-zero exit, unparsed output, or no completion line', () => {
    const error = 'time="2026-11-26T13:08:02Z" level=error msg="Error: Value weft.v0.1.0: bad"';
    assert.equal(judge(1, `${error}\n`, '').passed, false);
    assert.equal(judge(1, '', `${COMPLETED}\n`).passed, false);
    assert.equal(judge(0, 'WARN[0000] something\n', `${COMPLETED}\n`).passed, false);
    assert.equal(judge(0, '', '').passed, false);
  });
});
