import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../../crds/generated/types/mesh.js';
import {
  CONDITION_TYPES,
  computeConditions,
  conditionVerdicts,
  meshState,
  type DeploymentObservation,
  type MeshObservation,
} from './conditions.js';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:05:00Z';

const available: DeploymentObservation = { found: true, replicas: 2, readyReplicas: 2, rolledOut: true };

function healthy(overrides: Partial<MeshObservation> = {}): MeshObservation {
  return {
    generation: 3,
    apply: { ok: true },
    ca: { ready: true, reason: 'SelfSigned', message: 'self-signed root is valid' },
    controlPlane: available,
    gateways: [{ name: 'ingress', ...available }],
    webhooks: { ready: true, reason: 'Configured', message: 'webhooks are configured' },
    ...overrides,
  };
}

function byType(conditions: readonly Condition[], type: string): Condition {
  const found = conditions.find((c) => c.type === type);
  assert.ok(found, `condition ${type} is missing`);
  return found;
}

describe('computeConditions', () => {
  it('reports Ready True with reason Healthy and state Healthy when everything is healthy', () => {
    const conditions = computeConditions(healthy(), undefined, T0);
    assert.deepEqual(
      conditions.map((c) => c.type),
      [...CONDITION_TYPES],
    );
    for (const c of conditions) assert.equal(c.status, 'True', `${c.type} should be True`);
    const ready = byType(conditions, 'Ready');
    assert.equal(ready.reason, 'Healthy');
    assert.equal(meshState(conditions), 'Healthy');
    assert.equal(byType(conditions, 'Reconciled').reason, 'Applied');
    assert.equal(byType(conditions, 'CertificateAuthorityReady').reason, 'SelfSigned');
    assert.equal(byType(conditions, 'ControlPlaneReady').reason, 'Available');
    assert.equal(byType(conditions, 'GatewaysReady').reason, 'Available');
  });

  it('reports a CA problem on CertificateAuthorityReady and Ready, and as the mesh state', () => {
    const conditions = computeConditions(
      healthy({ ca: { ready: false, reason: 'KeyMismatch', message: 'ca-key.pem is not the key' } }),
      undefined,
      T0,
    );
    const ca = byType(conditions, 'CertificateAuthorityReady');
    assert.equal(ca.status, 'False');
    assert.equal(ca.reason, 'KeyMismatch');
    assert.equal(ca.message, 'ca-key.pem is not the key');
    const ready = byType(conditions, 'Ready');
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'KeyMismatch');
    assert.match(ready.message, /CertificateAuthorityReady: ca-key\.pem is not the key/);
    assert.equal(meshState(conditions), 'KeyMismatch');
  });

  it('takes Ready and the state from the first failing condition in declaration order', () => {
    // Every condition but Reconciled fails: CertificateAuthorityReady comes first.
    const obs = healthy({
      ca: { ready: false, reason: 'SecretMissingKeys', message: 'lacks ca-key.pem' },
      controlPlane: { found: false, replicas: 0, readyReplicas: 0, rolledOut: false },
      gateways: [{ name: 'ingress', found: true, replicas: 1, readyReplicas: 0, rolledOut: true }],
      webhooks: { ready: false, reason: 'NoCaBundle', message: 'no caBundle yet' },
    });
    const conditions = computeConditions(obs, undefined, T0);
    assert.equal(byType(conditions, 'Ready').reason, 'SecretMissingKeys');
    assert.equal(meshState(conditions), 'SecretMissingKeys');
    const message = byType(conditions, 'Ready').message;
    for (const type of ['CertificateAuthorityReady', 'ControlPlaneReady', 'GatewaysReady', 'WebhooksReady']) {
      assert.ok(message.includes(`${type}:`), `Ready message names ${type}: ${message}`);
    }

    // A failed apply precedes them all.
    const applyFailed = computeConditions(
      { ...obs, apply: { ok: false, reason: 'ApplyFailed', message: 'forbidden' } },
      undefined,
      T0,
    );
    assert.equal(byType(applyFailed, 'Reconciled').status, 'False');
    assert.equal(byType(applyFailed, 'Reconciled').reason, 'ApplyFailed');
    assert.equal(meshState(applyFailed), 'ApplyFailed');

    // With the CA healthy, the control plane is next.
    const cpFirst = computeConditions(
      { ...obs, ca: { ready: true, reason: 'ExistingSecret', message: 'ok' } },
      undefined,
      T0,
    );
    assert.equal(meshState(cpFirst), 'NotFound');
    assert.equal(byType(cpFirst, 'Ready').reason, 'NotFound');

    // Then gateways, then webhooks.
    const gwFirst = computeConditions(
      { ...obs, ca: { ready: true, reason: 'ExistingSecret', message: 'ok' }, controlPlane: available },
      undefined,
      T0,
    );
    assert.equal(meshState(gwFirst), 'Unavailable');
    const whOnly = computeConditions(healthy({ webhooks: obs.webhooks }), undefined, T0);
    assert.equal(meshState(whOnly), 'NoCaBundle');
    assert.equal(byType(whOnly, 'WebhooksReady').status, 'False');
  });

  it('sets observedGeneration on every condition', () => {
    const conditions = computeConditions(healthy({ generation: 42 }), undefined, T0);
    assert.equal(conditions.length, CONDITION_TYPES.length);
    for (const c of conditions) assert.equal(c.observedGeneration, 42, c.type);
  });

  it('keeps lastTransitionTime when a status did not change, and moves it when it did', () => {
    const first = computeConditions(healthy({ generation: 1 }), undefined, T0);
    for (const c of first) assert.equal(c.lastTransitionTime, T0);

    // Nothing changed: every transition time stays, though the generation moved on.
    const same = computeConditions(healthy({ generation: 2 }), first, T1);
    for (const c of same) {
      assert.equal(c.lastTransitionTime, T0, c.type);
      assert.equal(c.observedGeneration, 2, c.type);
    }

    // The control plane goes down: it and Ready transition, the rest keep their times.
    const down = computeConditions(
      healthy({ generation: 2, controlPlane: { ...available, readyReplicas: 0 } }),
      same,
      T1,
    );
    assert.equal(byType(down, 'ControlPlaneReady').lastTransitionTime, T1);
    assert.equal(byType(down, 'Ready').lastTransitionTime, T1);
    for (const type of ['Reconciled', 'CertificateAuthorityReady', 'GatewaysReady', 'WebhooksReady']) {
      assert.equal(byType(down, type).lastTransitionTime, T0, type);
    }
  });

  it('keeps lastTransitionTime when only the reason changes but the status does not', () => {
    const unavailable = computeConditions(
      healthy({ controlPlane: { found: true, replicas: 2, readyReplicas: 0, rolledOut: true } }),
      undefined,
      T0,
    );
    const rolling = computeConditions(
      healthy({ controlPlane: { found: true, replicas: 2, readyReplicas: 1, rolledOut: false } }),
      unavailable,
      T1,
    );
    const cp = byType(rolling, 'ControlPlaneReady');
    assert.equal(cp.reason, 'RollingOut');
    assert.equal(cp.lastTransitionTime, T0);
  });

  it('stamps conditions that did not exist before with now', () => {
    const previous: Condition[] = [
      { type: 'Reconciled', status: 'True', reason: 'Applied', message: '', lastTransitionTime: T0 },
    ];
    const conditions = computeConditions(healthy(), previous, T1);
    assert.equal(byType(conditions, 'Reconciled').lastTransitionTime, T0);
    assert.equal(byType(conditions, 'ControlPlaneReady').lastTransitionTime, T1);
  });
});

