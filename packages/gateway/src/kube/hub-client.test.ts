// HubClient against a real sandbox hub (TLS, client certs, Status errors, watch, reviews, discovery)
// and against a plain local HTTP server where the test must see the exact headers we send
// (user agent, token files, exec plugins) or feed malformed answers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubClient, HubError, isExpired, isHubError, type WatchEvent } from './hub-client.ts';
import { startTestHub, type TestHub } from './testing.ts';

const NS = 'default';
const SECRETS = `/api/v1/namespaces/${NS}/secrets`;

let hub: TestHub;
let client: HubClient;

before(async () => {
  hub = await startTestHub({ bookmarkIntervalMs: 100 });
  client = await hub.client();
});

after(async () => {
  await hub.stop();
});

interface Secret {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

test('CRUD helpers round-trip a Secret and the hub errors are typed HubErrors', { timeout: 60_000 }, async () => {
  const created = await client.create<Secret>(SECRETS, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'crud' },
    data: { a: 'Yg==' },
  });
  assert.equal(created.metadata.name, 'crud');
  assert.equal(created.data?.a, Buffer.from('b').toString('base64'));

  const got = await client.get<Secret>(`${SECRETS}/crud`);
  assert.equal(got.metadata.resourceVersion, created.metadata.resourceVersion);

  const updated = await client.update<Secret>(`${SECRETS}/crud`, {
    ...got,
    metadata: { ...got.metadata, labels: { x: '1' } },
  });
  assert.equal(updated.metadata.labels?.x, '1');

  const patched = await client.patch<Secret>(`${SECRETS}/crud`, { metadata: { labels: { y: '2' } } });
  assert.deepEqual(patched.metadata.labels, { x: '1', y: '2' });
  const jsonPatched = await client.patch<Secret>(
    `${SECRETS}/crud`,
    [{ op: 'remove', path: '/metadata/labels/x' }],
    'json',
  );
  assert.deepEqual(jsonPatched.metadata.labels, { y: '2' });

  const list = await client.list<{ items: Secret[]; metadata: { resourceVersion: string } }>(SECRETS);
  assert.ok(list.items.some((s) => s.metadata.name === 'crud'));

  const cases: { name: string; run: () => Promise<unknown>; code: number; reason: string; message: RegExp }[] = [
    {
      name: 'get missing',
      run: () => client.get(`${SECRETS}/nope`),
      code: 404,
      reason: 'NotFound',
      message: /secrets "nope" not found/,
    },
    {
      name: 'create existing',
      run: () => client.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'crud' } }),
      code: 409,
      reason: 'AlreadyExists',
      message: /already exists/,
    },
    {
      name: 'update stale',
      run: () => client.update(`${SECRETS}/crud`, got),
      code: 409,
      reason: 'Conflict',
      message: /the object has been modified/,
    },
    {
      name: 'create invalid',
      run: () => client.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'Bad_Name' } }),
      code: 422,
      reason: 'Invalid',
      message: /Bad_Name/,
    },
  ];
  for (const c of cases) {
    await assert.rejects(c.run(), (e: unknown) => {
      assert.ok(e instanceof HubError, c.name);
      assert.equal(e.code, c.code, c.name);
      assert.equal(e.reason, c.reason, c.name);
      assert.match(e.message, c.message, c.name);
      assert.equal(e.status.kind, 'Status', c.name);
      assert.equal(e.status.code, c.code, c.name);
      return true;
    });
  }

  await client.delete(`${SECRETS}/crud`);
  await assert.rejects(client.get(`${SECRETS}/crud`), (e: unknown) => isHubError(e, 404));
});

