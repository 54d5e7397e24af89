// Tables for ObjectMeta and builtin-kind validation: each bad input must produce kube's exact cause
// (type, field, message) and each good input none; plus Go value rendering and 422 message assembly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, ObjectMeta } from './types.ts';
import type { StatusCause } from '../errors/status.ts';
import {
  GoRepr,
  base64ErrorOffset,
  decodeError,
  errorBody,
  field,
  goFloat,
  goQuote,
  goSharpV,
  goValue,
  invalidError,
  isDNS1123Subdomain,
  nameValidatorForKind,
  objectMetaOptionsForKind,
  validateBuiltin,
  validateObjectMeta,
  validateUpdateMeta,
  type ObjectMetaOptions,
} from './validation.ts';

const subdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const labelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const dns1035Msg =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

test('Go value rendering matches fmt', () => {
  const cases: [unknown, string][] = [
    ['a"b', '"a\\"b"'],
    [5, '5'],
    [-1, '-1'],
    [1.5, '1.5'],
    [true, 'true'],
    [null, 'null'],
    [{ b: 1, a: 'x' }, 'map[string]interface {}{"a":"x", "b":1}'],
    [['a', 2], '[]interface {}{"a", 2}'],
    [new GoRepr('v1.Thing{}'), 'v1.Thing{}'],
  ];
  for (const [v, want] of cases) assert.equal(goValue(v), want, JSON.stringify(v));
  assert.equal(goFloat(1e6), '1e+06');
  assert.equal(goFloat(123456), '123456');
  assert.equal(goFloat(0.00001), '1e-05');
  assert.equal(goFloat(2.25), '2.25');
  assert.equal(goQuote('\u0001'), '"\\x01"');
  assert.equal(goSharpV({}), 'map[string]interface {}{}');
});

test('errorBody follows field.Error.ErrorBody', () => {
  assert.equal(errorBody('FieldValueRequired', '', ''), 'Required value');
  assert.equal(
    errorBody('FieldValueRequired', '', 'name or generateName is required'),
    'Required value: name or generateName is required',
  );
  assert.equal(errorBody('FieldValueInvalid', 'x', 'bad'), 'Invalid value: "x": bad');
  assert.equal(
    errorBody('FieldValueForbidden', 'ignored', 'not allowed on this type'),
    'Forbidden: not allowed on this type',
  );
  assert.deepEqual(field.notSupported('spec.x', 'c', ['a', 'b']), {
    type: 'FieldValueNotSupported',
    message: 'Unsupported value: "c": supported values: "a", "b"',
    field: 'spec.x',
  });
  assert.deepEqual(field.tooLong('metadata.annotations', 262144), {
    type: 'FieldValueTooLong',
    message: 'Too long: may not be more than 262144 bytes',
    field: 'metadata.annotations',
  });
  assert.equal(field.tooMany('spec.x', 3, 2).message, 'Too many: 3: must have at most 2 items');
  assert.equal(field.duplicate('spec.x[1]', 'a').message, 'Duplicate value: "a"');
});

test('name formats', () => {
  assert.deepEqual(isDNS1123Subdomain('example.com'), []);
  assert.deepEqual(isDNS1123Subdomain('Bad_Name'), [subdomainMsg]);
  assert.deepEqual(isDNS1123Subdomain('a'.repeat(254)), ['must be no more than 253 characters']);
  assert.equal(nameValidatorForKind('services'), 'dns1035label');
  assert.equal(nameValidatorForKind('namespaces'), 'dns1123label');
  assert.equal(nameValidatorForKind('roles.rbac.authorization.k8s.io'), 'path');
  assert.equal(nameValidatorForKind('configmaps'), 'dns1123subdomain');
  assert.deepEqual(objectMetaOptionsForKind('services', true), {
    namespaced: true,
    nameValidator: 'dns1035label',
    kubeFinalizers: true,
  });
  assert.deepEqual(objectMetaOptionsForKind('apiservices.apiregistration.k8s.io', false), {
    namespaced: false,
    nameValidator: 'path',
    kubeFinalizers: false,
  });
});

