// The `clustergateways` resource: get, list and watch served from the ClusterCache (selectors,
// limit/continue, Table output, bookmarks, 410 on compacted versions — upstream has none of these),
// and the `health` subresource, which writes the health annotations on the cluster's Secret with a
// fresh read-modify-write so a stale cache never turns into a 409 for the caller.

import {
  labelsMatch,
  matchesFields,
  parseFieldSelector,
  parseLabelSelector,
  applyJsonPatch,
  applyMergePatch,
  type FieldSelector,
  type LabelSelector,
} from '@cluster-gateway/sandbox/machinery';
import type { ClusterCache, ClusterEvent } from '../registry/cache.ts';
import { ExpiredError } from '../registry/cache.ts';
import {
  toClusterGateway,
  convertSecret,
  type ConvertOptions,
  type SecretLike,
  type ManagedClusterLike,
} from '../registry/convert.ts';
import { clusterGatewayTable } from '../registry/table.ts';
import {
  API_VERSION,
  ANNOTATION_HEALTHY,
  ANNOTATION_HEALTHY_REASON,
  type Cluster,
  type ClusterGateway,
} from '../registry/types.ts';
import { errors, GatewayError } from './errors.ts';

export interface HealthWriter {
  getSecret(
    namespace: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<SecretLike & { metadata: { resourceVersion: string } }>;
  updateSecret(
    namespace: string,
    name: string,
    body: object,
    signal?: AbortSignal,
  ): Promise<SecretLike & { metadata: { resourceVersion: string } }>;
}

export interface ClusterGatewayApiOptions {
  cache: ClusterCache;
  exposeCredentials: boolean;
  secretNamespace: string;
  convert: Omit<ConvertOptions, 'managedCluster'>;
  managedCluster?: (name: string) => ManagedClusterLike | undefined;
  health: HealthWriter;
  bookmarkIntervalMs: number;
}

export interface WatchSink {
  send(type: string, object: unknown): void;
  end(): void;
  onClose(fn: () => void): void;
}

interface Selection {
  label: LabelSelector | undefined;
  field: FieldSelector | undefined;
}

const FIELDS = new Set(['metadata.name', 'metadata.namespace']);

export class ClusterGatewayApi {
  readonly #o: ClusterGatewayApiOptions;

  constructor(o: ClusterGatewayApiOptions) {
    this.#o = o;
  }

  #present(c: Cluster): ClusterGateway {
    return toClusterGateway(c, { exposeCredentials: this.#o.exposeCredentials });
  }

  get(name: string): ClusterGateway {
    const c = this.#o.cache.get(name);
    if (c) return this.#present(c);
    const bad = this.#o.cache.invalid(name);
    if (bad) throw errors.invalidCluster(name, bad.reason);
    throw errors.noSuchCluster(name);
  }

  selection(q: URLSearchParams): Selection {
    const ls = q.get('labelSelector');
    const fs = q.get('fieldSelector');
    const field = fs ? parseFieldSelector(fs) : undefined;
    for (const r of field?.requirements ?? []) {
      if (!FIELDS.has(r.field)) throw errors.badRequest(`field label not supported: ${r.field}`);
    }
    return { label: ls ? parseLabelSelector(ls) : undefined, field };
  }

  #selected(sel: Selection, c: Cluster): boolean {
    if (sel.label && !labelsMatch(sel.label, c.labels)) return false;
    if (sel.field && !matchesFields(sel.field, { 'metadata.name': c.name, 'metadata.namespace': '' })) return false;
    return true;
  }

