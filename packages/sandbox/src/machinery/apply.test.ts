import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, ManagedFieldsEntry } from '../api/types.ts';
import { ApiError } from '../errors/status.ts';
import {
  appliedFieldSet,
  lastAppliedAnnotation,
  managerFromUserAgent,
  serverSideApply,
  trackUpdate,
  validateManagerOptions,
  type ApplyOptions,
} from './apply.ts';
import { configMapSchema, deploymentSchema, resolve } from './testschemas.ts';

const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-01-01T00:01:00Z';
const T2 = '2024-01-01T00:02:00Z';

const cm = (data: Record<string, string>, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'c', namespace: 'ns', ...extra },
  data,
});

function applyCm(
  live: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  now: string,
  more: Partial<ApplyOptions> = {},
): KubeObject {
  return serverSideApply({ live, applied, manager, force: false, schema: configMapSchema, resolve, now, ...more });
}

const mf = (o: KubeObject): ManagedFieldsEntry[] => o.metadata.managedFields ?? [];

test('apply creates the object and records FieldsV1 ownership', () => {
  const out = applyCm(undefined, cm({ key: 'v' }, { labels: { app: 'a' } }), 'kubectl', T0);
  assert.deepEqual(out.data, { key: 'v' });
  assert.deepEqual(out.metadata.labels, { app: 'a' });
  assert.deepEqual(mf(out), [
    {
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'v1',
      time: T0,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { 'f:key': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } },
    },
  ]);
});

test('re-apply removes fields the manager no longer applies', () => {
  const v1 = applyCm(undefined, cm({ a: '1', b: '2' }, { labels: { x: 'y' } }), 'kubectl', T0);
  const v2 = applyCm(v1, cm({ a: '1', c: '3' }), 'kubectl', T1);
  assert.deepEqual(v2.data, { a: '1', c: '3' });
  assert.equal(v2.metadata.labels, undefined, 'emptied labels map dropped like omitempty');
  assert.deepEqual(mf(v2)[0]?.fieldsV1, { 'f:data': { 'f:a': {}, 'f:c': {} } });
  assert.equal(mf(v2)[0]?.time, T1);
  // unchanged re-apply keeps the time
  const v3 = applyCm(v2, cm({ a: '1', c: '3' }), 'kubectl', T2);
  assert.equal(mf(v3)[0]?.time, T1);
  assert.deepEqual(v3.data, v2.data);
});

test('conflicts: other managers owning a changed field → 409 unless forced', () => {
  const v1 = applyCm(undefined, cm({ key: 'v', other: 'o' }), 'kubectl', T0);
  assert.throws(
    () => applyCm(v1, cm({ key: 'changed' }), 'helm', T1),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 409);
      assert.equal(e.reason, 'Conflict');
      assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "kubectl": .data.key');
      assert.deepEqual(e.details?.causes, [
        { type: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.data.key' },
      ]);
      return true;
    },
  );
  // same value: no conflict, shared ownership
  const shared = applyCm(v1, cm({ key: 'v' }), 'helm', T1);
  assert.deepEqual(
    mf(shared).map((e) => [e.manager, e.fieldsV1]),
    [
      ['kubectl', { 'f:data': { 'f:key': {}, 'f:other': {} } }],
      ['helm', { 'f:data': { 'f:key': {} } }],
    ],
  );
  // kubectl stops applying key: helm still owns it, so it stays
  const afterDrop = applyCm(shared, cm({ other: 'o' }), 'kubectl', T2);
  assert.deepEqual(afterDrop.data, { key: 'v', other: 'o' });
  // forced: ownership moves
  const forced = applyCm(v1, cm({ key: 'changed' }), 'helm', T1, { force: true });
  assert.equal(forced.data && (forced.data as Record<string, string>).key, 'changed');
  assert.deepEqual(
    mf(forced).map((e) => [e.manager, e.fieldsV1]),
    [
      ['kubectl', { 'f:data': { 'f:other': {} } }],
      ['helm', { 'f:data': { 'f:key': {} } }],
    ],
  );
});

