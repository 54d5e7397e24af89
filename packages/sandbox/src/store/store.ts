// In-memory object storage for one sandbox cluster, standing in for etcd + the watch cache: one
// resourceVersion counter per cluster, objects kept immutable once stored (readers never copy, writers
// replace), a bounded window of past events so watches can resume from a resourceVersion and get
// `410 Expired` once it has been compacted away, exactly like kube-apiserver over etcd.

import type { KubeObject } from '../api/types.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** storage key of the resource type: `configmaps`, `deployments.apps` */
  gr: string;
  object: KubeObject;
  /** object before the change (for MODIFIED/DELETED): lets selector-filtered watches emit DELETED when an object leaves the selection */
  previous: KubeObject | undefined;
  rv: number;
}

export type Listener = (ev: StoreEvent) => void;

export class CompactedError extends Error {
  readonly requested: number;
  readonly oldest: number;
  constructor(requested: number, oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
    this.requested = requested;
    this.oldest = oldest;
  }
}

export interface StoreOptions {
  /** how many past events are kept for watch resumption (etcd compaction window) */
  historySize?: number;
}

function objKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class Store {
  #rv = 1;
  readonly #tables = new Map<string, Map<string, KubeObject>>();
  readonly #history: StoreEvent[] = [];
  #historyStart = 0;
  readonly #historySize: number;
  readonly #listeners = new Map<string, Set<Listener>>();
  readonly #terminators = new Map<string, Set<() => void>>();

  constructor(opts: StoreOptions = {}) {
    this.#historySize = opts.historySize ?? 20000;
  }

  /** The current resourceVersion of the whole cluster. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** Oldest resourceVersion a watch may resume from. */
  get oldestResumable(): number {
    const first = this.#history[this.#historyStart];
    return first ? first.rv - 1 : this.#rv;
  }

  #table(gr: string): Map<string, KubeObject> {
    let t = this.#tables.get(gr);
    if (!t) {
      t = new Map();
      this.#tables.set(gr, t);
    }
    return t;
  }

  get(gr: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#tables.get(gr)?.get(objKey(namespace, name));
  }

  /** All objects of a type (optionally in one namespace), sorted by namespace/name like etcd's key order. */
  list(gr: string, namespace?: string): KubeObject[] {
    const t = this.#tables.get(gr);
    if (!t) return [];
    const out: KubeObject[] = [];
    if (namespace) {
      const prefix = `${namespace}/`;
      for (const [k, v] of t) if (k.startsWith(prefix)) out.push(v);
    } else {
      for (const v of t.values()) out.push(v);
    }
    out.sort((a, b) => compareKey(a, b));
    return out;
  }

  count(gr: string): number {
    return this.#tables.get(gr)?.size ?? 0;
  }

  /** Types that currently hold objects (for namespace deletion sweeps). */
  types(): string[] {
    return [...this.#tables.keys()];
  }

  /**
   * Store `obj` (created or replaced): assigns the next resourceVersion, freezes and emits the event.
   * The caller has already checked existence and preconditions.
   */
  put(gr: string, obj: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject {
    const rv = ++this.#rv;
    obj.metadata.resourceVersion = String(rv);
    deepFreeze(obj);
    const t = this.#table(gr);
    const k = objKey(obj.metadata.namespace, obj.metadata.name!);
    const previous = t.get(k);
    t.set(k, obj);
    this.#emit({ type, gr, object: obj, previous, rv });
    return obj;
  }

  /** Remove an object; the DELETED event carries the final state with a new resourceVersion. */
  remove(gr: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const t = this.#tables.get(gr);
    const k = objKey(namespace, name);
    const previous = t?.get(k);
    if (!t || !previous) return undefined;
    t.delete(k);
    const rv = ++this.#rv;
    const final: KubeObject = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(rv) } };
    deepFreeze(final);
    this.#emit({ type: 'DELETED', gr, object: final, previous, rv });
    return final;
  }

  #emit(ev: StoreEvent): void {
    this.#history.push(ev);
    if (this.#history.length - this.#historyStart > this.#historySize) {
      this.#historyStart++;
      // reclaim memory in chunks rather than shifting on every write
      if (this.#historyStart > 4096) {
        this.#history.splice(0, this.#historyStart);
        this.#historyStart = 0;
      }
    }
    const ls = this.#listeners.get(ev.gr);
    if (ls) for (const l of [...ls]) l(ev);
    const all = this.#listeners.get('*');
    if (all) for (const l of [...all]) l(ev);
  }

  /**
   * Subscribe to changes of one type (`*` for all) after `fromRV`: past events newer than fromRV are
   * replayed synchronously first. Throws CompactedError when fromRV is older than the kept history.
   * Returns the unsubscribe function.
   */
  watch(gr: string, fromRV: number, listener: Listener, onTerminate?: () => void): () => void {
    if (fromRV < this.oldestResumable) throw new CompactedError(fromRV, this.oldestResumable);
    for (let i = this.#historyStart; i < this.#history.length; i++) {
      const ev = this.#history[i]!;
      if (ev.rv > fromRV && (gr === '*' || ev.gr === gr)) listener(ev);
    }
    let set = this.#listeners.get(gr);
    if (!set) {
      set = new Set();
      this.#listeners.set(gr, set);
    }
    set.add(listener);
    let terms = this.#terminators.get(gr);
    if (onTerminate) {
      if (!terms) this.#terminators.set(gr, (terms = new Set()));
      terms.add(onTerminate);
    }
    return () => {
      set.delete(listener);
      if (onTerminate) terms?.delete(onTerminate);
    };
  }

  /** End every watch on a type (its storage went away, e.g. the CRD was deleted), as kube does. */
  terminateWatches(gr: string): void {
    const terms = this.#terminators.get(gr);
    this.#terminators.delete(gr);
    for (const t of terms ?? []) t();
  }
}

function compareKey(a: KubeObject, b: KubeObject): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  const a2 = a.metadata.name ?? '';
  const b2 = b.metadata.name ?? '';
  return a2 < b2 ? -1 : a2 > b2 ? 1 : 0;
}

export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as Record<string, unknown>)) deepFreeze(v);
  }
  return o;
}

/** A mutable deep copy of a stored (frozen) object. */
export function thaw<T>(o: T): T {
  return structuredClone(o);
}

const jsonCache = new WeakMap<object, string>();

/**
 * JSON of a stored object, computed once: stored objects are frozen, so their serialization never
 * changes. Lists of thousands of objects are then assembled by concatenation instead of re-encoding.
 */
export function jsonOf(o: object): string {
  if (!Object.isFrozen(o)) return JSON.stringify(o);
  let s = jsonCache.get(o);
  if (s === undefined) {
    s = JSON.stringify(o);
    jsonCache.set(o, s);
  }
  return s;
}