test('validateObjectMeta', () => {
  const ns: ObjectMetaOptions = { namespaced: true, nameValidator: 'dns1123subdomain' };
  const cluster: ObjectMetaOptions = { namespaced: false, nameValidator: 'dns1123label' };
  const cases: { name: string; meta: ObjectMeta; opts: ObjectMetaOptions; want: StatusCause[] }[] = [
    {
      name: 'valid namespaced',
      meta: { name: 'a.b', namespace: 'default', labels: { 'app.kubernetes.io/name': 'x' } },
      opts: ns,
      want: [],
    },
    {
      name: 'generateName with trailing dash',
      meta: { generateName: 'web-', namespace: 'default' },
      opts: ns,
      want: [],
    },
    {
      name: 'no name',
      meta: { namespace: 'default' },
      opts: ns,
      want: [
        {
          type: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
          field: 'metadata.name',
        },
      ],
    },
    {
      name: 'bad subdomain name',
      meta: { name: 'Bad_Name', namespace: 'default' },
      opts: ns,
      want: [
        { type: 'FieldValueInvalid', message: `Invalid value: "Bad_Name": ${subdomainMsg}`, field: 'metadata.name' },
      ],
    },
    {
      name: 'namespace name with dots',
      meta: { name: 'a.b' },
      opts: cluster,
      want: [
        { type: 'FieldValueInvalid', message: 'Invalid value: "a.b": must not contain dots', field: 'metadata.name' },
      ],
    },
    {
      name: 'bad label name for dns1123label',
      meta: { name: '-x' },
      opts: cluster,
      want: [{ type: 'FieldValueInvalid', message: `Invalid value: "-x": ${labelMsg}`, field: 'metadata.name' }],
    },
    {
      name: 'dns1035 rejects a leading digit',
      meta: { name: '1svc', namespace: 'default' },
      opts: { namespaced: true, nameValidator: 'dns1035label' },
      want: [{ type: 'FieldValueInvalid', message: `Invalid value: "1svc": ${dns1035Msg}`, field: 'metadata.name' }],
    },
    {
      name: 'path segment names',
      meta: { name: 'a/b%' },
      opts: { namespaced: false, nameValidator: 'path' },
      want: [
        { type: 'FieldValueInvalid', message: `Invalid value: "a/b%": may not contain '/'`, field: 'metadata.name' },
        { type: 'FieldValueInvalid', message: `Invalid value: "a/b%": may not contain '%'`, field: 'metadata.name' },
      ],
    },
    {
      name: 'namespaced without namespace',
      meta: { name: 'x' },
      opts: ns,
      want: [{ type: 'FieldValueRequired', message: 'Required value', field: 'metadata.namespace' }],
    },
    {
      name: 'cluster-scoped with namespace',
      meta: { name: 'x', namespace: 'default' },
      opts: cluster,
      want: [
        { type: 'FieldValueForbidden', message: 'Forbidden: not allowed on this type', field: 'metadata.namespace' },
      ],
    },
    {
      name: 'bad label value',
      meta: { name: 'x', namespace: 'default', labels: { app: 'bad value' } },
      opts: ns,
      want: [
        {
          type: 'FieldValueInvalid',
          message:
            "Invalid value: \"bad value\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
          field: 'metadata.labels',
        },
      ],
    },
    {
      name: 'bad label key',
      meta: { name: 'x', namespace: 'default', labels: { '-k': 'v' } },
      opts: ns,
      want: [
        {
          type: 'FieldValueInvalid',
          message:
            "Invalid value: \"-k\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
          field: 'metadata.labels',
        },
      ],
    },
    {
      name: 'annotations over 256KiB',
      meta: { name: 'x', namespace: 'default', annotations: { big: 'x'.repeat(256 * 1024) } },
      opts: ns,
      want: [
        {
          type: 'FieldValueTooLong',
          message: 'Too long: may not be more than 262144 bytes',
          field: 'metadata.annotations',
        },
      ],
    },
    {
      name: 'unqualified finalizer is fine for custom resources',
      meta: { name: 'x', namespace: 'default', finalizers: ['custom'] },
      opts: ns,
      want: [],
    },
    {
      name: 'non-standard unqualified finalizer on a core kind',
      meta: { name: 'x', namespace: 'default', finalizers: ['custom'] },
      opts: { ...ns, kubeFinalizers: true },
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified',
          field: 'metadata.finalizers',
        },
      ],
    },
    {
      name: 'owner reference without uid',
      meta: {
        name: 'x',
        namespace: 'default',
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: '' }],
      },
      opts: ns,
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "": must not be empty',
          field: 'metadata.ownerReferences.uid',
        },
      ],
    },
  ];
  for (const c of cases) assert.deepEqual(validateObjectMeta(c.meta, c.opts), c.want, c.name);
});