test('conflicts with several managers and Update managers use upstream wording', () => {
  const created = cm({ a: '1', b: '2' });
  created.metadata.managedFields = trackUpdate({
    live: undefined,
    updated: created,
    manager: 'kubectl-create',
    now: T0,
    schema: configMapSchema,
    resolve,
  });
  assert.deepEqual(created.metadata.managedFields, [
    {
      manager: 'kubectl-create',
      operation: 'Update',
      apiVersion: 'v1',
      time: T0,
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { '.': {}, 'f:a': {}, 'f:b': {} } },
    },
  ]);
  const withApply = applyCm(created, cm({ c: '3' }), 'other', T1);
  assert.throws(
    () => applyCm(withApply, cm({ a: 'x', b: 'y', c: '4' }), 'kubectl', T2),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(
        e.message,
        'Apply failed with 3 conflicts: conflicts with "kubectl-create" using v1:\n- .data.a\n- .data.b\nconflicts with "other":\n- .data.c',
      );
      assert.equal(e.details?.causes?.length, 3);
      assert.equal(e.details?.causes?.[0]?.message, 'conflict with "kubectl-create" using v1');
      return true;
    },
  );
});

test('trackUpdate: changed fields move to the writer, removed ones leave everybody', () => {
  const v1 = applyCm(undefined, cm({ a: '1', b: '2' }), 'kubectl', T0);
  const edited = { ...cm({ a: 'edited', c: '3' }), metadata: { ...v1.metadata } };
  const entries = trackUpdate({
    live: v1,
    updated: edited,
    manager: 'kubectl-edit',
    now: T1,
    schema: configMapSchema,
    resolve,
  });
  assert.deepEqual(
    entries.map((e) => [e.manager, e.operation, e.fieldsV1]),
    // kubectl's a was overwritten and its b deleted: its entry is empty and goes away
    [['kubectl-edit', 'Update', { 'f:data': { 'f:a': {}, 'f:c': {} } }]],
  );
  // no change → no new entry, live entries kept
  const same = trackUpdate({
    live: v1,
    updated: structuredClone(v1),
    manager: 'kubectl-edit',
    now: T1,
    schema: configMapSchema,
    resolve,
  });
  assert.deepEqual(same, v1.metadata.managedFields);
  // `[{}]` clears tracking
  const reset = trackUpdate({
    live: v1,
    updated: { ...v1, metadata: { ...v1.metadata, managedFields: [{}] } },
    manager: 'x',
    now: T1,
  });
  assert.deepEqual(reset, []);
});

test('trackUpdate: a subresource and apiVersion make separate entries; Apply sorts first', () => {
  const v1 = applyCm(undefined, cm({ a: '1' }), 'kubectl', T1);
  const labelled = { ...v1, metadata: { ...v1.metadata, labels: { l: '1' } } };
  const e1 = trackUpdate({
    live: v1,
    updated: labelled,
    manager: 'kubectl-label',
    now: T0,
    schema: configMapSchema,
    resolve,
  });
  assert.deepEqual(
    e1.map((e) => [e.manager, e.operation, e.fieldsV1]),
    [
      ['kubectl', 'Apply', { 'f:data': { 'f:a': {} } }],
      ['kubectl-label', 'Update', { 'f:metadata': { 'f:labels': { '.': {}, 'f:l': {} } } }],
    ],
  );
  const withStatus = { ...labelled, metadata: { ...labelled.metadata, managedFields: e1 }, status: { x: 1 } };
  const e2 = trackUpdate({
    live: { ...labelled, metadata: { ...labelled.metadata, managedFields: e1 } },
    updated: withStatus,
    manager: 'ctrl',
    subresource: 'status',
    now: T2,
  });
  assert.deepEqual(e2.at(-1), {
    manager: 'ctrl',
    operation: 'Update',
    apiVersion: 'v1',
    time: T2,
    fieldsType: 'FieldsV1',
    // status exists in every built-in kind's zero value, so it carries no `.` member
    fieldsV1: { 'f:status': { 'f:x': {} } },
    subresource: 'status',
  });
});

