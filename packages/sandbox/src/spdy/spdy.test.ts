// Tests for the SPDY/3.1 codec and session: frame round trips, malformed input, header compression
// across frames, flow control with large transfers and peers that ignore flow control, and a
// client↔server session over a real socket pair.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { duplexPair, type Duplex } from 'node:stream';
import { once } from 'node:events';
import {
  FrameReader,
  GoAwayStatus,
  HeaderCompressor,
  HeaderDecompressor,
  RstStatus,
  SpdyProtocolError,
  SpdySession,
  SpdyStream,
  decodeFrame,
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  type Frame,
  type RawFrame,
} from './spdy.ts';
import { SPDY3_DICTIONARY } from './dictionary.ts';

function readAll(reader: FrameReader): RawFrame[] {
  const out: RawFrame[] = [];
  for (let f = reader.next(); f; f = reader.next()) out.push(f);
  return out;
}

test('the SPDY/3 dictionary has the size and edges of the spec', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.equal(SPDY3_DICTIONARY.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
  assert.equal(SPDY3_DICTIONARY.subarray(-8).toString('latin1'), '*,enq=0.');
});

const roundTrips: Frame[] = [
  { type: 'data', streamId: 1, fin: false, data: Buffer.from('hello') },
  { type: 'data', streamId: 0x7fffffff, fin: true, data: Buffer.alloc(0) },
  {
    type: 'syn_stream',
    streamId: 3,
    associatedTo: 0,
    priority: 0,
    slot: 0,
    fin: false,
    unidirectional: false,
    headers: { streamtype: 'error', port: '8080', requestid: '0' },
  },
  {
    type: 'syn_stream',
    streamId: 5,
    associatedTo: 1,
    priority: 7,
    slot: 2,
    fin: true,
    unidirectional: true,
    headers: {},
  },
  { type: 'syn_reply', streamId: 3, fin: false, headers: {} },
  { type: 'syn_reply', streamId: 3, fin: true, headers: { a: 'x\0y', 'content-type': 'text/plain' } },
  { type: 'headers', streamId: 9, fin: true, headers: { trailer: 'v' } },
  { type: 'rst_stream', streamId: 7, status: RstStatus.CANCEL },
  {
    type: 'settings',
    clear: true,
    entries: [
      { id: 7, flags: 1, value: 1 << 20 },
      { id: 4, flags: 0, value: 100 },
    ],
  },
  { type: 'settings', clear: false, entries: [] },
  { type: 'ping', id: 1 },
  { type: 'ping', id: 0xfffffffe },
  { type: 'goaway', lastGoodStreamId: 11, status: GoAwayStatus.PROTOCOL_ERROR },
  { type: 'window_update', streamId: 0, delta: 65536 },
  { type: 'window_update', streamId: 3, delta: 0x7fffffff },
  { type: 'unknown', frameType: 0x0a, flags: 0, payload: Buffer.from('credential') },
];

test('frames round-trip through one shared compression context per direction', async () => {
  const comp = new HeaderCompressor();
  const decomp = new HeaderDecompressor();
  const reader = new FrameReader();
  const wire = Buffer.concat(await Promise.all(roundTrips.map((f) => encodeFrame(f, comp))));
  // feed one byte at a time: frames must be cut correctly from arbitrary pieces
  for (let i = 0; i < wire.length; i++) reader.push(wire.subarray(i, i + 1));
  const raws = readAll(reader);
  assert.equal(raws.length, roundTrips.length);
  for (const [i, raw] of raws.entries()) {
    const got = await decodeFrame(raw, decomp);
    assert.deepEqual(got, roundTrips[i], `frame ${i} (${roundTrips[i]!.type})`);
  }
  assert.equal(reader.buffered, 0);
  comp.close();
  decomp.close();
});