  /** LIST with selectors and limit/continue (continue tokens carry the list version and the last name). */
  list(q: URLSearchParams): {
    items: ClusterGateway[];
    metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  } {
    const sel = this.selection(q);
    const limitRaw = q.get('limit');
    const limit = limitRaw ? Number(limitRaw) : 0;
    if (limitRaw && !(Number.isInteger(limit) && limit >= 0))
      throw errors.badRequest(`invalid limit: ${JSON.stringify(limitRaw)}`);
    let after = '';
    let rv = this.#o.cache.resourceVersion;
    const cont = q.get('continue');
    if (cont) {
      const tok = decodeContinue(cont);
      after = tok.after;
      rv = tok.rv;
    }
    const all = this.#o.cache.list().filter((c) => c.name > after && this.#selected(sel, c));
    const page = limit > 0 ? all.slice(0, limit) : all;
    const metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number } = {
      resourceVersion: String(rv),
    };
    if (limit > 0 && all.length > limit) {
      metadata.continue = encodeContinue(rv, page[page.length - 1]!.name);
      metadata.remainingItemCount = all.length - limit;
    }
    return { items: page.map((c) => this.#present(c)), metadata };
  }

  listObject(q: URLSearchParams): object {
    const l = this.list(q);
    return { apiVersion: API_VERSION, kind: 'ClusterGatewayList', metadata: l.metadata, items: l.items };
  }

  table(q: URLSearchParams, objs: ClusterGateway[], listMeta?: object): object {
    const include = (q.get('includeObject') ?? 'Metadata') as 'None' | 'Metadata' | 'Object';
    if (!['None', 'Metadata', 'Object'].includes(include))
      throw errors.badRequest(`includeObject: unsupported value ${JSON.stringify(include)}`);
    return clusterGatewayTable(objs, { includeObject: include, ...(listMeta ? { listMeta } : {}) });
  }

  /**
   * WATCH: unset/"0" resourceVersion starts with ADDED for the current state; a specific version
   * replays the kept history after it (410 Expired when older), or waits briefly for this replica to
   * catch up when another replica handed out a newer one.
   */
  async watch(
    q: URLSearchParams,
    name: string,
    sink: WatchSink,
    transform: (o: ClusterGateway, first: boolean) => unknown,
    signal: AbortSignal,
  ): Promise<void> {
    const sel = this.selection(q);
    if (name)
      sel.field = parseFieldSelector([q.get('fieldSelector'), `metadata.name=${name}`].filter(Boolean).join(','));
    const rvParam = q.get('resourceVersion') ?? '';
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const sendInitial = q.get('sendInitialEvents') === 'true';
    const cache = this.#o.cache;
    let first = true;
    const emit = (type: string, c: Cluster): void => {
      sink.send(type, transform(this.#present(c), first));
      first = false;
    };
    let fromRV: number;
    if (rvParam === '' || rvParam === '0' || sendInitial) {
      fromRV = cache.resourceVersion;
      for (const c of cache.list()) if (this.#selected(sel, c)) emit('ADDED', c);
      if (sendInitial && bookmarks) sink.send('BOOKMARK', bookmark(String(fromRV), true));
    } else {
      fromRV = Number(rvParam);
      if (!Number.isSafeInteger(fromRV) || fromRV < 0 || String(fromRV) !== rvParam)
        throw errors.badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`);
      if (fromRV > cache.resourceVersion && !(await cache.waitForResourceVersion(fromRV, 3000, signal))) {
        throw new GatewayError(
          504,
          'Timeout',
          `Timeout: Too large resource version: ${fromRV}, current: ${cache.resourceVersion}`,
          { retryAfterSeconds: 1 },
        );
      }
    }
    let last = fromRV;
    const onEvent = (ev: ClusterEvent): void => {
      last = ev.rv;
      const now = ev.type !== 'DELETED' && this.#selected(sel, ev.cluster);
      const before = ev.previous !== undefined && this.#selected(sel, ev.previous);
      if (ev.type === 'ADDED' && now) emit('ADDED', ev.cluster);
      else if (ev.type === 'MODIFIED') {
        if (now && before) emit('MODIFIED', ev.cluster);
        else if (now) emit('ADDED', ev.cluster);
        else if (before) emit('DELETED', ev.cluster);
      } else if (ev.type === 'DELETED' && before) emit('DELETED', ev.cluster);
    };
    let unsubscribe: () => void;
    try {
      unsubscribe = cache.watch(fromRV, onEvent);
    } catch (e) {
      if (e instanceof ExpiredError) {
        sink.send('ERROR', errors.expired(e.message).toStatus());
        sink.end();
        return;
      }
      throw e;
    }
    const timers: NodeJS.Timeout[] = [];
    const stop = (): void => {
      unsubscribe();
      for (const t of timers) clearTimeout(t);
    };
    sink.onClose(stop);
    if (bookmarks && this.#o.bookmarkIntervalMs > 0) {
      const t = setInterval(() => {
        sink.send('BOOKMARK', bookmark(String(Math.max(last, cache.resourceVersion)), false));
      }, this.#o.bookmarkIntervalMs);
      t.unref();
      timers.push(t);
    }
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    if (Number.isFinite(timeout) && timeout > 0) {
      const t = setTimeout(() => {
        stop();
        sink.end();
      }, timeout * 1000);
      t.unref();
      timers.push(t);
    }
  }

  // ----- health subresource -----

  /** PUT …/health: the body's status.healthy/healthyReason become the Secret's health annotations. */
  async putHealth(name: string, body: unknown, signal?: AbortSignal): Promise<ClusterGateway> {
    const gw = body as Partial<ClusterGateway> | null;
    if (gw === null || typeof gw !== 'object' || Array.isArray(gw))
      throw errors.badRequest('the body must be a ClusterGateway object');
    if (gw.kind !== undefined && gw.kind !== 'ClusterGateway')
      throw errors.badRequest(
        `the object provided is unrecognized (must be of type ClusterGateway): kind ${JSON.stringify(gw.kind)}`,
      );
    if (gw.metadata?.name !== undefined && gw.metadata.name !== name)
      throw errors.badRequest(
        `the name of the object (${gw.metadata.name}) does not match the name on the URL (${name})`,
      );
    const healthy = gw.status?.healthy;
    const reason = gw.status?.healthyReason;
    if (healthy !== undefined && typeof healthy !== 'boolean') {
      throw errors.invalid('ClusterGateway', name, [
        {
          reason: 'FieldValueTypeInvalid',
          field: 'status.healthy',
          message: `Invalid value: ${JSON.stringify(healthy)}: status.healthy must be a boolean`,
        },
      ]);
    }
    if (reason !== undefined && typeof reason !== 'string') {
      throw errors.invalid('ClusterGateway', name, [
        {
          reason: 'FieldValueTypeInvalid',
          field: 'status.healthyReason',
          message: 'Invalid value: status.healthyReason must be a string',
        },
      ]);
    }
    return this.#writeHealth(name, healthy ?? false, reason ?? '', signal);
  }

  /** PATCH …/health (merge or JSON patch) against the current object, then as PUT. */
  async patchHealth(name: string, patchType: string, patch: unknown, signal?: AbortSignal): Promise<ClusterGateway> {
    const current = this.get(name);
    let next: unknown;
    if (patchType === 'application/json-patch+json') next = applyJsonPatch(current, patch);
    else if (patchType === 'application/merge-patch+json' || patchType === 'application/strategic-merge-patch+json')
      next = applyMergePatch(current, patch);
    else
      throw new GatewayError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
      );
    return this.putHealth(name, next, signal);
  }

  async #writeHealth(name: string, healthy: boolean, reason: string, signal?: AbortSignal): Promise<ClusterGateway> {
    const ns = this.#o.secretNamespace;
    if (!this.#o.cache.get(name) && !this.#o.cache.invalid(name)) throw errors.noSuchCluster(name);
    // read the Secret fresh (not from the cache) and retry on conflicts: a stale cache must never
    // surface as a 409 to the caller
    for (let attempt = 0; ; attempt++) {
      const secret = await this.#o.health.getSecret(ns, name, signal);
      const annotations = {
        ...(secret.metadata?.annotations ?? {}),
        [ANNOTATION_HEALTHY]: String(healthy),
        [ANNOTATION_HEALTHY_REASON]: reason,
      };
      try {
        const updated = await this.#o.health.updateSecret(
          ns,
          name,
          { ...secret, metadata: { ...secret.metadata, annotations } },
          signal,
        );
        const r = convertSecret(updated, { ...this.#o.convert, managedCluster: this.#o.managedCluster?.(name) });
        if (r.ok) {
          this.#o.cache.observe(updated.metadata.resourceVersion);
          return this.#present(r.cluster);
        }
        if ('invalid' in r) throw errors.invalidCluster(name, r.invalid.reason);
        throw errors.noSuchCluster(name);
      } catch (e) {
        if (attempt < 4 && (e as { code?: number }).code === 409) continue;
        throw e;
      }
    }
  }
}

function bookmark(rv: string, initialEnd: boolean): object {
  const metadata: Record<string, unknown> = { resourceVersion: rv };
  if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
  return { apiVersion: API_VERSION, kind: 'ClusterGateway', metadata };
}

function encodeContinue(rv: number, after: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: after })).toString('base64url');
}

function decodeContinue(tok: string): { rv: number; after: string } {
  try {
    const raw = JSON.parse(Buffer.from(tok, 'base64url').toString('utf8')) as {
      v?: unknown;
      rv?: unknown;
      start?: unknown;
    };
    if (raw.v !== 'meta.k8s.io/v1' || typeof raw.rv !== 'number' || typeof raw.start !== 'string')
      throw new Error('shape');
    return { rv: raw.rv, after: raw.start };
  } catch {
    throw errors.badRequest(`continue key is not valid: ${JSON.stringify(tok)}`);
  }
}
