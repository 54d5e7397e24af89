import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Store } from '../store/store.ts';
import { bootstrapPolicy, bootstrapStorageKey } from './bootstrap-policy.ts';
import {
  GR_CLUSTERROLES,
  RbacAuthorizer,
  forbiddenError,
  forbiddenMessage,
  labelSelectorMatches,
  reconcileAggregatedClusterRoles,
  ruleAllows,
} from './rbac.ts';
import type { PolicyRule } from './rbac.ts';
import { clusterRole, clusterRoleBinding, pathAttrs, put, resourceAttrs, role, roleBinding, user } from './testing.ts';

const alice = user('alice');

describe('ruleAllows', () => {
  const cases: { name: string; rule: PolicyRule; attrs: Parameters<typeof ruleAllows>[0]; want: boolean }[] = [
    {
      name: 'exact',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
      attrs: resourceAttrs(alice, 'get', 'pods'),
      want: true,
    },
    {
      name: 'verb mismatch',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
      attrs: resourceAttrs(alice, 'list', 'pods'),
      want: false,
    },
    {
      name: 'verb *',
      rule: { verbs: ['*'], apiGroups: [''], resources: ['pods'] },
      attrs: resourceAttrs(alice, 'deletecollection', 'pods'),
      want: true,
    },
    {
      name: 'group mismatch',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['deployments'] },
      attrs: resourceAttrs(alice, 'get', 'deployments', { group: 'apps' }),
      want: false,
    },
    {
      name: 'group *',
      rule: { verbs: ['get'], apiGroups: ['*'], resources: ['deployments'] },
      attrs: resourceAttrs(alice, 'get', 'deployments', { group: 'apps' }),
      want: true,
    },
    {
      name: 'no apiGroups matches nothing',
      rule: { verbs: ['get'], resources: ['pods'] },
      attrs: resourceAttrs(alice, 'get', 'pods'),
      want: false,
    },
    {
      name: 'resource * includes subresources',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['*'] },
      attrs: resourceAttrs(alice, 'get', 'pods', { subresource: 'log' }),
      want: true,
    },
    {
      name: 'plain resource excludes subresource',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['pods'] },
      attrs: resourceAttrs(alice, 'get', 'pods', { subresource: 'log' }),
      want: false,
    },
    {
      name: 'resource/subresource',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] },
      attrs: resourceAttrs(alice, 'get', 'pods', { subresource: 'log' }),
      want: true,
    },
    {
      name: 'resource/subresource does not grant resource',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] },
      attrs: resourceAttrs(alice, 'get', 'pods'),
      want: false,
    },
    {
      name: '*/status',
      rule: { verbs: ['update'], apiGroups: ['*'], resources: ['*/status'] },
      attrs: resourceAttrs(alice, 'update', 'deployments', { group: 'apps', subresource: 'status' }),
      want: true,
    },
    {
      name: '*/status not */scale',
      rule: { verbs: ['update'], apiGroups: ['*'], resources: ['*/status'] },
      attrs: resourceAttrs(alice, 'update', 'deployments', { group: 'apps', subresource: 'scale' }),
      want: false,
    },
    {
      name: '*/status not the resource',
      rule: { verbs: ['get'], apiGroups: ['*'], resources: ['*/status'] },
      attrs: resourceAttrs(alice, 'get', 'deployments'),
      want: false,
    },
    {
      name: 'resourceNames match',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a', 'b'] },
      attrs: resourceAttrs(alice, 'get', 'secrets', { name: 'b' }),
      want: true,
    },
    {
      name: 'resourceNames miss',
      rule: { verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] },
      attrs: resourceAttrs(alice, 'get', 'secrets', { name: 'c' }),
      want: false,
    },
    {
      name: 'resourceNames vs list (no name)',
      rule: { verbs: ['list'], apiGroups: [''], resources: ['secrets'], resourceNames: ['a'] },
      attrs: resourceAttrs(alice, 'list', 'secrets'),
      want: false,
    },
    {
      name: 'non-resource exact',
      rule: { verbs: ['get'], nonResourceURLs: ['/healthz'] },
      attrs: pathAttrs(alice, 'get', '/healthz'),
      want: true,
    },
    {
      name: 'non-resource prefix *',
      rule: { verbs: ['get'], nonResourceURLs: ['/apis/*'] },
      attrs: pathAttrs(alice, 'get', '/apis/apps/v1'),
      want: true,
    },
    {
      name: 'non-resource prefix * is a string prefix',
      rule: { verbs: ['get'], nonResourceURLs: ['/api*'] },
      attrs: pathAttrs(alice, 'get', '/apis'),
      want: true,
    },
    {
      name: 'non-resource /apis/* excludes /apis',
      rule: { verbs: ['get'], nonResourceURLs: ['/apis/*'] },
      attrs: pathAttrs(alice, 'get', '/apis'),
      want: false,
    },
    {
      name: 'non-resource *',
      rule: { verbs: ['*'], nonResourceURLs: ['*'] },
      attrs: pathAttrs(alice, 'post', '/anything'),
      want: true,
    },
    {
      name: 'non-resource rule vs resource request',
      rule: { verbs: ['get'], nonResourceURLs: ['*'] },
      attrs: resourceAttrs(alice, 'get', 'pods'),
      want: false,
    },
    {
      name: 'resource rule vs non-resource request',
      rule: { verbs: ['get'], apiGroups: ['*'], resources: ['*'] },
      attrs: pathAttrs(alice, 'get', '/healthz'),
      want: false,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(ruleAllows(c.attrs, c.rule), c.want);
    });
  }
});

