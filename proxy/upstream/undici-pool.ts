/**
 * undici's connection pool, loaded on its own. undici's index also loads fetch, WebSocket,
 * EventSource, the HTTP caches and the mock agent, about 10 MB of resident memory the proxy never
 * uses, in every sidecar. The static import (not a createRequire) lets the proxy's bundle
 * (proxy/tools/bundle.ts) carry the pool's ~30 modules, so the bundled proxy resolves none of them
 * at start. undici has no `exports` map, so the module is reachable by its path; an upgrade that
 * moved it would fail every proxy test at import, not silently. Node and esbuild both give a
 * CommonJS module's default import as its module.exports, here the Pool class
 * (undici-pool-module.d.ts types it).
 */
export { default as Pool } from 'undici/lib/dispatcher/pool.js';
