// Per-request routing: withCluster per-call options, runInCluster + routed clients (including
// concurrent calls to different clusters), hub fallback and strict mode.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { InvalidNameError } from './paths.ts';
import {
  MissingClusterError,
  USER_AGENT,
  currentCluster,
  makeRoutedApiClient,
  runInCluster,
  withCluster,
} from './routing.ts';
import { FakeGateway } from './testing.ts';

const SUB = '/hub';
const proxyOf = (c: string): string => `${SUB}/apis/cluster.core.oam.dev/v1alpha1/clustergateways/${c}/proxy`;

describe('routing', () => {
  const gw = new FakeGateway(SUB);
  let hub: KubeConfig;

  before(async () => {
    await gw.start();
    hub = gw.kubeconfig();
  });
  after(() => gw.stop());

  const names = async (p: Promise<{ items: { metadata?: { name?: string } }[] }>): Promise<string[]> =>
    (await p).items.map((i) => i.metadata?.name ?? '');

  test('withCluster: per-call options on a client made from the hub config', async () => {
    const api = hub.makeApiClient(CoreV1Api);
    assert.deepEqual(await names(api.listNamespace({}, withCluster(hub, 'cluster-2'))), ['cluster-2-ns']);
    assert.equal(gw.requests.at(-1)!.url, `${proxyOf('cluster-2')}/api/v1/namespaces`);
    // the next call without options still goes to the hub
    assert.deepEqual(await names(api.listNamespace()), ['hub-ns']);
    assert.equal(gw.requests.at(-1)!.url, `${SUB}/api/v1/namespaces`);
    assert.throws(() => withCluster(hub, 'no/such'), InvalidNameError);
  });

  test('routed client: runInCluster picks the cluster, outside it the hub answers', async () => {
    const api = makeRoutedApiClient(hub, CoreV1Api);
    assert.deepEqual(await runInCluster('cluster-1', () => names(api.listNamespace())), ['cluster-1-ns']);
    assert.equal(gw.requests.at(-1)!.url, `${proxyOf('cluster-1')}/api/v1/namespaces`);
    assert.equal(gw.requests.at(-1)!.authorization, 'Bearer hub-token');
    assert.deepEqual(await names(api.listNamespace()), ['hub-ns']);
  });

  test('routed client: concurrent calls keep their own cluster', async () => {
    const api = makeRoutedApiClient(hub, CoreV1Api);
    const clusters = ['c-a', 'c-b', 'c-c', 'c-d', 'c-e', 'c-f'];
    const got = await Promise.all(
      clusters.map((c) =>
        runInCluster(c, async () => {
          await new Promise((r) => setTimeout(r, Math.random() * 20));
          assert.equal(currentCluster(), c);
          return names(api.listNamespace());
        }),
      ),
    );
    assert.deepEqual(
      got,
      clusters.map((c) => [`${c}-ns`]),
    );
    assert.equal(currentCluster(), undefined);
  });

  test('strict routed client refuses calls without a cluster, with upstream wording', async () => {
    const api = makeRoutedApiClient(hub, CoreV1Api, { strict: true });
    const n = gw.requests.length;
    await assert.rejects(api.listNamespace(), (e: unknown) => {
      assert.ok(e instanceof MissingClusterError);
      assert.equal(e.message, 'missing cluster name in the request context');
      return true;
    });
    assert.equal(gw.requests.length, n, 'nothing was sent');
    assert.deepEqual(await runInCluster('cluster-1', () => names(api.listNamespace())), ['cluster-1-ns']);
  });

  test('runInCluster validates the name before running anything', () => {
    let ran = false;
    assert.throws(() => {
      runInCluster('../etc', () => {
        ran = true;
      });
    }, InvalidNameError);
    assert.equal(ran, false);
  });

  test('the routed client sends its User-Agent', async () => {
    const seen: string[] = [];
    const http = await import('node:http');
    const srv = http.createServer((req, res) => {
      seen.push(req.headers['user-agent'] ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[]}');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const { port } = srv.address() as { port: number };
      const local = new FakeGateway().kubeconfig(`http://127.0.0.1:${port}`);
      await makeRoutedApiClient(local, CoreV1Api).listNamespace();
      assert.deepEqual(seen, [USER_AGENT]);
    } finally {
      srv.close();
    }
  });
});
