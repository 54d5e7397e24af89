// gatewayKubeConfig: the copy's shape, and that every client-node helper (generated API clients,
// KubernetesObjectApi, Watch, Log, Exec, Attach, PortForward) sends its request to the cluster's
// proxy path under a hub sub-path, with the hub's credentials, against a recording fake gateway.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import {
  Attach,
  CoreV1Api,
  Exec,
  KubeConfig,
  KubernetesObjectApi,
  Log,
  PortForward,
  VersionApi,
  Watch,
  type V1Status,
} from '@kubernetes/client-node';
import { gatewayKubeConfig } from './kubeconfig.ts';
import { InvalidNameError, InvalidServerError } from './paths.ts';
import { FakeGateway, TOKEN } from './testing.ts';

const SUB = '/k8s/clusters/c-x';
const PREFIX = `${SUB}/apis/cluster.core.oam.dev/v1alpha1/clustergateways/cluster-1/proxy`;

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

describe('gatewayKubeConfig shape', () => {
  const hub = new KubeConfig();
  hub.loadFromOptions({
    clusters: [
      { name: 'hub', server: 'https://hub.example:6443/sub/', caData: 'Q0E=', skipTLSVerify: false },
      { name: 'other', server: 'https://other', skipTLSVerify: false },
    ],
    users: [{ name: 'admin', token: 't' }],
    contexts: [
      { name: 'hub-ctx', cluster: 'hub', user: 'admin', namespace: 'team-a' },
      { name: 'other-ctx', cluster: 'other', user: 'admin' },
    ],
    currentContext: 'hub-ctx',
  });

  test('routes the current context and keeps everything else', () => {
    const before = hub.exportConfig();
    const kc = gatewayKubeConfig(hub, 'cluster-1');
    assert.equal(hub.exportConfig(), before, 'the hub config is not modified');
    assert.equal(kc.getCurrentContext(), 'hub-ctx@cluster-1');
    const c = kc.getCurrentCluster()!;
    assert.equal(
      c.server,
      'https://hub.example:6443/sub/apis/cluster.core.oam.dev/v1alpha1/clustergateways/cluster-1/proxy',
    );
    assert.equal(c.caData, 'Q0E=');
    assert.equal(kc.getCurrentUser(), hub.getCurrentUser(), 'the hub user (credentials) is shared');
    assert.equal(kc.getContextObject('hub-ctx@cluster-1')!.namespace, 'team-a');
    assert.ok(kc.getContextObject('other-ctx'));
    kc.setCurrentContext('hub-ctx');
    assert.equal(kc.getCurrentCluster()!.server, 'https://hub.example:6443/sub/');
    const reparsed = new KubeConfig();
    reparsed.loadFromString(gatewayKubeConfig(hub, 'cluster-1').exportConfig());
    assert.equal(reparsed.getCurrentCluster()!.server, c.server);
  });

  test('contextName and group options', () => {
    const kc = gatewayKubeConfig(hub, 'c2', { contextName: 'member', group: 'gateway.open-cluster-management.io' });
    assert.equal(kc.getCurrentContext(), 'member');
    assert.equal(
      kc.getCurrentCluster()!.server,
      'https://hub.example:6443/sub/apis/gateway.open-cluster-management.io/v1alpha1/clustergateways/c2/proxy',
    );
    // a contextName equal to an existing context replaces it in the copy only
    const again = gatewayKubeConfig(hub, 'c2', { contextName: 'other-ctx' });
    assert.equal(again.getContexts().filter((c) => c.name === 'other-ctx').length, 1);
    assert.match(again.getCurrentCluster()!.server, /clustergateways\/c2\/proxy$/);
    assert.equal(hub.getContextObject('other-ctx')!.cluster, 'other');
  });

  test('bad input is refused', () => {
    assert.throws(() => gatewayKubeConfig(hub, 'Bad/Name'), InvalidNameError);
    assert.throws(() => gatewayKubeConfig(hub, 'c', { contextName: '' }), /contextName/);
    const empty = new KubeConfig();
    assert.throws(() => gatewayKubeConfig(empty, 'c'), /no current context/);
    const dangling = new KubeConfig();
    dangling.loadFromOptions({
      clusters: [],
      users: [],
      contexts: [{ name: 'x', cluster: 'gone', user: 'u' }],
      currentContext: 'x',
    });
    assert.throws(() => gatewayKubeConfig(dangling, 'c'), /unknown cluster/);
    const sock = new KubeConfig();
    sock.loadFromOptions({
      clusters: [{ name: 'h', server: 'https://h/?a=b', skipTLSVerify: false }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'h', user: 'u' }],
      currentContext: 'x',
    });
    assert.throws(() => gatewayKubeConfig(sock, 'c'), InvalidServerError);
  });
});

