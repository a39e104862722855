import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { reviewValidation, type AdmissionReview, type Validate } from './admission.js';
import { reviewInjection } from './injection/review.js';
import type { InjectionSettings } from './injection/settings.js';

export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Serving certificate (PEM, the leaf then its chain) and key, issued by the mesh CA whose root is the
   * webhooks' caBundle. Renewed by swapping the returned server's secure context (`setSecureContext`).
   */
  readonly cert: string;
  readonly key: string;
  readonly validators: ReadonlyMap<string, Validate>;
  /** The active Mesh's injection settings, read on every request so a Mesh change applies at once. */
  readonly injectionSettings: () => InjectionSettings | undefined;
  readonly log: Logger;
}

/** One webhook: the answer to a review, and what to log about it (nothing when there is nothing to say). */
type Webhook = (review: AdmissionReview) => {
  answer: AdmissionReview;
  log?: { msg: string; fields: object };
};

/** The API server never sends more than this in one AdmissionReview (etcd's object limit is 1.5 MiB). */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`request body over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res
    .writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' })
    .end(text);
}

/** Who a review is about, for the log. */
const subject = (review: AdmissionReview): object => ({
  kind: review.request?.kind.kind,
  name: review.request?.name ?? review.request?.object?.metadata?.generateName,
  namespace: review.request?.namespace,
});

function webhooks(options: WebhookServerOptions): ReadonlyMap<string, Webhook> {
  return new Map<string, Webhook>([
    [
      '/validate',
      (review) => {
        const answer = reviewValidation(review, options.validators);
        if (answer.response?.allowed) return { answer };
        const fields = { ...subject(review), message: answer.response?.status?.message };
        return { answer, log: { msg: 'refused', fields } };
      },
    ],
    [
      '/inject',
      (review) => {
        const { review: answer, outcome } = reviewInjection(review, options.injectionSettings());
        if (!answer.response?.allowed) {
          const fields = { ...subject(review), message: answer.response?.status?.message };
          return { answer, log: { msg: 'refused injection', fields } };
        }
        if (outcome?.kind !== 'injected') return { answer };
        return { answer, log: { msg: 'injected the Weft proxy', fields: subject(review) } };
      },
    ],
  ]);
}

/**
 * The admission webhooks over HTTPS (port 15017): `POST /validate` checks Weft resources with the
 * same validators `weftctl analyze` uses; `POST /inject` adds the Weft proxy to pods. A malformed
 * review gets 400, never a crash. Returns the listening server, a tls.Server, so the caller can swap
 * its credential (`setSecureContext`) without closing the API server's open connections.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<Server> {
  const { log } = options;
  const routes = webhooks(options);
  const server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    const webhook = req.method === 'POST' ? routes.get(req.url?.split('?')[0] ?? '') : undefined;
    if (!webhook) {
      send(
        res,
        404,
        `no webhook at ${req.method} ${req.url}; Weft serves POST ${[...routes.keys()].join(', ')}\n`,
      );
      return;
    }
    readBody(req)
      .then((body) => {
        let review: AdmissionReview;
        try {
          review = JSON.parse(body) as AdmissionReview;
          if (!review.request?.uid) throw new Error('missing request.uid');
        } catch (err) {
          send(res, 400, `not an AdmissionReview: ${(err as Error).message}\n`);
          return;
        }
        const { answer, log: entry } = webhook(review);
        if (entry) log.info(entry.fields, entry.msg);
        send(res, 200, answer);
      })
      .catch((err: unknown) => send(res, 400, `${(err as Error).message}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
