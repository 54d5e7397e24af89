import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../apiserver/errors.ts';
import type { UserInfo } from '../auth/types.ts';
import type { Cluster, ExchangeRule } from '../registry/types.ts';
import { DefaultIdentityResolver, type ExternalExchangeRequest, type ExternalExchanger } from './identity.ts';
import type { IdentityDecision } from './identity-types.ts';

function cluster(name: string, exchangeRules: ExchangeRule[] = []): Cluster {
  return {
    name,
    uid: 'u',
    creationTimestamp: '2024-01-01T00:00:00Z',
    resourceVersion: '1',
    labels: {},
    annotations: {},
    endpoint: { type: 'Const', address: 'https://m.example', caBundle: undefined, insecure: true, proxyURL: undefined },
    credential: { type: 'ServiceAccountToken', token: 't' },
    healthy: true,
    healthyReason: undefined,
    exchangeRules,
    warnings: [],
    source: { secretResourceVersion: '1' },
  };
}

const caller: UserInfo = {
  username: 'user-12345',
  uid: 'uid-12345',
  groups: ['team-a', 'ops:prod', 'system:authenticated'],
  extra: { scopes: ['a', 'b'] },
};

const staticTo = (name: string, source: ExchangeRule['source'], target: ExchangeRule['target'] = { user: name }) => ({
  name,
  type: 'StaticMappingIdentityExchanger',
  source,
  target,
});

const DEFAULT: IdentityDecision = {
  impersonate: {
    user: 'user-12345',
    groups: ['team-a', 'ops:prod', 'system:authenticated'],
    extra: { scopes: ['a', 'b'] },
  },
  rule: 'default',
  source: 'default',
};

const mapped = (rule: string, source: IdentityDecision['source'], user = rule): IdentityDecision => ({
  impersonate: { user, groups: [], extra: {} },
  rule,
  source,
});

interface Case {
  name: string;
  penetration: boolean;
  impersonate?: boolean;
  clusterName?: string;
  clusterRules?: ExchangeRule[];
  globalRules?: ExchangeRule[];
  user?: UserInfo;
  want?: IdentityDecision;
  error?: { code: number; message: RegExp };
}

