/**
 * prom-client's registry and the two metric types the proxy uses, loaded on their own. prom-client's
 * index also loads the default process metrics (and with them @opentelemetry/api), the Pushgateway
 * client and the cluster aggregator, none of which the proxy uses: about 0.6 MB of idle memory in
 * every sidecar (docs/performance.md). These are the index's own classes (it requires these very
 * modules), so a registry from either works with the other. prom-client has no `exports` map; an
 * upgrade that moved the files would fail every proxy test at import. Types: prom-client-modules.d.ts.
 */
export { default as Registry } from 'prom-client/lib/registry.js';
export { default as Counter } from 'prom-client/lib/counter.js';
export { default as Histogram } from 'prom-client/lib/histogram.js';
