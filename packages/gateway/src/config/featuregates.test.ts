// Feature-gate parsing and resolution (upstream §6.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GATES, parseGateList, parseGoBool, resolveGates } from './featuregates.ts';

test('defaults match upstream', () => {
  const r = resolveGates(new Map());
  assert.deepEqual(r.gates, {
    HealthinessCheck: false,
    SecretCache: true,
    ClientIdentityPenetration: false,
    OCMClusterCache: true,
  });
  assert.equal(GATES.HealthinessCheck.stage, 'Alpha');
  assert.equal(GATES.SecretCache.stage, 'Beta');
});

test('parseGateList: pairs, trailing comma, later wins, Go bools', () => {
  const r = parseGateList('HealthinessCheck=true,SecretCache=false,HealthinessCheck=F, ,OCMClusterCache=1,');
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    [...r.set],
    [
      ['HealthinessCheck', false],
      ['SecretCache', false],
      ['OCMClusterCache', true],
    ],
  );
});

test('parseGateList: bad values are errors', () => {
  const r = parseGateList('A=maybe,B,C=true');
  assert.deepEqual(r.errors, [
    'invalid value of A=maybe, err: strconv.ParseBool: parsing "maybe": invalid syntax',
    'missing bool value for B',
  ]);
  assert.deepEqual([...r.set], [['C', true]]);
});

test('resolveGates: kube gates warn, unknown gates fail with a hint', () => {
  const r = resolveGates(
    new Map([
      ['APIPriorityAndFairness', false],
      ['ClientIdentityPenetration', true],
      ['secretcache', true],
      ['Nope', true],
    ]),
  );
  assert.equal(r.gates.ClientIdentityPenetration, true);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /APIPriorityAndFairness=false .*no effect/);
  assert.deepEqual(r.errors, [
    'unrecognized feature gate: secretcache (did you mean SecretCache?)',
    'unrecognized feature gate: Nope',
  ]);
});

test('resolveGates: AllAlpha/AllBeta set stages, explicit gates override whatever the order', () => {
  const r = resolveGates(
    new Map([
      ['HealthinessCheck', false],
      ['AllAlpha', true],
      ['AllBeta', false],
    ]),
  );
  assert.deepEqual(r.gates, {
    HealthinessCheck: false,
    SecretCache: false,
    ClientIdentityPenetration: true,
    OCMClusterCache: false,
  });
});

test('parseGoBool', () => {
  for (const t of ['1', 't', 'T', 'true', 'TRUE', 'True']) assert.equal(parseGoBool(t), true);
  for (const f of ['0', 'f', 'F', 'false', 'FALSE', 'False']) assert.equal(parseGoBool(f), false);
  for (const x of ['', 'yes', 'tRue', 'maybe']) assert.equal(parseGoBool(x), undefined);
});
