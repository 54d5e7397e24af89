// CRD validation against the real OCM/cluster-gateway CRDs (must be clean, must serve the right
// resources) and a table of broken CRDs that must fail with kube's causes; defaults and status too.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../api/types.ts';
import type { StatusCause } from '../errors/status.ts';
import { crdResourceInfos, crdStatus, defaultCrd, validateCrd, validateCrdUpdate } from './crd-validation.ts';
import { parseManifests, reindentQuotedScalars } from './manifest.ts';

const samples = '/work/shared/samples/upstream/crds';

function load(file: string): KubeObject {
  return defaultCrd(parseManifests(readFileSync(`${samples}/${file}`, 'utf8'))[0] as KubeObject);
}

test('the sample CRDs validate cleanly and serve the right resources', () => {
  const expected: Record<
    string,
    { group: string; version: string; resource: string; kind: string; namespaced: boolean; shortNames: string[] }
  > = {
    'managedcluster.yaml': {
      group: 'cluster.open-cluster-management.io',
      version: 'v1',
      resource: 'managedclusters',
      kind: 'ManagedCluster',
      namespaced: false,
      shortNames: ['mcl', 'mcls'],
    },
    'managedclusteraddon.yaml': {
      group: 'addon.open-cluster-management.io',
      version: 'v1alpha1',
      resource: 'managedclusteraddons',
      kind: 'ManagedClusterAddOn',
      namespaced: true,
      shortNames: [],
    },
    'clustermanagementaddon.yaml': {
      group: 'addon.open-cluster-management.io',
      version: 'v1alpha1',
      resource: 'clustermanagementaddons',
      kind: 'ClusterManagementAddOn',
      namespaced: false,
      shortNames: [],
    },
    'proxy.open-cluster-management.io_clustergatewayconfigurations.yaml': {
      group: 'proxy.open-cluster-management.io',
      version: 'v1alpha1',
      resource: 'clustergatewayconfigurations',
      kind: 'ClusterGatewayConfiguration',
      namespaced: false,
      shortNames: [],
    },
  };
  for (const [file, want] of Object.entries(expected)) {
    const crd = load(file);
    assert.deepEqual(validateCrd(crd), [], file);
    const infos = crdResourceInfos(crd);
    assert.equal(infos.length, 1, file);
    const info = infos[0]!;
    assert.deepEqual(
      {
        group: info.group,
        version: info.version,
        resource: info.resource,
        kind: info.kind,
        namespaced: info.namespaced,
        shortNames: info.shortNames,
      },
      want,
      file,
    );
    assert.equal(info.listKind, `${want.kind}List`);
    assert.equal(info.singular, want.kind.toLowerCase());
    assert.deepEqual(info.verbs, ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch']);
    assert.deepEqual(info.subresources, ['status']);
    assert.equal(info.statusSubresource, true);
    assert.equal(info.hasGeneration, true);
    assert.equal(info.crd?.crdName, `${want.resource}.${want.group}`);
    assert.equal(info.crd?.preserveUnknownFields, false);
    assert.equal((info.crd?.schema as { type?: string } | undefined)?.type, 'object');
  }
  const mc = crdResourceInfos(load('managedcluster.yaml'))[0]!;
  assert.deepEqual(
    mc.crd?.additionalPrinterColumns.map((c) => c.name),
    ['Hub Accepted', 'Managed Cluster URLs', 'Joined', 'Available', 'Age'],
  );
  assert.deepEqual(mc.crd?.additionalPrinterColumns[4], {
    name: 'Age',
    type: 'date',
    jsonPath: '.metadata.creationTimestamp',
  });
});

test('manifest loading tolerates under-indented quoted scalars like go-yaml', () => {
  const src = "a:\n  description: 'first line\n  second line'\n  type: string\n";
  assert.deepEqual(parseManifests(src), [{ a: { description: 'first line second line', type: 'string' } }]);
  assert.equal(reindentQuotedScalars('k: "done"\n'), 'k: "done"\n');
  assert.throws(() => parseManifests('a: [unclosed\n'));
});

function crd(
  over: { name?: string; spec?: Record<string, unknown>; status?: Record<string, unknown> } = {},
): KubeObject {
  const base: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: over.name ?? 'widgets.example.com' },
    spec: {
      group: 'example.com',
      names: { plural: 'widgets', kind: 'Widget' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } },
            },
          },
          subresources: { status: {} },
        },
      ],
      ...over.spec,
    },
  };
  if (over.status) base.status = over.status;
  return defaultCrd(base);
}

