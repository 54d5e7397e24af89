import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isApiError } from '../errors/status.ts';
import { Store } from '../store/store.ts';
import { Authenticator } from './authn.ts';
import { bootstrapPolicy, bootstrapStorageKey } from './bootstrap-policy.ts';
import { RbacAuthorizer } from './rbac.ts';
import {
  localSubjectAccessReview,
  reviews,
  selfSubjectAccessReview,
  selfSubjectReview,
  selfSubjectRulesReview,
  subjectAccessReview,
  tokenReview,
} from './reviews.ts';
import type { ReviewDeps } from './reviews.ts';
import { ServiceAccountTokens } from './serviceaccount-tokens.ts';
import { put, role, roleBinding, user } from './testing.ts';

function setup() {
  const store = new Store();
  for (const obj of bootstrapPolicy()) put(store, bootstrapStorageKey(obj), obj);
  const tokens = new ServiceAccountTokens({ store });
  const authenticator = new Authenticator({
    store,
    serviceAccountIssuer: tokens,
    staticTokens: new Map([['tok', { username: 'admin', groups: ['system:masters'] }]]),
  });
  const authorizer = new RbacAuthorizer(store);
  const deps: ReviewDeps = { authorizer, authenticator, now: () => Date.UTC(2024, 0, 2, 3, 4, 5, 678) };
  return { store, tokens, deps };
}

const alice = user('alice');

function expectApiError(fn: () => unknown, code: number, message: string | RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isApiError(e), String(e));
    assert.equal(e.code, code);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('SelfSubjectAccessReview (kubectl auth can-i)', () => {
  test('can-i right after a RoleBinding is created', () => {
    const { store, deps } = setup();
    const body = {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: { namespace: 'dev', verb: 'list', resource: 'pods' } },
      status: { allowed: false },
    };
    assert.deepEqual(selfSubjectAccessReview(body, alice, deps).status, { allowed: false });
    role(store, 'dev', 'pod-reader', [{ verbs: ['list'], apiGroups: [''], resources: ['pods'] }]);
    roleBinding(store, 'dev', 'alice-pods', { kind: 'Role', name: 'pod-reader' }, [{ kind: 'User', name: 'alice' }]);
    assert.deepEqual(selfSubjectAccessReview(body, alice, deps), {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { resourceAttributes: { namespace: 'dev', verb: 'list', resource: 'pods' } },
      status: {
        allowed: true,
        reason: 'RBAC: allowed by RoleBinding "alice-pods/dev" of Role "pod-reader" to User "alice"',
      },
    });
  });

  test('non-resource attributes', () => {
    const { deps } = setup();
    const out = selfSubjectAccessReview(
      { spec: { nonResourceAttributes: { path: '/version', verb: 'get' } } },
      alice,
      deps,
    );
    assert.deepEqual(out.status, {
      allowed: true,
      reason:
        'RBAC: allowed by ClusterRoleBinding "system:discovery" of ClusterRole "system:discovery" to Group "system:authenticated"',
    });
  });

  const invalid: { name: string; body: unknown; code: number; message: string | RegExp }[] = [
    {
      name: 'no spec',
      body: { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1' },
      code: 422,
      message:
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    },
    {
      name: 'both attributes',
      body: { spec: { resourceAttributes: { verb: 'get' }, nonResourceAttributes: { path: '/x', verb: 'get' } } },
      code: 422,
      message:
        'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/x", Verb:"get"}: cannot be specified in combination with resourceAttributes',
    },
    {
      name: 'named metadata',
      body: { metadata: { name: 'x' }, spec: { resourceAttributes: { verb: 'get' } } },
      code: 422,
      message:
        /^SelfSubjectAccessReview.authorization.k8s.io "" is invalid: metadata: Invalid value: v1.ObjectMeta\{Name:"x"\}: must be empty$/,
    },
    {
      name: 'wrong apiVersion',
      body: { apiVersion: 'authorization.k8s.io/v1beta1', spec: {} },
      code: 400,
      message:
        'the API version in the data (authorization.k8s.io/v1beta1) does not match the expected API version (authorization.k8s.io/v1)',
    },
    {
      name: 'another kind of the group',
      body: { kind: 'SubjectAccessReview', spec: {} },
      code: 400,
      message: /^not a SelfSubjectAccessReview: /,
    },
    {
      name: 'unknown kind',
      body: { kind: 'Pod', spec: {} },
      code: 400,
      message:
        'no kind "Pod" is registered for version "authorization.k8s.io/v1" in scheme "pkg/api/legacyscheme/scheme.go:30"',
    },
    {
      name: 'wrong field type',
      body: { spec: { resourceAttributes: { verb: 1 } } },
      code: 400,
      message:
        'SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: json: cannot unmarshal number into Go struct field SelfSubjectAccessReview.spec.resourceAttributes.verb of type string',
    },
    { name: 'array body', body: [], code: 400, message: /cannot be handled as a SelfSubjectAccessReview/ },
  ];
  for (const c of invalid) {
    test(`rejects: ${c.name}`, () => {
      const { deps } = setup();
      expectApiError(() => selfSubjectAccessReview(c.body, alice, deps), c.code, c.message);
    });
  }
});

