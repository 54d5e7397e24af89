import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors/status.ts';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.ts';
import { deploymentSchema, resolve } from './testschemas.ts';

const isApiError =
  (code: number, message?: string, cause?: string) =>
  (e: unknown): boolean => {
    if (!(e instanceof ApiError) || e.code !== code) return false;
    if (message !== undefined && e.message !== message) return false;
    if (cause !== undefined && e.details?.causes?.[0]?.message !== cause) return false;
    return true;
  };

test('applyJsonPatch: RFC 6902 operations', () => {
  const doc = { a: { b: 1, 'x/y': 2, 'm~n': 3 }, list: [1, 2, 3] };
  const cases: [unknown[], unknown][] = [
    [[{ op: 'add', path: '/c', value: 'v' }], { ...doc, c: 'v' }],
    [[{ op: 'add', path: '/list/-', value: 4 }], { ...doc, list: [1, 2, 3, 4] }],
    [[{ op: 'add', path: '/list/0', value: 0 }], { ...doc, list: [0, 1, 2, 3] }],
    [[{ op: 'add', path: '/list/3', value: 9 }], { ...doc, list: [1, 2, 3, 9] }],
    [[{ op: 'add', path: '/list/-1', value: 9 }], { ...doc, list: [1, 2, 3, 9] }],
    [[{ op: 'add', path: '/a/x~1y', value: 5 }], { ...doc, a: { ...doc.a, 'x/y': 5 } }],
    [[{ op: 'remove', path: '/a/m~0n' }], { ...doc, a: { b: 1, 'x/y': 2 } }],
    [[{ op: 'remove', path: '/list/1' }], { ...doc, list: [1, 3] }],
    [[{ op: 'remove', path: '/list/-1' }], { ...doc, list: [1, 2] }],
    [[{ op: 'replace', path: '/a/b', value: null }], { ...doc, a: { ...doc.a, b: null } }],
    [[{ op: 'replace', path: '/list/0', value: 'x' }], { ...doc, list: ['x', 2, 3] }],
    [[{ op: 'move', from: '/a/b', path: '/b' }], { a: { 'x/y': 2, 'm~n': 3 }, list: [1, 2, 3], b: 1 }],
    [[{ op: 'copy', from: '/list', path: '/a/list' }], { ...doc, a: { ...doc.a, list: [1, 2, 3] } }],
    [[{ op: 'test', path: '/a', value: { 'm~n': 3, 'x/y': 2, b: 1 } }], doc],
    [[{ op: 'add', path: '/', value: 1 }], { ...doc, '': 1 }],
    [[{ op: 'add', path: '/c' }], { ...doc, c: null }],
    [[], doc],
  ];
  for (const [patch, want] of cases) {
    const input = structuredClone(doc);
    assert.deepEqual(applyJsonPatch(input, patch), want, JSON.stringify(patch));
    assert.deepEqual(input, doc, 'input not mutated');
  }
  assert.deepEqual(applyJsonPatch(doc, null), doc);
});

test('applyJsonPatch: copy is deep, later ops do not alias', () => {
  const out = applyJsonPatch({ a: { x: 1 } }, [
    { op: 'copy', from: '/a', path: '/b' },
    { op: 'replace', path: '/b/x', value: 2 },
  ]);
  assert.deepEqual(out, { a: { x: 1 }, b: { x: 2 } });
});

