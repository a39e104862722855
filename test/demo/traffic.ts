import { Pool } from 'undici';
import type { ProductPage } from './bookinfo/protocol.js';

/**
 * The demo's client: a user outside the mesh, sending requests for /productpage to the ingress
 * gateway. A request "failed" when the page did not come back 200 (a transport error is status 0).
 */

export interface Sample {
  readonly status: number;
  readonly ms: number;
  readonly page?: ProductPage;
  readonly error?: string;
}

export interface SendOptions {
  readonly count: number;
  readonly concurrency?: number;
  readonly headers?: Record<string, string>;
}

export class TrafficClient {
  private readonly pool: Pool;
  /** Every sample, over the whole demo. */
  readonly all: Sample[] = [];

  constructor(readonly gatewayUrl: string) {
    this.pool = new Pool(gatewayUrl, { connections: 32, keepAliveTimeout: 4_000 });
  }

  async one(headers: Record<string, string> = {}): Promise<Sample> {
    const started = performance.now();
    try {
      const res = await this.pool.request({
        method: 'GET',
        path: '/productpage',
        headers: { host: 'bookinfo.example', ...headers },
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const text = await res.body.text();
      const ms = performance.now() - started;
      const sample: Sample =
        res.statusCode === 200
          ? { status: 200, ms, page: JSON.parse(text) as ProductPage }
          : { status: res.statusCode, ms, error: text.trim().slice(0, 160) };
      this.all.push(sample);
      return sample;
    } catch (err) {
      const sample = { status: 0, ms: performance.now() - started, error: (err as Error).message };
      this.all.push(sample);
      return sample;
    }
  }

  /** `count` requests, `concurrency` at a time. */
  async send({ count, concurrency = 8, headers = {} }: SendOptions): Promise<Sample[]> {
    const samples: Sample[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        next += 1;
        samples.push(await this.one(headers));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return samples;
  }

  /** Keeps `concurrency` requests in flight while `action` runs; returns the samples of that time. */
  async during<T>(action: () => Promise<T>, concurrency = 8): Promise<{ samples: Sample[]; result: T }> {
    const samples: Sample[] = [];
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) samples.push(await this.one());
    };
    const workers = Array.from({ length: concurrency }, worker);
    try {
      const result = await action();
      return { samples, result };
    } finally {
      running = false;
      await Promise.all(workers);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** How many samples saw each reviews version (pages only). Pure. */
export function byVersion(samples: readonly Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) {
    const v = s.page?.reviews.version;
    if (v) out[v] = (out[v] ?? 0) + 1;
  }
  return out;
}

export const failed = (samples: readonly Sample[]): Sample[] => samples.filter((s) => s.status !== 200);

/** "caller → service" pairs seen in pages, each with the identity the callee's proxy verified. Pure. */
export function identities(samples: readonly Sample[]): string[] {
  const seen = new Set<string>();
  for (const { page } of samples) {
    if (!page) continue;
    seen.add(`productpage ← ${page.caller ?? 'plaintext'}`);
    if (page.details.status === 200) seen.add(`details ← ${page.details.caller ?? 'plaintext'}`);
    if (page.reviews.status === 200) seen.add(`reviews ← ${page.reviews.caller ?? 'plaintext'}`);
    const ratings = page.reviews.ratings;
    if (ratings?.status === 200)
      seen.add(`ratings ← ${(ratings as { caller?: string }).caller ?? 'plaintext'}`);
  }
  return [...seen].sort();
}

export function percentile(samples: readonly Sample[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