test('validateUpdateMeta: identity fields are immutable', () => {
  const old: ObjectMeta = {
    name: 'a',
    namespace: 'ns',
    uid: 'u1',
    creationTimestamp: '2024-01-02T03:04:05Z',
    generation: 2,
  };
  assert.deepEqual(validateUpdateMeta(old, { ...old }), []);
  assert.deepEqual(
    validateUpdateMeta(old, {
      ...old,
      name: 'b',
      namespace: 'other',
      uid: 'u2',
      creationTimestamp: '2025-01-01T00:00:00Z',
      generation: 1,
    }),
    [
      { type: 'FieldValueInvalid', message: 'Invalid value: 1: must not be decremented', field: 'metadata.generation' },
      { type: 'FieldValueInvalid', message: 'Invalid value: "b": field is immutable', field: 'metadata.name' },
      { type: 'FieldValueInvalid', message: 'Invalid value: "other": field is immutable', field: 'metadata.namespace' },
      { type: 'FieldValueInvalid', message: 'Invalid value: "u2": field is immutable', field: 'metadata.uid' },
      {
        type: 'FieldValueInvalid',
        message: 'Invalid value: 2025-01-01 00:00:00 +0000 UTC: field is immutable',
        field: 'metadata.creationTimestamp',
      },
    ],
  );
  const deleting: ObjectMeta = { ...old, deletionTimestamp: '2024-01-03T00:00:00Z', finalizers: ['a/b'] };
  assert.deepEqual(validateUpdateMeta(deleting, { ...deleting, finalizers: ['a/b', 'c/d'] }), [
    {
      type: 'FieldValueForbidden',
      message:
        'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"c/d"}',
      field: 'metadata.finalizers',
    },
  ]);
});

function obj(
  apiVersion: string,
  kind: string,
  rest: Record<string, unknown>,
  meta: ObjectMeta = { name: 'x', namespace: 'default' },
): KubeObject {
  return { apiVersion, kind, metadata: meta, ...rest };
}

const podSpec = { containers: [{ name: 'c', image: 'nginx' }] };

