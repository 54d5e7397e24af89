// Navigation of OpenAPI v3 schemas as Kubernetes serves them (`$ref` to `#/components/schemas/...`,
// `allOf: [{$ref}]` wrappers, `properties`, `items`, `additionalProperties`) and extraction of the
// merge metadata strategic merge patch and server-side apply need (`x-kubernetes-patch-*`,
// `x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`). Missing schema
// is normal (custom resources without one, preserved unknown fields): callers fall back to
// "deduced" behaviour, i.e. maps merge and lists are atomic.

export type JsonSchema = Record<string, unknown>;
export type SchemaResolver = (ref: string) => JsonSchema | undefined;

export interface SchemaCtx {
  schema: JsonSchema | undefined;
  resolve: SchemaResolver;
}

function isSchema(v: unknown): v is JsonSchema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Follow `$ref` and single-element `allOf` wrappers; extension keys on the wrapper (which is where
 * kube puts `x-kubernetes-patch-strategy` for a property) win over the referenced schema's.
 */
export function resolveSchema(s: JsonSchema | undefined, resolve: SchemaResolver, depth = 0): JsonSchema | undefined {
  if (!s || depth > 32) return s;
  let target: JsonSchema | undefined;
  if (typeof s.$ref === 'string') target = resolve(s.$ref);
  else if (Array.isArray(s.allOf) && s.allOf.length > 0) {
    const parts = (s.allOf as unknown[]).filter(isSchema).map((p) => resolveSchema(p, resolve, depth + 1));
    target = Object.assign({}, ...parts.filter((p): p is JsonSchema => p !== undefined)) as JsonSchema;
  }
  if (!target) return s;
  const resolved = resolveSchema(target, resolve, depth + 1) ?? {};
  const merged: JsonSchema = { ...resolved };
  for (const [k, v] of Object.entries(s)) {
    if (k !== '$ref' && k !== 'allOf') merged[k] = v;
  }
  return merged;
}

/** Schema of a map entry: declared property first, else `additionalProperties`. */
export function propertySchema(
  s: JsonSchema | undefined,
  name: string,
  resolve: SchemaResolver,
): JsonSchema | undefined {
  const r = resolveSchema(s, resolve);
  if (!r) return undefined;
  const props = r.properties;
  if (isSchema(props) && isSchema(props[name])) return resolveSchema(props[name], resolve);
  if (isSchema(r.additionalProperties)) return resolveSchema(r.additionalProperties, resolve);
  return undefined;
}

/** True when `name` is a declared struct field rather than an entry of a free-form map. */
export function isDeclaredProperty(s: JsonSchema | undefined, name: string, resolve: SchemaResolver): boolean {
  const r = resolveSchema(s, resolve);
  return !!r && isSchema(r.properties) && Object.hasOwn(r.properties, name);
}

/** Whether the schema describes a struct with declared properties (vs. a free-form map / unknown). */
export function hasProperties(s: JsonSchema | undefined, resolve: SchemaResolver): boolean {
  const r = resolveSchema(s, resolve);
  return !!r && isSchema(r.properties) && Object.keys(r.properties).length > 0;
}

export function itemsSchema(s: JsonSchema | undefined, resolve: SchemaResolver): JsonSchema | undefined {
  const r = resolveSchema(s, resolve);
  if (!r || !isSchema(r.items)) return undefined;
  return resolveSchema(r.items, resolve);
}

export interface PatchMeta {
  /** `merge`, `replace`, `retainKeys` (comma-separated upstream) */
  strategies: string[];
  mergeKey: string;
}

export function patchMeta(s: JsonSchema | undefined, resolve: SchemaResolver): PatchMeta {
  const r = resolveSchema(s, resolve);
  const strategy = typeof r?.['x-kubernetes-patch-strategy'] === 'string' ? r['x-kubernetes-patch-strategy'] : '';
  const mergeKey = typeof r?.['x-kubernetes-patch-merge-key'] === 'string' ? r['x-kubernetes-patch-merge-key'] : '';
  return { strategies: strategy ? strategy.split(',') : [], mergeKey };
}

export type ListType = { type: 'atomic' } | { type: 'set' } | { type: 'map'; keys: string[] };

/**
 * How server-side apply treats a list: `x-kubernetes-list-type` when present; otherwise, as kube's
 * OpenAPI → structured-merge-diff conversion does, a `merge` patch strategy makes it associative
 * (keyed by the merge key) or a set (primitives), and anything else is atomic.
 */
export function listType(s: JsonSchema | undefined, resolve: SchemaResolver): ListType {
  const r = resolveSchema(s, resolve);
  const lt = r?.['x-kubernetes-list-type'];
  if (lt === 'set') return { type: 'set' };
  if (lt === 'map') {
    const keys = r?.['x-kubernetes-list-map-keys'];
    if (Array.isArray(keys) && keys.every((k) => typeof k === 'string') && keys.length > 0) {
      return { type: 'map', keys };
    }
  }
  if (lt === 'atomic') return { type: 'atomic' };
  const pm = patchMeta(r, resolve);
  if (pm.strategies.includes('merge')) {
    return pm.mergeKey ? { type: 'map', keys: [pm.mergeKey] } : { type: 'set' };
  }
  return { type: 'atomic' };
}

export function isAtomicMap(s: JsonSchema | undefined, resolve: SchemaResolver): boolean {
  const r = resolveSchema(s, resolve);
  return r?.['x-kubernetes-map-type'] === 'atomic';
}
