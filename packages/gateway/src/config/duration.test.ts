// Go duration syntax, including Go's error wording.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, parseGoDuration } from './duration.ts';

test('parseGoDuration accepts Go syntax', () => {
  const cases: [string, number][] = [
    ['0', 0],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['100us', 0.1],
    ['100µs', 0.1],
    ['1000000ns', 1],
    ['-5s', -5000],
    ['+5s', 5000],
    ['.5s', 500],
    ['1.s', 1000],
  ];
  for (const [input, ms] of cases) {
    const r = parseGoDuration(input);
    assert.ok(r.ok, input);
    assert.ok(Math.abs(r.ms - ms) < 1e-9, `${input}: ${r.ms} != ${ms}`);
  }
});

test('parseGoDuration rejects bad input with Go messages', () => {
  const cases: [string, string][] = [
    ['', 'time: invalid duration ""'],
    ['abc', 'time: invalid duration "abc"'],
    ['10', 'time: missing unit in duration "10"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['1.5.5s', 'time: missing unit in duration "1.5.5s"'],
    ['-', 'time: invalid duration "-"'],
    ['s', 'time: invalid duration "s"'],
    ['10 s', 'time: unknown unit " s" in duration "10 s"'],
  ];
  for (const [input, error] of cases) {
    const r = parseGoDuration(input);
    assert.deepEqual(r, { ok: false, error }, input);
  }
});

test('formatGoDuration', () => {
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(500), '500ms');
  assert.equal(formatGoDuration(90_000), '1m30s');
  assert.equal(formatGoDuration(3_600_000), '1h0m0s');
  assert.equal(formatGoDuration(-1500), '-1.5s');
});
