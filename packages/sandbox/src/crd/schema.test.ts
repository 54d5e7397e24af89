// Tables for structural pruning, defaulting and OpenAPI validation of custom resources, held to the
// causes kube-apiserver returns (type, field and message), plus a ManagedCluster that breaks the real
// OCM schema end to end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { StatusCause } from '../errors/status.ts';
import { errors } from '../errors/status.ts';
import { applyDefaults, pruneUnknown, validateAgainstSchema, type Schema } from './schema.ts';
import { crdResourceInfos, defaultCrd } from './crd-validation.ts';
import { parseManifests } from './manifest.ts';
import type { KubeObject } from '../api/types.ts';

const samples = '/work/shared/samples/upstream/crds';

function sampleSchema(file: string): Schema {
  const crd = defaultCrd(parseManifests(readFileSync(`${samples}/${file}`, 'utf8'))[0] as KubeObject);
  const schema = crdResourceInfos(crd)[0]?.crd?.schema;
  assert.ok(schema);
  return schema;
}

test('pruneUnknown', () => {
  const schema: Schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          a: { type: 'string' },
          list: { type: 'array', items: { type: 'object', properties: { n: { type: 'string' } } } },
          free: {
            type: 'object',
            'x-kubernetes-preserve-unknown-fields': true,
            properties: { known: { type: 'object', properties: { k: { type: 'string' } } } },
          },
          labels: { type: 'object', additionalProperties: { type: 'string' } },
          embedded: {
            type: 'object',
            'x-kubernetes-embedded-resource': true,
            properties: { spec: { type: 'object' } },
          },
        },
      },
    },
  };
  const input = {
    apiVersion: 'x/v1',
    kind: 'X',
    metadata: { name: 'n', whatever: 1 },
    spec: {
      a: 'keep',
      b: 'drop',
      list: [{ n: 'x', m: 'drop' }],
      free: { anything: { deep: true }, known: { k: 'v', extra: 'drop' } },
      labels: { x: 'y' },
      embedded: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { a: 1 }, other: 'drop' },
    },
    status: { phase: 'drop' },
  };
  const before = structuredClone(input);
  const { pruned, removed } = pruneUnknown(input, schema);
  assert.deepEqual(input, before, 'input is not modified');
  assert.deepEqual(pruned, {
    apiVersion: 'x/v1',
    kind: 'X',
    metadata: { name: 'n', whatever: 1 },
    spec: {
      a: 'keep',
      list: [{ n: 'x' }],
      free: { anything: { deep: true }, known: { k: 'v' } },
      labels: { x: 'y' },
      embedded: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: {} },
    },
  });
  assert.deepEqual(removed.sort(), [
    'spec.b',
    'spec.embedded.other',
    'spec.embedded.spec.a',
    'spec.free.known.extra',
    'spec.list[0].m',
    'status',
  ]);
  // no schema: only the type and object metadata survive
  assert.deepEqual(pruneUnknown({ apiVersion: 'a', kind: 'b', metadata: {}, spec: { x: 1 } }, undefined).pruned, {
    apiVersion: 'a',
    kind: 'b',
    metadata: {},
  });
});

test('applyDefaults', () => {
  const schema: Schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        default: {},
        properties: {
          replicas: { type: 'integer', default: 1 },
          mode: { type: 'string', default: 'auto' },
          tags: { type: 'array', default: ['a'], items: { type: 'string' } },
          gone: { type: 'string' },
          nullable: { type: 'string', nullable: true },
          items: { type: 'array', items: { type: 'object', properties: { weight: { type: 'integer', default: 5 } } } },
          byName: {
            type: 'object',
            additionalProperties: { type: 'object', properties: { on: { type: 'boolean', default: true } } },
          },
        },
      },
    },
  };
  const cases: { name: string; in: Record<string, unknown>; want: Record<string, unknown> }[] = [
    {
      name: 'missing spec gets its default, then nested defaults',
      in: {},
      want: { spec: { replicas: 1, mode: 'auto', tags: ['a'] } },
    },
    {
      name: 'present values win; nulls: defaulted or dropped unless nullable',
      in: { spec: { replicas: 3, mode: null, gone: null, nullable: null } },
      want: { spec: { replicas: 3, mode: 'auto', tags: ['a'], nullable: null } },
    },
    {
      name: 'items and additionalProperties',
      in: { spec: { items: [{}, { weight: 1 }], byName: { x: {}, y: { on: false } } } },
      want: {
        spec: {
          replicas: 1,
          mode: 'auto',
          tags: ['a'],
          items: [{ weight: 5 }, { weight: 1 }],
          byName: { x: { on: true }, y: { on: false } },
        },
      },
    },
  ];
  for (const c of cases) assert.deepEqual(applyDefaults(c.in, schema), c.want, c.name);
  // defaults are deep-copied
  const a = applyDefaults<Record<string, { tags: string[] }>>({}, schema);
  a.spec!.tags.push('mutated');
  assert.deepEqual(applyDefaults<Record<string, { tags: string[] }>>({}, schema).spec!.tags, ['a']);
});

