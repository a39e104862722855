import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Mesh } from '../../crds/generated/types/mesh.js';
import { kubectlAsync } from '../cluster/local-cluster.js';
import { repoRoot, weftDir } from '../cluster/paths.js';
import type { Behaviour } from './bookinfo/protocol.js';
import { SAMPLES, type Check, type DemoContext, type Step } from './context.js';
import { proxyStatus, requestTotalsAdded, scrape, sentVersions, waitSynced } from './mesh-state.js';
import { checkLine, metricsLines, stepLines, summarise, summaryLines, type DemoSummary } from './report.js';
import {
  CONTROL_PLANE,
  startDemoControlPlane,
  startStack,
  stopStack,
  type Say,
  type Stack,
} from './stack.js';
import { STEPS } from './steps/index.js';
import { TrafficClient } from './traffic.js';
import {
  APPLICATION,
  GATEWAY_PORT,
  NAMESPACE,
  applicationManifests,
  ingressGateway,
  kubectlApply,
  proxyId,
  startWorkloads,
  stopWorkloads,
  type RunningWorkload,
} from './workloads.js';

/**
 * The demo scenario, shared by `npm run demo` and the end-to-end test: the platform, the sample
 * application with a proxy beside each workload, then the traffic steps. It returns what it measured
 * and leaves everything running until `stop()`.
 */

export const SUMMARY_FILE = join(weftDir, 'demo-summary.json');
const TRAFFIC_KINDS = 'virtualservices,destinationrules,gateways,authorizationpolicies,peerauthentications';

export interface DemoRun {
  readonly summary: DemoSummary;
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

class Demo implements DemoContext {
  private readonly byName: Map<string, RunningWorkload>;

  constructor(
    readonly say: Say,
    readonly stack: Stack,
    readonly traffic: TrafficClient,
    readonly running: readonly RunningWorkload[],
  ) {
    this.byName = new Map(running.map((r) => [r.workload.name, r]));
  }

  get ids(): string[] {
    return this.running.map((r) => proxyId(r.workload));
  }

  workload(name: string): RunningWorkload {
    const found = this.byName.get(name);
    if (!found) throw new Error(`no workload ${name}`);
    return found;
  }

  private idsOf(names: readonly string[]): string[] {
    return names.map((n) => proxyId(this.workload(n).workload));
  }

  async apply(file: string, affected: readonly string[]): Promise<void> {
    this.say(`   $ kubectl apply -n ${NAMESPACE} -f ${file}`);
    const before = await sentVersions();
    const res = await kubectlAsync(['apply', '-n', NAMESPACE, '-f', join(repoRoot, file)]);
    if (res.status !== 0) throw new Error(`kubectl apply -f ${file}: ${res.stderr}`);
    await waitSynced(this.idsOf(affected), `${affected.join(', ')} to ACK the change from ${file}`, before);
  }

  async remove(resource: string, affected: readonly string[]): Promise<void> {
    this.say(`   $ kubectl delete -n ${NAMESPACE} ${resource}`);
    const before = await sentVersions();
    const res = await kubectlAsync(['delete', '-n', NAMESPACE, resource]);
    if (res.status !== 0) throw new Error(`kubectl delete ${resource}: ${res.stderr}`);
    await waitSynced(
      this.idsOf(affected),
      `${affected.join(', ')} to ACK the removal of ${resource}`,
      before,
    );
  }

  private appUrl(name: string): string {
    return `http://${this.workload(name).workload.address}:9080/demo/behaviour`;
  }

  async behave(name: string, behaviour: Behaviour): Promise<void> {
    const res = await fetch(this.appUrl(name), { method: 'POST', body: JSON.stringify(behaviour) });
    if (res.status !== 204) throw new Error(`${name} refused its behaviour: ${res.status}`);
    if (Object.keys(behaviour).length) this.say(`   (${name} now misbehaves: ${JSON.stringify(behaviour)})`);
  }

  async served(name: string): Promise<number> {
    return ((await (await fetch(this.appUrl(name))).json()) as { served: number }).served;
  }

  async restartControlPlane(): Promise<{ downMs: number }> {
    this.say('   $ kill -TERM <control plane>; npm run control-plane');
    const stopped = Date.now();
    await this.stack.controlPlane.stop('SIGTERM');
    this.stack.controlPlane = await startDemoControlPlane();
    const downMs = Date.now() - stopped;
    await waitSynced(this.ids, 'every proxy to reconnect to the new control plane and ACK');
    return { downMs };
  }

