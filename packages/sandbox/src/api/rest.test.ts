import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../store/store.ts';
import { ResourceRegistry } from './registry.ts';
import { RestStorage, type RestRequest, type WatchSink } from './rest.ts';
import { ApiError } from '../errors/status.ts';
import type { KubeObject } from './types.ts';

function setup(historySize?: number): {
  rest: RestStorage;
  req: (resource: string, q?: string, extra?: Partial<RestRequest>) => RestRequest;
} {
  const store = new Store(historySize ? { historySize } : {});
  const registry = new ResourceRegistry();
  const rest = new RestStorage(store, registry);
  rest.systemUpdate('namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'ns', uid: 'u-ns' },
    status: { phase: 'Active' },
  });
  const req = (resource: string, q = '', extra: Partial<RestRequest> = {}): RestRequest => {
    const [group, version] = resource.includes('.') ? ['apps', 'v1'] : ['', 'v1'];
    const info = registry.lookup(group, version, resource.split('.')[0]!)!;
    return {
      info,
      namespace: 'ns',
      name: '',
      subresource: '',
      query: new URLSearchParams(q),
      user: { username: 'admin', groups: ['system:masters'] },
      userAgent: 'kubectl/v1.32.4 (linux/amd64)',
      ...extra,
    };
  };
  return { rest, req };
}

function cm(name: string, data: Record<string, string> = {}, extra: Partial<KubeObject['metadata']> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...extra }, data };
}

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e.code;
    throw e;
  }
  return 0;
}

test('create sets server fields; a second create is 409 AlreadyExists', () => {
  const { rest, req } = setup();
  const out = rest.create({ ...req('configmaps'), body: cm('a', { k: 'v' }) });
  const o = out.body as KubeObject;
  assert.equal(out.code, 201);
  assert.match(o.metadata.uid!, /^[0-9a-f-]{36}$/);
  assert.ok(Number(o.metadata.resourceVersion) > 1);
  assert.match(o.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(o.metadata.managedFields?.[0]?.manager, 'kubectl');
  assert.equal(
    code(() => rest.create({ ...req('configmaps'), body: cm('a') })),
    409,
  );
});

test('generateName, namespace existence and body/URL mismatches', () => {
  const { rest, req } = setup();
  const g = rest.create({ ...req('configmaps'), body: cm('', {}, { generateName: 'x-', name: undefined }) })
    .body as KubeObject;
  assert.match(g.metadata.name!, /^x-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  assert.equal(
    code(() => rest.create({ ...req('configmaps', '', { namespace: 'missing' }), body: cm('a') })),
    404,
  );
  assert.equal(
    code(() => rest.create({ ...req('configmaps'), body: { ...cm('a'), kind: 'Secret' } })),
    400,
  );
  assert.equal(
    code(() => rest.create({ ...req('configmaps'), body: { ...cm('a'), apiVersion: 'v2' } })),
    400,
  );
  assert.equal(
    code(() => rest.create({ ...req('configmaps'), body: cm('a', {}, { namespace: 'other' }) })),
    400,
  );
  assert.equal(
    code(() => rest.create({ ...req('configmaps'), body: cm('Bad_Name') })),
    422,
  );
  assert.equal(
    code(() => rest.create({ ...req('configmaps'), body: [] })),
    400,
  );
});

test('update with a stale resourceVersion is 409; a no-op update keeps the resourceVersion', () => {
  const { rest, req } = setup();
  const created = rest.create({ ...req('configmaps'), body: cm('a', { k: '1' }) }).body as KubeObject;
  const next = structuredClone<KubeObject>(created);
  (next.data as Record<string, string>).k = '2';
  const updated = rest.update({ ...req('configmaps', '', { name: 'a' }), body: next }).body as KubeObject;
  assert.notEqual(updated.metadata.resourceVersion, created.metadata.resourceVersion);
  assert.equal(
    code(() => rest.update({ ...req('configmaps', '', { name: 'a' }), body: next })),
    409,
  );
  const same = rest.update({ ...req('configmaps', '', { name: 'a' }), body: structuredClone(updated) })
    .body as KubeObject;
  assert.equal(same.metadata.resourceVersion, updated.metadata.resourceVersion);
  assert.equal(
    code(() => rest.update({ ...req('configmaps', '', { name: 'nope' }), body: cm('nope') })),
    404,
  );
});

test('dryRun=All stores nothing; bad dryRun values are 400', () => {
  const { rest, req } = setup();
  rest.create({ ...req('configmaps', 'dryRun=All'), body: cm('d') });
  assert.equal(
    code(() => rest.get({ ...req('configmaps'), name: 'd' })),
    404,
  );
  assert.equal(
    code(() => rest.create({ ...req('configmaps', 'dryRun=Some'), body: cm('d') })),
    400,
  );
});

test('deployment generation moves only with spec changes', () => {
  const { rest, req } = setup();
  const d = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
    },
  };
  const created = rest.create({ ...req('deployments.apps'), body: d }).body as KubeObject;
  assert.equal(created.metadata.generation, 1);
  const labelled = rest.patch({
    ...req('deployments.apps', '', { name: 'web' }),
    patchType: 'merge',
    body: { metadata: { labels: { a: 'b' } } },
  }).body as KubeObject;
  assert.equal(labelled.metadata.generation, 1);
  const scaled = rest.patch({
    ...req('deployments.apps', '', { name: 'web' }),
    patchType: 'merge',
    body: { spec: { replicas: 3 } },
  }).body as KubeObject;
  assert.equal(scaled.metadata.generation, 2);
  assert.equal(
    code(() =>
      rest.patch({
        ...req('deployments.apps', '', { name: 'web' }),
        patchType: 'merge',
        body: { spec: { selector: { matchLabels: { app: 'other' } } } },
      }),
    ),
    422,
  );
});