test('header compression keeps context across frames', async () => {
  const comp = new HeaderCompressor();
  const headers = {
    streamtype: 'data',
    port: '8080',
    requestid: '42',
    'x-long-header': 'abcdefghijklmnopqrstuvwxyz'.repeat(8),
  };
  const blocks: Buffer[] = [];
  for (let i = 0; i < 5; i++) blocks.push(await comp.compress(encodeHeaderBlock(headers)));
  // later blocks refer back to the first, so they are much smaller
  assert.ok(blocks[1]!.length < blocks[0]!.length / 2, `${blocks[1]!.length} vs ${blocks[0]!.length}`);
  // the first block carries the zlib header with the dictionary id (FDICT)
  assert.equal(blocks[0]![1]! & 0x20, 0x20);

  const decomp = new HeaderDecompressor();
  for (const b of blocks) assert.deepEqual(decodeHeaderBlock(await decomp.decompress(b), 1), headers);
  // a fresh context cannot decode a later block on its own
  const fresh = new HeaderDecompressor();
  await assert.rejects(fresh.decompress(blocks[2]!));
  comp.close();
  decomp.close();
  fresh.close();
});

test('decompressed header blocks are bounded', async () => {
  const comp = new HeaderCompressor();
  const decomp = new HeaderDecompressor(1024);
  const big = await comp.compress(encodeHeaderBlock({ big: 'x'.repeat(100_000) }));
  await assert.rejects(decomp.decompress(big), /exceeds 1024 bytes/);
  comp.close();
  decomp.close();
});

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const pair = (name: string, value: string): Buffer[] => [
  u32(name.length),
  Buffer.from(name),
  u32(value.length),
  Buffer.from(value),
];

const badBlocks: { name: string; block: Buffer; match: RegExp }[] = [
  { name: 'empty', block: Buffer.alloc(0), match: /truncated pair count/ },
  { name: 'count too large', block: u32(1000), match: /does not fit/ },
  {
    name: 'truncated value',
    block: Buffer.concat([u32(1), u32(1), Buffer.from('a'), u32(10), Buffer.from('abc')]),
    match: /truncated value/,
  },
  { name: 'uppercase name', block: Buffer.concat([u32(1), ...pair('Port', '1')]), match: /not lowercase/ },
  {
    name: 'duplicate name',
    block: Buffer.concat([u32(2), ...pair('port', '1'), ...pair('port', '2')]),
    match: /duplicate header/,
  },
  { name: 'empty name', block: Buffer.concat([u32(1), u32(0), u32(1), Buffer.from('x')]), match: /empty header name/ },
  {
    name: 'trailing bytes',
    block: Buffer.concat([u32(1), ...pair('a', 'b'), Buffer.from('zz')]),
    match: /trailing bytes/,
  },
];

for (const c of badBlocks) {
  test(`header block: ${c.name} is a stream-level protocol error`, () => {
    assert.throws(
      () => decodeHeaderBlock(c.block, 5),
      (e: unknown) => e instanceof SpdyProtocolError && e.streamId === 5 && c.match.test(e.message),
    );
  });
}

function control(type: number, flags: number, payload: Buffer, version = 3): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE((0x80000000 | (version << 16) | type) >>> 0, 0);
  h.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([h, payload]);
}