  async runStep(step: Step, index: number, seen: Set<string>): Promise<Check> {
    this.say();
    this.say(`▸ ${index + 1}/${STEPS.length} ${step.title}`);
    try {
      const excerpt = step.metrics;
      const before = excerpt && (await scrape(this.workload(excerpt.workload)));
      const outcome = await step.run(this);
      for (const line of stepLines(outcome, seen)) this.say(`   ${line}`);
      if (excerpt) {
        const after = await scrape(this.workload(excerpt.workload));
        const added = requestTotalsAdded(before!, after, excerpt.where, excerpt.by);
        for (const line of metricsLines(excerpt.workload, added)) this.say(`   ${line}`);
      }
      const check = { name: step.name, passed: outcome.passed, detail: outcome.detail };
      this.say(`   ${checkLine(check)}`);
      return check;
    } catch (err) {
      const check = { name: step.name, passed: false, detail: `error: ${(err as Error).message}` };
      this.say(`   ${checkLine(check)}`);
      return check;
    }
  }
}

async function startApplication(stack: Stack, say: Say): Promise<RunningWorkload[]> {
  say(
    '5. The sample application: productpage → details, reviews v1/v2/v3 → ratings, and the ingress gateway',
  );
  // A previous run's routing would change what the steps see: start from none.
  await kubectlAsync(['delete', TRAFFIC_KINDS, '--all', '-n', NAMESPACE, '--ignore-not-found']);
  await kubectlApply(applicationManifests());
  const workloads = [ingressGateway(stack.meshNamespace), ...APPLICATION];
  say(`   starting ${workloads.length} proxies and ${APPLICATION.length} applications as local processes...`);
  const running = await startWorkloads(workloads, {
    controlPlane: CONTROL_PLANE.push,
    rootCertPem: stack.rootCertPem,
  });
  await waitSynced(
    running.map((r) => proxyId(r.workload)),
    'every proxy to get its certificate and ACK its configuration',
  );
  for (const r of running) {
    const { workload: w } = r;
    say(
      `   ${proxyId(w).padEnd(36)} ${w.address.padEnd(11)} spiffe://cluster.local/ns/${w.namespace}/sa/${w.serviceAccount}`,
    );
  }
  return running;
}

/** Whether the Mesh is still Ready for its current generation, read afresh at the end. */
async function meshReady(stack: Stack): Promise<boolean> {
  const mesh = (await stack.kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({
    group: 'mesh.weft.dev',
    version: 'v1alpha1',
    plural: 'meshes',
    name: stack.mesh.metadata!.name!,
  })) as Mesh;
  const ready = mesh.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && mesh.status?.observedGeneration === mesh.metadata?.generation;
}

export async function runDemo(say: Say): Promise<DemoRun> {
  const started = Date.now();
  const stack = await startStack(say);
  const running = await startApplication(stack, say);
  const gateway = running[0]!;
  const traffic = new TrafficClient(`http://${gateway.workload.address}:${GATEWAY_PORT}`);
  const demo = new Demo(say, stack, traffic, running);
  const stop = async (): Promise<void> => {
    await traffic.close();
    await stopWorkloads(running);
    await stopStack(stack);
  };
  try {
    say(`   the ingress gateway's route to productpage, and subsets with mTLS for every service:`);
    await demo.apply('crds/samples/networking/bookinfo-gateway.yaml', ['weft-ingressgateway']);
    await demo.apply(`${SAMPLES}/bookinfo-gateway.yaml`, ['weft-ingressgateway']);
    await demo.apply(`${SAMPLES}/destination-rule-all-mtls.yaml`, ['productpage-v1']);

    say();
    say(`6. Traffic: a user outside the mesh asks ${traffic.gatewayUrl}/productpage`);
    const checks: Check[] = [];
    const seen = new Set<string>();
    for (const [i, step] of STEPS.entries()) checks.push(await demo.runStep(step, i, seen));

    const status = (await proxyStatus()).filter((s) => demo.ids.includes(s.id));
    const summary = summarise(
      await meshReady(stack),
      { connected: status.length, synced: status.filter((s) => s.status === 'SYNCED').length },
      traffic.all,
      checks,
      (Date.now() - started) / 1000,
    );
    writeFileSync(SUMMARY_FILE, JSON.stringify(summary, null, 2) + '\n');
    say();
    for (const line of summaryLines(summary)) say(line);
    say(`(written to ${SUMMARY_FILE})`);
    const productpage = demo.workload('productpage-v1');
    const urls = [
      `the product page:     curl -H 'end-user: jason' ${traffic.gatewayUrl}/productpage`,
      `proxy status:         curl ${CONTROL_PLANE.monitoring}/debug/proxy-status`,
      `a proxy's config:     curl '${CONTROL_PLANE.monitoring}/debug/proxy-config?proxy=${proxyId(productpage.workload)}'`,
      `productpage metrics:  curl http://${productpage.workload.address}:${productpage.ports.metrics}/stats/prometheus`,
      `productpage admin:    curl http://127.0.0.1:${productpage.ports.admin}/config_dump`,
      `control plane:        curl ${CONTROL_PLANE.monitoring}/metrics`,
    ];
    return { summary, urls, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
