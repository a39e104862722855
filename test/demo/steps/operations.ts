import { SAMPLES, type Step } from '../context.js';
import { byVersion, failed } from '../traffic.js';

/** Day-2 operations under load: configuration changes, and a control-plane restart. */

export const configUnderLoad: Step = {
  name: 'config-change-under-load',
  title: 'Four routing changes while 8 users keep requesting: no request fails',
  async run(ctx) {
    const { samples } = await ctx.traffic.during(async () => {
      for (const file of [
        'virtual-service-reviews-90-10.yaml',
        'virtual-service-reviews-50-v3.yaml',
        'virtual-service-reviews-v3.yaml',
        'virtual-service-all-v1.yaml',
      ])
        await ctx.apply(`${SAMPLES}/${file}`, ['productpage-v1']);
    });
    const counts = byVersion(samples);
    const bad = failed(samples);
    return {
      passed: bad.length === 0 && samples.length >= 50,
      detail: `${samples.length} requests, ${bad.length} failed${bad[0] ? ` (first: ${bad[0].status} ${bad[0].error})` : ''}; v1 ${counts.v1 ?? 0} / v2 ${counts.v2 ?? 0} / v3 ${counts.v3 ?? 0}`,
      samples,
    };
  },
};

export const controlPlaneRestart: Step = {
  name: 'control-plane-restart',
  title: 'The control plane restarts while 8 users keep requesting: proxies keep their configuration',
  async run(ctx) {
    const { samples, result } = await ctx.traffic.during(() => ctx.restartControlPlane());
    const bad = failed(samples);
    return {
      passed: bad.length === 0 && samples.length >= 50,
      detail: `${samples.length} requests while the control plane was down ${(result.downMs / 1000).toFixed(1)} s and every proxy reconnected; ${bad.length} failed`,
      samples,
    };
  },
};