describe('conditionVerdicts: deployments', () => {
  it('reports NotFound when the Deployment does not exist', () => {
    const v = conditionVerdicts(
      healthy({ controlPlane: { found: false, replicas: 0, readyReplicas: 0, rolledOut: false } }),
    );
    assert.equal(v.ControlPlaneReady.status, 'False');
    assert.equal(v.ControlPlaneReady.reason, 'NotFound');
  });

  it('reports Unavailable when no replica is ready', () => {
    const v = conditionVerdicts(
      healthy({ controlPlane: { found: true, replicas: 3, readyReplicas: 0, rolledOut: true } }),
    );
    assert.equal(v.ControlPlaneReady.status, 'False');
    assert.equal(v.ControlPlaneReady.reason, 'Unavailable');
    assert.match(v.ControlPlaneReady.message, /0 of 3/);
  });

  it('reports RollingOut while some replicas are not ready or the rollout is not finished', () => {
    const partial = conditionVerdicts(
      healthy({ controlPlane: { found: true, replicas: 3, readyReplicas: 1, rolledOut: true } }),
    );
    assert.equal(partial.ControlPlaneReady.status, 'False');
    assert.equal(partial.ControlPlaneReady.reason, 'RollingOut');
    assert.match(partial.ControlPlaneReady.message, /1 of 3/);

    const notRolledOut = conditionVerdicts(
      healthy({ controlPlane: { found: true, replicas: 3, readyReplicas: 3, rolledOut: false } }),
    );
    assert.equal(notRolledOut.ControlPlaneReady.status, 'False');
    assert.equal(notRolledOut.ControlPlaneReady.reason, 'RollingOut');
  });

  it('reports ProgressDeadlineExceeded, with the controller message, when a rollout has stalled', () => {
    const stalled = 'ReplicaSet "weft-control-plane-7d9" has timed out progressing.';
    const v = conditionVerdicts(
      healthy({
        gateways: [
          { name: 'ingress', found: true, replicas: 1, readyReplicas: 0, rolledOut: false, stalled },
        ],
      }),
    );
    assert.equal(v.GatewaysReady.status, 'False');
    assert.equal(v.GatewaysReady.reason, 'ProgressDeadlineExceeded');
    assert.match(v.GatewaysReady.message, /gateway ingress: 0 of 1 replicas ready/);
    assert.ok(v.GatewaysReady.message.includes(stalled));
    // Ready carries the reason, which Argo CD's health check reads as terminal (Degraded).
    assert.equal(v.Ready.status, 'False');
    assert.equal(v.Ready.reason, 'ProgressDeadlineExceeded');
  });

  it('reports Available when every replica is ready and rolled out', () => {
    const v = conditionVerdicts(healthy());
    assert.equal(v.ControlPlaneReady.status, 'True');
    assert.equal(v.ControlPlaneReady.reason, 'Available');
    assert.match(v.ControlPlaneReady.message, /2 of 2/);
  });

  it('reports GatewaysReady True NoGateways when the Mesh declares none', () => {
    const v = conditionVerdicts(healthy({ gateways: [] }));
    assert.equal(v.GatewaysReady.status, 'True');
    assert.equal(v.GatewaysReady.reason, 'NoGateways');
    assert.equal(v.Ready.status, 'True');
  });

  it('fails GatewaysReady with the reason of the failing gateway and names every gateway', () => {
    const v = conditionVerdicts(
      healthy({
        gateways: [
          { name: 'ingress', ...available },
          { name: 'egress', found: false, replicas: 0, readyReplicas: 0, rolledOut: false },
        ],
      }),
    );
    assert.equal(v.GatewaysReady.status, 'False');
    assert.equal(v.GatewaysReady.reason, 'NotFound');
    assert.match(v.GatewaysReady.message, /gateway ingress/);
    assert.match(v.GatewaysReady.message, /gateway egress/);
    assert.equal(v.Ready.reason, 'NotFound');
  });
});
