// A watch-based cache of one resource collection on the hub, modelled on client-go's reflector:
// paginated LIST, then WATCH from the list's resourceVersion with bookmarks, re-watch from the last
// seen version when the server ends a watch, re-LIST on 410 Expired (and tell consumers the
// difference), back off with jitter on every other failure, and never give up until the signal
// aborts. The gateway's read model (Secrets, ManagedClusters) reads from this store, never the hub.

import { HubError, isExpired, isHubError, type HubClient, type Query, type WatchEvent } from './hub-client.ts';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  resourceVersion: string;
}

export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** What the informer needs from a hub client (tests may pass a fake). */
export type ListWatchClient = Pick<HubClient, 'list' | 'watch'>;

export type InformerMetricEvent =
  | { type: 'list'; items: number; pages: number; durationMs: number }
  | { type: 'relist'; reason: 'expired' }
  | { type: 'watchStart'; resourceVersion: string }
  | { type: 'watchEnd'; events: number; durationMs: number }
  | { type: 'error'; phase: 'list' | 'watch'; error: unknown; retryInMs: number };

export interface InformerLogger {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface InformerOptions {
  client: ListWatchClient;
  /** collection path, e.g. `/api/v1/namespaces/vela-system/secrets` */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** LIST page size (`limit`) */
  pageSize?: number;
  /** server-side watch timeout range in seconds; each watch picks a random value inside it */
  watchTimeoutSeconds?: [min: number, max: number];
  /** reconnect backoff: first delay and cap, in ms (each delay gets ±50 % jitter) */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Return from run() with 'notFound' when the collection answers 404 instead of retrying: used
   * for CRD-backed resources whose CRD can disappear (see crd-watch.ts).
   */
  exitOnNotFound?: boolean;
  onMetric?: (e: InformerMetricEvent) => void;
  logger?: InformerLogger;
}

export type InformerExit = 'aborted' | 'notFound';

export interface ResyncDiff<T> {
  added: T[];
  updated: { old: T; obj: T }[];
  deleted: T[];
}

type AddHandler<T> = (obj: T) => void;
type UpdateHandler<T> = (old: T, obj: T) => void;
type DeleteHandler<T> = (obj: T) => void;
type ResyncHandler<T> = (diff: ResyncDiff<T>) => void;

interface ListBody<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_WATCH_TIMEOUT: [number, number] = [300, 600];
const DEFAULT_BACKOFF = { initialMs: 200, maxMs: 30_000 };
/** client-go treats a watch that ends within a second with no events as a failure ("very short watch") */
const SHORT_WATCH_MS = 1000;
/** if the server forgets to end a watch (half-open connection), we end it ourselves this much later */
const WATCH_GRACE_MS = 30_000;

export function objectKey(o: KubeObjectLike): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

export class Informer<T extends KubeObjectLike> {
  readonly #opts: InformerOptions;
  #store = new Map<string, T>();
  #synced = false;
  #rv = '';
  #lastError: unknown;
  #running = false;
  readonly #syncWaiters = new Set<() => void>();
  readonly #add = new Set<AddHandler<T>>();
  readonly #update = new Set<UpdateHandler<T>>();
  readonly #delete = new Set<DeleteHandler<T>>();
  readonly #resync = new Set<ResyncHandler<T>>();

  constructor(opts: InformerOptions) {
    if (!opts.path.startsWith('/')) throw new Error(`informer path must be absolute: ${JSON.stringify(opts.path)}`);
    const [min, max] = opts.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT;
    if (!(min > 0 && max >= min)) throw new Error('watchTimeoutSeconds must be a range [min, max] with 0 < min <= max');
    if (opts.pageSize !== undefined && !(Number.isInteger(opts.pageSize) && opts.pageSize > 0)) {
      throw new Error('pageSize must be a positive integer');
    }
    this.#opts = opts;
  }

  get path(): string {
    return this.#opts.path;
  }

  /** resourceVersion of the last list, event or bookmark seen ('' before the first list) */
  get lastSyncResourceVersion(): string {
    return this.#rv;
  }

