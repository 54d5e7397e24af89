// Informer against a real sandbox hub (events in order, bookmarks, 410 → re-list with a diff, hub
// outages through a cuttable TCP proxy, pagination, selectors, clean abort) and against a scripted
// fake client for the failure shapes a sandbox can't easily produce (HTTP 410 on the watch request,
// expiring continue tokens, immediately-closed watches, throwing handlers).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { HubError, type KubeStatus, type Query, type WatchEvent } from './hub-client.ts';
import {
  Informer,
  type InformerMetricEvent,
  type KubeObjectLike,
  type ListWatchClient,
  type ResyncDiff,
} from './informer.ts';
import { eventually, startTestHub, TcpProxy, type TestHub } from './testing.ts';

interface Secret extends KubeObjectLike {
  metadata: { name: string; namespace?: string; resourceVersion: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

let hub: TestHub;

before(async () => {
  hub = await startTestHub({ bookmarkIntervalMs: 100 });
});

after(async () => {
  await hub.stop();
});

const FAST = { backoff: { initialMs: 20, maxMs: 200 }, watchTimeoutSeconds: [30, 60] as [number, number] };

function secret(ns: string, name: string, labels?: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns, labels }, data: { v: 'MQ==' } };
}

async function makeNamespace(name: string): Promise<void> {
  const c = await hub.client();
  await c.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** Records handler calls as `type:name` strings. */
function record(inf: Informer<Secret>): { log: string[]; resyncs: ResyncDiff<Secret>[] } {
  const log: string[] = [];
  const resyncs: ResyncDiff<Secret>[] = [];
  inf.onAdd((o) => log.push(`add:${o.metadata.name}`));
  inf.onUpdate((old, o) =>
    log.push(`update:${o.metadata.name}:${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`),
  );
  inf.onDelete((o) => log.push(`delete:${o.metadata.name}`));
  inf.onResync((d) => resyncs.push(d));
  return { log, resyncs };
}

test(
  'lists, then sees creates, updates and deletes in order; bookmarks advance the resourceVersion',
  { timeout: 60_000 },
  async () => {
    const ns = 'inf-basic';
    await makeNamespace(ns);
    const c = await hub.client();
    const path = `/api/v1/namespaces/${ns}/secrets`;
    await c.create(path, secret(ns, 'pre'));
    const inf = new Informer<Secret>({ client: c, path, ...FAST });
    const { log } = record(inf);
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    await inf.waitForSync(AbortSignal.timeout(5000));
    assert.ok(inf.hasSynced());
    assert.deepEqual(log, ['add:pre']);
    const pre = inf.get(`${ns}/pre`);
    assert.equal(pre?.kind, 'Secret', 'list items get their kind filled in');
    assert.equal(pre?.apiVersion, 'v1');

    const a = await c.create<Secret>(path, secret(ns, 'a'));
    const a2 = await c.patch<Secret>(`${path}/a`, { metadata: { labels: { x: 'y' } } });
    await c.delete(`${path}/pre`);
    await eventually(() => log.length === 4, 5000, 'three events');
    assert.deepEqual(log, [
      'add:pre',
      'add:a',
      `update:a:${a.metadata.resourceVersion}->${a2.metadata.resourceVersion}`,
      'delete:pre',
    ]);
    assert.deepEqual(
      inf.list().map((o) => o.metadata.name),
      ['a'],
    );
    assert.equal(inf.get(`${ns}/a`)?.metadata.labels?.x, 'y');

    // writes elsewhere move the hub's resourceVersion; only a bookmark can tell this watch about it
    const before = Number(inf.lastSyncResourceVersion);
    const other = await c.create<Secret>('/api/v1/namespaces/default/configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'bump-rv' },
    });
    await eventually(
      () => Number(inf.lastSyncResourceVersion) >= Number(other.metadata.resourceVersion),
      5000,
      'bookmark',
    );
    assert.ok(Number(inf.lastSyncResourceVersion) > before);
    assert.equal(log.length, 4, 'a bookmark is not an event');

    ac.abort();
    assert.equal(await running, 'aborted');
  },
);

