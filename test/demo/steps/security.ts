import { connect } from 'node:net';
import { DEMO_MANIFESTS, JASON, type Step } from '../context.js';
import { metricValue } from '../../helpers/prometheus.js';
import { scrape } from '../mesh-state.js';
import { failed } from '../traffic.js';

/** Security: STRICT mTLS against a client outside the mesh, and an AuthorizationPolicy DENY. */

/** A plaintext HTTP request straight to a workload's inbound port: what came back before the close. */
function plaintextRequest(address: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect({ host: address, port }, () =>
      socket.write('GET /reviews/0 HTTP/1.1\r\nHost: reviews:9080\r\nConnection: close\r\n\r\n'),
    );
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', (err) => (data += `[${err.message}]`));
    socket.on('close', () => resolve(data));
  });
}

export const strictMtls: Step = {
  name: 'strict-mtls',
  title: 'STRICT mTLS (the Mesh default): a plaintext client outside the mesh is refused',
  metrics: {
    workload: 'reviews-v1',
    where: { reporter: 'destination' },
    by: ['source_principal', 'connection_security_policy'],
  },
  async run(ctx) {
    const reviews = ctx.workload('reviews-v1');
    const answer = await plaintextRequest(reviews.workload.address, reviews.ports.inbound);
    const samples = await ctx.traffic.send({ count: 20 });
    const counted = metricValue(await scrape(reviews), 'weft_proxy_connections_refused_total', {
      reason: 'plaintext-in-strict',
    });
    const refused = !answer.includes('HTTP/1.1');
    return {
      passed: refused && counted > 0 && failed(samples).length === 0,
      detail: refused
        ? `plaintext to ${reviews.workload.address}:${reviews.ports.inbound} was closed without a response${answer ? ` ${answer.trim()}` : ''}; mesh traffic flows`
        : `plaintext was answered: ${answer.split('\r\n')[0]}`,
      samples,
      notes: [
        `$ printf 'GET / HTTP/1.1\\r\\n\\r\\n' | nc ${reviews.workload.address} ${reviews.ports.inbound}   → closed`,
        `weft_proxy_connections_refused_total{reason="plaintext-in-strict"} ${counted} at reviews-v1's proxy`,
      ],
    };
  },
};

export const authorizationDeny: Step = {
  name: 'authorization-deny',
  title: "An AuthorizationPolicy DENY: ratings refuses reviews' identity",
  metrics: {
    workload: 'ratings-v1',
    where: { reporter: 'destination' },
    by: ['source_principal', 'response_code'],
  },
  async run(ctx) {
    await ctx.apply(`${DEMO_MANIFESTS}/ratings-deny-reviews.yaml`, ['ratings-v1']);
    const denied = await ctx.traffic.send({ count: 20, headers: JASON });
    await ctx.remove('authorizationpolicy/ratings-deny-reviews', ['ratings-v1']);
    const allowed = await ctx.traffic.send({ count: 10, headers: JASON });
    const refused = denied.filter(
      (s) =>
        s.page?.reviews.ratings?.status === 403 && s.page.reviews.ratings.error === 'RBAC: access denied',
    ).length;
    const back = allowed.filter((s) => s.page?.reviews.ratings?.status === 200).length;
    return {
      passed:
        failed([...denied, ...allowed]).length === 0 && refused === denied.length && back === allowed.length,
      detail: `${refused} of ${denied.length} ratings calls got 403 "RBAC: access denied"; after deleting the policy ${back} of ${allowed.length} succeeded`,
      samples: [...denied, ...allowed],
    };
  },
};