test('applyJsonPatch: failing operations are 422 with the library message as cause', () => {
  const doc = { a: { b: 1 }, list: [1], s: 'str' };
  const generic = 'the server rejected our request due to an error in our request';
  const cases: [unknown[], string][] = [
    [
      [{ op: 'add', path: '/x/y', value: 1 }],
      'add operation does not apply: doc is missing path: "/x/y": missing value',
    ],
    [
      [{ op: 'add', path: '/s/y', value: 1 }],
      'add operation does not apply: doc is missing path: "/s/y": missing value',
    ],
    [
      [{ op: 'add', path: '/list/5', value: 1 }],
      "error in add for path: '/list/5': Unable to access invalid index: 5: invalid index referenced",
    ],
    [
      [{ op: 'add', path: '/list/x', value: 1 }],
      `error in add for path: '/list/x': value was not a proper array index: 'x': strconv.Atoi: parsing "x": invalid syntax`,
    ],
    [
      [{ op: 'remove', path: '/nope' }],
      "error in remove for path: '/nope': Unable to remove nonexistent key: nope: missing value",
    ],
    [
      [{ op: 'remove', path: '/list/3' }],
      "error in remove for path: '/list/3': Unable to access invalid index: 3: invalid index referenced",
    ],
    [
      [{ op: 'replace', path: '/a/zz', value: 1 }],
      'replace operation does not apply: doc is missing key: /a/zz: missing value',
    ],
    [
      [{ op: 'replace', path: '/q/zz', value: 1 }],
      'replace operation does not apply: doc is missing path: /q/zz: missing value',
    ],
    [[{ op: 'test', path: '/a/b', value: 2 }], 'testing value /a/b failed: test failed'],
    [[{ op: 'test', path: '/a/b' }], 'testing value /a/b failed: test failed'],
    [
      [{ op: 'move', from: '/zz', path: '/b' }],
      "error in move for path: 'zz': unable to get nonexistent key: zz: missing value",
    ],
    [
      [{ op: 'copy', from: '/a/b', path: '/q/r' }],
      'copy operation does not apply: doc is missing destination path: /q/r: missing value',
    ],
    [[{ op: 'frobnicate', path: '/a' }], 'Unexpected kind: frobnicate'],
    [[{ path: '/a' }], 'Unexpected kind: unknown'],
    [[null], 'Unexpected kind: unknown'],
    [[{ op: 'add', value: 1 }], 'add operation failed to decode path: missing value'],
    [
      [{ op: 'replace', path: 5, value: 1 }],
      'replace operation failed to decode path: json: cannot unmarshal number into Go value of type string',
    ],
    [[{ op: 'add', path: '', value: 1 }], 'add operation does not apply: doc is missing path: "": missing value'],
  ];
  for (const [patch, cause] of cases) {
    assert.throws(() => applyJsonPatch(doc, patch), isApiError(422, generic, cause), cause);
  }
  assert.throws(
    () =>
      applyJsonPatch(doc, [
        { op: 'add', path: '/x', value: 1 },
        { op: 'test', path: '/x', value: 2 },
      ]),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.reason, 'Invalid');
      assert.deepEqual(e.details?.causes, [
        { type: 'UnexpectedServerResponse', message: 'testing value /x failed: test failed' },
      ]);
      return true;
    },
  );
});

test('applyJsonPatch: undecodable patches are 400, huge ones 413', () => {
  const cases: [unknown, string][] = [
    [{ op: 'add' }, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch'],
    ['x', 'json: cannot unmarshal string into Go value of type jsonpatch.Patch'],
    [[1], 'json: cannot unmarshal number into Go value of type jsonpatch.Operation'],
  ];
  for (const [patch, msg] of cases) assert.throws(() => applyJsonPatch({}, patch), isApiError(400, msg));
  const big = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/a', value: 1 }));
  assert.throws(
    () => applyJsonPatch({ a: 1 }, big),
    isApiError(413, 'The allowed maximum operations in a JSON patch is 10000, got 10001'),
  );
});

test('applyMergePatch: RFC 7386 examples', () => {
  const cases: [unknown, unknown, unknown][] = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    [
      { metadata: { labels: { a: '1', b: '2' } } },
      { metadata: { labels: { b: null, c: '3' } } },
      { metadata: { labels: { a: '1', c: '3' } } },
    ],
  ];
  for (const [doc, patch, want] of cases) {
    const input = structuredClone(doc);
    assert.deepEqual(applyMergePatch(input, patch), want, JSON.stringify(patch));
    assert.deepEqual(input, doc);
  }
});

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web' }, finalizers: ['a', 'b'] },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'app', image: 'nginx:1', env: [{ name: 'A', value: '1' }], args: ['x'] },
          { name: 'side', image: 'busybox' },
        ],
        volumes: [{ name: 'cfg', configMap: { name: 'c' } }],
      },
    },
  },
};

