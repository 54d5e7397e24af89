// Tests for the protobuf form of `/openapi/v2`: the encoded bytes decode (with the same .proto) into
// gnostic's Document shape for the sandbox's real document (ConfigMap, Deployment, a CRD, the PATCH
// operation kubectl's fieldValidation check reads), the whole document survives a decode back to
// Swagger JSON, every message kind gnostic compiles is covered, bad values are dropped rather than
// thrown, the OpenApiService caches the bytes per document version, the Accept negotiation follows
// kube-openapi's handler, and the real kubectl accepts what a sandbox serves.

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Field, Type } from 'protobufjs';
import { parse } from 'yaml';
import type { ResourceInfo } from '../api/types.ts';
import { builtinResources } from '../api/builtin.ts';
import { startSandbox } from '../host.ts';
import type { Sandbox } from '../host.ts';
import type { SandboxCluster } from '../server/cluster.ts';
import { OpenApiService, buildV2 } from './openapi.ts';
import {
  OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
  encodeOpenApiV2Protobuf,
  negotiateOpenApiV2,
  openApiV2DocumentType,
} from './v2-protobuf.ts';

// decoded documents are probed deeply by path; typing every level would only restate the assertions
type Any = Record<string, any>;

const PB_DEPRECATED = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
const PB = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const widgets: ResourceInfo = {
  group: 'example.com',
  version: 'v1',
  resource: 'widgets',
  kind: 'Widget',
  listKind: 'WidgetList',
  singular: 'widget',
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  crd: {
    crdName: 'widgets.example.com',
    schema: {
      type: 'object',
      description: 'A widget.',
      properties: {
        spec: {
          type: 'object',
          required: ['size'],
          properties: {
            size: { type: 'string', enum: ['small', 'on'], description: 'How big.' },
            port: { 'x-kubernetes-int-or-string': true },
            extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
            labels: { type: 'object', additionalProperties: { type: 'string' } },
          },
        },
      },
    },
    additionalPrinterColumns: [],
    preserveUnknownFields: false,
  },
};

const resources = (): ResourceInfo[] => [...builtinResources(), widgets];

function decode(bytes: Uint8Array): Any {
  const t = openApiV2DocumentType();
  return t.toObject(t.decode(bytes), { longs: Number });
}

function entry(list: Any[] | undefined, name: string): Any {
  const e = (list ?? []).find((x: Any) => x.name === name);
  assert.ok(e, `no entry ${name}`);
  return e.value as Any;
}

/** A vendor extension's value, parsed from the YAML text kube-openapi's readers parse. */
function ext(holder: Any, name: string): unknown {
  const v = entry(holder.vendor_extension, name);
  assert.equal(typeof v.yaml, 'string');
  return parse(v.yaml as string, { version: '1.1' });
}

// ---- decoding back to Swagger JSON (independent of the encoder's tables: driven by the .proto) ----

/** Messages that are only a oneof: the JSON value is whichever member is set. */
const ONEOF_ONLY = new Set([
  'AdditionalPropertiesItem',
  'NonBodyParameter',
  'Parameter',
  'ParametersItem',
  'ResponseValue',
  'SchemaItem',
  'SecurityDefinitionsItem',
]);

