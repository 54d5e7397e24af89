// Served-resource helpers against a sandbox hub: the OCM ManagedCluster CRD applied after the
// informer started, then deleted and re-created; plus discovery failures with a scripted client.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { HubError, type APIResourceList } from './hub-client.ts';
import { isServed, OptionalInformer, whenServed, type DiscoveryClient, type ServedResource } from './crd-watch.ts';
import type { KubeObjectLike } from './informer.ts';
import { eventually, startTestHub, type TestHub } from './testing.ts';

const CRD_FILE = '/work/shared/samples/upstream/crds/managedcluster.yaml';
const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
const MC: ServedResource = { group: 'cluster.open-cluster-management.io', version: 'v1', resource: 'managedclusters' };
const MC_PATH = '/apis/cluster.open-cluster-management.io/v1/managedclusters';

interface ManagedCluster extends KubeObjectLike {
  spec?: { hubAcceptsClient?: boolean; managedClusterClientConfigs?: { url: string }[] };
}

let hub: TestHub;

before(async () => {
  hub = await startTestHub();
});

after(async () => {
  await hub.stop();
});

test(
  'the ManagedCluster informer starts when the CRD appears, empties when it goes, and comes back',
  { timeout: 60_000 },
  async (t) => {
    const c = await hub.client();
    const inf = new OptionalInformer<ManagedCluster>({
      client: c,
      resource: MC,
      intervalMs: 100,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    const log: string[] = [];
    inf.onAdd((o) => log.push(`add:${o.metadata.name}`));
    inf.onUpdate((_old, o) => log.push(`update:${o.metadata.name}`));
    inf.onDelete((o) => log.push(`delete:${o.metadata.name}`));
    assert.equal(inf.hasSynced(), false, 'unknown before the first discovery answer');
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    t.after(async () => {
      ac.abort();
      await running;
    });

    // absent CRD: an empty, synced cache (readiness must not wait for it) and no crash on reads
    await inf.waitForSync(AbortSignal.timeout(5000));
    assert.equal(inf.served, false);
    assert.deepEqual(inf.list(), []);
    assert.equal(inf.get('cluster-1'), undefined);
    assert.equal(await isServed(c, MC), false);

    // CRD applied later → informer starts without a restart
    const crd = parse(await readFile(CRD_FILE, 'utf8')) as object;
    await c.create(CRDS, crd);
    await eventually(() => isServed(c, MC), 10_000, 'CRD served');
    await c.create(MC_PATH, {
      apiVersion: 'cluster.open-cluster-management.io/v1',
      kind: 'ManagedCluster',
      metadata: { name: 'cluster-1' },
      spec: { hubAcceptsClient: true, managedClusterClientConfigs: [{ url: 'https://cluster-1:6443' }] },
    });
    await eventually(() => inf.get('cluster-1'), 10_000, 'ManagedCluster in the cache');
    assert.equal(inf.served, true);
    assert.equal(inf.hasSynced(), true);
    assert.equal(inf.get('cluster-1')?.kind, 'ManagedCluster');
    await c.patch(`${MC_PATH}/cluster-1`, { spec: { hubAcceptsClient: false } });
    await eventually(() => inf.get('cluster-1')?.spec?.hubAcceptsClient === false, 5000, 'update');

    // CRD deleted → consumers are told the objects are gone, and we go back to waiting
    await c.delete(`${CRDS}/managedclusters.cluster.open-cluster-management.io`);
    await eventually(() => !inf.served, 10_000, 'informer back to waiting');
    assert.deepEqual(inf.list(), []);
    assert.ok(log.includes('delete:cluster-1'), log.join(','));
    assert.equal(inf.hasSynced(), true);

    // and once more: re-created CRD is picked up again
    await eventually(
      async () => {
        try {
          await c.create(CRDS, crd);
          return true;
        } catch {
          return false; // the old one may still be terminating
        }
      },
      10_000,
      'CRD re-created',
    );
    await eventually(() => isServed(c, MC), 10_000, 'CRD served again');
    await c.create(MC_PATH, {
      apiVersion: 'cluster.open-cluster-management.io/v1',
      kind: 'ManagedCluster',
      metadata: { name: 'cluster-2' },
      spec: {},
    });
    await eventually(() => inf.get('cluster-2'), 10_000, 'second incarnation cached');
    assert.equal(inf.served, true);

    ac.abort();
    await running;
    assert.ok(log.indexOf('add:cluster-1') < log.indexOf('update:cluster-1'));
    assert.ok(log.indexOf('update:cluster-1') < log.indexOf('delete:cluster-1'));
  },
);

test(
  'whenServed: immediate check, keeps polling through discovery errors, false on abort',
  { timeout: 30_000 },
  async () => {
    const served: APIResourceList = {
      kind: 'APIResourceList',
      groupVersion: 'g/v1',
      resources: [{ name: 'things', namespaced: false, kind: 'Thing', verbs: ['list'] }],
    };
    const other: APIResourceList = {
      ...served,
      resources: [{ name: 'things/status', namespaced: false, kind: 'Thing', verbs: ['get'] }],
    };
    const script: (APIResourceList | undefined | Error)[] = [
      undefined,
      new HubError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'unavailable',
        reason: 'ServiceUnavailable',
        code: 503,
      }),
      other,
      served,
    ];
    let calls = 0;
    const client: DiscoveryClient = {
      discoveryResources: () => {
        calls++;
        const s = script.shift();
        return s instanceof Error ? Promise.reject(s) : Promise.resolve(s);
      },
    };
    const r = { group: 'g', version: 'v1', resource: 'things' };
    const warnings: string[] = [];
    const logger = { warn: (_o: object, m: string) => warnings.push(m), debug: () => undefined };
    assert.equal(await whenServed(client, r, AbortSignal.timeout(5000), { intervalMs: 10, logger }), true);
    assert.equal(calls, 4, 'absent, error, only a subresource, served');
    assert.deepEqual(warnings, ['discovery check failed']);

    // served right away: exactly one check, no waiting
    script.push(served);
    const t0 = Date.now();
    assert.equal(await whenServed(client, r, AbortSignal.timeout(5000), { intervalMs: 10_000 }), true);
    assert.ok(Date.now() - t0 < 1000);

    // never served: abort ends the wait with false, promptly
    const never: DiscoveryClient = { discoveryResources: () => Promise.resolve(undefined) };
    const ac = new AbortController();
    const waiting = whenServed(never, r, ac.signal, { intervalMs: 10_000 });
    setTimeout(() => {
      ac.abort();
    }, 50);
    const t1 = Date.now();
    assert.equal(await waiting, false);
    assert.ok(Date.now() - t1 < 1000, 'abort interrupts the poll interval');
  },
);

