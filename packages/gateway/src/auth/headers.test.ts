import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerValues, isIdentityHeader, unescapeExtraKey } from './headers.ts';
import { goQuote, splitServiceAccountUsername, withAuthenticatedGroup } from './types.ts';

test('headerValues keeps repeated headers apart, lower-cases names', () => {
  assert.deepEqual(
    [...headerValues({}, ['X-A', '1', 'x-a', '2, 3', 'B', ''])],
    [
      ['x-a', ['1', '2, 3']],
      ['b', ['']],
    ],
  );
  assert.deepEqual(
    [...headerValues({ 'X-A': ['1', '2'], b: 'x', c: undefined })],
    [
      ['x-a', ['1', '2']],
      ['b', ['x']],
    ],
  );
});

const extraKeys: [string, string][] = [
  ['scopes', 'scopes'],
  ['example.com%2fkey', 'example.com/key'],
  ['bad%zz', 'bad%zz'],
  ['trailing%', 'trailing%'],
  ['invalid-utf8%ff', 'invalid-utf8%ff'],
];
for (const [input, want] of extraKeys) {
  test(`unescapeExtraKey ${input}`, () => {
    assert.equal(unescapeExtraKey(input), want);
  });
}

test('isIdentityHeader', () => {
  for (const h of ['Authorization', 'impersonate-user', 'Impersonate-Extra-x', 'X-Remote-User', 'x-remote-extra-a'])
    assert.ok(isIdentityHeader(h), h);
  assert.ok(isIdentityHeader('X-Forwarded-User', ['x-forwarded-']));
  for (const h of ['accept', 'x-request-id', 'content-type']) assert.ok(!isIdentityHeader(h), h);
});

const quotes: [string, string][] = [
  ['plain', '"plain"'],
  ['a"b\\c', '"a\\"b\\\\c"'],
  ['tab\tnl\n', '"tab\\tnl\\n"'],
  ['\x00\x7f', '"\\x00\\x7f"'],
  ['héllo ✓', '"héllo ✓"'],
  ['\u2028', '"\\u2028"'],
];
for (const [input, want] of quotes) {
  test(`goQuote ${JSON.stringify(input)}`, () => {
    assert.equal(goQuote(input), want);
  });
}

test('splitServiceAccountUsername and withAuthenticatedGroup', () => {
  assert.deepEqual(splitServiceAccountUsername('system:serviceaccount:ns:sa.x'), { namespace: 'ns', name: 'sa.x' });
  for (const bad of ['system:serviceaccount:ns', 'system:serviceaccount:ns:a:b', 'system:serviceaccount:NS:a', 'bob']) {
    assert.equal(splitServiceAccountUsername(bad), undefined, bad);
  }
  assert.deepEqual(withAuthenticatedGroup({ username: 'a', groups: ['g'] }).groups, ['g', 'system:authenticated']);
  assert.deepEqual(withAuthenticatedGroup({ username: 'a', groups: ['system:authenticated'] }).groups, [
    'system:authenticated',
  ]);
  assert.deepEqual(withAuthenticatedGroup({ username: 'system:anonymous', groups: [] }).groups, []);
});
