// A SPDY/3.1 session over any Duplex (a TCP/TLS socket after `Upgrade: SPDY/3.1`, or a WebSocket
// carrying the SPDY byte stream as kubectl's port-forward tunnel does), with streams exposed as
// Duplexes. It serves the kubelet side of port-forward and exec for old and new kubectl; it also
// works as a client, which the tests use.
//
// Hand-written: the only npm implementations (spdy, spdy-transport) have been unmaintained since
// 2018-2020 and are built for HTTP-over-SPDY, not for raw multiplexed streams.
//
// Behaviour chosen to match Go's moby/spdystream (the peer in practice):
// - every stream the peer opens is offered through the 'stream' event; the handler accepts it with
//   `reply()` or refuses it with `reset()`. `end()` half-closes (empty DATA frame with FIN).
// - flow control follows SPDY/3.1 (64 KiB initial windows, per stream and per session, WINDOW_UPDATE
//   sent as the reader consumes data), but spdystream never sends WINDOW_UPDATE nor honours ours,
//   so our send windows are only enforced once the peer has shown it takes part (it sent a
//   WINDOW_UPDATE or SETTINGS_INITIAL_WINDOW_SIZE); a peer that overruns our receive window is not
//   reset but slowed down by pausing the transport until the stream's reader catches up.
// - nothing here throws at the peer's bad input or emits 'error' events: malformed frames end the
//   session with GOAWAY(PROTOCOL_ERROR), stream-level mistakes with RST_STREAM, and the session
//   reports its end through 'close' (with the error, if any).

import { Duplex } from 'node:stream';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  DEFAULT_WINDOW,
  FrameReader,
  GoAwayStatus,
  HeaderCompressor,
  HeaderDecompressor,
  MAX_WINDOW,
  RstStatus,
  SettingId,
  SpdyProtocolError,
  decodeFrame,
  encodeFrame,
  type Frame,
  type SpdyHeaders,
} from './frames.ts';

export * from './frames.ts';

export interface SpdySessionOptions {
  /** server sessions accept odd stream ids and open even ones (and the reverse for clients) */
  server: boolean;
  /** our per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE); default 64 KiB */
  initialWindowSize?: number;
  /** largest DATA frame payload we send; default 32 KiB */
  maxDataFrame?: number;
}

export interface OpenStreamOptions {
  fin?: boolean;
  priority?: number;
}

const kData = Symbol('data');
const kReply = Symbol('reply');
const kHeaders = Symbol('headers');
const kReset = Symbol('reset');
const kWindow = Symbol('window');
const kAbort = Symbol('abort');
const kNoSend = Symbol('noSend');

/** What a stream needs from its session; closures so the session keeps its fields private. */
interface StreamHost {
  send(frame: Frame): Promise<void>;
  alive(): boolean;
  flowControlled(): boolean;
  sessionSendWindow(): number;
  consumeSessionSendWindow(n: number): void;
  waitWindow(): Promise<void>;
  wake(): void;
  pause(s: SpdyStream): void;
  resume(s: SpdyStream): void;
  closed(s: SpdyStream): void;
  maxDataFrame: number;
}

export class SpdyStream extends Duplex {
  readonly id: number;
  /** headers of the SYN_STREAM that opened the stream */
  readonly headers: SpdyHeaders;
  readonly local: boolean;
  /** headers of the SYN_REPLY (streams we opened) */
  replyHeaders: SpdyHeaders | undefined;
  /** RST_STREAM status, sent or received */
  resetStatus: number | undefined;
  readonly #host: StreamHost;
  readonly #initialRecvWindow: number;
  #sendWindow: number;
  #recvWindow: number;
  #pushed = 0;
  #credited = 0;
  #replied = false;
  #localFin = false;
  #remoteFin = false;
  #overrun = false;