const malformed: { name: string; bytes: Buffer; streamId: number; match: RegExp }[] = [
  { name: 'DATA on stream 0', bytes: Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 65]), streamId: 0, match: /stream 0/ },
  { name: 'SPDY/2 control frame', bytes: control(6, 0, u32(1), 2), streamId: 0, match: /version 2/ },
  { name: 'short SYN_STREAM', bytes: control(1, 0, Buffer.alloc(6)), streamId: 0, match: /SYN_STREAM frame length/ },
  {
    name: 'SYN_STREAM with garbage header block',
    bytes: control(1, 0, Buffer.concat([u32(1), u32(0), Buffer.alloc(2), Buffer.from('not zlib')])),
    streamId: 0,
    match: /decompression failed/,
  },
  { name: 'RST_STREAM of 4 bytes', bytes: control(3, 0, u32(1)), streamId: 0, match: /RST_STREAM frame length/ },
  {
    name: 'RST_STREAM on stream 0',
    bytes: control(3, 0, Buffer.concat([u32(0), u32(5)])),
    streamId: 0,
    match: /stream id 0/,
  },
  {
    name: 'RST_STREAM with status 0',
    bytes: control(3, 0, Buffer.concat([u32(1), u32(0)])),
    streamId: 0,
    match: /status 0/,
  },
  {
    name: 'SETTINGS count mismatch',
    bytes: control(4, 0, Buffer.concat([u32(2), u32(7), u32(1)])),
    streamId: 0,
    match: /SETTINGS frame length/,
  },
  { name: 'PING of 8 bytes', bytes: control(6, 0, Buffer.alloc(8)), streamId: 0, match: /PING frame length/ },
  { name: 'GOAWAY of 3 bytes', bytes: control(7, 0, Buffer.alloc(3)), streamId: 0, match: /GOAWAY frame length/ },
  {
    name: 'WINDOW_UPDATE with delta 0',
    bytes: control(9, 0, Buffer.concat([u32(3), u32(0)])),
    streamId: 3,
    match: /delta 0/,
  },
  { name: 'WINDOW_UPDATE of 4 bytes', bytes: control(9, 0, u32(3)), streamId: 0, match: /WINDOW_UPDATE frame length/ },
];

for (const c of malformed) {
  test(`malformed frame: ${c.name}`, async () => {
    const reader = new FrameReader();
    reader.push(c.bytes);
    const raw = reader.next();
    assert.ok(raw);
    const decomp = new HeaderDecompressor();
    await assert.rejects(
      decodeFrame(raw, decomp),
      (e: unknown) => e instanceof SpdyProtocolError && e.streamId === c.streamId && c.match.test(e.message),
    );
    decomp.close();
  });
}

test('a truncated frame waits for more bytes', () => {
  const reader = new FrameReader();
  reader.push(control(6, 0, u32(1)).subarray(0, 10));
  assert.equal(reader.next(), undefined);
  reader.push(Buffer.from([0, 1]));
  assert.equal(reader.next()?.frameType, 6);
});

// ---- sessions ----

async function socketPair(): Promise<[net.Socket, net.Socket, () => Promise<void>]> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const client = net.connect(port, '127.0.0.1');
  const [[serverSide]] = await Promise.all([accepted, once(client, 'connect')]);
  return [
    client,
    serverSide,
    async () => {
      client.destroy();
      serverSide.destroy();
      await new Promise<void>((r) =>
        server.close(() => {
          r();
        }),
      );
    },
  ];
}

function collect(s: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    s.on('close', () => {
      resolve(Buffer.concat(chunks));
    });
    s.on('error', reject);
  });
}

/** The far end of a session written against the codec only: records decoded frames in order. */
class RawPeer {
  readonly frames: Frame[] = [];
  readonly comp = new HeaderCompressor();
  readonly decomp = new HeaderDecompressor();
  readonly #reader = new FrameReader();
  #chain: Promise<void> = Promise.resolve();
  #waiters: (() => void)[] = [];
  readonly io: Duplex;
  constructor(io: Duplex) {
    this.io = io;
    io.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk);
      this.#chain = this.#chain.then(async () => {
        for (let raw = this.#reader.next(); raw; raw = this.#reader.next())
          this.frames.push(await decodeFrame(raw, this.decomp));
        for (const w of this.#waiters.splice(0)) w();
      });
    });
  }
  async send(f: Frame): Promise<void> {
    this.io.write(await encodeFrame(f, this.comp));
  }
  async waitFor(pred: (f: Frame) => boolean): Promise<Frame> {
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }
  close(): void {
    this.comp.close();
    this.decomp.close();
  }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('client and server sessions over a socket pair: echo, half-close, headers', async () => {
  const [c, s, cleanup] = await socketPair();
  const server = new SpdySession(s, { server: true });
  const client = new SpdySession(c, { server: false });
  server.on('stream', (st) => {
    assert.equal(st.headers.streamtype, 'data');
    st.reply({ accepted: 'yes' });
    st.pipe(st); // echo until the client half-closes
  });
  const st = client.openStream({ streamtype: 'data', port: '80' });
  assert.equal(st.id, 1);
  assert.deepEqual(await st.waitReply(), { accepted: 'yes' });
  const got = collect(st);
  st.write('hello ');
  st.end('world');
  assert.equal((await got).toString(), 'hello world');
  assert.equal(await client.ping().then((ms) => ms >= 0), true);
  const second = client.openStream({ streamtype: 'data' });
  assert.equal(second.id, 3);
  second.end();
  assert.equal((await collect(second)).length, 0);
  client.close();
  await Promise.all([once(client, 'close'), once(server, 'close')]);
  assert.equal(server.closeError, undefined);
  await cleanup();
});

