// Server-side apply and managedFields tracking, modelled on kube-apiserver's fieldmanager over
// structured-merge-diff: an apply merges the applied configuration into the live object (maps by
// key, `x-kubernetes-list-type: map` lists by their keys, sets by value, atomic values replaced),
// removes what the manager applied before but no longer applies and nobody else owns, detects
// conflicts with other managers, and records ownership in `metadata.managedFields` (FieldsV1). Plain
// writes (create/update/patch) go through trackUpdate so later applies see who changed what.

import type { KubeObject, ManagedFieldsEntry } from '../api/types.ts';
import { ApiError, errors, type StatusCause } from '../errors/status.ts';
import {
  difference,
  emptySet,
  fieldElement,
  fromFieldsV1,
  has,
  insert,
  intersection,
  isEmpty,
  keyElement,
  members,
  pathString,
  stableJson,
  toFieldsV1,
  union,
  valueElement,
  type FieldSet,
} from './fieldpath.ts';
import { deepClone, deepEqual, goQuote, isObject, type JsonObject } from './json.ts';
import {
  isAtomicMap,
  isDeclaredProperty,
  itemsSchema,
  listType,
  propertySchema,
  resolveSchema,
  type JsonSchema,
  type ListType,
  type SchemaResolver,
} from './schema.ts';

export type { JsonSchema, SchemaResolver } from './schema.ts';

export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';
/** fieldmanager's DefaultMaxUpdateManagers: older Update entries fold into `ancient-changes` */
export const maxUpdateManagers = 10;
export const fieldManagerMaxLength = 128;

interface Ctx {
  resolve: SchemaResolver;
  /** built-in kinds: Go zero values make some struct fields pre-exist (no `.` marker when set) */
  builtin: boolean;
}

// Minimal ObjectMeta merge metadata, used when the served schema does not describe metadata (CRDs
// never do; kube substitutes the real ObjectMeta type for them).
const objectMetaSchema: JsonSchema = {
  type: 'object',
  properties: {
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ownerReferences: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          name: { type: 'string' },
          uid: { type: 'string' },
          controller: { type: 'boolean' },
          blockOwnerDeletion: { type: 'boolean' },
        },
        'x-kubernetes-map-type': 'atomic',
      },
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['uid'],
    },
    name: { type: 'string' },
    namespace: { type: 'string' },
    generateName: { type: 'string' },
    deletionTimestamp: { type: 'string' },
    deletionGracePeriodSeconds: { type: 'integer' },
  },
};

function rootSchema(schema: JsonSchema | undefined, resolve: SchemaResolver): JsonSchema {
  const r = resolveSchema(schema, resolve) ?? {};
  const props = isObject(r.properties) ? r.properties : {};
  const meta = propertySchema(r, 'metadata', resolve);
  const metaOk = !!meta && isObject(meta.properties) && Object.keys(meta.properties).length > 0;
  return { ...r, properties: { ...props, metadata: metaOk ? meta : objectMetaSchema } };
}

// Names of struct fields that exist (as empty structs or null lists) in a Go zero value, so a write
// that fills them in does not "add" them: kube shows `f:spec` without a `.` member.
const zeroPresent = new Set(['spec', 'status', 'metadata', 'template', 'containers', 'strategy', 'updateStrategy']);

// fieldmanager's stripMeta: fields nobody owns.
const strippedMeta = [
  'name',
  'namespace',
  'creationTimestamp',
  'selfLink',
  'uid',
  'clusterName',
  'generation',
  'managedFields',
  'resourceVersion',
];

const stripSet: FieldSet = (() => {
  const s = emptySet();
  insert(s, [fieldElement('apiVersion')]);
  insert(s, [fieldElement('kind')]);
  insert(s, [fieldElement('metadata')]);
  for (const f of strippedMeta) insert(s, [fieldElement('metadata'), fieldElement(f)]);
  return s;
})();

/** The part of an object whose ownership is tracked. */
function trackedView(obj: unknown, resetPaths: readonly (readonly string[])[]): JsonObject {
  const v = isObject(obj) ? deepClone(obj) : {};
  delete v.apiVersion;
  delete v.kind;
  if (isObject(v.metadata)) {
    for (const f of strippedMeta) delete v.metadata[f];
    if (Object.keys(v.metadata).length === 0) delete v.metadata;
  } else delete v.metadata;
  for (const p of resetPaths) deletePath(v, p);
  return v;
}

