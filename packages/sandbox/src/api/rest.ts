// The generic REST storage of the sandbox: get, list, watch, create, update, patch, delete and
// deletecollection for every resource in the registry, with kube-apiserver's semantics
// (resourceVersion preconditions, generateName, namespace existence, dryRun, field validation,
// finalizers, managedFields, selectors, pagination, Table output, watch with bookmarks and 410).
// HTTP concerns (decoding bodies, content negotiation, status codes) live in ../server/http.ts.

import { randomUUID } from 'node:crypto';
import { errors, ApiError, successStatus, type GroupResource } from '../errors/status.ts';
import { CompactedError, thaw, type Store, type StoreEvent } from '../store/store.ts';
import type { KubeObject, ResourceInfo, UserInfo } from './types.ts';
import { apiVersionOf, storageKey, type ResourceRegistry } from './registry.ts';
import {
  allowCreateOnUpdate,
  mergeStringData,
  prepareForCreate,
  prepareForUpdate,
  specOf,
  tracksGeneration,
} from './strategy.ts';
import { parseLabelSelector, matches as labelsMatch, type LabelSelector } from '../machinery/labels.ts';
import {
  parseFieldSelector,
  validateFieldSelector,
  fieldSetFor,
  matchesFields,
  type FieldSelector,
} from '../machinery/fields.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../machinery/patch.ts';
import { serverSideApply, trackUpdate, managerFromUserAgent } from '../machinery/apply.ts';
import { schemaForKind, unknownFields } from '../openapi/openapi.ts';
import {
  validateObjectMeta,
  validateUpdateMeta,
  validateBuiltin,
  decodeError,
  objectMetaOptionsForKind,
} from './validation.ts';
import { applyDefaults, pruneUnknown, validateAgainstSchema } from '../crd/schema.ts';
import { defaultCrd } from '../crd/crd-validation.ts';

const CRD_KEY = 'customresourcedefinitions.apiextensions.k8s.io';

export interface RestRequest {
  info: ResourceInfo;
  namespace: string;
  name: string;
  subresource: string;
  query: URLSearchParams;
  user: UserInfo;
  userAgent: string | undefined;
  /** decoded request body for writes */
  body?: unknown;
  /** patch content type for PATCH */
  patchType?: 'json' | 'merge' | 'strategic' | 'apply';
}

export interface RestResult {
  code: number;
  body: unknown;
  warnings?: string[];
}

export interface WatchSink {
  /** returns false when the client is slow (backpressure) */
  send(type: string, object: unknown): void;
  end(): void;
  onClose(fn: () => void): void;
}

export interface WatchOptions {
  bookmarkIntervalMs: number;
  /** convert each event object (Table output) */
  transform?: (obj: KubeObject, first: boolean) => unknown;
}

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function generateSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_ALPHABET.charAt(Math.floor(Math.random() * GENERATE_ALPHABET.length));
  return s;
}