const smp = (patch: unknown, doc: unknown = deployment): unknown =>
  applyStrategicMergePatch(doc, patch, deploymentSchema, resolve);

test('applyStrategicMergePatch: merge-keyed lists, replace lists, maps and nulls', () => {
  const out = smp({
    metadata: { labels: { tier: 'front', app: null } },
    spec: {
      replicas: 3,
      template: {
        spec: {
          containers: [
            { name: 'app', image: 'nginx:2', env: [{ name: 'B', value: '2' }], args: ['y'] },
            { name: 'new', image: 'redis' },
          ],
        },
      },
    },
  }) as typeof deployment;
  assert.deepEqual(out.metadata.labels, { tier: 'front' });
  assert.equal(out.spec.replicas, 3);
  assert.deepEqual(out.spec.template.spec.containers, [
    // upstream puts patch items the server has never seen ahead of server-only ones
    {
      name: 'app',
      image: 'nginx:2',
      env: [
        { name: 'B', value: '2' },
        { name: 'A', value: '1' },
      ],
      args: ['y'],
    },
    { name: 'new', image: 'redis' },
    { name: 'side', image: 'busybox' },
  ]);
  assert.equal(deployment.spec.template.spec.containers[0]!.image, 'nginx:1', 'input not mutated');
});

test('applyStrategicMergePatch: directives', () => {
  type D = typeof deployment;
  const cases: [string, unknown, (d: D) => unknown, unknown][] = [
    [
      '$patch: delete list item',
      { spec: { template: { spec: { containers: [{ name: 'side', $patch: 'delete' }] } } } },
      (d) => d.spec.template.spec.containers.map((c) => c.name),
      ['app'],
    ],
    [
      '$patch: replace list',
      { spec: { template: { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } } } },
      (d) => d.spec.template.spec.containers,
      [{ name: 'only', image: 'x' }],
    ],
    [
      '$patch: replace map',
      { metadata: { labels: { $patch: 'replace', z: '1' } } },
      (d) => d.metadata.labels,
      { z: '1' },
    ],
    ['$patch: delete map', { spec: { strategy: { $patch: 'delete' } } }, (d) => d.spec.strategy, {}],
    [
      '$retainKeys clears unlisted keys',
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      (d) => d.spec.strategy,
      { type: 'Recreate' },
    ],
    [
      '$deleteFromPrimitiveList',
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      (d) => d.metadata.finalizers,
      ['b'],
    ],
    [
      'primitive merge list is unioned',
      { metadata: { finalizers: ['c', 'a'] } },
      (d) => d.metadata.finalizers,
      ['c', 'a', 'b'],
    ],
    [
      '$setElementOrder reorders and keeps server-only items',
      {
        spec: {
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'side' }, { name: 'app' }],
              containers: [{ name: 'app', image: 'nginx:3' }],
            },
          },
        },
      },
      (d) => d.spec.template.spec.containers.map((c) => `${c.name}:${c.image}`),
      ['side:busybox', 'app:nginx:3'],
    ],
    [
      '$setElementOrder on primitives with deletion',
      {
        metadata: {
          '$setElementOrder/finalizers': ['c', 'a'],
          '$deleteFromPrimitiveList/finalizers': ['b'],
          finalizers: ['c'],
        },
      },
      (d) => d.metadata.finalizers,
      ['c', 'a'],
    ],
    [
      'list without merge strategy is replaced',
      { spec: { template: { spec: { containers: [{ name: 'app', args: ['z'] }] } } } },
      (d) => d.spec.template.spec.containers[0]!.args,
      ['z'],
    ],
    [
      'new nested map drops nulls and directives',
      { spec: { template: { metadata: { annotations: { a: '1', b: null } } } } },
      (d) => (d.spec.template.metadata as Record<string, unknown>).annotations,
      { a: '1' },
    ],
    [
      'kubectl apply (client-side) patch',
      {
        metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
        spec: {
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'app' }],
              containers: [
                { name: 'app', image: 'nginx:4' },
                { name: 'side', $patch: 'delete' },
              ],
            },
          },
        },
      },
      (d) => d.spec.template.spec.containers.map((c) => `${c.name}:${c.image}`),
      ['app:nginx:4'],
    ],
  ];
  for (const [name, patch, pick, want] of cases) {
    assert.deepEqual(pick(smp(patch) as D), want, name);
  }
});

