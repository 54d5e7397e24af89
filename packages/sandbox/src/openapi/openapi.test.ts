// Tests for the OpenAPI schemas and documents: generated builtin definitions carry kube's names and
// patch/list extensions, v2/v3 documents have the shape kubectl reads (fieldValidation on PATCH,
// the v3 index, GVK lookup), and unknown-field detection honors the schema escape hatches.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceInfo } from '../api/types.ts';
import { builtinResources } from '../api/builtin.ts';
import {
  OpenApiService,
  buildV2,
  buildV3,
  etagMatches,
  groupVersionId,
  schemaForKind,
  unknownFields,
  unknownObjectFields,
  type JsonSchema,
} from './openapi.ts';
import { builtinDefinitions, crdDefinitionName, definitionNameFor, toV3 } from './schemas.ts';

// documents are probed deeply by path; typing every level would only restate the assertions

type Any = Record<string, any>;

const managedClusters: ResourceInfo = {
  group: 'cluster.open-cluster-management.io',
  version: 'v1',
  resource: 'managedclusters',
  kind: 'ManagedCluster',
  listKind: 'ManagedClusterList',
  singular: 'managedcluster',
  namespaced: false,
  shortNames: ['mcl'],
  categories: [],
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  crd: {
    crdName: 'managedclusters.cluster.open-cluster-management.io',
    schema: {
      type: 'object',
      description: 'ManagedCluster represents the desired state and current status of a managed cluster.',
      properties: {
        spec: {
          type: 'object',
          description: 'Spec represents a desired configuration for the agent on the managed cluster.',
          properties: {
            hubAcceptsClient: { type: 'boolean' },
            managedClusterClientConfigs: {
              type: 'array',
              items: { type: 'object', properties: { url: { type: 'string' }, caBundle: { type: 'string' } } },
            },
            port: { 'x-kubernetes-int-or-string': true },
            labelsMap: { type: 'object', additionalProperties: { type: 'string' } },
            anything: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            closed: { type: 'object' },
            template: {
              type: 'object',
              'x-kubernetes-embedded-resource': true,
              properties: { spec: { type: 'object', properties: { a: { type: 'string' } } } },
            },
          },
        },
        status: {
          type: 'object',
          properties: {
            conditions: {
              type: 'array',
              items: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'string' } } },
            },
          },
        },
      },
    },
    additionalPrinterColumns: [],
    preserveUnknownFields: false,
  },
};

const resources = (): ResourceInfo[] => [...builtinResources(), managedClusters];