describe('every client-node helper goes through the proxy path', () => {
  const gw = new FakeGateway(SUB);
  let kc: KubeConfig;

  before(async () => {
    await gw.start();
    // trailing slash on the hub server: a naive `server + path` join would produce `//api`
    kc = gatewayKubeConfig(gw.kubeconfig(`${gw.server}/`, 'team-a'), 'cluster-1');
  });
  after(() => gw.stop());

  function last(): { url: string; authorization: string | undefined; upgrade: boolean } {
    return gw.requests.at(-1)!;
  }

  test('makeApiClient: CoreV1Api.listNamespace', async () => {
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    assert.deepEqual(
      list.items.map((n) => n.metadata?.name),
      ['cluster-1-ns'],
    );
    assert.equal(last().url, `${PREFIX}/api/v1/namespaces`);
    assert.equal(last().authorization, `Bearer ${TOKEN}`);
  });

  test('makeApiClient: VersionApi (non-resource path)', async () => {
    const v = await kc.makeApiClient(VersionApi).getCode();
    assert.equal(v.gitVersion, 'v1.31.0-cluster-1');
    assert.equal(last().url, `${PREFIX}/version`);
  });

  test('KubernetesObjectApi: discovery and read, with the context namespace as default', async () => {
    const api = KubernetesObjectApi.makeApiClient(kc);
    const cm = await api.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: '' } });
    assert.deepEqual((cm as { data?: Record<string, string> }).data, { cluster: 'cluster-1' });
    const urls = gw.requests.slice(-2).map((r) => r.url);
    assert.deepEqual(urls, [`${PREFIX}/api/v1`, `${PREFIX}/api/v1/namespaces/team-a/configmaps/cm`]);
  });

  test('Watch', async () => {
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      void new Watch(kc).watch(
        '/api/v1/namespaces/default/configmaps',
        { allowWatchBookmarks: true },
        (type, obj: { metadata: { name: string } }) => events.push(`${type} ${obj.metadata.name}`),
        (err: unknown) => {
          if (err) reject(err instanceof Error ? err : new Error('watch failed', { cause: err }));
          else resolve();
        },
      );
    });
    assert.deepEqual(events, ['ADDED from-cluster-1']);
    assert.equal(last().url, `${PREFIX}/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true`);
    assert.equal(last().authorization, `Bearer ${TOKEN}`);
  });

  test('Log', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const ended = new Promise((r) => out.on('end', r));
    await new Log(kc).log('default', 'p', 'c', out, { follow: true });
    await ended;
    assert.equal(chunks.join(''), 'log line from cluster-1 (c)\n');
    assert.match(last().url, new RegExp(`^${PREFIX}/api/v1/namespaces/default/pods/p/log\\?container=c&follow=true`));
  });

  test('Exec over WebSocket', async () => {
    const out = sink();
    const st = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc).exec('default', 'p', 'c', ['echo', 'hi'], out.stream, null, null, false, resolve).catch(reject);
    });
    assert.equal(st.status, 'Success');
    assert.equal(out.text(), 'exec on cluster-1: echo hi');
    assert.equal(last().upgrade, true);
    assert.match(last().url, new RegExp(`^${PREFIX}/api/v1/namespaces/default/pods/p/exec\\?`));
    assert.equal(last().authorization, `Bearer ${TOKEN}`);
  });

  test('Attach over WebSocket', async () => {
    const out = sink();
    const ws = await new Attach(kc).attach('default', 'p', 'c', out.stream, null, null, false);
    await new Promise((r) => {
      ws.addEventListener('close', r);
    });
    assert.equal(out.text(), 'attach on cluster-1: ');
    assert.match(last().url, new RegExp(`^${PREFIX}/api/v1/namespaces/default/pods/p/attach\\?`));
  });

  test('PortForward over WebSocket', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const got = new Promise<string>((resolve) =>
      output.once('data', (c: Buffer) => {
        resolve(c.toString());
      }),
    );
    const ws = (await new PortForward(kc).portForward('default', 'p', [8080], output, null, input)) as {
      close(): void;
    };
    input.write('ping');
    assert.equal(await got, 'cluster-1:ping');
    ws.close();
    assert.match(last().url, new RegExp(`^${PREFIX}/api/v1/namespaces/default/pods/p/portforward\\?ports=8080$`));
  });

  test('nothing was sent outside the proxy path', () => {
    for (const r of gw.requests) assert.ok(r.url.startsWith(`${PREFIX}/`), r.url);
  });
});