describe('labelSelectorMatches', () => {
  const labels = { a: '1', b: '2' };
  const cases = [
    { sel: { matchLabels: { a: '1' } }, want: true },
    { sel: { matchLabels: { a: '2' } }, want: false },
    { sel: { matchExpressions: [{ key: 'b', operator: 'In', values: ['2', '3'] }] }, want: true },
    { sel: { matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['2'] }] }, want: false },
    { sel: { matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, want: true },
    { sel: { matchExpressions: [{ key: 'c', operator: 'Exists' }] }, want: false },
    { sel: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] }, want: false },
    { sel: {}, want: true },
  ];
  for (const c of cases) {
    test(JSON.stringify(c.sel), () => {
      assert.equal(labelSelectorMatches(c.sel, labels), c.want);
    });
  }
});

describe('RbacAuthorizer', () => {
  function setup() {
    const store = new Store();
    const authz = new RbacAuthorizer(store);
    return { store, authz };
  }

  test('Role applies only in its namespace', () => {
    const { store, authz } = setup();
    role(store, 'dev', 'reader', [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }]);
    roleBinding(store, 'dev', 'alice-reader', { kind: 'Role', name: 'reader' }, [
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
    ]);
    const inDev = authz.authorize(resourceAttrs(alice, 'list', 'pods', { namespace: 'dev' }));
    assert.deepEqual(inDev, {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "alice-reader/dev" of Role "reader" to User "alice"',
    });
    assert.equal(authz.authorize(resourceAttrs(alice, 'list', 'pods', { namespace: 'prod' })).allowed, false);
    assert.equal(authz.authorize(resourceAttrs(alice, 'list', 'pods')).allowed, false, 'not cluster-wide');
  });

  test('ClusterRole through a RoleBinding applies in that namespace only', () => {
    const { store, authz } = setup();
    clusterRole(store, 'secret-reader', [{ verbs: ['get'], apiGroups: [''], resources: ['secrets'] }]);
    roleBinding(store, 'dev', 'rb', { kind: 'ClusterRole', name: 'secret-reader' }, [{ kind: 'Group', name: 'devs' }]);
    const bob = user('bob', 'devs');
    assert.deepEqual(authz.authorize(resourceAttrs(bob, 'get', 'secrets', { namespace: 'dev', name: 'x' })), {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "rb/dev" of ClusterRole "secret-reader" to Group "devs"',
    });
    assert.equal(
      authz.authorize(resourceAttrs(bob, 'get', 'secrets', { namespace: 'other', name: 'x' })).allowed,
      false,
    );
  });

  test('ClusterRoleBinding applies in every namespace and at cluster scope; sees writes immediately', () => {
    const { store, authz } = setup();
    clusterRole(store, 'ns-viewer', [{ verbs: ['list'], apiGroups: [''], resources: ['namespaces'] }]);
    const attrs = resourceAttrs(alice, 'list', 'namespaces');
    assert.equal(authz.authorize(attrs).allowed, false);
    clusterRoleBinding(store, 'alice-ns', 'ns-viewer', [{ kind: 'User', name: 'alice' }]);
    assert.deepEqual(authz.authorize(attrs), {
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "alice-ns" of ClusterRole "ns-viewer" to User "alice"',
    });
    store.remove('clusterrolebindings.rbac.authorization.k8s.io', undefined, 'alice-ns');
    assert.equal(authz.authorize(attrs).allowed, false, 'deletion seen at once');
  });

  test('ServiceAccount subjects, namespace defaulted to the binding', () => {
    const { store, authz } = setup();
    role(store, 'ci', 'deployer', [{ verbs: ['create'], apiGroups: ['apps'], resources: ['deployments'] }]);
    roleBinding(store, 'ci', 'rb', { kind: 'Role', name: 'deployer' }, [{ kind: 'ServiceAccount', name: 'bot' }]);
    clusterRole(store, 'crv', [{ verbs: ['get'], apiGroups: [''], resources: ['nodes'] }]);
    clusterRoleBinding(store, 'crb-unqualified', 'crv', [{ kind: 'ServiceAccount', name: 'bot' }]);
    const bot = {
      username: 'system:serviceaccount:ci:bot',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ci'],
    };
    assert.deepEqual(authz.authorize(resourceAttrs(bot, 'create', 'deployments', { namespace: 'ci', group: 'apps' })), {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "rb/ci" of Role "deployer" to ServiceAccount "bot/ci"',
    });
    const other = { username: 'system:serviceaccount:other:bot', groups: [] };
    assert.equal(
      authz.authorize(resourceAttrs(other, 'create', 'deployments', { namespace: 'ci', group: 'apps' })).allowed,
      false,
    );
    // a ClusterRoleBinding has no namespace to default to
    assert.equal(authz.authorize(resourceAttrs(bot, 'get', 'nodes')).allowed, false);
  });

  test('system:masters is allowed without RBAC, with no reason', () => {
    const { authz } = setup();
    assert.deepEqual(authz.authorize(resourceAttrs(user('root', 'system:masters'), 'delete', 'nodes')), {
      allowed: true,
      reason: '',
    });
  });

  test('dangling roleRef shows in the denial reason', () => {
    const { store, authz } = setup();
    roleBinding(store, 'dev', 'rb', { kind: 'Role', name: 'missing' }, [{ kind: 'User', name: 'alice' }]);
    clusterRoleBinding(store, 'crb', 'gone', [{ kind: 'User', name: 'alice' }]);
    const d = authz.authorize(resourceAttrs(alice, 'get', 'pods', { namespace: 'dev' }));
    assert.deepEqual(d, {
      allowed: false,
      reason:
        'RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "missing" not found]',
    });
    const rules = authz.rulesFor(alice, 'dev');
    assert.equal(
      rules.evaluationError,
      '[clusterrole.rbac.authorization.k8s.io "gone" not found, role.rbac.authorization.k8s.io "missing" not found]',
    );
  });

  test('aggregated ClusterRole sees labelled roles, also ones created later', () => {
    const { store, authz } = setup();
    clusterRole(store, 'monitoring', [], undefined, {
      clusterRoleSelectors: [{ matchLabels: { 'example.com/aggregate-to-monitoring': 'true' } }],
    });
    clusterRoleBinding(store, 'mon', 'monitoring', [{ kind: 'User', name: 'alice' }]);
    const attrs = resourceAttrs(alice, 'get', 'widgets', { group: 'example.com', namespace: 'x' });
    assert.equal(authz.authorize(attrs).allowed, false);
    clusterRole(store, 'widgets-reader', [{ verbs: ['get'], apiGroups: ['example.com'], resources: ['widgets'] }], {
      'example.com/aggregate-to-monitoring': 'true',
    });
    assert.deepEqual(authz.authorize(attrs), {
      allowed: true,
      reason: 'RBAC: allowed by ClusterRoleBinding "mon" of ClusterRole "monitoring" to User "alice"',
    });
    const updates = reconcileAggregatedClusterRoles(store);
    assert.equal(updates.length, 1);
    assert.deepEqual(updates[0]!.rules, [{ verbs: ['get'], apiGroups: ['example.com'], resources: ['widgets'] }]);
  });

  test('rulesFor lists cluster-wide then namespace rules, split by kind', () => {
    const { store, authz } = setup();
    for (const obj of bootstrapPolicy()) put(store, bootstrapStorageKey(obj), obj);
    role(store, 'dev', 'r', [{ verbs: ['get'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['cfg'] }]);
    roleBinding(store, 'dev', 'rb', { kind: 'Role', name: 'r' }, [{ kind: 'User', name: 'alice' }]);
    const got = authz.rulesFor(alice, 'dev');
    assert.equal(got.incomplete, false);
    assert.equal(got.evaluationError, undefined);
    assert.deepEqual(got.resourceRules.at(-1), {
      verbs: ['get'],
      apiGroups: [''],
      resources: ['configmaps'],
      resourceNames: ['cfg'],
    });
    assert.ok(got.resourceRules.some((r) => r.resources?.includes('selfsubjectaccessreviews')));
    assert.ok(got.nonResourceRules.some((r) => r.nonResourceURLs?.includes('/version')));
  });
});