test('validateBuiltin: good objects produce no causes', () => {
  const cases: [string, KubeObject][] = [
    ['configmaps', obj('v1', 'ConfigMap', { data: { 'key.name': 'v', KEY_2: 'w' }, binaryData: { bin: 'AAE=' } })],
    ['secrets', obj('v1', 'Secret', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'YQ==', 'tls.key': 'Yg==' } })],
    [
      'services',
      obj('v1', 'Service', {
        spec: {
          ports: [
            { name: 'http', port: 80, targetPort: 'http' },
            { name: 'https', port: 443, targetPort: 8443 },
          ],
        },
      }),
    ],
    ['services', obj('v1', 'Service', { spec: { clusterIP: 'None' } })],
    ['services', obj('v1', 'Service', { spec: { type: 'ExternalName', externalName: 'example.com' } })],
    ['serviceaccounts', obj('v1', 'ServiceAccount', { secrets: [{ name: 's' }] })],
    ['pods', obj('v1', 'Pod', { spec: podSpec })],
    ['namespaces', obj('v1', 'Namespace', { spec: { finalizers: ['kubernetes'] } }, { name: 'n' })],
    [
      'deployments.apps',
      obj('apps/v1', 'Deployment', {
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'a' } },
          template: { metadata: { labels: { app: 'a', x: 'y' } }, spec: podSpec },
        },
      }),
    ],
    [
      'roles.rbac.authorization.k8s.io',
      obj('rbac.authorization.k8s.io/v1', 'Role', {
        rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
      }),
    ],
    [
      'clusterroles.rbac.authorization.k8s.io',
      obj(
        'rbac.authorization.k8s.io/v1',
        'ClusterRole',
        { rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] },
        { name: 'r' },
      ),
    ],
    [
      'rolebindings.rbac.authorization.k8s.io',
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [
          { kind: 'User', name: 'alice' },
          { kind: 'ServiceAccount', name: 'sa', namespace: 'default' },
        ],
      }),
    ],
    [
      'leases.coordination.k8s.io',
      obj('coordination.k8s.io/v1', 'Lease', { spec: { holderIdentity: 'h', leaseDurationSeconds: 15 } }),
    ],
    [
      'apiservices.apiregistration.k8s.io',
      obj(
        'apiregistration.k8s.io/v1',
        'APIService',
        {
          spec: {
            group: 'cluster.core.oam.dev',
            version: 'v1alpha1',
            groupPriorityMinimum: 2000,
            versionPriority: 10,
            service: { namespace: 'vela-system', name: 'cluster-gateway', port: 9443 },
            caBundle: 'YQ==',
          },
        },
        { name: 'v1alpha1.cluster.core.oam.dev' },
      ),
    ],
  ];
  for (const [gr, o] of cases) assert.deepEqual(validateBuiltin(gr, o), [], `${gr} ${o.metadata.name ?? ''}`);
});

