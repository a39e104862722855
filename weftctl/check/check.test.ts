import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSelfSignedCa } from '../../controllers/ca/ca-material.js';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { certificateFact, validity } from './certificates.js';
import { kubernetesApi } from './evaluate-cluster.js';
import { evaluatePost } from './evaluate-post.js';
import { evaluatePre } from './evaluate-pre.js';
import type { CertificateFact, CrdFact, MeshFacts, PostFacts, PreFacts } from './facts.js';
import { checksJson, formatChecks } from './render.js';
import { anyFailed, type Category, type Check } from './result.js';

const NOW = '2026-11-26T12:00:00.000Z';
const DAY = 86_400_000;
const CRD_NAMES = ['meshes.mesh.weft.dev', 'virtualservices.networking.weft.dev'];
const ours = (name: string): CrdFact => ({
  name,
  present: true,
  labels: { 'app.kubernetes.io/part-of': 'weft' },
  established: true,
});

const cert = (daysLeft: number): CertificateFact => ({
  subject: 'O=Weft',
  notBefore: new Date(Date.parse(NOW) - 10 * DAY).toISOString(),
  notAfter: new Date(Date.parse(NOW) + daysLeft * DAY + 3_600_000).toISOString(),
  fingerprint256: 'AA:BB',
});

const ROOT_PEM = createSelfSignedCa('cluster.local', 365 * DAY, new Date(NOW))['root-cert.pem'];
const ROOT = certificateFact(ROOT_PEM)!;

const mesh: Mesh = {
  apiVersion: 'mesh.weft.dev/v1alpha1',
  kind: 'Mesh',
  metadata: { name: 'default', generation: 2, creationTimestamp: new Date('2026-11-01T00:00:00Z') },
  spec: { version: '0.1.0', namespace: 'weft-system' },
  status: {
    observedGeneration: 2,
    certificateAuthority: { secretName: 'weft-system/weft-ca-secret' },
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Healthy',
        message: 'the mesh is ready',
        lastTransitionTime: NOW,
      },
    ],
  },
};

const meshFacts: MeshFacts = {
  webhooks: {
    ok: true,
    value: {
      validating: {
        name: 'weft-validator',
        webhooks: [
          { name: 'validation.weft.dev', url: 'https://127.0.0.1:15017/validate', caBundle: ROOT_PEM },
        ],
      },
      mutating: {
        name: 'weft-sidecar-injector',
        webhooks: [
          { name: 'sidecar-injector.weft.dev', url: 'https://127.0.0.1:15017/inject', caBundle: ROOT_PEM },
        ],
      },
    },
  },
  dryRun: {
    outcome: 'rejected',
    message: 'admission webhook "validation.weft.dev" denied the request: the weights add up to 110',
  },
  root: { ok: true, value: ROOT },
  serving: { seen: true, url: 'https://127.0.0.1:15017', certificate: cert(29), trusted: true },
};

/** A healthy installation, seen from outside: each test breaks one thing. */
const healthy: PostFacts = {
  server: 'https://127.0.0.1:16443',
  weftctlVersion: '0.1.0',
  kubernetes: { ok: true, value: 'v1.35.4' },
  crds: { ok: true, value: CRD_NAMES.map(ours) },
  operatorNamespace: 'weft-operator',
  now: NOW,
  operators: {
    ok: true,
    value: [
      {
        namespace: 'weft-operator',
        name: 'weft-operator',
        version: '0.1.0',
        readiness: { available: true, ready: 1, replicas: 1 },
        pods: [{ name: 'weft-operator-7d9-abcde', simulated: false }],
      },
    ],
  },
  lease: {
    ok: true,
    value: {
      holder: 'weft-operator-7d9-abcde_1a2b3c4d',
      renewTime: new Date(Date.parse(NOW) - 2_000).toISOString(),
      durationSeconds: 15,
    },
  },
  meshes: { ok: true, value: [mesh] },
  mesh: meshFacts,
  controlPlane: 'http://127.0.0.1:15014',
  proxies: {
    ok: true,
    value: [
      { id: 'reviews-v1.shop', namespace: 'shop', role: 'sidecar', status: 'SYNCED', sent: '3', acked: '3' },
    ],
  },
};