describe('bootstrap policy', () => {
  const store = new Store();
  for (const obj of bootstrapPolicy()) put(store, bootstrapStorageKey(obj), obj);
  const authz = new RbacAuthorizer(store);
  const anon = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
  const cases = [
    { who: 'anonymous', attrs: pathAttrs(anon, 'get', '/version'), want: true },
    { who: 'anonymous', attrs: pathAttrs(anon, 'get', '/api'), want: false },
    { who: 'anonymous', attrs: resourceAttrs(anon, 'list', 'pods', { namespace: 'default' }), want: false },
    { who: 'authenticated', attrs: pathAttrs(alice, 'get', '/apis/apps/v1'), want: true },
    {
      who: 'authenticated',
      attrs: resourceAttrs(alice, 'create', 'selfsubjectaccessreviews', { group: 'authorization.k8s.io' }),
      want: true,
    },
    {
      who: 'authenticated',
      attrs: resourceAttrs(alice, 'create', 'selfsubjectreviews', { group: 'authentication.k8s.io' }),
      want: true,
    },
    { who: 'authenticated', attrs: resourceAttrs(alice, 'list', 'secrets', { namespace: 'default' }), want: false },
    {
      who: 'cluster-admin via masters',
      attrs: resourceAttrs(user('root', 'system:masters'), 'list', 'secrets'),
      want: true,
    },
  ];
  for (const c of cases) {
    test(`${c.who}: ${c.attrs.verb} ${c.attrs.resource || c.attrs.path}`, () => {
      assert.equal(authz.authorize(c.attrs).allowed, c.want);
    });
  }

  test('admin/edit/view carry aggregated rules and are consistent with reconcile', () => {
    const view = store.get(GR_CLUSTERROLES, undefined, 'view')!;
    const admin = store.get(GR_CLUSTERROLES, undefined, 'admin')!;
    assert.ok(Array.isArray(view.rules) && view.rules.length > 5);
    const adminRules = admin.rules as PolicyRule[];
    assert.ok(
      adminRules.some((r) => r.resources?.includes('rolebindings')),
      'admin has aggregate-to-admin',
    );
    assert.ok(
      adminRules.some((r) => r.resources?.includes('pods/exec')),
      'admin includes edit',
    );
    assert.ok(
      adminRules.some((r) => r.resources?.includes('pods/log')),
      'admin includes view',
    );
    assert.deepEqual(reconcileAggregatedClusterRoles(store), []);
    assert.deepEqual(bootstrapPolicy()[0]!.metadata.labels, { 'kubernetes.io/bootstrapping': 'rbac-defaults' });
    assert.deepEqual(bootstrapPolicy()[0]!.metadata.annotations, {
      'rbac.authorization.kubernetes.io/autoupdate': 'true',
    });
  });

  test('edit via RoleBinding: write deployments, not roles', () => {
    roleBinding(store, 'team', 'editors', { kind: 'ClusterRole', name: 'edit' }, [{ kind: 'User', name: 'carol' }]);
    const carol = user('carol');
    assert.equal(
      authz.authorize(resourceAttrs(carol, 'patch', 'deployments', { group: 'apps', namespace: 'team' })).allowed,
      true,
    );
    assert.equal(
      authz.authorize(
        resourceAttrs(carol, 'create', 'roles', { group: 'rbac.authorization.k8s.io', namespace: 'team' }),
      ).allowed,
      false,
    );
    assert.equal(
      authz.authorize(resourceAttrs(carol, 'patch', 'deployments', { group: 'apps', namespace: 'other' })).allowed,
      false,
    );
  });
});