function gr(info: ResourceInfo): GroupResource {
  return { group: info.group, resource: info.resource };
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface Selection {
  label: LabelSelector | undefined;
  field: FieldSelector | undefined;
}

export class RestStorage {
  readonly store: Store;
  readonly registry: ResourceRegistry;
  /** hooks run after a successful write (controllers) */
  readonly afterWrite = new Set<(key: string, obj: KubeObject, old: KubeObject | undefined) => void>();

  constructor(store: Store, registry: ResourceRegistry) {
    this.store = store;
    this.registry = registry;
  }

  // ----- reads -----

  get(r: RestRequest): RestResult {
    const obj = this.#mustGet(r.info, r.namespace, r.name);
    return { code: 200, body: this.#present(r.info, obj) };
  }

  selection(r: RestRequest): Selection {
    const ls = r.query.get('labelSelector');
    const fs = r.query.get('fieldSelector');
    const label = ls ? parseLabelSelector(ls) : undefined;
    let field: FieldSelector | undefined;
    if (fs) {
      field = parseFieldSelector(fs);
      validateFieldSelector(storageKey(r.info), field);
    }
    return { label, field };
  }

  #selected(info: ResourceInfo, sel: Selection, obj: KubeObject): boolean {
    if (sel.label && !labelsMatch(sel.label, obj.metadata.labels)) return false;
    if (sel.field && !matchesFields(sel.field, fieldSetFor(storageKey(info), obj))) return false;
    return true;
  }

  /** List with selectors and limit/continue; the list's resourceVersion is the store's at read time. */
  list(r: RestRequest): {
    items: KubeObject[];
    resourceVersion: string;
    continue?: string;
    remainingItemCount?: number;
  } {
    const sel = this.selection(r);
    const key = storageKey(r.info);
    const limitRaw = r.query.get('limit');
    const limit = limitRaw ? Number.parseInt(limitRaw, 10) : 0;
    if (limitRaw && (!Number.isFinite(limit) || limit < 0)) throw errors.badRequest(`invalid limit: ${limitRaw}`);
    let start = '';
    let listRV = this.store.resourceVersion;
    const cont = r.query.get('continue');
    if (cont) {
      const tok = decodeContinue(cont);
      if (tok.rv < this.store.oldestResumable) {
        throw new ApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      start = tok.start;
      listRV = tok.rv;
    }
    const all = this.store.list(key, r.info.namespaced ? r.namespace || undefined : undefined);
    const items: KubeObject[] = [];
    let i = 0;
    if (start) {
      // binary search the first key >= start
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keyOf(all[mid]!) < start) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    for (; i < all.length; i++) {
      const o = all[i]!;
      if (!this.#selected(r.info, sel, o)) continue;
      if (limit > 0 && items.length === limit) {
        const out: { items: KubeObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number } = {
          items,
          resourceVersion: String(listRV),
          continue: encodeContinue(listRV, keyOf(items[items.length - 1]!) + '\u0000'),
        };
        if (!sel.label && !sel.field) out.remainingItemCount = all.length - i;
        return out;
      }
      items.push(o);
    }
    return { items, resourceVersion: String(listRV) };
  }

  listObject(r: RestRequest): KubeObject {
    const l = this.list(r);
    const metadata: Record<string, unknown> = { resourceVersion: l.resourceVersion };
    if (l.continue) metadata.continue = l.continue;
    if (l.remainingItemCount !== undefined) metadata.remainingItemCount = l.remainingItemCount;
    return {
      apiVersion: apiVersionOf(r.info),
      kind: r.info.listKind,
      metadata,
      items: l.items.map((o) => this.#present(r.info, o)),
    };
  }

  /**
   * Watch from `resourceVersion`: unset or "0" starts with synthetic ADDED events for the current
   * state; a specific version replays history after it or answers 410 Expired when compacted.
   */
  watch(r: RestRequest, sink: WatchSink, opts: WatchOptions): void {
    const sel = this.selection(r);
    const key = storageKey(r.info);
    const ns = r.info.namespaced ? r.namespace : '';
    const rvParam = r.query.get('resourceVersion') ?? '';
    const sendInitial = r.query.get('sendInitialEvents') === 'true';
    const bookmarks = r.query.get('allowWatchBookmarks') === 'true';
    const timeoutRaw = r.query.get('timeoutSeconds');
    let first = true;
    const emit = (type: string, obj: KubeObject): void => {
      const presented = this.#present(r.info, obj);
      sink.send(type, opts.transform ? opts.transform(presented, first) : presented);
      first = false;
    };
    const inScope = (o: KubeObject): boolean => !ns || o.metadata.namespace === ns;
    let fromRV: number;
    if (rvParam === '' || rvParam === '0' || sendInitial) {
      fromRV = this.store.resourceVersion;
      for (const o of this.store.list(key, ns || undefined)) if (this.#selected(r.info, sel, o)) emit('ADDED', o);
      if (sendInitial && bookmarks) {
        sink.send('BOOKMARK', this.#bookmark(r.info, String(fromRV), true));
      }
    } else {
      fromRV = Number.parseInt(rvParam, 10);
      if (!Number.isFinite(fromRV) || String(fromRV) !== rvParam)
        throw errors.badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`);
    }
    let lastRV = fromRV;
    const listener = (ev: StoreEvent): void => {
      if (!inScope(ev.object)) return;
      lastRV = ev.rv;
      const now = ev.type !== 'DELETED' && this.#selected(r.info, sel, ev.object);
      const before = ev.previous !== undefined && this.#selected(r.info, sel, ev.previous);
      if (ev.type === 'ADDED') {
        if (now) emit('ADDED', ev.object);
      } else if (ev.type === 'MODIFIED') {
        if (now && before) emit('MODIFIED', ev.object);
        else if (now) emit('ADDED', ev.object);
        else if (before) emit('DELETED', ev.object);
      } else if (before) emit('DELETED', ev.object);
    };
    let unsubscribe: () => void;
    try {
      unsubscribe = this.store.watch(key, fromRV, listener, () => {
        stop();
        sink.end();
      });
    } catch (e) {
      if (e instanceof CompactedError) {
        // kube-apiserver answers 200 and sends the error as the first (and only) event
        sink.send('ERROR', new ApiError(410, 'Expired', e.message).toStatus());
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
    if (bookmarks && opts.bookmarkIntervalMs > 0) {
      const t = setInterval(() => {
        sink.send('BOOKMARK', this.#bookmark(r.info, String(Math.max(lastRV, this.store.resourceVersion)), false));
      }, opts.bookmarkIntervalMs);
      t.unref();
      timers.push(t);
    }
    if (timeoutRaw) {
      const secs = Number.parseInt(timeoutRaw, 10);
      if (Number.isFinite(secs) && secs > 0) {
        const t = setTimeout(() => {
          stop();
          sink.end();
        }, secs * 1000);
        t.unref();
        timers.push(t);
      }
    }
  }

  #bookmark(info: ResourceInfo, rv: string, initialEnd: boolean): unknown {
    const metadata: Record<string, unknown> = { resourceVersion: rv };
    if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    return { kind: info.kind, apiVersion: apiVersionOf(info), metadata };
  }

  // ----- writes -----

  #dryRun(r: RestRequest): boolean {
    const d = r.query.getAll('dryRun');
    for (const v of d) if (v !== 'All') throw errors.badRequest(`Invalid dry run value: ${JSON.stringify(v)}`);
    return d.length > 0;
  }

  #fieldManager(r: RestRequest): string {
    const fm = r.query.get('fieldManager');
    if (fm !== null) {
      if (fm.length > 128)
        throw errors.invalid('PatchOptions', 'meta.k8s.io', '', [
          { type: 'FieldValueTooLong', field: 'fieldManager', message: 'Too long: may not be more than 128 bytes' },
        ]);
      return fm;
    }
    return managerFromUserAgent(r.userAgent);
  }

  /** Decode, check kind/apiVersion/namespace of a body against the request. */
  #objectFromBody(r: RestRequest, requireName: boolean): KubeObject {
    const b = r.body;
    if (b === null || typeof b !== 'object' || Array.isArray(b)) {
      throw errors.badRequest(`Object 'Kind' is missing in '${truncate(JSON.stringify(b) ?? '')}'`);
    }
    const obj = thaw(b) as KubeObject;
    const expectAV = apiVersionOf(r.info);
    // like kube's decoder, a body without kind/apiVersion takes them from the endpoint
    if (obj.kind === undefined || obj.kind === '') obj.kind = r.info.kind;
    if (typeof obj.kind !== 'string')
      throw errors.badRequest(`Object 'Kind' is missing in '${truncate(JSON.stringify(b))}'`);
    if (obj.apiVersion !== undefined && obj.apiVersion !== '' && obj.apiVersion !== expectAV) {
      throw errors.badRequest(
        `the API version in the data (${show(obj.apiVersion)}) does not match the expected API version (${expectAV})`,
      );
    }
    if (obj.kind !== r.info.kind) {
      throw errors.badRequest(
        `the object provided is unrecognized (must be of type ${r.info.kind}): couldn't get version/kind; json parse error (kind ${obj.kind} does not match ${r.info.kind})`,
      );
    }
    obj.apiVersion = expectAV;
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (typeof obj.metadata !== 'object' || Array.isArray(obj.metadata))
      throw errors.badRequest('metadata must be an object');
    if (r.info.namespaced) {
      if (obj.metadata.namespace && r.namespace && obj.metadata.namespace !== r.namespace) {
        throw errors.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      obj.metadata.namespace = r.namespace || obj.metadata.namespace;
    } else {
      delete obj.metadata.namespace;
    }
    if (requireName && r.name && obj.metadata.name !== undefined && obj.metadata.name !== r.name) {
      throw errors.badRequest(
        `the name of the object (${show(obj.metadata.name)}) does not match the name on the URL (${r.name})`,
      );
    }
    if (requireName && !obj.metadata.name) obj.metadata.name = r.name;
    return obj;
  }

  #checkNamespace(info: ResourceInfo, ns: string | undefined, creating: boolean): void {
    if (!info.namespaced) return;
    if (!ns) throw errors.badRequest('namespace is required for a namespaced resource');
    const nsObj = this.store.get('namespaces', undefined, ns);
    if (!nsObj) throw errors.notFound({ group: '', resource: 'namespaces' }, ns);
    if (creating && nsObj.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${info.resource} "{name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        {
          group: info.group,
          kind: info.resource,
          causes: [
            {
              type: 'NamespaceTerminating',
              message: `namespace ${ns} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      );
    }
  }

  /** Validation + CRD structural pruning/defaults; returns warnings for fieldValidation=Warn. */
  #admit(r: RestRequest, obj: KubeObject, old: KubeObject | undefined): string[] {
    const warnings: string[] = [];
    const fv = r.query.get('fieldValidation') ?? 'Warn';
    if (!['Ignore', 'Warn', 'Strict'].includes(fv))
      throw errors.badRequest(`fieldValidation parameter unsupported: ${fv}`);
    const info = r.info;
    // kube folds Secret stringData into data while decoding, before validation
    if (storageKey(info) === 'secrets') mergeStringData(obj);
    if (info.crd) {
      const schema = info.crd.schema;
      if (schema) {
        const { pruned, removed } = pruneUnknown(obj, schema);
        if (removed.length && fv === 'Strict')
          throw errors.badRequest(
            `strict decoding error: ${removed.map((p) => `unknown field "${p.replace(/^\./, '')}"`).join(', ')}`,
          );
        if (removed.length && fv === 'Warn')
          for (const p of removed) warnings.push(`unknown field "${p.replace(/^\./, '')}"`);
        Object.assign(obj, pruned);
        for (const k of Object.keys(obj)) if (!(k in (pruned as object))) delete obj[k];
        applyDefaults(obj, schema);
        const causes = validateAgainstSchema(obj, schema);
        const metaCauses = validateObjectMeta(obj.metadata, {
          namespaced: info.namespaced,
          nameValidator: 'dns1123subdomain',
        });
        const all = [...metaCauses, ...causes, ...(old ? validateUpdateMeta(old.metadata, obj.metadata) : [])];
        if (all.length) throw errors.invalid(info.kind, info.group, obj.metadata.name ?? '', all);
      }
    } else {
      if (fv !== 'Ignore') {
        const s = schemaForKind(info.group, info.version, info.kind);
        if (s) {
          const unknown = unknownFields(obj, s.schema, s.resolve);
          if (unknown.length && fv === 'Strict')
            throw errors.badRequest(
              `strict decoding error: ${unknown.map((p) => `unknown field "${p.replace(/^\./, '')}"`).join(', ')}`,
            );
          if (unknown.length) for (const p of unknown) warnings.push(`unknown field "${p.replace(/^\./, '')}"`);
        }
      }
      // kube defaults a CRD (listKind, singular, conversion) before validating it
      if (storageKey(info) === CRD_KEY) Object.assign(obj, defaultCrd(obj));
      const decodeErr = decodeError(storageKey(info), obj);
      if (decodeErr) throw decodeErr;
      const causes = [
        ...validateObjectMeta(obj.metadata, objectMetaOptionsForKind(storageKey(info), info.namespaced)),
        ...(old ? validateUpdateMeta(old.metadata, obj.metadata) : []),
        ...validateBuiltin(storageKey(info), obj, old),
      ];
      if (causes.length)
        throw errors.invalid(info.kind, info.group, obj.metadata.name ?? obj.metadata.generateName ?? '', causes);
    }
    return warnings;
  }

  create(r: RestRequest, preparedManagedFields?: KubeObject['metadata']['managedFields']): RestResult {
    const info = r.info;
    if (r.subresource) throw errors.methodNotAllowed(`the server does not allow this method on the requested resource`);
    const obj = this.#objectFromBody(r, false);
    const dry = this.#dryRun(r);
    const manager = this.#fieldManager(r);
    if (!obj.metadata.name && obj.metadata.generateName)
      obj.metadata.name = obj.metadata.generateName + generateSuffix();
    if (!obj.metadata.name) {
      throw errors.invalid(info.kind, info.group, '', [
        { type: 'FieldValueRequired', message: 'name or generateName is required', field: 'metadata.name' },
      ]);
    }
    this.#checkNamespace(info, obj.metadata.namespace, true);
    const warnings = this.#admit(r, obj, undefined);
    const key = storageKey(info);
    if (this.store.get(key, obj.metadata.namespace, obj.metadata.name))
      throw errors.alreadyExists(gr(info), obj.metadata.name);
    delete obj.metadata.resourceVersion;
    delete obj.metadata.deletionTimestamp;
    delete obj.metadata.deletionGracePeriodSeconds;
    obj.metadata.uid = randomUUID();
    obj.metadata.creationTimestamp = now();
    prepareForCreate(info, obj);
    obj.metadata.managedFields =
      preparedManagedFields ??
      trackUpdate({
        live: undefined,
        updated: obj,
        manager,
        operation: 'Update',
        now: now(),
        ...this.#schema(info),
      });
    if (!obj.metadata.managedFields?.length) delete obj.metadata.managedFields;
    const stored = dry ? obj : this.#commit(key, obj, undefined);
    return { code: 201, body: this.#present(info, stored), warnings };
  }

  #commit(key: string, obj: KubeObject, old: KubeObject | undefined): KubeObject {
    const stored = this.store.put(key, obj, old ? 'MODIFIED' : 'ADDED');
    for (const h of this.afterWrite) h(key, stored, old);
    return stored;
  }

  update(r: RestRequest): RestResult {
    const obj = this.#objectFromBody(r, true);
    return this.#updateWith(r, obj, 'Update');
  }

  /** Shared by PUT and PATCH: preconditions, strategy, validation, generation, no-op detection. */
  #updateWith(
    r: RestRequest,
    obj: KubeObject,
    op: 'Update' | 'Apply',
    preparedManagedFields?: KubeObject['metadata']['managedFields'],
  ): RestResult {
    const info = r.info;
    const key = storageKey(info);
    const dry = this.#dryRun(r);
    const old = this.store.get(key, info.namespaced ? r.namespace : undefined, r.name);
    if (!old) {
      if (op === 'Apply' || allowCreateOnUpdate(info)) {
        const created = this.create({ ...r, body: obj, subresource: '' });
        return created;
      }
      throw errors.notFound(gr(info), r.name);
    }
    if (r.subresource && r.subresource !== 'status')
      throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) {
      throw errors.conflict(
        gr(info),
        r.name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    if (obj.metadata.uid && obj.metadata.uid !== old.metadata.uid) {
      throw errors.conflict(
        gr(info),
        r.name,
        `Precondition failed: UID in precondition: ${old.metadata.uid}, UID in object meta: ${obj.metadata.uid}`,
      );
    }
    let next = prepareForUpdate(info, r.subresource, obj, old);
    // server-owned metadata always comes from the stored object
    next.metadata.uid = old.metadata.uid;
    next.metadata.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      next.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    } else {
      delete next.metadata.deletionTimestamp;
      delete next.metadata.deletionGracePeriodSeconds;
    }
    if (old.metadata.generation !== undefined) next.metadata.generation = old.metadata.generation;
    if (
      r.subresource !== 'status' &&
      old.metadata.deletionTimestamp &&
      (next.metadata.finalizers?.length ?? 0) > (old.metadata.finalizers?.length ?? 0)
    ) {
      throw errors.forbiddenRaw(`Forbidden: no new finalizers can be added if the object is being deleted`);
    }
    const warnings = this.#admit(r, next, old);
    if (tracksGeneration(info) && specOf(next) !== specOf(old))
      next.metadata.generation = (old.metadata.generation ?? 0) + 1;
    const manager = this.#fieldManager(r);
    next.metadata.managedFields =
      preparedManagedFields ??
      trackUpdate({
        live: old,
        updated: next,
        manager,
        operation: 'Update',
        subresource: r.subresource || undefined,
        now: now(),
        ...this.#schema(info),
      });
    if (!next.metadata.managedFields?.length) delete next.metadata.managedFields;
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (sameIgnoringManagedFieldTimes(next, old)) return { code: 200, body: this.#present(info, old), warnings };
    // finalizers all gone on an object being deleted: the deletion completes now
    if (next.metadata.deletionTimestamp && !next.metadata.finalizers?.length) {
      if (dry) return { code: 200, body: this.#present(info, next), warnings };
      const final = this.store.remove(key, next.metadata.namespace, r.name)!;
      for (const h of this.afterWrite) h(key, final, old);
      return {
        code: 200,
        body: this.#present(info, {
          ...next,
          metadata: { ...next.metadata, resourceVersion: final.metadata.resourceVersion },
        }),
        warnings,
      };
    }
    next = dry ? next : this.#commit(key, next, old);
    return { code: 200, body: this.#present(info, next), warnings };
  }

  patch(r: RestRequest): RestResult {
    const info = r.info;
    const key = storageKey(info);
    const old = this.store.get(key, info.namespaced ? r.namespace : undefined, r.name);
    const patch = r.body;
    if (r.patchType === 'apply') {
      const fm = r.query.get('fieldManager');
      if (!fm) throw errors.badRequest('PATCH, application/apply-patch+yaml requests require fieldManager to be set');
      const applied = this.#applyBody(r);
      const force = r.query.get('force') === 'true';
      const s = schemaForKind(info.group, info.version, info.kind);
      const result = serverSideApply({
        live: old,
        applied,
        manager: fm,
        force,
        schema: s?.schema ?? info.crd?.schema,
        resolve: s?.resolve ?? (() => undefined),
        now: now(),
        subresource: r.subresource || undefined,
      });
      if (!old) {
        const res = this.create({ ...r, body: result, subresource: '' }, result.metadata.managedFields);
        return { ...res, code: 201 };
      }
      return this.#updateWith(r, result, 'Apply', result.metadata.managedFields);
    }
    if (!old) throw errors.notFound(gr(info), r.name);
    let patched: unknown;
    const base = thaw(old) as unknown;
    switch (r.patchType) {
      case 'json':
        patched = applyJsonPatch(base, patch);
        break;
      case 'merge':
        patched = applyMergePatch(base, patch);
        break;
      case 'strategic': {
        if (info.crd) throw errors.unsupportedMediaType('application/strategic-merge-patch+json');
        const s = schemaForKind(info.group, info.version, info.kind);
        patched = applyStrategicMergePatch(base, patch, s?.schema, s?.resolve ?? (() => undefined));
        break;
      }
      default:
        throw errors.unsupportedMediaType(String(r.patchType));
    }
    if (patched === null || typeof patched !== 'object' || Array.isArray(patched))
      throw errors.badRequest('the patch produced something that is not an object');
    const obj = patched as KubeObject;
    if (obj.metadata === undefined || typeof obj.metadata !== 'object') obj.metadata = {};
    // a patch may carry a resourceVersion precondition; otherwise the patch applies to the current object
    const patchRV = (patch as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
    if (typeof patchRV !== 'string') obj.metadata.resourceVersion = old.metadata.resourceVersion;
    if (obj.kind !== info.kind || obj.apiVersion !== apiVersionOf(info)) {
      throw errors.badRequest(`the kind or apiVersion of the patched object changed`);
    }
    if (obj.metadata.name !== old.metadata.name) {
      throw errors.invalid(info.kind, info.group, r.name, [
        {
          type: 'FieldValueInvalid',
          field: 'metadata.name',
          message: `Invalid value: ${JSON.stringify(obj.metadata.name)}: field is immutable`,
        },
      ]);
    }
    if (info.namespaced) obj.metadata.namespace = old.metadata.namespace;
    return this.#updateWith(r, obj, 'Update');
  }

  #applyBody(r: RestRequest): KubeObject {
    const b = r.body;
    if (b === null || typeof b !== 'object' || Array.isArray(b))
      throw errors.badRequest('error decoding YAML: the applied configuration must be an object');
    const obj = thaw(b) as KubeObject;
    const expectAV = apiVersionOf(r.info);
    if (obj.apiVersion !== expectAV || obj.kind !== r.info.kind) {
      throw errors.badRequest(
        `error decoding apply configuration: apiVersion and kind must be ${expectAV}, ${r.info.kind}; got ${show(obj.apiVersion)}, ${show(obj.kind)}`,
      );
    }
    obj.metadata ??= {};
    if (obj.metadata.name !== undefined && obj.metadata.name !== r.name) {
      throw errors.badRequest(
        `the name of the object (${show(obj.metadata.name)}) does not match the name on the URL (${r.name})`,
      );
    }
    obj.metadata.name = r.name;
    if (r.info.namespaced) {
      if (obj.metadata.namespace && obj.metadata.namespace !== r.namespace)
        throw errors.badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      obj.metadata.namespace = r.namespace;
    }
    return obj;
  }

  delete(r: RestRequest): RestResult {
    const info = r.info;
    const key = storageKey(info);
    const dry = this.#dryRun(r);
    const old = this.#mustGet(info, r.namespace, r.name);
    const opts = (r.body ?? {}) as {
      preconditions?: { uid?: string; resourceVersion?: string };
      propagationPolicy?: string;
      gracePeriodSeconds?: number;
      orphanDependents?: boolean;
    };
    if (opts.preconditions?.uid && opts.preconditions.uid !== old.metadata.uid) {
      throw errors.conflict(
        gr(info),
        r.name,
        `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== old.metadata.resourceVersion) {
      throw errors.conflict(
        gr(info),
        r.name,
        `Precondition failed: ResourceVersion in precondition: ${opts.preconditions.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    const policy = r.query.get('propagationPolicy') ?? opts.propagationPolicy;
    if (policy !== undefined && policy !== null && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
      throw errors.invalid('DeleteOptions', 'meta.k8s.io', '', [
        {
          type: 'FieldValueNotSupported',
          field: 'propagationPolicy',
          message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan", "nil"`,
        },
      ]);
    }
    const finalizers = [...(old.metadata.finalizers ?? [])];
    if (policy === 'Foreground' && !finalizers.includes('foregroundDeletion')) finalizers.push('foregroundDeletion');
    if (policy === 'Orphan' && !finalizers.includes('orphan') && finalizers.length) finalizers.push('orphan');
    // pods bound to a node are deleted gracefully: the kubelet removes them once stopped
    const requestedGrace = r.query.get('gracePeriodSeconds') ?? opts.gracePeriodSeconds;
    const podSpec =
      key === 'pods'
        ? (old.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined)
        : undefined;
    const podGrace = podSpec?.nodeName ? Number(requestedGrace ?? podSpec.terminationGracePeriodSeconds ?? 30) : 0;
    const graceful = key === 'namespaces' || finalizers.length > 0 || podGrace > 0;
    if (graceful) {
      if (old.metadata.deletionTimestamp) return { code: 200, body: this.#present(info, old) };
      const next = thaw(old);
      next.metadata.deletionTimestamp =
        podGrace > 0 ? new Date(Date.now() + podGrace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : now();
      next.metadata.deletionGracePeriodSeconds = podGrace;
      if (finalizers.length) next.metadata.finalizers = finalizers;
      if (key === 'namespaces') next.status = { ...(next.status as object), phase: 'Terminating' };
      const stored = dry ? next : this.#commit(key, next, old);
      return { code: 200, body: this.#present(info, stored) };
    }
    if (dry) return { code: 200, body: this.#deleteResult(info, old) };
    const final = this.store.remove(key, old.metadata.namespace, r.name)!;
    for (const h of this.afterWrite) h(key, final, old);
    return { code: 200, body: this.#deleteResult(info, final) };
  }

  #deleteResult(info: ResourceInfo, obj: KubeObject): unknown {
    // kube returns the deleted object for pods, CRs and a few others; a Success Status otherwise
    if (info.crd || ['pods', 'namespaces', 'customresourcedefinitions'].includes(info.resource))
      return this.#present(info, obj);
    return successStatus({ name: obj.metadata.name, group: info.group, kind: info.resource, uid: obj.metadata.uid });
  }

  deleteCollection(r: RestRequest): RestResult {
    const listed = this.list({ ...r, query: withoutPaging(r.query) });
    const items: unknown[] = [];
    for (const o of listed.items) {
      try {
        const res = this.delete({ ...r, name: o.metadata.name!, namespace: o.metadata.namespace ?? '' });
        items.push(res.body && (res.body as { kind?: string }).kind === 'Status' ? o : res.body);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    }
    return {
      code: 200,
      body: {
        apiVersion: apiVersionOf(r.info),
        kind: r.info.listKind,
        metadata: { resourceVersion: String(this.store.resourceVersion) },
        items,
      },
    };
  }

  /** Server-internal write used by controllers: bypasses admission, keeps managedFields. */
  systemUpdate(key: string, obj: KubeObject): KubeObject {
    const old = this.store.get(key, obj.metadata.namespace, obj.metadata.name!);
    if (
      old &&
      JSON.stringify({ ...obj, metadata: { ...obj.metadata, resourceVersion: '' } }) ===
        JSON.stringify({ ...old, metadata: { ...old.metadata, resourceVersion: '' } })
    )
      return old;
    return this.#commit(key, obj, old);
  }

  systemRemove(key: string, namespace: string | undefined, name: string): void {
    const old = this.store.get(key, namespace, name);
    const final = this.store.remove(key, namespace, name);
    if (final) for (const h of this.afterWrite) h(key, final, old);
  }

  /** Schema for structural operations (SMP, SSA, managedFields): builtin OpenAPI or the CRD's. */
  #schema(info: ResourceInfo): {
    schema: Record<string, unknown> | undefined;
    resolve: (ref: string) => Record<string, unknown> | undefined;
  } {
    if (info.crd) return { schema: info.crd.schema, resolve: () => undefined };
    const s = schemaForKind(info.group, info.version, info.kind);
    return { schema: s?.schema, resolve: s?.resolve ?? (() => undefined) };
  }

  #mustGet(info: ResourceInfo, ns: string, name: string): KubeObject {
    const o = this.store.get(storageKey(info), info.namespaced ? ns : undefined, name);
    if (!o) throw errors.notFound(gr(info), name);
    return o;
  }

  /** Objects are stored in one version; serve them in the requested one (CRDs: conversion None). */
  #present(info: ResourceInfo, obj: KubeObject): KubeObject {
    const av = apiVersionOf(info);
    let out = obj;
    if (obj.apiVersion !== av) out = { ...obj, apiVersion: av };
    if (info.crd?.schema) {
      const copy = thaw(out);
      applyDefaults(copy, info.crd.schema);
      out = copy;
    }
    return out;
  }
}

function withoutPaging(q: URLSearchParams): URLSearchParams {
  const c = new URLSearchParams(q);
  c.delete('limit');
  c.delete('continue');
  return c;
}

function keyOf(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
}

/** A decoded body value as text: bodies are untyped JSON whatever the TypeScript types say. */
function show(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined');
}

function truncate(s: string): string {
  return s.length > 200 ? s.slice(0, 200) + '...' : s;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(tok: string): { rv: number; start: string } {
  try {
    const raw = JSON.parse(Buffer.from(tok, 'base64url').toString('utf8')) as {
      v?: unknown;
      rv?: unknown;
      start?: unknown;
    };
    if (raw.v !== 'meta.k8s.io/v1' || typeof raw.rv !== 'number' || typeof raw.start !== 'string')
      throw new Error('shape');
    return { rv: raw.rv, start: raw.start };
  } catch {
    throw errors.badRequest(`continue key is not valid: ${JSON.stringify(tok)}`);
  }
}

function sameIgnoringManagedFieldTimes(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject): string =>
    JSON.stringify({
      ...o,
      metadata: {
        ...o.metadata,
        resourceVersion: '',
        managedFields: (o.metadata.managedFields ?? []).map((m) => ({ ...m, time: '' })),
      },
    });
  return strip(a) === strip(b);
}
