// The three PATCH flavours kube-apiserver accepts besides apply: JSON patch (RFC 6902, with the
// quirks and messages of the evanphx/json-patch v4 library kube uses), JSON merge patch (RFC 7386)
// and strategic merge patch driven by the served OpenAPI v3 schema. Errors carry the status codes
// kube's patch handler maps them to: undecodable patches 400, failed JSON patch operations 422
// (`the server rejected our request due to an error in our request`), malformed strategic-merge
// directives 400/422, and anything strategicpatch reports unclassified as a 500.

import { ApiError, errors } from '../errors/status.ts';
import { deepClone, deepEqual, goFormat, isObject, type JsonObject } from './json.ts';
import { itemsSchema, patchMeta, propertySchema, type JsonSchema, type SchemaResolver } from './schema.ts';

export type { JsonSchema, SchemaResolver } from './schema.ts';

/** kube-apiserver's maxJSONPatchOperations */
export const maxJsonPatchOperations = 10000;

// --- JSON patch (RFC 6902) ---

class OpError extends Error {}

/** errors.NewGenericServerResponse(422, ...) as kube's patch handler builds it. */
function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
    group: '',
    kind: '',
    name: '',
    causes: [{ type: 'UnexpectedServerResponse', message }],
  });
}

function goJsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (isObject(v)) return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

function decodePointerToken(t: string): string {
  return t.replaceAll('~1', '/').replaceAll('~0', '~');
}

function atoi(key: string): number {
  if (!/^[+-]?[0-9]+$/.test(key)) throw new OpError(`strconv.Atoi: parsing "${key}": invalid syntax`);
  const n = Number(key);
  if (!Number.isSafeInteger(n)) throw new OpError(`strconv.Atoi: parsing "${key}": value out of range`);
  return n;
}

const missing = 'missing value';
const invalidIndex = (idx: number): OpError =>
  new OpError(`Unable to access invalid index: ${idx}: invalid index referenced`);

type Container = JsonObject | unknown[];

function containerGet(c: Container, key: string): unknown {
  if (Array.isArray(c)) {
    let idx = atoi(key);
    if (idx < 0) {
      if (idx < -c.length) throw invalidIndex(idx);
      idx += c.length;
    }
    if (idx >= c.length) throw invalidIndex(idx);
    return c[idx];
  }
  if (!Object.hasOwn(c, key)) throw new OpError(`unable to get nonexistent key: ${key}: ${missing}`);
  return c[key];
}

function containerAdd(c: Container, key: string, v: unknown): void {
  if (!Array.isArray(c)) {
    c[key] = v;
    return;
  }
  if (key === '-') {
    c.push(v);
    return;
  }
  let idx: number;
  try {
    idx = atoi(key);
  } catch (e) {
    throw new OpError(`value was not a proper array index: '${key}': ${(e as Error).message}`);
  }
  const size = c.length + 1;
  if (idx >= size) throw invalidIndex(idx);
  if (idx < 0) {
    if (idx < -size) throw invalidIndex(idx);
    idx += size;
  }
  c.splice(idx, 0, v);
}

function containerSet(c: Container, key: string, v: unknown): void {
  if (!Array.isArray(c)) {
    c[key] = v;
    return;
  }
  let idx = atoi(key);
  if (idx < 0) idx += c.length;
  c[idx] = v;
}

function containerRemove(c: Container, key: string): void {
  if (!Array.isArray(c)) {
    if (!Object.hasOwn(c, key)) throw new OpError(`Unable to remove nonexistent key: ${key}: ${missing}`);
    delete c[key];
    return;
  }
  let idx = atoi(key);
  if (idx >= c.length) throw invalidIndex(idx);
  if (idx < 0) {
    if (idx < -c.length) throw invalidIndex(idx);
    idx += c.length;
  }
  c.splice(idx, 1);
}

