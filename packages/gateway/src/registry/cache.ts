// The gateway's read model: every managed cluster, converted from the hub's Secrets (and OCM
// ManagedClusters) as informer events arrive, never on the request path. It also keeps a bounded
// history of ClusterGateway changes stamped with the hub's own resourceVersions, so `watch` can
// resume from a version any replica handed out (they all see the same hub), and answers 410 when a
// version is older than what is kept, exactly like a kube-apiserver watch cache.

import type { ResyncDiff } from '../kube/informer.ts';
import { convertSecret, type ConvertOptions, type ManagedClusterLike, type SecretLike } from './convert.ts';
import { LABEL_CREDENTIAL_TYPE, type Cluster, type InvalidCluster } from './types.ts';

/** What the cache needs from an informer (Informer and OptionalInformer both fit). */
export interface Source<T> {
  list(): T[];
  get(key: string): T | undefined;
  hasSynced(): boolean;
  onAdd(fn: (obj: T) => void): () => void;
  onUpdate(fn: (old: T, obj: T) => void): () => void;
  onDelete(fn: (obj: T) => void): () => void;
  onResync(fn: (diff: ResyncDiff<T>) => void): () => void;
}

/** Whether the ManagedCluster API exists on the hub (OptionalInformer.served). */
export interface OptionalSource<T> extends Source<T> {
  readonly served: boolean;
}

export type ClusterEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ClusterEvent {
  type: ClusterEventType;
  cluster: Cluster;
  /** the cluster before the change (selector transitions) */
  previous: Cluster | undefined;
  rv: number;
}