test('applyStrategicMergePatch: the kubectl patch docs example (new container goes first)', () => {
  const doc = {
    spec: {
      template: { spec: { containers: [{ name: 'patch-demo-ctr', image: 'nginx' }], tolerations: [{ key: 'a' }] } },
    },
  };
  const out = smp(
    {
      spec: {
        template: { spec: { containers: [{ name: 'patch-demo-ctr-2', image: 'redis' }], tolerations: [{ key: 'b' }] } },
      },
    },
    doc,
  );
  assert.deepEqual(out, {
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'patch-demo-ctr-2', image: 'redis' },
            { name: 'patch-demo-ctr', image: 'nginx' },
          ],
          tolerations: [{ key: 'b' }],
        },
      },
    },
  });
});

test('applyStrategicMergePatch: lists of lists in a merge list are 422', () => {
  assert.throws(
    () => smp({ metadata: { finalizers: [['x']] } }, { metadata: {} }),
    isApiError(
      422,
      'the server rejected our request due to an error in our request',
      'lists of lists are not supported',
    ),
  );
});

test('applyStrategicMergePatch: without a schema it is a merge patch with directives', () => {
  const doc = { spec: { list: [1, 2], m: { a: 1, b: 2 } } };
  assert.deepEqual(
    applyStrategicMergePatch(doc, { spec: { list: [3], m: { a: null, c: 3 } } }, undefined, () => undefined),
    {
      spec: { list: [3], m: { b: 2, c: 3 } },
    },
  );
  assert.deepEqual(
    applyStrategicMergePatch(doc, { spec: { m: { $patch: 'replace', z: 1 } } }, undefined, () => undefined),
    {
      spec: { list: [1, 2], m: { z: 1 } },
    },
  );
  assert.deepEqual(
    applyStrategicMergePatch(null, { a: 1 }, undefined, () => undefined),
    { a: 1 },
  );
});

test('applyStrategicMergePatch: malformed directives', () => {
  const cases: [unknown, number, string][] = [
    [['x'], 400, 'json: cannot unmarshal array into Go value of type map[string]interface {}'],
    [{ spec: { strategy: { $retainKeys: 'type' } } }, 400, 'invalid patch format of retainKeys'],
    [{ spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } }, 400, 'invalid patch format of retainKeys'],
    [{ metadata: { $deleteFromPrimitiveList: ['a'] } }, 400, 'invalid patch format of primitive list'],
    [{ metadata: { labels: { $patch: 'merge' } } }, 500, 'unknown patch type: merge in map: map[$patch:merge]'],
    [
      { spec: { template: { spec: { containers: [{ image: 'x' }] } } } },
      500,
      'map: map[image:x] does not contain declared merge key: name',
    ],
    [
      { spec: { template: { spec: { containers: [{ name: 'app', $patch: 'merge' }] } } } },
      500,
      'merging lists cannot yet be specified in the patch',
    ],
    [{ metadata: { finalizers: [['x']] } }, 500, 'list element types are not identical: [[a b] [[x]]]'],
    [
      { spec: { template: { spec: { volumes: [['x']] } } } },
      500,
      'list element types are not identical: [[map[configMap:map[name:c] name:cfg]] [[x]]]',
    ],
    [
      {
        spec: {
          template: {
            spec: { '$setElementOrder/containers': [{ name: 'side' }], containers: [{ name: 'app', image: 'q' }] },
          },
        },
      },
      500,
      "The order in patch list:\n[map[image:q name:app]]\n doesn't match $setElementOrder list:\n[map[name:side]]\n",
    ],
  ];
  for (const [patch, code, msg] of cases) {
    assert.throws(() => smp(patch), isApiError(code, msg), msg);
  }
});
