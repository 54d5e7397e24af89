// Tests of pods/log option decoding/validation, container selection and the line format.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../errors/status.ts';
import type { KubeObject } from '../api/types.ts';
import { logLine, parseLogOptions, rfc3339Nano, selectContainer } from './logs.ts';

function err(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError);
    return e;
  }
  assert.fail('expected an ApiError');
}

test('log options: good values', () => {
  const o = parseLogOptions(
    new URLSearchParams(
      'follow=true&timestamps=1&tailLines=5&limitBytes=100&container=c&sinceTime=2026-01-01T00:00:00Z',
    ),
    'p',
  );
  assert.deepEqual(o, {
    container: 'c',
    follow: true,
    previous: false,
    timestamps: true,
    tailLines: 5,
    sinceSeconds: undefined,
    sinceTime: Date.UTC(2026, 0, 1),
    limitBytes: 100,
  });
});

test('log options: bad values', () => {
  const cases: [string, number, string][] = [
    [
      'tailLines=-1',
      422,
      'PodLogOptions "p" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
    ],
    ['limitBytes=0', 422, 'PodLogOptions "p" is invalid: limitBytes: Invalid value: 0: must be greater than 0'],
    ['sinceSeconds=0', 422, 'PodLogOptions "p" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0'],
    [
      'sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z',
      422,
      'PodLogOptions "p" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified',
    ],
    ['tailLines=abc', 400, 'strconv.ParseInt: parsing "abc": invalid syntax'],
    ['follow=yes', 400, 'strconv.ParseBool: parsing "yes": invalid syntax'],
    [
      'sinceTime=yesterday',
      400,
      'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
    ],
  ];
  for (const [q, code, message] of cases) {
    const e = err(() => parseLogOptions(new URLSearchParams(q), 'p'));
    assert.equal(e.code, code, q);
    assert.equal(e.message, message, q);
  }
});

test('container selection', () => {
  const pod = (containers: string[], init: string[] = []): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    spec: { containers: containers.map((name) => ({ name })), initContainers: init.map((name) => ({ name })) },
  });
  assert.equal(selectContainer(pod(['a']), undefined), 'a');
  assert.equal(selectContainer(pod(['a', 'b']), 'b'), 'b');
  assert.equal(selectContainer(pod(['a'], ['i']), 'i'), 'i');
  assert.equal(
    err(() => selectContainer(pod(['a', 'b']), undefined)).message,
    'a container name must be specified for pod p, choose one of: [a b]',
  );
  assert.equal(
    err(() => selectContainer(pod(['a', 'b'], ['i']), undefined)).message,
    'a container name must be specified for pod p, choose one of: [i a b]',
  );
  assert.equal(err(() => selectContainer(pod(['a']), 'x')).message, 'container x is not valid for pod p');
  assert.equal(err(() => selectContainer(pod([]), undefined)).message, 'a container name must be specified for pod p');
});

test('line format and timestamps', () => {
  const c = { podName: 'p', containerName: 'c', startedMs: Date.UTC(2026, 0, 1, 0, 0, 0, 250) };
  assert.deepEqual(logLine(c, 3, 1000), { ms: c.startedMs + 2000, text: '2026-01-01T00:00:02Z p/c: line 3\n' });
  assert.equal(rfc3339Nano(c.startedMs), '2026-01-01T00:00:00.250000000Z');
});