const all = (categories: readonly Category[]): Check[] => categories.flatMap((c) => c.checks);
const find = (categories: readonly Category[], pattern: RegExp): Check => {
  const found = all(categories).find((c) => pattern.test(c.description));
  assert.ok(
    found,
    `a check matching ${pattern} in ${all(categories)
      .map((c) => c.description)
      .join(' | ')}`,
  );
  return found;
};
const notOk = (categories: readonly Category[]): Check[] =>
  all(categories).filter((c) => c.result !== 'success');

describe('weftctl check: evaluating the facts', () => {
  it('passes every check of a healthy installation, with the days each certificate has left', () => {
    const categories = evaluatePost(healthy);
    assert.deepEqual(notOk(categories), []);
    assert.deepEqual(
      categories.map((c) => c.categoryName),
      [
        'kubernetes-api',
        'weft-crds',
        'weft-version',
        'weft-operator',
        'weft-mesh',
        'weft-webhooks',
        'weft-certificates',
        'weft-proxies',
      ],
    );
    assert.match(
      find(categories, /mesh root certificate is valid/).description,
      /valid for 36[45] more days \(until \d{4}-\d\d-\d\d\)/,
    );
    assert.match(find(categories, /serving certificate/).description, /valid for 29 more days/);
    assert.match(find(categories, /rejects an invalid VirtualService/).description, /weights add up to 110/);
    assert.match(
      find(categories, /Lease/).description,
      /held by weft-operator-7d9-abcde_1a2b3c4d, renewed 2s ago/,
    );
  });

  it('stops at the API server when it does not answer, with how to reach it', () => {
    const categories = evaluatePost({ ...healthy, kubernetes: { ok: false, message: 'ECONNREFUSED' } });
    assert.equal(categories.length, 1);
    const [reach] = categories[0]!.checks;
    assert.equal(reach!.result, 'error');
    assert.equal(reach!.error, 'ECONNREFUSED');
    assert.match(reach!.hint!, /--kubeconfig or \$KUBECONFIG/);
  });

  it('refuses a Kubernetes older than the minimum, and reads vendor suffixes', () => {
    const old = kubernetesApi({ ...healthy, kubernetes: { ok: true, value: 'v1.28.9' } }).checks[1]!;
    assert.equal(old.result, 'error');
    assert.match(old.error!, /v1\.28\.9 is older than 1\.29\.0/);
    assert.match(old.hint!, /Upgrade the cluster/);
    const k3s = kubernetesApi({ ...healthy, kubernetes: { ok: true, value: 'v1.31.2+k3s1' } }).checks[1]!;
    assert.equal(k3s.result, 'success');
  });

  it('fails on missing CRDs, naming them and how to install', () => {
    const crds = {
      ok: true as const,
      value: [ours(CRD_NAMES[0]!), { ...ours(CRD_NAMES[1]!), present: false }],
    };
    const check = find(evaluatePost({ ...healthy, crds }), /CRDs are installed/);
    assert.equal(check.result, 'error');
    assert.equal(check.error, 'missing: virtualservices.networking.weft.dev');
    assert.match(check.hint!, /weftctl install/);
  });

  it('is honest about kwok: a simulated Ready pod and a leader outside the Deployment are warnings, not passes', () => {
    const operators = healthy.operators.ok ? healthy.operators.value : [];
    const categories = evaluatePost({
      ...healthy,
      operators: {
        ok: true,
        value: [{ ...operators[0]!, pods: [{ name: 'weft-operator-7d9-abcde', simulated: true }] }],
      },
      lease: { ok: true, value: { holder: 'devbox_99aa', renewTime: NOW, durationSeconds: 5 } },
    });
    assert.equal(anyFailed(categories), false);
    const [pods, lease] = notOk(categories);
    assert.match(pods!.error!, /kwok nodes, which simulate pod status without running containers/);
    assert.equal(lease!.result, 'warning');
    assert.match(
      lease!.error!,
      /the leader is not one of weft-operator\/weft-operator's pods .*npm run operator/,
    );
  });

  it('fails when no operator leads, or the leader stopped renewing its Lease', () => {
    const none = find(evaluatePost({ ...healthy, lease: { ok: true, value: undefined } }), /Lease/);
    assert.equal(none.result, 'error');
    assert.match(none.hint!, /kubectl -n weft-operator logs deployment\/weft-operator/);
    const renewTime = new Date(Date.parse(NOW) - 120_000).toISOString();
    const stale = find(
      evaluatePost({
        ...healthy,
        lease: { ok: true, value: { holder: 'weft-operator-7d9-abcde_1', renewTime, durationSeconds: 15 } },
      }),
      /Lease/,
    );
    assert.equal(stale.result, 'error');
    assert.match(stale.error!, /last renewed it 120s ago/);
  });

  it('points at the namespace an operator was found in when -n names another', () => {
    const check = find(
      evaluatePost({ ...healthy, operatorNamespace: 'ops' }),
      /operator Deployment ops\/weft-operator exists/,
    );
    assert.equal(check.result, 'error');
    assert.match(check.hint!, /installed in namespace weft-operator: pass -n weft-operator/);
  });

  it('warns of version skew between weftctl, the operator and the Mesh', () => {
    const operators = healthy.operators.ok ? healthy.operators.value : [];
    const skewed = evaluatePost({
      ...healthy,
      operators: { ok: true, value: [{ ...operators[0]!, version: '0.0.9' }] },
    });
    const [operator, meshVersion] = notOk(skewed);
    assert.equal(operator!.result, 'warning');
    assert.equal(operator!.error, 'weftctl is 0.1.0, the operator 0.0.9');
    assert.equal(meshVersion!.error, "the Mesh's spec.version is 0.1.0, the operator 0.0.9");
    assert.match(meshVersion!.hint!, /Set spec\.version of Mesh default to 0\.0\.9/);
  });

  it('fails when there is no Mesh, or it is not Ready for its latest generation', () => {
    const none = evaluatePost({ ...healthy, meshes: { ok: true, value: [] }, mesh: undefined });
    const missing = find(none, /a Mesh exists/);
    assert.match(missing.hint!, /kubectl apply -f crds\/samples\/mesh\.yaml/);
    assert.ok(!none.some((c) => c.categoryName === 'weft-webhooks'), 'no webhook checks without a Mesh');

    const notReady: Mesh = {
      ...mesh,
      status: {
        ...mesh.status,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'Unavailable',
            message: 'control plane: 0 of 1 replicas ready',
            lastTransitionTime: NOW,
          },
        ],
      },
    };
    const check = find(
      evaluatePost({ ...healthy, meshes: { ok: true, value: [notReady] } }),
      /Mesh default is Ready/,
    );
    assert.equal(check.error, 'Ready=False (Unavailable): control plane: 0 of 1 replicas ready');
    assert.match(check.hint!, /kubectl describe mesh default/);

    const behind: Mesh = { ...mesh, metadata: { ...mesh.metadata, generation: 3 } };
    const stale = find(
      evaluatePost({ ...healthy, meshes: { ok: true, value: [behind] } }),
      /Mesh default is Ready/,
    );
    assert.match(stale.error!, /status is for generation 2, the spec is generation 3/);
  });

  it('fails when the webhook cannot be reached or lets an invalid resource through', () => {
    const refused = evaluatePost({
      ...healthy,
      mesh: {
        ...meshFacts,
        dryRun: {
          outcome: 'failed',
          status: 500,
          message: 'failed calling webhook "validation.weft.dev": connect: connection refused',
        },
        serving: { seen: false, reason: 'cannot connect to https://127.0.0.1:15017 (ECONNREFUSED)' },
      },
    });
    const dry = find(refused, /rejects an invalid VirtualService/);
    assert.equal(dry.result, 'error');
    assert.match(dry.hint!, /port 15017.*npm run control-plane/);
    assert.equal(find(refused, /serving certificate/).result, 'warning');

    const accepted = find(
      evaluatePost({ ...healthy, mesh: { ...meshFacts, dryRun: { outcome: 'accepted' } } }),
      /rejects/,
    );
    assert.match(accepted.error!, /accepted a VirtualService whose route weights add up to 110/);
  });

  it('fails a webhook configuration without a caBundle, and warns when it is not the mesh root', () => {
    const webhooks = meshFacts.webhooks.ok ? meshFacts.webhooks.value : {};
    const other = createSelfSignedCa('other.local', DAY)['root-cert.pem'];
    const categories = evaluatePost({
      ...healthy,
      mesh: {
        ...meshFacts,
        webhooks: {
          ok: true,
          value: {
            validating: {
              name: 'weft-validator',
              webhooks: [{ name: 'validation.weft.dev', caBundle: other }],
            },
            mutating: { ...webhooks.mutating!, webhooks: [{ name: 'sidecar-injector.weft.dev' }] },
          },
        },
      },
    });
    const injector = find(categories, /MutatingWebhookConfiguration weft-sidecar-injector exists/);
    assert.equal(injector.error, 'no caBundle in sidecar-injector.weft.dev');
    assert.match(injector.hint!, /WebhooksReady/);
    const trust = find(categories, /trust the mesh root/);
    assert.equal(trust.result, 'warning');
    assert.match(trust.error!, /weft-validator\/validation\.weft\.dev is not the mesh root/);
  });

  it('warns of a root that expires within 30 days and fails an expired one, with the rotation guide', () => {
    const soon = find(
      evaluatePost({ ...healthy, mesh: { ...meshFacts, root: { ok: true, value: cert(12) } } }),
      /mesh root certificate is valid/,
    );
    assert.equal(soon.result, 'warning');
    assert.equal(soon.error, 'expires in 12 days');
    assert.match(soon.hint!, /docs\/root-ca-rotation\.md/);
    const expired = find(
      evaluatePost({ ...healthy, mesh: { ...meshFacts, root: { ok: true, value: cert(-3) } } }),
      /mesh root certificate is valid/,
    );
    assert.equal(expired.result, 'error');
    assert.match(expired.error!, /expired 2 days ago/);
  });

  it('takes the API server dry run as proof of a Service webhook serving certificate it cannot see', () => {
    const check = find(
      evaluatePost({
        ...healthy,
        mesh: {
          ...meshFacts,
          serving: { seen: false, reason: 'the webhook is the Service weft-system/weft-control-plane' },
        },
      }),
      /serving certificate/,
    );
    assert.equal(check.result, 'success');
    assert.match(check.description, /verified it in the dry run/);
  });

  it('fails on NACKed proxies, warns on STALE ones and on a control plane it cannot ask', () => {
    const proxies = evaluatePost({
      ...healthy,
      proxies: {
        ok: true,
        value: [
          {
            id: 'a.shop',
            namespace: 'shop',
            role: 'sidecar',
            status: 'NACK',
            nack: 'route r: unknown cluster',
          },
          { id: 'b.shop', namespace: 'shop', role: 'sidecar', status: 'STALE' },
        ],
      },
    });
    const [nack, stale] = notOk(proxies);
    assert.equal(nack!.result, 'error');
    assert.match(nack!.error!, /a\.shop \(route r: unknown cluster\)/);
    assert.equal(stale!.result, 'warning');
    const down = notOk(
      evaluatePost({ ...healthy, proxies: { ok: false, message: 'cannot reach the Weft control plane' } }),
    );
    assert.equal(down.length, 1);
    assert.equal(down[0]!.result, 'warning');
    assert.match(down[0]!.hint!, /port-forward deploy\/weft-control-plane 15014/);
  });
});

