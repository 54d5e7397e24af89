// The sandbox's schema registry: builtin definitions (generated from client-node into
// builtin-schemas.json, see scripts/gen-openapi-schemas.ts) plus definitions built from served CRD
// versions, named exactly as kube-apiserver names them. Serves the OpenAPI documents, the schema
// lookup strategic merge patch / server-side apply need, and unknown-field detection for
// `fieldValidation=Strict|Warn`.

import { readFileSync } from 'node:fs';
import type { ResourceInfo } from '../api/types.ts';

export type JsonSchema = Record<string, unknown>;

export interface GVK {
  group: string;
  version: string;
  kind: string;
}

export interface SchemaLookup {
  schema: JsonSchema;
  /** resolves `#/components/schemas/X` (or `#/definitions/X`) to its v3 schema */
  resolve: (ref: string) => JsonSchema | undefined;
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const OBJECT_META = `${META}.ObjectMeta`;
export const LIST_META = `${META}.ListMeta`;

const API_VERSION_DOC =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const KIND_DOC =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';
const METADATA_DOC =
  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DOC =
  'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

let builtinCache: Readonly<Record<string, JsonSchema>> | undefined;

/** Builtin definitions, Swagger 2.0 style (`#/definitions/...` refs). Loaded once, never mutated. */
export function builtinDefinitions(): Readonly<Record<string, JsonSchema>> {
  if (!builtinCache) {
    const text = readFileSync(new URL('./builtin-schemas.json', import.meta.url), 'utf8');
    const parsed = JSON.parse(text) as { definitions: Record<string, JsonSchema> };
    builtinCache = deepFreeze(parsed.definitions);
  }
  return builtinCache;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

function gvkKey(g: GVK): string {
  return `${g.group}/${g.version}/${g.kind}`;
}

let builtinGvkIndex: Map<string, string> | undefined;

/** Builtin definition name for a GVK, only for definitions that name exactly one GVK (not Status/WatchEvent lists). */
export function builtinDefinitionName(g: GVK): string | undefined {
  if (!builtinGvkIndex) {
    builtinGvkIndex = new Map();
    for (const [name, def] of Object.entries(builtinDefinitions())) {
      const gvks = def['x-kubernetes-group-version-kind'] as GVK[] | undefined;
      if (gvks?.length === 1) builtinGvkIndex.set(gvkKey(gvks[0]!), name);
    }
  }
  return builtinGvkIndex.get(gvkKey(g));
}

/** kube's CRD definition name: reversed group, version, kind (`io.open-cluster-management.cluster.v1.ManagedCluster`). */
export function crdDefinitionName(group: string, version: string, kind: string): string {
  return [...group.split('.').reverse(), version, kind].join('.');
}

/** The definition name (builtin or CRD-style) a served resource's objects use. */
export function definitionNameFor(r: ResourceInfo): string {
  if (!r.crd) {
    const b = builtinDefinitionName({ group: r.group, version: r.version, kind: r.kind });
    if (b) return b;
  }
  return crdDefinitionName(r.group, r.version, r.kind);
}

export function listDefinitionNameFor(r: ResourceInfo): string {
  if (!r.crd) {
    const b = builtinDefinitionName({ group: r.group, version: r.version, kind: r.listKind });
    if (b) return b;
  }
  return crdDefinitionName(r.group, r.version, r.listKind);
}

/**
 * Definitions (v2 style refs) for one resource that is not covered by the builtin set: a CRD version
 * (schema from `crd.schema`) or an unknown builtin, which gets a permissive schema. Shaped like
 * kube-apiserver's CRD OpenAPI builder: standard apiVersion/kind/metadata fields, GVK extension,
 * and a `<Kind>List` definition.
 */
export function extraDefinitions(r: ResourceInfo): Record<string, JsonSchema> {
  const name = definitionNameFor(r);
  const listName = listDefinitionNameFor(r);
  const out: Record<string, JsonSchema> = {};
  const defs = builtinDefinitions();
  if (!defs[name]) {
    const base: JsonSchema =
      r.crd?.schema && !r.crd.preserveUnknownFields
        ? structuredClone(r.crd.schema)
        : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    const props = { ...((base.properties as Record<string, JsonSchema> | undefined) ?? {}) };
    props.apiVersion = { description: API_VERSION_DOC, type: 'string' };
    props.kind = { description: KIND_DOC, type: 'string' };
    props.metadata = { $ref: `#/definitions/${OBJECT_META}`, description: METADATA_DOC };
    base.properties = props;
    base.type = 'object';
    base['x-kubernetes-group-version-kind'] = [{ group: r.group, kind: r.kind, version: r.version }];
    out[name] = base;
  }
  if (!defs[listName] && (r.crd || r.verbs.includes('list'))) {
    out[listName] = {
      description: `${r.listKind} is a list of ${r.kind}`,
      properties: {
        apiVersion: { description: API_VERSION_DOC, type: 'string' },
        items: {
          description: `List of ${r.resource}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`,
          items: { $ref: `#/definitions/${name}` },
          type: 'array',
        },
        kind: { description: KIND_DOC, type: 'string' },
        metadata: { $ref: `#/definitions/${LIST_META}`, description: LIST_METADATA_DOC },
      },
      required: ['items'],
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group: r.group, kind: r.listKind, version: r.version }],
    };
  }
  return out;
}