function jsonKey(field: string): string {
  return field === '_ref' ? '$ref' : field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function backValue(field: Field, v: unknown): unknown {
  return field.resolvedType && 'fieldsArray' in field.resolvedType ? back(field.resolvedType, v as Any) : v;
}

/** A `Named*` list (map entries) back into an object, in order. */
function backNamed(field: Field, list: Any[], into: Any): void {
  const valueField = (field.resolvedType as Type).fields.value!;
  for (const e of list) into[e.name as string] = backValue(valueField, e.value);
}

function back(type: Type, m: Any): unknown {
  switch (type.name) {
    case 'Any':
      return parse(m.yaml as string, { version: '1.1' });
    case 'TypeItem': {
      const v = (m.value ?? []) as string[];
      return v.length === 1 ? v[0] : v;
    }
    case 'ItemsItem': {
      const v = ((m.schema ?? []) as Any[]).map((s) => back(type.fields.schema!.resolvedType as Type, s));
      return v.length === 1 ? v[0] : v;
    }
    case 'StringArray':
      return m.value ?? [];
  }
  if (ONEOF_ONLY.has(type.name)) {
    const set = Object.entries(m);
    assert.equal(set.length, 1, `${type.name}: exactly one oneof member`);
    const [k, v] = set[0]!;
    return backValue(type.fields[k]!, v);
  }
  const out: Any = {};
  const mapOnly = type.fieldsArray.length === 1 && type.fieldsArray[0]!.name === 'additional_properties';
  for (const [k, v] of Object.entries(m)) {
    const field = type.fields[k]!;
    if (k === 'vendor_extension' || (type.name === 'Paths' && k === 'path') || k === 'response_code' || mapOnly) {
      backNamed(field, v as Any[], out);
      continue;
    }
    out[jsonKey(k)] = field.repeated ? (v as unknown[]).map((x) => backValue(field, x)) : backValue(field, v);
  }
  return out;
}

function roundTrip(doc: object): unknown {
  return back(openApiV2DocumentType(), decode(encodeOpenApiV2Protobuf(doc)));
}

/** The document as gnostic keeps it: JSON semantics, proto3 zero scalars gone (not in our documents). */
function asJson(doc: object): unknown {
  return JSON.parse(JSON.stringify(doc));
}

// ---- the sandbox's document -----------------------------------------------------------------------

describe('the sandbox /openapi/v2 document in protobuf form', () => {
  const doc: Any = buildV2(resources());
  const pb = decode(encodeOpenApiV2Protobuf(doc));
  const defs = pb.definitions.additional_properties as Any[];

  test('document header: swagger, info, security', () => {
    assert.equal(pb.swagger, '2.0');
    assert.equal(pb.info.title, 'Kubernetes');
    assert.deepEqual(entry(pb.security_definitions.additional_properties, 'BearerToken'), {
      api_key_security: {
        type: 'apiKey',
        name: 'authorization',
        in: 'header',
        description: 'Bearer Token authentication',
      },
    });
    assert.deepEqual(pb.security, [{ additional_properties: [{ name: 'BearerToken', value: {} }] }]);
  });

  test('definitions keep the JSON order and every definition', () => {
    assert.deepEqual(
      defs.map((d) => d.name),
      Object.keys(doc.definitions as object),
    );
  });

  test('ConfigMap: description, type, map properties, $ref, GVK extension', () => {
    const cm = entry(defs, 'io.k8s.api.core.v1.ConfigMap');
    assert.match(cm.description as string, /^ConfigMap holds configuration data/);
    assert.deepEqual(cm.type, { value: ['object'] });
    const props = cm.properties.additional_properties as Any[];
    assert.deepEqual(
      props.map((p) => p.name),
      ['apiVersion', 'binaryData', 'data', 'immutable', 'kind', 'metadata'],
    );
    assert.deepEqual(entry(props, 'data').additional_properties, { schema: { type: { value: ['string'] } } });
    assert.deepEqual(entry(props, 'binaryData').additional_properties, {
      schema: { format: 'byte', type: { value: ['string'] } },
    });
    assert.equal(entry(props, 'metadata')._ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    assert.deepEqual(entry(props, 'immutable').type, { value: ['boolean'] });
    assert.deepEqual(ext(cm, 'x-kubernetes-group-version-kind'), [{ group: '', kind: 'ConfigMap', version: 'v1' }]);
    // gnostic's Any holds block YAML (compiler.Marshal), not JSON
    assert.equal(
      entry(cm.vendor_extension, 'x-kubernetes-group-version-kind').yaml,
      '- group: ""\n  kind: ConfigMap\n  version: v1\n',
    );
  });

  test('Deployment: refs, required, items, patch extensions', () => {
    const d = entry(defs, 'io.k8s.api.apps.v1.Deployment');
    assert.deepEqual(ext(d, 'x-kubernetes-group-version-kind'), [{ group: 'apps', kind: 'Deployment', version: 'v1' }]);
    const spec = entry(d.properties.additional_properties, 'spec');
    assert.equal(spec._ref, '#/definitions/io.k8s.api.apps.v1.DeploymentSpec');
    const ds = entry(defs, 'io.k8s.api.apps.v1.DeploymentSpec');
    assert.deepEqual(ds.required, ['selector', 'template']);
    assert.equal(
      entry(ds.properties.additional_properties, 'template')._ref,
      '#/definitions/io.k8s.api.core.v1.PodTemplateSpec',
    );
    const containers = entry(entry(defs, 'io.k8s.api.core.v1.PodSpec').properties.additional_properties, 'containers');
    assert.deepEqual(containers.type, { value: ['array'] });
    assert.deepEqual(containers.items, { schema: [{ _ref: '#/definitions/io.k8s.api.core.v1.Container' }] });
    assert.equal(ext(containers, 'x-kubernetes-patch-merge-key'), 'name');
    assert.equal(ext(containers, 'x-kubernetes-patch-strategy'), 'merge');
    assert.equal(entry(containers.vendor_extension, 'x-kubernetes-patch-strategy').yaml, 'merge\n');
  });

  test('CRD: definition, nested properties, enum, preserve-unknown-fields, int-or-string', () => {
    const w = entry(defs, 'com.example.v1.Widget');
    assert.deepEqual(ext(w, 'x-kubernetes-group-version-kind'), [
      { group: 'example.com', kind: 'Widget', version: 'v1' },
    ]);
    const spec = entry(w.properties.additional_properties, 'spec');
    assert.deepEqual(spec.required, ['size']);
    const props = spec.properties.additional_properties as Any[];
    const size = entry(props, 'size');
    assert.equal(size.description, 'How big.');
    // "on" must stay a string for YAML 1.1 readers
    assert.deepEqual(
      (size.enum as Any[] | undefined)?.map((a) => parse(a.yaml as string, { version: '1.1' })),
      doc.definitions['com.example.v1.Widget'].properties.spec.properties.size.enum,
    );
    assert.equal(ext(entry(props, 'extra'), 'x-kubernetes-preserve-unknown-fields'), true);
    assert.equal(ext(entry(props, 'port'), 'x-kubernetes-int-or-string'), true);
    assert.deepEqual(entry(props, 'tags').items, { schema: [{ type: { value: ['string'] } }] });
    assert.deepEqual(entry(props, 'labels').additional_properties, { schema: { type: { value: ['string'] } } });
  });

  test('PATCH operation: fieldValidation query parameter, body, GVK, path parameters', () => {
    const item = entry(pb.paths.path, '/api/v1/namespaces/{namespace}/configmaps/{name}');
    const patch = item.patch as Any;
    assert.deepEqual(ext(patch, 'x-kubernetes-group-version-kind'), { group: '', kind: 'ConfigMap', version: 'v1' });
    assert.equal(ext(patch, 'x-kubernetes-action'), 'patch');
    // exactly what kubectl's QueryParamVerifier reads
    const names = (patch.parameters as Any[]).map(
      (p) => p.parameter?.non_body_parameter?.query_parameter_sub_schema?.name as string | undefined,
    );
    assert.ok(names.includes('fieldValidation'), `fieldValidation among ${names.join(',')}`);
    const body = (patch.parameters as Any[])[0]!.parameter.body_parameter as Any;
    assert.deepEqual(body, {
      name: 'body',
      in: 'body',
      required: true,
      schema: { _ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch' },
    });
    const itemParams = (item.parameters as Any[]).map((p) => p.parameter.non_body_parameter as Any);
    assert.deepEqual(
      itemParams.map((p) => {
        const [variant, v] = Object.entries(p)[0]!;
        return [variant, v.name, v.in, v.required ?? false];
      }),
      [
        ['path_parameter_sub_schema', 'name', 'path', true],
        ['path_parameter_sub_schema', 'namespace', 'path', true],
        ['query_parameter_sub_schema', 'pretty', 'query', false],
      ],
    );
    const ok = entry(patch.responses.response_code, '200');
    assert.deepEqual(ok.response.schema, { schema: { _ref: '#/definitions/io.k8s.api.core.v1.ConfigMap' } });
    assert.deepEqual(entry(patch.responses.response_code, '401'), { response: { description: 'Unauthorized' } });
  });

  test('the whole document decodes back to the same Swagger JSON', () => {
    assert.deepEqual(back(openApiV2DocumentType(), pb), asJson(doc));
  });
});

// ---- every message kind, and bad values ------------------------------------------------------------

test('every Swagger 2.0 construct gnostic compiles round-trips', () => {
  const doc = {
    swagger: '2.0',
    info: {
      title: 't',
      version: '1',
      description: 'd',
      termsOfService: 'tos',
      contact: { name: 'n', url: 'u', email: 'e', 'x-c': 1 },
      license: { name: 'Apache-2.0', url: 'l' },
      'x-info': { a: [1, 'x'] },
    },
    host: 'example.com',
    basePath: '/base',
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json'],
    paths: {
      '/things/{id}': {
        parameters: [{ $ref: '#/parameters/id' }],
        get: {
          tags: ['a'],
          summary: 's',
          description: 'd',
          externalDocs: { description: 'more', url: 'https://x' },
          operationId: 'getThing',
          parameters: [
            { name: 'h', in: 'header', type: 'string', enum: ['a', 'b'] },
            { name: 'f', in: 'formData', type: 'file', allowEmptyValue: true },
            {
              name: 'q',
              in: 'query',
              type: 'array',
              items: { type: 'integer', format: 'int32', items: { type: 'string' } },
              collectionFormat: 'csv',
              default: [1],
              maximum: 9.5,
              exclusiveMaximum: true,
              minimum: 1,
              exclusiveMinimum: true,
              maxLength: 5,
              minLength: 1,
              pattern: '^a',
              maxItems: 3,
              minItems: 1,
              uniqueItems: true,
              multipleOf: 2,
              'x-q': 'v',
            },
            { name: 'body', in: 'body', description: 'b', required: true, schema: { type: 'object' }, 'x-b': true },
          ],
          responses: {
            '200': {
              description: 'OK',
              schema: { $ref: '#/definitions/Thing' },
              headers: { 'X-Rate': { type: 'integer', description: 'rate', 'x-h': 1 } },
              examples: { 'application/json': { id: 1 } },
            },
            '404': { $ref: '#/responses/NotFound' },
            default: { description: 'file', schema: { type: 'file', title: 'f', readOnly: true } },
            'x-responses': 'r',
          },
          schemes: ['https'],
          deprecated: true,
          security: [{ oauth: ['read', 'write'] }],
          'x-op': { k: 'v' },
        },
        'x-path': 1,
      },
      'x-paths': 'p',
    },
    definitions: {
      Thing: {
        type: 'object',
        title: 'Thing',
        required: ['id'],
        discriminator: 'kind',
        maxProperties: 10,
        minProperties: 1,
        xml: { name: 'thing', namespace: 'ns', prefix: 'p', attribute: true, wrapped: true },
        externalDocs: { url: 'https://docs' },
        example: { id: 1, on: 'yes' },
        properties: {
          id: { type: 'integer', format: 'int64', readOnly: true },
          kids: { type: 'array', items: { $ref: '#/definitions/Thing' } },
          any: { type: ['string', 'null'] },
          closed: { type: 'object', additionalProperties: false },
          all: { allOf: [{ $ref: '#/definitions/Thing' }, { description: 'more' }] },
          multi: { type: 'string', default: 'line one\nline two' },
        },
        'x-kubernetes-group-version-kind': [{ group: '', kind: 'Thing', version: 'v1' }],
      },
    },
    parameters: { id: { name: 'id', in: 'path', required: true, type: 'string' } },
    responses: { NotFound: { description: 'not found' } },
    security: [{ basic: [] }],
    securityDefinitions: {
      basic: { type: 'basic' },
      key: { type: 'apiKey', name: 'k', in: 'header' },
      implicit: { type: 'oauth2', flow: 'implicit', authorizationUrl: 'a', scopes: { read: 'r' } },
      password: { type: 'oauth2', flow: 'password', tokenUrl: 't', scopes: {} },
      application: { type: 'oauth2', flow: 'application', tokenUrl: 't', scopes: { w: 'write' } },
      accessCode: { type: 'oauth2', flow: 'accessCode', authorizationUrl: 'a', tokenUrl: 't', scopes: {} },
    },
    tags: [{ name: 'a', description: 'tag', externalDocs: { url: 'u' }, 'x-t': 1 }],
    externalDocs: { url: 'https://root' },
    'x-root': null,
  };
  assert.deepEqual(roundTrip(doc), doc);
  const pb = decode(encodeOpenApiV2Protobuf(doc));
  const defs = pb.security_definitions.additional_properties as Any[];
  assert.deepEqual(
    defs.map((d) => Object.keys(d.value as object)[0]),
    [
      'basic_authentication_security',
      'api_key_security',
      'oauth2_implicit_security',
      'oauth2_password_security',
      'oauth2_application_security',
      'oauth2_access_code_security',
    ],
  );
  const params = pb.paths.path[0].value.get.parameters as Any[];
  assert.deepEqual(
    params.map((p) => Object.keys(p.parameter.non_body_parameter ?? p.parameter)[0]),
    ['header_parameter_sub_schema', 'form_data_parameter_sub_schema', 'query_parameter_sub_schema', 'body_parameter'],
  );
  assert.deepEqual(pb.paths.path[0].value.parameters, [{ json_reference: { _ref: '#/parameters/id' } }]);
  // additionalProperties: false is a set oneof member, kept on the wire although it is proto3's zero
  const closed = entry(entry(pb.definitions.additional_properties, 'Thing').properties.additional_properties, 'closed');
  assert.deepEqual(closed.additional_properties, { boolean: false });
  assert.equal(
    entry(pb.definitions.additional_properties, 'Thing').properties.additional_properties.find(
      (p: Any) => p.name === 'multi',
    ).value.default.yaml,
    '"line one\\nline two"\n',
  );
});

test('proto3 zero values are left out, as Go marshals them', () => {
  const bytes = encodeOpenApiV2Protobuf({
    definitions: {
      Z: { description: '', minimum: 0, maxLength: 0, uniqueItems: false, readOnly: false, default: 0 },
    },
  });
  const z = entry(decode(bytes).definitions.additional_properties, 'Z');
  assert.deepEqual(z, { default: { yaml: '0\n' } });
});

test('an empty properties map is still present (kube-openapi reads it as a kind, not a map)', () => {
  const pb = decode(encodeOpenApiV2Protobuf({ definitions: { E: { type: 'object', properties: {} } } }));
  assert.deepEqual(entry(pb.definitions.additional_properties, 'E').properties, {});
});

test('bad values are dropped, never thrown', () => {
  const cases: { name: string; doc: unknown; want: Any }[] = [
    { name: 'not an object', doc: [], want: {} },
    { name: 'null', doc: null, want: {} },
    { name: 'wrong scalar types', doc: { swagger: 2, host: true, schemes: 'https' }, want: {} },
    {
      name: 'schema fields of the wrong type',
      doc: { definitions: { X: { maxLength: '3', minimum: 'low', type: 5, required: 'a', items: 'x' } } },
      want: { definitions: { additional_properties: [{ name: 'X', value: {} }] } },
    },
    {
      name: 'non-integer int64, non-finite double',
      doc: { definitions: { X: { maxLength: 1.5, maximum: Infinity } } },
      want: { definitions: { additional_properties: [{ name: 'X', value: {} }] } },
    },
    {
      name: 'parameter in an unknown location, parameter without in',
      doc: { paths: { '/p': { get: { parameters: [{ name: 'c', in: 'cookie', type: 'string' }, { name: 'n' }] } } } },
      want: { paths: { path: [{ name: '/p', value: { get: {} } }] } },
    },
    {
      name: 'unknown security scheme type',
      doc: { securityDefinitions: { s: { type: 'mutualTLS' } } },
      want: { security_definitions: { additional_properties: [{ name: 's' }] } },
    },
    {
      name: 'paths keys that are neither /paths nor x- extensions',
      doc: { paths: { things: {}, '/ok': {} } },
      want: { paths: { path: [{ name: '/ok', value: {} }] } },
    },
    {
      name: 'responses keys that are not status codes',
      doc: { paths: { '/p': { get: { responses: { ok: { description: 'x' }, '2000': {} } } } } },
      want: { paths: { path: [{ name: '/p', value: { get: { responses: {} } } }] } },
    },
  ];
  for (const c of cases) {
    const bytes = encodeOpenApiV2Protobuf(c.doc as object);
    assert.deepEqual(decode(bytes), c.want, c.name);
  }
});

// ---- the service -----------------------------------------------------------------------------------

test('OpenApiService.v2Protobuf: cached per document version, same ETag as the JSON', () => {
  let set = builtinResources();
  let generation = 1;
  const svc = new OpenApiService(
    () => set,
    () => generation,
  );
  const first = svc.v2Protobuf();
  const etag = svc.v2ETag();
  assert.equal(svc.v2Protobuf(), first, 'the same bytes object while nothing changed');
  assert.deepEqual(back(openApiV2DocumentType(), decode(first)), JSON.parse(svc.v2().toString('utf8')));
  set = [...set, widgets];
  generation++;
  const second = svc.v2Protobuf();
  assert.notEqual(second, first);
  assert.notEqual(svc.v2ETag(), etag);
  assert.ok(entry(decode(second).definitions.additional_properties, 'com.example.v1.Widget'));
  svc.invalidate();
  assert.notEqual(svc.v2Protobuf(), second, 'rebuilt after invalidate()');
});

// ---- Accept negotiation ----------------------------------------------------------------------------

test('negotiateOpenApiV2 follows kube-openapi (goautoneg order, JSON first among equals)', () => {
  const cases: [accept: string | undefined, want: 'json' | 'protobuf' | undefined][] = [
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['*', 'json'],
    ['application/*', 'json'],
    ['application/json', 'json'],
    [PB_DEPRECATED, 'protobuf'],
    [PB, 'protobuf'],
    [`${PB_DEPRECATED};q=0.9`, 'protobuf'],
    [` ${PB_DEPRECATED} ; q=0.5 `, 'protobuf'],
    [`${PB_DEPRECATED}, application/json`, 'protobuf'],
    [`application/json, ${PB_DEPRECATED}`, 'json'],
    [`application/json;q=0.5, ${PB_DEPRECATED}`, 'protobuf'],
    [`${PB};q=0.1, application/json`, 'json'],
    ['application/json;q=0.9, */*;q=0.8', 'json'],
    // goautoneg's Less ranks a concrete type above a wildcard whatever their q
    [`*/*;q=0.9, ${PB};q=0.1`, 'protobuf'],
    // q=0 (or unparsable) is not a refusal for goautoneg
    [`${PB};q=0`, 'protobuf'],
    [`${PB};q=high`, 'protobuf'],
    ['application/yaml', undefined],
    ['application/vnd.kubernetes.protobuf', undefined],
    ['text/html, text/plain', undefined],
    ['application/json/extra', undefined],
    ['APPLICATION/JSON', undefined],
  ];
  for (const [accept, want] of cases) assert.equal(negotiateOpenApiV2(accept), want, String(accept));
  assert.equal(OPENAPI_V2_PROTOBUF_CONTENT_TYPE, PB);
});

// ---- end to end with kubectl -----------------------------------------------------------------------

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function kubectl(kubeconfig: string, args: string[], stdin = ''): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      args,
      { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

function get(c: SandboxCluster, path: string, accept: string): Promise<{ code: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, c.url),
      { ca: c.ca.cert, cert: c.admin.cert, key: c.admin.key, headers: { accept } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          resolve({
            code: res.statusCode ?? 0,
            type: res.headers['content-type'] ?? '',
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Until cluster.ts negotiates `/openapi/v2` itself, kubectl talks to the sandbox through this plain
 * HTTP front that answers `/openapi/v2` as the edited server will and forwards everything else.
 */
function startFront(c: SandboxCluster): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url.split('?')[0] === '/openapi/v2') {
      const format = negotiateOpenApiV2(req.headers.accept);
      if (!format) {
        res.writeHead(406).end();
        return;
      }
      const body = format === 'protobuf' ? c.openapi.v2Protobuf() : c.openapi.v2();
      res.writeHead(200, {
        'content-type': format === 'protobuf' ? OPENAPI_V2_PROTOBUF_CONTENT_TYPE : 'application/json',
        etag: `"${c.openapi.v2ETag()}"`,
      });
      res.end(body);
      return;
    }
    const headers = { ...req.headers };
    delete headers.host;
    const upstream = httpsRequest(
      new URL(url, c.url),
      { method: req.method, headers, ca: c.ca.cert, cert: c.admin.cert, key: c.admin.key },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      resolve(server);
    }),
  );
}

describe('kubectl against a sandbox serving /openapi/v2 as protobuf', { skip: !hasKubectl() && 'no kubectl' }, () => {
  let sandbox: Sandbox;
  let dir: string;
  let kubeconfig: string;
  let front: Server | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'v2pb-'));
    sandbox = await startSandbox({ clusters: ['v2pb'], dir });
    const c = sandbox.clusters.get('v2pb')!;
    kubeconfig = sandbox.kubeconfigPath('v2pb');
    const probe = await get(c, '/openapi/v2', PB_DEPRECATED);
    if (probe.code === 406) {
      front = await startFront(c);
      const port = (front.address() as AddressInfo).port;
      kubeconfig = join(dir, 'front.kubeconfig');
      await writeFile(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: front, cluster: {server: "http://127.0.0.1:${port}"}}]`,
          'users: [{name: front, user: {}}]',
          'contexts: [{name: front, context: {cluster: front, user: front}}]',
          'current-context: front',
          '',
        ].join('\n'),
      );
    } else {
      assert.equal(probe.code, 200);
      assert.equal(probe.type, OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
      assert.deepEqual(probe.body, c.openapi.v2Protobuf());
    }
  });

  after(async () => {
    await new Promise<void>((resolve) => {
      if (front)
        front.close(() => {
          resolve();
        });
      else resolve();
    });
    await sandbox.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('apply of an unknown kind gets past validation to the mapping error', async () => {
    const r = await kubectl(
      kubeconfig,
      ['apply', '-f', '-'],
      'apiVersion: example.com/v1\nkind: Nope\nmetadata:\n  name: x\n',
    );
    assert.notEqual(r.code, 0);
    assert.match(r.out, /no matches for kind "Nope" in version "example.com\/v1"/);
    assert.doesNotMatch(r.out, /unable to respond with a content type/);
  });

  test('apply --validate=strict of a ConfigMap still works', async () => {
    const r = await kubectl(
      kubeconfig,
      ['apply', '--validate=strict', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: v2pb\n  namespace: default\ndata:\n  a: b\n',
    );
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /configmap\/v2pb created/);
  });

  test('explain from the v2 document parses every definition (kube-openapi util/proto)', async () => {
    const r = await kubectl(kubeconfig, [
      'explain',
      'deployment.spec.template.spec.containers',
      '--output=plaintext-openapiv2',
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /KIND:\s+Deployment/);
    assert.match(r.out, /RESOURCE:\s+containers <\[\]Object>/);
    assert.match(r.out, /imagePullPolicy\s+<string>/);
    const cm = await kubectl(kubeconfig, ['explain', 'configmap', '--output=plaintext-openapiv2']);
    assert.equal(cm.code, 0, cm.out);
    assert.match(cm.out, /binaryData\s+<map\[string\]string>/);
  });
});
