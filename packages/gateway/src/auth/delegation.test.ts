// The auth layer against a real (sandbox) hub: the hub's aggregation layer publishes the front-proxy
// trust in kube-system/extension-apiserver-authentication, ServiceAccount tokens are reviewed with
// TokenReview, RBAC objects decide SubjectAccessReviews, and ConfigMap changes are picked up.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCA, startSandbox, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { GatewayError } from '../apiserver/errors.ts';
import { DynamicAuthConfig } from './auth-config.ts';
import { DelegatingAuthenticator } from './authn.ts';
import { DelegatingAuthorizer } from './authz.ts';
import { impersonate } from './impersonation.ts';
import { parseRequestInfo, requestAttributes } from './request-attributes.ts';
import { createTestHubApi, type CountingHubApi } from './testing.ts';
import type { UserInfo } from './types.ts';

let sandbox: Sandbox;
let hub: SandboxCluster;
let api: CountingHubApi;
const stop = new AbortController();
let config: DynamicAuthConfig;
let authn: DelegatingAuthenticator;
let authz: DelegatingAuthorizer;

const PROXY = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/c1/proxy/api/v1/pods';

before(async () => {
  sandbox = await startSandbox({ clusters: ['hub'] });
  hub = sandbox.clusters.get('hub')!;
  api = createTestHubApi({ url: hub.url, ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key });
  config = new DynamicAuthConfig({ hub: api, pollIntervalMs: 50 });
  await config.start(stop.signal);
  authn = new DelegatingAuthenticator({ config: () => config.current, hub: api, cacheTTLMs: 10_000 });
  authz = new DelegatingAuthorizer({ hub: api });
  await create('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'gw-proxy-reader' },
    rules: [{ apiGroups: ['cluster.core.oam.dev'], resources: ['clustergateways/proxy'], verbs: ['get'] }],
  });
  await create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'alice-gw-proxy-reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'gw-proxy-reader' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
  });
  await create('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'impersonate-bob' },
    rules: [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['bob'] }],
  });
  await create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'alice-impersonate-bob' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'impersonate-bob' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
  });
});

after(async () => {
  stop.abort();
  await api.close();
  await sandbox.stop();
});

