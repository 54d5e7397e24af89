import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../apiserver/errors.ts';
import type { ExchangeRule } from '../registry/types.ts';
import { compileGoPattern, exchangeIdentity, type ExchangeResult } from './identity-exchange.ts';
import type { UserInfo } from './types.ts';

const u = (username: string, groups: string[] = [], uid?: string): UserInfo =>
  uid ? { username, groups, uid } : { username, groups };

// upstream TestExchangeIdentity, case for case
const upstreamCases: {
  name: string;
  rules: ExchangeRule[];
  user: UserInfo;
  cluster?: string;
  rule?: string;
  impersonate?: ExchangeResult['impersonate'];
  error?: RegExp;
}[] = [
  {
    name: 'match-user',
    rules: [{ name: 'user-match', type: 'PrivilegedIdentityExchanger', source: { user: 'test' } }],
    user: u('test'),
    rule: 'user-match',
    impersonate: null,
  },
  {
    name: 'match-group',
    rules: [
      {
        name: 'group-match',
        type: 'StaticMappingIdentityExchanger',
        source: { group: 'test-group' },
        target: { groups: ['projected'] },
      },
    ],
    user: u('test', ['group', 'test-group']),
    rule: 'group-match',
    impersonate: { groups: ['projected'] },
  },
  {
    name: 'match-uid',
    rules: [{ name: 'uid-match', type: 'PrivilegedIdentityExchanger', source: { uid: '12345' } }],
    user: u('abc', [], '12345'),
    rule: 'uid-match',
    impersonate: null,
  },
  {
    name: 'match-cluster',
    rules: [
      { name: 'name-match', type: 'PrivilegedIdentityExchanger', source: { user: 'test', cluster: 'c1' } },
      {
        name: 'group-match',
        type: 'StaticMappingIdentityExchanger',
        source: { group: 'test-group', cluster: 'c2' },
        target: { groups: ['projected'] },
      },
    ],
    user: u('test', ['group', 'test-group']),
    cluster: 'c2',
    rule: 'group-match',
    impersonate: { groups: ['projected'] },
  },
  {
    name: 'match-user-pattern',
    rules: [{ name: 'user-pattern-match', type: 'PrivilegedIdentityExchanger', source: { userPattern: 'test-.*' } }],
    user: u('test-1234'),
    rule: 'user-pattern-match',
    impersonate: null,
  },
  {
    name: 'match-group-pattern',
    rules: [
      {
        name: 'group-pattern-match',
        type: 'StaticMappingIdentityExchanger',
        source: { groupPattern: 'test-group:.+' },
        target: { groups: ['projected'] },
      },
    ],
    user: u('test', ['group:1', 'test-group:2']),
    rule: 'group-pattern-match',
    impersonate: { groups: ['projected'] },
  },
  {
    name: 'match-cluster-pattern',
    rules: [
      {
        name: 'cluster-pattern-match',
        type: 'StaticMappingIdentityExchanger',
        source: { clusterPattern: 'cluster-\\d+' },
        target: { user: 'special' },
      },
    ],
    user: u('test'),
    cluster: 'cluster-1',
    rule: 'cluster-pattern-match',
    impersonate: { user: 'special' },
  },
  {
    name: 'not-implemented',
    rules: [
      {
        name: 'external-identity-exchange',
        type: 'ExternalIdentityExchanger',
        source: { clusterPattern: 'cluster-\\d+' },
        url: 'http://1.2.3.4:5000',
      },
    ],
    user: u('test'),
    cluster: 'cluster-1',
    error: /ExternalIdentityExchanger is not implemented/,
  },
  {
    name: 'no-match',
    rules: [
      {
        name: 'cluster-pattern-match',
        type: 'StaticMappingIdentityExchanger',
        source: { clusterPattern: 'cluster-\\d+' },
        target: { user: 'special' },
      },
    ],
    user: u('test'),
    cluster: 'cluster-other',
  },
];

for (const c of upstreamCases) {
  test(`exchangeIdentity (upstream TestExchangeIdentity): ${c.name}`, () => {
    const run = () => exchangeIdentity(c.user, c.cluster ?? '', [], c.rules);
    if (c.error) {
      assert.throws(run, (e: unknown) => e instanceof GatewayError && c.error!.test(e.message));
      return;
    }
    const r = run();
    if (c.rule === undefined) {
      assert.equal(r.source, 'default');
      assert.equal(r.rule, undefined);
      return;
    }
    assert.equal(r.source, 'global');
    assert.equal(r.rule, c.rule);
    assert.deepEqual(r.impersonate, c.impersonate);
  });
}

