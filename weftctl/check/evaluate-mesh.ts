import { INJECTOR_WEBHOOK_NAME, VALIDATOR_WEBHOOK_NAME } from '../../cdk8s/names.js';
import { activeMeshName } from '../../controllers/mesh/conditions.js';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { meshReadiness } from '../kube/readiness.js';
import { INSTALL_HINT } from './evaluate-cluster.js';
import { certificateFact, validity } from './certificates.js';
import type { MeshFacts, PostFacts, WebhookConfigurationFact } from './facts.js';
import { fail, pass, warn, type Category, type Check } from './result.js';

/**
 * Days left under which a certificate is a warning: the root's rotation takes planning; the serving
 * certificate (30 days) is renewed by the control plane with 10 days left, so under 7 its renewal is failing.
 */
export const ROOT_WARN_DAYS = 30;
export const SERVING_WARN_DAYS = 7;

/** The Mesh the operator reconciles (the oldest; ADR 0003), if any. Pure. */
export function activeMesh(meshes: readonly Mesh[]): Mesh | undefined {
  const name = activeMeshName(meshes);
  return meshes.find((m) => m.metadata?.name === name);
}

/** A Mesh exists, the active one is Ready for its latest generation, no other waits beside it. Pure. */
export function meshCategory(facts: PostFacts): Category {
  const categoryName = 'weft-mesh';
  if (!facts.meshes.ok && facts.meshes.status === 404)
    return {
      categoryName,
      checks: [fail('a Mesh exists', 'the Mesh CRD (meshes.mesh.weft.dev) is not installed', INSTALL_HINT)],
    };
  if (!facts.meshes.ok)
    return {
      categoryName,
      checks: [
        fail('can list Meshes', facts.meshes.message, 'Use a kubeconfig that may list meshes.mesh.weft.dev.'),
      ],
    };
  const active = activeMesh(facts.meshes.value);
  if (!active)
    return {
      categoryName,
      checks: [
        fail(
          'a Mesh exists',
          'no Mesh: the operator has nothing to run',
          'Apply one: kubectl apply -f crds/samples/mesh.yaml (or weftctl install --mesh <file>).',
        ),
      ],
    };
  const name = active.metadata?.name;
  const readiness = meshReadiness(active);
  const description = `Mesh ${name} is Ready for its latest spec (generation ${active.metadata?.generation})`;
  const checks: Check[] = [
    readiness.ready
      ? pass(description)
      : fail(
          description,
          readiness.summary,
          `Look at kubectl describe mesh ${name}: each condition says what is missing, and its events what the operator did.`,
        ),
  ];
  const aside = facts.meshes.value.filter((m) => m !== active && !m.metadata?.deletionTimestamp);
  if (aside.length > 0)
    checks.push(
      warn(
        `only one Mesh exists`,
        `${aside.map((m) => m.metadata?.name).join(', ')} stand aside: one Mesh is reconciled per cluster, the oldest (${name})`,
        `Delete the others (kubectl delete mesh ${aside[0]!.metadata?.name}).`,
      ),
    );
  return { categoryName, checks };
}

function configurationCheck(
  kind: string,
  name: string,
  config: WebhookConfigurationFact | undefined,
  meshName: string,
): Check {
  const description = `the ${kind} ${name} exists, with a caBundle`;
  const hint = `The operator writes it for the Mesh once the mesh CA exists: look at kubectl describe mesh ${meshName} (condition WebhooksReady).`;
  if (!config) return fail(description, `${kind} ${name} not found`, hint);
  const without = config.webhooks.filter((w) => !w.caBundle?.includes('BEGIN CERTIFICATE'));
  if (config.webhooks.length === 0 || without.length > 0)
    return fail(
      description,
      `no caBundle in ${without.map((w) => w.name).join(', ') || 'its webhooks (there are none)'}`,
      hint,
    );
  return pass(description);
}

/** The caBundle names the mesh root: the API server verifies the serving certificate against it. Pure. */
function caBundleCheck(
  configs: readonly WebhookConfigurationFact[],
  root: MeshFacts['root'],
): Check | undefined {
  if (!root.ok) return undefined;
  const wrong = configs.flatMap((c) =>
    c.webhooks
      .filter((w) => w.caBundle && certificateFact(w.caBundle)?.fingerprint256 !== root.value.fingerprint256)
      .map((w) => `${c.name}/${w.name}`),
  );
  const description = 'the webhooks trust the mesh root certificate';
  if (wrong.length === 0) return pass(description);
  return warn(
    description,
    `the caBundle of ${wrong.join(', ')} is not the mesh root (${root.value.fingerprint256})`,
    'The operator sets it on its next reconcile, unless another tool (a CA injector) owns the field: that tool must inject the mesh root.',
  );
}

