import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors/status.ts';
import {
  formatLabelSelector,
  isEverything,
  matches,
  parseLabelSelector,
  selectorFromLabelSelector,
  validateLabelValue,
  validateQualifiedName,
} from './labels.ts';

const nameRegexMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const valueRegexMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

test('parseLabelSelector: canonical form of valid selectors', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['   ', ''],
    ['a=b', 'a=b'],
    ['a==b', 'a==b'],
    ['a!=b', 'a!=b'],
    ['a', 'a'],
    ['!a', '!a'],
    [' a = b , c != d ', 'a=b,c!=d'],
    ['b=1,a=2', 'a=2,b=1'],
    ['x in (foo,,baz),y,z notin ()', 'x in (,baz,foo),y,z notin ()'],
    ['x in (b,a,b)', 'x in (a,b)'],
    ['x in (in)', 'x in (in)'],
    ['in in (notin)', 'in in (notin)'],
    ['a>1', 'a>1'],
    ['a<5', 'a<5'],
    ['a=', 'a='],
    ['a=,b', 'a=,b'],
    ['example.com/app=web', 'example.com/app=web'],
    ['a\tin\t(x)', 'a in (x)'],
    ['k in (,)', 'k in ()'],
  ];
  for (const [input, want] of cases) {
    assert.equal(formatLabelSelector(parseLabelSelector(input)), want, input);
  }
});

test('parseLabelSelector: malformed input is a 400 with upstream messages', () => {
  const cases: [string, string][] = [
    ['a in', "unable to parse requirement: found '' expected: '('"],
    ['a=b c', "found 'c', expected: ',' or 'end of string'"],
    ['a,', "found '', expected: identifier after ','"],
    ['=a', "found '=', expected: !, identifier, or 'end of string'"],
    ['a b', "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['a in (x', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['a in x', "unable to parse requirement: found 'x' expected: '('"],
    ['a in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['a=(', "unable to parse requirement: found '(', expected: identifier"],
    // a negative number is no valid label value, so upstream cannot express `a<-5`
    ['a<-5', `unable to parse requirement: values[0][a]: Invalid value: "-5": ${valueRegexMsg}`],
    [
      'a>x',
      `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`,
    ],
    ['a=b@', `unable to parse requirement: values[0][a]: Invalid value: "b@": ${valueRegexMsg}`],
    ['-a=b', `unable to parse requirement: <nil>: Invalid value: "-a": name part ${nameRegexMsg}`],
    [
      `a=${'x'.repeat(64)}`,
      `unable to parse requirement: values[0][a]: Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters`,
    ],
    [
      'a/b/c',
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name ${nameRegexMsg} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
  ];
  for (const [input, msg] of cases) {
    assert.throws(
      () => parseLabelSelector(input),
      (e: unknown) => e instanceof ApiError && e.code === 400 && e.reason === 'BadRequest' && e.message === msg,
      input,
    );
  }
});

test('a==b is not a value of a== (the empty value is allowed)', () => {
  assert.deepEqual(parseLabelSelector('a==').requirements, [{ key: 'a', operator: '==', values: [''] }]);
});

test('matches: every operator', () => {
  const labels = { app: 'web', tier: 'front', n: '5', empty: '' };
  const cases: [string, boolean][] = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['app in (db,web)', true],
    ['app in (db)', false],
    ['missing in (x)', false],
    ['app notin (db)', true],
    ['app notin (web)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['n>4', true],
    ['n>5', false],
    ['n<6', true],
    ['app>1', false],
    ['missing<1', false],
    ['empty=', true],
    ['empty', true],
    ['app=web,tier=front', true],
    ['app=web,tier=back', false],
  ];
  for (const [sel, want] of cases) assert.equal(matches(parseLabelSelector(sel), labels), want, sel);
  assert.equal(matches(parseLabelSelector('!a'), undefined), true);
  assert.equal(matches(parseLabelSelector('a'), undefined), false);
});

test('selectorFromLabelSelector: metav1.LabelSelector semantics', () => {
  const nothing = selectorFromLabelSelector(undefined);
  assert.equal(matches(nothing, {}), false);
  assert.equal(isEverything(nothing), false);
  const all = selectorFromLabelSelector({});
  assert.equal(isEverything(all), true);
  assert.equal(matches(all, {}), true);
  const sel = selectorFromLabelSelector({
    matchLabels: { app: 'web' },
    matchExpressions: [
      { key: 'tier', operator: 'In', values: ['front', 'edge'] },
      { key: 'legacy', operator: 'DoesNotExist' },
      { key: 'env', operator: 'Exists' },
      { key: 'zone', operator: 'NotIn', values: ['b'] },
    ],
  });
  assert.equal(formatLabelSelector(sel), 'app=web,env,!legacy,tier in (edge,front),zone notin (b)');
  assert.equal(matches(sel, { app: 'web', tier: 'edge', env: 'x' }), true);
  assert.equal(matches(sel, { app: 'web', tier: 'edge', env: 'x', zone: 'b' }), false);
});

test('selectorFromLabelSelector: invalid selectors are 400s', () => {
  const cases: [Parameters<typeof selectorFromLabelSelector>[0], string][] = [
    [{ matchExpressions: [{ key: 'a', operator: 'Foo' }] }, '"Foo" is not a valid label selector operator'],
    [
      { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
      "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty",
    ],
    [
      { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x', 'y'] }] },
      'values: Invalid value: []string{"x", "y"}: values set must be empty for exists and does not exist',
    ],
    [{ matchLabels: { 'a b': 'c' } }, `key: Invalid value: "a b": name part ${nameRegexMsg}`],
    [
      { matchLabels: { '-a': 'c!' } },
      `[key: Invalid value: "-a": name part ${nameRegexMsg}, values[0][-a]: Invalid value: "c!": ${valueRegexMsg}]`,
    ],
  ];
  for (const [ls, msg] of cases) {
    assert.throws(
      () => selectorFromLabelSelector(ls),
      (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === msg,
      msg,
    );
  }
});

test('validateQualifiedName and validateLabelValue', () => {
  assert.deepEqual(validateQualifiedName('app.kubernetes.io/name'), []);
  assert.deepEqual(validateQualifiedName('A_b.c-D'), []);
  assert.deepEqual(validateQualifiedName('/a'), ['prefix part must be non-empty']);
  assert.deepEqual(validateQualifiedName('a/'), ['name part must be non-empty', `name part ${nameRegexMsg}`]);
  assert.equal(
    validateQualifiedName('Example.com/a')[0]?.startsWith('prefix part a lowercase RFC 1123 subdomain'),
    true,
  );
  assert.deepEqual(validateQualifiedName('x'.repeat(64)), ['name part must be no more than 63 characters']);
  assert.deepEqual(validateLabelValue(''), []);
  assert.deepEqual(validateLabelValue('x'.repeat(63)), []);
  assert.equal(validateLabelValue('a b').length, 1);
});
