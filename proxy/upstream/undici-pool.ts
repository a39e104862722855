import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

/**
 * undici's connection pool, loaded on its own. undici's index also loads fetch, WebSocket,
 * EventSource, the HTTP caches and the mock agent, about 10 MB of resident memory the proxy never
 * uses, in every sidecar. undici has no `exports` map, so the module is reachable by its path; an
 * upgrade that moved it would fail every proxy test at import, not silently.
 */
const require = createRequire(import.meta.url);
export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