test(
  'hub outage: backoff while unreachable, resume from the last resourceVersion, then 410 → re-list with a diff',
  { timeout: 60_000 },
  async () => {
    const ns = 'inf-outage';
    await makeNamespace(ns);
    const admin = await hub.client();
    const path = `/api/v1/namespaces/${ns}/secrets`;
    for (const n of ['keep', 'change', 'remove']) await admin.create(path, secret(ns, n));

    const proxy = new TcpProxy(hub.cluster.url);
    await proxy.start();
    const viaProxy = await hub.client(proxy.url);
    const metrics: InformerMetricEvent[] = [];
    const inf = new Informer<Secret>({ client: viaProxy, path, ...FAST, onMetric: (m) => metrics.push(m) });
    const { log, resyncs } = record(inf);
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    await inf.waitForSync(AbortSignal.timeout(5000));
    await eventually(() => metrics.some((m) => m.type === 'watchStart'), 5000, 'watch start');

    // 1) short outage: the history still has what we missed, so a plain re-watch catches up
    await proxy.cut();
    await eventually(() => metrics.filter((m) => m.type === 'error').length >= 2, 5000, 'failed reconnects');
    assert.ok(inf.lastError instanceof HubError && inf.lastError.code === 0, 'lastError is the transport failure');
    await admin.create(path, secret(ns, 'during-outage'));
    await proxy.start();
    await eventually(() => inf.get(`${ns}/during-outage`), 5000, 'event after reconnect');
    assert.equal(inf.lastError, undefined, 'lastError cleared after recovery');
    assert.equal(metrics.filter((m) => m.type === 'relist').length, 0, 'no re-list for a short outage');
    const errorDelays = metrics.flatMap((m) => (m.type === 'error' ? [m.retryInMs] : []));
    assert.ok(
      errorDelays.every((d) => d <= 300),
      `delays within the cap: ${errorDelays.join(',')}`,
    );

    // 2) long outage: the hub compacts past our resourceVersion → ERROR 410 → re-list → diff
    await proxy.cut();
    await admin.create(path, secret(ns, 'new'));
    await admin.patch(`${path}/change`, { metadata: { labels: { changed: 'yes' } } });
    await admin.delete(`${path}/remove`);
    for (let i = 0; i < 20_050; i++) {
      hub.cluster.store.put(
        'configmaps',
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'churn', namespace: 'kube-system' } },
        'MODIFIED',
      );
    }
    log.length = 0;
    await proxy.start();
    await eventually(() => resyncs.length === 1, 10_000, 're-list');
    const d = resyncs[0]!;
    assert.deepEqual(
      d.added.map((o) => o.metadata.name),
      ['new'],
    );
    assert.deepEqual(
      d.updated.map((u) => [u.obj.metadata.name, u.obj.metadata.labels?.changed]),
      [['change', 'yes']],
    );
    assert.deepEqual(
      d.deleted.map((o) => o.metadata.name),
      ['remove'],
    );
    assert.deepEqual(log.map((l) => l.replace(/:\d+->\d+$/, '')).sort(), ['add:new', 'delete:remove', 'update:change']);
    assert.deepEqual(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ['change', 'during-outage', 'keep', 'new'],
    );
    assert.ok(metrics.some((m) => m.type === 'relist'));

    // still watching after the re-list
    await admin.delete(`${path}/keep`);
    await eventually(() => !inf.get(`${ns}/keep`), 5000, 'delete after re-list');

    ac.abort();
    assert.equal(await running, 'aborted');
    await proxy.cut();
  },
);

