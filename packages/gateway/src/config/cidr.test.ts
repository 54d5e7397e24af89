// CIDR parsing for the endpoint allow/deny lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, toBlockList } from './cidr.ts';

test('parseCidr', () => {
  assert.deepEqual(parseCidr('169.254.0.0/16'), {
    ok: true,
    cidr: { text: '169.254.0.0/16', address: '169.254.0.0', prefix: 16, family: 'ipv4' },
  });
  assert.equal(parseCidr('::1/128').ok, true);
  assert.equal(parseCidr('fe80::/10').ok, true);
  for (const bad of [
    '10.0.0.0',
    '10.0.0.0/33',
    '::/129',
    'a/8',
    '10.0.0.0/-1',
    '10.0.0.0/',
    '10.0.0.256/8',
    '/8',
    '10.0.0.0/8/8',
  ]) {
    assert.deepEqual(parseCidr(bad), { ok: false, error: `invalid CIDR address: ${bad}` }, bad);
  }
});

test('toBlockList', () => {
  const r = parseCidr('169.254.0.0/16');
  assert.ok(r.ok);
  const bl = toBlockList([r.cidr]);
  assert.equal(bl.check('169.254.169.254', 'ipv4'), true);
  assert.equal(bl.check('10.0.0.1', 'ipv4'), false);
});
