import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../api/types.ts';
import { ApiError } from '../errors/status.ts';
import {
  fieldSetFor,
  formatFieldSelector,
  isBuiltinResourceKey,
  matchesFields,
  parseFieldSelector,
  validateFieldSelector,
} from './fields.ts';

const isBadRequest =
  (msg: string) =>
  (e: unknown): boolean =>
    e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest' && e.message === msg;

test('parseFieldSelector: terms, operators, escapes and canonical form', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['metadata.name=foo', 'metadata.name=foo'],
    ['metadata.name==foo', 'metadata.name=foo'],
    ['metadata.name!=foo', 'metadata.name!=foo'],
    ['b=1,a=2', 'a=2,b=1'],
    ['a=', 'a='],
    ['a=x\\,y', 'a=x\\,y'],
    ['a=x\\=y\\\\z', 'a=x\\=y\\\\z'],
    [',a=1,', 'a=1'],
  ];
  for (const [input, want] of cases) assert.equal(formatFieldSelector(parseFieldSelector(input)), want, input);
  assert.deepEqual(parseFieldSelector('a=x\\,y').requirements, [{ field: 'a', operator: '=', value: 'x,y' }]);
  assert.deepEqual(parseFieldSelector('a!=b').requirements, [{ field: 'a', operator: '!=', value: 'b' }]);
});

test('parseFieldSelector: malformed input is a 400 with upstream messages', () => {
  const cases: [string, string][] = [
    ['foo', "invalid selector: 'foo'; can't understand 'foo'"],
    ['a=1,foo', "invalid selector: 'a=1,foo'; can't understand 'foo'"],
    ['a=b=c', 'invalid field selector: unescaped character in value: 61'],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b\\', 'invalid field selector: invalid escape sequence: \\'],
  ];
  for (const [input, msg] of cases) assert.throws(() => parseFieldSelector(input), isBadRequest(msg), input);
});

test('matchesFields: missing fields read as empty', () => {
  const fields = { 'metadata.name': 'a', 'status.phase': 'Running' };
  const cases: [string, boolean][] = [
    ['', true],
    ['metadata.name=a', true],
    ['metadata.name=b', false],
    ['metadata.name!=b', true],
    ['status.phase=Running,metadata.name=a', true],
    ['status.phase=Running,metadata.name!=a', false],
    ['spec.nodeName=', true],
    ['spec.nodeName!=x', true],
  ];
  for (const [sel, want] of cases) assert.equal(matchesFields(parseFieldSelector(sel), fields), want, sel);
});

const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns' },
  spec: { nodeName: 'n1', restartPolicy: 'Always', schedulerName: 'default-scheduler', serviceAccountName: 'sa' },
  status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }] },
};