test('flow control: several MiB both ways between two enforcing sessions', async () => {
  const [c, s, cleanup] = await socketPair();
  const server = new SpdySession(s, { server: true });
  const client = new SpdySession(c, { server: false });
  const up = randomBytes(5 * 1024 * 1024);
  const down = randomBytes(3 * 1024 * 1024 + 17);
  const serverGot = new Promise<Buffer>((resolve) => {
    server.on('stream', (st) => {
      st.reply();
      void collect(st).then(resolve);
      st.end(down);
    });
  });
  const st = client.openStream({ streamtype: 'data' });
  const clientGot = collect(st);
  st.end(up);
  const [a, b] = await Promise.all([serverGot, clientGot]);
  assert.equal(sha(a), sha(up));
  assert.equal(sha(b), sha(down));
  client.close();
  await once(server, 'close');
  await cleanup();
});

test('flow control: a reader that stops reading stalls an enforcing sender at the window', async () => {
  const [c, s, cleanup] = await socketPair();
  const server = new SpdySession(s, { server: true });
  const client = new SpdySession(c, { server: false });
  let serverStream: SpdyStream | undefined;
  server.on('stream', (st) => {
    serverStream = st;
    st.reply();
  });
  const st = client.openStream({ streamtype: 'data' });
  await st.waitReply();
  // the server grants a window update once so that the client starts enforcing
  st.write(Buffer.alloc(40 * 1024));
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(serverStream);
  assert.equal((serverStream.read() as Buffer).length, 40 * 1024); // consumed: the server credits it with WINDOW_UPDATE
  await new Promise((r) => setTimeout(r, 50));
  st.write(Buffer.alloc(1024 * 1024));
  await new Promise((r) => setTimeout(r, 200));
  // nobody reads on the server: at most one window (64 KiB) may be in flight and buffered
  assert.ok(serverStream.readableLength <= 64 * 1024, `buffered ${serverStream.readableLength}`);
  assert.equal(st.sendWindow, 0);
  // reading releases the rest
  const rest = collect(serverStream);
  st.end();
  assert.equal((await rest).length, 1024 * 1024);
  client.destroy();
  await cleanup();
});

test('a peer that never sends WINDOW_UPDATE (like spdystream) still gets everything', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(a, { server: true });
  const payload = randomBytes(2 * 1024 * 1024);
  server.on('stream', (st) => {
    st.reply();
    st.end(payload);
  });
  const peer = new RawPeer(b);
  await peer.send({
    type: 'syn_stream',
    streamId: 1,
    associatedTo: 0,
    priority: 0,
    slot: 0,
    fin: true,
    unidirectional: false,
    headers: { streamtype: 'data' },
  });
  await peer.waitFor((f) => f.type === 'data' && f.fin);
  const types = peer.frames.map((f) => f.type);
  assert.deepEqual(types.slice(0, 2), ['settings', 'syn_reply']);
  assert.ok(!types.includes('window_update'));
  const data = Buffer.concat(peer.frames.flatMap((f) => (f.type === 'data' ? [f.data] : [])));
  assert.equal(sha(data), sha(payload));
  server.destroy();
  peer.close();
});