async function create(path: string, body: unknown): Promise<unknown> {
  const r = await api.request('POST', path, body);
  assert.ok(r.status === 201 || r.status === 200, `POST ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const is401 = (e: unknown) => e instanceof GatewayError && e.code === 401;

test('the trust comes from the hub ConfigMap', () => {
  assert.equal(config.current.requestHeader?.ca.pem.includes('BEGIN CERTIFICATE'), true);
  assert.deepEqual(config.current.requestHeader?.allowedNames, ['front-proxy-client']);
  assert.deepEqual(config.current.requestHeader?.usernameHeaders, ['x-remote-user']);
  assert.ok(config.current.clientCA);
});

test('front-proxy identity with the hub aggregator certificate', async () => {
  const cert = new X509Certificate(hub.aggregator.frontProxyClient.cert);
  const r = await authn.authenticateRequest({
    headers: {},
    rawHeaders: [
      'X-Remote-User',
      'alice',
      'X-Remote-Group',
      'dev',
      'X-Remote-Group',
      'ops',
      'X-Remote-Extra-Scopes',
      's1',
    ],
    peerCertificate: cert,
  });
  assert.equal(r.method, 'requestheader');
  assert.deepEqual(r.user, {
    username: 'alice',
    groups: ['dev', 'ops', 'system:authenticated'],
    extra: { scopes: ['s1'] },
  });
});

test('spoofed X-Remote-* headers without the front-proxy certificate are ignored', async () => {
  const spoof = ['X-Remote-User', 'admin', 'X-Remote-Group', 'system:masters'];
  const anon = await authn.authenticate({ headers: {}, rawHeaders: spoof, peerCertificate: undefined });
  assert.equal(anon.username, 'system:anonymous');
  // a hub client certificate authenticates as itself, never as the header's user
  const admin = await authn.authenticate({
    headers: {},
    rawHeaders: spoof,
    peerCertificate: new X509Certificate(hub.admin.cert),
  });
  assert.equal(admin.username, 'kubernetes-admin');
  // a certificate from another CA is rejected
  const other = await createCA('intruder');
  const forged = new X509Certificate((await other.issue({ commonName: 'front-proxy-client', usage: 'client' })).cert);
  await assert.rejects(authn.authenticate({ headers: {}, rawHeaders: spoof, peerCertificate: forged }), is401);
});

test('ServiceAccount tokens are reviewed by the hub and cached', async () => {
  const tr = (await create('/api/v1/namespaces/default/serviceaccounts/default/token', {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  })) as { status: { token: string } };
  const headers = { authorization: `Bearer ${tr.status.token}` };
  const before = api.calls.tokenReviews;
  const u = await authn.authenticate({ headers, peerCertificate: undefined });
  assert.equal(u.username, 'system:serviceaccount:default:default');
  assert.ok(u.groups.includes('system:serviceaccounts:default'));
  assert.ok(u.groups.includes('system:authenticated'));
  await Promise.all(Array.from({ length: 5 }, () => authn.authenticate({ headers, peerCertificate: undefined })));
  assert.equal(api.calls.tokenReviews - before, 1, 'one TokenReview for six requests');
  await assert.rejects(
    authn.authenticate({ headers: { authorization: 'Bearer not-a-token' }, peerCertificate: undefined }),
    is401,
  );
});

test('SubjectAccessReview allow/deny from hub RBAC, cached', async () => {
  const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
  const get = requestAttributes(alice, parseRequestInfo('GET', PROXY));
  const post = requestAttributes(alice, parseRequestInfo('POST', PROXY));
  const before = api.calls.subjectAccessReviews;
  const allowed = await authz.authorize(get);
  assert.equal(allowed.allowed, true);
  assert.match(allowed.reason, /gw-proxy-reader/);
  await authz.authorize(get);
  assert.equal(api.calls.subjectAccessReviews - before, 1);
  await assert.rejects(
    authz.check(post),
    (e: unknown) =>
      e instanceof GatewayError &&
      e.code === 403 &&
      e.message ===
        'clustergateways.cluster.core.oam.dev "c1" is forbidden: User "alice" cannot create resource "clustergateways/proxy" in API group "cluster.core.oam.dev" at the cluster scope',
  );
  await assert.rejects(authz.check(post));
  assert.equal(api.calls.subjectAccessReviews - before, 2, 'the denial is cached too');
});

test('always-allowed paths and system:masters skip the hub', async () => {
  const before = api.calls.subjectAccessReviews;
  const nobody: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
  assert.equal((await authz.authorize(requestAttributes(nobody, parseRequestInfo('GET', '/healthz')))).allowed, true);
  const root: UserInfo = { username: 'root', groups: ['system:masters'] };
  assert.equal((await authz.authorize(requestAttributes(root, parseRequestInfo('DELETE', PROXY)))).allowed, true);
  assert.equal(api.calls.subjectAccessReviews, before);
  // anything else for anonymous is denied by the hub
  const d = await authz.authorize(requestAttributes(nobody, parseRequestInfo('GET', '/metrics')));
  assert.equal(d.allowed, false);
  assert.equal(d.error, undefined);
});

test('impersonation checked with the hub RBAC', async () => {
  const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };
  const bob = await impersonate(alice, { headers: { 'impersonate-user': 'bob' } }, authz);
  assert.deepEqual(bob, { username: 'bob', groups: ['system:authenticated'] });
  await assert.rejects(
    impersonate(alice, { headers: { 'impersonate-user': 'carol' } }, authz),
    (e: unknown) =>
      e instanceof GatewayError &&
      e.code === 403 &&
      e.message ===
        'users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
  );
  await assert.rejects(
    impersonate(alice, { headers: { 'impersonate-user': 'bob', 'impersonate-group': ['system:masters'] } }, authz),
    (e: unknown) =>
      e instanceof GatewayError && e.code === 403 && e.message.startsWith('groups "system:masters" is forbidden'),
  );
});

test('hub failures: authentication 401, authorization 500', async () => {
  const z = new DelegatingAuthorizer({ hub: api, retryBackoff: { initialMs: 1, factor: 1, jitter: 0, steps: 1 } });
  const a = new DelegatingAuthenticator({
    config: () => config.current,
    hub: api,
    retryBackoff: { initialMs: 1, factor: 1, jitter: 0, steps: 1 },
  });
  api.failWith = 503;
  try {
    await assert.rejects(
      a.authenticate({ headers: { authorization: 'Bearer whatever' }, peerCertificate: undefined }),
      is401,
    );
    await assert.rejects(
      z.check(requestAttributes({ username: 'dave', groups: [] }, parseRequestInfo('GET', PROXY))),
      (e: unknown) => e instanceof GatewayError && e.code === 500,
    );
  } finally {
    api.failWith = undefined;
  }
});

// last: it stops the hub's aggregator so the ConfigMap stays as this test writes it
test('a requestheader CA rotation in the ConfigMap is picked up without restart', async () => {
  const oldCert = new X509Certificate(hub.aggregator.frontProxyClient.cert);
  const headers = { rawHeaders: ['X-Remote-User', 'alice'], headers: {} };
  assert.equal((await authn.authenticate({ ...headers, peerCertificate: oldCert })).username, 'alice');
  await hub.aggregator.stop();
  const rotated = await createCA('front-proxy-ca-2');
  const newCert = new X509Certificate(
    (await rotated.issue({ commonName: 'front-proxy-client', usage: 'client' })).cert,
  );
  const path = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
  const cm = (await api.request('GET', path)).body as { data: Record<string, string> };
  cm.data['requestheader-client-ca-file'] = rotated.cert;
  const put = await api.request('PUT', path, cm);
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const deadline = Date.now() + 5000;
  while (config.current.requestHeader?.ca.pem !== rotated.cert) {
    assert.ok(Date.now() < deadline, 'rotation not picked up');
    await new Promise((r) => setTimeout(r, 20));
  }
  await assert.rejects(authn.authenticate({ ...headers, peerCertificate: oldCert }), is401);
  assert.equal((await authn.authenticate({ ...headers, peerCertificate: newCert })).username, 'alice');
});
