// Caches of resources that may not exist yet: the OCM ManagedCluster CRD can be installed after the
// gateway starts, or removed while it runs. Upstream checked discovery once at start-up and then
// nil-panicked on every ManagedCluster read when the CRD was absent (spec §2.6, PR #172); here the
// informer starts when discovery first lists the resource (polled every ~10 s), and goes back to
// waiting when list/watch answer 404, telling consumers that every cached object is gone.

import {
  sleep,
  Informer,
  type InformerLogger,
  type InformerOptions,
  type KubeObjectLike,
  type ResyncDiff,
} from './informer.ts';
import type { HubClient } from './hub-client.ts';

export interface ServedResource {
  group: string;
  version: string;
  /** plural resource name, e.g. `managedclusters` */
  resource: string;
}

/** What the served-resource helpers need from a hub client (tests may pass a fake). */
export type DiscoveryClient = Pick<HubClient, 'discoveryResources'>;

const DEFAULT_INTERVAL_MS = 10_000;

/** Whether the hub serves the resource right now (its group version lists it). Throws on hub errors. */
export async function isServed(client: DiscoveryClient, r: ServedResource, signal?: AbortSignal): Promise<boolean> {
  const list = await client.discoveryResources(r.group, r.version, signal);
  return list?.resources.some((x) => x.name === r.resource) ?? false;
}

export interface WhenServedOptions {
  /** polling period; the first check is immediate */
  intervalMs?: number;
  logger?: InformerLogger;
}

/**
 * Resolves true as soon as discovery lists the resource, false when the signal aborts first. Discovery
 * failures (hub down, an aggregated API unavailable) are logged and polled again, never thrown.
 */
export async function whenServed(
  client: DiscoveryClient,
  r: ServedResource,
  signal: AbortSignal,
  opts: WhenServedOptions = {},
): Promise<boolean> {
  const interval = opts.intervalMs ?? DEFAULT_INTERVAL_MS;
  while (!signal.aborted) {
    try {
      if (await isServed(client, r, signal)) return true;
    } catch (e) {
      if (signal.aborted) break;
      opts.logger?.warn(
        { group: r.group, version: r.version, err: e instanceof Error ? e.message : String(e) },
        'discovery check failed',
      );
    }
    await sleep(interval, signal);
  }
  return false;
}

export interface OptionalInformerOptions extends Omit<InformerOptions, 'client' | 'path' | 'exitOnNotFound'> {
  client: Pick<HubClient, 'discoveryResources' | 'list' | 'watch'>;
  resource: ServedResource;
  /** for namespaced resources: watch one namespace only (default: all namespaces) */
  namespace?: string;
  /** discovery polling period while the resource is absent */
  intervalMs?: number;
}

/**
 * An informer over a resource that may come and go. While the resource is absent it is an empty,
 * synced cache (readiness must not wait for an optional CRD); when it appears an inner Informer is
 * started and its events are forwarded; when it disappears, deletes are emitted for its objects.
 */
export class OptionalInformer<T extends KubeObjectLike> {
  readonly #opts: OptionalInformerOptions;
  readonly #path: string;
  #inner: Informer<T> | undefined;
  /** undefined until the first discovery answer */
  #served: boolean | undefined;
  #running = false;
  readonly #syncWaiters = new Set<() => void>();
  readonly #add = new Set<(obj: T) => void>();
  readonly #update = new Set<(old: T, obj: T) => void>();
  readonly #delete = new Set<(obj: T) => void>();
  readonly #resync = new Set<(diff: ResyncDiff<T>) => void>();

  constructor(opts: OptionalInformerOptions) {
    this.#opts = opts;
    const { group, version, resource } = opts.resource;
    const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    this.#path = opts.namespace
      ? `${base}/namespaces/${encodeURIComponent(opts.namespace)}/${resource}`
      : `${base}/${resource}`;
  }

  /** whether the hub currently serves the resource (false before the first discovery answer) */
  get served(): boolean {
    return this.#served === true;
  }