test('validateBuiltin: bad objects produce kube causes', () => {
  const cases: { name: string; gr: string; obj: KubeObject; old?: KubeObject; want: StatusCause[] }[] = [
    {
      name: 'configmap key',
      gr: 'configmaps',
      obj: obj('v1', 'ConfigMap', { data: { 'a b': 'v' } }),
      want: [
        {
          type: 'FieldValueInvalid',
          message:
            "Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          field: 'data[a b]',
        },
      ],
    },
    {
      name: 'configmap key in both bags',
      gr: 'configmaps',
      obj: obj('v1', 'ConfigMap', { data: { k: 'v' }, binaryData: { k: 'AA==' } }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "k": duplicate of key present in binaryData',
          field: 'data[k]',
        },
      ],
    },
    {
      name: 'immutable configmap data change',
      gr: 'configmaps',
      obj: obj('v1', 'ConfigMap', { immutable: true, data: { k: 'new' } }),
      old: obj('v1', 'ConfigMap', { immutable: true, data: { k: 'old' } }),
      want: [
        {
          type: 'FieldValueForbidden',
          message: 'Forbidden: field is immutable when `immutable` is set',
          field: 'data',
        },
      ],
    },
    {
      name: 'immutable configmap made mutable',
      gr: 'configmaps',
      obj: obj('v1', 'ConfigMap', { data: { k: 'v' } }),
      old: obj('v1', 'ConfigMap', { immutable: true, data: { k: 'v' } }),
      want: [
        {
          type: 'FieldValueForbidden',
          message: 'Forbidden: field is immutable when `immutable` is set',
          field: 'immutable',
        },
      ],
    },
    {
      name: 'secret type change',
      gr: 'secrets',
      obj: obj('v1', 'Secret', { type: 'foo/bar' }),
      old: obj('v1', 'Secret', {}),
      want: [{ type: 'FieldValueInvalid', message: 'Invalid value: "foo/bar": field is immutable', field: 'type' }],
    },
    {
      name: 'immutable secret data change',
      gr: 'secrets',
      obj: obj('v1', 'Secret', { immutable: true, data: { k: 'Yg==' } }),
      old: obj('v1', 'Secret', { immutable: true, data: { k: 'YQ==' } }),
      want: [
        {
          type: 'FieldValueForbidden',
          message: 'Forbidden: field is immutable when `immutable` is set',
          field: 'data',
        },
      ],
    },
    {
      name: 'tls secret without keys',
      gr: 'secrets',
      obj: obj('v1', 'Secret', { type: 'kubernetes.io/tls', data: {} }),
      want: [
        { type: 'FieldValueRequired', message: 'Required value', field: 'data[tls.crt]' },
        { type: 'FieldValueRequired', message: 'Required value', field: 'data[tls.key]' },
      ],
    },
    {
      name: 'service-account-token secret without annotation',
      gr: 'secrets',
      obj: obj('v1', 'Secret', { type: 'kubernetes.io/service-account-token' }),
      want: [
        {
          type: 'FieldValueRequired',
          message: 'Required value',
          field: 'metadata.annotations[kubernetes.io/service-account.name]',
        },
      ],
    },
    {
      name: 'service without ports',
      gr: 'services',
      obj: obj('v1', 'Service', { spec: { selector: { app: 'a' } } }),
      want: [{ type: 'FieldValueRequired', message: 'Required value', field: 'spec.ports' }],
    },
    {
      name: 'service ports',
      gr: 'services',
      obj: obj('v1', 'Service', {
        spec: {
          type: 'Weird',
          ports: [{ name: 'a', port: 0, protocol: 'FOO' }, { port: 80 }, { name: 'a', port: 80 }],
        },
      }),
      want: [
        {
          type: 'FieldValueNotSupported',
          message:
            'Unsupported value: "Weird": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
          field: 'spec.type',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: 0: must be between 1 and 65535, inclusive',
          field: 'spec.ports[0].port',
        },
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: "FOO": supported values: "SCTP", "TCP", "UDP"',
          field: 'spec.ports[0].protocol',
        },
        { type: 'FieldValueRequired', message: 'Required value', field: 'spec.ports[1].name' },
        { type: 'FieldValueDuplicate', message: 'Duplicate value: "a"', field: 'spec.ports[2].name' },
        {
          type: 'FieldValueDuplicate',
          message:
            'Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
          field: 'spec.ports[2]',
        },
      ],
    },
    {
      name: 'pod without containers',
      gr: 'pods',
      obj: obj('v1', 'Pod', { spec: {} }),
      want: [{ type: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }],
    },
    {
      name: 'pod containers need name and image, unique names',
      gr: 'pods',
      obj: obj('v1', 'Pod', {
        spec: { containers: [{ image: 'x' }, { name: 'c', image: 'x' }, { name: 'c' }], restartPolicy: 'Sometimes' },
      }),
      want: [
        { type: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].name' },
        { type: 'FieldValueDuplicate', message: 'Duplicate value: "c"', field: 'spec.containers[2].name' },
        { type: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[2].image' },
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
          field: 'spec.restartPolicy',
        },
      ],
    },
    {
      name: 'deployment without selector',
      gr: 'deployments.apps',
      obj: obj('apps/v1', 'Deployment', { spec: { template: { metadata: { labels: { app: 'a' } }, spec: podSpec } } }),
      want: [{ type: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' }],
    },
    {
      name: 'deployment selector mismatch and negative replicas',
      gr: 'deployments.apps',
      obj: obj('apps/v1', 'Deployment', {
        spec: {
          replicas: -1,
          selector: { matchLabels: { app: 'a' } },
          template: { metadata: { labels: { app: 'b' } }, spec: podSpec },
        },
      }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: -1: must be greater than or equal to 0',
          field: 'spec.replicas',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`',
          field: 'spec.template.metadata.labels',
        },
      ],
    },
    {
      name: 'deployment selector is immutable',
      gr: 'deployments.apps',
      obj: obj('apps/v1', 'Deployment', {
        spec: {
          selector: { matchLabels: { app: 'b' } },
          template: { metadata: { labels: { app: 'b' } }, spec: podSpec },
        },
      }),
      old: obj('apps/v1', 'Deployment', {
        spec: {
          selector: { matchLabels: { app: 'a' } },
          template: { metadata: { labels: { app: 'a' } }, spec: podSpec },
        },
      }),
      want: [
        {
          type: 'FieldValueInvalid',
          message:
            'Invalid value: &v1.LabelSelector{MatchLabels:map[string]string{"app":"b"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
          field: 'spec.selector',
        },
      ],
    },
    {
      name: 'role rule without verbs or resources',
      gr: 'roles.rbac.authorization.k8s.io',
      obj: obj('rbac.authorization.k8s.io/v1', 'Role', {
        rules: [{ apiGroups: [''] }, { nonResourceURLs: ['/x'], verbs: ['get'] }],
      }),
      want: [
        {
          type: 'FieldValueRequired',
          message: 'Required value: verbs must contain at least one value',
          field: 'rules[0].verbs',
        },
        {
          type: 'FieldValueRequired',
          message: 'Required value: resource rules must supply at least one resource',
          field: 'rules[0].resources',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: []string{"/x"}: namespaced rules cannot apply to non-resource URLs',
          field: 'rules[1].nonResourceURLs',
        },
      ],
    },
    {
      name: 'rolebinding roleRef',
      gr: 'rolebindings.rbac.authorization.k8s.io',
      obj: obj('rbac.authorization.k8s.io/v1', 'RoleBinding', {
        roleRef: { apiGroup: 'x', kind: 'Foo' },
        subjects: [{ kind: 'Robot', name: 'r' }],
      }),
      want: [
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: "x": supported values: "rbac.authorization.k8s.io"',
          field: 'roleRef.apiGroup',
        },
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: "Foo": supported values: "Role", "ClusterRole"',
          field: 'roleRef.kind',
        },
        { type: 'FieldValueRequired', message: 'Required value', field: 'roleRef.name' },
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
          field: 'subjects[0].kind',
        },
      ],
    },
    {
      name: 'rolebinding roleRef is immutable',
      gr: 'rolebindings.rbac.authorization.k8s.io',
      obj: obj('rbac.authorization.k8s.io/v1', 'RoleBinding', {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'b' },
      }),
      old: obj('rbac.authorization.k8s.io/v1', 'RoleBinding', {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'a' },
      }),
      want: [
        {
          type: 'FieldValueInvalid',
          message:
            'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", Name:"b"}: cannot change roleRef',
          field: 'roleRef',
        },
      ],
    },
    {
      name: 'clusterrolebinding to a Role, service account without namespace',
      gr: 'clusterrolebindings.rbac.authorization.k8s.io',
      obj: obj(
        'rbac.authorization.k8s.io/v1',
        'ClusterRoleBinding',
        {
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
          subjects: [{ kind: 'ServiceAccount', name: 'sa' }],
        },
        { name: 'b' },
      ),
      want: [
        {
          type: 'FieldValueNotSupported',
          message: 'Unsupported value: "Role": supported values: "ClusterRole"',
          field: 'roleRef.kind',
        },
        { type: 'FieldValueRequired', message: 'Required value', field: 'subjects[0].namespace' },
      ],
    },
    {
      name: 'lease duration',
      gr: 'leases.coordination.k8s.io',
      obj: obj('coordination.k8s.io/v1', 'Lease', { spec: { leaseDurationSeconds: 0, leaseTransitions: -1 } }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: 0: must be greater than 0',
          field: 'spec.leaseDurationSeconds',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: -1: must be greater than or equal to 0',
          field: 'spec.leaseTransitions',
        },
      ],
    },
    {
      name: 'apiservice name, priorities, local TLS settings',
      gr: 'apiservices.apiregistration.k8s.io',
      obj: obj(
        'apiregistration.k8s.io/v1',
        'APIService',
        {
          spec: {
            group: 'cluster.core.oam.dev',
            version: 'v1alpha1',
            groupPriorityMinimum: 0,
            versionPriority: 1001,
            caBundle: 'YWJj',
            insecureSkipTLSVerify: true,
          },
        },
        { name: 'wrong' },
      ),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "wrong": must be `spec.version+"."+spec.group`: "v1alpha1.cluster.core.oam.dev"',
          field: 'metadata.name',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: 0: must be positive and less than 20000',
          field: 'spec.groupPriorityMinimum',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: 1001: must be positive and less than 1000',
          field: 'spec.versionPriority',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "3 bytes": local APIServices may not have a caBundle',
          field: 'spec.caBundle',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: true: local APIServices may not have insecureSkipTLSVerify',
          field: 'spec.insecureSkipTLSVerify',
        },
      ],
    },
    {
      name: 'apiservice service reference',
      gr: 'apiservices.apiregistration.k8s.io',
      obj: obj(
        'apiregistration.k8s.io/v1',
        'APIService',
        {
          spec: {
            group: 'g.io',
            version: 'v1',
            groupPriorityMinimum: 1,
            versionPriority: 1,
            service: { port: 70000 },
            caBundle: 'YQ==',
            insecureSkipTLSVerify: true,
          },
        },
        { name: 'v1.g.io' },
      ),
      want: [
        { type: 'FieldValueRequired', message: 'Required value', field: 'spec.service.namespace' },
        { type: 'FieldValueRequired', message: 'Required value', field: 'spec.service.name' },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive',
          field: 'spec.service.port',
        },
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: true: may not be true if caBundle is present',
          field: 'spec.insecureSkipTLSVerify',
        },
      ],
    },
    {
      name: 'namespace spec finalizer',
      gr: 'namespaces',
      obj: obj('v1', 'Namespace', { spec: { finalizers: ['custom'] } }, { name: 'n' }),
      want: [
        {
          type: 'FieldValueInvalid',
          message: 'Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified',
          field: 'spec.finalizers',
        },
      ],
    },
  ];
  for (const c of cases) assert.deepEqual(validateBuiltin(c.gr, c.obj, c.old), c.want, c.name);
});

test('validateBuiltin dispatches CRDs and ignores unknown kinds', () => {
  const crd = obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', { spec: {} }, { name: 'foos.example.com' });
  const causes = validateBuiltin('customresourcedefinitions.apiextensions.k8s.io', crd);
  assert.ok(causes.some((c) => c.field === 'spec.group' && c.type === 'FieldValueRequired'));
  assert.deepEqual(validateBuiltin('widgets.example.com', obj('example.com/v1', 'Widget', {})), []);
});

test('decodeError: Secret data must be base64 (400, as the JSON decoder reports it)', () => {
  assert.equal(base64ErrorOffset('YWJj'), -1);
  assert.equal(base64ErrorOffset('YQ=='), -1);
  assert.equal(base64ErrorOffset('YW\nJj'), -1);
  assert.equal(base64ErrorOffset('YWJ'), 0);
  assert.equal(base64ErrorOffset('YWJjY'), 4);
  assert.equal(base64ErrorOffset('ab!c'), 2);
  assert.equal(base64ErrorOffset('YQ='), 3);
  assert.equal(base64ErrorOffset('YQ=x'), 2);
  assert.equal(base64ErrorOffset('Y==='), 1);
  assert.equal(base64ErrorOffset('YQ==YQ=='), 4);
  assert.equal(decodeError('secrets', obj('v1', 'Secret', { data: { k: 'YQ==' } })), undefined);
  const err = decodeError('secrets', obj('v1', 'Secret', { data: { k: 'not base64' } }));
  assert.ok(err);
  assert.equal(err.code, 400);
  assert.equal(
    err.message,
    'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 3',
  );
  assert.equal(
    decodeError('configmaps', obj('v1', 'ConfigMap', { data: { k: 'plain text is fine here' } })),
    undefined,
  );
  assert.equal(decodeError('configmaps', obj('v1', 'ConfigMap', { binaryData: { k: '%%' } }))?.code, 400);
});

test('invalidError renders a kube 422', () => {
  const e = invalidError('ConfigMap', '', 'x', [field.required('metadata.name', 'name or generateName is required')]);
  assert.equal(e.code, 422);
  assert.equal(e.message, 'ConfigMap "x" is invalid: metadata.name: Required value: name or generateName is required');
});