/** All definitions (v2 style) for a set of served resources: the builtin set plus CRD/unknown ones. */
export function allDefinitions(resources: readonly ResourceInfo[]): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = { ...builtinDefinitions() };
  for (const r of resources) Object.assign(out, extraDefinitions(r));
  return out;
}

/**
 * Converts a v2-style schema to kube's OpenAPI v3 publishing form: refs point into
 * `#/components/schemas`, and a `$ref` with sibling keywords becomes `allOf: [{$ref}]` (3.0 ignores
 * siblings of `$ref`), which is what kubectl explain expects.
 */
export function toV3(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toV3);
  if (!schema || typeof schema !== 'object') return schema;
  const src = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === '$ref' && typeof v === 'string') continue;
    // enum/default/example values are data, not schemas
    out[k] = k === 'enum' || k === 'default' || k === 'example' ? v : toV3(v);
  }
  const ref = src.$ref;
  if (typeof ref === 'string') {
    const v3ref = ref.replace('#/definitions/', '#/components/schemas/');
    if (Object.keys(out).length === 0) return { $ref: v3ref };
    return { ...out, allOf: [{ $ref: v3ref }] };
  }
  return out;
}

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/**
 * One named definition in v3 form. IntOrString and Quantity differ between kube's v2 and v3
 * publications: v3 gives them `oneOf` types and no `type`, which is why kubectl explain prints
 * `<IntOrString>` / `map[string]Quantity` for fields using them.
 */
export function v3Definition(name: string, def: JsonSchema): JsonSchema {
  if (name === INT_OR_STRING) {
    return { description: def.description, format: 'int-or-string', oneOf: [{ type: 'integer' }, { type: 'string' }] };
  }
  if (name === QUANTITY) return { description: def.description, oneOf: [{ type: 'string' }, { type: 'number' }] };
  return toV3(def) as JsonSchema;
}

/** Names of the definitions `schema` refers to (`#/definitions/X` or `#/components/schemas/X`), transitively. */
export function referencedDefinitions(
  roots: readonly unknown[],
  lookup: (name: string) => JsonSchema | undefined,
): Set<string> {
  const seen = new Set<string>();
  const stack: unknown[] = [...roots];
  while (stack.length) {
    const v = stack.pop();
    if (Array.isArray(v)) {
      stack.push(...(v as unknown[]));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === '$ref' && typeof x === 'string') {
          const name = refName(x);
          if (name && !seen.has(name)) {
            seen.add(name);
            const def = lookup(name);
            if (def) stack.push(def);
          }
        } else if (k !== 'enum' && k !== 'default' && k !== 'example') {
          stack.push(x);
        }
      }
    }
  }
  return seen;
}

export function refName(ref: string): string | undefined {
  for (const p of ['#/definitions/', '#/components/schemas/']) if (ref.startsWith(p)) return ref.slice(p.length);
  return undefined;
}

/**
 * The v3 schema of a kind plus a resolver for its refs. Builtins first; CRD-backed kinds come from
 * `resources` (the currently served set).
 */