test('finalizers hold a deletion until they are removed', () => {
  const { rest, req } = setup();
  rest.create({ ...req('configmaps'), body: cm('f', {}, { finalizers: ['example.com/hold'] }) });
  const del = rest.delete({ ...req('configmaps', '', { name: 'f' }) });
  assert.ok((del.body as KubeObject).metadata.deletionTimestamp);
  assert.ok(rest.get({ ...req('configmaps'), name: 'f' }));
  rest.patch({ ...req('configmaps', '', { name: 'f' }), patchType: 'merge', body: { metadata: { finalizers: null } } });
  assert.equal(
    code(() => rest.get({ ...req('configmaps'), name: 'f' })),
    404,
  );
});

test('delete preconditions and Status answer', () => {
  const { rest, req } = setup();
  const c = rest.create({ ...req('configmaps'), body: cm('p') }).body as KubeObject;
  assert.equal(
    code(() => rest.delete({ ...req('configmaps', '', { name: 'p' }), body: { preconditions: { uid: 'wrong' } } })),
    409,
  );
  const out = rest.delete({
    ...req('configmaps', '', { name: 'p' }),
    body: { preconditions: { uid: c.metadata.uid } },
  });
  assert.deepEqual((out.body as { status: string; details: { uid: string } }).status, 'Success');
});

test('list pages with limit/continue and rejects a malformed continue token', () => {
  const { rest, req } = setup();
  for (let i = 0; i < 5; i++) rest.create({ ...req('configmaps'), body: cm(`c${i}`) });
  const p1 = rest.list(req('configmaps', 'limit=2'));
  assert.deepEqual(
    p1.items.map((o) => o.metadata.name),
    ['c0', 'c1'],
  );
  assert.equal(p1.remainingItemCount, 3);
  const p2 = rest.list(req('configmaps', `limit=2&continue=${p1.continue!}`));
  assert.deepEqual(
    p2.items.map((o) => o.metadata.name),
    ['c2', 'c3'],
  );
  assert.equal(p2.resourceVersion, p1.resourceVersion);
  assert.equal(
    code(() => rest.list(req('configmaps', 'continue=garbage'))),
    400,
  );
  assert.equal(
    code(() => rest.list(req('configmaps', 'limit=-1'))),
    400,
  );
});

function sink(): WatchSink & { events: { type: string; object: KubeObject }[]; ended: boolean } {
  const closers: (() => void)[] = [];
  const s = {
    events: [] as { type: string; object: KubeObject }[],
    ended: false,
    send(type: string, object: unknown) {
      s.events.push({ type, object: object as KubeObject });
    },
    end() {
      s.ended = true;
      for (const c of closers) c();
    },
    onClose(fn: () => void) {
      closers.push(fn);
    },
  };
  return s;
}

test('watch replays from a resourceVersion, follows selectors, and answers 410 when compacted', () => {
  const { rest, req } = setup(10);
  const first = rest.create({ ...req('configmaps'), body: cm('w', {}, { labels: { a: '1' } }) }).body as KubeObject;
  const s = sink();
  rest.watch(req('configmaps', `labelSelector=a%3D1&resourceVersion=${first.metadata.resourceVersion}`), s, {
    bookmarkIntervalMs: 0,
  });
  rest.patch({ ...req('configmaps', '', { name: 'w' }), patchType: 'merge', body: { data: { x: '1' } } });
  rest.patch({
    ...req('configmaps', '', { name: 'w' }),
    patchType: 'merge',
    body: { metadata: { labels: { a: '2' } } },
  });
  rest.patch({
    ...req('configmaps', '', { name: 'w' }),
    patchType: 'merge',
    body: { metadata: { labels: { a: '1' } } },
  });
  assert.deepEqual(
    s.events.map((e) => e.type),
    ['MODIFIED', 'DELETED', 'ADDED'],
  );
  s.end();
  for (let i = 0; i < 20; i++) rest.create({ ...req('configmaps'), body: cm(`fill${i}`) });
  const old = sink();
  rest.watch(req('configmaps', 'resourceVersion=2'), old, { bookmarkIntervalMs: 0 });
  assert.equal(old.events[0]?.type, 'ERROR');
  assert.equal((old.events[0]?.object as unknown as { code: number }).code, 410);
  assert.ok(old.ended);
  assert.equal(
    code(() => {
      rest.watch(req('configmaps', 'resourceVersion=abc'), sink(), { bookmarkIntervalMs: 0 });
    }),
    400,
  );
});

test('Secret stringData is folded into data and never stored', () => {
  const { rest, req } = setup();
  const s = rest.create({
    ...req('secrets'),
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      data: { a: 'eA==' },
      stringData: { b: 'hello', a: 'y' },
    },
  }).body as KubeObject;
  assert.deepEqual(s.data, { a: Buffer.from('y').toString('base64'), b: Buffer.from('hello').toString('base64') });
  assert.equal(s.stringData, undefined);
  assert.equal(s.type, 'Opaque');
});

test('a watch ends when its storage is terminated (CRD deleted)', () => {
  const { rest, req } = setup();
  const s = sink();
  rest.watch(req('configmaps'), s, { bookmarkIntervalMs: 0 });
  assert.equal(s.ended, false);
  rest.store.terminateWatches('configmaps');
  assert.equal(s.ended, true);
});