describe('weftctl check --pre', () => {
  const pre: PreFacts = {
    server: 'https://k',
    weftctlVersion: '0.1.0',
    kubernetes: { ok: true, value: 'v1.30.0' },
    crds: {
      ok: true,
      value: CRD_NAMES.map((name) => ({ name, present: false, labels: {}, established: false })),
    },
    operatorNamespace: 'weft-operator',
    access: [
      { verb: 'create', resource: 'apiextensions.k8s.io/customresourcedefinitions', allowed: true },
      { verb: 'create', resource: 'rbac.authorization.k8s.io/clusterroles', allowed: false, reason: '' },
    ],
  };

  it('fails a permission an install needs, with the kubectl auth can-i line to see it', () => {
    const denied = notOk(evaluatePre(pre));
    assert.equal(denied.length, 1);
    assert.equal(denied[0]!.description, 'can create rbac.authorization.k8s.io/clusterroles');
    assert.match(denied[0]!.hint!, /kubectl auth can-i create clusterroles\.rbac\.authorization\.k8s\.io/);
  });

  it("fails on a CRD of another owner (OLM's or another project's) and warns when Weft's own are there", () => {
    const crd = (labels: Record<string, string>): PreFacts['crds'] => ({
      ok: true,
      value: [{ name: CRD_NAMES[0]!, present: true, labels, established: true }],
    });
    const check = (facts: PreFacts): Check =>
      evaluatePre(facts).find((c) => c.categoryName === 'pre-install-crds')!.checks[0]!;
    const olm = check({
      ...pre,
      crds: crd({ 'app.kubernetes.io/part-of': 'weft', 'operators.coreos.com/weft.operators': '' }),
    });
    assert.equal(olm.result, 'error');
    assert.match(olm.error!, /managed by OLM \(label operators\.coreos\.com\/weft\.operators\)/);
    assert.match(olm.hint!, /upgraded and removed with OLM/);
    const foreign = check({ ...pre, crds: crd({}) });
    assert.match(foreign.error!, /without the app\.kubernetes\.io\/part-of=weft label/);
    const installed = check({ ...pre, crds: crd({ 'app.kubernetes.io/part-of': 'weft' }) });
    assert.equal(installed.result, 'warning');
    assert.equal(check(pre).result, 'success');
  });
});