function deletePath(obj: JsonObject, path: readonly string[]): void {
  let cur: unknown = obj;
  for (let i = 0; i < path.length - 1; i++) {
    if (!isObject(cur)) return;
    cur = cur[path[i]!];
  }
  if (isObject(cur) && path.length > 0) delete cur[path[path.length - 1]!];
}

class ApplyFailure extends Error {}

// --- list item identity ---

function keyFieldDefault(itemSchema: JsonSchema | undefined, key: string, ctx: Ctx): unknown {
  return propertySchema(itemSchema, key, ctx.resolve)?.default;
}

function listItemElement(item: unknown, lt: ListType, itemSchema: JsonSchema | undefined, ctx: Ctx): string {
  if (lt.type === 'set') return valueElement(item);
  if (lt.type === 'map') {
    if (!isObject(item)) throw new ApplyFailure('associative list with keys may not have non-map elements');
    const key: Record<string, unknown> = {};
    for (const k of lt.keys) {
      const v = Object.hasOwn(item, k) ? item[k] : keyFieldDefault(itemSchema, k, ctx);
      if (v === undefined) {
        throw new ApplyFailure(
          `associative list with keys has an element that omits key field ${JSON.stringify(k)} (and doesn't have default value)`,
        );
      }
      key[k] = v;
    }
    return keyElement(key);
  }
  throw new ApplyFailure('atomic lists have no item identity');
}

function indexList(
  list: unknown[],
  lt: ListType,
  itemSchema: JsonSchema | undefined,
  ctx: Ctx,
): { pe: string; v: unknown }[] {
  return list.map((v) => ({ pe: listItemElement(v, lt, itemSchema, ctx), v }));
}

// --- field sets of applied configurations (TypedValue.ToFieldSet) ---

function setFromValue(v: unknown, schema: JsonSchema | undefined, path: string[], set: FieldSet, ctx: Ctx): void {
  if (isObject(v)) setFromMap(v, schema, path, set, ctx);
  else if (Array.isArray(v)) setFromList(v, schema, path, set, ctx);
  else insert(set, path);
}

function setFromMap(obj: JsonObject, schema: JsonSchema | undefined, path: string[], set: FieldSet, ctx: Ctx): void {
  if (path.length > 0 && isAtomicMap(schema, ctx.resolve)) {
    insert(set, path);
    return;
  }
  for (const [k, v] of Object.entries(obj)) {
    const cp = [...path, fieldElement(k)];
    if (v === null || (isObject(v) && Object.keys(v).length === 0)) insert(set, cp);
    else if (!isDeclaredProperty(schema, k, ctx.resolve)) insert(set, cp);
    if (v !== null) setFromValue(v, propertySchema(schema, k, ctx.resolve), cp, set, ctx);
  }
}

function setFromList(list: unknown[], schema: JsonSchema | undefined, path: string[], set: FieldSet, ctx: Ctx): void {
  const lt = listType(schema, ctx.resolve);
  if (lt.type === 'atomic') {
    insert(set, path);
    return;
  }
  const itemSchema = itemsSchema(schema, ctx.resolve);
  const seen = new Set<string>();
  for (const { pe, v } of indexList(list, lt, itemSchema, ctx)) {
    if (seen.has(pe)) throw new ApplyFailure(`${pathString(path)}: duplicate entries for key ${pathString([pe])}`);
    seen.add(pe);
    const ip = [...path, pe];
    insert(set, ip);
    if (lt.type === 'map' && isObject(v)) setFromMap(v, itemSchema, ip, set, ctx);
  }
}

function toFieldSet(view: JsonObject, schema: JsonSchema, ctx: Ctx): FieldSet {
  const set = emptySet();
  setFromMap(view, schema, [], set, ctx);
  return difference(set, stripSet);
}

// --- comparison (TypedValue.Compare) ---

interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

type Shape = 'absent' | 'leaf' | 'map' | 'list';

function shapeOf(v: unknown, schema: JsonSchema | undefined, ctx: Ctx): Shape {
  if (v === undefined) return 'absent';
  if (isObject(v)) return isAtomicMap(schema, ctx.resolve) ? 'leaf' : 'map';
  if (Array.isArray(v)) return listType(schema, ctx.resolve).type === 'atomic' ? 'leaf' : 'list';
  return 'leaf';
}

