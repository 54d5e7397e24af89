import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../apiserver/errors.ts';
import type { AuthorizationDecision } from './authz.ts';
import { hasImpersonationHeaders, impersonate, stripImpersonationHeaders } from './impersonation.ts';
import type { Attributes, UserInfo } from './types.ts';

const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };

function fakeAuthorizer(allow: (a: Attributes) => boolean) {
  const seen: Attributes[] = [];
  return {
    seen,
    authorize(a: Attributes): Promise<AuthorizationDecision> {
      seen.push(a);
      return Promise.resolve({ allowed: allow(a), reason: '' });
    },
  };
}

const allowAll = () => true;

const cases: { name: string; raw: string[]; want: UserInfo | undefined; checks?: string[] }[] = [
  { name: 'no headers', raw: [], want: undefined, checks: [] },
  {
    name: 'user only gains system:authenticated',
    raw: ['Impersonate-User', 'bob'],
    want: { username: 'bob', groups: ['system:authenticated'] },
    checks: ['//users/bob'],
  },
  {
    name: 'user, groups (repeated, distinct), uid, extra',
    raw: [
      'Impersonate-User',
      'bob',
      'Impersonate-Group',
      'g1',
      'Impersonate-Group',
      'g2, g3',
      'Impersonate-Uid',
      '42',
      'Impersonate-Extra-Example.com%2Fscopes',
      'a',
      'Impersonate-Extra-Example.com%2Fscopes',
      'b',
    ],
    want: {
      username: 'bob',
      groups: ['g1', 'g2, g3', 'system:authenticated'],
      uid: '42',
      extra: { 'example.com/scopes': ['a', 'b'] },
    },
    checks: [
      '//users/bob',
      '//groups/g1',
      '//groups/g2, g3',
      'authentication.k8s.io//userextras/example.com/scopes/a',
      'authentication.k8s.io//userextras/example.com/scopes/b',
      'authentication.k8s.io//uids/42',
    ],
  },
  {
    name: 'service account gets its fixed groups',
    raw: ['Impersonate-User', 'system:serviceaccount:ns1:sa1'],
    want: {
      username: 'system:serviceaccount:ns1:sa1',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'],
    },
    checks: ['/ns1/serviceaccounts/sa1'],
  },
  {
    name: 'service account with explicit groups',
    raw: ['Impersonate-User', 'system:serviceaccount:ns1:sa1', 'Impersonate-Group', 'x'],
    want: { username: 'system:serviceaccount:ns1:sa1', groups: ['x', 'system:authenticated'] },
  },
  {
    name: 'malformed service account name is a plain user',
    raw: ['Impersonate-User', 'system:serviceaccount:NS:sa'],
    want: { username: 'system:serviceaccount:NS:sa', groups: ['system:authenticated'] },
    checks: ['//users/system:serviceaccount:NS:sa'],
  },
  {
    name: 'anonymous gets system:unauthenticated',
    raw: ['Impersonate-User', 'system:anonymous'],
    want: { username: 'system:anonymous', groups: ['system:unauthenticated'] },
  },
  {
    name: 'explicit system:unauthenticated is not topped up',
    raw: ['Impersonate-User', 'bob', 'Impersonate-Group', 'system:unauthenticated'],
    want: { username: 'bob', groups: ['system:unauthenticated'] },
  },
];

for (const c of cases) {
  test(`impersonate: ${c.name}`, async () => {
    const z = fakeAuthorizer(allowAll);
    const got = await impersonate(alice, { headers: {}, rawHeaders: c.raw }, z);
    assert.deepEqual(got, c.want);
    if (c.checks) {
      assert.deepEqual(
        // group/namespace/resource[/subresource]/name
        z.seen.map((a) =>
          [a.apiGroup, a.namespace, a.resource, ...(a.subresource ? [a.subresource] : []), a.name].join('/'),
        ),
        c.checks,
      );
      assert.ok(z.seen.every((a) => a.verb === 'impersonate' && a.user === alice && a.resourceRequest));
    }
  });
}

test('groups without a user is a 400 listing the requests', async () => {
  await assert.rejects(
    impersonate(
      alice,
      { headers: {}, rawHeaders: ['Impersonate-Group', 'g', 'Impersonate-Uid', '1'] },
      fakeAuthorizer(allowAll),
    ),
    (e: unknown) =>
      e instanceof GatewayError &&
      e.code === 400 &&
      e.message === 'requested [{Group  g    } {UID  1  authentication.k8s.io/v1  }] without impersonating a user',
  );
});

test('a denied piece is the 403 of that check', async () => {
  const z = fakeAuthorizer((a) => a.resource !== 'groups');
  await assert.rejects(
    impersonate(alice, { headers: { 'impersonate-user': 'bob', 'impersonate-group': ['system:masters'] } }, z),
    (e: unknown) =>
      e instanceof GatewayError &&
      e.code === 403 &&
      e.message ===
        'groups "system:masters" is forbidden: User "alice" cannot impersonate resource "groups" in API group "" at the cluster scope',
  );
});

test('header helpers', () => {
  const h: Record<string, string | string[] | undefined> = {
    'impersonate-user': 'x',
    'Impersonate-Extra-a': 'y',
    accept: '*/*',
  };
  assert.equal(hasImpersonationHeaders(h), true);
  stripImpersonationHeaders(h);
  assert.deepEqual(h, { accept: '*/*' });
  assert.equal(hasImpersonationHeaders(h), false);
});
