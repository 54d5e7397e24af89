// The cache in front of the hub's TokenReview and SubjectAccessReview endpoints: bounded (LRU),
// per-entry TTL chosen from the answer (kube keeps allowed/denied and authenticated/unauthenticated
// answers for different times), single-flight per key so a burst of identical requests costs one hub
// call, and retries of transient hub failures with kube's webhook backoff. Hub failures are never
// cached: every waiter of the failed flight sees the error and the next request tries again.

import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { isRetriableHubError } from './types.ts';

export interface RetryBackoff {
  /** first delay (kube: 500ms) */
  initialMs: number;
  /** growth per attempt (kube: 1.5) */
  factor: number;
  /** random extra fraction of each delay (kube: 0.2) */
  jitter: number;
  /** attempts in total (kube: 5) */
  steps: number;
}

/** kube's DefaultAuthWebhookRetryBackoff */
export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { initialMs: 500, factor: 1.5, jitter: 0.2, steps: 5 };

export interface ReviewCacheOptions<V> {
  max: number;
  /** how long an answer stays; 0 = do not cache it */
  ttlFor(value: V): number;
  /** deadline of one shared lookup including retries (kube: 10s) */
  timeoutMs: number;
  backoff?: RetryBackoff;
}

export interface ReviewCacheStats {
  /** calls made to the hub (retries included) */
  hubCalls: number;
  hits: number;
  /** requests that joined a lookup already in flight */
  joined: number;
}

export class ReviewCache<V extends object> {
  readonly #cache: LRUCache<string, V>;
  readonly #inflight = new Map<string, Promise<V>>();
  readonly #opts: ReviewCacheOptions<V>;
  readonly stats: ReviewCacheStats = { hubCalls: 0, hits: 0, joined: 0 };

  constructor(opts: ReviewCacheOptions<V>) {
    this.#opts = opts;
    this.#cache = new LRUCache<string, V>({ max: Math.max(1, opts.max), ttlAutopurge: false });
  }

  /**
   * The cached answer for `key`, or the result of `fetch` (shared with concurrent callers). The
   * caller's `signal` only stops the caller's wait; the shared lookup has its own deadline, as kube
   * detaches it from any one request.
   */
  async get(key: string, fetch: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    signal?.throwIfAborted();
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      this.stats.hits++;
      return hit;
    }
    let flight = this.#inflight.get(key);
    if (flight) this.stats.joined++;
    else {
      flight = this.#lookup(key, fetch).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, flight);
    }
    if (!signal) return flight;
    return await new Promise<V>((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason as Error);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.then(
        (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  async #lookup(key: string, fetch: (signal: AbortSignal) => Promise<V>): Promise<V> {
    const deadline = AbortSignal.timeout(this.#opts.timeoutMs);
    const backoff = this.#opts.backoff ?? DEFAULT_RETRY_BACKOFF;
    let delay = backoff.initialMs;
    for (let attempt = 1; ; attempt++) {
      try {
        this.stats.hubCalls++;
        const value = await fetch(deadline);
        const ttl = this.#opts.ttlFor(value);
        if (ttl > 0) this.#cache.set(key, value, { ttl });
        return value;
      } catch (e) {
        if (deadline.aborted || attempt >= backoff.steps || !isRetriableHubError(e)) throw e;
        const wait = delay * (1 + Math.random() * backoff.jitter);
        delay *= backoff.factor;
        try {
          await sleep(wait, undefined, { signal: deadline });
        } catch {
          throw e;
        }
      }
    }
  }

  clear(): void {
    this.#cache.clear();
  }

  get size(): number {
    return this.#cache.size;
  }
}