function compareNode(
  l: unknown,
  r: unknown,
  schema: JsonSchema | undefined,
  path: string[],
  out: Comparison,
  ctx: Ctx,
  lVirtual: boolean,
): void {
  // A null beside a map/list is an empty container of the same shape (as in structured-merge-diff).
  let ls = shapeOf(l, schema, ctx);
  let rs = shapeOf(r, schema, ctx);
  const lNullContainer = l === null && (rs === 'map' || rs === 'list');
  const rNullContainer = r === null && (ls === 'map' || ls === 'list');
  if (lNullContainer) ls = rs;
  if (rNullContainer) rs = ls;
  if (ls === 'absent' && rs === 'absent') return;
  const granular =
    (ls === 'map' || ls === 'absent') && (rs === 'map' || rs === 'absent')
      ? 'map'
      : (ls === 'list' || ls === 'absent') && (rs === 'list' || rs === 'absent')
        ? 'list'
        : undefined;
  if (!granular || ls === 'leaf' || rs === 'leaf') {
    if (ls === 'absent') insert(out.added, path);
    else if (rs === 'absent') insert(out.removed, path);
    else if (!deepEqual(l, r)) insert(out.modified, path);
    return;
  }
  if (granular === 'map') {
    const lo = isObject(l) ? l : {};
    const ro = isObject(r) ? r : {};
    const lPresent = l !== undefined || lVirtual;
    for (const k of new Set([...Object.keys(lo), ...Object.keys(ro)])) {
      const childVirtual = ctx.builtin && lPresent && zeroPresent.has(k) && !Object.hasOwn(lo, k);
      compareNode(
        lo[k],
        ro[k],
        propertySchema(schema, k, ctx.resolve),
        [...path, fieldElement(k)],
        out,
        ctx,
        childVirtual,
      );
    }
  } else {
    const lt = listType(schema, ctx.resolve);
    const itemSchema = itemsSchema(schema, ctx.resolve);
    const li = new Map(indexList(Array.isArray(l) ? l : [], lt, itemSchema, ctx).map((x) => [x.pe, x.v]));
    const ri = new Map(indexList(Array.isArray(r) ? r : [], lt, itemSchema, ctx).map((x) => [x.pe, x.v]));
    for (const pe of new Set([...li.keys(), ...ri.keys()])) {
      const ip = [...path, pe];
      if (lt.type === 'set') {
        if (!li.has(pe)) insert(out.added, ip);
        else if (!ri.has(pe)) insert(out.removed, ip);
      } else {
        compareNode(li.get(pe), ri.get(pe), itemSchema, ip, out, ctx, false);
      }
    }
  }
  if (path.length > 0) {
    if (l === undefined && !lVirtual) insert(out.added, path);
    else if (r === undefined) insert(out.removed, path);
  }
}

function compare(l: JsonObject, r: JsonObject, schema: JsonSchema, ctx: Ctx): Comparison {
  const out: Comparison = { added: emptySet(), modified: emptySet(), removed: emptySet() };
  compareNode(l, r, schema, [], out, ctx, true);
  return {
    added: difference(out.added, stripSet),
    modified: difference(out.modified, stripSet),
    removed: difference(out.removed, stripSet),
  };
}

// --- merging an applied configuration into the live object (TypedValue.Merge) ---

function mergeValue(l: unknown, c: unknown, schema: JsonSchema | undefined, ctx: Ctx): unknown {
  if (c === undefined) return l;
  if (l === undefined || l === null || c === null) return deepClone(c);
  if (isObject(l) && isObject(c) && !isAtomicMap(schema, ctx.resolve)) {
    const out: JsonObject = { ...l };
    for (const [k, v] of Object.entries(c)) {
      if (v === null) {
        delete out[k];
        continue;
      }
      out[k] = mergeValue(l[k], v, propertySchema(schema, k, ctx.resolve), ctx);
    }
    return out;
  }
  if (Array.isArray(l) && Array.isArray(c)) {
    const lt = listType(schema, ctx.resolve);
    if (lt.type === 'atomic') return deepClone(c);
    const itemSchema = itemsSchema(schema, ctx.resolve);
    return mergeList(indexList(l, lt, itemSchema, ctx), indexList(c, lt, itemSchema, ctx), (a, b) =>
      lt.type === 'set' ? (b === undefined ? a : deepClone(b)) : mergeValue(a, b, itemSchema, ctx),
    );
  }
  return deepClone(c);
}

/**
 * structured-merge-diff's list merge order: items only in the live list keep their place, items in
 * both follow the applied order, new items come where the applied list puts them.
 */