export class ExpiredError extends Error {
  constructor(requested: number, oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

export interface ClusterCacheOptions {
  secrets: Source<SecretLike & { metadata: { name: string; resourceVersion: string } }>;
  managedClusters?: OptionalSource<ManagedClusterLike & { metadata: { name: string; resourceVersion: string } }>;
  /** namespace of the cluster Secrets (informer keys are `namespace/name`) */
  secretNamespace: string;
  convert: Omit<ConvertOptions, 'managedCluster'>;
  /** OCM: keep Secret-only clusters that have no ManagedCluster (`--ocm-allow-standalone-secrets`) */
  allowStandaloneSecrets: boolean;
  historySize?: number;
  /**
   * How often to check whether the ManagedCluster API came or went (OptionalInformer has no event
   * for it, and with no ManagedCluster objects nothing else would tell us); default 1000 ms, 0 off.
   */
  managedClusterApiPollMs?: number;
  onInvalid?: (invalid: InvalidCluster) => void;
  onChange?: (ev: ClusterEvent) => void;
}

function rvNumber(rv: string | undefined): number {
  const n = Number(rv);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export class ClusterCache {
  readonly #opts: ClusterCacheOptions;
  readonly #clusters = new Map<string, Cluster>();
  readonly #invalid = new Map<string, InvalidCluster>();
  readonly #history: ClusterEvent[] = [];
  readonly #historySize: number;
  /** history is complete after this version (events at or before it may be missing) */
  #historyFloor = 0;
  #rv = 0;
  readonly #listeners = new Set<(ev: ClusterEvent) => void>();
  readonly #rvWaiters = new Set<() => void>();
  readonly #unsubscribe: (() => void)[] = [];
  /** whether the ManagedCluster API was served and listed at the last check (dangling filter on) */
  #ocmActive = false;

  constructor(opts: ClusterCacheOptions) {
    this.#opts = opts;
    this.#historySize = opts.historySize ?? 10_000;
    const s = opts.secrets;
    this.#unsubscribe.push(
      s.onAdd((o) => {
        this.#secretChanged(o.metadata.name, o.metadata.resourceVersion);
      }),
      s.onUpdate((_old, o) => {
        this.#secretChanged(o.metadata.name, o.metadata.resourceVersion);
      }),
      s.onDelete((o) => {
        this.#secretChanged(o.metadata.name, o.metadata.resourceVersion);
      }),
      s.onResync((d) => {
        for (const o of [...d.added, ...d.updated.map((u) => u.obj), ...d.deleted])
          this.#secretChanged(o.metadata.name, o.metadata.resourceVersion);
      }),
    );
    const m = opts.managedClusters;
    if (m) {
      this.#ocmActive = m.served && m.hasSynced();
      const changed = (name: string, rv: string): void => {
        this.refreshManagedClusterAPI();
        this.#secretChanged(name, rv);
      };
      this.#unsubscribe.push(
        m.onAdd((o) => {
          changed(o.metadata.name, o.metadata.resourceVersion);
        }),
        m.onUpdate((_old, o) => {
          changed(o.metadata.name, o.metadata.resourceVersion);
        }),
        m.onDelete((o) => {
          changed(o.metadata.name, o.metadata.resourceVersion);
        }),
        m.onResync((d) => {
          for (const o of [...d.added, ...d.updated.map((u) => u.obj), ...d.deleted])
            changed(o.metadata.name, o.metadata.resourceVersion);
        }),
      );
      const every = opts.managedClusterApiPollMs ?? 1000;
      if (every > 0) {
        const t = setInterval(() => {
          this.refreshManagedClusterAPI();
        }, every);
        t.unref();
        this.#unsubscribe.push(() => {
          clearInterval(t);
        });
      }
    }
  }

  /**
   * Re-evaluate every Secret when the ManagedCluster API appeared (and has been listed) or went
   * away: whether a Secret without ManagedCluster is dangling depends on it, and no object event
   * says so (a CRD installed with no ManagedClusters yet emits nothing).
   */
  refreshManagedClusterAPI(): void {
    const m = this.#opts.managedClusters;
    if (!m) return;
    const active = m.served && m.hasSynced();
    if (active === this.#ocmActive) return;
    this.#ocmActive = active;
    const names = new Set<string>([...this.#clusters.keys(), ...this.#invalid.keys()]);
    for (const s of this.#opts.secrets.list()) names.add(s.metadata.name);
    for (const n of names) this.#recompute(n, 0);
  }

  hasSynced(): boolean {
    return this.#opts.secrets.hasSynced() && (this.#opts.managedClusters?.hasSynced() ?? true);
  }

  /** Build the model from the informers' current contents (call once they have synced). */
  rebuild(): void {
    const m = this.#opts.managedClusters;
    if (m) this.#ocmActive = m.served && m.hasSynced();
    const names = new Set<string>([...this.#clusters.keys(), ...this.#invalid.keys()]);
    for (const s of this.#opts.secrets.list()) names.add(s.metadata.name);
    for (const m of this.#opts.managedClusters?.list() ?? []) names.add(m.metadata.name);
    for (const n of names) this.#recompute(n, 0);
    if (this.#historyFloor === 0) this.#historyFloor = this.#rv;
  }

  stop(): void {
    for (const u of this.#unsubscribe) u();
  }

  /** the newest hub resourceVersion the model reflects */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Advance the version without a change (informer bookmarks, list versions). */
  observe(rv: string | number): void {
    const n = typeof rv === 'number' ? rv : rvNumber(rv);
    if (n > this.#rv) {
      this.#rv = n;
      for (const w of [...this.#rvWaiters]) w();
    }
  }

  get(name: string): Cluster | undefined {
    return this.#clusters.get(name);
  }

  invalid(name: string): InvalidCluster | undefined {
    return this.#invalid.get(name);
  }

  invalidClusters(): InvalidCluster[] {
    return [...this.#invalid.values()];
  }

  /** All clusters sorted by name (stable order for pagination). */
  list(): Cluster[] {
    return [...this.#clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get size(): number {
    return this.#clusters.size;
  }

  #secretChanged(name: string, rv: string): void {
    this.#recompute(name, rvNumber(rv));
  }

  #recompute(name: string, rv: number): void {
    const before = this.#clusters.get(name);
    const secret = this.#opts.secrets.get(`${this.#opts.secretNamespace}/${name}`);
    const m = this.#opts.managedClusters;
    const mc = m?.get(name);
    let next: Cluster | undefined;
    let invalid: InvalidCluster | undefined;
    if (secret && secret.metadata.labels?.[LABEL_CREDENTIAL_TYPE] !== undefined) {
      // only once the ManagedCluster list has arrived: before that, every Secret would look dangling
      const dangling = this.#ocmActive && mc === undefined && !this.#opts.allowStandaloneSecrets;
      if (!dangling) {
        const r = convertSecret(secret, { ...this.#opts.convert, managedCluster: mc });
        if (r.ok) next = r.cluster;
        else if ('invalid' in r) invalid = r.invalid;
      }
    }
    if (invalid) {
      const prev = this.#invalid.get(name);
      this.#invalid.set(name, invalid);
      if (!prev || prev.reason !== invalid.reason) this.#opts.onInvalid?.(invalid);
    } else this.#invalid.delete(name);
    const eventRV = Math.max(rv, rvNumber(next?.resourceVersion), this.#rv);
    let type: ClusterEventType | undefined;
    if (next && !before) type = 'ADDED';
    else if (next && before && !sameCluster(before, next)) type = 'MODIFIED';
    else if (!next && before) type = 'DELETED';
    // no visible change: keep the version the last event handed out, so GET agrees with watch
    if (next && before && !type) next.resourceVersion = before.resourceVersion;
    if (next) this.#clusters.set(name, next);
    else this.#clusters.delete(name);
    this.observe(eventRV);
    if (!type) return;
    const cluster = next ?? { ...before!, resourceVersion: String(eventRV) };
    if (next && type !== 'DELETED') next.resourceVersion = String(eventRV);
    const ev: ClusterEvent = { type, cluster, previous: before, rv: eventRV };
    this.#history.push(ev);
    if (this.#history.length > this.#historySize) {
      const dropped = this.#history.shift()!;
      this.#historyFloor = Math.max(this.#historyFloor, dropped.rv);
    }
    this.#opts.onChange?.(ev);
    for (const l of [...this.#listeners]) l(ev);
  }

  /**
   * Subscribe to changes after `fromRV`, replaying kept history first. Throws ExpiredError when
   * `fromRV` is older than the history this replica holds.
   */
  watch(fromRV: number, listener: (ev: ClusterEvent) => void): () => void {
    if (fromRV < this.#historyFloor) throw new ExpiredError(fromRV, this.#historyFloor);
    for (const ev of this.#history) if (ev.rv > fromRV) listener(ev);
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Wait until the model has caught up with `rv` (a version another replica handed out). */
  waitForResourceVersion(rv: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#rv >= rv) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#rvWaiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const check = (): void => {
        if (this.#rv >= rv) done(true);
      };
      const onAbort = (): void => {
        done(false);
      };
      const timer = setTimeout(() => {
        done(false);
      }, timeoutMs);
      this.#rvWaiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function sameCluster(a: Cluster, b: Cluster): boolean {
  const strip = (c: Cluster): string => JSON.stringify({ ...c, resourceVersion: '', source: undefined });
  return strip(a) === strip(b);
}
