import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../apiserver/errors.ts';
import {
  DelegatingAuthorizer,
  forbiddenError,
  forbiddenMessage,
  subjectAccessReviewSpec,
  validateAlwaysAllowPaths,
} from './authz.ts';
import type { Attributes, HubAuthApi, SubjectAccessReviewResult, SubjectAccessReviewSpec } from './types.ts';

const alice = { username: 'alice', groups: ['system:authenticated'] };

function attrs(over: Partial<Attributes> = {}): Attributes {
  return {
    user: alice,
    verb: 'get',
    resourceRequest: true,
    path: '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/x/proxy/api',
    apiGroup: 'cluster.core.oam.dev',
    apiVersion: 'v1alpha1',
    resource: 'clustergateways',
    subresource: 'proxy',
    namespace: '',
    name: 'x',
    ...over,
  };
}

class FakeHub implements HubAuthApi {
  specs: SubjectAccessReviewSpec[] = [];
  answer: (spec: SubjectAccessReviewSpec) => SubjectAccessReviewResult | Error = () => ({ status: { allowed: false } });
  delayMs = 0;
  createTokenReview(): Promise<never> {
    return Promise.reject(new Error('unused'));
  }
  async createSubjectAccessReview(spec: SubjectAccessReviewSpec): Promise<SubjectAccessReviewResult> {
    this.specs.push(spec);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const a = this.answer(spec);
    if (a instanceof Error) throw a;
    return a;
  }
  getConfigMap(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}

const wording: { name: string; attrs: Attributes; reason?: string; message: string; details: object }[] = [
  {
    name: 'cluster-scoped subresource',
    attrs: attrs(),
    message:
      'clustergateways.cluster.core.oam.dev "x" is forbidden: User "alice" cannot get resource "clustergateways/proxy" in API group "cluster.core.oam.dev" at the cluster scope',
    details: { name: 'x', group: 'cluster.core.oam.dev', kind: 'clustergateways' },
  },
  {
    name: 'collection',
    attrs: attrs({ verb: 'list', subresource: '', name: '' }),
    message:
      'clustergateways.cluster.core.oam.dev is forbidden: User "alice" cannot list resource "clustergateways" in API group "cluster.core.oam.dev" at the cluster scope',
    details: { group: 'cluster.core.oam.dev', kind: 'clustergateways' },
  },
  {
    name: 'namespaced core resource with a reason',
    attrs: attrs({ apiGroup: '', resource: 'secrets', subresource: '', namespace: 'ns', name: 's' }),
    reason: 'no RBAC policy matched',
    message:
      'secrets "s" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "ns": no RBAC policy matched',
    details: { name: 's', kind: 'secrets' },
  },
  {
    name: 'non-resource path',
    attrs: attrs({ resourceRequest: false, path: '/metrics', apiGroup: '', resource: '', subresource: '', name: '' }),
    message: 'forbidden: User "alice" cannot get path "/metrics"',
    details: {},
  },
  {
    name: 'HTML escaped, Go-quoted',
    attrs: attrs({ resourceRequest: false, path: '/<script>"&', apiGroup: '', resource: '', name: '' }),
    message: 'forbidden: User "alice" cannot get path "/&lt;script&gt;\\"&amp;"',
    details: {},
  },
];

for (const c of wording) {
  test(`forbidden wording: ${c.name}`, () => {
    const e = forbiddenError(c.attrs, c.reason);
    assert.equal(e.code, 403);
    assert.equal(e.reason, 'Forbidden');
    assert.equal(e.message, c.message);
    assert.deepEqual(e.toStatus().details, c.details);
  });
}

test('forbiddenMessage alone', () => {
  assert.equal(
    forbiddenMessage(attrs({ verb: '' })),
    'User "alice" cannot  resource "clustergateways/proxy" in API group "cluster.core.oam.dev" at the cluster scope',
  );
});

test('always-allow paths: defaults, prefixes, only for non-resource requests, validation', async () => {
  const hub = new FakeHub();
  const z = new DelegatingAuthorizer({ hub, alwaysAllowPaths: ['/healthz', '/debug/*', '/'] });
  const nr = (path: string) =>
    attrs({ resourceRequest: false, path, apiGroup: '', resource: '', subresource: '', name: '' });
  assert.equal((await z.authorize(nr('/healthz'))).allowed, true);
  assert.equal((await z.authorize(nr('/debug/pprof/x'))).allowed, true);
  assert.equal((await z.authorize(nr('/'))).allowed, true);
  assert.equal(hub.specs.length, 0);
  assert.equal((await z.authorize(nr('/healthz/etcd'))).allowed, false);
  assert.equal(hub.specs.length, 1);
  const d = new DelegatingAuthorizer({ hub });
  assert.equal((await d.authorize(nr('/readyz'))).allowed, true);
  assert.equal((await d.authorize(nr('/livez'))).allowed, true);
  // a resource request whose path looks like an allowed path is still reviewed
  assert.equal((await d.authorize(attrs({ path: '/healthz' }))).allowed, false);
  assert.deepEqual(validateAlwaysAllowPaths(['/a*b', '/ok*', '*']), ['only trailing * allowed in "a*b"']);
  assert.throws(() => new DelegatingAuthorizer({ alwaysAllowPaths: ['/x*/y'] }), /only trailing \* allowed/);
});

test('system:masters is always allowed without a review', async () => {
  const hub = new FakeHub();
  const z = new DelegatingAuthorizer({ hub });
  const d = await z.authorize(attrs({ user: { username: 'root', groups: ['system:masters'] } }));
  assert.equal(d.allowed, true);
  assert.equal(hub.specs.length, 0);
});

test('SubjectAccessReview spec mirrors the attributes', () => {
  assert.deepEqual(
    subjectAccessReviewSpec(
      attrs({ user: { username: 'bob', uid: '42', groups: ['g'], extra: { b: ['2'], a: ['1'] } } }),
    ),
    {
      user: 'bob',
      uid: '42',
      groups: ['g'],
      extra: { a: ['1'], b: ['2'] },
      resourceAttributes: {
        namespace: '',
        verb: 'get',
        group: 'cluster.core.oam.dev',
        version: 'v1alpha1',
        resource: 'clustergateways',
        subresource: 'proxy',
        name: 'x',
      },
    },
  );
  assert.deepEqual(subjectAccessReviewSpec(attrs({ resourceRequest: false, path: '/metrics', verb: 'get' })), {
    user: 'alice',
    groups: ['system:authenticated'],
    nonResourceAttributes: { path: '/metrics', verb: 'get' },
  });
});

test('allowed and denied answers are cached for their TTLs; single flight', async () => {
  const hub = new FakeHub();
  hub.answer = (s) => ({ status: { allowed: s.resourceAttributes?.verb === 'get', reason: 'because' } });
  hub.delayMs = 20;
  const z = new DelegatingAuthorizer({ hub, allowCacheTTLMs: 200, denyCacheTTLMs: 60 });
  const results = await Promise.all(Array.from({ length: 10 }, () => z.authorize(attrs())));
  assert.ok(results.every((r) => r.allowed && r.reason === 'because'));
  assert.equal(hub.specs.length, 1, 'ten concurrent identical checks, one review');
  assert.equal(z.reviewStats.joined, 9);
  const deny = await z.authorize(attrs({ verb: 'delete' }));
  assert.deepEqual(deny, { allowed: false, reason: 'because' });
  assert.equal(hub.specs.length, 2);
  await z.authorize(attrs({ verb: 'delete' }));
  assert.equal(hub.specs.length, 2, 'deny cached');
  await new Promise((r) => setTimeout(r, 100));
  await z.authorize(attrs({ verb: 'delete' }));
  assert.equal(hub.specs.length, 3, 'deny expired after its TTL');
  await z.authorize(attrs());
  assert.equal(hub.specs.length, 3, 'allow still cached');
  // another user is another key
  await z.authorize(attrs({ user: { username: 'bob', groups: [] } }));
  assert.equal(hub.specs.length, 4);
});

test('explicit deny is reported', async () => {
  const hub = new FakeHub();
  hub.answer = () => ({ status: { allowed: false, denied: true, reason: 'nope' } });
  const z = new DelegatingAuthorizer({ hub });
  assert.deepEqual(await z.authorize(attrs()), { allowed: false, denied: true, reason: 'nope' });
  await assert.rejects(
    z.check(attrs()),
    (e: unknown) => e instanceof GatewayError && e.code === 403 && e.message.endsWith(': nope'),
  );
});

test('hub failures are a 500, not cached, retried when transient', async () => {
  const hub = new FakeHub();
  let fail = 2;
  hub.answer = () =>
    fail-- > 0 ? Object.assign(new Error('connection refused'), { code: 0 }) : { status: { allowed: true } };
  const z = new DelegatingAuthorizer({ hub, retryBackoff: { initialMs: 1, factor: 1, jitter: 0, steps: 3 } });
  assert.equal((await z.authorize(attrs())).allowed, true);
  assert.equal(hub.specs.length, 3);

  const hub2 = new FakeHub();
  hub2.answer = () => Object.assign(new Error('subjectaccessreviews.authorization.k8s.io is forbidden'), { code: 403 });
  const z2 = new DelegatingAuthorizer({ hub: hub2, retryBackoff: { initialMs: 1, factor: 1, jitter: 0, steps: 3 } });
  const d = await z2.authorize(attrs());
  assert.equal(d.allowed, false);
  assert.equal(d.error?.code, 500);
  assert.equal(d.error.reason, 'InternalError');
  assert.match(
    d.error.message,
    /^Internal Server Error: "\/apis\/cluster.core.oam.dev\/.*": subjectaccessreviews.authorization.k8s.io is forbidden$/,
  );
  assert.equal(hub2.specs.length, 1, '4xx is not retried');
  await assert.rejects(z2.check(attrs()), (e: unknown) => e instanceof GatewayError && e.code === 500);
  assert.equal(hub2.specs.length, 2, 'errors are not cached');
});

test('allowed and denied at once is an error (kube)', async () => {
  const hub = new FakeHub();
  hub.answer = () => ({ status: { allowed: true, denied: true } });
  const d = await new DelegatingAuthorizer({ hub }).authorize(attrs());
  assert.equal(d.allowed, false);
  assert.match(d.error?.message ?? '', /returned both allow and deny/);
});

test('without a hub only the always-allow rules apply', async () => {
  const z = new DelegatingAuthorizer();
  assert.equal((await z.authorize(attrs())).allowed, false);
  assert.equal((await z.authorize(attrs({ resourceRequest: false, path: '/healthz' }))).allowed, true);
});

test('a caller abort stops the wait but not the shared review', async () => {
  const hub = new FakeHub();
  hub.delayMs = 50;
  hub.answer = () => ({ status: { allowed: true } });
  const z = new DelegatingAuthorizer({ hub });
  const ac = new AbortController();
  const p = z.authorize(attrs(), ac.signal);
  ac.abort(new Error('client went away'));
  await assert.rejects(p, /client went away/);
  const again = await z.authorize(attrs());
  assert.equal(again.allowed, true);
  assert.equal(hub.specs.length, 1);
});