const cases: Case[] = [
  // TestExchangeIdentity (upstream §11.6), one rule that must match, as a cluster rule
  {
    name: 'match-user',
    penetration: true,
    clusterRules: [staticTo('r', { user: 'user-12345' })],
    want: mapped('r', 'cluster'),
  },
  {
    name: 'match-group',
    penetration: true,
    clusterRules: [staticTo('r', { group: 'team-a' })],
    want: mapped('r', 'cluster'),
  },
  {
    name: 'match-uid',
    penetration: true,
    clusterRules: [staticTo('r', { uid: 'uid-12345' })],
    want: mapped('r', 'cluster'),
  },
  {
    name: 'match-cluster',
    penetration: true,
    clusterName: 'cluster-34567',
    globalRules: [staticTo('r', { cluster: 'cluster-34567' })],
    want: mapped('r', 'global'),
  },
  {
    name: 'match-user-pattern',
    penetration: true,
    globalRules: [staticTo('r', { userPattern: 'user-[0-9]+' })],
    want: mapped('r', 'global'),
  },
  {
    name: 'match-group-pattern',
    penetration: true,
    globalRules: [staticTo('r', { groupPattern: '^ops:.+$' })],
    want: mapped('r', 'global'),
  },
  {
    name: 'match-cluster-pattern',
    penetration: true,
    clusterName: 'prod-12',
    globalRules: [staticTo('r', { clusterPattern: '^prod-\\d+$' })],
    want: mapped('r', 'global'),
  },
  {
    name: 'not-implemented: an External rule without an exchanger answers 501 naming the rule',
    penetration: true,
    globalRules: [{ name: 'ext', type: 'ExternalIdentityExchanger', source: { user: 'user-12345' }, url: 'https://x' }],
    error: {
      code: 501,
      message: /rule "ext" in the global proxy config: ExternalIdentityExchanger is not implemented/,
    },
  },
  {
    name: 'no-match: every field is AND-ed, so a partial match falls to the default',
    penetration: true,
    clusterRules: [
      staticTo('r', { user: 'user-12345', group: 'nope' }),
      staticTo('s', { userPattern: '^bob$' }),
      staticTo('t', { uid: 'other' }),
      { name: 'no-source', type: 'PrivilegedIdentityExchanger' },
    ],
    want: DEFAULT,
  },
  // TestGetImpersonationConfig
  {
    name: 'cluster rule beats global',
    penetration: true,
    clusterRules: [staticTo('c', { user: 'user-12345' })],
    globalRules: [staticTo('g', { user: 'user-12345' })],
    want: mapped('c', 'cluster'),
  },
  {
    name: 'global beats default',
    penetration: true,
    clusterRules: [staticTo('c', { user: 'someone-else' })],
    globalRules: [staticTo('g', { user: 'user-12345' })],
    want: mapped('g', 'global'),
  },
  { name: 'default = name + groups + extra, no uid', penetration: true, want: DEFAULT },
  {
    name: 'default without extra',
    penetration: true,
    user: { username: 'bob', groups: ['system:authenticated'] },
    want: {
      impersonate: { user: 'bob', groups: ['system:authenticated'], extra: {} },
      rule: 'default',
      source: 'default',
    },
  },
  {
    name: 'first matching rule wins within a list',
    penetration: true,
    globalRules: [staticTo('first', { group: 'team-a' }), staticTo('second', { user: 'user-12345' })],
    want: mapped('first', 'global'),
  },
  // projections
  {
    name: 'privileged: no impersonation at all',
    penetration: true,
    clusterRules: [{ name: 'super-user', type: 'PrivilegedIdentityExchanger', source: { group: 'ops:prod' } }],
    want: { impersonate: undefined, rule: 'super-user', source: 'cluster' },
  },
  {
    name: 'static mapping with groups and uid; the caller extra is dropped',
    penetration: true,
    globalRules: [staticTo('m', { user: 'user-12345' }, { user: 'user-34567', groups: ['team-b'], uid: '34567' })],
    want: {
      impersonate: { user: 'user-34567', groups: ['team-b'], uid: '34567', extra: {} },
      rule: 'm',
      source: 'global',
    },
  },
  {
    name: 'static mapping without a user is refused (upstream sends an empty Impersonate-User)',
    penetration: true,
    globalRules: [staticTo('groups-only', { user: 'user-12345' }, { groups: ['g'] })],
    error: { code: 500, message: /rule "groups-only" in the global proxy config: .*target has no user/ },
  },
  {
    name: 'static mapping with an empty target is refused (upstream: silently privileged)',
    penetration: true,
    clusterRules: [staticTo('empty', { user: 'user-12345' }, {})],
    error: { code: 500, message: /rule "empty" in the proxy config from cluster "c1": .*no user/ },
  },
  {
    name: 'static mapping without target',
    penetration: true,
    globalRules: [{ name: 'nt', type: 'StaticMappingIdentityExchanger', source: { user: 'user-12345' } }],
    error: { code: 500, message: /rule "nt" .*has no target/ },
  },
  {
    name: 'unknown exchanger type',
    penetration: true,
    globalRules: [{ name: 'odd', type: 'Oddball', source: { user: 'user-12345' } }],
    error: { code: 500, message: /unknown exchanger type: Oddball/ },
  },
  // gates
  {
    name: 'gate off, no impersonate=true: the credential acts as itself',
    penetration: false,
    globalRules: [staticTo('g', { user: 'user-12345' })],
    want: { impersonate: undefined, rule: 'none', source: 'none' },
  },
  {
    name: 'gate off + impersonate=true: cluster rules are ignored, global rules apply',
    penetration: false,
    impersonate: true,
    clusterRules: [{ name: 'c', type: 'PrivilegedIdentityExchanger', source: { user: 'user-12345' } }],
    globalRules: [staticTo('g', { user: 'user-12345' })],
    want: mapped('g', 'global'),
  },
  {
    name: 'gate off + impersonate=true, no global match: default penetration',
    penetration: false,
    impersonate: true,
    clusterRules: [{ name: 'c', type: 'PrivilegedIdentityExchanger', source: { user: 'user-12345' } }],
    want: DEFAULT,
  },
  {
    name: 'gate on + impersonate=true is the same as gate on',
    penetration: true,
    impersonate: true,
    clusterRules: [{ name: 'c', type: 'PrivilegedIdentityExchanger', source: { user: 'user-12345' } }],
    want: { impersonate: undefined, rule: 'c', source: 'cluster' },
  },
];

for (const c of cases) {
  test(`resolve: ${c.name}`, async () => {
    const r = new DefaultIdentityResolver({ penetration: c.penetration, globalRules: () => c.globalRules ?? [] });
    const p = r.resolve(c.user ?? caller, cluster(c.clusterName ?? 'c1', c.clusterRules), c.impersonate ?? false);
    if (c.error) {
      const want = c.error;
      await assert.rejects(p, (e) => e instanceof GatewayError && e.code === want.code && want.message.test(e.message));
    } else {
      assert.deepEqual(await p, c.want);
    }
  });
}

test('resolve: the decision does not share arrays with the caller', async () => {
  const r = new DefaultIdentityResolver({ penetration: true, globalRules: () => [] });
  const user: UserInfo = { username: 'u', groups: ['g'], extra: { k: ['v'] } };
  const d = await r.resolve(user, cluster('c'), false);
  d.impersonate?.groups.push('x');
  d.impersonate?.extra.k?.push('w');
  assert.deepEqual(user, { username: 'u', groups: ['g'], extra: { k: ['v'] } });
});