describe('SubjectAccessReview / LocalSubjectAccessReview', () => {
  test('checks the user in the spec, not the requester', () => {
    const { deps } = setup();
    const out = subjectAccessReview(
      { spec: { user: 'root', groups: ['system:masters'], resourceAttributes: { verb: 'delete', resource: 'nodes' } } },
      alice,
      deps,
    );
    assert.deepEqual(out.spec, {
      user: 'root',
      groups: ['system:masters'],
      resourceAttributes: { verb: 'delete', resource: 'nodes' },
    });
    assert.deepEqual(out.status, { allowed: true });
    const denied = subjectAccessReview(
      { spec: { user: 'bob', resourceAttributes: { verb: 'delete', resource: 'nodes' } } },
      alice,
      deps,
    );
    assert.deepEqual(denied.status, { allowed: false });
  });

  test('SAR needs a user or group', () => {
    const { deps } = setup();
    expectApiError(
      () => subjectAccessReview({ spec: { resourceAttributes: { verb: 'get' } } }, alice, deps),
      422,
      'SubjectAccessReview.authorization.k8s.io "" is invalid: spec.user: Invalid value: "": at least one of user or group must be specified',
    );
  });

  test('LSAR: namespace defaulted from the URL and must match', () => {
    const { store, deps } = setup();
    role(store, 'dev', 'r', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]);
    roleBinding(store, 'dev', 'rb', { kind: 'Role', name: 'r' }, [{ kind: 'User', name: 'bob' }]);
    const out = localSubjectAccessReview(
      { spec: { user: 'bob', resourceAttributes: { namespace: 'dev', verb: 'get', resource: 'pods' } } },
      alice,
      deps,
      'dev',
    );
    assert.equal(out.metadata.namespace, 'dev');
    assert.deepEqual(out.status, {
      allowed: true,
      reason: 'RBAC: allowed by RoleBinding "rb/dev" of Role "r" to User "bob"',
    });
    expectApiError(
      () =>
        localSubjectAccessReview(
          { spec: { user: 'bob', resourceAttributes: { namespace: 'prod', verb: 'get' } } },
          alice,
          deps,
          'dev',
        ),
      422,
      'LocalSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes.namespace: Invalid value: "prod": must match metadata.namespace',
    );
    expectApiError(
      () =>
        localSubjectAccessReview(
          {
            metadata: { namespace: 'prod' },
            spec: { user: 'bob', resourceAttributes: { namespace: 'prod', verb: 'get' } },
          },
          alice,
          deps,
          'dev',
        ),
      400,
      'the namespace of the provided object does not match the namespace sent on the request',
    );
    expectApiError(
      () =>
        localSubjectAccessReview(
          { spec: { user: 'bob', nonResourceAttributes: { path: '/x', verb: 'get' } } },
          alice,
          deps,
          'dev',
        ),
      422,
      'LocalSubjectAccessReview.authorization.k8s.io "" is invalid: spec.nonResourceAttributes: Invalid value: authorization.NonResourceAttributes{Path:"/x", Verb:"get"}: disallowed on this kind of request',
    );
  });
});

