// --authorize-proxy-subpath: the attributes of the inner request (table), then the decision against a
// real (sandbox) hub whose RBAC allows or denies the inner resource.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandbox, type Sandbox } from '@cluster-gateway/sandbox';
import { GatewayError } from '../apiserver/errors.ts';
import { DelegatingAuthorizer } from '../auth/authz.ts';
import { createTestHubApi, type CountingHubApi } from '../auth/testing.ts';
import type { Attributes, UserInfo } from '../auth/types.ts';
import { authorizeSubpath, subpathAttributes } from './subpath-authz.ts';

const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };

type Want = Partial<Omit<Attributes, 'user'>>;
const resource = (over: Want): Want => ({
  resourceRequest: true,
  apiGroup: '',
  apiVersion: 'v1',
  subresource: '',
  namespace: '',
  name: '',
  ...over,
});

const attributeCases: { name: string; method: string; path: string; want: Want }[] = [
  {
    name: 'inner list is checked as get (outer verb)',
    method: 'GET',
    path: '/api/v1/namespaces/ns-a/pods',
    want: resource({ verb: 'get', resource: 'pods', namespace: 'ns-a', path: '/api/v1/namespaces/ns-a/pods' }),
  },
  {
    name: 'inner watch (query) is checked as get; the query is ignored',
    method: 'GET',
    path: '/api/v1/namespaces/ns-a/pods?watch=true&fieldSelector=metadata.name%3Dp',
    want: resource({ verb: 'get', resource: 'pods', namespace: 'ns-a' }),
  },
  {
    name: 'inner /watch/ path is checked as get',
    method: 'GET',
    path: '/api/v1/watch/namespaces/ns-a/pods',
    want: resource({ verb: 'get', resource: 'pods', namespace: 'ns-a' }),
  },
  {
    name: 'HEAD is get',
    method: 'HEAD',
    path: 'api/v1/namespaces/ns-a/pods/p',
    want: resource({ verb: 'get', resource: 'pods', namespace: 'ns-a', name: 'p' }),
  },
  {
    name: 'POST to a collection is create',
    method: 'POST',
    path: '/apis/apps/v1/namespaces/ns-a/deployments',
    want: resource({ verb: 'create', apiGroup: 'apps', resource: 'deployments', namespace: 'ns-a' }),
  },
  {
    name: 'POST exec is create on pods/exec',
    method: 'POST',
    path: '/api/v1/namespaces/ns-a/pods/p/exec?command=sh',
    want: resource({ verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'ns-a', name: 'p' }),
  },
  {
    name: 'DELETE of a collection stays delete (outer verb, not deletecollection)',
    method: 'DELETE',
    path: '/api/v1/namespaces/ns-a/pods',
    want: resource({ verb: 'delete', resource: 'pods', namespace: 'ns-a' }),
  },
  {
    name: 'PUT is update, PATCH is patch',
    method: 'PATCH',
    path: '/api/v1/nodes/n1/status',
    want: resource({ verb: 'patch', resource: 'nodes', name: 'n1', subresource: 'status' }),
  },
  {
    name: 'OPTIONS has no verb (no RBAC rule grants it)',
    method: 'OPTIONS',
    path: '/api/v1/pods',
    want: resource({ verb: '', resource: 'pods' }),
  },
  {
    name: 'non-resource path',
    method: 'GET',
    path: '/version',
    want: { resourceRequest: false, verb: 'get', path: '/version', resource: '' },
  },
  {
    name: 'empty path is the root',
    method: 'GET',
    path: '',
    want: { resourceRequest: false, verb: 'get', path: '/' },
  },
  {
    name: 'leading double slash is a path, not an authority',
    method: 'GET',
    path: '//evil.example/api/v1/namespaces/ns-a/pods',
    want: { resourceRequest: false, path: '/evil.example/api/v1/namespaces/ns-a/pods' },
  },
  {
    name: 'backslashes stay literal',
    method: 'GET',
    path: '/\\evil.example/api/v1/pods',
    want: { resourceRequest: false, path: '/\\evil.example/api/v1/pods' },
  },
  {
    name: 'repeated slashes collapse as path.Join does',
    method: 'GET',
    path: '/api//v1///namespaces/ns-a/pods/',
    want: resource({ verb: 'get', resource: 'pods', namespace: 'ns-a', path: '/api/v1/namespaces/ns-a/pods/' }),
  },
  {
    name: 'dot segments are resolved',
    method: 'GET',
    path: '/api/v1/namespaces/ns-a/../ns-b/pods',
    want: resource({ verb: 'get', resource: 'pods', namespace: 'ns-b' }),
  },
];

for (const c of attributeCases) {
  test(`attributes: ${c.name}`, () => {
    const a = subpathAttributes(alice, c.method, c.path);
    assert.equal(a.user, alice);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(a[k as keyof Attributes], v, k);
  });
}

test('attributes: a path kube cannot parse is a 500 Status', () => {
  assert.throws(
    () => subpathAttributes(alice, 'GET', '/apis/apps/v1/watch'),
    (e) => e instanceof GatewayError && e.code === 500,
  );
});

// ---- against a real hub ----------------------------------------------------------------------------

let sandbox: Sandbox;
let api: CountingHubApi;
let authz: DelegatingAuthorizer;

