// Tests of the WebSocket remote command framing: channel bytes, base64 variants, the v5 close
// signal, protocol negotiation and the Status objects written on the error channel.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeFrame,
  encodeFrame,
  remoteCommandStatus,
  selectProtocol,
  statusVersion,
  V1,
  V1_BASE64,
  V4,
  V4_BASE64,
  V5,
} from './remotecommand-ws.ts';

test('binary and base64 frames', () => {
  assert.deepEqual(encodeFrame(V5, 1, Buffer.from('hi')), Buffer.from([1, 0x68, 0x69]));
  assert.equal(encodeFrame(V4_BASE64, 2, Buffer.from('hi')), '2aGk=');
  assert.equal(encodeFrame(V1_BASE64, 1, Buffer.alloc(0)), '1');
  assert.deepEqual(decodeFrame(V4, Buffer.from([0, 0x61]), true), { kind: 'data', channel: 0, data: Buffer.from('a') });
  assert.deepEqual(decodeFrame(V4_BASE64, Buffer.from('0YWJj'), false), {
    kind: 'data',
    channel: 0,
    data: Buffer.from('abc'),
  });
  assert.equal(decodeFrame(V5, Buffer.alloc(0), true), undefined);
});

test('v5 close signal, only on v5', () => {
  assert.deepEqual(decodeFrame(V5, Buffer.from([255, 0]), true), { kind: 'close', channel: 0 });
  assert.equal(decodeFrame(V5, Buffer.from([255, 0, 1]), true)?.kind, 'invalid');
  assert.equal(decodeFrame(V5, Buffer.from([255]), true)?.kind, 'invalid');
  // v4 has no control channel: 255 is just an unknown channel
  assert.deepEqual(decodeFrame(V4, Buffer.from([255, 0]), true), {
    kind: 'data',
    channel: 255,
    data: Buffer.from([0]),
  });
});

test('protocol negotiation follows the client order', () => {
  assert.equal(selectProtocol([]), '');
  assert.equal(selectProtocol(['v5.channel.k8s.io', 'v4.channel.k8s.io']), V5);
  assert.equal(selectProtocol(['v4.channel.k8s.io', 'v5.channel.k8s.io']), V4);
  assert.equal(selectProtocol(['SPDY/3.1', 'channel.k8s.io']), V1);
  assert.equal(selectProtocol(['v3.channel.k8s.io']), undefined);
  assert.equal(statusVersion(V5), 5);
  assert.equal(statusVersion(V4_BASE64), 4);
  assert.equal(statusVersion(''), 1);
});

test('error channel statuses', () => {
  assert.deepEqual(remoteCommandStatus({ exitCode: 0 }, ['true'], 5), { metadata: {}, status: 'Success' });
  assert.deepEqual(remoteCommandStatus({ exitCode: 3 }, ['sh', '-c', 'exit 3'], 4), {
    metadata: {},
    status: 'Failure',
    message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
  assert.equal(
    remoteCommandStatus({ exitCode: 3 }, ['x'], 5).message,
    'command terminated with non-zero exit code: command terminated with exit code 3',
  );
  const failed = remoteCommandStatus({ exitCode: 126, startError: 'boom' }, ['x'], 5);
  assert.equal(failed.reason, 'InternalError');
  assert.equal(failed.code, 500);
  assert.equal(failed.message, 'Internal error occurred: error executing command in container: boom');
});