export function schemaForKind(
  group: string,
  version: string,
  kind: string,
  resources: readonly ResourceInfo[] = [],
): SchemaLookup | undefined {
  const crd = resources.find((r) => r.crd && r.group === group && r.version === version && r.kind === kind);
  const defs = builtinDefinitions();
  let name: string | undefined;
  let extra: Record<string, JsonSchema> = {};
  if (crd) {
    extra = extraDefinitions(crd);
    name = definitionNameFor(crd);
  } else {
    name = builtinDefinitionName({ group, version, kind });
  }
  if (!name) return undefined;
  const v3cache = new Map<string, JsonSchema>();
  const resolve = (ref: string): JsonSchema | undefined => {
    const n = refName(ref) ?? ref;
    const hit = v3cache.get(n);
    if (hit) return hit;
    const def = extra[n] ?? defs[n];
    if (!def) return undefined;
    const v3 = v3Definition(n, def);
    v3cache.set(n, v3);
    return v3;
  };
  const schema = resolve(name);
  return schema ? { schema, resolve } : undefined;
}

// ---- unknown fields --------------------------------------------------------------------------------

type Resolve = (ref: string) => JsonSchema | undefined;

interface Resolved {
  schema: JsonSchema;
  /** reached through a `$ref` to a named definition (Go struct): no properties means opaque, not closed */
  named: boolean;
}

/** Follows `$ref` and single-`allOf` indirections, overlaying sibling keywords like OpenAPI v3 readers do. */
function deref(schema: JsonSchema, resolve: Resolve): Resolved {
  let s = schema;
  let named = false;
  for (let depth = 0; depth < 32; depth++) {
    const ref = typeof s.$ref === 'string' ? s.$ref : undefined;
    const allOf = Array.isArray(s.allOf) ? (s.allOf as JsonSchema[]) : undefined;
    const inner = ref ?? (allOf?.length === 1 && typeof allOf[0]!.$ref === 'string' ? allOf[0]!.$ref : undefined);
    if (!inner) break;
    const target = resolve(inner);
    if (!target) break;
    const { $ref: _r, allOf: _a, ...siblings } = s;
    s = { ...target, ...siblings };
    named = true;
  }
  return { schema: s, named };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/**
 * JSON paths (`.spec.foo`, `.spec.containers[0].bar`) of fields in `obj` that `schema` does not
 * declare, as kube-apiserver reports for `fieldValidation=Strict|Warn`. Honors
 * `additionalProperties`, `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-embedded-resource`
 * and int-or-string; named definitions without properties (RawExtension, FieldsV1…) are opaque.
 */
export function unknownFields(obj: unknown, schema: JsonSchema, resolve: Resolve): string[] {
  const out: string[] = [];
  walk(obj, schema, resolve, '', out, false);
  return out;
}

function walk(value: unknown, raw: JsonSchema, resolve: Resolve, path: string, out: string[], topLevel: boolean): void {
  if (value === null || value === undefined) return;
  const { schema, named } = deref(raw, resolve);
  if (schema['x-kubernetes-int-or-string'] === true || schema.format === 'int-or-string') return;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (Array.isArray(value)) {
    const items = schema.items;
    if (isPlainObject(items))
      value.forEach((v, i) => {
        walk(v, items, resolve, `${path}[${i}]`, out, false);
      });
    return;
  }
  if (!isPlainObject(value)) return;
  const props = isPlainObject(schema.properties) ? (schema.properties as Record<string, JsonSchema>) : undefined;
  const additional = schema.additionalProperties;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  if (!props && additional === undefined && !embedded) {
    // a Go struct kube publishes without properties (RawExtension, FieldsV1, JSON) accepts anything;
    // an inline structural schema (CRD) without properties prunes everything unless preserved
    if (named || preserve || schema.type !== 'object') return;
  }
  for (const [k, v] of Object.entries(value)) {
    const p = `${path}.${k}`;
    const ps = props?.[k];
    if (ps) {
      walk(v, ps, resolve, p, out, false);
    } else if (embedded && (k === 'apiVersion' || k === 'kind')) {
      continue;
    } else if (embedded && k === 'metadata') {
      const meta = resolve(`#/components/schemas/${OBJECT_META}`);
      if (meta) walk(v, meta, resolve, p, out, false);
    } else if (topLevel && (k === 'apiVersion' || k === 'kind')) {
      continue;
    } else if (isPlainObject(additional)) {
      walk(v, additional, resolve, p, out, false);
    } else if (additional === true || preserve) {
      continue;
    } else {
      out.push(p);
    }
  }
}

/** unknownFields for a whole object: apiVersion/kind are always accepted at the top. */
export function unknownObjectFields(obj: unknown, lookup: SchemaLookup): string[] {
  const out: string[] = [];
  walk(obj, lookup.schema, lookup.resolve, '', out, true);
  return out;
}