describe('weftctl check: output', () => {
  const categories = evaluatePost({ ...healthy, mesh: { ...meshFacts, dryRun: { outcome: 'accepted' } } });

  it('prints ✔ and × lines by category, the error and hint under a failure, and the verdict', () => {
    const text = formatChecks(categories);
    assert.match(
      text,
      /^kubernetes-api\n--------------\n✔ can reach the Kubernetes API at https:\/\/127\.0\.0\.1:16443\n/,
    );
    assert.match(
      text,
      /\n× the validating webhook rejects an invalid VirtualService \(server-side dry run\)\n {4}the API server accepted .*\n {4}hint: Look at kubectl get validatingwebhookconfiguration weft-validator -o yaml/,
    );
    assert.match(text, /\nStatus check results are × \(1 failed, 0 warnings, \d+ passed\)\n$/);
    assert.ok(!/ +$/m.test(text), 'no trailing spaces');
  });

  it("prints linkerd check's JSON shape", () => {
    const json = JSON.parse(checksJson(categories)) as { success: boolean; categories: Category[] };
    assert.equal(json.success, false);
    assert.equal(json.categories[0]!.categoryName, 'kubernetes-api');
    assert.deepEqual(Object.keys(json.categories[0]!.checks[0]!), ['description', 'result']);
    assert.equal((JSON.parse(checksJson(evaluatePost(healthy))) as { success: boolean }).success, true);
  });
});

describe('certificates', () => {
  it('reads a PEM bundle and says how long its first certificate is valid', () => {
    const fact = certificateFact(`${ROOT_PEM}\n${ROOT_PEM}`)!;
    assert.match(fact.subject, /O=/);
    const notAfter = Date.parse(fact.notAfter);
    assert.deepEqual(validity(fact, new Date(notAfter - 10.5 * DAY).toISOString()), {
      state: 'valid',
      daysLeft: 10,
    });
    assert.deepEqual(validity(fact, new Date(notAfter + DAY).toISOString()), {
      state: 'expired',
      daysAgo: 1,
    });
    assert.equal(validity(fact, '2000-01-01T00:00:00Z').state, 'not-yet-valid');
    assert.equal(certificateFact('not a certificate'), undefined);
  });
});