/** findObject: the container holding the pointer's last token, or undefined. */
function findObject(root: { doc: unknown }, path: string): [Container, string] | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  // upstream ignores whatever precedes the first '/', so `a/b` addresses `/b`
  const parts = split.slice(1, -1);
  const key = decodePointerToken(split[split.length - 1]!);
  let cur: unknown = root.doc;
  for (const part of parts) {
    if (!isObject(cur) && !Array.isArray(cur)) return undefined;
    let next: unknown;
    try {
      next = containerGet(cur, decodePointerToken(part));
    } catch {
      return undefined;
    }
    if (next === null || next === undefined) return undefined;
    cur = next;
  }
  if (!isObject(cur) && !Array.isArray(cur)) return undefined;
  return [cur, key];
}

type Field = { ok: true; value: string } | { ok: false; err: string };

function stringField(op: JsonObject, name: 'path' | 'from'): Field {
  const v = op[name];
  if (v === undefined || v === null) {
    return {
      ok: false,
      err: name === 'path' ? `operation missing path field: ${missing}` : `operation, missing from field: ${missing}`,
    };
  }
  if (typeof v !== 'string')
    return { ok: false, err: `json: cannot unmarshal ${goJsonKind(v)} into Go value of type string` };
  return { ok: true, value: v };
}

function applyOp(root: { doc: unknown }, op: JsonObject): void {
  const kind = typeof op.op === 'string' ? op.op : 'unknown';
  const value = Object.hasOwn(op, 'value') ? deepClone(op.value) : undefined;
  switch (kind) {
    case 'add': {
      const p = stringField(op, 'path');
      if (!p.ok) throw new OpError(`add operation failed to decode path: ${missing}`);
      const found = findObject(root, p.value);
      if (!found) throw new OpError(`add operation does not apply: doc is missing path: "${p.value}": ${missing}`);
      try {
        containerAdd(found[0], found[1], value ?? null);
      } catch (e) {
        throw new OpError(`error in add for path: '${p.value}': ${(e as Error).message}`);
      }
      return;
    }
    case 'remove': {
      const p = stringField(op, 'path');
      if (!p.ok) throw new OpError(`remove operation failed to decode path: ${missing}`);
      const found = findObject(root, p.value);
      if (!found) throw new OpError(`remove operation does not apply: doc is missing path: "${p.value}": ${missing}`);
      try {
        containerRemove(found[0], found[1]);
      } catch (e) {
        throw new OpError(`error in remove for path: '${p.value}': ${(e as Error).message}`);
      }
      return;
    }
    case 'replace': {
      const p = stringField(op, 'path');
      if (!p.ok) throw new OpError(`replace operation failed to decode path: ${p.err}`);
      const found = findObject(root, p.value);
      if (!found) throw new OpError(`replace operation does not apply: doc is missing path: ${p.value}: ${missing}`);
      try {
        containerGet(found[0], found[1]);
      } catch {
        throw new OpError(`replace operation does not apply: doc is missing key: ${p.value}: ${missing}`);
      }
      containerSet(found[0], found[1], value ?? null);
      return;
    }
    case 'move':
    case 'copy': {
      const f = stringField(op, 'from');
      if (!f.ok) throw new OpError(`${kind} operation failed to decode from: ${f.err}`);
      const src = findObject(root, f.value);
      if (!src) throw new OpError(`${kind} operation does not apply: doc is missing from path: ${f.value}: ${missing}`);
      let val: unknown;
      try {
        val = containerGet(src[0], src[1]);
        if (kind === 'move') containerRemove(src[0], src[1]);
      } catch (e) {
        const where = kind === 'move' ? `error in move for path: '${src[1]}'` : `error in copy for from: '${f.value}'`;
        throw new OpError(`${where}: ${(e as Error).message}`);
      }
      const p = stringField(op, 'path');
      if (!p.ok)
        throw new OpError(
          kind === 'move'
            ? `move operation failed to decode path: ${p.err}`
            : `copy operation failed to decode path: ${missing}`,
        );
      const dst = findObject(root, p.value);
      if (!dst)
        throw new OpError(`${kind} operation does not apply: doc is missing destination path: ${p.value}: ${missing}`);
      try {
        containerAdd(dst[0], dst[1], kind === 'copy' ? deepClone(val) : val);
      } catch (e) {
        const where = kind === 'move' ? `error in move for path: '${p.value}'` : 'error while adding value during copy';
        throw new OpError(`${where}: ${(e as Error).message}`);
      }
      return;
    }
    case 'test': {
      const p = stringField(op, 'path');
      if (!p.ok) throw new OpError(`test operation failed to decode path: ${p.err}`);
      const found = findObject(root, p.value);
      if (!found) throw new OpError(`test operation does not apply: is missing path: ${p.value}: ${missing}`);
      let val: unknown;
      try {
        val = containerGet(found[0], found[1]);
      } catch (e) {
        throw new OpError(`error in test for path: '${p.value}': ${(e as Error).message}`);
      }
      if (value === undefined || !deepEqual(val, value))
        throw new OpError(`testing value ${p.value} failed: test failed`);
      return;
    }
    default:
      throw new OpError(`Unexpected kind: ${kind}`);
  }
}