function dryRunCheck(facts: MeshFacts, mesh: Mesh): Check {
  const description = 'the validating webhook rejects an invalid VirtualService (server-side dry run)';
  const dry = facts.dryRun;
  if (dry.outcome === 'rejected') return pass(`${description}: "${dry.message}"`);
  const namespace = mesh.spec?.namespace ?? 'weft-system';
  if (dry.outcome === 'accepted')
    return fail(
      description,
      'the API server accepted a VirtualService whose route weights add up to 110: no webhook checked it',
      `Look at kubectl get validatingwebhookconfiguration ${VALIDATOR_WEBHOOK_NAME} -o yaml: its rules must cover networking.weft.dev, and its namespaceSelector the namespace default.`,
    );
  if (dry.status === 403)
    return warn(
      description,
      `not allowed to try it: ${dry.message}`,
      'Run weftctl check as a user who may create VirtualServices in namespace default.',
    );
  return fail(
    description,
    dry.message,
    `The API server cannot get an answer from the control plane's webhook (port 15017): look at kubectl -n ${namespace} get pods -l app=weft-control-plane and kubectl -n ${namespace} logs deployment/weft-control-plane. In local development, start it with npm run control-plane.`,
  );
}

/** The webhook configurations exist with a caBundle, and the validating one answers. Pure. */
export function webhookCategory(facts: MeshFacts, mesh: Mesh): Category {
  const categoryName = 'weft-webhooks';
  if (!facts.webhooks.ok)
    return {
      categoryName,
      checks: [
        fail(
          'can read the webhook configurations',
          facts.webhooks.message,
          'Use a kubeconfig that may get validatingwebhookconfigurations and mutatingwebhookconfigurations.',
        ),
      ],
    };
  const { validating, mutating } = facts.webhooks.value;
  const meshName = mesh.metadata?.name ?? '';
  const checks: Check[] = [
    configurationCheck('ValidatingWebhookConfiguration', VALIDATOR_WEBHOOK_NAME, validating, meshName),
    configurationCheck('MutatingWebhookConfiguration', INJECTOR_WEBHOOK_NAME, mutating, meshName),
  ];
  const bundle = caBundleCheck(
    [validating, mutating].filter((c): c is WebhookConfigurationFact => !!c),
    facts.root,
  );
  if (bundle) checks.push(bundle);
  checks.push(dryRunCheck(facts, mesh));
  return { categoryName, checks };
}

function rootCheck(facts: MeshFacts, mesh: Mesh, now: string): Check {
  const description = 'the mesh root certificate is valid';
  const rotate = 'Rotate the mesh root before it expires: docs/root-ca-rotation.md.';
  if (!facts.root.ok) {
    const notAfter = mesh.status?.certificateAuthority?.rootNotAfter;
    return warn(
      description,
      `cannot read the root from Secret ${mesh.status?.certificateAuthority?.secretName ?? '(none in the Mesh status)'}: ${facts.root.message}${notAfter ? `; the Mesh status says it expires ${notAfter}` : ''}`,
      'Run weftctl check as a user who may read the CA Secret in the mesh namespace.',
    );
  }
  const v = validity(facts.root.value, now);
  if (v.state === 'not-yet-valid')
    return fail(
      description,
      `not valid before ${v.from}`,
      'Check the clocks of the cluster and of whoever made the plug-in CA.',
    );
  if (v.state === 'expired')
    return fail(
      description,
      `expired ${v.daysAgo} days ago (${facts.root.value.notAfter}): no workload certificate verifies`,
      rotate,
    );
  const until = `${description} for ${v.daysLeft} more days (until ${facts.root.value.notAfter.slice(0, 10)})`;
  return v.daysLeft < ROOT_WARN_DAYS ? warn(until, `expires in ${v.daysLeft} days`, rotate) : pass(until);
}

function servingCheck(facts: MeshFacts, mesh: Mesh, now: string): Check {
  const description = 'the webhook serving certificate is valid';
  const namespace = mesh.spec?.namespace ?? 'weft-system';
  const restart = `The control plane renews it from the mesh CA 10 days before it expires, and whenever the CA changes; if it has not, its log says why (kubectl -n ${namespace} logs deployment/weft-control-plane | grep 'serving certificate'), and a restart issues a new one (kubectl -n ${namespace} rollout restart deployment/weft-control-plane).`;
  const serving = facts.serving;
  if (!serving.seen) {
    if (facts.dryRun.outcome === 'rejected')
      return pass(
        `${description}: the API server verified it in the dry run (its expiry is readable from inside the cluster only: ${serving.reason})`,
      );
    return warn(description, `not checked: ${serving.reason}`, restart);
  }
  if (!serving.trusted)
    return fail(
      description,
      `${serving.url} presents a certificate the webhook caBundle does not verify: ${serving.trustError}`,
      restart,
    );
  const v = validity(serving.certificate, now);
  if (v.state !== 'valid')
    return fail(
      description,
      v.state === 'expired' ? `expired ${v.daysAgo} days ago` : `not valid before ${v.from}`,
      restart,
    );
  const until = `${description} for ${v.daysLeft} more days (${serving.url})`;
  return v.daysLeft < SERVING_WARN_DAYS ? warn(until, `expires in ${v.daysLeft} days`, restart) : pass(until);
}

/** The mesh root and the webhook serving certificate, with days to expiry. Pure. */
export function certificateCategory(facts: MeshFacts, mesh: Mesh, now: string): Category {
  return {
    categoryName: 'weft-certificates',
    checks: [rootCheck(facts, mesh, now), servingCheck(facts, mesh, now)],
  };
}