function mergeList(
  lItems: { pe: string; v: unknown }[],
  rItems: { pe: string; v: unknown }[],
  mergeItem: (l: unknown, r: unknown) => unknown,
): unknown[] {
  const lMap = new Map<string, unknown>();
  for (const x of lItems) if (!lMap.has(x.pe)) lMap.set(x.pe, x.v);
  const rMap = new Map<string, unknown>();
  for (const x of rItems) if (!rMap.has(x.pe)) rMap.set(x.pe, x.v);
  const shared = rItems.filter((x) => lMap.has(x.pe)).map((x) => x.pe);
  let si = 0;
  let nextShared: string | undefined = shared[si++];
  const merged = new Set<string>();
  const out: unknown[] = [];
  let li = 0;
  let ri = 0;
  while (li < lItems.length || ri < rItems.length) {
    if (li < lItems.length && ri < rItems.length) {
      const pe = lItems[li]!.pe;
      if (pe === rItems[ri]!.pe) {
        merged.add(pe);
        out.push(mergeItem(lMap.get(pe), rMap.get(pe)));
        li++;
        ri++;
        nextShared = shared[si++];
        continue;
      }
      if (rMap.has(pe) && nextShared !== undefined && nextShared !== pe) {
        li++;
        continue;
      }
    }
    if (li < lItems.length) {
      const { pe, v } = lItems[li]!;
      if (!rMap.has(pe)) {
        out.push(mergeItem(v, undefined));
        li++;
        continue;
      }
      if (merged.has(pe)) {
        li++;
        continue;
      }
    }
    if (ri < rItems.length) {
      const pe = rItems[ri]!.pe;
      ri++;
      if (merged.has(pe)) continue;
      merged.add(pe);
      out.push(mergeItem(lMap.get(pe), rMap.get(pe)));
      if (nextShared === pe) nextShared = shared[si++];
    }
  }
  return out;
}

// --- removing fields (TypedValue.RemoveItems) ---

/** Removes `set` members from `v`; containers emptied by it are dropped unless `keep` owns them. */
function removeItems(
  v: unknown,
  set: FieldSet,
  schema: JsonSchema | undefined,
  path: string[],
  keep: FieldSet,
  ctx: Ctx,
): unknown {
  if (isObject(v)) {
    const out: JsonObject = { ...v };
    for (const [pe, child] of set.children) {
      if (!pe.startsWith('f:')) continue;
      const k = pe.slice(2);
      if (!Object.hasOwn(out, k)) continue;
      if (child.member) {
        delete out[k];
        continue;
      }
      const before = out[k];
      const after = removeItems(before, child, propertySchema(schema, k, ctx.resolve), [...path, pe], keep, ctx);
      if (ctx.builtin && isEmptyContainer(after) && !isEmptyContainer(before) && !has(keep, [...path, pe]))
        delete out[k];
      else out[k] = after;
    }
    return out;
  }
  if (Array.isArray(v)) {
    const lt = listType(schema, ctx.resolve);
    if (lt.type === 'atomic') return v;
    const itemSchema = itemsSchema(schema, ctx.resolve);
    const out: unknown[] = [];
    for (const { pe, v: item } of indexList(v, lt, itemSchema, ctx)) {
      const child = set.children.get(pe);
      if (!child) out.push(item);
      else if (child.member) continue;
      else out.push(removeItems(item, child, itemSchema, [...path, pe], keep, ctx));
    }
    return out;
  }
  return v;
}