test('builtin definitions: real kube names, ConfigMap fields, GVK', () => {
  const defs = builtinDefinitions();
  const cm = defs['io.k8s.api.core.v1.ConfigMap'] as Any;
  assert.ok(cm, 'ConfigMap definition');
  assert.deepEqual(Object.keys(cm.properties).sort(), [
    'apiVersion',
    'binaryData',
    'data',
    'immutable',
    'kind',
    'metadata',
  ]);
  assert.deepEqual(cm.properties.binaryData.additionalProperties, { format: 'byte', type: 'string' });
  assert.equal(cm.properties.metadata.$ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  assert.deepEqual(cm['x-kubernetes-group-version-kind'], [{ group: '', kind: 'ConfigMap', version: 'v1' }]);
  for (const name of [
    'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
    'io.k8s.apimachinery.pkg.api.resource.Quantity',
    'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
    'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1.APIService',
    'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition',
    'io.k8s.api.core.v1.PodTemplateSpec',
    'io.k8s.api.rbac.v1.Subject',
    'io.k8s.api.core.v1.Event',
    'io.k8s.api.authentication.v1.TokenRequest',
    'io.k8s.api.policy.v1.Eviction',
    'io.k8s.api.autoscaling.v1.Scale',
    'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent',
  ]) {
    assert.ok(defs[name], name);
  }
  // no definition may land in a package it does not belong to
  assert.equal(defs['io.k8s.api.apps.v1.PodSpec'], undefined);
  assert.equal(defs['io.k8s.api.apps.v1.PodTemplateSpec'], undefined);
});

test('builtin definitions: every $ref resolves, time/int-or-string/quantity types', () => {
  const defs = builtinDefinitions();
  const text = JSON.stringify(defs);
  for (const m of text.matchAll(/"#\/definitions\/([^"]+)"/g)) assert.ok(defs[m[1]!], `dangling ${m[1]}`);
  assert.deepEqual(
    {
      type: defs['io.k8s.apimachinery.pkg.apis.meta.v1.Time']!.type,
      format: defs['io.k8s.apimachinery.pkg.apis.meta.v1.Time']!.format,
    },
    { type: 'string', format: 'date-time' },
  );
  assert.equal(defs['io.k8s.apimachinery.pkg.util.intstr.IntOrString']!.format, 'int-or-string');
  const rr = defs['io.k8s.api.core.v1.ResourceRequirements'] as Any;
  assert.equal(
    rr.properties.limits.additionalProperties.$ref,
    '#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity',
  );
  const sp = defs['io.k8s.api.core.v1.ServicePort'] as Any;
  assert.equal(sp.properties.targetPort.$ref, '#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString');
  const lease = defs['io.k8s.api.coordination.v1.LeaseSpec'] as Any;
  assert.equal(lease.properties.renewTime.$ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime');
  assert.ok(text.length < 2_000_000, 'builtin-schemas.json stays small');
});

const ext = (def: string, prop: string): Any => {
  const p = (builtinDefinitions()[def] as Any).properties[prop] as Any;
  return Object.fromEntries(Object.entries(p).filter(([k]) => k.startsWith('x-kubernetes-')));
};

test('builtin definitions: patch and list extensions kube publishes', () => {
  const byName = {
    'x-kubernetes-list-map-keys': ['name'],
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-patch-merge-key': 'name',
    'x-kubernetes-patch-strategy': 'merge',
  };
  const cases: [string, string, Any][] = [
    ['io.k8s.api.core.v1.PodSpec', 'containers', byName],
    ['io.k8s.api.core.v1.PodSpec', 'initContainers', byName],
    ['io.k8s.api.core.v1.PodSpec', 'ephemeralContainers', byName],
    ['io.k8s.api.core.v1.PodSpec', 'imagePullSecrets', byName],
    ['io.k8s.api.core.v1.PodSpec', 'volumes', { ...byName, 'x-kubernetes-patch-strategy': 'merge,retainKeys' }],
    ['io.k8s.api.core.v1.PodSpec', 'tolerations', { 'x-kubernetes-list-type': 'atomic' }],
    ['io.k8s.api.core.v1.Container', 'env', byName],
    [
      'io.k8s.api.core.v1.Container',
      'ports',
      {
        'x-kubernetes-list-map-keys': ['containerPort', 'protocol'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'containerPort',
        'x-kubernetes-patch-strategy': 'merge',
      },
    ],
    [
      'io.k8s.api.core.v1.Container',
      'volumeMounts',
      {
        'x-kubernetes-list-map-keys': ['mountPath'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'mountPath',
        'x-kubernetes-patch-strategy': 'merge',
      },
    ],
    [
      'io.k8s.api.core.v1.ServiceSpec',
      'ports',
      {
        'x-kubernetes-list-map-keys': ['port', 'protocol'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'port',
        'x-kubernetes-patch-strategy': 'merge',
      },
    ],
    [
      'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
      'finalizers',
      { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
    ],
    [
      'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
      'ownerReferences',
      {
        'x-kubernetes-list-map-keys': ['uid'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'uid',
        'x-kubernetes-patch-strategy': 'merge',
      },
    ],
    ['io.k8s.api.apps.v1.DeploymentSpec', 'strategy', { 'x-kubernetes-patch-strategy': 'retainKeys' }],
    ['io.k8s.api.rbac.v1.PolicyRule', 'verbs', { 'x-kubernetes-list-type': 'atomic' }],
    ['io.k8s.api.rbac.v1.ClusterRole', 'rules', { 'x-kubernetes-list-type': 'atomic' }],
    [
      'io.k8s.api.apps.v1.DeploymentStatus',
      'conditions',
      {
        'x-kubernetes-list-map-keys': ['type'],
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-patch-merge-key': 'type',
        'x-kubernetes-patch-strategy': 'merge',
      },
    ],
    ['io.k8s.api.core.v1.ConfigMap', 'data', {}],
  ];
  for (const [def, prop, want] of cases) assert.deepEqual(ext(def, prop), want, `${def}.${prop}`);
  assert.equal(
    builtinDefinitions()['io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector']!['x-kubernetes-map-type'],
    'atomic',
  );
});

test('every builtin served resource has a builtin definition (and list when listable)', () => {
  const defs = builtinDefinitions();
  for (const r of builtinResources()) {
    const name = definitionNameFor(r);
    assert.ok(defs[name], `${r.resource}: ${name}`);
  }
});

test('crd definition names: reversed group + version + kind', () => {
  assert.equal(
    crdDefinitionName('cluster.open-cluster-management.io', 'v1', 'ManagedCluster'),
    'io.open-cluster-management.cluster.v1.ManagedCluster',
  );
  assert.equal(crdDefinitionName('example.com', 'v1alpha1', 'Foo'), 'com.example.v1alpha1.Foo');
  assert.equal(definitionNameFor(managedClusters), 'io.open-cluster-management.cluster.v1.ManagedCluster');
});

test('operationId group-version part', () => {
  const cases: [string, string, string][] = [
    ['', 'v1', 'CoreV1'],
    ['apps', 'v1', 'AppsV1'],
    ['rbac.authorization.k8s.io', 'v1', 'RbacAuthorizationV1'],
    ['apiextensions.k8s.io', 'v1', 'ApiextensionsV1'],
    ['cluster.open-cluster-management.io', 'v1beta1', 'ClusterOpenClusterManagementIoV1beta1'],
  ];
  for (const [g, v, want] of cases) assert.equal(groupVersionId(g, v), want);
});

test('v2: paths carry actions, GVKs, operationIds and fieldValidation on writes', () => {
  const doc: Any = buildV2(resources());
  assert.equal(doc.swagger, '2.0');
  const pod = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'];
  assert.equal(pod.patch.operationId, 'patchCoreV1NamespacedPod');
  assert.equal(pod.patch['x-kubernetes-action'], 'patch');
  assert.deepEqual(pod.patch['x-kubernetes-group-version-kind'], { group: '', version: 'v1', kind: 'Pod' });
  const names = (op: Any): string[] => (op.parameters as Any[]).map((p) => p.name as string);
  for (const op of [pod.patch, pod.put, doc.paths['/api/v1/namespaces/{namespace}/pods'].post]) {
    for (const p of ['fieldValidation', 'dryRun', 'fieldManager'])
      assert.ok(names(op).includes(p), `${op.operationId} ${p}`);
  }
  assert.ok(names(pod.patch).includes('force'));
  assert.deepEqual(pod.patch.consumes, [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
    'application/apply-patch+yaml',
  ]);
  assert.equal(doc.paths['/api/v1/pods'].get.operationId, 'listCoreV1PodForAllNamespaces');
  assert.equal(
    doc.paths['/api/v1/namespaces/{namespace}/pods'].delete.operationId,
    'deleteCoreV1CollectionNamespacedPod',
  );
  assert.equal(doc.paths['/api/v1/watch/namespaces/{namespace}/pods/{name}'].get['x-kubernetes-action'], 'watch');
  assert.equal(
    doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/exec'].post.operationId,
    'connectCoreV1PostNamespacedPodExec',
  );
  assert.equal(
    doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/log'].get.operationId,
    'readCoreV1NamespacedPodLog',
  );
  const scale = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
  assert.deepEqual(scale.get['x-kubernetes-group-version-kind'], {
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
  });
  assert.equal(
    doc.paths['/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token'].post.operationId,
    'createCoreV1NamespacedServiceAccountToken',
  );
  assert.equal(doc.paths['/api/v1/namespaces/{name}/finalize'].put.operationId, 'replaceCoreV1NamespaceFinalize');
  // create-only review resources: a POST and nothing else, no invented list definition
  const tr = doc.paths['/apis/authentication.k8s.io/v1/tokenreviews'];
  assert.deepEqual(
    Object.keys(tr).filter((k) => k !== 'parameters'),
    ['post'],
  );
  assert.equal(doc.definitions['io.k8s.authentication.v1.TokenReviewList'], undefined);
  // CRD: kube's definition name, no strategic merge patch
  const mc = doc.paths['/apis/cluster.open-cluster-management.io/v1/managedclusters/{name}'];
  assert.equal(mc.patch.operationId, 'patchClusterOpenClusterManagementIoV1ManagedCluster');
  assert.ok(!mc.patch.consumes.includes('application/strategic-merge-patch+json'));
  assert.ok(names(mc.patch).includes('fieldValidation'));
  assert.deepEqual(
    doc.definitions['io.open-cluster-management.cluster.v1.ManagedCluster']['x-kubernetes-group-version-kind'],
    [{ group: 'cluster.open-cluster-management.io', kind: 'ManagedCluster', version: 'v1' }],
  );
  // every ref in the document resolves
  for (const m of JSON.stringify(doc).matchAll(/"#\/definitions\/([^"]+)"/g)) assert.ok(doc.definitions[m[1]!], m[1]);
});

test('v3 index and group-version documents', () => {
  const svc = new OpenApiService(resources);
  const index = svc.v3Index();
  for (const p of [
    'api',
    'api/v1',
    'apis',
    'apis/apps',
    'apis/apps/v1',
    'apis/cluster.open-cluster-management.io/v1',
  ]) {
    assert.match(
      index.paths[p]?.serverRelativeURL ?? '',
      new RegExp(`^/openapi/v3/${p.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{128}$`),
      p,
    );
  }
  const core = svc.v3('api/v1') as Any;
  assert.equal(core.openapi, '3.0.0');
  const cm = core.components.schemas['io.k8s.api.core.v1.ConfigMap'];
  assert.deepEqual(cm.properties.metadata.allOf, [
    { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
  ]);
  assert.ok(!JSON.stringify(core).includes('#/definitions/'), 'v3 refs only');
  for (const m of JSON.stringify(core).matchAll(/"#\/components\/schemas\/([^"]+)"/g))
    assert.ok(core.components.schemas[m[1]!], m[1]);
  assert.equal(core.components.schemas['io.k8s.api.apps.v1.Deployment'], undefined, 'only what api/v1 references');
  const patch = core.paths['/api/v1/namespaces/{namespace}/configmaps/{name}'].patch;
  assert.ok((patch.parameters as Any[]).some((p) => p.name === 'fieldValidation' && p.in === 'query'));
  assert.ok(patch.requestBody.content['application/apply-patch+yaml']);
  const io = core.components.schemas['io.k8s.apimachinery.pkg.util.intstr.IntOrString'];
  assert.deepEqual(io.oneOf, [{ type: 'integer' }, { type: 'string' }]);
  const mc = svc.v3('/apis/cluster.open-cluster-management.io/v1/') as Any;
  const def = mc.components.schemas['io.open-cluster-management.cluster.v1.ManagedCluster'];
  assert.equal(
    def.properties.spec.description,
    'Spec represents a desired configuration for the agent on the managed cluster.',
  );
  assert.ok(mc.components.schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']);
  assert.equal(svc.v3('apis/nope.example.com/v1'), undefined);
  assert.equal(buildV3(resources(), 'apis/nope.example.com'), undefined);
});

test('OpenApiService caches until the resource set changes; hashes follow content', () => {
  let set = builtinResources();
  let builds = 0;
  const svc = new OpenApiService(() => {
    builds++;
    return set;
  });
  const a = svc.v2();
  const h1 = svc.v3Index().paths['api/v1']!.serverRelativeURL;
  assert.equal(svc.v2(), a, 'same buffer while unchanged');
  assert.equal(svc.v3Body('api/v1')!.hash, h1.split('hash=')[1]);
  set = [...set, managedClusters];
  assert.notEqual(svc.v2(), a, 'rebuilt after change');
  assert.ok(svc.v3Index().paths['apis/cluster.open-cluster-management.io/v1']);
  assert.equal(svc.v3Index().paths['api/v1']!.serverRelativeURL, h1, 'unrelated group-version keeps its hash');
  assert.ok(builds > 0);
  assert.ok(etagMatches(`"${svc.v2ETag()}"`, `"${svc.v2ETag()}"`));
  assert.ok(etagMatches(`W/"x", "${svc.v2ETag()}"`, `"${svc.v2ETag()}"`));
  assert.ok(!etagMatches('"nope"', `"${svc.v2ETag()}"`));
  assert.ok(!etagMatches(undefined, '"x"'));
  // with a generation counter, an unchanged generation skips even the fingerprint
  let gen = 1;
  let calls = 0;
  const svc2 = new OpenApiService(
    () => {
      calls++;
      return set;
    },
    () => gen,
  );
  svc2.v3Index();
  const before = calls;
  svc2.v3('api/v1');
  assert.equal(calls, before);
  gen++;
  svc2.v3('api/v1');
  assert.equal(calls, before + 1);
  assert.ok(svc2.schemaForKind('cluster.open-cluster-management.io', 'v1', 'ManagedCluster'));
});

test('schemaForKind: builtin and CRD, v3 refs resolvable', () => {
  const pod = schemaForKind('', 'v1', 'Pod');
  assert.ok(pod);
  const specRef = ((pod.schema.properties as Any).spec.allOf as Any[])[0]!.$ref as string;
  assert.equal(specRef, '#/components/schemas/io.k8s.api.core.v1.PodSpec');
  const spec = pod.resolve(specRef)!;
  assert.equal((spec.properties as Any).containers['x-kubernetes-patch-merge-key'], 'name');
  assert.ok(pod.resolve('#/definitions/io.k8s.api.core.v1.Container'), 'v2-style refs resolve too');
  assert.equal(pod.resolve('#/components/schemas/nope'), undefined);
  assert.equal(schemaForKind('', 'v1', 'NoSuchKind'), undefined);
  assert.equal(
    schemaForKind('cluster.open-cluster-management.io', 'v1', 'ManagedCluster'),
    undefined,
    'CRDs need the resource set',
  );
  const mc = schemaForKind('cluster.open-cluster-management.io', 'v1', 'ManagedCluster', [managedClusters]);
  assert.ok(mc);
  assert.ok(mc.resolve('#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'));
});

test('unknownFields: builtin kinds', () => {
  const cm = schemaForKind('', 'v1', 'ConfigMap')!;
  const dep = schemaForKind('apps', 'v1', 'Deployment')!;
  const cases: [string, typeof cm, unknown, string[]][] = [
    [
      'clean configmap',
      cm,
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { a: 'b' } }, data: { k: 'v' } },
      [],
    ],
    ['top-level typo', cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, dta: {} }, ['.dta']],
    ['metadata typo', cm, { metadata: { name: 'x', lables: {} } }, ['.metadata.lables']],
    [
      'nested list item',
      dep,
      {
        spec: {
          selector: { matchLabels: { a: 'b' } },
          template: {
            spec: {
              containers: [
                {
                  name: 'c',
                  image: 'i',
                  imagePullPolicy: 'Always',
                  bogus: 1,
                  ports: [{ containerPort: 80, nope: true }],
                },
              ],
            },
          },
          strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
        },
      },
      ['.spec.template.spec.containers[0].bogus', '.spec.template.spec.containers[0].ports[0].nope'],
    ],
    [
      'resources quantities are scalars',
      dep,
      {
        spec: { template: { spec: { containers: [{ name: 'c', resources: { limits: { cpu: 1, memory: '1Gi' } } }] } } },
      },
      [],
    ],
    [
      'managedFields fieldsV1 is opaque',
      cm,
      { metadata: { managedFields: [{ manager: 'm', fieldsV1: { 'f:data': { 'f:x': {} } } }] } },
      [],
    ],
    ['null values are not checked', cm, { data: null, metadata: null }, []],
  ];
  for (const [name, s, obj, want] of cases) assert.deepEqual(unknownFields(obj, s.schema, s.resolve), want, name);
});

test('unknownFields: CRD schemas (preserve, embedded, int-or-string, additionalProperties)', () => {
  const s = schemaForKind(managedClusters.group, managedClusters.version, managedClusters.kind, [managedClusters])!;
  const cases: [string, unknown, string[]][] = [
    [
      'clean',
      { apiVersion: 'x/v1', kind: 'ManagedCluster', metadata: { name: 'a' }, spec: { hubAcceptsClient: true } },
      [],
    ],
    ['unknown spec field', { spec: { hubAcceptsClient: true, foo: 1 } }, ['.spec.foo']],
    [
      'unknown in array item',
      { spec: { managedClusterClientConfigs: [{ url: 'u' }, { url: 'v', extra: 1 }] } },
      ['.spec.managedClusterClientConfigs[1].extra'],
    ],
    ['int-or-string accepts both', { spec: { port: 8080 } }, []],
    ['additionalProperties map', { spec: { labelsMap: { a: 'b', c: 'd' } } }, []],
    ['preserve-unknown-fields', { spec: { anything: { deep: { deeper: 1 } } } }, []],
    ['object without properties is closed', { spec: { closed: { x: 1 } } }, ['.spec.closed.x']],
    [
      'embedded resource',
      {
        spec: {
          template: { apiVersion: 'v1', kind: 'X', metadata: { name: 'n', bogus: 1 }, spec: { a: 'x', b: 'y' } },
        },
      },
      ['.spec.template.metadata.bogus', '.spec.template.spec.b'],
    ],
    ['unknown top-level field', { spec: {}, extra: true }, ['.extra']],
    ['not an object: nothing to report', 'just a string', []],
  ];
  for (const [name, obj, want] of cases) assert.deepEqual(unknownFields(obj, s.schema, s.resolve), want, name);
  assert.deepEqual(unknownObjectFields({ apiVersion: 'a', kind: 'b', spec: { foo: 1 } }, s), ['.spec.foo']);
});

test('toV3 rewrites refs and wraps ref siblings in allOf; data keywords untouched', () => {
  const v2: JsonSchema = {
    properties: {
      a: { $ref: '#/definitions/X' },
      b: { $ref: '#/definitions/Y', description: 'b' },
      c: { type: 'string', enum: [{ $ref: '#/definitions/not-a-ref' }] },
    },
  };
  assert.deepEqual(toV3(v2), {
    properties: {
      a: { $ref: '#/components/schemas/X' },
      b: { description: 'b', allOf: [{ $ref: '#/components/schemas/Y' }] },
      c: { type: 'string', enum: [{ $ref: '#/definitions/not-a-ref' }] },
    },
  });
});

test('a CRD without a schema (or preserving unknown fields) gets a permissive definition', () => {
  const loose: ResourceInfo = {
    ...managedClusters,
    group: 'loose.example.com',
    resource: 'things',
    kind: 'Thing',
    listKind: 'ThingList',
    crd: {
      crdName: 'things.loose.example.com',
      schema: undefined,
      additionalPrinterColumns: [],
      preserveUnknownFields: true,
    },
  };
  const s = schemaForKind('loose.example.com', 'v1', 'Thing', [loose])!;
  assert.equal(s.schema['x-kubernetes-preserve-unknown-fields'], true);
  assert.deepEqual(unknownFields({ spec: { anything: 1 }, metadata: { name: 'a' } }, s.schema, s.resolve), []);
});