  /** true once we know the resource is absent, or once its informer has listed it */
  hasSynced(): boolean {
    if (this.#served === undefined) return false;
    if (!this.#served) return true;
    return this.#inner?.hasSynced() ?? false;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.hasSynced()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!this.hasSynced()) return;
        signal?.removeEventListener('abort', onAbort);
        this.#syncWaiters.delete(check);
        resolve();
      };
      const onAbort = (): void => {
        this.#syncWaiters.delete(check);
        reject(signal!.reason as Error);
      };
      this.#syncWaiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  list(): T[] {
    return this.#inner?.list() ?? [];
  }

  get(key: string): T | undefined {
    return this.#inner?.get(key);
  }

  get lastError(): unknown {
    return this.#inner?.lastError;
  }

  onAdd(fn: (obj: T) => void): () => void {
    this.#add.add(fn);
    return () => this.#add.delete(fn);
  }

  onUpdate(fn: (old: T, obj: T) => void): () => void {
    this.#update.add(fn);
    return () => this.#update.delete(fn);
  }

  onDelete(fn: (obj: T) => void): () => void {
    this.#delete.add(fn);
    return () => this.#delete.delete(fn);
  }

  onResync(fn: (diff: ResyncDiff<T>) => void): () => void {
    this.#resync.add(fn);
    return () => this.#resync.delete(fn);
  }

  #setServed(v: boolean): void {
    this.#served = v;
    this.#notifySync();
  }

  #notifySync(): void {
    for (const w of [...this.#syncWaiters]) w();
  }

  /** Wait for the resource, cache it, and start over whenever it disappears. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`informer for ${this.#path} is already running`);
    this.#running = true;
    const { client, resource, intervalMs, logger } = this.#opts;
    const interval = intervalMs ?? DEFAULT_INTERVAL_MS;
    try {
      while (!signal.aborted) {
        // the first answer decides readiness: absent → synced (empty) at once
        let served = false;
        try {
          served = await isServed(client, resource, signal);
        } catch (e) {
          if (signal.aborted) break;
          logger?.warn({ path: this.#path, err: e instanceof Error ? e.message : String(e) }, 'discovery check failed');
        }
        if (!served) {
          if (this.#served === undefined) this.#setServed(false);
          if (!(await whenServed(client, resource, signal, { intervalMs: interval, logger }))) break;
        }
        const exit = await this.#runInner(signal);
        if (exit === 'aborted') break;
        logger?.warn({ path: this.#path }, 'resource no longer served; waiting for it to come back');
        // discovery can lag the 404 (and vice versa): don't re-check in a tight loop
        await sleep(interval, signal);
      }
    } finally {
      this.#running = false;
    }
  }

  async #runInner(signal: AbortSignal): Promise<'aborted' | 'notFound'> {
    const { client, resource, intervalMs, logger } = this.#opts;
    const interval = intervalMs ?? DEFAULT_INTERVAL_MS;
    const inner = new Informer<T>({ ...this.#opts, path: this.#path, exitOnNotFound: true });
    inner.onAdd((o) => {
      each(this.#add, (h) => {
        h(o);
      });
    });
    inner.onUpdate((old, o) => {
      each(this.#update, (h) => {
        h(old, o);
      });
    });
    inner.onDelete((o) => {
      each(this.#delete, (h) => {
        h(o);
      });
    });
    inner.onResync((d) => {
      each(this.#resync, (h) => {
        h(d);
      });
    });
    this.#inner = inner;
    this.#setServed(true);
    const stop = new AbortController();
    const innerSignal = AbortSignal.any([signal, stop.signal]);
    inner.waitForSync(innerSignal).then(
      () => {
        this.#notifySync();
      },
      () => undefined,
    );
    // A deleted CRD does not always end open watches (the watch can sit silent until its timeout),
    // so discovery keeps being checked while we run; its definite "absent" stops the informer.
    let gone = false;
    const watchDiscovery = async (): Promise<void> => {
      while (!innerSignal.aborted) {
        await sleep(interval, innerSignal);
        if (innerSignal.aborted) return;
        try {
          if (!(await isServed(client, resource, innerSignal))) {
            gone = true;
            stop.abort();
          }
        } catch (e) {
          if (!innerSignal.aborted)
            logger?.debug(
              { path: this.#path, err: e instanceof Error ? e.message : String(e) },
              'discovery check failed',
            );
        }
      }
    };
    const poller = watchDiscovery();
    const exit = await inner.run(innerSignal);
    stop.abort();
    await poller;
    if (signal.aborted) return 'aborted';
    if (exit === 'notFound' || gone) {
      const left = inner.list();
      this.#inner = undefined;
      this.#setServed(false);
      for (const o of left)
        each(this.#delete, (h) => {
          h(o);
        });
      return 'notFound';
    }
    return 'aborted';
  }
}

/** A throwing consumer must not stop the others (nor the informer loop). */
function each<H>(handlers: Set<H>, call: (h: H) => void): void {
  for (const h of handlers) {
    try {
      call(h);
    } catch {
      // the inner informer logs handler failures; the wrapper stays silent rather than log twice
    }
  }
}
