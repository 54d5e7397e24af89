// ClusterGatewayProxyConfiguration parsing: the upstream sample and the full §5.2 example, lenient
// (annotation) and strict (global file) handling of every malformed variant.

import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyConfiguration, ProxyConfigurationError } from './proxy-config.ts';

const FULL = `
apiVersion: cluster.core.oam.dev/v1alpha1
kind: ClusterGatewayProxyConfiguration
spec:
  clientIdentityExchanger:
    rules:
      - name: super-user
        type: PrivilegedIdentityExchanger
        source:
          group: sudoer
      - name: mapping
        type: StaticMappingIdentityExchanger
        source:
          user: user-12345
          cluster: cluster-34567
        target:
          user: user-34567
          groups: [team-a]
          uid: "34567"
      - name: regex-mapping
        type: StaticMappingIdentityExchanger
        source:
          userPattern: "^alice-.*$"
          groupPattern: "^ops:.+$"
          clusterPattern: "^prod-\\\\d+$"
          uid: "abc"
        target:
          user: prod-operator
      - name: future
        type: ExternalIdentityExchanger
        source: { user: bob }
        url: http://1.2.3.4:5000
`;

describe('parseProxyConfiguration', () => {
  test('the upstream sample file', async () => {
    const text = await readFile(
      new URL('../../../../../shared/samples/upstream/client-identity-exchanger-config.yaml', import.meta.url),
      'utf8',
    );
    const r = parseProxyConfiguration(text, { strict: true });
    assert.deepEqual(r, {
      rules: [
        { name: 'super-user', type: 'PrivilegedIdentityExchanger', source: { group: 'sudoer' } },
        {
          name: 'mapping',
          type: 'StaticMappingIdentityExchanger',
          source: { user: 'user-12345', cluster: 'cluster-34567' },
          target: { user: 'user-34567' },
        },
      ],
      warnings: [],
    });
  });

  test('the full example of upstream §5.2', () => {
    const r = parseProxyConfiguration(FULL, { strict: true });
    assert.deepEqual(r.warnings, []);
    assert.equal(r.rules.length, 4);
    assert.deepEqual(r.rules[1]!.target, { user: 'user-34567', groups: ['team-a'], uid: '34567' });
    assert.deepEqual(r.rules[2]!.source, {
      userPattern: '^alice-.*$',
      groupPattern: '^ops:.+$',
      clusterPattern: '^prod-\\d+$',
      uid: 'abc',
    });
    assert.equal(r.rules[3]!.url, 'http://1.2.3.4:5000');
  });

  test('JSON is accepted', () => {
    const r = parseProxyConfiguration(
      JSON.stringify({
        spec: {
          clientIdentityExchanger: {
            rules: [{ name: 'a', type: 'PrivilegedIdentityExchanger', source: { user: 'u' } }],
          },
        },
      }),
    );
    assert.equal(r.rules.length, 1);
  });

  test('per-cluster use forces source.cluster', () => {
    const r = parseProxyConfiguration(FULL, { cluster: 'c9' });
    assert.ok(r.rules.every((x) => x.source?.cluster === 'c9'));
  });

  test('unknown fields are ignored; apiVersion/kind not checked', () => {
    const r = parseProxyConfiguration(
      'apiVersion: x/v9\nkind: Other\nextra: 1\nspec:\n  clientIdentityExchanger:\n    rules:\n      - {name: a, type: PrivilegedIdentityExchanger, source: {user: u, other: 1}}\n',
      { strict: true },
    );
    assert.deepEqual(r.rules, [{ name: 'a', type: 'PrivilegedIdentityExchanger', source: { user: 'u' } }]);
  });

  for (const empty of [
    '',
    '{}',
    'spec: {}',
    'spec:\n  clientIdentityExchanger: {}\n',
    'spec:\n  clientIdentityExchanger:\n    rules: null\n',
  ]) {
    test(`no rules: ${JSON.stringify(empty)}`, () => {
      assert.deepEqual(parseProxyConfiguration(empty, { strict: true }), { rules: [], warnings: [] });
    });
  }

  // [name, document, lenient: rules kept, lenient warning pattern, strict error pattern (undefined: strict passes)]
  const cases: [string, string, number, RegExp, RegExp | undefined][] = [
    ['not YAML', 'spec: [unclosed', 0, /^not valid YAML or JSON: /, /not valid YAML or JSON/],
    ['a scalar document', '42', 0, /^<document>: /, /<document>: /],
    [
      'rules not a list',
      'spec: { clientIdentityExchanger: { rules: 3 } }',
      0,
      /^spec\.clientIdentityExchanger\.rules: /,
      /spec\.clientIdentityExchanger\.rules: /,
    ],
    [
      'wrong field type (path names the rule)',
      'spec: { clientIdentityExchanger: { rules: [ { name: a, type: PrivilegedIdentityExchanger, source: { user: 5 } } ] } }',
      0,
      /^spec\.clientIdentityExchanger\.rules\[0\]\.source\.user: /,
      /rules\[0\]\.source\.user/,
    ],
    [
      'rule without source: dropped (upstream crashes), warning even in strict mode',
      'spec: { clientIdentityExchanger: { rules: [ { name: a, type: PrivilegedIdentityExchanger } ] } }',
      0,
      /rules\[0\] \(a\): rule has no source/,
      undefined,
    ],
    [
      'invalid regular expression: dropped (upstream treats it as a match)',
      'spec: { clientIdentityExchanger: { rules: [ { name: a, type: PrivilegedIdentityExchanger, source: { userPattern: "(" } } ] } }',
      0,
      /rules\[0\] \(a\)\.source\.userPattern: invalid regular expression/,
      /userPattern: invalid regular expression/,
    ],
    [
      'unknown type: kept so that the proxy refuses it',
      'spec: { clientIdentityExchanger: { rules: [ { name: a, type: Magic, source: { user: u } } ] } }',
      1,
      /unknown exchanger type: "Magic"/,
      /unknown exchanger type: "Magic"/,
    ],
    [
      'missing type',
      'spec: { clientIdentityExchanger: { rules: [ { name: a, source: { user: u } } ] } }',
      1,
      /unknown exchanger type: ""/,
      /unknown exchanger type/,
    ],
    [
      'static mapping without target',
      'spec: { clientIdentityExchanger: { rules: [ { name: a, type: StaticMappingIdentityExchanger, source: { user: u } } ] } }',
      1,
      /needs a target/,
      /needs a target/,
    ],
  ];
  for (const [name, doc, kept, warning, strictError] of cases) {
    test(`lenient: ${name}`, () => {
      const r = parseProxyConfiguration(doc);
      assert.equal(r.rules.length, kept);
      assert.equal(r.warnings.length, 1, r.warnings.join('|'));
      assert.match(r.warnings[0]!, warning);
    });
    test(`strict: ${name}`, () => {
      if (strictError === undefined) {
        assert.equal(parseProxyConfiguration(doc, { strict: true }).warnings.length, 1);
        return;
      }
      assert.throws(
        () => parseProxyConfiguration(doc, { strict: true }),
        (e: unknown) => e instanceof ProxyConfigurationError && strictError.test(e.message) && e.problems.length >= 1,
      );
    });
  }

  test('strict mode lists every problem', () => {
    const doc =
      'spec: { clientIdentityExchanger: { rules: [ { name: a, type: Magic, source: {user: u} }, { name: b, type: PrivilegedIdentityExchanger, source: { clusterPattern: "[" } } ] } }';
    try {
      parseProxyConfiguration(doc, { strict: true });
      assert.fail('expected a throw');
    } catch (e) {
      assert.ok(e instanceof ProxyConfigurationError);
      assert.equal(e.problems.length, 2);
      assert.match(e.message, /^invalid ClusterGatewayProxyConfiguration: /);
    }
  });
});
