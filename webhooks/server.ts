import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { reviewValidation, type AdmissionReview, type Validate } from './admission.js';

export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  /** Serving certificate and key (PEM), issued by the mesh CA whose root is the webhooks' caBundle. */
  readonly cert: string;
  readonly key: string;
  readonly validators: ReadonlyMap<string, Validate>;
  readonly log: Logger;
}

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

/**
 * The admission webhooks over HTTPS (port 15017): `POST /validate` checks Weft resources with the
 * same validators `weftctl analyze` uses. A malformed review gets 400, never a crash.
 */
export async function startWebhookServer(options: WebhookServerOptions): Promise<Server> {
  const { log } = options;
  const server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/validate') {
      send(res, 404, `no webhook at ${req.method} ${req.url}; Weft serves POST /validate\n`);
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
        const answer = reviewValidation(review, options.validators);
        if (!answer.response?.allowed) {
          log.info(
            {
              kind: review.request.kind.kind,
              name: review.request.name,
              namespace: review.request.namespace,
              message: answer.response?.status?.message,
            },
            'refused',
          );
        }
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