async function create(path: string, body: unknown): Promise<void> {
  const r = await api.request('POST', path, body);
  assert.ok(r.status === 201 || r.status === 200, `POST ${path}: ${String(r.status)} ${JSON.stringify(r.body)}`);
}

async function grant(ns: string, name: string, rules: object[]): Promise<void> {
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name },
    rules,
  });
  await create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
  });
}

before(async () => {
  sandbox = await startSandbox({ clusters: ['hub'] });
  const hub = sandbox.clusters.get('hub')!;
  api = createTestHubApi({ url: hub.url, ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key });
  authz = new DelegatingAuthorizer({ hub: api, allowCacheTTLMs: 0, denyCacheTTLMs: 0 });
  for (const ns of ['ns-a', 'ns-b', 'ns-c']) {
    await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  }
  await grant('ns-a', 'pods-get', [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
  // list alone is not enough: the inner list is authorized as get (upstream quirk)
  await grant('ns-c', 'pods-list', [{ apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] }]);
});

after(async () => {
  await api.close();
  await sandbox.stop();
});

const decisions: { name: string; user?: UserInfo; method: string; path: string; allowed: boolean; message?: string }[] =
  [
    { name: 'list pods in ns-a (granted get)', method: 'GET', path: '/api/v1/namespaces/ns-a/pods', allowed: true },
    { name: 'watch pods in ns-a', method: 'GET', path: '/api/v1/namespaces/ns-a/pods?watch=1', allowed: true },
    { name: 'get one pod in ns-a', method: 'GET', path: 'api/v1/namespaces/ns-a/pods/p', allowed: true },
    {
      name: 'list pods in ns-b (nothing granted)',
      method: 'GET',
      path: '/api/v1/namespaces/ns-b/pods',
      allowed: false,
      message:
        'pods is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "ns-b": the hub authorizes the proxied request itself (--authorize-proxy-subpath)',
    },
    {
      name: 'list pods in ns-c (granted list only: checked as get)',
      method: 'GET',
      path: '/api/v1/namespaces/ns-c/pods',
      allowed: false,
    },
    {
      name: 'create pods in ns-a',
      method: 'POST',
      path: '/api/v1/namespaces/ns-a/pods',
      allowed: false,
      message:
        'pods is forbidden: User "alice" cannot create resource "pods" in API group "" in the namespace "ns-a": the hub authorizes the proxied request itself (--authorize-proxy-subpath)',
    },
    {
      name: 'pod logs in ns-a (subresource not granted)',
      method: 'GET',
      path: '/api/v1/namespaces/ns-a/pods/p/log',
      allowed: false,
      message:
        'pods "p" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "ns-a": the hub authorizes the proxied request itself (--authorize-proxy-subpath)',
    },
    {
      name: 'deployments in ns-a (other group)',
      method: 'GET',
      path: '/apis/apps/v1/namespaces/ns-a/deployments',
      allowed: false,
    },
    { name: 'non-resource /version (public info)', method: 'GET', path: '/version', allowed: true },
    {
      name: 'non-resource /metrics',
      method: 'GET',
      path: '/metrics',
      allowed: false,
      message:
        'forbidden: User "alice" cannot get path "/metrics": the hub authorizes the proxied request itself (--authorize-proxy-subpath)',
    },
    {
      name: 'system:masters may do anything',
      user: { username: 'root', groups: ['system:masters', 'system:authenticated'] },
      method: 'DELETE',
      path: '/api/v1/namespaces/ns-b/pods/p',
      allowed: true,
    },
  ];

for (const d of decisions) {
  test(`hub decides: ${d.name}`, async () => {
    const p = authorizeSubpath(authz, d.user ?? alice, d.method, d.path, AbortSignal.timeout(10_000));
    if (d.allowed) {
      await p;
      return;
    }
    await assert.rejects(p, (e) => {
      assert.ok(e instanceof GatewayError, String(e));
      assert.equal(e.code, 403);
      assert.equal(e.reason, 'Forbidden');
      if (d.message) assert.equal(e.message, d.message);
      return true;
    });
  });
}

test('hub decides: a granted change in RBAC is seen (no stale cache with TTL 0)', async () => {
  await assert.rejects(authorizeSubpath(authz, alice, 'GET', '/api/v1/namespaces/ns-b/configmaps'), /forbidden/);
  await grant('ns-b', 'cm-get', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }]);
  await authorizeSubpath(authz, alice, 'GET', '/api/v1/namespaces/ns-b/configmaps');
});

test('hub failure: 500 InternalError, not a denial', async () => {
  const failing = new DelegatingAuthorizer({
    hub: api,
    allowCacheTTLMs: 0,
    denyCacheTTLMs: 0,
    reviewTimeoutMs: 500,
    retryBackoff: { initialMs: 1, factor: 1, jitter: 0, steps: 1 },
  });
  api.failWith = 500;
  try {
    await assert.rejects(authorizeSubpath(failing, alice, 'GET', '/api/v1/namespaces/ns-a/pods'), (e) => {
      assert.ok(e instanceof GatewayError);
      assert.equal(e.code, 500);
      assert.equal(e.reason, 'InternalError');
      return true;
    });
  } finally {
    api.failWith = undefined;
  }
});