const typeInvalid = (f: string, value: string, msg: string): StatusCause => ({
  type: 'FieldValueTypeInvalid',
  message: `Invalid value: ${value}: ${msg}`,
  field: f,
});
const invalid = (f: string, value: string, msg: string): StatusCause => ({
  type: 'FieldValueInvalid',
  message: `Invalid value: ${value}: ${msg}`,
  field: f,
});

test('validateAgainstSchema keyword table', () => {
  const spec = (props: Record<string, unknown>, extra: Record<string, unknown> = {}): Schema => ({
    type: 'object',
    properties: { spec: { type: 'object', properties: props, ...extra } },
  });
  const cases: { name: string; schema: Schema; obj: unknown; want: StatusCause[] }[] = [
    { name: 'valid', schema: spec({ x: { type: 'integer' } }), obj: { spec: { x: 1 } }, want: [] },
    {
      name: 'required',
      schema: spec({ x: { type: 'boolean' } }, { required: ['x'] }),
      obj: { spec: {} },
      want: [{ type: 'FieldValueRequired', message: 'Required value', field: 'spec.x' }],
    },
    {
      name: 'root required',
      schema: { type: 'object', required: ['spec'], properties: { spec: { type: 'object' } } },
      obj: {},
      want: [{ type: 'FieldValueRequired', message: 'Required value', field: 'spec' }],
    },
    {
      name: 'type',
      schema: spec({ x: { type: 'integer' } }),
      obj: { spec: { x: 'string' } },
      want: [typeInvalid('spec.x', '"string"', 'spec.x in body must be of type integer: "string"')],
    },
    {
      name: 'float for integer',
      schema: spec({ x: { type: 'integer' } }),
      obj: { spec: { x: 1.5 } },
      want: [typeInvalid('spec.x', '"number"', 'spec.x in body must be of type integer: "number"')],
    },
    { name: 'integer for number', schema: spec({ x: { type: 'number' } }), obj: { spec: { x: 1 } }, want: [] },
    {
      name: 'object for string',
      schema: spec({ x: { type: 'string' } }),
      obj: { spec: { x: {} } },
      want: [typeInvalid('spec.x', '"object"', 'spec.x in body must be of type string: "object"')],
    },
    {
      name: 'null',
      schema: spec({ x: { type: 'string' } }),
      obj: { spec: { x: null } },
      want: [typeInvalid('spec.x', '"null"', 'spec.x in body must be of type string: "null"')],
    },
    { name: 'nullable', schema: spec({ x: { type: 'string', nullable: true } }), obj: { spec: { x: null } }, want: [] },
    {
      name: 'enum',
      schema: spec({ x: { type: 'string', enum: ['a', 'b'] } }),
      obj: { spec: { x: 'c' } },
      want: [
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: "c": supported values: "a", "b"',
          field: 'spec.x',
        },
      ],
    },
    {
      name: 'numeric enum',
      schema: spec({ x: { type: 'integer', enum: [1, 2] } }),
      obj: { spec: { x: 3 } },
      want: [
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: 3: supported values: "1", "2"',
          field: 'spec.x',
        },
      ],
    },
    {
      name: 'pattern',
      schema: spec({ x: { type: 'string', pattern: '^[a-z]+$' } }),
      obj: { spec: { x: 'A1' } },
      want: [invalid('spec.x', '"A1"', "spec.x in body should match '^[a-z]+$'")],
    },
    {
      name: 'maxLength',
      schema: spec({ x: { type: 'string', maxLength: 3 } }),
      obj: { spec: { x: 'abcd' } },
      want: [{ type: 'FieldValueTooLong', message: 'Too long: may not be more than 3 bytes', field: 'spec.x' }],
    },
    {
      name: 'maxLength counts runes',
      schema: spec({ x: { type: 'string', maxLength: 3 } }),
      obj: { spec: { x: 'äöü' } },
      want: [],
    },
    {
      name: 'minLength',
      schema: spec({ x: { type: 'string', minLength: 2 } }),
      obj: { spec: { x: 'a' } },
      want: [invalid('spec.x', '"a"', 'spec.x in body should be at least 2 chars long')],
    },
    {
      name: 'maximum',
      schema: spec({ x: { type: 'integer', maximum: 3 } }),
      obj: { spec: { x: 5 } },
      want: [invalid('spec.x', '5', 'spec.x in body should be less than or equal to 3')],
    },
    {
      name: 'exclusiveMinimum',
      schema: spec({ x: { type: 'number', minimum: 0.5, exclusiveMinimum: true } }),
      obj: { spec: { x: 0.5 } },
      want: [invalid('spec.x', '0.5', 'spec.x in body should be greater than 0.5')],
    },
    {
      name: 'minimum',
      schema: spec({ x: { type: 'integer', minimum: 1 } }),
      obj: { spec: { x: 0 } },
      want: [invalid('spec.x', '0', 'spec.x in body should be greater than or equal to 1')],
    },
    {
      name: 'multipleOf',
      schema: spec({ x: { type: 'integer', multipleOf: 5 } }),
      obj: { spec: { x: 7 } },
      want: [invalid('spec.x', '7', 'spec.x in body should be a multiple of 5')],
    },
    {
      name: 'minItems',
      schema: spec({ x: { type: 'array', minItems: 2, items: { type: 'string' } } }),
      obj: { spec: { x: ['a'] } },
      want: [invalid('spec.x', '1', 'spec.x in body should have at least 2 items')],
    },
    {
      name: 'maxItems',
      schema: spec({ x: { type: 'array', maxItems: 1, items: { type: 'string' } } }),
      obj: { spec: { x: ['a', 'b'] } },
      want: [{ type: 'FieldValueTooMany', message: 'Too many: 2: must have at most 1 items', field: 'spec.x' }],
    },
    {
      name: 'uniqueItems',
      schema: spec({ x: { type: 'array', uniqueItems: true, items: { type: 'string' } } }),
      obj: { spec: { x: ['a', 'a'] } },
      want: [invalid('spec.x', '""', "spec.x in body shouldn't contain duplicates")],
    },
    {
      name: 'items',
      schema: spec({ x: { type: 'array', items: { type: 'string' } } }),
      obj: { spec: { x: ['a', 1] } },
      want: [typeInvalid('spec.x[1]', '"integer"', 'spec.x[1] in body must be of type string: "integer"')],
    },
    {
      name: 'minProperties',
      schema: spec({ x: { type: 'object', minProperties: 1, additionalProperties: { type: 'string' } } }),
      obj: { spec: { x: {} } },
      want: [invalid('spec.x', '0', 'spec.x in body should have at least 1 properties')],
    },
    {
      name: 'maxProperties',
      schema: spec({ x: { type: 'object', maxProperties: 1, additionalProperties: { type: 'string' } } }),
      obj: { spec: { x: { a: 'a', b: 'b' } } },
      want: [{ type: 'FieldValueTooMany', message: 'Too many: 2: must have at most 1 items', field: 'spec.x' }],
    },
    {
      name: 'additionalProperties schema',
      schema: spec({ x: { type: 'object', additionalProperties: { type: 'integer' } } }),
      obj: { spec: { x: { a: 'no' } } },
      want: [typeInvalid('spec.x.a', '"string"', 'spec.x.a in body must be of type integer: "string"')],
    },
    {
      name: 'additionalProperties false',
      schema: spec({ x: { type: 'object', additionalProperties: false } }),
      obj: { spec: { x: { a: 1 } } },
      want: [invalid('spec.x', '"a"', 'spec.x.a in body is a forbidden property')],
    },
    {
      name: 'format date-time',
      schema: spec({ x: { type: 'string', format: 'date-time' } }),
      obj: { spec: { x: 'yesterday' } },
      want: [typeInvalid('spec.x', '"yesterday"', 'spec.x in body must be of type date-time: "yesterday"')],
    },
    {
      name: 'format date-time ok',
      schema: spec({ x: { type: 'string', format: 'date-time' } }),
      obj: { spec: { x: '2024-05-06T07:08:09Z' } },
      want: [],
    },
    {
      name: 'format uuid',
      schema: spec({ x: { type: 'string', format: 'uuid' } }),
      obj: { spec: { x: 'nope' } },
      want: [typeInvalid('spec.x', '"nope"', 'spec.x in body must be of type uuid: "nope"')],
    },
    {
      name: 'format byte',
      schema: spec({ x: { type: 'string', format: 'byte' } }),
      obj: { spec: { x: 'YWJj' } },
      want: [],
    },
    {
      name: 'format int32 on integer is not a range check',
      schema: spec({ x: { type: 'integer', format: 'int32' } }),
      obj: { spec: { x: 2 ** 40 } },
      want: [],
    },
    {
      name: 'unknown format ignored',
      schema: spec({ x: { type: 'string', format: 'weird' } }),
      obj: { spec: { x: 'anything' } },
      want: [],
    },
    {
      name: 'int-or-string accepts both',
      schema: spec({ x: { 'x-kubernetes-int-or-string': true } }),
      obj: { spec: { x: '50%' } },
      want: [],
    },
    {
      name: 'int-or-string rejects bool',
      schema: spec({ x: { 'x-kubernetes-int-or-string': true } }),
      obj: { spec: { x: true } },
      want: [typeInvalid('spec.x', '"boolean"', 'spec.x in body must be of type integer,string: "boolean"')],
    },
    {
      name: 'oneOf none valid',
      schema: spec({ x: { type: 'object', oneOf: [{ required: ['a'] }, { required: ['b'] }] } }),
      obj: { spec: { x: {} } },
      want: [
        invalid('<nil>', '""', '"spec.x" must validate one and only one schema (oneOf). Found none valid'),
        { type: 'FieldValueRequired', message: 'Required value', field: 'spec.x.a' },
      ],
    },
    {
      name: 'oneOf two valid',
      schema: spec({ x: { type: 'object', oneOf: [{ required: ['a'] }, { required: ['b'] }] } }),
      obj: { spec: { x: { a: 1, b: 2 } } },
      want: [
        invalid('<nil>', '""', '"spec.x" must validate one and only one schema (oneOf). Found 2 valid alternatives'),
      ],
    },
    {
      name: 'allOf',
      schema: spec({ x: { type: 'integer', allOf: [{ minimum: 1 }, { maximum: 2 }] } }),
      obj: { spec: { x: 3 } },
      want: [
        invalid('spec.x', '3', 'spec.x in body should be less than or equal to 2'),
        invalid('<nil>', '""', '"spec.x" must validate all the schemas (allOf)'),
      ],
    },
    {
      name: 'not',
      schema: spec({ x: { type: 'string', not: { enum: ['bad'] } } }),
      obj: { spec: { x: 'bad' } },
      want: [invalid('<nil>', '""', '"spec.x" must not validate the schema (not)')],
    },
    {
      name: 'list-type set',
      schema: spec({ x: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } } }),
      obj: { spec: { x: ['a', 'b', 'a', 'a'] } },
      want: [{ type: 'FieldValueDuplicate', message: 'Duplicate value: "a"', field: 'spec.x[2]' }],
    },
    {
      name: 'list-type map',
      schema: spec({
        x: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: { type: 'object', properties: { name: { type: 'string' }, v: { type: 'integer' } } },
        },
      }),
      obj: {
        spec: {
          x: [
            { name: 'a', v: 1 },
            { name: 'a', v: 2 },
          ],
        },
      },
      want: [
        {
          type: 'FieldValueDuplicate',
          message: 'Duplicate value: map[string]interface {}{"name":"a"}',
          field: 'spec.x[1]',
        },
      ],
    },
    {
      name: 'list-type map with two keys',
      schema: spec({
        x: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['port', 'protocol'],
          items: { type: 'object', properties: { port: { type: 'integer' }, protocol: { type: 'string' } } },
        },
      }),
      obj: {
        spec: {
          x: [
            { port: 80, protocol: 'TCP' },
            { port: 80, protocol: 'UDP' },
            { port: 80, protocol: 'TCP' },
          ],
        },
      },
      want: [
        {
          type: 'FieldValueDuplicate',
          message: 'Duplicate value: map[string]interface {}{"port":80, "protocol":"TCP"}',
          field: 'spec.x[2]',
        },
      ],
    },
  ];
  for (const c of cases) assert.deepEqual(validateAgainstSchema(c.obj, c.schema), c.want, c.name);
});