test(
  'watch yields events in order, bookmarks, ends on abort, and throws 410 as HubError',
  { timeout: 60_000 },
  async () => {
    const list = await client.list<{ metadata: { resourceVersion: string } }>(SECRETS);
    const ac = new AbortController();
    const seen: WatchEvent<Secret>[] = [];
    const done = (async () => {
      for await (const ev of client.watch<Secret>(
        SECRETS,
        { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
        ac.signal,
      )) {
        seen.push(ev);
        if (seen.filter((e) => e.type !== 'BOOKMARK').length === 3 && seen.some((e) => e.type === 'BOOKMARK'))
          ac.abort();
      }
    })();
    await client.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'w1' } });
    await client.patch(`${SECRETS}/w1`, { metadata: { labels: { a: 'b' } } });
    await client.delete(`${SECRETS}/w1`);
    await assert.rejects(done, { name: 'AbortError' });
    assert.deepEqual(
      seen.filter((e) => e.type !== 'BOOKMARK').map((e) => [e.type, e.object.metadata.name]),
      [
        ['ADDED', 'w1'],
        ['MODIFIED', 'w1'],
        ['DELETED', 'w1'],
      ],
    );
    const bm = seen.find((e) => e.type === 'BOOKMARK')!;
    assert.match(bm.object.metadata.resourceVersion, /^\d+$/);

    // a resourceVersion older than the hub's history: 200 + ERROR event with a 410 Status
    const store = hub.cluster.store;
    for (let i = 0; i < 20_050; i++) {
      store.put(
        'configmaps',
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'churn', namespace: 'kube-system' } },
        'MODIFIED',
      );
    }
    const it = client.watch(SECRETS, { resourceVersion: list.metadata.resourceVersion });
    await assert.rejects(
      (async () => {
        for await (const _ of it) assert.fail('no event expected');
      })(),
      (e: unknown) => {
        assert.ok(isExpired(e));
        assert.ok(e instanceof HubError && e.code === 410 && e.reason === 'Expired');
        return true;
      },
    );

    // breaking out of the loop closes the stream (no hang)
    const now = await client.list<{ metadata: { resourceVersion: string } }>(SECRETS);
    for await (const ev of client.watch<Secret>(
      SECRETS,
      { resourceVersion: now.metadata.resourceVersion, allowWatchBookmarks: true },
      AbortSignal.timeout(5000),
    )) {
      assert.equal(ev.type, 'BOOKMARK');
      break;
    }
  },
);

test('talks HTTP/2 to a hub that offers it', { timeout: 60_000 }, async () => {
  const versions: string[] = [];
  hub.cluster.interceptors.push({
    handle(_ctx, req) {
      versions.push(req.httpVersion);
      return false;
    },
  });
  try {
    const c = await hub.client();
    await Promise.all([
      c.get('/api/v1/namespaces'),
      c.get('/api/v1/namespaces/default'),
      c.get('/apis/apps/v1/namespaces/default/deployments'),
    ]);
    assert.deepEqual(versions, ['2.0', '2.0', '2.0']);
  } finally {
    hub.cluster.interceptors.pop();
  }
});

test(
  'watch of a path the hub does not serve fails with the 404 Status before any event',
  { timeout: 60_000 },
  async () => {
    const it = client.watch('/apis/example.com/v1/widgets');
    await assert.rejects(it.next(), (e: unknown) => isHubError(e, 404));
  },
);

test('TokenReview, SubjectAccessReview and discovery', { timeout: 60_000 }, async () => {
  const tr = await client.createTokenReview('not-a-token');
  assert.equal(tr.kind, 'TokenReview');
  assert.notEqual(tr.status?.authenticated, true);

  const allowed = await client.createSubjectAccessReview({
    user: 'someone',
    groups: ['system:masters'],
    resourceAttributes: { verb: 'get', resource: 'secrets', namespace: NS },
  });
  assert.equal(allowed.status?.allowed, true);
  const denied = await client.createSubjectAccessReview({
    user: 'nobody',
    resourceAttributes: { verb: 'get', resource: 'secrets', namespace: NS },
  });
  assert.equal(denied.status?.allowed, false);

  assert.equal(await client.discoveryHasGroupVersion('', 'v1'), true);
  assert.equal(await client.discoveryHasGroupVersion('apps', 'v1'), true);
  assert.equal(await client.discoveryHasGroupVersion('cluster.open-cluster-management.io', 'v1'), false);
  const core = await client.discoveryResources('', 'v1');
  assert.ok(core?.resources.some((r) => r.name === 'secrets'));
});

