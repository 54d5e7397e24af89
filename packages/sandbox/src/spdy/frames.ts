// SPDY/3.1 wire format: the frame reader and writer, header blocks and their zlib compression
// contexts (draft-mbelshe-httpbis-spdy-00 with the 3.1 session-level flow control addendum). Kept
// apart from the session so the codec can be tested frame by frame, malformed input included.
//
// Header blocks are compressed with one zlib stream per direction for the whole session, primed
// with the SPDY/3 dictionary and flushed with Z_SYNC_FLUSH after every block: each block may refer
// back to bytes of earlier ones, so the contexts must outlive single frames (this is what Go's
// spdystream framer, used by kubectl and the kubelet, does).

import * as zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.ts';

export const SPDY_VERSION = 3;
export const FRAME_HEADER_SIZE = 8;
export const MAX_FRAME_LENGTH = 0xffffff;
export const DEFAULT_WINDOW = 64 * 1024;
export const MAX_WINDOW = 0x7fffffff;
/** decompressed header blocks larger than this are refused (a zlib bomb guard) */
export const MAX_HEADER_BLOCK = 256 * 1024;

export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const FLAG_SETTINGS_CLEAR = 0x01;

export const RstStatus = {
  PROTOCOL_ERROR: 1,
  INVALID_STREAM: 2,
  REFUSED_STREAM: 3,
  UNSUPPORTED_VERSION: 4,
  CANCEL: 5,
  INTERNAL_ERROR: 6,
  FLOW_CONTROL_ERROR: 7,
  STREAM_IN_USE: 8,
  STREAM_ALREADY_CLOSED: 9,
  INVALID_CREDENTIALS: 10,
  FRAME_TOO_LARGE: 11,
} as const;

export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

export const SettingId = {
  UPLOAD_BANDWIDTH: 1,
  DOWNLOAD_BANDWIDTH: 2,
  ROUND_TRIP_TIME: 3,
  MAX_CONCURRENT_STREAMS: 4,
  CURRENT_CWND: 5,
  DOWNLOAD_RETRANS_RATE: 6,
  INITIAL_WINDOW_SIZE: 7,
  CLIENT_CERTIFICATE_VECTOR_SIZE: 8,
} as const;

/**
 * Header names are lowercase; a value holding several values joins them with NUL, exactly as on
 * the wire (Go's http.Header splits them again).
 */
export type SpdyHeaders = Record<string, string>;

export interface SettingEntry {
  id: number;
  flags: number;
  value: number;
}

