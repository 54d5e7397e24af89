// Decoding of the small request bodies the auth endpoints accept (TokenRequest, TokenReview, the
// access reviews): kube-apiserver decodes them into Go structs, so a wrong JSON type is a 400 with the
// serializer's `cannot be handled as a <Kind>` message and a foreign apiVersion/kind is a 400 before any
// handler runs. Keeping this here gives every auth endpoint the same rejection wording.

import { errors } from '../errors/status.ts';

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** Field decoding context for one kind: produces the Go json decoder's messages on type mismatches. */
export class BodyReader {
  readonly kind: string;
  readonly group: string;
  readonly version: string;

  constructor(kind: string, group: string, version: string) {
    this.kind = kind;
    this.group = group;
    this.version = version;
  }

  get apiVersion(): string {
    return this.group ? `${this.group}/${this.version}` : this.version;
  }

  typeError(goStruct: string, path: string, goType: string, value: unknown): never {
    throw errors.badRequest(
      `${this.kind} in version "${this.version}" cannot be handled as a ${this.kind}: json: cannot unmarshal ${jsonTypeName(value)} into Go struct field ${goStruct}.${path} of type ${goType}`,
    );
  }

  /**
   * The top-level checks of the generic create handler: the body is a JSON object whose apiVersion/kind,
   * when given, name this endpoint's type (missing ones default to it, as the serializer does).
   */
  root(body: unknown, knownKindsInGroup: readonly string[] = []): JsonObject {
    if (!isObject(body)) {
      throw errors.badRequest(
        `${this.kind} in version "${this.version}" cannot be handled as a ${this.kind}: json: cannot unmarshal ${jsonTypeName(body)} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
      );
    }
    const apiVersion = body.apiVersion;
    if (apiVersion !== undefined && apiVersion !== null && apiVersion !== '') {
      if (typeof apiVersion !== 'string') this.typeError(this.kind, 'apiVersion', 'string', apiVersion);
      if (apiVersion !== this.apiVersion) {
        throw errors.badRequest(
          `the API version in the data (${apiVersion}) does not match the expected API version (${this.apiVersion})`,
        );
      }
    }
    const kind = body.kind;
    if (kind !== undefined && kind !== null && kind !== '') {
      if (typeof kind !== 'string') this.typeError(this.kind, 'kind', 'string', kind);
      if (kind !== this.kind) {
        if (knownKindsInGroup.includes(kind)) {
          // decoded fine as another type of the group; the REST storage then refuses it
          throw errors.badRequest(`not a ${this.kind}: &${this.group.split('.')[0] ?? ''}.${kind}{...}`);
        }
        throw errors.badRequest(
          `no kind "${kind}" is registered for version "${this.apiVersion}" in scheme "pkg/api/legacyscheme/scheme.go:30"`,
        );
      }
    }
    const metadata = body.metadata;
    if (metadata !== undefined && metadata !== null && !isObject(metadata)) {
      this.typeError(this.kind, 'metadata', 'v1.ObjectMeta', metadata);
    }
    return body;
  }

  object(parent: JsonObject, key: string, goStruct: string, path: string, goType: string): JsonObject | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) this.typeError(goStruct, path, goType, v);
    return v;
  }

  string(parent: JsonObject, key: string, goStruct: string, path: string): string {
    const v = parent[key];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') this.typeError(goStruct, path, 'string', v);
    return v;
  }

  stringList(parent: JsonObject, key: string, goStruct: string, path: string): string[] | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) this.typeError(goStruct, path, '[]string', v);
    for (const item of v) if (typeof item !== 'string') this.typeError(goStruct, path, 'string', item);
    return v as string[];
  }

  integer(parent: JsonObject, key: string, goStruct: string, path: string): number | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.typeError(goStruct, path, 'int64', v);
    return v;
  }

  extra(parent: JsonObject, key: string, goStruct: string, path: string): Record<string, string[]> | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) this.typeError(goStruct, path, 'map[string]v1.ExtraValue', v);
    const out: Record<string, string[]> = {};
    for (const [k, vals] of Object.entries(v)) {
      if (vals === null) {
        out[k] = [];
        continue;
      }
      if (!Array.isArray(vals)) this.typeError(goStruct, path, 'v1.ExtraValue', vals);
      for (const item of vals) if (typeof item !== 'string') this.typeError(goStruct, path, 'string', item);
      out[k] = vals as string[];
    }
    return out;
  }
}

/** metav1.Time as kube-apiserver renders it: RFC 3339 with second precision. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
