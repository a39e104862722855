import { START_HINT } from '../control-plane-client.js';
import { installedCrds, kubernetesApi } from './evaluate-cluster.js';
import { activeMesh, certificateCategory, meshCategory, webhookCategory } from './evaluate-mesh.js';
import { operatorCategory, versionCategory } from './evaluate-operator.js';
import type { PostFacts } from './facts.js';
import { fail, pass, warn, type Category, type Check } from './result.js';

/** Proxies SYNCED, as weftctl proxy-status reports them: NACK fails, STALE warns (it may be in flight). Pure. */
export function proxyCategory(facts: PostFacts): Category {
  const categoryName = 'weft-proxies';
  const description = 'the proxies run the latest configuration (SYNCED)';
  const proxies = facts.proxies;
  if (!proxies.ok)
    return {
      categoryName,
      checks: [
        warn(
          description,
          `cannot ask the control plane at ${facts.controlPlane}: ${proxies.message.split('\n')[0]}`,
          START_HINT.replace(/\n/g, ' '),
        ),
      ],
    };
  const nacked = proxies.value.filter((p) => p.status === 'NACK');
  const stale = proxies.value.filter((p) => p.status === 'STALE');
  const checks: Check[] = [];
  if (nacked.length > 0)
    checks.push(
      fail(
        description,
        `${nacked.length} rejected their configuration: ${nacked.map((p) => `${p.id} (${p.nack ?? 'no reason given'})`).join('; ')}`,
        'Find the resource the reason names and fix it (weftctl analyze --cluster; weftctl proxy-config <proxy-id> shows what was sent).',
      ),
    );
  if (stale.length > 0)
    checks.push(
      warn(
        description,
        `${stale.length} have not acknowledged their latest configuration yet: ${stale.map((p) => p.id).join(', ')}`,
        'Run weftctl check again in a moment; a proxy that stays STALE is not answering: look at its logs (container weft-proxy).',
      ),
    );
  if (checks.length === 0)
    checks.push(
      pass(
        proxies.value.length === 0
          ? `no proxies are connected to the control plane at ${facts.controlPlane}`
          : `${description}: ${proxies.value.length} of ${proxies.value.length}`,
      ),
    );
  return { categoryName, checks };
}

/**
 * `weftctl check`: every category, in the order a problem propagates (API, CRDs, operator, Mesh,
 * webhooks, certificates, proxies); the Mesh's own categories only when there is a Mesh. Pure.
 */
export function evaluatePost(facts: PostFacts): Category[] {
  const api = kubernetesApi(facts);
  if (!facts.kubernetes.ok) return [api];
  const active = facts.meshes.ok ? activeMesh(facts.meshes.value) : undefined;
  const categories = [
    api,
    installedCrds(facts),
    versionCategory(facts, active),
    operatorCategory(facts),
    meshCategory(facts),
  ];
  if (active && facts.mesh)
    categories.push(webhookCategory(facts.mesh, active), certificateCategory(facts.mesh, active, facts.now));
  categories.push(proxyCategory(facts));
  return categories.filter((c) => c.checks.length > 0);
}