test('trackUpdate: more than 10 updaters fold into ancient-changes', () => {
  let obj = cm({});
  for (let i = 0; i < 12; i++) {
    const next = cm({ ...(obj.data as Record<string, string>), [`k${i}`]: 'v' });
    next.metadata.managedFields = trackUpdate({
      live: obj,
      updated: next,
      manager: `m${i}`,
      now: `2024-01-01T00:00:${String(i).padStart(2, '0')}Z`,
      schema: configMapSchema,
      resolve,
    });
    obj = next;
  }
  const managers = mf(obj).map((e) => e.manager);
  assert.equal(managers.length, 10);
  assert.ok(managers.includes('ancient-changes'));
  assert.ok(!managers.includes('m0'));
});

const deployment = (containers: Record<string, unknown>[], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'ns' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers } },
    ...extra,
  },
});

const applyDep = (
  live: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  now: string,
  force = false,
): KubeObject => serverSideApply({ live, applied, manager, force, schema: deploymentSchema, resolve, now });

test('apply: list-map merge, atomic selector, item markers', () => {
  const v1 = applyDep(
    undefined,
    deployment([{ name: 'nginx', image: 'nginx:1', ports: [{ containerPort: 80 }] }]),
    'kubectl',
    T0,
  );
  assert.deepEqual(mf(v1)[0]?.fieldsV1, {
    'f:spec': {
      'f:replicas': {},
      'f:selector': {},
      'f:template': {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:containers': {
            'k:{"name":"nginx"}': {
              '.': {},
              'f:image': {},
              'f:name': {},
              'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
            },
          },
        },
      },
    },
  });
  // a controller adds a sidecar through an ordinary update
  const withSidecar = structuredClone(v1);
  const spec = withSidecar.spec as { template: { spec: { containers: Record<string, unknown>[] } } };
  spec.template.spec.containers.push({ name: 'sidecar', image: 'envoy' });
  withSidecar.metadata.managedFields = trackUpdate({
    live: v1,
    updated: withSidecar,
    manager: 'injector',
    now: T1,
    schema: deploymentSchema,
    resolve,
  });
  assert.deepEqual(withSidecar.metadata.managedFields?.[1]?.fieldsV1, {
    'f:spec': {
      'f:template': {
        'f:spec': { 'f:containers': { 'k:{"name":"sidecar"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
      },
    },
  });
  // kubectl re-applies with a new image and a second container; the sidecar survives
  const v2 = applyDep(
    withSidecar,
    deployment([
      { name: 'nginx', image: 'nginx:2' },
      { name: 'log', image: 'fluent' },
    ]),
    'kubectl',
    T2,
  );
  const names = (v2.spec as { template: { spec: { containers: { name: string; image: string; ports?: unknown }[] } } })
    .template.spec.containers;
  assert.deepEqual(
    names.map((c) => `${c.name}:${c.image}`),
    ['nginx:nginx:2', 'sidecar:envoy', 'log:fluent'],
  );
  assert.equal(names[0]?.ports, undefined, 'ports no longer applied are removed');
  // kubectl drops nginx: removed; the sidecar owned by the injector stays
  const v3 = applyDep(v2, deployment([{ name: 'log', image: 'fluent' }]), 'kubectl', T2);
  assert.deepEqual(
    (v3.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers.map((c) => c.name),
    ['sidecar', 'log'],
  );
});

test('apply: atomic fields conflict as a whole', () => {
  const v1 = applyDep(undefined, deployment([{ name: 'a', image: 'x' }]), 'kubectl', T0);
  const other = deployment([{ name: 'a', image: 'x' }]);
  (other.spec as Record<string, unknown>).selector = { matchLabels: { app: 'other' } };
  assert.throws(
    () => applyDep(v1, other, 'argo', T1),
    /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.selector$/,
  );
  assert.throws(
    () => applyDep(v1, deployment([{ name: 'a', image: 'y' }]), 'argo', T1),
    /conflict with "kubectl": \.spec\.template\.spec\.containers\[name="a"\]\.image$/,
  );
});

test('apply: kubectl may take over fields from client-side apply when the last-applied annotation matches', () => {
  const applied = cm({ key: 'v' });
  const live = cm({ key: 'v' }, { annotations: { [lastAppliedAnnotation]: JSON.stringify(applied) } });
  live.metadata.managedFields = trackUpdate({
    live: undefined,
    updated: live,
    manager: 'kubectl-client-side-apply',
    now: T0,
    schema: configMapSchema,
    resolve,
  });
  const next = cm({ key: 'v2' });
  const out = applyCm(live, next, 'kubectl', T1);
  assert.deepEqual(out.data, { key: 'v2' });
  assert.equal(
    out.metadata.annotations?.[lastAppliedAnnotation],
    '{"apiVersion":"v1","data":{"key":"v2"},"kind":"ConfigMap","metadata":{"name":"c","namespace":"ns"}}',
  );
  // but not another manager, and not when the live value drifted from last-applied
  assert.throws(
    () => applyCm(live, next, 'helm', T1),
    (e: unknown) => e instanceof ApiError && e.code === 409,
  );
  const drifted = structuredClone(live);
  drifted.data = { key: 'edited' };
  assert.throws(
    () => applyCm(drifted, next, 'kubectl', T1),
    (e: unknown) => e instanceof ApiError && e.code === 409,
  );
});

test('apply: custom resources with and without a schema', () => {
  const cr = (spec: Record<string, unknown>): KubeObject => ({
    apiVersion: 'x.io/v1',
    kind: 'W',
    metadata: { name: 'w' },
    spec,
  });
  const noSchema = serverSideApply({
    live: undefined,
    applied: cr({ a: 1, list: [1, 2] }),
    manager: 'm',
    force: false,
    now: T0,
  });
  assert.deepEqual(mf(noSchema)[0]?.fieldsV1, { 'f:spec': { '.': {}, 'f:a': {}, 'f:list': {} } });
  const schema = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        properties: {
          a: { type: 'integer' },
          items: {
            type: 'array',
            items: { type: 'object', properties: { k: { type: 'string' }, v: { type: 'string' } } },
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['k'],
          },
          tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
        },
      },
    },
  };
  const v1 = serverSideApply({
    live: undefined,
    applied: cr({ a: 1, items: [{ k: 'x', v: '1' }], tags: ['t1'] }),
    manager: 'm',
    force: false,
    now: T0,
    schema,
  });
  assert.deepEqual(mf(v1)[0]?.fieldsV1, {
    'f:spec': {
      'f:a': {},
      'f:items': { 'k:{"k":"x"}': { '.': {}, 'f:k': {}, 'f:v': {} } },
      'f:tags': { 'v:"t1"': {} },
    },
  });
  const v2 = serverSideApply({
    live: v1,
    applied: cr({ items: [{ k: 'y', v: '2' }], tags: ['t2'] }),
    manager: 'n',
    force: false,
    now: T1,
    schema,
  });
  assert.deepEqual(v2.spec, {
    a: 1,
    items: [
      { k: 'x', v: '1' },
      { k: 'y', v: '2' },
    ],
    tags: ['t1', 't2'],
  });
});