test(
  'an unreachable hub is a HubError with code 0; abort rejects with the signal reason',
  { timeout: 60_000 },
  async () => {
    const dead = await hub.client('https://127.0.0.1:1');
    await assert.rejects(dead.get('/api'), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, 0);
      assert.match(e.message, /hub unreachable/);
      return true;
    });
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await assert.rejects(client.get('/api', { signal: ac.signal }), /stop now/);
    await dead.close();
    await assert.rejects(dead.get('/api'), (e: unknown) => isHubError(e, 0));
  },
);

// ---- header-level behaviour against a plain HTTP server ----

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

async function plainServer(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => {
          r();
        });
      }),
  };
}

function kubeconfigFor(server: string, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c',
    '  cluster:',
    `    server: ${server}`,
    'users:',
    '- name: u',
    '  user:',
    user,
    'contexts:',
    '- name: x',
    '  context: {cluster: c, user: u}',
    'current-context: x',
    '',
  ].join('\n');
}

test('credentials and user agent: static token, token file, exec plugin, basic auth', { timeout: 60_000 }, async () => {
  const srv = await plainServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"APIVersions","versions":["v1"]}');
  });
  const dir = await mkdtemp(join(tmpdir(), 'gw-hubclient-'));
  try {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'file-token\n');
    const execScript = join(dir, 'exec.mjs');
    await writeFile(
      execScript,
      `process.stdout.write(JSON.stringify({apiVersion:'client.authentication.k8s.io/v1',kind:'ExecCredential',status:{token:'exec-token'}}))`,
    );
    const cases: { name: string; user: string; userAgent?: string; auth: string | undefined; ua: RegExp }[] = [
      { name: 'static token', user: '    token: static-token', auth: 'Bearer static-token', ua: /^cluster-gateway\// },
      {
        name: 'token file',
        user: `    auth-provider: {name: tokenFile, config: {tokenFile: ${tokenFile}}}`,
        auth: 'Bearer file-token',
        ua: /^cluster-gateway\//,
      },
      {
        name: 'exec plugin',
        user: `    exec: {apiVersion: client.authentication.k8s.io/v1, command: ${process.execPath}, args: [${execScript}], interactiveMode: Never}`,
        auth: 'Bearer exec-token',
        ua: /^cluster-gateway\//,
      },
      {
        name: 'basic',
        user: '    username: alice\n    password: pw',
        auth: `Basic ${Buffer.from('alice:pw').toString('base64')}`,
        ua: /^cluster-gateway\//,
      },
      {
        name: 'anonymous + UA override',
        user: '    {}',
        userAgent: 'my-agent/1.0',
        auth: undefined,
        ua: /^my-agent\/1\.0$/,
      },
    ];
    for (const c of cases) {
      const p = join(dir, `${c.name.replaceAll(' ', '-')}.kubeconfig`);
      await writeFile(p, kubeconfigFor(srv.url, c.user));
      const hc = await HubClient.load({ kubeconfig: p, userAgent: c.userAgent });
      srv.seen.length = 0;
      await hc.get('/api');
      await hc.get('/api'); // twice: cached credentials must stay right
      await hc.close();
      assert.equal(srv.seen.length, 2, c.name);
      for (const s of srv.seen) {
        assert.equal(s.headers.authorization, c.auth, c.name);
        assert.match(s.headers['user-agent'] ?? '', c.ua, c.name);
        assert.equal(s.headers.accept, 'application/json', c.name);
      }
    }
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('non-Status error bodies, bad JSON, truncated and unknown watch events', { timeout: 60_000 }, async () => {
  const srv = await plainServer((req, res) => {
    switch (req.url) {
      case '/text-error':
        res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway from some proxy');
        return;
      case '/bad-json':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{not json');
        return;
      case '/partial?watch=true':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"2"}}}\n{"type":"ADD');
        res.end();
        return;
      case '/weird?watch=true':
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"type":"SURPRISE","object":{}}\n');
        return;
      case '/split?watch=true':
        // one event split across writes, and two in one write: the line parser must not care
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED","obj');
        setTimeout(() => {
          res.end('ect":{"metadata":{"name":"a"}}}\n{"type":"DELETED","object":{"metadata":{"name":"a"}}}\n');
        }, 20);
        return;
      default:
        res.writeHead(404).end();
    }
  });
  const dir = await mkdtemp(join(tmpdir(), 'gw-hubclient-'));
  try {
    const p = join(dir, 'k');
    await writeFile(p, kubeconfigFor(srv.url, '    {}'));
    const hc = await HubClient.load({ kubeconfig: p });
    await assert.rejects(hc.get('/text-error'), (e: unknown) => {
      assert.ok(e instanceof HubError);
      assert.equal(e.code, 502);
      assert.match(e.message, /status 502: bad gateway from some proxy/);
      return true;
    });
    await assert.rejects(
      hc.get('/missing'),
      (e: unknown) => e instanceof HubError && e.code === 404 && e.reason === 'NotFound',
    );
    await assert.rejects(hc.get('/bad-json'), /invalid JSON/);

    const collect = async (path: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const ev of hc.watch<{ metadata: { name: string } }>(path))
        out.push(`${ev.type}:${ev.object.metadata.name}`);
      return out;
    };
    assert.deepEqual(await collect('/split'), ['ADDED:a', 'DELETED:a']);
    await assert.rejects(collect('/partial'), /stream ended inside an event/);
    await assert.rejects(collect('/weird'), /unknown watch event type "SURPRISE"/);
    await hc.close();
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad kubeconfigs are refused with messages that never echo credentials', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-hubclient-'));
  try {
    const write = async (name: string, text: string): Promise<string> => {
      const p = join(dir, name);
      await writeFile(p, text);
      return p;
    };
    const cases: { name: string; path: () => Promise<string>; context?: string; error: RegExp }[] = [
      { name: 'missing file', path: () => Promise.resolve(join(dir, 'absent')), error: /ENOENT/ },
      { name: 'not yaml', path: () => write('bad', 'token: s3cr3t\n: : ['), error: /^invalid kubeconfig/ },
      {
        name: 'no current cluster',
        path: () => write('empty', 'apiVersion: v1\nkind: Config\n'),
        error: /no current cluster/,
      },
      {
        name: 'unknown context',
        path: () => write('ctx', kubeconfigFor('https://h', '    token: s3cr3t')),
        context: 'other',
        error: /context "other" not found/,
      },
      {
        name: 'bad scheme',
        path: () => write('scheme', kubeconfigFor('ftp://h', '    token: s3cr3t')),
        error: /unsupported hub server scheme/,
      },
      {
        name: 'proxy-url',
        path: () =>
          write(
            'proxy',
            kubeconfigFor('https://h', '    token: s3cr3t').replace(
              '    server:',
              '    proxy-url: http://p:3128\n    server:',
            ),
          ),
        error: /proxy-url is not supported/,
      },
    ];
    for (const c of cases) {
      const p = await c.path();
      await assert.rejects(HubClient.load({ kubeconfig: p, context: c.context }), (e: unknown) => {
        assert.ok(e instanceof Error, c.name);
        assert.match(e.message, c.error, c.name);
        assert.doesNotMatch(e.message, /s3cr3t/, c.name);
        return true;
      });
    }
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      await assert.rejects(HubClient.load({}), /not running inside a cluster/);
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