describe('SelfSubjectRulesReview (kubectl auth can-i --list)', () => {
  test('rules for the namespace', () => {
    const { store, deps } = setup();
    role(store, 'dev', 'r', [
      { verbs: ['get', 'watch'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web'] },
    ]);
    roleBinding(store, 'dev', 'rb', { kind: 'Role', name: 'r' }, [{ kind: 'User', name: 'alice' }]);
    const out = selfSubjectRulesReview(
      { kind: 'SelfSubjectRulesReview', apiVersion: 'authorization.k8s.io/v1', spec: { namespace: 'dev' } },
      alice,
      deps,
    );
    assert.deepEqual(out.spec, {});
    const status = out.status as { resourceRules: unknown[]; nonResourceRules: unknown[]; incomplete: boolean };
    assert.equal(status.incomplete, false);
    assert.deepEqual(status.resourceRules, [
      {
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
      },
      { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
      { verbs: ['get', 'watch'], apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['web'] },
    ]);
    assert.ok(status.nonResourceRules.length >= 2);
    // another namespace lacks the Role's rule
    const other = selfSubjectRulesReview({ spec: { namespace: 'prod' } }, alice, deps).status as {
      resourceRules: unknown[];
    };
    assert.equal(other.resourceRules.length, 2);
  });

  test('namespace is required', () => {
    const { deps } = setup();
    expectApiError(() => selfSubjectRulesReview({ spec: {} }, alice, deps), 400, 'no namespace on request');
  });
});

describe('SelfSubjectReview (kubectl auth whoami)', () => {
  test('echoes the requester', () => {
    const { deps } = setup();
    const requester = { username: 'alice', uid: 'u', groups: ['dev', 'system:authenticated'], extra: { k: ['v'] } };
    assert.deepEqual(
      selfSubjectReview(
        { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', status: { userInfo: {} } },
        requester,
        deps,
      ),
      {
        kind: 'SelfSubjectReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: '2024-01-02T03:04:05Z' },
        status: {
          userInfo: { username: 'alice', uid: 'u', groups: ['dev', 'system:authenticated'], extra: { k: ['v'] } },
        },
      },
    );
    expectApiError(() => selfSubjectReview({ kind: 'TokenReview' }, requester, deps), 400, /^not a SelfSubjectReview/);
  });
});

describe('TokenReview', () => {
  test('valid service account token', () => {
    const { store, tokens, deps } = setup();
    const uid = put(store, 'serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'bot', namespace: 'ci' },
    }).metadata.uid!;
    const { token, jti } = tokens.issue({
      namespace: 'ci',
      name: 'bot',
      uid,
      audiences: ['api', tokens.issuer],
      expirationSeconds: 600,
    });
    const out = tokenReview(
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      alice,
      deps,
    );
    assert.deepEqual(out.status, {
      authenticated: true,
      user: {
        username: 'system:serviceaccount:ci:bot',
        uid,
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
        extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${jti}`] },
      },
      audiences: [tokens.issuer],
    });
    const withAud = tokenReview({ spec: { token, audiences: ['api'] } }, alice, deps);
    assert.deepEqual((withAud.status as { audiences: string[] }).audiences, ['api']);
    assert.deepEqual(withAud.spec, { token, audiences: ['api'] });
  });

  test('invalid tokens are reported, not thrown', () => {
    const { deps } = setup();
    assert.deepEqual(tokenReview({ spec: { token: 'garbage' } }, alice, deps).status, {
      user: {},
      error: 'invalid bearer token',
    });
    assert.deepEqual(tokenReview({ spec: { token: 'tok', audiences: ['elsewhere'] } }, alice, deps).status, {
      user: {},
      error: 'invalid bearer token',
    });
  });

  test('token is required', () => {
    const { deps } = setup();
    expectApiError(
      () => tokenReview({ spec: {} }, alice, deps),
      400,
      'token is required for TokenReview in authentication',
    );
    expectApiError(
      () => tokenReview({ spec: { token: 'x', audiences: 'api' } }, alice, deps),
      400,
      'TokenReview in version "v1" cannot be handled as a TokenReview: json: cannot unmarshal string into Go struct field TokenReview.spec.audiences of type []string',
    );
  });
});

describe('reviews dispatcher', () => {
  test('routes by group/resource', () => {
    const { deps } = setup();
    const out = reviews(
      { group: 'authorization.k8s.io', resource: 'selfsubjectaccessreviews' },
      { spec: { nonResourceAttributes: { path: '/api', verb: 'get' } } },
      alice,
      deps,
    );
    assert.equal(out.kind, 'SelfSubjectAccessReview');
    const lsar = reviews(
      { group: 'authorization.k8s.io', resource: 'localsubjectaccessreviews' },
      { spec: { user: 'x', resourceAttributes: { namespace: 'n', verb: 'get' } } },
      alice,
      { ...deps, namespace: 'n' },
    );
    assert.equal(lsar.metadata.namespace, 'n');
    expectApiError(
      () => reviews({ group: 'apps', resource: 'deployments' }, {}, alice, deps),
      404,
      'deployments.apps "" not found',
    );
  });
});