/**
 * RFC 6902 JSON patch. `patch` is the decoded request body. Undecodable → 400, too many
 * operations → 413, a failing operation → 422 with the library's message as the cause.
 */
export function applyJsonPatch(doc: unknown, patch: unknown): unknown {
  if (patch === null) return deepClone(doc);
  if (!Array.isArray(patch)) {
    throw errors.badRequest(`json: cannot unmarshal ${goJsonKind(patch)} into Go value of type jsonpatch.Patch`);
  }
  for (const op of patch) {
    if (op !== null && !isObject(op)) {
      throw errors.badRequest(`json: cannot unmarshal ${goJsonKind(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  if (patch.length > maxJsonPatchOperations) {
    throw errors.tooLarge(
      `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${patch.length}`,
    );
  }
  const root = { doc: deepClone(doc) };
  for (const op of patch as (JsonObject | null)[]) {
    try {
      applyOp(root, op ?? {});
    } catch (e) {
      if (e instanceof OpError) throw unprocessable(e.message);
      throw e;
    }
  }
  return root.doc;
}

// --- JSON merge patch (RFC 7386) ---

function pruneNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneNulls);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = pruneNulls(x);
    return out;
  }
  return v;
}

function mergeDocs(doc: JsonObject, patch: JsonObject): JsonObject {
  for (const [k, pv] of Object.entries(patch)) {
    if (pv === null) {
      delete doc[k];
      continue;
    }
    const cur = doc[k];
    if (isObject(cur) && isObject(pv)) doc[k] = mergeDocs(cur, pv);
    else doc[k] = pruneNulls(deepClone(pv));
  }
  return doc;
}

/** RFC 7386: objects merge recursively, `null` deletes, everything else replaces. */
export function applyMergePatch(doc: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return deepClone(patch);
  const base = isObject(doc) ? deepClone(doc) : {};
  return mergeDocs(base, patch);
}

// --- strategic merge patch ---

const directiveMarker = '$patch';
const retainKeysDirective = '$retainKeys';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList';
const setElementOrderPrefix = '$setElementOrder';

// mergepatch sentinel errors, classified as kube's interpretStrategicMergePatchError does
const errBadPatchFormatForPrimitiveList = (): ApiError => errors.badRequest('invalid patch format of primitive list');
const errBadPatchFormatForRetainKeys = (): ApiError => errors.badRequest('invalid patch format of retainKeys');
const errBadPatchFormatForSetElementOrderList = (): ApiError =>
  errors.badRequest('invalid patch format of setElementOrder list');
const errNoListOfLists = (): ApiError => unprocessable('lists of lists are not supported');
/** Unclassified strategicpatch errors reach the client as a 500 carrying the raw message. */
function internal(message: string): ApiError {
  return new ApiError(500, 'InternalError', message);
}
const errNoMergeKey = (m: unknown, k: string): ApiError =>
  internal(`map: ${goFormat(m)} does not contain declared merge key: ${k}`);
const errBadPatchType = (t: unknown, m: unknown): ApiError =>
  internal(`unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`);

function goKind(v: unknown): string {
  if (Array.isArray(v)) return 'slice';
  if (isObject(v)) return 'map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (v === null || v === undefined) return 'invalid';
  return 'string';
}
const errBadArgType = (expected: string, actual: unknown): ApiError =>
  internal(`expected a ${expected}, but received a ${goKind(actual)}`);

interface Strategy {
  strategy: string;
  mergeKey: string;
}

function fieldStrategy(fieldSchema: JsonSchema | undefined, resolve: SchemaResolver): Strategy {
  const pm = patchMeta(fieldSchema, resolve);
  const others = pm.strategies.filter((s) => s !== 'retainKeys');
  if (others.length > 1 || (pm.strategies.length === 2 && others.length === 2)) {
    throw internal(`unexpected patch strategy: ${pm.strategies.join(',')}`);
  }
  return { strategy: others[0] ?? '', mergeKey: pm.mergeKey };
}

type ElemKind = 'map' | 'primitive';

function typeTag(v: unknown): string {
  if (Array.isArray(v)) return 'slice';
  if (isObject(v)) return 'map';
  if (v === null) return 'null';
  return typeof v;
}

/** sliceElementType: all elements of all lists share one type, and it is not a list. */
function sliceElementKind(...lists: unknown[][]): ElemKind {
  let prev: string | undefined;
  for (const l of lists) {
    for (const v of l) {
      const t = typeTag(v);
      if (prev === undefined) {
        prev = t;
        if (t === 'slice') throw errNoListOfLists();
      } else if (prev !== t) {
        throw internal(`list element types are not identical: ${goFormat(lists)}`);
      }
    }
  }
  if (prev === undefined) throw internal('no elements in any of the given slices');
  return prev === 'map' ? 'map' : 'primitive';
}

function keyOf(item: unknown, mergeKey: string, kind: ElemKind): unknown {
  if (kind !== 'map') return item;
  return isObject(item) ? item[mergeKey] : undefined;
}

function indexIn(list: unknown[], item: unknown, mergeKey: string, kind: ElemKind): number {
  const k = keyOf(item, mergeKey, kind);
  return list.findIndex((x) => keyOf(x, mergeKey, kind) === k);
}

function findByKey(list: unknown[], mergeKey: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isObject(v)) throw internal(`value for key ${i} is not a map.`);
    if (Object.hasOwn(v, mergeKey) && v[mergeKey] === value) return i;
  }
  return -1;
}

function isDeleteItem(v: unknown): boolean {
  return isObject(v) && v[directiveMarker] === 'delete';
}

/** Go's sort.SliceStable with upstream's comparator (insertion sort: exact for short lists). */
function stableSortByOrder(toSort: unknown[], order: unknown[], mergeKey: string, kind: ElemKind): unknown[] {
  const a = [...toSort];
  const less = (x: unknown, y: unknown): boolean => {
    const ix = indexIn(order, x, mergeKey, kind);
    if (ix >= 0) {
      const iy = indexIn(order, y, mergeKey, kind);
      if (iy >= 0) return ix < iy;
    }
    return true;
  };
  for (let i = 1; i < a.length; i++) {
    for (let j = i; j > 0 && less(a[j], a[j - 1]); j--) [a[j], a[j - 1]] = [a[j - 1], a[j]];
  }
  return a;
}

function normalizeSliceOrder(toSort: unknown[], order: unknown[], mergeKey: string, kind: ElemKind): unknown[] {
  let keep = toSort;
  let toDelete: unknown[] = [];
  if (kind === 'map') {
    for (const list of [toSort, order]) {
      for (const item of list) {
        if (!isObject(item)) throw errBadArgType('map', item);
        if (!Object.hasOwn(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      }
    }
    keep = toSort.filter((x) => !isDeleteItem(x));
    toDelete = toSort.filter(isDeleteItem);
  }
  return [...stableSortByOrder(keep, order, mergeKey, kind), ...toDelete];
}

/** Merge two sorted lists: server-only items stay ahead of patch items they preceded on the server. */
function mergeSortedSlice(
  left: unknown[],
  right: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: ElemKind,
): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, kind);
      const ri = indexIn(serverOrder, right[j], mergeKey, kind);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function normalizeElementOrder(
  patchItems: unknown[],
  serverOnly: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
  kind: ElemKind,
): unknown[] {
  const p = normalizeSliceOrder(patchItems, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, kind);
}

function partition(merged: unknown[], by: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [];
  const serverOnly: unknown[] = [];
  for (const v of merged) {
    let found: boolean;
    if (mergeKey) {
      if (!isObject(v)) throw errBadArgType('map', v);
      if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
      found = findByKey(by, mergeKey, v[mergeKey]) >= 0;
    } else {
      found = by.some((x) => x === v);
    }
    (found ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

class Smp {
  readonly resolve: SchemaResolver;
  constructor(resolve: SchemaResolver) {
    this.resolve = resolve;
  }

  mergeMap(original: JsonObject, patch: JsonObject, schema: JsonSchema | undefined): JsonObject {
    if (Object.hasOwn(patch, directiveMarker)) {
      const directive = patch[directiveMarker];
      if (directive === 'replace') {
        const rest = { ...patch };
        delete rest[directiveMarker];
        // upstream returns the rest verbatim; running it through a merge into {} drops nulls and
        // nested directives that would otherwise leak into the stored object
        return this.mergeMap({}, rest, schema);
      }
      if (directive === 'delete') return {};
      throw errBadPatchType(directive, patch);
    }
    const p = { ...patch };
    this.applyRetainKeys(original, p);
    this.mergeSetElementOrder(original, p, schema);

    const deleteLists: string[] = [];
    for (const k of Object.keys(p)) {
      if (k.startsWith(deleteFromPrimitiveListPrefix)) {
        deleteLists.push(k);
        continue;
      }
      this.mergeKey(original, k, p[k], schema, false);
    }
    for (const k of deleteLists) {
      const key = extractKey(k, deleteFromPrimitiveListPrefix);
      this.mergeKey(original, key, p[k], schema, true);
    }
    return original;
  }

  private mergeKey(
    original: JsonObject,
    k: string,
    patchV: unknown,
    schema: JsonSchema | undefined,
    isDeleteList: boolean,
  ): void {
    if (patchV === null) {
      delete original[k];
      return;
    }
    const fieldSchema = propertySchema(schema, k, this.resolve);
    const orig = original[k];
    if (!Object.hasOwn(original, k) || orig === null || orig === undefined) {
      if (isDeleteList) return;
      original[k] = this.fresh(patchV, fieldSchema);
      return;
    }
    if (isObject(orig) && isObject(patchV)) {
      const { strategy } = fieldStrategy(fieldSchema, this.resolve);
      original[k] = strategy === 'replace' ? this.fresh(patchV, fieldSchema) : this.mergeMap(orig, patchV, fieldSchema);
      return;
    }
    if (Array.isArray(orig) && Array.isArray(patchV)) {
      const { strategy, mergeKey } = fieldStrategy(fieldSchema, this.resolve);
      original[k] = this.mergeSliceHandler(orig, patchV, fieldSchema, strategy, mergeKey, isDeleteList);
      return;
    }
    if (isDeleteList) return;
    original[k] = deepClone(patchV);
  }

  /** A value for a key the original lacks: directives are processed against an empty value. */
  private fresh(v: unknown, fieldSchema: JsonSchema | undefined): unknown {
    if (isObject(v)) return this.mergeMap({}, v, fieldSchema);
    if (Array.isArray(v)) {
      const { strategy, mergeKey } = fieldStrategy(fieldSchema, this.resolve);
      return strategy === 'merge'
        ? this.mergeSliceHandler([], v, fieldSchema, strategy, mergeKey, false)
        : deepClone(v);
    }
    return deepClone(v);
  }

  private mergeSliceHandler(
    original: unknown[],
    patch: unknown[],
    fieldSchema: JsonSchema | undefined,
    strategy: string,
    mergeKey: string,
    isDeleteList: boolean,
  ): unknown[] {
    if (strategy !== 'merge') return deepClone(patch);
    return this.mergeSlice(original, patch, itemsSchema(fieldSchema, this.resolve), mergeKey, isDeleteList);
  }

  private mergeSlice(
    original: unknown[],
    patch: unknown[],
    itemSchema: JsonSchema | undefined,
    mergeKey: string,
    isDeleteList: boolean,
  ): unknown[] {
    if (original.length === 0 && patch.length === 0) return [];
    const kind = sliceElementKind(original, patch);
    let merged: unknown[];
    let orig = original;
    let pat = patch;
    if (kind !== 'map') {
      if (isDeleteList) return original.filter((v) => !patch.some((d) => d === v));
      merged = [];
      for (const v of [...original, ...patch]) if (!merged.some((m) => m === v)) merged.push(v);
    } else {
      if (!mergeKey) throw internal('cannot merge lists without merge key for type map');
      [orig, pat] = this.mergeSliceWithSpecialElements(original, patch, mergeKey, itemSchema);
      merged = this.mergeSliceWithoutSpecialElements(orig, pat, mergeKey, itemSchema);
      // upstream merges into `orig` in place, so its order list sees merged items at their old positions
      orig = merged.slice(0, orig.length);
    }
    const [patchItems, serverOnly] = partition(merged, pat, kind === 'map' ? mergeKey : '');
    return normalizeElementOrder(patchItems, serverOnly, pat, orig, mergeKey, kind);
  }

  private mergeSliceWithSpecialElements(
    original: unknown[],
    patch: unknown[],
    mergeKey: string,
    itemSchema: JsonSchema | undefined,
  ): [unknown[], unknown[]] {
    const plain: unknown[] = [];
    let replace = false;
    let orig = original;
    for (const v of patch) {
      if (!isObject(v) || !Object.hasOwn(v, directiveMarker)) {
        plain.push(v);
        continue;
      }
      const directive = v[directiveMarker];
      if (directive === 'delete') {
        if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
        const value = v[mergeKey];
        orig = orig.filter((x) => !(isObject(x) && Object.hasOwn(x, mergeKey) && x[mergeKey] === value));
      } else if (directive === 'replace') {
        replace = true;
      } else if (directive === 'merge') {
        throw internal('merging lists cannot yet be specified in the patch');
      } else {
        throw errBadPatchType(directive, v);
      }
    }
    if (replace) return [plain.map((x) => (isObject(x) ? this.mergeMap({}, x, itemSchema) : x)), []];
    return [orig, plain];
  }

  private mergeSliceWithoutSpecialElements(
    original: unknown[],
    patch: unknown[],
    mergeKey: string,
    itemSchema: JsonSchema | undefined,
  ): unknown[] {
    const out = [...original];
    for (const v of patch) {
      if (!isObject(v)) throw errBadArgType('map', v);
      if (!Object.hasOwn(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
      const idx = findByKey(out, mergeKey, v[mergeKey]);
      if (idx >= 0) out[idx] = this.mergeMap(deepClone(out[idx]) as JsonObject, v, itemSchema);
      else out.push(this.mergeMap({}, v, itemSchema));
    }
    return out;
  }

  private applyRetainKeys(original: JsonObject, patch: JsonObject): void {
    if (!Object.hasOwn(patch, retainKeysDirective)) return;
    const list = patch[retainKeysDirective];
    delete patch[retainKeysDirective];
    if (!Array.isArray(list)) throw errBadPatchFormatForRetainKeys();
    const keep = new Set(list);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || k.startsWith(deleteFromPrimitiveListPrefix) || k.startsWith(setElementOrderPrefix)) continue;
      if (!keep.has(k)) throw errBadPatchFormatForRetainKeys();
    }
    for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
  }

  private mergeSetElementOrder(original: JsonObject, patch: JsonObject, schema: JsonSchema | undefined): void {
    for (const key of Object.keys(patch)) {
      if (!key.startsWith(setElementOrderPrefix)) continue;
      const order = patch[key];
      delete patch[key];
      if (!Array.isArray(order)) throw errBadArgType('slice', order);
      const originalKey = extractKey(key, setElementOrderPrefix);
      const foundOriginal = Object.hasOwn(original, originalKey) && original[originalKey] !== null;
      const foundPatch = Object.hasOwn(patch, originalKey) && patch[originalKey] !== null;
      const originalList = foundOriginal ? original[originalKey] : [];
      const patchList = foundPatch ? patch[originalKey] : [];
      if (!Array.isArray(originalList)) throw errBadArgType('slice', originalList);
      if (!Array.isArray(patchList)) throw errBadArgType('slice', patchList);
      const fieldSchema = propertySchema(schema, originalKey, this.resolve);
      const { strategy, mergeKey } = fieldStrategy(fieldSchema, this.resolve);
      validatePatchWithSetOrderList(patchList, order, mergeKey);
      let merged: unknown[];
      if (foundOriginal && !foundPatch) merged = originalList;
      else if (!foundOriginal && foundPatch)
        merged = this.mergeSliceHandler([], patchList, fieldSchema, strategy, mergeKey, false);
      else if (foundOriginal && foundPatch) {
        merged = this.mergeSliceHandler(originalList, patchList, fieldSchema, strategy, mergeKey, false);
      } else continue;
      const [patchItems, serverOnly] = partition(merged, order, mergeKey);
      const kind = sliceElementKind(originalList, patchList);
      original[originalKey] = normalizeElementOrder(patchItems, serverOnly, order, originalList, mergeKey, kind);
      delete patch[originalKey];
    }
  }
}

function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    throw prefix === deleteFromPrimitiveListPrefix
      ? errBadPatchFormatForPrimitiveList()
      : errBadPatchFormatForSetElementOrderList();
  }
  return s.slice(slash + 1);
}

function validatePatchWithSetOrderList(patchList: unknown[], order: unknown[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey ? patchList.filter((v) => !isDeleteItem(v)) : patchList;
  if (mergeKey) for (const v of patchList) if (!isObject(v)) throw errBadArgType('map', v);
  let pi = 0;
  let si = 0;
  while (pi < nonDelete.length && si < order.length) {
    const pv = nonDelete[pi];
    if (isObject(pv) && Object.hasOwn(pv, directiveMarker)) {
      pi++;
      continue;
    }
    let equal: boolean;
    if (!mergeKey) equal = pv === order[si];
    else {
      const ov = order[si];
      if (!isObject(pv)) throw errBadArgType('map', pv);
      if (!isObject(ov)) throw errBadArgType('map', ov);
      if (!Object.hasOwn(pv, mergeKey)) throw errNoMergeKey(pv, mergeKey);
      if (!Object.hasOwn(ov, mergeKey)) throw errNoMergeKey(ov, mergeKey);
      equal = pv[mergeKey] === ov[mergeKey];
    }
    if (equal) pi++;
    si++;
  }
  if (pi < nonDelete.length && si >= order.length) {
    throw internal(
      `The order in patch list:\n${goFormat(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${goFormat(order)}\n`,
    );
  }
}

/**
 * Strategic merge patch (k8s.io/apimachinery/pkg/util/strategicpatch) with merge metadata read from
 * the OpenAPI v3 schema of the patched object. Without a schema it degrades to merge-patch semantics
 * (maps merge, lists replace) while still honouring the `$patch`/`$retainKeys`/... directives.
 */
export function applyStrategicMergePatch(
  doc: unknown,
  patch: unknown,
  schema: JsonSchema | undefined,
  resolve: SchemaResolver,
): unknown {
  if (!isObject(patch)) {
    throw errors.badRequest(
      `json: cannot unmarshal ${goJsonKind(patch)} into Go value of type map[string]interface {}`,
    );
  }
  const base = isObject(doc) ? deepClone(doc) : {};
  return new Smp(resolve).mergeMap(base, deepClone(patch), schema);
}