export type Frame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | {
      type: 'syn_stream';
      streamId: number;
      associatedTo: number;
      priority: number;
      slot: number;
      fin: boolean;
      unidirectional: boolean;
      headers: SpdyHeaders;
    }
  | { type: 'syn_reply'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; clear: boolean; entries: SettingEntry[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'headers'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'window_update'; streamId: number; delta: number }
  /** control frames of types this implementation does not know: the spec says ignore them */
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

/**
 * A violation of the protocol. `streamId` 0 means the session is broken (answer with GOAWAY);
 * otherwise only that stream is (answer with RST_STREAM `status`).
 */
export class SpdyProtocolError extends Error {
  readonly streamId: number;
  readonly status: number;
  constructor(message: string, streamId = 0, status: number = RstStatus.PROTOCOL_ERROR) {
    super(message);
    this.name = 'SpdyProtocolError';
    this.streamId = streamId;
    this.status = status;
  }
}

/** A frame as cut from the byte stream, before its payload is interpreted. */
export interface RawFrame {
  control: boolean;
  /** control frames: protocol version and type */
  version: number;
  frameType: number;
  /** data frames: stream id */
  streamId: number;
  flags: number;
  payload: Buffer;
}

/** Cuts frames out of a byte stream that arrives in arbitrary pieces. */
export class FrameReader {
  #chunks: Buffer[] = [];
  #size = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  get buffered(): number {
    return this.#size;
  }

  next(): RawFrame | undefined {
    if (this.#size < FRAME_HEADER_SIZE) return undefined;
    const head = this.#peek(FRAME_HEADER_SIZE);
    const length = head.readUInt32BE(4) & 0xffffff;
    if (this.#size < FRAME_HEADER_SIZE + length) return undefined;
    const all = this.#take(FRAME_HEADER_SIZE + length);
    const first = all.readUInt32BE(0);
    const control = (first & 0x80000000) !== 0;
    return {
      control,
      version: control ? (first >>> 16) & 0x7fff : 0,
      frameType: control ? first & 0xffff : 0,
      streamId: control ? 0 : first & 0x7fffffff,
      flags: all[4]!,
      payload: all.subarray(FRAME_HEADER_SIZE),
    };
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!.subarray(0, n);
  }

  #take(n: number): Buffer {
    if (this.#chunks[0]!.length < n) this.#chunks = [Buffer.concat(this.#chunks)];
    const first = this.#chunks[0]!;
    const out = first.subarray(0, n);
    if (first.length === n) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(n);
    this.#size -= n;
    return out;
  }
}

// ---- header blocks ----

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Parse an uncompressed header block; malformed blocks are a PROTOCOL_ERROR on `streamId`. */
export function decodeHeaderBlock(block: Buffer, streamId: number): SpdyHeaders {
  const fail = (why: string): never => {
    throw new SpdyProtocolError(`invalid header block: ${why}`, streamId);
  };
  if (block.length < 4) fail('truncated pair count');
  const count = block.readUInt32BE(0);
  // each pair needs at least 8 bytes of lengths plus a 1-byte name
  if (count > (block.length - 4) / 9) fail(`pair count ${count} does not fit in ${block.length} bytes`);
  const headers: SpdyHeaders = Object.create(null) as SpdyHeaders;
  let off = 4;
  const str = (what: string): string => {
    if (off + 4 > block.length) fail(`truncated ${what} length`);
    const len = block.readUInt32BE(off);
    off += 4;
    if (off + len > block.length) fail(`truncated ${what}`);
    const s = block.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const name = str('name');
    if (name === '') fail('empty header name');
    if (name !== name.toLowerCase()) fail(`header name ${JSON.stringify(name)} is not lowercase`);
    if (Object.hasOwn(headers, name)) fail(`duplicate header ${JSON.stringify(name)}`);
    headers[name] = str('value');
  }
  if (off !== block.length) fail(`${block.length - off} trailing bytes`);
  return { ...headers };
}

/** First value of a header (values may be NUL-joined lists). */
export function headerValue(headers: SpdyHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return v === undefined ? undefined : v.split('\0')[0];
}

// ---- compression contexts ----

/**
 * One zlib stream used for a whole session direction. Each call feeds a block and collects all
 * output up to a Z_SYNC_FLUSH; calls are serialized so blocks never interleave.
 */
class ZlibContext {
  readonly #z: zlib.Deflate | zlib.Inflate;
  readonly #limit: number;
  #out: Buffer[] = [];
  #outSize = 0;
  #error: Error | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(z: zlib.Deflate | zlib.Inflate, limit: number) {
    this.#z = z;
    this.#limit = limit;
    z.on('data', (c: Buffer) => {
      this.#outSize += c.length;
      if (this.#outSize > this.#limit) {
        this.#error ??= new Error(`header block exceeds ${this.#limit} bytes`);
        return;
      }
      this.#out.push(c);
    });
    z.on('error', (e: Error) => {
      this.#error ??= e;
    });
  }

  run(input: Buffer): Promise<Buffer> {
    const p = this.#queue.then(() => this.#run(input));
    this.#queue = p.catch(() => undefined);
    return p;
  }

  #run(input: Buffer): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.#error) {
        reject(this.#error);
        return;
      }
      const done = (): void => {
        // anything still buffered in the readable side is emitted through 'data' by read()
        while (this.#z.read() !== null);
        const out = Buffer.concat(this.#out);
        this.#out = [];
        this.#outSize = 0;
        if (this.#error) reject(this.#error);
        else resolve(out);
      };
      this.#z.once('error', done);
      this.#z.write(input);
      this.#z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.#z.off('error', done);
        done();
      });
    });
  }

  close(): void {
    this.#error ??= new Error('compression context closed');
    this.#z.close();
  }
}