function version(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'v1',
    served: true,
    storage: true,
    schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object' } } } },
    ...extra,
  };
}

const S = 'spec.versions[0].schema.openAPIV3Schema';

test('broken CRDs fail with kube causes', () => {
  const dns1035 =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
  const cases: { name: string; crd: KubeObject; want: StatusCause[] }[] = [
    { name: 'valid', crd: crd(), want: [] },
    {
      name: 'name must be plural.group',
      crd: crd({ name: 'widgets.other.com' }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "widgets.other.com": must be spec.names.plural+"."+spec.group',
          field: 'metadata.name',
        },
      ],
    },
    {
      name: 'group needs a dot',
      crd: crd({ name: 'widgets.example', spec: { group: 'example' } }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "example": should be a domain with at least one dot',
          field: 'spec.group',
        },
      ],
    },
    {
      name: 'scope',
      crd: crd({ spec: { scope: 'Global' } }),
      want: [
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: "Global": supported values: "Cluster", "Namespaced"',
          field: 'spec.scope',
        },
      ],
    },
    {
      name: 'names',
      crd: crd({
        name: 'Widgets.example.com',
        spec: { names: { plural: 'Widgets', kind: 'Widget', listKind: 'Widget', shortNames: ['w_1'] } },
      }),
      want: [
        {
          type: 'FieldValueInvalid',
          message:
            "Invalid value: \"Widgets.example.com\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
          field: 'metadata.name',
        },
        { type: 'FieldValueInvalid', message: `Invalid value: "Widgets": ${dns1035}`, field: 'spec.names.plural' },
        { type: 'FieldValueInvalid', message: `Invalid value: "w_1": ${dns1035}`, field: 'spec.names.shortNames[0]' },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "Widget": kind and listKind may not be the same',
          field: 'spec.names.listKind',
        },
      ],
    },
    {
      name: 'no storage version',
      crd: crd({ spec: { versions: [version({ storage: false })] } }),
      want: [
        {
          type: 'FieldValueInvalid',
          message:
            'Invalid value: []apiextensions.CustomResourceDefinitionVersion{apiextensions.CustomResourceDefinitionVersion{Name:"v1", Served:true, Storage:false, Deprecated:false, DeprecationWarning:(*string)(nil), Schema:(*apiextensions.CustomResourceValidation)(0xc000000000), Subresources:(*apiextensions.CustomResourceSubresources)(nil), AdditionalPrinterColumns:[]apiextensions.CustomResourceColumnDefinition(nil), SelectableFields:[]apiextensions.SelectableField(nil)}}: must have exactly one version marked as storage version',
          field: 'spec.versions',
        },
      ],
    },
    {
      name: 'duplicate versions, two storage',
      crd: crd({ spec: { versions: [version({}), version({})] } }),
      want: [
        { type: 'FieldValueInvalid', message: 'must contain unique version names', field: 'spec.versions' },
        {
          type: 'FieldValueInvalid',
          message: 'must have exactly one version marked as storage version',
          field: 'spec.versions',
        },
      ],
    },
    {
      name: 'no versions',
      crd: crd({ spec: { versions: [] } }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'must have exactly one version marked as storage version',
          field: 'spec.versions',
        },
      ],
    },
    {
      name: 'schema required in v1',
      crd: crd({ spec: { versions: [{ name: 'v1', served: true, storage: true }] } }),
      want: [{ type: 'FieldValueRequired', message: 'Required value: schemas are required', field: S }],
    },
    {
      name: 'not structural',
      crd: crd({
        spec: {
          versions: [
            version({
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    spec: {
                      properties: { list: { type: 'array' }, x: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
                    },
                    metadata: { type: 'object', properties: { labels: { type: 'object' } } },
                  },
                },
              },
            }),
          ],
        },
      }),
      want: [
        {
          type: 'FieldValueForbidden',
          message:
            'Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified',
          field: `${S}.properties[metadata]`,
        },
        {
          type: 'FieldValueRequired',
          message: 'Required value: must be specified',
          field: `${S}.properties[spec].properties[list].items`,
        },
        {
          type: 'FieldValueForbidden',
          message: 'Forbidden: must be empty to be structural',
          field: `${S}.properties[spec].properties[x].anyOf[0].type`,
        },
        {
          type: 'FieldValueForbidden',
          message: 'Forbidden: must be empty to be structural',
          field: `${S}.properties[spec].properties[x].anyOf[1].type`,
        },
        {
          type: 'FieldValueRequired',
          message: 'Required value: must not be empty for specified object fields',
          field: `${S}.properties[spec].properties[x].type`,
        },
        {
          type: 'FieldValueRequired',
          message: 'Required value: must not be empty for specified object fields',
          field: `${S}.properties[spec].type`,
        },
      ],
    },
    {
      name: 'root must be object; additionalProperties rules; uniqueItems',
      crd: crd({
        spec: {
          versions: [
            version({
              subresources: undefined,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  additionalProperties: { type: 'string' },
                  properties: { tags: { type: 'array', uniqueItems: true, items: { type: 'string' } } },
                },
              },
            }),
          ],
        },
      }),
      want: [
        {
          type: 'FieldValueForbidden',
          message: 'Forbidden: additionalProperties and properties are mutual exclusive',
          field: `${S}.additionalProperties`,
        },
        {
          type: 'FieldValueForbidden',
          message: 'Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
          field: `${S}.properties[tags].uniqueItems`,
        },
        {
          type: 'FieldValueForbidden',
          message: 'Forbidden: must not be used at the root',
          field: `${S}.additionalProperties`,
        },
      ],
    },
    {
      name: 'status subresource restricts the root schema',
      crd: crd({
        spec: {
          versions: [
            version({
              subresources: { status: {} },
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  anyOf: [{ required: ['spec'] }],
                  properties: { spec: { type: 'object' } },
                },
              },
            }),
          ],
        },
      }),
      want: [
        {
          type: 'FieldValueInvalid',
          message:
            'only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled',
          field: S,
        },
      ],
    },
    {
      name: 'invalid default',
      crd: crd({
        spec: {
          versions: [
            version({
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { n: { type: 'integer', default: 'x' } } } },
                },
              },
            }),
          ],
        },
      }),
      want: [
        {
          type: 'FieldValueTypeInvalid',
          message: `Invalid value: "string": ${S}.properties[spec].properties[n].default in body must be of type integer: "string"`,
          field: `${S}.properties[spec].properties[n].default`,
        },
      ],
    },
    {
      name: 'list-type map without keys',
      crd: crd({
        spec: {
          versions: [
            version({
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: {
                    l: {
                      type: 'array',
                      'x-kubernetes-list-type': 'map',
                      items: { type: 'object', properties: { n: { type: 'string' } } },
                    },
                  },
                },
              },
            }),
          ],
        },
      }),
      want: [
        {
          type: 'FieldValueRequired',
          message: 'Required value: must not be empty if x-kubernetes-list-type is map',
          field: `${S}.properties[l].x-kubernetes-list-map-keys`,
        },
      ],
    },
    {
      name: 'scale subresource paths',
      crd: crd({
        spec: {
          versions: [
            version({
              subresources: { scale: { specReplicasPath: '.replicas', statusReplicasPath: 'status.replicas' } },
            }),
          ],
        },
      }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: ".replicas": should be a json path under .spec',
          field: 'spec.versions[0].subresources.scale.specReplicasPath',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "status.replicas": must be a simple json path starting with .',
          field: 'spec.versions[0].subresources.scale.statusReplicasPath',
        },
      ],
    },
    {
      name: 'printer columns',
      crd: crd({
        spec: {
          versions: [
            version({
              additionalPrinterColumns: [{ name: 'X', type: 'float', jsonPath: '.spec.x' }, { type: 'string' }],
            }),
          ],
        },
      }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "float": must be one of boolean,date,integer,number,string',
          field: 'spec.versions[0].additionalPrinterColumns[0].type',
        },
        {
          type: 'FieldValueRequired',
          message: 'Required value',
          field: 'spec.versions[0].additionalPrinterColumns[1].name',
        },
        {
          type: 'FieldValueRequired',
          message: 'Required value',
          field: 'spec.versions[0].additionalPrinterColumns[1].jsonPath',
        },
      ],
    },
    {
      name: 'preserveUnknownFields must be false',
      crd: crd({ spec: { preserveUnknownFields: true } }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: true: must be false',
          field: 'spec.preserveUnknownFields',
        },
      ],
    },
    {
      name: 'webhook conversion',
      crd: crd({
        spec: { conversion: { strategy: 'Webhook', webhook: { clientConfig: { url: 'http://x/convert' } } } },
      }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: `Invalid value: "http://x/convert": 'https' is the only allowed URL scheme`,
          field: 'spec.conversion.webhookClientConfig.url',
        },
        {
          type: 'FieldValueRequired',
          message: 'Required value: must include at least one of v1, v1beta1',
          field: 'spec.conversion.conversionReviewVersions',
        },
      ],
    },
    {
      name: 'stored versions must exist',
      crd: crd({ status: { storedVersions: ['v1', 'v0'] } }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "v0": must appear in spec.versions',
          field: 'status.storedVersions[1]',
        },
      ],
    },
  ];
  // causes whose bad value is a long Go struct dump give only the detail after it; they match by suffix
  const full = /^(Invalid value|Required value|Forbidden|Unsupported value|Too |Duplicate value)/;
  for (const c of cases) {
    const got = validateCrd(c.crd);
    assert.equal(got.length, c.want.length, `${c.name}: ${JSON.stringify(got, null, 1)}`);
    got.forEach((g, i) => {
      const w = c.want[i]!;
      assert.equal(g.type, w.type, c.name);
      assert.equal(g.field, w.field, c.name);
      const wm = w.message ?? '';
      if (full.test(wm)) assert.equal(g.message, wm, c.name);
      else
        assert.ok(
          g.message?.startsWith('Invalid value: ') && g.message.endsWith(`: ${wm}`),
          `${c.name}: ${g.message ?? ''}`,
        );
    });
  }
});