// upstream TestGetImpersonationConfig
test('getImpersonationConfig: cluster rule beats global, global beats default, default = name + groups', () => {
  const user = { username: 'test', groups: ['test-group'], uid: 'u-1', extra: { scopes: ['a', 'b'] } };
  const clusterRules: ExchangeRule[] = [
    {
      name: 'cluster-rule',
      type: 'StaticMappingIdentityExchanger',
      source: { group: 'test-group' },
      target: { user: 'from-cluster' },
    },
  ];
  const globalRules: ExchangeRule[] = [
    {
      name: 'global-rule',
      type: 'StaticMappingIdentityExchanger',
      source: { user: 'test' },
      target: { user: 'from-global', uid: '7' },
    },
  ];
  const both = exchangeIdentity(user, 'c', clusterRules, globalRules);
  assert.deepEqual(both, {
    impersonate: { user: 'from-cluster' },
    rule: 'cluster-rule',
    source: 'cluster',
    warnings: [],
  });
  const globalOnly = exchangeIdentity(user, 'c', [], globalRules);
  assert.deepEqual(globalOnly.impersonate, { user: 'from-global', uid: '7' });
  assert.equal(globalOnly.source, 'global');
  const none = exchangeIdentity(user, 'c', [], []);
  // the UID is never forwarded by the default penetration
  assert.deepEqual(none, {
    impersonate: { user: 'test', groups: ['test-group'], extra: { scopes: ['a', 'b'] } },
    source: 'default',
    warnings: [],
  });
});

const matchCases: {
  name: string;
  source: ExchangeRule['source'];
  user: UserInfo;
  cluster?: string;
  matches: boolean;
  warning?: RegExp;
}[] = [
  { name: 'no source never matches', source: undefined, user: u('a'), matches: false },
  { name: 'empty source matches everyone (upstream)', source: {}, user: u('a'), matches: true },
  { name: 'all fields AND-ed: one fails', source: { user: 'a', group: 'g' }, user: u('a', ['x']), matches: false },
  {
    name: 'all fields AND-ed: all hold',
    source: { user: 'a', group: 'g', cluster: 'c' },
    user: u('a', ['g']),
    cluster: 'c',
    matches: true,
  },
  { name: 'uid compared exactly', source: { uid: '1' }, user: u('a', [], '12'), matches: false },
  { name: 'patterns are unanchored', source: { userPattern: 'lic' }, user: u('alice'), matches: true },
  { name: 'anchored pattern', source: { userPattern: '^lic$' }, user: u('alice'), matches: false },
  { name: 'group pattern with no groups denies', source: { groupPattern: '.*' }, user: u('a'), matches: false },
  { name: 'Go leading flags translated', source: { userPattern: '(?i)^ALICE$' }, user: u('alice'), matches: true },
  { name: 'Go named groups translated', source: { userPattern: '^(?P<n>al)ice$' }, user: u('alice'), matches: true },
  {
    name: 'invalid pattern is no match (upstream: match) and is reported',
    source: { userPattern: '(' },
    user: u('alice'),
    matches: false,
    warning: /invalid userPattern "\(" never matches/,
  },
  {
    name: 'invalid group pattern is no match',
    source: { groupPattern: '[' },
    user: u('a', ['g']),
    matches: false,
    warning: /groupPattern/,
  },
  { name: 'cluster exact', source: { cluster: 'c1' }, user: u('a'), cluster: 'c10', matches: false },
];

for (const c of matchCases) {
  test(`rule matching: ${c.name}`, () => {
    const r = exchangeIdentity(
      c.user,
      c.cluster ?? 'c',
      [],
      [{ name: 'r', type: 'PrivilegedIdentityExchanger', source: c.source }],
    );
    assert.equal(r.source === 'global', c.matches);
    if (c.warning) assert.match(r.warnings.join('\n'), c.warning);
    else assert.deepEqual(r.warnings, []);
  });
}

test('first matching rule wins within a list', () => {
  const rules: ExchangeRule[] = [
    { name: 'first', type: 'StaticMappingIdentityExchanger', source: { userPattern: '.*' }, target: { user: 'one' } },
    { name: 'second', type: 'PrivilegedIdentityExchanger', source: { user: 'a' } },
  ];
  assert.equal(exchangeIdentity(u('a'), 'c', [], rules).rule, 'first');
});

const errorCases: { name: string; rule: ExchangeRule; code: number; message: RegExp }[] = [
  {
    name: 'static mapping without target (upstream: nil dereference)',
    rule: { name: 'm', type: 'StaticMappingIdentityExchanger', source: { user: 'a' } },
    code: 500,
    message: /identity exchange rule "m" in the global proxy config: StaticMappingIdentityExchanger has no target/,
  },
  {
    name: 'external exchanger',
    rule: { name: 'x', type: 'ExternalIdentityExchanger', source: { user: 'a' }, url: 'http://h' },
    code: 501,
    message: /ExternalIdentityExchanger is not implemented/,
  },
  {
    name: 'unknown type',
    rule: { name: 'y', type: 'Bogus', source: { user: 'a' } },
    code: 500,
    message: /unknown exchanger type: Bogus/,
  },
];

for (const c of errorCases) {
  test(`clean error instead of a crash: ${c.name}`, () => {
    assert.throws(
      () => exchangeIdentity(u('a'), 'c', [], [c.rule]),
      (e: unknown) => e instanceof GatewayError && e.code === c.code && c.message.test(e.message),
    );
  });
}

test('per-cluster errors name the cluster', () => {
  assert.throws(
    () => exchangeIdentity(u('a'), 'prod-1', [{ name: 'y', type: 'Nope', source: {} }], []),
    /in the proxy config from cluster "prod-1"/,
  );
});

test('compileGoPattern rejects ungreedy mode and caches', () => {
  assert.equal(compileGoPattern('(?U)a+').ok, false);
  assert.equal(compileGoPattern('a+'), compileGoPattern('a+'));
});