test('apply: malformed requests', () => {
  const cases: [Partial<ApplyOptions>, number, string | RegExp][] = [
    [{ applied: 'x' }, 400, 'error decoding YAML: object expected'],
    [{ applied: { kind: 'ConfigMap', metadata: { name: 'c' } } }, 400, 'invalid object type: /, Kind=ConfigMap'],
    [
      { applied: cm({}), expected: { apiVersion: 'apps/v1', kind: 'Deployment' } },
      400,
      'invalid object type: /v1, Kind=ConfigMap',
    ],
    [{ applied: cm({}, { managedFields: [] }) }, 400, 'metadata.managedFields must be nil'],
    [{ applied: cm({}), name: 'other' }, 400, 'the name of the object (c) does not match the name on the URL (other)'],
    [
      { applied: cm({}), namespace: 'other' },
      400,
      'the namespace of the object (ns) does not match the namespace on the URL (other)',
    ],
    [
      { applied: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } },
      422,
      'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required',
    ],
    [
      { applied: deployment([{ image: 'x' }]), schema: deploymentSchema },
      500,
      /associative list with keys has an element that omits key field "name"/,
    ],
    [
      { applied: deployment([{ name: 'a' }, { name: 'a' }]), schema: deploymentSchema },
      500,
      /duplicate entries for key \[name="a"\]/,
    ],
  ];
  for (const [opts, code, msg] of cases) {
    assert.throws(
      () =>
        serverSideApply({
          live: undefined,
          applied: {},
          manager: 'm',
          force: false,
          now: T0,
          schema: configMapSchema,
          resolve,
          ...opts,
        }),
      (e: unknown) =>
        e instanceof ApiError && e.code === code && (typeof msg === 'string' ? e.message === msg : msg.test(e.message)),
      String(msg),
    );
  }
  // a missing name is fine against an existing object when the URL names it
  const live = applyCm(undefined, cm({ a: '1' }), 'kubectl', T0);
  const out = applyCm(live, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {}, data: { a: '2' } }, 'kubectl', T1, {
    name: 'c',
  });
  assert.deepEqual(out.data, { a: '2' });
});

