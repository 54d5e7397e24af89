// `/openapi/v2` in protobuf form, as kube-apiserver serves it to `Accept:
// application/com.github.proto-openapi.spec.v2@v1.0+protobuf` (what client-go's discovery client asks
// for: kubectl's client-side validation, its `fieldValidation` support check, `explain` fallbacks).
// kube-openapi produces those bytes by compiling the JSON document with gnostic's openapi_v2
// `ParseDocument` and marshalling the resulting `Document` message; this file reproduces that
// compilation for the Swagger 2.0 JSON built in openapi.ts: maps become ordered `Named*` lists in the
// document's key order, `$ref` becomes `_ref`, `x-*` keys become vendor extensions whose `Any.yaml`
// holds the value as YAML, and oneofs (parameters, responses, additionalProperties, security
// definitions) pick the variant gnostic's validation would accept. Proto3 zero values are left out, as
// Go's marshaller does. It also owns the `Accept` negotiation of that endpoint (kube-openapi's
// handler, which differs from the API's: goautoneg ordering, JSON for wildcards, an empty 406).

import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { stringify } from 'yaml';

/** What kube-apiserver answers with for both protobuf media types it accepts on `/openapi/v2`. */
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Obj = Record<string, unknown>;
/** Converts one JSON value to its proto-shaped plain object; undefined leaves the field out. */
type Conv = (v: unknown) => unknown;
type Fields = Record<string, readonly [field: string, conv: Conv]>;

let documentType: Type | undefined;

/** The parsed `openapi.v2.Document` message type (for tests and tools that decode). */
export function openApiV2DocumentType(): Type {
  if (documentType) return documentType;
  const file = fileURLToPath(new URL('./proto/openapiv2.proto', import.meta.url));
  // loadSync resolves the google/protobuf/any.proto import from protobufjs's bundled well-known types.
  const root = new protobuf.Root().loadSync(file, { keepCase: true });
  root.resolveAll();
  documentType = root.lookupType('openapi.v2.Document');
  return documentType;
}

/**
 * Encode a Swagger 2.0 document (JSON form) as gnostic's `openapi.v2.Document` protobuf message.
 * Values of the wrong JSON type for a field are left out (gnostic would refuse the whole document);
 * keys the Swagger 2.0 schema does not know are ignored.
 */
export function encodeOpenApiV2Protobuf(doc: object): Buffer {
  const message = documentConv(doc) ?? {};
  const bytes = openApiV2DocumentType().encode(message).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---- scalar and collection conversions ----------------------------------------------------------

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const str: Conv = (v) => (typeof v === 'string' && v !== '' ? v : undefined);
const bool: Conv = (v) => (v === true ? true : undefined);
const dbl: Conv = (v) => (typeof v === 'number' && Number.isFinite(v) && v !== 0 ? v : undefined);
const int: Conv = (v) => (Number.isSafeInteger(v) && v !== 0 ? v : undefined);
const strs: Conv = (v) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined);

/**
 * gnostic's `Any`: the value re-marshalled as block YAML (`compiler.Marshal`). Quoting follows YAML 1.1
 * so Go's yaml.v2-based readers (kube-openapi's extension parsing) see `"on"`, `"y"`, `"0x1f"` as
 * strings, and multi-line strings are double-quoted rather than left as top-level block scalars.
 */
const anyConv: Conv = (v) =>
  v === undefined ? undefined : { yaml: stringify(v, { indent: 4, lineWidth: 0, version: '1.1', blockQuote: false }) };

const anys: Conv = (v) => (Array.isArray(v) ? v.map(anyConv) : undefined);

function list(conv: Conv): Conv {
  return (v) => (Array.isArray(v) ? v.map(conv).filter((x) => x !== undefined) : undefined);
}

/** A JSON map as gnostic's ordered (name, value) pairs, in the document's key order. */
function named(conv: Conv, keep: (key: string) => boolean = () => true): Conv {
  return (v) =>
    isObj(v)
      ? Object.entries(v)
          .filter(([k, x]) => x !== undefined && keep(k))
          .map(([name, x]) => ({ name, value: conv(x) }))
      : undefined;
}

/** A message whose only field is the map (Definitions, Properties, Headers, ...). */
function wrapped(field: string, conv: Conv): Conv {
  const inner = named(conv);
  return (v) => (isObj(v) ? { [field]: inner(v) } : undefined);
}

const vendorExtensions = named(anyConv, (k) => k.startsWith('x-'));