test('paginates lists of more than 500 objects, and applies label selectors', { timeout: 60_000 }, async () => {
  const ns = 'inf-many';
  await makeNamespace(ns);
  const base = hub.cluster.store.get('namespaces', undefined, ns)!;
  for (let i = 0; i < 1203; i++) {
    hub.cluster.store.put(
      'secrets',
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: `s-${String(i).padStart(4, '0')}`,
          namespace: ns,
          uid: `u-${i}`,
          creationTimestamp: base.metadata.creationTimestamp,
          labels: { odd: String(i % 2 === 1) },
        },
      },
      'ADDED',
    );
  }
  const c = await hub.client();
  const path = `/api/v1/namespaces/${ns}/secrets`;
  const cases: { name: string; labelSelector?: string; pageSize?: number; items: number; pages: number }[] = [
    { name: 'default page size', items: 1203, pages: 3 },
    { name: 'small pages', pageSize: 100, items: 1203, pages: 13 },
    { name: 'label selector', labelSelector: 'odd=true', items: 601, pages: 2 },
  ];
  for (const tc of cases) {
    const metrics: InformerMetricEvent[] = [];
    const inf = new Informer<Secret>({
      client: c,
      path,
      ...FAST,
      labelSelector: tc.labelSelector,
      pageSize: tc.pageSize,
      onMetric: (m) => metrics.push(m),
    });
    let adds = 0;
    inf.onAdd(() => adds++);
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    await inf.waitForSync(AbortSignal.timeout(10_000));
    const list = metrics.find((m) => m.type === 'list');
    assert.ok(list?.type === 'list', tc.name);
    assert.equal(list.items, tc.items, tc.name);
    assert.equal(list.pages, tc.pages, tc.name);
    assert.equal(inf.size, tc.items, tc.name);
    assert.equal(adds, tc.items, tc.name);
    ac.abort();
    await running;
  }
});

test(
  'abort stops the loop and leaves no timers; closing the client leaves no sockets',
  { timeout: 60_000 },
  async () => {
    const baseline = countResources();
    // (a) abort while a watch is open
    const c = await hub.client();
    const inf = new Informer<Secret>({ client: c, path: '/api/v1/namespaces/default/secrets', ...FAST });
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    await inf.waitForSync(AbortSignal.timeout(5000));
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    assert.equal(await running, 'aborted');
    await eventually(() => (countResources().Timeout ?? 0) <= (baseline.Timeout ?? 0), 2000, 'no informer timers left');
    assert.ok(
      (countResources().TCPSocketWrap ?? 0) > (baseline.TCPSocketWrap ?? 0),
      'the pool keeps its connection until closed',
    );
    await c.close();
    await eventually(() => sameResources(baseline, countResources()), 5000, 'handles back to baseline');

    // (b) abort during a backoff sleep (hub unreachable)
    const proxy = new TcpProxy(hub.cluster.url);
    await proxy.start();
    const c2 = await hub.client(proxy.url);
    const inf2 = new Informer<Secret>({
      client: c2,
      path: '/api/v1/namespaces/default/secrets',
      backoff: { initialMs: 10_000, maxMs: 10_000 },
    });
    const ac2 = new AbortController();
    const running2 = inf2.run(ac2.signal);
    await inf2.waitForSync(AbortSignal.timeout(5000));
    await proxy.cut();
    await eventually(() => inf2.lastError, 5000, 'in backoff');
    const t0 = Date.now();
    ac2.abort();
    assert.equal(await running2, 'aborted');
    assert.ok(Date.now() - t0 < 1000, 'abort interrupts the backoff sleep');
    await c2.close();
    await eventually(() => sameResources(baseline, countResources()), 5000, 'handles back to baseline after backoff');
  },
);

function countResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

function sameResources(a: Record<string, number>, b: Record<string, number>): boolean {
  // TTYWRAP/PipeWrap of the test runner come and go; compare sockets and timers
  for (const k of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) if ((a[k] ?? 0) < (b[k] ?? 0)) return false;
  return true;
}

// ---- scripted fake client ----

type Step =
  | { list: { items: Secret[]; rv: string; continue?: string } }
  | { listError: HubError }
  | { watch: WatchEvent<Secret>[]; thenError?: HubError; holdMs?: number }
  | { watchError: HubError };