test('garbage on the wire ends the session with GOAWAY(PROTOCOL_ERROR), nothing throws', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(a, { server: true });
  server.on('stream', () => assert.fail('no stream expected'));
  const peer = new RawPeer(b);
  b.write(control(6, 0, u32(1), 2)); // SPDY/2 PING
  const [err] = (await once(server, 'close')) as [Error | undefined];
  assert.match(String(err), /unsupported SPDY version 2/);
  assert.deepEqual(await peer.waitFor((f) => f.type === 'goaway'), {
    type: 'goaway',
    lastGoodStreamId: 0,
    status: GoAwayStatus.PROTOCOL_ERROR,
  });
  peer.close();
});

test('a header block that is not lowercase resets the stream, the session lives on', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(a, { server: true });
  const seen: string[] = [];
  server.on('stream', (st) => {
    seen.push(st.headers.port ?? '');
    st.reply();
  });
  const peer = new RawPeer(b);
  // a hand-made header block with an uppercase name, compressed in the peer's context
  const bad = await peer.comp.compress(Buffer.concat([u32(1), ...pair('Port', '1')]));
  b.write(control(1, 0, Buffer.concat([u32(1), u32(0), Buffer.alloc(2), bad])));
  assert.deepEqual(await peer.waitFor((f) => f.type === 'rst_stream'), {
    type: 'rst_stream',
    streamId: 1,
    status: RstStatus.PROTOCOL_ERROR,
  });
  await peer.send({
    type: 'syn_stream',
    streamId: 3,
    associatedTo: 0,
    priority: 0,
    slot: 0,
    fin: false,
    unidirectional: false,
    headers: { port: '2' },
  });
  await peer.waitFor((f) => f.type === 'syn_reply');
  assert.deepEqual(seen, ['2']);
  assert.equal(server.closed, false);
  server.destroy();
  peer.close();
});

test('stream-level errors reset only that stream', async () => {
  const [c, s, cleanup] = await socketPair();
  const server = new SpdySession(s, { server: true });
  const client = new SpdySession(c, { server: false });
  server.on('stream', (st) => {
    if (st.headers.refuse) st.reset(RstStatus.REFUSED_STREAM);
    else {
      st.reply();
      st.end('ok');
    }
  });
  const refused = client.openStream({ refuse: '1' });
  await assert.rejects(refused.waitReply(), /RST_STREAM status 3/);
  assert.equal(refused.resetStatus, RstStatus.REFUSED_STREAM);
  const ok = client.openStream({});
  ok.end();
  assert.equal((await collect(ok)).toString(), 'ok');
  // a SYN_STREAM with a stream id going backwards is refused, the session lives on
  assert.equal(server.closed, false);
  client.destroy();
  await once(server, 'close');
  await cleanup();
});

test('ids: servers must not accept even stream ids from clients', async () => {
  const [a, b] = duplexPair();
  const server = new SpdySession(a, { server: true });
  let streams = 0;
  server.on('stream', () => streams++);
  const peer = new RawPeer(b);
  await peer.send({
    type: 'syn_stream',
    streamId: 2,
    associatedTo: 0,
    priority: 0,
    slot: 0,
    fin: false,
    unidirectional: false,
    headers: {},
  });
  assert.deepEqual(await peer.waitFor((f) => f.type === 'rst_stream'), {
    type: 'rst_stream',
    streamId: 2,
    status: RstStatus.PROTOCOL_ERROR,
  });
  // a ping from the client (odd id) is echoed
  await peer.send({ type: 'ping', id: 7 });
  assert.deepEqual(await peer.waitFor((f) => f.type === 'ping'), { type: 'ping', id: 7 });
  assert.equal(streams, 0);
  server.destroy();
  peer.close();
});