test('validateCrdUpdate: group and plural always, scope and kind once established', () => {
  const old = crd({ status: crdStatus(crd(), true, new Date(0)) as unknown as Record<string, unknown> });
  const next = crd({ spec: { scope: 'Cluster', group: 'example.com', names: { plural: 'widgets', kind: 'Gadget' } } });
  assert.deepEqual(validateCrdUpdate(next, old), [
    { type: 'FieldValueInvalid', message: 'Invalid value: "Cluster": field is immutable', field: 'spec.scope' },
    { type: 'FieldValueInvalid', message: 'Invalid value: "Gadget": field is immutable', field: 'spec.names.kind' },
  ]);
  const notEstablished = crd();
  assert.deepEqual(validateCrdUpdate(next, notEstablished), []);
  const moved = crd({ name: 'gadgets.example.com', spec: { names: { plural: 'gadgets', kind: 'Widget' } } });
  assert.deepEqual(validateCrdUpdate(moved, notEstablished), [
    { type: 'FieldValueInvalid', message: 'Invalid value: "gadgets": field is immutable', field: 'spec.names.plural' },
  ]);
});

test('defaultCrd fills what kube defaults', () => {
  const c = defaultCrd({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'foos.example.com' },
    spec: {
      group: 'example.com',
      names: { plural: 'foos', kind: 'Foo' },
      conversion: { strategy: 'Webhook', webhook: { clientConfig: { service: { name: 's', namespace: 'n' } } } },
    },
  });
  assert.deepEqual(c.spec, {
    group: 'example.com',
    names: { plural: 'foos', kind: 'Foo', singular: 'foo', listKind: 'FooList' },
    conversion: {
      strategy: 'Webhook',
      webhook: { clientConfig: { service: { name: 's', namespace: 'n', port: 443 } } },
    },
  });
  const d = defaultCrd({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {},
    spec: { names: { kind: 'Bar', singular: 'b' } },
  });
  assert.deepEqual(d.spec, {
    names: { kind: 'Bar', singular: 'b', listKind: 'BarList' },
    conversion: { strategy: 'None' },
  });
});