describe('forbidden messages', () => {
  const cases = [
    {
      attrs: resourceAttrs(alice, 'list', 'secrets', { namespace: 'default' }),
      msg: 'User "alice" cannot list resource "secrets" in API group "" in the namespace "default"',
      status:
        'secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "default"',
    },
    {
      attrs: resourceAttrs(alice, 'get', 'deployments', {
        group: 'apps',
        subresource: 'scale',
        name: 'web',
        namespace: 'x',
      }),
      msg: 'User "alice" cannot get resource "deployments/scale" in API group "apps" in the namespace "x"',
      status:
        'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments/scale" in API group "apps" in the namespace "x"',
    },
    {
      attrs: resourceAttrs(alice, 'list', 'nodes'),
      msg: 'User "alice" cannot list resource "nodes" in API group "" at the cluster scope',
      status: 'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope',
    },
    {
      attrs: pathAttrs(alice, 'get', '/foo'),
      msg: 'User "alice" cannot get path "/foo"',
      status: 'forbidden: User "alice" cannot get path "/foo"',
    },
  ];
  for (const c of cases) {
    test(c.msg, () => {
      assert.equal(forbiddenMessage(c.attrs), c.msg);
      const err = forbiddenError(c.attrs);
      assert.equal(err.code, 403);
      assert.equal(err.reason, 'Forbidden');
      assert.equal(err.message, c.status);
    });
  }
  test('reason is appended', () => {
    const err = forbiddenError(
      resourceAttrs(alice, 'get', 'pods', { namespace: 'a' }),
      'RBAC: role.rbac.authorization.k8s.io "x" not found',
    );
    assert.match(err.message, /in the namespace "a": RBAC: role.rbac.authorization.k8s.io "x" not found$/);
    assert.deepEqual(err.toStatus().details, { kind: 'pods' });
  });
});