test('resolve: global rules are read per request (hot reload)', async () => {
  let rules: ExchangeRule[] = [];
  const r = new DefaultIdentityResolver({ penetration: true, globalRules: () => rules });
  assert.equal((await r.resolve(caller, cluster('c'), false)).source, 'default');
  rules = [{ name: 'p', type: 'PrivilegedIdentityExchanger', source: { user: 'user-12345' } }];
  assert.deepEqual(await r.resolve(caller, cluster('c'), false), {
    impersonate: undefined,
    rule: 'p',
    source: 'global',
  });
});

class FakeExternal implements ExternalExchanger {
  seen: ExternalExchangeRequest[] = [];
  answer: Awaited<ReturnType<ExternalExchanger['exchange']>> | Error = { privileged: true };
  exchange(req: ExternalExchangeRequest): ReturnType<ExternalExchanger['exchange']> {
    this.seen.push(req);
    return this.answer instanceof Error ? Promise.reject(this.answer) : Promise.resolve(this.answer);
  }
}

const extRule = (name: string, source: ExchangeRule['source'], url?: string): ExchangeRule =>
  url === undefined
    ? { name, type: 'ExternalIdentityExchanger', source }
    : { name, type: 'ExternalIdentityExchanger', source, url };

test('external: the matched rule is delegated with its url, the cluster and the caller', async () => {
  const ext = new FakeExternal();
  ext.answer = { privileged: false, identity: { user: 'ops', groups: ['ops'], uid: '7', extra: { k: ['v'] } } };
  const r = new DefaultIdentityResolver({
    penetration: true,
    globalRules: () => [extRule('g-ext', { user: 'user-12345' }, 'https://global.example')],
    external: ext,
  });
  const d = await r.resolve(
    caller,
    cluster('c1', [extRule('c-ext', { group: 'team-a' }, 'https://x.example/map')]),
    false,
  );
  assert.deepEqual(d, {
    impersonate: { user: 'ops', groups: ['ops'], uid: '7', extra: { k: ['v'] } },
    rule: 'c-ext',
    source: 'external',
  });
  assert.deepEqual(ext.seen, [{ url: 'https://x.example/map', rule: 'c-ext', cluster: 'c1', user: caller }]);
});

test('external: a privileged answer sends no impersonation', async () => {
  const ext = new FakeExternal();
  const r = new DefaultIdentityResolver({
    penetration: false,
    globalRules: () => [extRule('e', { user: 'user-12345' }, 'https://x.example')],
    external: ext,
  });
  assert.deepEqual(await r.resolve(caller, cluster('c'), true), {
    impersonate: undefined,
    rule: 'e',
    source: 'external',
  });
});

test('external: a rule that does not match falls through, in order', async () => {
  const ext = new FakeExternal();
  const r = new DefaultIdentityResolver({
    penetration: true,
    globalRules: () => [extRule('e', { user: 'bob' }, 'https://x.example'), staticTo('s', { user: 'user-12345' })],
    external: ext,
  });
  assert.deepEqual(await r.resolve(caller, cluster('c'), false), mapped('s', 'global'));
  assert.equal(ext.seen.length, 0);
});

test('external: errors of the exchanger pass through; a rule without url is refused', async () => {
  const ext = new FakeExternal();
  ext.answer = new GatewayError(503, 'ServiceUnavailable', 'webhook down');
  const rules = [extRule('e', { user: 'user-12345' }, 'https://x.example')];
  const r = new DefaultIdentityResolver({ penetration: true, globalRules: () => rules, external: ext });
  await assert.rejects(r.resolve(caller, cluster('c'), false), /webhook down/);
  rules[0] = extRule('nourl', { user: 'user-12345' });
  await assert.rejects(
    r.resolve(caller, cluster('c'), false),
    (e) => e instanceof GatewayError && e.code === 500 && /rule "nourl" .*has no url/.test(e.message),
  );
});

test('problems met while matching are logged with the real rule names', async () => {
  const warned: object[] = [];
  const r = new DefaultIdentityResolver({
    penetration: true,
    // `(?U)` is valid Go but has no JS equivalent: the pattern never matches and is reported
    globalRules: () => [extRule('ext-rule', { userPattern: '(?U)a+' }, 'https://x.example')],
    logger: { warn: (o) => warned.push(o) },
  });
  assert.equal((await r.resolve(caller, cluster('c'), false)).source, 'default');
  assert.equal(warned.length, 1);
  const text = JSON.stringify(warned[0]);
  assert.match(text, /rule \\"ext-rule\\"/);
  assert.doesNotMatch(text, /external#/);
});