test('apply: reset paths are neither applied nor owned; system metadata survives', () => {
  const live = applyCm(undefined, cm({ a: '1' }), 'kubectl', T0);
  live.metadata.creationTimestamp = T0;
  live.metadata.uid = 'u1';
  const applied = { ...cm({ a: '2' }), status: { phase: 'x' } };
  applied.metadata.creationTimestamp = null as unknown as string;
  const out = applyCm(live, applied, 'kubectl', T1, { resetPaths: [['status']] });
  assert.equal(out.status, undefined);
  assert.equal(out.metadata.creationTimestamp, T0);
  assert.equal(out.metadata.uid, 'u1');
  assert.deepEqual(mf(out)[0]?.fieldsV1, { 'f:data': { 'f:a': {} } });
});

test('apply does not mutate its inputs', () => {
  const live = applyCm(undefined, cm({ a: '1' }), 'kubectl', T0);
  const snapshot = structuredClone(live);
  const applied = cm({ b: '2' });
  const appliedSnapshot = structuredClone(applied);
  applyCm(live, applied, 'kubectl', T1);
  assert.deepEqual(live, snapshot);
  assert.deepEqual(applied, appliedSnapshot);
});

test('appliedFieldSet exposes the set an apply would own', () => {
  assert.deepEqual(appliedFieldSet(cm({ a: '1' }), configMapSchema, resolve), { 'f:data': { 'f:a': {} } });
});

test('validateManagerOptions mirrors ValidatePatchOptions', () => {
  validateManagerOptions('PatchOptions', { fieldManager: 'kubectl', isApply: true, force: true });
  validateManagerOptions('CreateOptions', {});
  const cases: [Parameters<typeof validateManagerOptions>, string][] = [
    [
      ['PatchOptions', { isApply: true }],
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    ],
    [
      ['PatchOptions', { force: true }],
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    ],
    [
      ['UpdateOptions', { fieldManager: 'x'.repeat(129) }],
      'UpdateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
    ],
    [
      ['CreateOptions', { fieldManager: 'a\u0001' }],
      'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Invalid value: "a\\x01": invalid character U+0001 (at position 1)',
    ],
  ];
  for (const [args, msg] of cases) {
    assert.throws(
      () => {
        validateManagerOptions(...args);
      },
      (e: unknown) => e instanceof ApiError && e.code === 422 && e.reason === 'Invalid' && e.message === msg,
      msg,
    );
  }
});

test('managerFromUserAgent takes the prefix before the first slash', () => {
  const cases: [string | undefined, string][] = [
    ['kubectl/v1.30.0 (linux/amd64) kubernetes/abc', 'kubectl'],
    ['kubectl-client-side-apply/v1.30.0', 'kubectl-client-side-apply'],
    ['node-fetch', 'node-fetch'],
    ['', ''],
    [undefined, ''],
    ['a\u0007b/1', 'ab'],
    ['x'.repeat(200), 'x'.repeat(128)],
  ];
  for (const [ua, want] of cases) assert.equal(managerFromUserAgent(ua), want, String(ua));
});