test('validateAgainstSchema with a root path prefixes fields and messages', () => {
  assert.deepEqual(validateAgainstSchema('x', { type: 'integer' }, 'spec.versions[0].schema.openAPIV3Schema.default'), [
    typeInvalid(
      'spec.versions[0].schema.openAPIV3Schema.default',
      '"string"',
      'spec.versions[0].schema.openAPIV3Schema.default in body must be of type integer: "string"',
    ),
  ]);
});

test('ManagedCluster: real OCM schema, good and bad objects', () => {
  const schema = sampleSchema('managedcluster.yaml');
  const good = {
    apiVersion: 'cluster.open-cluster-management.io/v1',
    kind: 'ManagedCluster',
    metadata: { name: 'cluster1', labels: { 'cluster.open-cluster-management.io/clusterset': 'default' } },
    spec: {
      hubAcceptsClient: true,
      leaseDurationSeconds: 60,
      managedClusterClientConfigs: [{ url: 'https://10.0.0.1:6443', caBundle: 'YWJj' }],
    },
    status: { capacity: { cpu: '4', memory: '16Gi', pods: 110 }, conditions: [] },
  };
  const { pruned, removed } = pruneUnknown(good, schema);
  assert.deepEqual(removed, []);
  assert.deepEqual(validateAgainstSchema(applyDefaults(pruned, schema), schema), []);

  const bad = {
    apiVersion: 'cluster.open-cluster-management.io/v1',
    kind: 'ManagedCluster',
    metadata: { name: 'cluster1' },
    spec: {
      hubAcceptsClient: 'yes',
      leaseDurationSeconds: 'sixty',
      unknownField: 1,
      managedClusterClientConfigs: [{ url: 'https://x', caBundle: 'not base64!' }],
    },
    status: { capacity: { cpu: '4 cores' } },
  };
  const p = pruneUnknown(bad, schema);
  assert.deepEqual(p.removed, ['spec.unknownField']);
  const causes = validateAgainstSchema(applyDefaults(p.pruned, schema), schema);
  assert.deepEqual(causes, [
    typeInvalid('spec.hubAcceptsClient', '"string"', 'spec.hubAcceptsClient in body must be of type boolean: "string"'),
    typeInvalid(
      'spec.leaseDurationSeconds',
      '"string"',
      'spec.leaseDurationSeconds in body must be of type integer: "string"',
    ),
    typeInvalid(
      'spec.managedClusterClientConfigs[0].caBundle',
      '"not base64!"',
      'spec.managedClusterClientConfigs[0].caBundle in body must be of type byte: "not base64!"',
    ),
    invalid(
      'status.capacity.cpu',
      '"4 cores"',
      "status.capacity.cpu in body should match '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$'",
    ),
  ]);
  const e = errors.invalid('ManagedCluster', 'cluster.open-cluster-management.io', 'cluster1', causes.slice(0, 1));
  assert.equal(
    e.message,
    'ManagedCluster.cluster.open-cluster-management.io "cluster1" is invalid: spec.hubAcceptsClient: Invalid value: "string": spec.hubAcceptsClient in body must be of type boolean: "string"',
  );

  // missing spec entirely is fine for ManagedCluster (spec is not required), but ManagedClusterAddOn requires it
  const addon = sampleSchema('managedclusteraddon.yaml');
  assert.deepEqual(
    validateAgainstSchema(
      { apiVersion: 'addon.open-cluster-management.io/v1alpha1', kind: 'ManagedClusterAddOn', metadata: { name: 'a' } },
      addon,
    ),
    [{ type: 'FieldValueRequired', message: 'Required value', field: 'spec' }],
  );
});