  /** @internal created by SpdySession */
  constructor(
    host: StreamHost,
    id: number,
    headers: SpdyHeaders,
    local: boolean,
    sendWindow: number,
    recvWindow: number,
  ) {
    super({ allowHalfOpen: true, readableHighWaterMark: DEFAULT_WINDOW, writableHighWaterMark: DEFAULT_WINDOW });
    this.#host = host;
    this.id = id;
    this.headers = headers;
    this.local = local;
    this.#sendWindow = sendWindow;
    this.#recvWindow = recvWindow;
    this.#initialRecvWindow = recvWindow;
  }

  /** Accept a stream the peer opened (SYN_REPLY). Idempotent. */
  reply(headers: SpdyHeaders = {}, fin = false): void {
    if (this.local || this.#replied || this.destroyed || !this.#host.alive()) return;
    this.#replied = true;
    void this.#host.send({ type: 'syn_reply', streamId: this.id, fin, headers });
    if (fin) {
      this.#localFin = true;
      this.end();
      this.#maybeClosed();
    }
  }

  /** Abort both directions with RST_STREAM. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.resetStatus === undefined && !(this.#localFin && this.#remoteFin)) {
      this.resetStatus = status;
      if (this.#host.alive()) void this.#host.send({ type: 'rst_stream', streamId: this.id, status });
    }
    this.destroy();
  }

  /** Send a HEADERS frame on this stream. */
  sendHeaders(headers: SpdyHeaders): void {
    if (this.destroyed || this.#localFin || !this.#host.alive()) return;
    this.#ensureReplied();
    void this.#host.send({ type: 'headers', streamId: this.id, fin: false, headers });
  }

  /** Wait for the peer's SYN_REPLY on a stream we opened; rejects if the stream is reset or closed first. */
  waitReply(): Promise<SpdyHeaders> {
    if (this.replyHeaders) return Promise.resolve(this.replyHeaders);
    return new Promise((resolve, reject) => {
      const onReply = (h: SpdyHeaders): void => {
        this.off('close', onClose);
        resolve(h);
      };
      const onClose = (): void => {
        this.off('reply', onReply);
        reject(
          new Error(
            `stream ${this.id} closed before its reply${this.resetStatus ? ` (RST_STREAM status ${this.resetStatus})` : ''}`,
          ),
        );
      };
      this.once('reply', onReply);
      this.once('close', onClose);
    });
  }

  /** bytes we may still send before the peer grants more (when it enforces flow control) */
  get sendWindow(): number {
    return this.#sendWindow;
  }

  #ensureReplied(): void {
    // data must not precede our SYN_REPLY on a stream the peer opened
    if (!this.local && !this.#replied) this.reply();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#sendData(chunk).then(
      () => {
        cb();
      },
      () => {
        cb();
      },
    );
  }

  async #sendData(chunk: Buffer): Promise<void> {
    this.#ensureReplied();
    let off = 0;
    while (off < chunk.length) {
      if (this.destroyed || this.#localFin || this.resetStatus !== undefined || !this.#host.alive()) return;
      let n = Math.min(chunk.length - off, this.#host.maxDataFrame);
      if (this.#host.flowControlled()) {
        const avail = Math.min(this.#sendWindow, this.#host.sessionSendWindow());
        if (avail <= 0) {
          await this.#host.waitWindow();
          continue;
        }
        n = Math.min(n, avail);
      }
      this.#sendWindow -= n;
      this.#host.consumeSessionSendWindow(n);
      await this.#host.send({ type: 'data', streamId: this.id, fin: false, data: chunk.subarray(off, off + n) });
      off += n;
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.#localFin && this.resetStatus === undefined && this.#host.alive()) {
      this.#ensureReplied();
      this.#localFin = true;
      void this.#host.send({ type: 'data', streamId: this.id, fin: true, data: Buffer.alloc(0) });
    }
    this.#localFin = true;
    this.#maybeClosed();
    cb();
  }

  override _read(): void {
    // read() calls _read before taking its bytes out of the buffer, and not again until the next
    // push: look at what was consumed once this read has completed
    process.nextTick(() => {
      this.#afterRead();
    });
  }

  #afterRead(): void {
    if (this.#overrun) {
      this.#overrun = false;
      this.#host.resume(this);
    }
    if (this.#remoteFin || this.destroyed || !this.#host.alive()) return;
    const consumed = this.#pushed - this.readableLength - this.#credited;
    if (consumed > 0 && this.#recvWindow < this.#initialRecvWindow / 2) {
      this.#credited += consumed;
      this.#recvWindow += consumed;
      void this.#host.send({ type: 'window_update', streamId: this.id, delta: consumed });
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!(this.#localFin && this.#remoteFin) && this.resetStatus === undefined && this.#host.alive()) {
      this.resetStatus = RstStatus.CANCEL;
      void this.#host.send({ type: 'rst_stream', streamId: this.id, status: RstStatus.CANCEL });
    }
    this.#localFin = this.#remoteFin = true;
    if (this.#overrun) {
      this.#overrun = false;
      this.#host.resume(this);
    }
    this.#host.closed(this);
    this.#host.wake();
    cb(err);
  }

  #maybeClosed(): void {
    if (this.#localFin && this.#remoteFin) this.#host.closed(this);
  }

  #remoteEnd(): void {
    if (this.#remoteFin) return;
    this.#remoteFin = true;
    this.push(null);
    this.#maybeClosed();
  }

  /** @internal */
  [kData](data: Buffer, fin: boolean): void {
    if (this.destroyed || this.#remoteFin) return;
    if (data.length) {
      this.#recvWindow -= data.length;
      this.#pushed += data.length;
      if (!this.push(data) && this.#recvWindow < 0 && !this.#overrun) {
        this.#overrun = true;
        this.#host.pause(this);
      }
    }
    if (fin) this.#remoteEnd();
  }

  /** @internal */
  [kReply](headers: SpdyHeaders, fin: boolean): void {
    if (!this.local || this.replyHeaders) return;
    this.replyHeaders = headers;
    this.#replied = true;
    this.emit('reply', headers);
    if (fin) this.#remoteEnd();
  }

  /** @internal */
  [kHeaders](headers: SpdyHeaders, fin: boolean): void {
    if (this.destroyed) return;
    this.emit('headers', headers);
    if (fin) this.#remoteEnd();
  }

  /** @internal the peer reset the stream */
  [kReset](status: number): void {
    this.resetStatus ??= status;
    this.#localFin = this.#remoteFin = true;
    this.destroy();
  }

  /** @internal returns false when the window would overflow */
  [kWindow](delta: number): boolean {
    if (this.#sendWindow + delta > MAX_WINDOW) return false;
    this.#sendWindow += delta;
    return true;
  }

  /** @internal a unidirectional stream: the peer only sends */
  [kNoSend](): void {
    this.#localFin = true;
    this.end();
  }

  /** @internal the session is gone: no frames can be sent any more */
  [kAbort](): void {
    this.#localFin = this.#remoteFin = true;
    this.destroy();
  }
}

interface SessionEvents {
  stream: [SpdyStream];
  /** the peer sent GOAWAY */
  goaway: [lastGoodStreamId: number, status: number];
  close: [error: Error | undefined];
}

export class SpdySession extends EventEmitter<SessionEvents> {
  readonly server: boolean;
  /** why the session ended, when it did not end cleanly */
  closeError: Error | undefined;
  readonly #transport: Duplex;
  readonly #reader = new FrameReader();
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor = new HeaderDecompressor();
  readonly #streams = new Map<number, SpdyStream>();
  readonly #host: StreamHost;
  readonly #ourInitialWindow: number;
  readonly #pings = new Map<number, { start: bigint; resolve: (ms: number) => void; reject: (e: Error) => void }>();
  readonly #waiters = new Set<() => void>();
  readonly #paused = new Set<SpdyStream>();
  #nextStreamId: number;
  #nextPingId: number;
  #lastRemoteId = 0;
  #peerInitialWindow = DEFAULT_WINDOW;
  #sessionSendWindow = DEFAULT_WINDOW;
  #sessionUncredited = 0;
  #flowControlled = false;
  #out: Promise<void> = Promise.resolve();
  #pumping = false;
  #transportEnded = false;
  #goawaySent = false;
  #goawayReceived = false;
  #closed = false;
  #lingerTimer: NodeJS.Timeout | undefined;

  constructor(transport: Duplex, opts: SpdySessionOptions) {
    super();
    this.server = opts.server;
    this.#transport = transport;
    this.#nextStreamId = opts.server ? 2 : 1;
    this.#nextPingId = opts.server ? 2 : 1;
    this.#ourInitialWindow = opts.initialWindowSize ?? DEFAULT_WINDOW;
    const maxDataFrame = opts.maxDataFrame ?? 32 * 1024;
    this.#host = {
      send: (f) => this.#send(f),
      alive: () => !this.#closed,
      flowControlled: () => this.#flowControlled,
      sessionSendWindow: () => this.#sessionSendWindow,
      consumeSessionSendWindow: (n) => {
        this.#sessionSendWindow -= n;
      },
      waitWindow: () =>
        new Promise<void>((resolve) => {
          if (this.#closed) resolve();
          else this.#waiters.add(resolve);
        }),
      wake: () => {
        this.#wake();
      },
      pause: (s) => {
        this.#paused.add(s);
        this.#transport.pause();
      },
      resume: (s) => {
        this.#paused.delete(s);
        if (this.#paused.size === 0 && !this.#closed) this.#transport.resume();
      },
      closed: (s) => {
        if (this.#streams.get(s.id) === s) this.#streams.delete(s.id);
        if (this.#streams.size === 0 && (this.#goawaySent || this.#goawayReceived)) this.#finish();
      },
      maxDataFrame,
    };

    // small control frames (WINDOW_UPDATE, SYN_REPLY) must not wait for Nagle and delayed ACKs
    (transport as Partial<Pick<Socket, 'setNoDelay'>>).setNoDelay?.(true);
    transport.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk);
      void this.#pump();
    });
    transport.on('end', () => {
      this.#transportEnded = true;
      void this.#pump();
    });
    transport.on('error', (e: Error) => {
      this.#teardown(e);
    });
    transport.on('close', () => {
      if (this.#lingerTimer) clearTimeout(this.#lingerTimer);
      // frames that arrived before the close are still delivered; the pump tears down after them
      this.#transportEnded = true;
      void this.#pump();
    });
    // announcing our window tells a peer that we take part in flow control (spdystream ignores it)
    void this.#send({
      type: 'settings',
      clear: false,
      entries: [{ id: SettingId.INITIAL_WINDOW_SIZE, flags: 0, value: this.#ourInitialWindow }],
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** streams currently open (either direction still open) */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Open a stream (SYN_STREAM). Throws when the session can no longer create streams. */
  openStream(headers: SpdyHeaders, opts: OpenStreamOptions = {}): SpdyStream {
    if (this.#closed || this.#goawaySent || this.#goawayReceived)
      throw new Error('SPDY session is closing; cannot open new streams');
    const id = this.#nextStreamId;
    if (id > MAX_WINDOW) throw new Error('SPDY stream ids exhausted');
    this.#nextStreamId += 2;
    const s = new SpdyStream(this.#host, id, { ...headers }, true, this.#peerInitialWindow, this.#ourInitialWindow);
    this.#streams.set(id, s);
    void this.#send({
      type: 'syn_stream',
      streamId: id,
      associatedTo: 0,
      priority: opts.priority ?? 0,
      slot: 0,
      fin: opts.fin ?? false,
      unidirectional: false,
      headers,
    });
    if (opts.fin) s.end();
    return s;
  }

  /** Round-trip time of a PING, in milliseconds. */
  ping(): Promise<number> {
    if (this.#closed) return Promise.reject(new Error('SPDY session closed'));
    const id = this.#nextPingId;
    this.#nextPingId = id + 2 > MAX_WINDOW ? (this.server ? 2 : 1) : id + 2;
    return new Promise((resolve, reject) => {
      this.#pings.set(id, { start: process.hrtime.bigint(), resolve, reject });
      void this.#send({ type: 'ping', id });
    });
  }

  /** Graceful close: GOAWAY, then the transport ends once open streams finish. */
  close(): void {
    if (this.#closed) return;
    if (!this.#goawaySent) {
      this.#goawaySent = true;
      void this.#send({ type: 'goaway', lastGoodStreamId: this.#lastRemoteId, status: GoAwayStatus.OK });
    }
    if (this.#streams.size === 0) this.#finish();
  }

  /**
   * Go's httpstream connection.Close(): every stream still open is reset, then GOAWAY, and the
   * transport ends once everything queued has been written.
   */
  shutdown(): void {
    if (this.#closed) return;
    for (const s of [...this.#streams.values()]) s.reset();
    this.close();
  }

  /** Abrupt close: streams are destroyed and the transport with them. */
  destroy(err?: Error): void {
    this.#teardown(err);
    this.#transport.destroy();
  }

  #wake(): void {
    const w = [...this.#waiters];
    this.#waiters.clear();
    for (const r of w) r();
  }

  #send(frame: Frame): Promise<void> {
    const next = this.#out.then(async () => {
      if (this.#closed) return;
      const buf = await encodeFrame(frame, this.#compressor);
      if (this.#closed || this.#transport.destroyed || this.#transport.writableEnded) return;
      if (!this.#transport.write(buf)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            this.#transport.off('drain', done);
            this.#transport.off('close', done);
            resolve();
          };
          this.#transport.on('drain', done);
          this.#transport.on('close', done);
        });
      }
    });
    this.#out = next.catch((e: unknown) => {
      this.#teardown(e instanceof Error ? e : new Error(String(e)));
    });
    return this.#out;
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        if (this.#closed) return;
        const raw = this.#reader.next();
        if (!raw) break;
        let frame: Frame;
        try {
          frame = await decodeFrame(raw, this.#decompressor);
        } catch (e) {
          if (e instanceof SpdyProtocolError && e.streamId !== 0) {
            this.#streamError(e.streamId, e.status);
            continue;
          }
          this.#protocolError(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        if (this.#closed) return;
        this.#handle(frame);
      }
      if (this.#transportEnded) this.#teardown();
    } finally {
      this.#pumping = false;
    }
  }

  #streamError(streamId: number, status: number): void {
    const s = this.#streams.get(streamId);
    if (!s && this.#isRemoteId(streamId) && streamId > this.#lastRemoteId) this.#lastRemoteId = streamId;
    if (s) s.reset(status);
    else void this.#send({ type: 'rst_stream', streamId, status });
  }

  #protocolError(err: Error): void {
    if (this.#closed) return;
    this.#goawaySent = true;
    void this.#send({ type: 'goaway', lastGoodStreamId: this.#lastRemoteId, status: GoAwayStatus.PROTOCOL_ERROR });
    this.#finish(err);
  }

  /** end the transport after everything queued has been written */
  #finish(err?: Error): void {
    void this.#out.then(() => {
      this.#teardown(err);
    });
  }

  #isRemoteId(id: number): boolean {
    return this.server ? id % 2 === 1 : id % 2 === 0;
  }

  #creditSession(n: number): void {
    this.#sessionUncredited += n;
    if (this.#sessionUncredited >= DEFAULT_WINDOW / 2) {
      const delta = this.#sessionUncredited;
      this.#sessionUncredited = 0;
      void this.#send({ type: 'window_update', streamId: 0, delta });
    }
  }

  #handle(f: Frame): void {
    switch (f.type) {
      case 'data': {
        // the session window is credited on receipt: per-stream windows do the pacing, so one slow
        // reader cannot starve the others
        this.#creditSession(f.data.length);
        const s = this.#streams.get(f.streamId);
        if (s) s[kData](f.data, f.fin);
        else if (this.#isRemoteId(f.streamId) ? f.streamId > this.#lastRemoteId : f.streamId >= this.#nextStreamId) {
          void this.#send({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.INVALID_STREAM });
        }
        return;
      }
      case 'syn_stream': {
        if (!this.#isRemoteId(f.streamId) || f.streamId <= this.#lastRemoteId) {
          void this.#send({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.PROTOCOL_ERROR });
          return;
        }
        this.#lastRemoteId = f.streamId;
        if (this.#goawaySent || this.listenerCount('stream') === 0) {
          void this.#send({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.REFUSED_STREAM });
          return;
        }
        const s = new SpdyStream(
          this.#host,
          f.streamId,
          f.headers,
          false,
          this.#peerInitialWindow,
          this.#ourInitialWindow,
        );
        this.#streams.set(f.streamId, s);
        if (f.fin) s[kData](Buffer.alloc(0), true);
        if (f.unidirectional) s[kNoSend]();
        this.emit('stream', s);
        return;
      }
      case 'syn_reply':
        this.#streams.get(f.streamId)?.[kReply](f.headers, f.fin);
        return;
      case 'headers':
        this.#streams.get(f.streamId)?.[kHeaders](f.headers, f.fin);
        return;
      case 'rst_stream':
        this.#streams.get(f.streamId)?.[kReset](f.status);
        return;
      case 'settings':
        for (const e of f.entries) {
          if (e.id !== SettingId.INITIAL_WINDOW_SIZE) continue;
          if (e.value > MAX_WINDOW) {
            this.#protocolError(new SpdyProtocolError(`SETTINGS_INITIAL_WINDOW_SIZE ${e.value} is too large`));
            return;
          }
          const delta = e.value - this.#peerInitialWindow;
          this.#peerInitialWindow = e.value;
          for (const s of this.#streams.values()) s[kWindow](delta);
          this.#flowControlled = true;
          this.#wake();
        }
        return;
      case 'ping': {
        if (this.#isRemoteId(f.id)) {
          void this.#send({ type: 'ping', id: f.id });
          return;
        }
        const p = this.#pings.get(f.id);
        if (p) {
          this.#pings.delete(f.id);
          p.resolve(Number(process.hrtime.bigint() - p.start) / 1e6);
        }
        return;
      }
      case 'goaway': {
        this.#goawayReceived = true;
        this.emit('goaway', f.lastGoodStreamId, f.status);
        for (const s of [...this.#streams.values()])
          if (s.local && s.id > f.lastGoodStreamId) s[kReset](RstStatus.REFUSED_STREAM);
        if (this.#streams.size === 0) this.#finish();
        return;
      }
      case 'window_update': {
        this.#flowControlled = true;
        if (f.streamId === 0) {
          this.#sessionSendWindow = Math.min(MAX_WINDOW, this.#sessionSendWindow + f.delta);
        } else {
          const s = this.#streams.get(f.streamId);
          if (s && !s[kWindow](f.delta)) s.reset(RstStatus.FLOW_CONTROL_ERROR);
        }
        this.#wake();
        return;
      }
      case 'unknown':
        return;
    }
  }

  #teardown(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeError = err;
    for (const s of [...this.#streams.values()]) s[kAbort]();
    this.#streams.clear();
    this.#paused.clear();
    this.#wake();
    for (const p of this.#pings.values()) p.reject(new Error('SPDY session closed'));
    this.#pings.clear();
    this.#compressor.close();
    this.#decompressor.close();
    const t = this.#transport;
    if (!t.destroyed) {
      t.resume();
      if (!t.writableEnded) t.end();
      // a peer that never closes its side must not keep the socket (and the process) alive
      this.#lingerTimer = setTimeout(() => t.destroy(), 2000);
      this.#lingerTimer.unref();
    }
    this.emit('close', err);
  }
}