/** A message of named fields plus, when `ext` is given, the `^x-` keys as vendor extensions. */
function message(fields: Fields, ext: string | undefined = 'vendor_extension'): (v: unknown) => Obj | undefined {
  return (v) => {
    if (!isObj(v)) return undefined;
    const out: Obj = {};
    for (const [key, value] of Object.entries(v)) {
      const f = fields[key];
      if (!f) continue;
      const converted = f[1](value);
      if (converted !== undefined) out[f[0]] = converted;
    }
    if (ext) {
      const exts = vendorExtensions(v) as unknown[];
      if (exts.length) out[ext] = exts;
    }
    return out;
  };
}

// ---- messages -------------------------------------------------------------------------------------

const externalDocs = message({ description: ['description', str], url: ['url', str] });
const xml = message({
  name: ['name', str],
  namespace: ['namespace', str],
  prefix: ['prefix', str],
  attribute: ['attribute', bool],
  wrapped: ['wrapped', bool],
});

/** Validation keywords shared by Schema, the non-body parameters, Header and PrimitivesItems. */
const VALIDATIONS: Fields = {
  default: ['default', anyConv],
  maximum: ['maximum', dbl],
  exclusiveMaximum: ['exclusive_maximum', bool],
  minimum: ['minimum', dbl],
  exclusiveMinimum: ['exclusive_minimum', bool],
  maxLength: ['max_length', int],
  minLength: ['min_length', int],
  pattern: ['pattern', str],
  maxItems: ['max_items', int],
  minItems: ['min_items', int],
  uniqueItems: ['unique_items', bool],
  enum: ['enum', anys],
  multipleOf: ['multiple_of', dbl],
};

const primitivesItems: Conv = message({
  type: ['type', str],
  format: ['format', str],
  items: ['items', (v) => primitivesItems(v)],
  collectionFormat: ['collection_format', str],
  ...VALIDATIONS,
});

/** gnostic's TypeItem: a single type name or a list of them. */
const typeItem: Conv = (v) => {
  if (typeof v === 'string') return { value: [v] };
  if (Array.isArray(v)) return { value: strs(v) };
  return undefined;
};

/** `items`: one schema (gnostic reads a map); a list is kept as a list rather than dropped. */
const itemsItem: Conv = (v) => {
  if (isObj(v)) return { schema: [schema(v)] };
  if (Array.isArray(v)) return { schema: list(schema)(v) };
  return undefined;
};

const additionalPropertiesItem: Conv = (v) => {
  if (typeof v === 'boolean') return { boolean: v };
  if (isObj(v)) return { schema: schema(v) };
  return undefined;
};

const SCHEMA_FIELDS: Fields = {
  $ref: ['_ref', str],
  format: ['format', str],
  title: ['title', str],
  description: ['description', str],
  ...VALIDATIONS,
  maxProperties: ['max_properties', int],
  minProperties: ['min_properties', int],
  required: ['required', strs],
  additionalProperties: ['additional_properties', additionalPropertiesItem],
  type: ['type', typeItem],
  items: ['items', itemsItem],
  allOf: ['all_of', list((v) => schema(v))],
  properties: ['properties', wrapped('additional_properties', (v) => schema(v))],
  discriminator: ['discriminator', str],
  readOnly: ['read_only', bool],
  xml: ['xml', xml],
  externalDocs: ['external_docs', externalDocs],
  example: ['example', anyConv],
};
const schemaMessage = message(SCHEMA_FIELDS);

function schema(v: unknown): Obj | undefined {
  return schemaMessage(v);
}

const fileSchema = message({
  format: ['format', str],
  title: ['title', str],
  description: ['description', str],
  default: ['default', anyConv],
  required: ['required', strs],
  type: ['type', str],
  readOnly: ['read_only', bool],
  externalDocs: ['external_docs', externalDocs],
  example: ['example', anyConv],
});

const bodyParameter = message({
  description: ['description', str],
  name: ['name', str],
  in: ['in', str],
  required: ['required', bool],
  schema: ['schema', schema],
});

const NON_BODY_FIELDS: Fields = {
  required: ['required', bool],
  in: ['in', str],
  description: ['description', str],
  name: ['name', str],
  type: ['type', str],
  format: ['format', str],
  items: ['items', primitivesItems],
  collectionFormat: ['collection_format', str],
  ...VALIDATIONS,
};
/** `allowEmptyValue` exists only for query and formData parameters. */
const nonBodyWithEmpty = message({ ...NON_BODY_FIELDS, allowEmptyValue: ['allow_empty_value', bool] });
const nonBody = message(NON_BODY_FIELDS);

