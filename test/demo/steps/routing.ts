import { SAMPLES, JASON, type Step } from '../context.js';
import { byVersion, failed, identities } from '../traffic.js';

/** Traffic management: the baseline, a canary, and routing by header. */

const SPIFFE = 'spiffe://cluster.local';
const EXPECTED_IDENTITIES = [
  `details ← ${SPIFFE}/ns/bookinfo/sa/bookinfo-productpage`,
  `productpage ← ${SPIFFE}/ns/weft-system/sa/weft-ingressgateway`,
  `ratings ← ${SPIFFE}/ns/bookinfo/sa/bookinfo-reviews`,
  `reviews ← ${SPIFFE}/ns/bookinfo/sa/bookinfo-productpage`,
];

const split = (counts: Record<string, number>): string =>
  ['v1', 'v2', 'v3'].map((v) => `${v} ${counts[v] ?? 0}`).join(' / ');

export const baseline: Step = {
  name: 'baseline-mtls-everywhere',
  title: 'No routing rules: reviews round-robins over v1, v2 and v3, every hop over mTLS',
  metrics: {
    workload: 'productpage-v1',
    where: { reporter: 'source' },
    by: ['destination_service_name', 'destination_principal', 'response_code'],
  },
  async run(ctx) {
    const samples = await ctx.traffic.send({ count: 60 });
    const counts = byVersion(samples);
    const seen = identities(samples);
    const missing = EXPECTED_IDENTITIES.filter((i) => !seen.includes(i));
    return {
      passed: failed(samples).length === 0 && ['v1', 'v2', 'v3'].every((v) => counts[v]) && !missing.length,
      detail: `${split(counts)} of ${samples.length}; ${missing.length ? `missing identities: ${missing.join(', ')}` : 'each hop saw the expected SPIFFE identity'}`,
      samples,
    };
  },
};

export const canary9010: Step = {
  name: 'canary-90-10',
  title: 'A canary: 90% of reviews to v1, 10% to v2',
  metrics: {
    workload: 'productpage-v1',
    where: { reporter: 'source', destination_service_name: 'reviews' },
    by: ['destination_version', 'response_code'],
  },
  async run(ctx) {
    await ctx.apply(`${SAMPLES}/virtual-service-reviews-90-10.yaml`, ['productpage-v1']);
    const samples = await ctx.traffic.send({ count: 1000 });
    const counts = byVersion(samples);
    const v2 = counts.v2 ?? 0;
    // 10% of 1000 is 100 ± 9.5 (binomial): 60..140 is four standard deviations either way.
    const passed = failed(samples).length === 0 && (counts.v1 ?? 0) + v2 === 1000 && v2 >= 60 && v2 <= 140;
    return {
      passed,
      detail: `v1 ${counts.v1 ?? 0} / v2 ${v2} / v3 ${counts.v3 ?? 0} of ${samples.length}`,
      samples,
    };
  },
};

export const canary0100: Step = {
  name: 'canary-0-100',
  title: 'The canary completes: every request to reviews v3',
  async run(ctx) {
    await ctx.apply(`${SAMPLES}/virtual-service-reviews-v3.yaml`, ['productpage-v1']);
    const samples = await ctx.traffic.send({ count: 200 });
    const counts = byVersion(samples);
    return {
      passed: failed(samples).length === 0 && counts.v3 === samples.length,
      detail: `${split(counts)} of ${samples.length}`,
      samples,
    };
  },
};

export const headerRouting: Step = {
  name: 'header-routing',
  title: 'Routing by header: the user jason gets reviews v2, everyone else v1',
  async run(ctx) {
    await ctx.apply(`${SAMPLES}/virtual-service-reviews-test-v2.yaml`, ['productpage-v1']);
    const jason = await ctx.traffic.send({ count: 100, headers: JASON });
    const others = await ctx.traffic.send({ count: 100 });
    const j = byVersion(jason);
    const o = byVersion(others);
    return {
      passed: failed([...jason, ...others]).length === 0 && j.v2 === 100 && o.v1 === 100,
      detail: `jason: ${split(j)}; others: ${split(o)}`,
      samples: [...jason, ...others],
    };
  },
};
