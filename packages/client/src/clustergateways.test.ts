// The typed ClusterGateway helpers and ClusterGatewayClient against the recording fake: request
// paths under a hub sub-path, health round trip, Status errors as ApiException, bad names refused
// before anything is sent, and per-cluster caching.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException, CoreV1Api, KubernetesObjectApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { getClusterGateway, getHealth, listClusterGateways, updateHealth } from './clustergateways.ts';
import { ClusterGatewayClient } from './client.ts';
import { InvalidNameError, InvalidServerError } from './paths.ts';
import { runInCluster } from './routing.ts';
import { FakeGateway } from './testing.ts';

const SUB = '/sub';
const GW = `${SUB}/apis/cluster.core.oam.dev/v1alpha1/clustergateways`;

describe('ClusterGateway helpers', () => {
  const gw = new FakeGateway(SUB);
  let hub: KubeConfig;
  before(async () => {
    await gw.start();
    gw.health.set('cluster-2', { healthy: true, healthyReason: '' });
    hub = gw.kubeconfig();
  });
  after(() => gw.stop());

  test('list and get', async () => {
    const list = await listClusterGateways(hub);
    assert.equal(list.kind, 'ClusterGatewayList');
    assert.deepEqual(
      list.items.map((i) => i.metadata.name),
      ['cluster-1', 'cluster-2'],
    );
    assert.equal(gw.requests.at(-1)!.url, GW);
    await listClusterGateways(hub, { labelSelector: 'a=b', limit: 1, continue: 'tok' });
    assert.equal(gw.requests.at(-1)!.url, `${GW}?labelSelector=a%3Db&limit=1&continue=tok`);
    const one = await getClusterGateway(hub, 'cluster-2');
    assert.equal(one.spec.access.endpoint.type, 'Const');
    assert.equal(one.status.healthy, true);
    assert.equal(gw.requests.at(-1)!.url, `${GW}/cluster-2`);
  });

  test('health round trip', async () => {
    const before = await getHealth(hub, 'cluster-1');
    assert.equal(before.status.healthy, false);
    assert.equal(gw.requests.at(-1)!.url, `${GW}/cluster-1/health`);
    const updated = await updateHealth(hub, 'cluster-1', true, 'probe ok');
    assert.deepEqual(updated.status, { healthy: true, healthyReason: 'probe ok' });
    assert.equal(gw.requests.at(-1)!.method, 'PUT');
    assert.equal((await getHealth(hub, 'cluster-1')).status.healthyReason, 'probe ok');
    await updateHealth(hub, 'cluster-1', false);
    assert.deepEqual((await getHealth(hub, 'cluster-1')).status, { healthy: false });
    await assert.rejects(updateHealth(hub, 'cluster-1', 'yes' as unknown as boolean), TypeError);
  });

  test('a Status answer becomes an ApiException with the server message', async () => {
    await assert.rejects(getClusterGateway(hub, 'missing'), (e: unknown) => {
      assert.ok(e instanceof ApiException);
      assert.equal(e.code, 404);
      assert.match(e.message, /no such cluster missing/);
      assert.equal((e.body as { reason: string }).reason, 'NotFound');
      return true;
    });
    await assert.rejects(updateHealth(hub, 'missing', true), { code: 404 });
  });

  test('bad names are refused before anything is sent', async () => {
    const n = gw.requests.length;
    for (const name of ['', '../secrets', 'a/b', 'UPPER'])
      await assert.rejects(getClusterGateway(hub, name), InvalidNameError);
    await assert.rejects(updateHealth(hub, 'a/b', true), InvalidNameError);
    assert.equal(gw.requests.length, n);
  });

  test('wrong credentials surface as 401', async () => {
    const bad = gw.kubeconfig();
    bad.users = [{ name: 'admin', token: 'wrong' }];
    await assert.rejects(listClusterGateways(bad), { code: 401 });
  });
});

describe('ClusterGatewayClient', () => {
  const gw = new FakeGateway(SUB);
  let client: ClusterGatewayClient;
  before(async () => {
    await gw.start();
    client = new ClusterGatewayClient(gw.kubeconfig(undefined, 'team-a'));
  });
  after(() => gw.stop());

  test('caches configs and API clients per cluster; forget drops them', async () => {
    assert.equal(client.forCluster('cluster-1'), client.forCluster('cluster-1'));
    assert.notEqual(client.forCluster('cluster-1'), client.forCluster('cluster-2'));
    const a = client.api(CoreV1Api, 'cluster-1');
    assert.equal(client.api(CoreV1Api, 'cluster-1'), a);
    assert.notEqual(client.api(CoreV1Api, 'cluster-2'), a);
    const list = await a.listNamespace();
    assert.equal(list.items[0]!.metadata!.name, 'cluster-1-ns');
    client.forget('cluster-1');
    assert.notEqual(client.api(CoreV1Api, 'cluster-1'), a);
    const b = client.api(CoreV1Api, 'cluster-2');
    client.forget();
    assert.notEqual(client.api(CoreV1Api, 'cluster-2'), b);
    assert.throws(() => client.forCluster('Nope'), InvalidNameError);
  });

  test('objects() has the context namespace as default; create() builds Watch & co', async () => {
    const obj = client.objects('cluster-1');
    assert.ok(obj instanceof KubernetesObjectApi);
    await obj.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: '' } });
    assert.match(
      gw.requests.at(-1)!.url,
      /\/clustergateways\/cluster-1\/proxy\/api\/v1\/namespaces\/team-a\/configmaps\/x$/,
    );
    const w = client.create(Watch, 'cluster-2');
    assert.ok(w instanceof Watch);
    assert.match(w.config.getCurrentCluster()!.server, /\/clustergateways\/cluster-2\/proxy$/);
  });

  test('routedApi, withCluster and the typed helpers', async () => {
    const routed = client.routedApi(CoreV1Api);
    assert.equal(client.routedApi(CoreV1Api), routed);
    assert.notEqual(client.routedApi(CoreV1Api, { strict: true }), routed);
    assert.equal((await runInCluster('c9', () => routed.listNamespace())).items[0]!.metadata!.name, 'c9-ns');
    assert.equal((await routed.listNamespace()).items[0]!.metadata!.name, 'hub-ns');
    const hubApi = client.hub.makeApiClient(CoreV1Api);
    assert.equal((await hubApi.listNamespace({}, client.withCluster('c8'))).items[0]!.metadata!.name, 'c8-ns');
    assert.equal((await client.list()).items.length, 1);
    assert.equal((await client.get('cluster-1')).metadata.name, 'cluster-1');
    assert.equal((await client.updateHealth('cluster-1', true, 'ok')).status.healthyReason, 'ok');
    assert.equal((await client.getHealth('cluster-1')).status.healthy, true);
  });

  test('a hub config that cannot be routed fails at construction', () => {
    const bad = gw.kubeconfig('ftp://nope');
    assert.throws(() => new ClusterGatewayClient(bad), InvalidServerError);
  });
});