/** NonBodyParameter's variant by `in`: each sub-schema's `in` enum admits exactly one location. */
const NON_BODY_VARIANTS: Record<string, [string, Conv]> = {
  header: ['header_parameter_sub_schema', nonBody],
  formData: ['form_data_parameter_sub_schema', nonBodyWithEmpty],
  query: ['query_parameter_sub_schema', nonBodyWithEmpty],
  path: ['path_parameter_sub_schema', nonBody],
};

const parameter: Conv = (v) => {
  if (!isObj(v) || typeof v.in !== 'string') return undefined;
  if (v.in === 'body') return { body_parameter: bodyParameter(v) };
  const variant = Object.hasOwn(NON_BODY_VARIANTS, v.in) ? NON_BODY_VARIANTS[v.in] : undefined;
  return variant ? { non_body_parameter: { [variant[0]]: variant[1](v) } } : undefined;
};

const jsonReference = message({ $ref: ['_ref', str], description: ['description', str] }, undefined);

/** Parameter first, as gnostic tries it; an object with `$ref` can only be a JsonReference. */
const parametersItem: Conv = (v) => {
  if (!isObj(v)) return undefined;
  if ('$ref' in v) return { json_reference: jsonReference(v) };
  const p = parameter(v);
  return p === undefined ? undefined : { parameter: p };
};

const header = message({
  type: ['type', str],
  format: ['format', str],
  items: ['items', primitivesItems],
  collectionFormat: ['collection_format', str],
  ...VALIDATIONS,
  description: ['description', str],
});

/** A response body: FileSchema only for `type: file` (gnostic's later oneof match wins). */
const schemaItem: Conv = (v) => {
  if (!isObj(v)) return undefined;
  return v.type === 'file' ? { file_schema: fileSchema(v) } : { schema: schema(v) };
};

const response = message({
  description: ['description', str],
  schema: ['schema', schemaItem],
  headers: ['headers', wrapped('additional_properties', header)],
  examples: ['examples', wrapped('additional_properties', anyConv)],
});

const responseValue: Conv = (v) => {
  if (!isObj(v)) return undefined;
  return '$ref' in v ? { json_reference: jsonReference(v) } : { response: response(v) };
};

const RESPONSE_CODE = /^([0-9]{3})$|^(default)$/;
const responses: Conv = (v) => {
  if (!isObj(v)) return undefined;
  const out: Obj = { response_code: named(responseValue, (k) => RESPONSE_CODE.test(k))(v) };
  const exts = vendorExtensions(v) as unknown[];
  if (exts.length) out.vendor_extension = exts;
  return out;
};

const securityRequirement = wrapped('additional_properties', (v) => ({ value: strs(v) }));

const operation = message({
  tags: ['tags', strs],
  summary: ['summary', str],
  description: ['description', str],
  externalDocs: ['external_docs', externalDocs],
  operationId: ['operation_id', str],
  produces: ['produces', strs],
  consumes: ['consumes', strs],
  parameters: ['parameters', list(parametersItem)],
  responses: ['responses', responses],
  schemes: ['schemes', strs],
  deprecated: ['deprecated', bool],
  security: ['security', list(securityRequirement)],
});

const pathItem = message({
  $ref: ['_ref', str],
  get: ['get', operation],
  put: ['put', operation],
  post: ['post', operation],
  delete: ['delete', operation],
  options: ['options', operation],
  head: ['head', operation],
  patch: ['patch', operation],
  parameters: ['parameters', list(parametersItem)],
});

const paths: Conv = (v) => {
  if (!isObj(v)) return undefined;
  const out: Obj = { path: named(pathItem, (k) => k.startsWith('/'))(v) };
  const exts = vendorExtensions(v) as unknown[];
  if (exts.length) out.vendor_extension = exts;
  return out;
};

/** Every security scheme's keys; each variant's message simply has no field for the others'. */
const securityScheme = message({
  type: ['type', str],
  flow: ['flow', str],
  scopes: ['scopes', wrapped('additional_properties', str)],
  name: ['name', str],
  in: ['in', str],
  authorizationUrl: ['authorization_url', str],
  tokenUrl: ['token_url', str],
  description: ['description', str],
});

const OAUTH2_FLOWS: Record<string, string> = {
  implicit: 'oauth2_implicit_security',
  password: 'oauth2_password_security',
  application: 'oauth2_application_security',
  accessCode: 'oauth2_access_code_security',
};

