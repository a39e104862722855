import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { callerOf, splitAddress, type Behaviour, type CallResult } from './protocol.js';

/**
 * One service of the bookinfo-like sample application, as a process: productpage → details and
 * reviews; reviews v2 and v3 → ratings. It knows nothing of the mesh. It calls other services
 * through its proxy's outbound port by name (`details:9080`); with traffic capture (the injection
 * issue) the same plain requests would be redirected there without it knowing. It reports the caller
 * identity its proxy verified (x-forwarded-client-cert), so the demo can show who called whom.
 *
 * The demo steers misbehaviour (errors, latency) through `/demo/behaviour` on the application's own
 * address, never through the mesh: `POST {"failEvery": 2, "failStatus": 500, "delayMs": 50}`.
 */

const { values } = parseArgs({
  options: {
    service: { type: 'string' },
    version: { type: 'string', default: 'v1' },
    listen: { type: 'string' },
    outbound: { type: 'string' },
  },
});
const service = values.service ?? '';
const version = values.version;
if (!['productpage', 'details', 'reviews', 'ratings'].includes(service) || !values.listen) {
  console.error('usage: app.ts --service productpage|details|reviews|ratings --version v1 --listen ip:port');
  process.exit(2);
}
const [host, port] = splitAddress(values.listen);
const outbound = values.outbound;
const agent = new Agent({ keepAliveTimeout: 4_000, connections: 64 });

/** The headers bookinfo propagates from its caller: the user, and tracing. */
const PROPAGATED = ['end-user', 'x-request-id', 'traceparent', 'tracestate', 'b3', 'x-b3-traceid'];

let behaviour: Behaviour = {};
let served = 0;

async function call(name: string, path: string, incoming: IncomingMessage): Promise<CallResult> {
  if (!outbound) return { status: 0, error: 'no --outbound proxy' };
  const headers: Record<string, string> = { host: `${name}:9080` };
  for (const h of PROPAGATED) {
    const v = incoming.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  try {
    const res = await request(`http://${outbound}${path}`, {
      dispatcher: agent,
      headers,
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { status: res.statusCode, error: text.trim().slice(0, 120) };
    return { status: 200, ...(JSON.parse(text) as object) };
  } catch (err) {
    return { status: 0, error: (err as Error).message };
  }
}

async function respond(req: IncomingMessage): Promise<[number, object]> {
  const me = { service, version, caller: callerOf(req.headers['x-forwarded-client-cert']) };
  switch (service) {
    case 'productpage': {
      const [details, reviews] = await Promise.all([
        call('details', '/details/0', req),
        call('reviews', '/reviews/0', req),
      ]);
      return [200, { ...me, details, reviews }];
    }
    case 'details':
      return [200, { ...me, isbn: '0486424618', author: 'William Shakespeare' }];
    case 'reviews': {
      if (version === 'v1') return [200, me];
      const ratings = await call('ratings', '/ratings/0', req);
      return [200, { ...me, stars: version === 'v2' ? 'black' : 'red', ratings }];
    }
    default:
      return [200, { ...me, ratings: { Reviewer1: 5, Reviewer2: 4 } }];
  }
}

function misbehave(res: ServerResponse): boolean {
  const { failEvery, failStatus = 500 } = behaviour;
  if (!failEvery || served % failEvery !== 0) return false;
  res
    .writeHead(failStatus, { 'content-type': 'text/plain' })
    .end(`${service} ${version} failed on purpose\n`);
  return true;
}

function control(req: IncomingMessage, res: ServerResponse): void {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ served, behaviour }));
    return;
  }
  let body = '';
  req.setEncoding('utf8').on('data', (c: string) => (body += c));
  req.on('end', () => {
    behaviour = body ? (JSON.parse(body) as Behaviour) : {};
    served = 0;
    res.writeHead(204).end();
  });
}

const server = createServer((req, res) => {
  if (req.url === '/demo/behaviour') return control(req, res);
  served += 1;
  if (misbehave(res)) return;
  const delay = behaviour.delayMs ?? 0;
  setTimeout(() => {
    respond(req).then(
      ([status, body]) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  }, delay);
});
server.keepAliveTimeout = 30_000;
server.listen(port, host, () =>
  console.log(JSON.stringify({ msg: 'bookinfo app listening', service, version })),
);
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void agent.close();
});