export class HeaderCompressor {
  readonly #ctx = new ZlibContext(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }), Number.MAX_SAFE_INTEGER);
  compress(block: Buffer): Promise<Buffer> {
    return this.#ctx.run(block);
  }
  close(): void {
    this.#ctx.close();
  }
}

export class HeaderDecompressor {
  readonly #ctx: ZlibContext;
  constructor(limit = MAX_HEADER_BLOCK) {
    this.#ctx = new ZlibContext(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }), limit);
  }
  decompress(data: Buffer): Promise<Buffer> {
    return this.#ctx.run(data);
  }
  close(): void {
    this.#ctx.close();
  }
}

// ---- frames ----

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_LENGTH) throw new RangeError(`frame payload of ${payload.length} bytes is too large`);
  const h = Buffer.alloc(FRAME_HEADER_SIZE);
  h.writeUInt32BE((0x80000000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  h.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([h, payload]);
}

export function encodeDataFrame(streamId: number, data: Buffer, fin: boolean): Buffer {
  if (data.length > MAX_FRAME_LENGTH) throw new RangeError(`frame payload of ${data.length} bytes is too large`);
  const h = Buffer.alloc(FRAME_HEADER_SIZE);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE((((fin ? FLAG_FIN : 0) << 24) | data.length) >>> 0, 4);
  return data.length ? Buffer.concat([h, data]) : h;
}

/** Serialize a frame; frames carrying headers go through the session's compressor. */
export async function encodeFrame(f: Frame, compressor: HeaderCompressor): Promise<Buffer> {
  switch (f.type) {
    case 'data':
      return encodeDataFrame(f.streamId, f.data, f.fin);
    case 'syn_stream': {
      const block = await compressor.compress(encodeHeaderBlock(f.headers));
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(f.streamId & 0x7fffffff, 0);
      fixed.writeUInt32BE(f.associatedTo & 0x7fffffff, 4);
      fixed[8] = (f.priority & 0x7) << 5;
      fixed[9] = f.slot & 0xff;
      const flags = (f.fin ? FLAG_FIN : 0) | (f.unidirectional ? FLAG_UNIDIRECTIONAL : 0);
      return controlFrame(FrameType.SYN_STREAM, flags, Buffer.concat([fixed, block]));
    }
    case 'syn_reply':
    case 'headers': {
      const block = await compressor.compress(encodeHeaderBlock(f.headers));
      const type = f.type === 'syn_reply' ? FrameType.SYN_REPLY : FrameType.HEADERS;
      return controlFrame(type, f.fin ? FLAG_FIN : 0, Buffer.concat([u32(f.streamId & 0x7fffffff), block]));
    }
    case 'rst_stream':
      return controlFrame(FrameType.RST_STREAM, 0, Buffer.concat([u32(f.streamId & 0x7fffffff), u32(f.status)]));
    case 'settings': {
      const parts = [u32(f.entries.length)];
      for (const e of f.entries) parts.push(u32(((e.flags & 0xff) << 24) | (e.id & 0xffffff)), u32(e.value));
      return controlFrame(FrameType.SETTINGS, f.clear ? FLAG_SETTINGS_CLEAR : 0, Buffer.concat(parts));
    }
    case 'ping':
      return controlFrame(FrameType.PING, 0, u32(f.id));
    case 'goaway':
      return controlFrame(FrameType.GOAWAY, 0, Buffer.concat([u32(f.lastGoodStreamId & 0x7fffffff), u32(f.status)]));
    case 'window_update':
      return controlFrame(
        FrameType.WINDOW_UPDATE,
        0,
        Buffer.concat([u32(f.streamId & 0x7fffffff), u32(f.delta & 0x7fffffff)]),
      );
    case 'unknown':
      return controlFrame(f.frameType, f.flags, f.payload);
  }
}

/**
 * Interpret a raw frame. Throws SpdyProtocolError: with streamId 0 when the session cannot go on
 * (bad version, wrong fixed lengths, a broken compression stream), with the stream's id when only
 * that stream is affected.
 */
export async function decodeFrame(raw: RawFrame, decompressor: HeaderDecompressor): Promise<Frame> {
  if (!raw.control) {
    if (raw.streamId === 0) throw new SpdyProtocolError('DATA frame on stream 0');
    return { type: 'data', streamId: raw.streamId, fin: (raw.flags & FLAG_FIN) !== 0, data: raw.payload };
  }
  if (raw.version !== SPDY_VERSION)
    throw new SpdyProtocolError(`unsupported SPDY version ${raw.version}`, 0, RstStatus.UNSUPPORTED_VERSION);
  const p = raw.payload;
  const need = (ok: boolean, what: string): void => {
    if (!ok) throw new SpdyProtocolError(`invalid ${what} frame length ${p.length}`);
  };
  const inflate = async (data: Buffer, streamId: number): Promise<SpdyHeaders> => {
    let block: Buffer;
    try {
      block = await decompressor.decompress(data);
    } catch (e) {
      throw new SpdyProtocolError(`header decompression failed: ${(e as Error).message}`);
    }
    return decodeHeaderBlock(block, streamId);
  };
  switch (raw.frameType) {
    case FrameType.SYN_STREAM: {
      need(p.length >= 10, 'SYN_STREAM');
      const streamId = p.readUInt32BE(0) & 0x7fffffff;
      const headers = await inflate(p.subarray(10), streamId);
      if (streamId === 0) throw new SpdyProtocolError('SYN_STREAM with stream id 0');
      return {
        type: 'syn_stream',
        streamId,
        associatedTo: p.readUInt32BE(4) & 0x7fffffff,
        priority: p[8]! >> 5,
        slot: p[9]!,
        fin: (raw.flags & FLAG_FIN) !== 0,
        unidirectional: (raw.flags & FLAG_UNIDIRECTIONAL) !== 0,
        headers,
      };
    }
    case FrameType.SYN_REPLY:
    case FrameType.HEADERS: {
      const name = raw.frameType === FrameType.SYN_REPLY ? 'SYN_REPLY' : 'HEADERS';
      need(p.length >= 4, name);
      const streamId = p.readUInt32BE(0) & 0x7fffffff;
      const headers = await inflate(p.subarray(4), streamId);
      if (streamId === 0) throw new SpdyProtocolError(`${name} with stream id 0`);
      const fin = (raw.flags & FLAG_FIN) !== 0;
      return raw.frameType === FrameType.SYN_REPLY
        ? { type: 'syn_reply', streamId, fin, headers }
        : { type: 'headers', streamId, fin, headers };
    }
    case FrameType.RST_STREAM: {
      need(p.length === 8, 'RST_STREAM');
      const streamId = p.readUInt32BE(0) & 0x7fffffff;
      const status = p.readUInt32BE(4);
      if (streamId === 0) throw new SpdyProtocolError('RST_STREAM with stream id 0');
      if (status === 0) throw new SpdyProtocolError('RST_STREAM with status 0');
      return { type: 'rst_stream', streamId, status };
    }
    case FrameType.SETTINGS: {
      need(p.length >= 4, 'SETTINGS');
      const n = p.readUInt32BE(0);
      need(p.length === 4 + n * 8, 'SETTINGS');
      const entries: SettingEntry[] = [];
      for (let i = 0; i < n; i++) {
        const word = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: word >>> 24, id: word & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', clear: (raw.flags & FLAG_SETTINGS_CLEAR) !== 0, entries };
    }
    case FrameType.PING:
      need(p.length === 4, 'PING');
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FrameType.GOAWAY:
      // SPDY/2 GOAWAY had no status; accept 4 bytes as status OK like lenient peers do
      need(p.length === 8 || p.length === 4, 'GOAWAY');
      return {
        type: 'goaway',
        lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff,
        status: p.length === 8 ? p.readUInt32BE(4) : 0,
      };
    case FrameType.WINDOW_UPDATE: {
      need(p.length === 8, 'WINDOW_UPDATE');
      const delta = p.readUInt32BE(4) & 0x7fffffff;
      const streamId = p.readUInt32BE(0) & 0x7fffffff;
      if (delta === 0) throw new SpdyProtocolError('WINDOW_UPDATE with delta 0', streamId);
      return { type: 'window_update', streamId, delta };
    }
    default:
      return { type: 'unknown', frameType: raw.frameType, flags: raw.flags, payload: p };
  }
}
