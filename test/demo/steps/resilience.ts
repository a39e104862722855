import { DEMO_MANIFESTS, JASON, SAMPLES, type Step } from '../context.js';
import { requestCount } from '../../helpers/prometheus.js';
import { scrape } from '../mesh-state.js';
import { failed, percentile, type Sample } from '../traffic.js';

/** Resilience: fault injection (delay, abort), retries, and a circuit breaker. */

const ratingsOf = (s: Sample): { status: number; error?: string } | undefined => s.page?.reviews.ratings;
const detailsFailures = (samples: readonly Sample[]): number =>
  samples.filter((s) => s.page && s.page.details.status !== 200).length;

export const faultDelay: Step = {
  name: 'fault-delay',
  title: "A fault delay: jason's requests to ratings wait 1 s; nobody else's",
  async run(ctx) {
    await ctx.apply(`${DEMO_MANIFESTS}/ratings-delay.yaml`, ['reviews-v2']);
    const jason = await ctx.traffic.send({ count: 10, concurrency: 5, headers: JASON });
    const others = await ctx.traffic.send({ count: 20 });
    const slowest = Math.min(...jason.map((s) => s.ms));
    const passed =
      failed([...jason, ...others]).length === 0 &&
      jason.every((s) => ratingsOf(s)?.status === 200) &&
      slowest >= 1_000 &&
      percentile(others, 50) < 1_000;
    return {
      passed,
      detail: `jason: fastest ${slowest.toFixed(0)} ms of ${jason.length}; others: p50 ${percentile(others, 50).toFixed(0)} ms`,
      samples: [...jason, ...others],
    };
  },
};

export const faultAbort: Step = {
  name: 'fault-abort',
  title:
    "A fault abort: jason's requests to ratings fail with 500 at reviews' proxy, and never reach ratings",
  metrics: {
    workload: 'reviews-v2',
    where: { reporter: 'source' },
    by: ['destination_service_name', 'response_code', 'response_flags'],
  },
  async run(ctx) {
    await ctx.apply(`${SAMPLES}/virtual-service-ratings-test-abort.yaml`, ['reviews-v2']);
    await ctx.behave('ratings-v1', {});
    const jason = await ctx.traffic.send({ count: 20, headers: JASON });
    const reached = await ctx.served('ratings-v1');
    await ctx.remove('virtualservice/ratings', ['reviews-v2']);
    const aborted = jason.filter((s) => ratingsOf(s)?.status === 500).length;
    // The proxy reports them against ratings, with Envoy's flag FI (fault injected).
    const reported = requestCount(await scrape(ctx.workload('reviews-v2')), {
      destination_service_name: 'ratings',
      response_flags: 'FI',
    });
    return {
      passed: failed(jason).length === 0 && aborted === jason.length && reached === 0 && reported >= aborted,
      detail: `${aborted} of ${jason.length} ratings calls answered 500 by the fault (${reported} reported with flag FI); ${reached} reached ratings; the page still rendered`,
      samples: jason,
    };
  },
};

export const retries: Step = {
  name: 'retries',
  title: 'Retries: details fails every second request with 500; a retry policy hides it',
  async run(ctx) {
    await ctx.behave('details-v1', { failEvery: 2, failStatus: 500 });
    // One request at a time, so each retry lands on the next (good) answer: the figures are exact.
    const without = await ctx.traffic.send({ count: 40, concurrency: 1 });
    await ctx.apply(`${DEMO_MANIFESTS}/details-retries.yaml`, ['productpage-v1']);
    await ctx.behave('details-v1', { failEvery: 2, failStatus: 500 });
    const withRetries = await ctx.traffic.send({ count: 40, concurrency: 1 });
    const attempts = await ctx.served('details-v1');
    await ctx.behave('details-v1', {});
    await ctx.remove('virtualservice/details', ['productpage-v1']);
    const before = detailsFailures(without);
    const after = detailsFailures(withRetries);
    return {
      passed: failed([...without, ...withRetries]).length === 0 && before >= 10 && after === 0,
      detail: `details failures: ${before} of ${without.length} without retries, ${after} of ${withRetries.length} with (details answered ${attempts} attempts)`,
      samples: [...without, ...withRetries],
    };
  },
};

export const circuitBreaker: Step = {
  name: 'circuit-breaker',
  title: 'A circuit breaker on details (1 request in flight, 1 queued) opens under 10 concurrent users',
  metrics: {
    workload: 'productpage-v1',
    where: { reporter: 'source', destination_service_name: 'details' },
    by: ['response_code', 'response_flags'],
  },
  async run(ctx) {
    await ctx.behave('details-v1', { delayMs: 200 });
    await ctx.apply(`${DEMO_MANIFESTS}/details-circuit-breaker.yaml`, ['productpage-v1']);
    const samples = await ctx.traffic.send({ count: 40, concurrency: 10 });
    await ctx.behave('details-v1', {});
    await ctx.apply(`${SAMPLES}/destination-rule-all-mtls.yaml`, ['productpage-v1']);
    const overflowed = samples.filter((s) => s.page?.details.status === 503).length;
    const ok = samples.filter((s) => s.page?.details.status === 200).length;
    return {
      passed: failed(samples).length === 0 && overflowed > 0 && ok > 0 && overflowed + ok === samples.length,
      detail: `details: ${ok} answered, ${overflowed} refused at once with 503 by productpage's proxy`,
      samples,
    };
  },
};
