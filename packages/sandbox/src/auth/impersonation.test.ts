import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isApiError } from '../errors/status.ts';
import { Store } from '../store/store.ts';
import { hasImpersonationHeaders, impersonate } from './impersonation.ts';
import { RbacAuthorizer } from './rbac.ts';
import { clusterRole, clusterRoleBinding, role, roleBinding, user } from './testing.ts';

function setup() {
  const store = new Store();
  const authz = new RbacAuthorizer(store);
  // alice may impersonate bob, group devs, uid 42, extra scopes=view, and ServiceAccount ci/bot
  clusterRole(store, 'impersonator', [
    { verbs: ['impersonate'], apiGroups: [''], resources: ['users'], resourceNames: ['bob', 'system:anonymous'] },
    { verbs: ['impersonate'], apiGroups: [''], resources: ['groups'], resourceNames: ['devs', 'system:authenticated'] },
    { verbs: ['impersonate'], apiGroups: ['authentication.k8s.io'], resources: ['uids'], resourceNames: ['42'] },
    {
      verbs: ['impersonate'],
      apiGroups: ['authentication.k8s.io'],
      resources: ['userextras/scopes', 'userextras/a/b'],
    },
  ]);
  clusterRoleBinding(store, 'alice-impersonates', 'impersonator', [{ kind: 'User', name: 'alice' }]);
  role(store, 'ci', 'sa-impersonator', [{ verbs: ['impersonate'], apiGroups: [''], resources: ['serviceaccounts'] }]);
  roleBinding(store, 'ci', 'alice-sa', { kind: 'Role', name: 'sa-impersonator' }, [{ kind: 'User', name: 'alice' }]);
  return { store, authz };
}

const alice = user('alice');

describe('impersonate', () => {
  const allowed: { name: string; headers: Record<string, string | string[]>; want: unknown }[] = [
    {
      name: 'user',
      headers: { 'impersonate-user': 'bob' },
      want: { username: 'bob', groups: ['system:authenticated'] },
    },
    {
      name: 'user and group',
      headers: { 'impersonate-user': 'bob', 'impersonate-group': ['devs'] },
      want: { username: 'bob', groups: ['devs', 'system:authenticated'] },
    },
    {
      name: 'explicit system:authenticated is not doubled',
      headers: { 'impersonate-user': 'bob', 'impersonate-group': ['system:authenticated', 'devs'] },
      want: { username: 'bob', groups: ['system:authenticated', 'devs'] },
    },
    {
      name: 'uid and percent-encoded extra',
      headers: {
        'impersonate-user': 'bob',
        'impersonate-uid': '42',
        'impersonate-extra-scopes': ['view', 'edit'],
        'Impersonate-Extra-A%2fB': 'x',
      },
      want: {
        username: 'bob',
        uid: '42',
        groups: ['system:authenticated'],
        extra: { scopes: ['view', 'edit'], 'a/b': ['x'] },
      },
    },
    {
      name: 'service account gets its groups',
      headers: { 'impersonate-user': 'system:serviceaccount:ci:bot' },
      want: {
        username: 'system:serviceaccount:ci:bot',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
      },
    },
    {
      name: 'anonymous stays unauthenticated',
      headers: { 'impersonate-user': 'system:anonymous' },
      want: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
    },
  ];
  for (const c of allowed) {
    test(`allowed: ${c.name}`, () => {
      const { authz } = setup();
      assert.deepEqual(impersonate(alice, c.headers, authz), c.want);
    });
  }

  test('no headers → undefined', () => {
    const { authz } = setup();
    assert.equal(impersonate(alice, { authorization: 'Bearer x' }, authz), undefined);
    assert.equal(hasImpersonationHeaders({ authorization: 'x' }), false);
    assert.equal(hasImpersonationHeaders({ 'impersonate-group': 'x' }), true);
  });

  const denied: {
    name: string;
    requester?: ReturnType<typeof user>;
    headers: Record<string, string | string[]>;
    code: number;
    message: string;
  }[] = [
    {
      name: 'user not allowed',
      headers: { 'impersonate-user': 'carol' },
      code: 403,
      message:
        'users "carol" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    },
    {
      name: 'requester without any grant',
      requester: user('mallory'),
      headers: { 'impersonate-user': 'bob' },
      code: 403,
      message:
        'users "bob" is forbidden: User "mallory" cannot impersonate resource "users" in API group "" at the cluster scope',
    },
    {
      name: 'group not allowed',
      headers: { 'impersonate-user': 'bob', 'impersonate-group': ['devs', 'system:masters'] },
      code: 403,
      message:
        'groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope',
    },
    {
      name: 'service account in another namespace',
      headers: { 'impersonate-user': 'system:serviceaccount:kube-system:admin' },
      code: 403,
      message:
        'serviceaccounts "admin" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"',
    },
    {
      name: 'uid not allowed',
      headers: { 'impersonate-user': 'bob', 'impersonate-uid': '7' },
      code: 403,
      message:
        'uids.authentication.k8s.io "7" is forbidden: User "alice" cannot impersonate resource "uids" in API group "authentication.k8s.io" at the cluster scope',
    },
    {
      name: 'extra key not allowed',
      headers: { 'impersonate-user': 'bob', 'impersonate-extra-other': 'v' },
      code: 403,
      message:
        'userextras.authentication.k8s.io "v" is forbidden: User "alice" cannot impersonate resource "userextras/other" in API group "authentication.k8s.io" at the cluster scope',
    },
    {
      name: 'group without user',
      headers: { 'impersonate-group': ['devs'] },
      code: 400,
      message: 'requested [{Group  devs    }] without impersonating a user',
    },
    {
      name: 'uid without user',
      headers: { 'impersonate-uid': '42' },
      code: 400,
      message: 'requested [{UID  42  authentication.k8s.io/v1  }] without impersonating a user',
    },
  ];
  for (const c of denied) {
    test(`denied: ${c.name}`, () => {
      const { authz } = setup();
      assert.throws(
        () => impersonate(c.requester ?? alice, c.headers, authz),
        (e: unknown) => {
          assert.ok(isApiError(e));
          assert.equal(e.code, c.code);
          assert.equal(e.message, c.message);
          return true;
        },
      );
    });
  }

  test('malformed service account name is an ordinary user', () => {
    const { authz } = setup();
    assert.throws(
      () => impersonate(alice, { 'impersonate-user': 'system:serviceaccount:ci' }, authz),
      /users "system:serviceaccount:ci" is forbidden/,
    );
  });
});