test('crdStatus: accepted, conflicting, and transitions', () => {
  const c = load('managedcluster.yaml');
  const t0 = new Date('2024-01-01T00:00:00.123Z');
  const s = crdStatus(c, true, t0);
  assert.deepEqual(s, {
    conditions: [
      {
        type: 'NamesAccepted',
        status: 'True',
        lastTransitionTime: '2024-01-01T00:00:00Z',
        reason: 'NoConflicts',
        message: 'no conflicts found',
      },
      {
        type: 'Established',
        status: 'True',
        lastTransitionTime: '2024-01-01T00:00:00Z',
        reason: 'InitialNamesAccepted',
        message: 'the initial names have been accepted',
      },
    ],
    acceptedNames: {
      plural: 'managedclusters',
      singular: 'managedcluster',
      shortNames: ['mcl', 'mcls'],
      kind: 'ManagedCluster',
      listKind: 'ManagedClusterList',
    },
    storedVersions: ['v1'],
  });
  // unchanged conditions keep their transition time; other condition types survive
  const withOther = {
    ...c,
    status: {
      ...s,
      conditions: [
        ...s.conditions,
        { type: 'NonStructuralSchema', status: 'False', lastTransitionTime: 'x', reason: 'r', message: 'm' },
      ],
    },
  };
  const s2 = crdStatus(withOther, true, new Date('2025-01-01T00:00:00Z'));
  assert.equal(s2.conditions[0]!.lastTransitionTime, '2024-01-01T00:00:00Z');
  assert.equal(s2.conditions[2]!.type, 'NonStructuralSchema');

  const fresh = crd();
  const clash = crdStatus(fresh, false, t0);
  assert.deepEqual(clash.conditions, [
    {
      type: 'NamesAccepted',
      status: 'False',
      lastTransitionTime: '2024-01-01T00:00:00Z',
      reason: 'PluralConflict',
      message: '"widgets" is already in use',
    },
    {
      type: 'Established',
      status: 'False',
      lastTransitionTime: '2024-01-01T00:00:00Z',
      reason: 'NotAccepted',
      message: 'not all names are accepted',
    },
  ]);
  assert.equal(clash.acceptedNames.plural, undefined);
  assert.equal(clash.acceptedNames.kind, 'Widget');

  // a new storage version is appended to storedVersions
  const v2 = crd({
    status: { storedVersions: ['v1'] },
    spec: { versions: [version({ storage: false }), version({ name: 'v2' })] },
  });
  assert.deepEqual(crdStatus(v2, true, t0).storedVersions, ['v1', 'v2']);
  assert.deepEqual(
    crdResourceInfos(v2).map((i) => i.version),
    ['v1', 'v2'],
  );
  const unserved = crd({ spec: { versions: [version({ served: false })] } });
  assert.deepEqual(crdResourceInfos(unserved), []);
});