test('fieldSetFor: per-resource field sets', () => {
  assert.deepEqual(fieldSetFor('pods', pod), {
    'metadata.name': 'p',
    'metadata.namespace': 'ns',
    'spec.nodeName': 'n1',
    'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': 'sa',
    'spec.hostNetwork': 'false',
    'status.phase': 'Running',
    'status.podIP': '10.0.0.1',
    'status.nominatedNodeName': '',
  });
  const secret: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', namespace: 'ns' },
    type: 'Opaque',
  };
  assert.deepEqual(fieldSetFor('secrets', secret), {
    type: 'Opaque',
    'metadata.name': 's',
    'metadata.namespace': 'ns',
  });
  const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, status: { phase: 'Active' } };
  assert.deepEqual(fieldSetFor('namespaces', ns), { 'status.phase': 'Active', 'metadata.name': 'x' });
  const ev: KubeObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'e', namespace: 'ns' },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'ns', uid: 'u1' },
    reason: 'Started',
    type: 'Normal',
    reportingComponent: 'kubelet',
  };
  const evFields = fieldSetFor('events', ev);
  assert.equal(evFields['involvedObject.kind'], 'Pod');
  assert.equal(evFields['involvedObject.uid'], 'u1');
  assert.equal(evFields['involvedObject.fieldPath'], '');
  assert.equal(evFields.source, 'kubelet');
  assert.equal(evFields.reason, 'Started');
  const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { unschedulable: true } };
  assert.deepEqual(fieldSetFor('nodes', node), { 'spec.unschedulable': 'true', 'metadata.name': 'n' });
  const rs: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'r', namespace: 'ns' },
    status: { replicas: 3 },
  };
  assert.equal(fieldSetFor('replicasets.apps', rs)['status.replicas'], '3');
  const job: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j', namespace: 'ns' },
    status: { succeeded: 1 },
  };
  assert.equal(fieldSetFor('jobs.batch', job)['status.successful'], '1');
  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } };
  assert.deepEqual(fieldSetFor('configmaps', cm), { 'metadata.name': 'c', 'metadata.namespace': 'ns' });
  const cr: KubeObject = {
    apiVersion: 'x.io/v1',
    kind: 'W',
    metadata: { name: 'w', namespace: 'ns' },
    spec: { color: 'red' },
  };
  assert.deepEqual(fieldSetFor('widgets.x.io', cr, { selectableFields: ['.spec.color'] }), {
    'spec.color': 'red',
    'metadata.name': 'w',
    'metadata.namespace': 'ns',
  });
});

test('validateFieldSelector: supported labels pass, aliases convert', () => {
  const sel = validateFieldSelector('pods', parseFieldSelector('spec.host=n1,status.phase!=Failed'));
  assert.equal(formatFieldSelector(sel), 'spec.nodeName=n1,status.phase!=Failed');
  assert.equal(matchesFields(sel, fieldSetFor('pods', pod)), true);
  for (const [key, s] of [
    ['secrets', 'type=Opaque,metadata.namespace=a'],
    ['events', 'involvedObject.name=p,reason=x,source=y,type=Normal'],
    ['namespaces', 'status.phase=Active,metadata.name=x'],
    ['configmaps', 'metadata.name=a,metadata.namespace=b'],
    ['clusterroles.rbac.authorization.k8s.io', 'metadata.namespace=x'],
    ['widgets.x.io', 'metadata.name=a'],
  ] as const) {
    validateFieldSelector(key, parseFieldSelector(s));
  }
  validateFieldSelector('widgets.x.io', parseFieldSelector('spec.color=red'), { selectableFields: ['.spec.color'] });
});

test('validateFieldSelector: unsupported labels are 400s with upstream messages', () => {
  const cases: [string, string, string, Parameters<typeof validateFieldSelector>[2]?][] = [
    ['pods', 'spec.foo=x', 'field label not supported: spec.foo'],
    ['secrets', 'data=x', 'field label not supported: data'],
    ['namespaces', 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    ['nodes', 'metadata.namespace=x', 'field label not supported: metadata.namespace'],
    ['configmaps', 'data.x=y', '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"'],
    [
      'deployments.apps',
      'spec.replicas=1',
      '"spec.replicas" is not a known field selector: only "metadata.name", "metadata.namespace"',
    ],
    ['widgets.x.io', 'spec.color=red', 'field label not supported: spec.color'],
    ['widgets.x.io', 'metadata.namespace=a', 'field label not supported: metadata.namespace', { namespaced: false }],
  ];
  for (const [key, s, msg, opts] of cases) {
    assert.throws(() => validateFieldSelector(key, parseFieldSelector(s), opts), isBadRequest(msg), `${key} ${s}`);
  }
});

test('isBuiltinResourceKey', () => {
  assert.equal(isBuiltinResourceKey('pods'), true);
  assert.equal(isBuiltinResourceKey('deployments.apps'), true);
  assert.equal(isBuiltinResourceKey('ingresses.networking.k8s.io'), true);
  assert.equal(isBuiltinResourceKey('clustergateways.cluster.core.oam.dev'), false);
});