  /** the last list/watch failure, cleared by the next successful list or watch */
  get lastError(): unknown {
    return this.#lastError;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  list(): T[] {
    return [...this.#store.values()];
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  get size(): number {
    return this.#store.size;
  }

  /** Resolves once the first LIST has filled the store; rejects with the signal's reason on abort. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#syncWaiters.delete(done);
        resolve();
      };
      const onAbort = (): void => {
        this.#syncWaiters.delete(done);
        reject(signal!.reason as Error);
      };
      this.#syncWaiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  onAdd(fn: AddHandler<T>): () => void {
    this.#add.add(fn);
    return () => this.#add.delete(fn);
  }

  onUpdate(fn: UpdateHandler<T>): () => void {
    this.#update.add(fn);
    return () => this.#update.delete(fn);
  }

  onDelete(fn: DeleteHandler<T>): () => void {
    this.#delete.add(fn);
    return () => this.#delete.delete(fn);
  }

  /** Called after every re-list (not the first list) with the difference it made. */
  onResync(fn: ResyncHandler<T>): () => void {
    this.#resync.add(fn);
    return () => this.#resync.delete(fn);
  }

  /**
   * The list+watch loop. Never rejects: failures are retried (see lastError) until the signal aborts
   * ('aborted') or, with exitOnNotFound, the collection stops existing ('notFound').
   */
  async run(signal: AbortSignal): Promise<InformerExit> {
    if (this.#running) throw new Error(`informer for ${this.#opts.path} is already running`);
    this.#running = true;
    const backoff = this.#opts.backoff ?? DEFAULT_BACKOFF;
    let attempt = 0;
    let needList = true;
    try {
      while (!signal.aborted) {
        let phase: 'list' | 'watch' = 'list';
        try {
          if (needList) {
            await this.#list(signal);
            needList = false;
            this.#lastError = undefined;
            attempt = 0;
          }
          if (signal.aborted) break;
          phase = 'watch';
          const progressed = await this.#watch(signal);
          this.#lastError = undefined;
          if (progressed) attempt = 0;
          else throw new Error('very short watch: the hub ended the watch immediately without any event');
        } catch (e) {
          if (signal.aborted) break;
          this.#lastError = e;
          if (this.#opts.exitOnNotFound && isHubError(e, 404)) return 'notFound';
          if (isExpired(e)) {
            // the hub no longer has the history we need: start over from a fresh list, at once the
            // first time (that is the normal case), with backoff if the list itself keeps expiring
            this.#metric({ type: 'relist', reason: 'expired' });
            this.#opts.logger?.debug({ path: this.#opts.path, rv: this.#rv }, 'resource version expired, re-listing');
            const wasListing = needList;
            needList = true;
            if (!wasListing) continue;
          }
          const delay = jittered(Math.min(backoff.maxMs, backoff.initialMs * 2 ** attempt));
          attempt = Math.min(attempt + 1, 30);
          this.#metric({ type: 'error', phase, error: e, retryInMs: delay });
          this.#opts.logger?.warn(
            { path: this.#opts.path, phase, err: describe(e), retryInMs: delay },
            'hub list/watch failed',
          );
          await sleep(delay, signal);
        }
      }
      return 'aborted';
    } finally {
      this.#running = false;
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const next = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    let pages = 0;
    do {
      const q: Query = { limit: this.#opts.pageSize ?? DEFAULT_PAGE_SIZE, continue: cont };
      this.#selectors(q);
      const body = await this.#opts.client.list<ListBody<T>>(this.#opts.path, q, signal);
      pages++;
      const itemKind = body.kind?.endsWith('List') ? body.kind.slice(0, -4) : undefined;
      for (const item of body.items ?? []) {
        if (!isObject(item)) continue;
        // list items come without apiVersion/kind; watch events carry them, so fill them in
        if (item.apiVersion === undefined && body.apiVersion) item.apiVersion = body.apiVersion;
        if (item.kind === undefined && itemKind) item.kind = itemKind;
        next.set(objectKey(item), item);
      }
      rv = body.metadata?.resourceVersion ?? rv;
      cont = body.metadata?.continue || undefined;
    } while (cont);
    if (!rv)
      throw new HubError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `list of ${this.#opts.path} has no resourceVersion`,
        reason: 'InternalError',
        code: 500,
      });
    this.#metric({ type: 'list', items: next.size, pages, durationMs: performance.now() - started });
    this.#replace(next, rv);
  }

  /** Swap in a freshly listed store and tell handlers what changed. */
  #replace(next: Map<string, T>, rv: string): void {
    const prev = this.#store;
    const first = !this.#synced;
    this.#store = next;
    this.#rv = rv;
    const diff: ResyncDiff<T> = { added: [], updated: [], deleted: [] };
    for (const [k, old] of prev) if (!next.has(k)) diff.deleted.push(old);
    for (const [k, obj] of next) {
      const old = prev.get(k);
      if (!old) diff.added.push(obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) diff.updated.push({ old, obj });
    }
    for (const o of diff.deleted)
      this.#emit(this.#delete, (h) => {
        h(o);
      });
    for (const o of diff.added)
      this.#emit(this.#add, (h) => {
        h(o);
      });
    for (const u of diff.updated)
      this.#emit(this.#update, (h) => {
        h(u.old, u.obj);
      });
    if (first) {
      this.#synced = true;
      for (const w of [...this.#syncWaiters]) w();
    } else
      this.#emit(this.#resync, (h) => {
        h(diff);
      });
  }

  /** One watch; true when it made progress (or lasted), false for an immediately-closed empty watch. */
  async #watch(signal: AbortSignal): Promise<boolean> {
    const [min, max] = this.#opts.watchTimeoutSeconds ?? DEFAULT_WATCH_TIMEOUT;
    const timeoutSeconds = Math.round(min + Math.random() * (max - min));
    const q: Query = { resourceVersion: this.#rv, allowWatchBookmarks: true, timeoutSeconds };
    this.#selectors(q);
    // our own deadline guards against a half-open connection the server never ends
    const deadline = new AbortController();
    const timer = setTimeout(
      () => {
        deadline.abort(new Error('watch deadline passed'));
      },
      timeoutSeconds * 1000 + WATCH_GRACE_MS,
    );
    const ws = AbortSignal.any([signal, deadline.signal]);
    const started = performance.now();
    let events = 0;
    this.#metric({ type: 'watchStart', resourceVersion: this.#rv });
    try {
      const onOpen = (): void => {
        // connected again: the failure that made us retry is over
        this.#lastError = undefined;
      };
      for await (const ev of this.#opts.client.watch<T>(this.#opts.path, q, ws, { onOpen })) {
        events++;
        this.#apply(ev);
      }
    } catch (e) {
      if (deadline.signal.aborted && !signal.aborted) return true;
      throw e;
    } finally {
      clearTimeout(timer);
      this.#metric({ type: 'watchEnd', events, durationMs: performance.now() - started });
    }
    return events > 0 || performance.now() - started >= SHORT_WATCH_MS;
  }

  #apply(ev: WatchEvent<T>): void {
    const obj = ev.object;
    if (ev.type === 'BOOKMARK') {
      // a bookmark carries only metadata.resourceVersion: progress without a change
      const rv = (obj as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
      if (typeof rv === 'string' && rv) this.#rv = rv;
      return;
    }
    if (!isObject(obj)) return;
    const rv = obj.metadata.resourceVersion;
    const key = objectKey(obj);
    if (ev.type === 'DELETED') {
      this.#store.delete(key);
      if (rv) this.#rv = rv;
      this.#emit(this.#delete, (h) => {
        h(obj);
      });
      return;
    }
    const old = this.#store.get(key);
    this.#store.set(key, obj);
    if (rv) this.#rv = rv;
    if (old)
      this.#emit(this.#update, (h) => {
        h(old, obj);
      });
    else
      this.#emit(this.#add, (h) => {
        h(obj);
      });
  }

  #selectors(q: Query): void {
    if (this.#opts.labelSelector) q.labelSelector = this.#opts.labelSelector;
    if (this.#opts.fieldSelector) q.fieldSelector = this.#opts.fieldSelector;
  }

  /** Handlers must not break the loop: a throwing handler is logged and the others still run. */
  #emit<H>(handlers: Set<H>, call: (h: H) => void): void {
    for (const h of handlers) {
      try {
        call(h);
      } catch (e) {
        this.#opts.logger?.warn({ path: this.#opts.path, err: describe(e) }, 'informer event handler threw');
      }
    }
  }

  #metric(e: InformerMetricEvent): void {
    try {
      this.#opts.onMetric?.(e);
    } catch {
      // metrics must never break the loop
    }
  }
}

function isObject(o: unknown): o is KubeObjectLike {
  if (typeof o !== 'object' || o === null) return false;
  const m = (o as { metadata?: unknown }).metadata;
  return typeof m === 'object' && m !== null && typeof (m as { name?: unknown }).name === 'string';
}

function jittered(ms: number): number {
  return Math.round(ms * (0.5 + Math.random()));
}

function describe(e: unknown): string {
  if (e instanceof HubError) return `${e.code} ${e.reason}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** Resolves after ms, or early (without rejecting) when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