const securityDefinitionsItem: Conv = (v) => {
  if (!isObj(v)) return undefined;
  let variant: string | undefined;
  if (v.type === 'basic') variant = 'basic_authentication_security';
  else if (v.type === 'apiKey') variant = 'api_key_security';
  else if (v.type === 'oauth2' && typeof v.flow === 'string' && Object.hasOwn(OAUTH2_FLOWS, v.flow))
    variant = OAUTH2_FLOWS[v.flow];
  return variant ? { [variant]: securityScheme(v) } : undefined;
};

const contact = message({ name: ['name', str], url: ['url', str], email: ['email', str] });
const license = message({ name: ['name', str], url: ['url', str] });
const info = message({
  title: ['title', str],
  version: ['version', str],
  description: ['description', str],
  termsOfService: ['terms_of_service', str],
  contact: ['contact', contact],
  license: ['license', license],
});

const tag = message({
  name: ['name', str],
  description: ['description', str],
  externalDocs: ['external_docs', externalDocs],
});

const documentConv = message({
  swagger: ['swagger', str],
  info: ['info', info],
  host: ['host', str],
  basePath: ['base_path', str],
  schemes: ['schemes', strs],
  consumes: ['consumes', strs],
  produces: ['produces', strs],
  paths: ['paths', paths],
  definitions: ['definitions', wrapped('additional_properties', schema)],
  parameters: ['parameters', wrapped('additional_properties', parameter)],
  responses: ['responses', wrapped('additional_properties', response)],
  security: ['security', list(securityRequirement)],
  securityDefinitions: ['security_definitions', wrapped('additional_properties', securityDefinitionsItem)],
  tags: ['tags', list(tag)],
  externalDocs: ['external_docs', externalDocs],
});

// ---- content negotiation ----------------------------------------------------------------------------

export type OpenApiV2Format = 'json' | 'protobuf';

interface AcceptClause {
  type: string;
  subType: string;
  q: number;
}

/** What kube-openapi's handler serves, in the order it tries them for each Accept clause. */
const SERVED: readonly (readonly [type: string, subType: string, format: OpenApiV2Format])[] = [
  ['application', 'json', 'json'],
  ['application', 'com.github.proto-openapi.spec.v2@v1.0+protobuf', 'protobuf'],
  ['application', 'com.github.proto-openapi.spec.v2.v1.0+protobuf', 'protobuf'],
];

const GO_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** goautoneg.ParseAccept: clauses with q (0 when unparsable, and still eligible), only spaces trimmed. */
function parseAccept(header: string): AcceptClause[] {
  const out: AcceptClause[] = [];
  for (const part of header.split(',')) {
    const [range = '', ...params] = trimSpaces(part).split(';');
    const sp = range.split('/');
    const type = trimSpaces(sp[0] ?? '');
    let subType: string;
    if (sp.length === 1 && type === '*') subType = '*';
    else if (sp.length === 2) subType = trimSpaces(sp[1] ?? '');
    else continue;
    let q = 1;
    for (const p of params) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      if (trimSpaces(p.slice(0, eq)) === 'q') {
        const raw = p.slice(eq + 1);
        q = GO_FLOAT.test(raw) ? Number(raw) : 0;
      }
    }
    out.push({ type, subType, q });
  }
  // Go's sort.Sort on these short lists is an insertion sort driven by goautoneg's Less, which is not
  // a strict order (a wildcard loses to a concrete type even with a higher q); reproduced as is.
  const less = (a: AcceptClause, b: AcceptClause): boolean =>
    a.q > b.q || (a.type !== '*' && b.type === '*') || (a.subType !== '*' && b.subType === '*');
  for (let i = 1; i < out.length; i++) {
    for (let j = i; j > 0 && less(out[j]!, out[j - 1]!); j--) {
      [out[j], out[j - 1]] = [out[j - 1]!, out[j]!];
    }
  }
  return out;
}

function trimSpaces(s: string): string {
  return s.replace(/^ +| +$/g, '');
}

/**
 * The form of `/openapi/v2` to serve for an `Accept` header, as kube-openapi's handler picks it
 * (no header means `*∕*`, which is JSON), or undefined when nothing matches: kube then answers 406
 * with an empty body.
 */
export function negotiateOpenApiV2(accept: string | undefined): OpenApiV2Format | undefined {
  for (const clause of parseAccept(accept || '*/*')) {
    for (const [type, subType, format] of SERVED) {
      if (clause.type !== type && clause.type !== '*') continue;
      if (clause.subType !== subType && clause.subType !== '*') continue;
      return format;
    }
  }
  return undefined;
}