function isEmptyContainer(v: unknown): boolean {
  return (isObject(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);
}

/** Paths of `last` nobody owns any more (with nothing owned beneath them). */
function unownedRemovals(last: FieldSet, owned: FieldSet | undefined): FieldSet {
  const out = emptySet();
  if (last.member && !owned?.member && (!owned || owned.children.size === 0)) {
    out.member = true;
    return out;
  }
  for (const [k, child] of last.children) {
    const r = unownedRemovals(child, owned?.children.get(k));
    if (!isEmpty(r)) out.children.set(k, r);
  }
  return out;
}

// --- managers ---

interface Manager {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource: string;
  time: string | undefined;
  set: FieldSet;
}

/** BuildManagerIdentifier: appliers are identified without their apiVersion, updaters with it. */
function managerId(m: Pick<Manager, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  const id: Record<string, string> = { manager: m.manager, operation: m.operation };
  if (m.operation !== 'Apply' && m.apiVersion) id.apiVersion = m.apiVersion;
  if (m.subresource) id.subresource = m.subresource;
  return JSON.stringify(id);
}

function decodeManagers(entries: unknown): Map<string, Manager> {
  const out = new Map<string, Manager>();
  if (!Array.isArray(entries)) return out;
  for (const e of entries) {
    if (!isObject(e)) continue;
    const set = fromFieldsV1(e.fieldsV1 ?? {});
    if (!set) continue;
    const m: Manager = {
      manager: typeof e.manager === 'string' ? e.manager : '',
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      subresource: typeof e.subresource === 'string' ? e.subresource : '',
      time: typeof e.time === 'string' ? e.time : undefined,
      set,
    };
    const id = managerId(m);
    const prev = out.get(id);
    out.set(id, prev ? { ...m, set: union(prev.set, set) } : m);
  }
  return out;
}

function capUpdateManagers(managers: Map<string, Manager>): void {
  const updaters = [...managers.entries()].filter(([, m]) => m.operation === 'Update');
  if (updaters.length <= maxUpdateManagers) return;
  updaters.sort(([ia, a], [ib, b]) => {
    const ta = a.time ? Date.parse(a.time) : 0;
    const tb = b.time ? Date.parse(b.time) : 0;
    return ta !== tb ? ta - tb : ia < ib ? -1 : ia > ib ? 1 : 0;
  });
  let count = updaters.length;
  for (const [id, m] of updaters) {
    if (count <= maxUpdateManagers) break;
    const bucket: Manager = {
      manager: 'ancient-changes',
      operation: 'Update',
      apiVersion: m.apiVersion,
      subresource: '',
      time: m.time,
      set: m.set,
    };
    const bucketId = managerId(bucket);
    if (bucketId === id) continue;
    const existing = managers.get(bucketId);
    managers.delete(id);
    if (existing) {
      managers.set(bucketId, { ...existing, set: union(existing.set, m.set), time: m.time });
      count--;
    } else {
      managers.set(bucketId, bucket);
    }
  }
}

/** Encoded as kube sorts them: Apply before Update, then by time, manager, apiVersion, subresource. */
function encodeManagers(managers: Map<string, Manager>): ManagedFieldsEntry[] {
  const list = [...managers.values()].filter((m) => !isEmpty(m.set));
  const seconds = (t: string | undefined): number => (t ? Math.floor(Date.parse(t) / 1000) || 0 : 0);
  list.sort((a, b) => {
    if (a.operation !== b.operation) return a.operation < b.operation ? -1 : 1;
    const d = seconds(a.time) - seconds(b.time);
    if (d !== 0) return d;
    for (const k of ['manager', 'apiVersion', 'subresource'] as const) {
      if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
    }
    return 0;
  });
  return list.map((m) => {
    const e: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
    if (m.time) e.time = m.time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = toFieldsV1(m.set);
    if (m.subresource) e.subresource = m.subresource;
    return e;
  });
}

function printManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

interface Conflict {
  id: string;
  manager: Manager;
  path: string[];
}

/** fieldmanager's NewConflictError: 409 with one FieldManagerConflict cause per path. */
function conflictError(conflicts: Conflict[]): ApiError {
  const causes: StatusCause[] = conflicts.map((c) => ({
    type: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.manager)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    message = `Apply failed with 1 conflict: conflict with ${printManager(c.manager)}: ${pathString(c.path)}`;
  } else {
    const byManager = new Map<string, Conflict[]>();
    for (const c of conflicts) byManager.set(c.id, [...(byManager.get(c.id) ?? []), c]);
    const lines: string[] = [];
    for (const id of [...byManager.keys()].sort()) {
      const cs = byManager.get(id)!;
      lines.push(`conflicts with ${printManager(cs[0]!.manager)}:`);
      for (const c of cs) lines.push(`- ${pathString(c.path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}

function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

function isBuiltinGroup(group: string): boolean {
  return group === '' || !group.includes('.') || group.endsWith('.k8s.io');
}

function gvkString(apiVersion: string, kind: string): string {
  const i = apiVersion.indexOf('/');
  const group = i < 0 ? '' : apiVersion.slice(0, i);
  const version = i < 0 ? apiVersion : apiVersion.slice(i + 1);
  return `${group}/${version}, Kind=${kind}`;
}

// --- public API ---

export interface ApplyOptions {
  live: KubeObject | undefined;
  /** the decoded apply body */
  applied: unknown;
  manager: string;
  force: boolean;
  /** OpenAPI v3 schema of the kind (list-map keys, atomic maps/lists) */
  schema?: JsonSchema | undefined;
  resolve?: SchemaResolver;
  /** RFC 3339 time recorded in the manager's entry */
  now: string;
  subresource?: string;
  /** name and namespace from the request URL, checked like kube's patch handler does */
  name?: string;
  namespace?: string;
  /** the kind the endpoint serves: a different apiVersion/kind in the body is a 400 */
  expected?: { apiVersion: string; kind: string };
  /** fields the endpoint resets (e.g. [['status']] on a main resource with a status subresource) */
  resetPaths?: string[][];
  /** defaults to guessing from the API group (built-in groups have no dot or end in .k8s.io) */
  builtin?: boolean;
}

/** Server-side apply. Returns the new object (with managedFields) or throws 400/409/422/500 ApiErrors. */
export function serverSideApply(opts: ApplyOptions): KubeObject {
  const applied = opts.applied;
  if (!isObject(applied)) throw errors.badRequest('error decoding YAML: object expected');
  const apiVersion = typeof applied.apiVersion === 'string' ? applied.apiVersion : '';
  const kind = typeof applied.kind === 'string' ? applied.kind : '';
  const expected = opts.expected;
  if (expected ? apiVersion !== expected.apiVersion || kind !== expected.kind : !apiVersion || !kind) {
    throw errors.badRequest(`invalid object type: ${gvkString(apiVersion, kind)}`);
  }
  const meta = isObject(applied.metadata) ? applied.metadata : {};
  if (meta.managedFields !== undefined && meta.managedFields !== null) {
    throw errors.badRequest('metadata.managedFields must be nil');
  }
  const resetPaths = opts.resetPaths ?? [];
  const ctx: Ctx = {
    resolve: opts.resolve ?? (() => undefined),
    builtin: opts.builtin ?? isBuiltinGroup(groupOf(apiVersion)),
  };
  const schema = rootSchema(opts.schema, ctx.resolve);
  const config = deepClone(applied);
  for (const p of resetPaths) deletePath(config, p);
  if (isObject(config.metadata)) delete config.metadata.managedFields;

  const live = opts.live ? deepClone(opts.live) : undefined;
  const liveObj: JsonObject = live ?? {};
  const managers = decodeManagers(live?.metadata.managedFields);
  const id = managerId({ manager: opts.manager, operation: 'Apply', apiVersion, subresource: opts.subresource ?? '' });

  try {
    const configSet = toFieldSet(trackedView(config, []), schema, ctx);
    const previous = managers.get(id);
    const lastSet = previous?.set;
    managers.set(id, {
      manager: opts.manager,
      operation: 'Apply',
      apiVersion,
      subresource: opts.subresource ?? '',
      time: previous?.time,
      set: configSet,
    });

    const liveNoMF = { ...liveObj, metadata: { ...(isObject(liveObj.metadata) ? liveObj.metadata : {}) } };
    delete liveNoMF.metadata.managedFields;
    let merged = mergeValue(liveNoMF, config, schema, ctx) as JsonObject;
    // System-owned metadata is nobody's to apply: `creationTimestamp: null` from a dry-run manifest
    // must not erase the live value (uid and resourceVersion stay as sent: they are preconditions).
    if (isObject(liveNoMF.metadata) && isObject(merged.metadata)) {
      for (const f of ['creationTimestamp', 'selfLink', 'generation', 'deletionTimestamp']) {
        if (liveNoMF.metadata[f] !== undefined) merged.metadata[f] = liveNoMF.metadata[f];
      }
    }
    if (lastSet && !isEmpty(lastSet)) {
      let owned = emptySet();
      for (const m of managers.values()) owned = union(owned, m.set);
      const removals = unownedRemovals(lastSet, owned);
      if (!isEmpty(removals)) merged = removeItems(merged, removals, schema, [], owned, ctx) as JsonObject;
    }

    const cmp = compare(trackedView(liveNoMF, resetPaths), trackedView(merged, resetPaths), schema, ctx);
    const changed = union(cmp.modified, cmp.added);
    let conflicts: Conflict[] = [];
    for (const [mid, m] of managers) {
      if (mid === id) continue;
      const c = intersection(m.set, changed);
      for (const path of members(c)) conflicts.push({ id: mid, manager: m, path });
    }
    conflicts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    if (conflicts.length > 0 && !opts.force) {
      const allowed = opts.manager === 'kubectl' ? allowedFromLastApplied(liveNoMF, schema, ctx) : undefined;
      if (allowed) conflicts = conflicts.filter((c) => !has(allowed, c.path));
      if (conflicts.length > 0) throw conflictError(conflicts);
    }
    for (const [mid, m] of managers) {
      if (mid === id) continue;
      const next = difference(difference(m.set, changed), cmp.removed);
      if (isEmpty(next)) managers.delete(mid);
      else managers.set(mid, { ...m, set: next });
    }

    const self = managers.get(id)!;
    const objectChanged = !deepEqual(liveNoMF, merged);
    if (objectChanged || !self.time) self.time = opts.now;

    if (opts.manager === 'kubectl' && isObject(merged.metadata) && isObject(merged.metadata.annotations)) {
      if (Object.hasOwn(merged.metadata.annotations, lastAppliedAnnotation)) {
        merged.metadata.annotations[lastAppliedAnnotation] = buildLastApplied(applied);
      }
    }

    capUpdateManagers(managers);
    const out = merged as unknown as KubeObject;
    if (!isObject(out.metadata)) out.metadata = {};
    out.metadata.managedFields = encodeManagers(managers);
    checkName(out, opts);
    return out;
  } catch (e) {
    if (e instanceof ApplyFailure) {
      const where = [opts.namespace, opts.name ?? (typeof meta.name === 'string' ? meta.name : '')]
        .filter(Boolean)
        .join('/');
      throw new ApiError(
        500,
        'InternalError',
        `failed to create typed patch object (${gvkString(apiVersion, kind)}) ${where}: ${e.message}`,
      );
    }
    throw e;
  }
}

function checkName(obj: KubeObject, opts: ApplyOptions): void {
  const name = obj.metadata.name ?? '';
  if (opts.name !== undefined) {
    if (name !== opts.name) {
      throw errors.badRequest(`the name of the object (${name}) does not match the name on the URL (${opts.name})`);
    }
  } else if (!name) {
    throw errors.invalid(obj.kind, groupOf(obj.apiVersion), '', [
      {
        type: 'FieldValueRequired',
        field: 'metadata.name',
        message: 'Required value: name or generateName is required',
      },
    ]);
  }
  const ns = obj.metadata.namespace;
  if (opts.namespace && ns && ns !== opts.namespace) {
    throw errors.badRequest(
      `the namespace of the object (${ns}) does not match the namespace on the URL (${opts.namespace})`,
    );
  }
}

/** Fields `kubectl apply --server-side` may take over from client-side apply without --force-conflicts. */
function allowedFromLastApplied(live: JsonObject, schema: JsonSchema, ctx: Ctx): FieldSet | undefined {
  const ann =
    isObject(live.metadata) && isObject(live.metadata.annotations)
      ? live.metadata.annotations[lastAppliedAnnotation]
      : undefined;
  if (typeof ann !== 'string') return undefined;
  let last: unknown;
  try {
    last = JSON.parse(ann);
  } catch {
    return undefined;
  }
  if (!isObject(last)) return undefined;
  try {
    const lastView = trackedView(last, []);
    const lastSet = toFieldSet(lastView, schema, ctx);
    const cmp = compare(lastView, trackedView(live, []), schema, ctx);
    return difference(difference(lastSet, cmp.modified), cmp.removed);
  } catch {
    return undefined;
  }
}

function buildLastApplied(applied: JsonObject): string {
  const copy = deepClone(applied);
  if (isObject(copy.metadata) && isObject(copy.metadata.annotations)) {
    delete copy.metadata.annotations[lastAppliedAnnotation];
  }
  return stableJson(copy);
}

export interface TrackUpdateOptions {
  live: KubeObject | undefined;
  updated: KubeObject;
  manager: string;
  operation?: 'Update';
  subresource?: string;
  now: string;
  schema?: JsonSchema | undefined;
  resolve?: SchemaResolver;
  /** fields the endpoint resets and nobody should own through it */
  resetPaths?: string[][];
  builtin?: boolean;
}

function isResetRequest(mf: unknown): boolean {
  return Array.isArray(mf) && mf.length === 1 && isObject(mf[0]) && Object.keys(mf[0]).length === 0;
}

/**
 * managedFields after an ordinary write (create, update, non-apply patch): what this write changed
 * becomes the manager's (operation Update), and leaves other managers' sets. `managedFields: [{}]` in
 * the request clears tracking; a non-empty list different from the live one replaces it, as upstream.
 */
export function trackUpdate(opts: TrackUpdateOptions): ManagedFieldsEntry[] {
  const requested = opts.updated.metadata.managedFields as unknown;
  if (isResetRequest(requested)) return [];
  const liveMF = opts.live?.metadata.managedFields;
  const base = Array.isArray(requested) && requested.length > 0 && !deepEqual(requested, liveMF) ? requested : liveMF;
  const managers = decodeManagers(base);
  const apiVersion = opts.updated.apiVersion;
  const ctx: Ctx = {
    resolve: opts.resolve ?? (() => undefined),
    builtin: opts.builtin ?? isBuiltinGroup(groupOf(apiVersion)),
  };
  const schema = rootSchema(opts.schema, ctx.resolve);
  const resetPaths = opts.resetPaths ?? [];
  let cmp: Comparison;
  try {
    cmp = compare(trackedView(opts.live ?? {}, resetPaths), trackedView(opts.updated, resetPaths), schema, ctx);
  } catch (e) {
    // Objects that cannot be typed (duplicate list keys written through update) are not tracked,
    // as upstream logs and drops managedFields in that case.
    if (e instanceof ApplyFailure) return [];
    throw e;
  }
  const changed = union(cmp.modified, cmp.added);
  for (const [mid, m] of managers) {
    const next = difference(difference(m.set, changed), cmp.removed);
    if (isEmpty(next)) managers.delete(mid);
    else managers.set(mid, { ...m, set: next });
  }
  if (!isEmpty(changed)) {
    const m: Manager = {
      manager: opts.manager,
      operation: 'Update',
      apiVersion,
      subresource: opts.subresource ?? '',
      time: opts.now,
      set: changed,
    };
    const id = managerId(m);
    const prev = managers.get(id);
    managers.set(id, prev ? { ...m, set: union(prev.set, changed) } : m);
  }
  capUpdateManagers(managers);
  return encodeManagers(managers);
}

/** The manager of a write without `fieldManager`: the User-Agent up to its first `/`, printable, ≤128 bytes. */
export function managerFromUserAgent(ua: string | undefined): string {
  const prefix = (ua ?? '').split('/')[0]!;
  let out = '';
  let bytes = 0;
  for (const ch of prefix) {
    if (!isPrintable(ch)) continue;
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > fieldManagerMaxLength) break;
    out += ch;
    bytes += n;
  }
  return out;
}

function isPrintable(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

export type OptionsKind = 'CreateOptions' | 'UpdateOptions' | 'PatchOptions';

/**
 * ValidatePatchOptions / ValidateCreateOptions / ValidateUpdateOptions for the fieldManager and
 * force parameters: 422 on `<Kind>.meta.k8s.io ""`.
 */
export function validateManagerOptions(
  kind: OptionsKind,
  opts: { fieldManager?: string | undefined; force?: boolean | undefined; isApply?: boolean },
): void {
  const causes: StatusCause[] = [];
  const fm = opts.fieldManager ?? '';
  if (kind === 'PatchOptions') {
    if (!opts.isApply && opts.force !== undefined) {
      causes.push({
        type: 'FieldValueForbidden',
        field: 'force',
        message: 'Forbidden: may not be specified for non-apply patch',
      });
    }
    if (opts.isApply && fm === '') {
      causes.push({
        type: 'FieldValueRequired',
        field: 'fieldManager',
        message: 'Required value: is required for apply patch',
      });
    }
  }
  if (Buffer.byteLength(fm, 'utf8') > fieldManagerMaxLength) {
    causes.push({
      type: 'FieldValueTooLong',
      field: 'fieldManager',
      message: `Too long: may not be more than ${fieldManagerMaxLength} bytes`,
    });
  }
  let i = 0;
  for (const ch of fm) {
    if (!isPrintable(ch)) {
      const cp = ch.codePointAt(0)!;
      causes.push({
        type: 'FieldValueInvalid',
        field: 'fieldManager',
        message: `Invalid value: ${goQuote(fm)}: invalid character U+${cp.toString(16).toUpperCase().padStart(4, '0')} (at position ${i})`,
      });
    }
    i += Buffer.byteLength(ch, 'utf8');
  }
  if (causes.length > 0) throw errors.invalid(kind, 'meta.k8s.io', '', causes);
}

/** For tests and diagnostics: the FieldsV1 set an applied configuration would own. */
export function appliedFieldSet(
  applied: KubeObject,
  schema: JsonSchema | undefined,
  resolve?: SchemaResolver,
): Record<string, unknown> {
  const ctx: Ctx = { resolve: resolve ?? (() => undefined), builtin: isBuiltinGroup(groupOf(applied.apiVersion)) };
  try {
    return toFieldsV1(toFieldSet(trackedView(applied, []), rootSchema(schema, ctx.resolve), ctx));
  } catch (e) {
    if (e instanceof ApplyFailure) throw new ApiError(500, 'InternalError', e.message);
    throw e;
  }
}
