// Tests of the ustar reader/writer: round trips (long names, binary data, directories) and
// rejection of corrupt archives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readTar, writeTar, TarError, type TarEntry } from './tar.ts';

test('round trip keeps names, types, modes, data', () => {
  const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
  const veryLong = 'x'.repeat(300);
  const entries: TarEntry[] = [
    { name: 'dir/', type: 'dir', mode: 0o755, mtimeMs: 1_700_000_000_000, data: Buffer.alloc(0) },
    { name: 'dir/a.txt', type: 'file', mode: 0o644, mtimeMs: 1_700_000_000_000, data: Buffer.from('hello\n') },
    { name: 'bin', type: 'file', mode: 0o600, mtimeMs: 0, data: Buffer.from([0, 1, 2, 255]) },
    { name: long, type: 'file', mode: 0o644, mtimeMs: 0, data: Buffer.alloc(1025, 7) },
    { name: veryLong, type: 'file', mode: 0o644, mtimeMs: 0, data: Buffer.from('v') },
  ];
  const buf = writeTar(entries);
  assert.equal(buf.length % 512, 0);
  const back = readTar(buf);
  assert.deepEqual(
    back.map((e) => [e.name, e.type, e.mode, e.mtimeMs, e.data.toString('hex')]),
    entries.map((e) => [e.name, e.type, e.mode, e.mtimeMs, e.data.toString('hex')]),
  );
});

test('corrupt archives are rejected', () => {
  const good = writeTar([{ name: 'a', type: 'file', mode: 0o644, mtimeMs: 0, data: Buffer.from('abc') }]);
  const badSum = Buffer.from(good);
  badSum[0] = 0x42;
  const truncated = good.subarray(0, 600);
  for (const b of [badSum, truncated, Buffer.alloc(100, 1), Buffer.alloc(0)]) {
    assert.throws(() => readTar(b), TarError);
  }
});

test('GNU long names and PAX records are honoured', () => {
  // hand-built: a GNU 'L' record followed by the entry it names
  const name = 'n'.repeat(150);
  const plain = writeTar([{ name: 'short', type: 'file', mode: 0o644, mtimeMs: 0, data: Buffer.from('z') }]);
  const lHeader = Buffer.from(
    writeTar([
      { name: '././@LongLink', type: 'file', mode: 0o644, mtimeMs: 0, data: Buffer.from(name + '\0') },
    ]).subarray(0, 1024),
  );
  lHeader[156] = 'L'.charCodeAt(0);
  // fix the checksum after changing the type flag
  lHeader.write('        ', 148, 8, 'ascii');
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += lHeader[i]!;
  lHeader.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  const entries = readTar(Buffer.concat([lHeader, plain]));
  assert.equal(entries.length, 1);
  assert.equal(entries[0]!.name, name);
});