function status(code: number, reason: string): KubeStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${reason} (${code})`,
    reason,
    code,
  };
}

function obj(name: string, rv: string): Secret {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv } };
}

/** A client that plays `steps` in order (list steps answer list(), the others watch()) and records the queries. */
function fakeClient(steps: Step[]): { client: ListWatchClient; calls: { op: string; query: Query }[] } {
  const calls: { op: string; query: Query }[] = [];
  const lists = steps.filter((s) => 'list' in s || 'listError' in s);
  const watches = steps.filter((s) => 'watch' in s || 'watchError' in s);
  const client = {
    list(_path: string, query: Query, signal: AbortSignal): Promise<unknown> {
      calls.push({ op: 'list', query });
      const s = lists.shift();
      if (!s) {
        // no more script: a hub that never answers, until aborted
        return new Promise((_r, reject) => {
          signal.addEventListener(
            'abort',
            () => {
              reject(signal.reason as Error);
            },
            { once: true },
          );
        });
      }
      if ('listError' in s) return Promise.reject(s.listError);
      if (!('list' in s)) throw new Error('bad script');
      return Promise.resolve({
        kind: 'SecretList',
        apiVersion: 'v1',
        metadata: { resourceVersion: s.list.rv, continue: s.list.continue },
        items: s.list.items,
      });
    },
    async *watch(_path: string, query: Query, signal: AbortSignal): AsyncGenerator<WatchEvent<Secret>> {
      calls.push({ op: 'watch', query });
      const s = watches.shift();
      if (!s) {
        // no more script: hang until aborted, like a quiet watch
        signal.throwIfAborted();
        await new Promise((_r, reject) => {
          signal.addEventListener(
            'abort',
            () => {
              reject(signal.reason as Error);
            },
            { once: true },
          );
        });
        return;
      }
      if ('watchError' in s) throw s.watchError;
      if (!('watch' in s)) throw new Error('bad script');
      for (const ev of s.watch) yield ev;
      if (s.holdMs) await new Promise((r) => setTimeout(r, s.holdMs));
      if (s.thenError) throw s.thenError;
    },
  };
  return { client: client as unknown as ListWatchClient, calls };
}

test(
  'fake hub: HTTP 410 on the watch request and 410 ERROR events both re-list; resume uses the last resourceVersion',
  { timeout: 60_000 },
  async () => {
    const { client, calls } = fakeClient([
      { list: { items: [obj('a', '5'), obj('b', '6')], rv: '10' } },
      {
        watch: [
          { type: 'MODIFIED', object: obj('a', '11') },
          { type: 'BOOKMARK', object: { metadata: { resourceVersion: '15' } } as Secret },
        ],
        holdMs: 1100,
      },
      { watchError: new HubError(status(410, 'Gone')) },
      { list: { items: [obj('a', '11'), obj('c', '20')], rv: '21' } },
      { watch: [], thenError: new HubError(status(410, 'Expired')) },
      { list: { items: [obj('c', '20')], rv: '30' } },
    ]);
    const inf = new Informer<Secret>({ client, path: '/api/v1/namespaces/ns/secrets', ...FAST });
    const { log, resyncs } = record(inf);
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    await eventually(() => resyncs.length === 2, 5000, 'two re-lists');
    ac.abort();
    assert.equal(await running, 'aborted');
    const ops = calls.map((c) => `${c.op}${c.op === 'watch' ? `@${String(c.query.resourceVersion)}` : ''}`);
    assert.deepEqual(ops, ['list', 'watch@10', 'watch@15', 'list', 'watch@21', 'list', 'watch@30']);
    assert.ok(
      calls
        .filter((c) => c.op === 'watch')
        .every((c) => c.query.allowWatchBookmarks === true && Number(c.query.timeoutSeconds) >= 30),
    );
    assert.ok(calls.filter((c) => c.op === 'list').every((c) => c.query.limit === 500));
    assert.deepEqual(log, ['add:a', 'add:b', 'update:a:5->11', 'delete:b', 'add:c', 'delete:a']);
    assert.deepEqual(
      resyncs.map((d) => [d.added.length, d.updated.length, d.deleted.length]),
      [
        [1, 0, 1],
        [0, 0, 1],
      ],
    );
    assert.equal(inf.lastSyncResourceVersion, '30');
  },
);

test('fake hub: an expired continue token restarts the list from the first page', { timeout: 60_000 }, async () => {
  const { client, calls } = fakeClient([
    { list: { items: [obj('a', '1')], rv: '10', continue: 'tok1' } },
    { listError: new HubError(status(410, 'Expired')) },
    { list: { items: [obj('a', '1')], rv: '12', continue: 'tok2' } },
    { list: { items: [obj('b', '2')], rv: '12' } },
  ]);
  const inf = new Informer<Secret>({ client, path: '/api/v1/namespaces/ns/secrets', ...FAST });
  const ac = new AbortController();
  const running = inf.run(ac.signal);
  await inf.waitForSync(AbortSignal.timeout(5000));
  ac.abort();
  await running;
  assert.deepEqual(
    calls.filter((c) => c.op === 'list').map((c) => c.query.continue ?? ''),
    ['', 'tok1', '', 'tok2'],
  );
  assert.equal(inf.size, 2);
  assert.equal(inf.lastSyncResourceVersion, '12');
});

test(
  'fake hub: errors back off (immediately-closed watches too), handlers that throw do not stop the loop',
  { timeout: 60_000 },
  async () => {
    const { client, calls } = fakeClient([
      { listError: new HubError(status(500, 'InternalError')) },
      { listError: new HubError(status(503, 'ServiceUnavailable')) },
      { list: { items: [obj('a', '1')], rv: '10' } },
      { watch: [] },
      { watch: [] },
      { watch: [] },
      { watch: [{ type: 'ADDED', object: obj('b', '11') }] },
    ]);
    const metrics: InformerMetricEvent[] = [];
    const inf = new Informer<Secret>({
      client,
      path: '/x',
      backoff: { initialMs: 40, maxMs: 1000 },
      onMetric: (m) => metrics.push(m),
    });
    inf.onAdd(() => {
      throw new Error('consumer bug');
    });
    let adds = 0;
    inf.onAdd(() => adds++);
    const ac = new AbortController();
    const started = Date.now();
    const running = inf.run(ac.signal);
    await eventually(() => inf.get('ns/b'), 5000, 'b after backoffs');
    const elapsed = Date.now() - started;
    ac.abort();
    await running;
    assert.equal(adds, 2, 'the second handler still ran');
    const errs = metrics.flatMap((m) => (m.type === 'error' ? [m] : []));
    assert.deepEqual(
      errs.map((e) => e.phase),
      ['list', 'list', 'watch', 'watch', 'watch'],
    );
    // 40·2^n with ±50 % jitter; the list success resets the attempt counter
    const minTotal = (40 + 80) * 0.5 + (40 + 80 + 160) * 0.5;
    assert.ok(elapsed >= minTotal, `backed off (${elapsed} ms >= ${minTotal} ms)`);
    assert.match((errs[2]!.error as Error).message, /very short watch/);
    assert.equal(calls.length, 8);
  },
);

test('fake hub: exitOnNotFound returns on 404, otherwise 404 is retried', { timeout: 60_000 }, async () => {
  const notFound = new HubError(status(404, 'NotFound'));
  for (const exitOnNotFound of [true, false]) {
    const { client, calls } = fakeClient([
      { listError: notFound },
      { listError: notFound },
      { list: { items: [], rv: '3' } },
    ]);
    const inf = new Informer<Secret>({ client, path: '/x', ...FAST, exitOnNotFound });
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    if (exitOnNotFound) {
      assert.equal(await running, 'notFound');
      assert.equal(calls.length, 1);
      assert.equal(inf.hasSynced(), false);
    } else {
      await inf.waitForSync(AbortSignal.timeout(5000));
      ac.abort();
      assert.equal(await running, 'aborted');
      assert.equal(calls.filter((c) => c.op === 'list').length, 3);
    }
  }
});

test(
  'informer options are validated; run twice is refused; waitForSync rejects on abort',
  { timeout: 60_000 },
  async () => {
    const { client } = fakeClient([]);
    const bad: { name: string; opts: Partial<ConstructorParameters<typeof Informer>[0]>; error: RegExp }[] = [
      { name: 'relative path', opts: { path: 'api/v1/secrets' }, error: /must be absolute/ },
      { name: 'inverted range', opts: { watchTimeoutSeconds: [10, 5] }, error: /watchTimeoutSeconds/ },
      { name: 'zero timeout', opts: { watchTimeoutSeconds: [0, 5] }, error: /watchTimeoutSeconds/ },
      { name: 'page size', opts: { pageSize: 0 }, error: /pageSize/ },
      { name: 'fractional page size', opts: { pageSize: 1.5 }, error: /pageSize/ },
    ];
    for (const b of bad) assert.throws(() => new Informer({ client, path: '/x', ...b.opts }), b.error, b.name);

    const inf = new Informer<Secret>({ client, path: '/x' });
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    await assert.rejects(inf.run(ac.signal), /already running/);
    const waiting = inf.waitForSync(ac.signal);
    ac.abort(new Error('shutdown'));
    await assert.rejects(waiting, /shutdown/);
    assert.equal(await running, 'aborted');
  },
);
