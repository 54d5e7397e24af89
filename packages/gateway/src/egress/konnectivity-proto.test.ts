// The Konnectivity wire contract: our .proto against the reference konnectivity-client.proto
// (names, field numbers, types, enum values, method path), hand-assembled golden bytes that pin
// the field numbers independently of any .proto, a round trip of every packet type, and int64
// ids that survive beyond 2^53.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import {
  LOADER_OPTIONS,
  PROTO_PATH,
  PROXY_METHOD,
  int64,
  loadKonnectivityProtocol,
  type OutPacket,
} from './konnectivity-proto.ts';

const REFERENCE = fileURLToPath(new URL('../../../../../shared/spec/konnectivity-client.proto', import.meta.url));
const SANDBOX_COPY = fileURLToPath(new URL('../../../sandbox/src/konnectivity/konnectivity.proto', import.meta.url));
const MAX = '9223372036854775807';
const MIN = '-9223372036854775808';

describe('konnectivity.proto', () => {
  test(
    'matches the reference definition exactly',
    { skip: !existsSync(REFERENCE) && 'reference spec not present' },
    () => {
      const ours = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
      const ref = protoLoader.loadSync(REFERENCE, LOADER_OPTIONS);
      assert.deepEqual(Object.keys(ours).sort(), Object.keys(ref).sort());
      for (const name of Object.keys(ref)) {
        const r = ref[name] as { type?: unknown; path?: unknown };
        const o = ours[name] as { type?: unknown };
        if ('type' in r) assert.deepEqual(o.type, r.type, `${name} differs from the reference`);
      }
      const method = (ours['ProxyService'] as protoLoader.ServiceDefinition)['Proxy']!;
      assert.equal(method.path, PROXY_METHOD);
      assert.equal(method.requestStream, true);
      assert.equal(method.responseStream, true);
    },
  );

  test('the sandbox proxy-server uses an identical copy', () => {
    assert.equal(readFileSync(SANDBOX_COPY, 'utf8'), readFileSync(PROTO_PATH, 'utf8'));
  });
});

describe('packets on the wire', () => {
  const p = loadKonnectivityProtocol();
  const hex = (pkt: OutPacket) => p.serialize(pkt).toString('hex');

  // tag = field << 3 | wire type; Packet.type is field 1 (varint), payloads are fields 2..8 (LEN)
  const golden: { name: string; pkt: OutPacket; bytes: string }[] = [
    {
      name: 'DIAL_REQ (Packet.dialRequest = 2; protocol 1, address 2, random 3)',
      pkt: { type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'c:443', random: '300' } },
      // 08 00 | 12 0f | 0a 03 "tcp" | 12 05 "c:443" | 18 ac 02 (300 as a varint)
      bytes: '0800120f0a03746370' + '1205633a343433' + '18ac02',
    },
    {
      name: 'DATA (Packet.data = 4; connectID 1, data 3)',
      pkt: { type: 'DATA', data: { connectID: '1', data: Buffer.from('hi') } },
      // 08 04 | 22 06 | 08 01 | 1a 02 "hi"
      bytes: '08042206' + '0801' + '1a026869',
    },
    {
      name: 'CLOSE_REQ (Packet.closeRequest = 5; connectID 1)',
      pkt: { type: 'CLOSE_REQ', closeRequest: { connectID: '2' } },
      bytes: '08022a020802',
    },
    {
      name: 'DIAL_CLS (Packet.closeDial = 7; random 1)',
      pkt: { type: 'DIAL_CLS', closeDial: { random: '3' } },
      bytes: '08053a020803',
    },
  ];
  for (const g of golden) {
    test(`golden bytes: ${g.name}`, () => {
      assert.equal(hex(g.pkt), g.bytes);
      assert.deepEqual(p.deserialize(Buffer.from(g.bytes, 'hex')).type, g.pkt.type);
    });
  }

  test('decodes responses a Go proxy-server sends (DIAL_RSP = 3, CLOSE_RSP = 6, DRAIN = 8)', () => {
    // 08 01 | 1a 08 | 0a 02 "no" | 10 05 | 18 07: DialResponse{error 1: "no", connectID 2: 5, random 3: 7}
    const dialRsp = Buffer.from('08011a080a026e6f10051807', 'hex');
    assert.deepEqual(p.deserialize(dialRsp), {
      type: 'DIAL_RSP',
      payload: 'dialResponse',
      dialResponse: { error: 'no', connectID: '5', random: '7' },
    });
    // CloseResponse{connectID 2: 9}
    assert.deepEqual(p.deserialize(Buffer.from('080332021009', 'hex')), {
      type: 'CLOSE_RSP',
      payload: 'closeResponse',
      closeResponse: { error: '', connectID: '9' },
    });
    assert.deepEqual(p.deserialize(Buffer.from('08064200', 'hex')), { type: 'DRAIN', payload: 'drain', drain: {} });
    // an enum value from a newer proxy-server decodes as a number instead of failing
    assert.equal(p.deserialize(Buffer.from('0863', 'hex')).type, 99);
  });

  const roundTrip: OutPacket[] = [
    { type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'cluster-2:443', random: MAX } },
    { type: 'DIAL_RSP', dialResponse: { error: '', connectID: MAX, random: MIN } },
    { type: 'DIAL_RSP', dialResponse: { error: 'No backend available', connectID: '0', random: '1' } },
    { type: 'CLOSE_REQ', closeRequest: { connectID: '9007199254740993' } },
    { type: 'CLOSE_RSP', closeResponse: { error: 'gone', connectID: MIN } },
    { type: 'DATA', data: { connectID: '9007199254740993', error: '', data: Buffer.from([0, 1, 2, 255]) } },
    { type: 'DIAL_CLS', closeDial: { random: '9007199254740995' } },
    { type: 'DRAIN', drain: {} },
  ];
  for (const pkt of roundTrip) {
    test(`round trip ${pkt.type} ${JSON.stringify(Object.values(pkt)[1])}`, () => {
      const back = p.deserialize(p.serialize(pkt));
      const { type, ...payload } = pkt;
      const key = Object.keys(payload)[0]!;
      assert.equal(back.type, type);
      assert.equal(back.payload, key);
      assert.deepEqual((back as unknown as Record<string, unknown>)[key], (payload as Record<string, unknown>)[key]);
    });
  }
});

test('int64 canonicalises ids and rejects what is not an int64', () => {
  const cases: [string | number | bigint | undefined, string | undefined][] = [
    ['7', '7'],
    ['007', '7'],
    [MAX, MAX],
    [MIN, MIN],
    ['9223372036854775808', undefined],
    ['abc', undefined],
    ['1.5', undefined],
    [undefined, undefined],
    [5, '5'],
    [2n ** 60n, (2n ** 60n).toString()],
  ];
  for (const [input, want] of cases) assert.equal(int64(input), want, String(input));
});