test('OptionalInformer builds namespaced and core paths', { timeout: 10_000 }, async () => {
  const paths: string[] = [];
  const client = {
    discoveryResources: () =>
      Promise.resolve({
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [{ name: 'secrets', namespaced: true, kind: 'Secret', verbs: [] }],
      }),
    list: (path: string) => {
      paths.push(path);
      return Promise.resolve({ metadata: { resourceVersion: '1' }, items: [] });
    },
    watch: async function* (_p: string, _q: unknown, signal: AbortSignal): AsyncGenerator<never> {
      // a quiet watch: nothing until aborted
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
      yield* [];
    },
  } as unknown as ConstructorParameters<typeof OptionalInformer>[0]['client'];
  for (const [resource, namespace, want] of [
    [{ group: '', version: 'v1', resource: 'secrets' }, 'vela-system', '/api/v1/namespaces/vela-system/secrets'],
    [{ group: 'apps', version: 'v1', resource: 'deployments' }, undefined, '/apis/apps/v1/deployments'],
  ] as const) {
    paths.length = 0;
    const inf = new OptionalInformer({ client, resource: { ...resource }, namespace, intervalMs: 10 });
    const ac = new AbortController();
    const running = inf.run(ac.signal);
    if (resource.resource === 'secrets') {
      await inf.waitForSync(AbortSignal.timeout(5000));
      assert.equal(inf.served, true);
      assert.deepEqual(paths, [want]);
    } else {
      // discovery lists only secrets: deployments stay absent (synced, empty), no list is made
      await inf.waitForSync(AbortSignal.timeout(5000));
      assert.equal(inf.served, false);
      assert.deepEqual(paths, []);
    }
    ac.abort();
    await running;
  }
});
