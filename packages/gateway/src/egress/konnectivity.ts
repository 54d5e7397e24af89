// Konnectivity egress: a Dialer that reaches `ClusterProxy` clusters through an
// apiserver-network-proxy (OCM cluster-proxy) proxy-server. One gRPC channel (one mTLS HTTP/2
// connection, ServerName = --proxy-host as upstream) is shared by every dial; each dialed
// connection is its own `/ProxyService/Proxy` bidi stream, as the Go konnectivity-client's
// single-use tunnel: DIAL_REQ{tcp, "{cluster}:443", random} → DIAL_RSP → DATA both ways →
// CLOSE_REQ/CLOSE_RSP. The returned Duplex carries TLS to the member; the proxy's keep-alive pools
// keep it open, so unlike upstream (a new gRPC connection, stream and TLS handshake per request)
// steady-state requests pay neither.
//
// Keepalive: a real proxy-server (v0.31) enforces a 5-minute minimum client ping interval and
// answers more frequent pings with GOAWAY `too_many_pings`, killing every stream on the channel;
// we therefore never ping more often than that (upstream's 20 s would break long-lived tunnels).

import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/index.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { DialTarget, Dialer } from './types.ts';
import { DialError, type DialErrorKind } from './direct.ts';
import { PROXY_METHOD, int64, loadKonnectivityProtocol, type OutPacket, type Packet } from './konnectivity-proto.ts';

/** The proxy-server enforces this minimum client ping interval (see header). */
export const MIN_KEEPALIVE_TIME_MS = 5 * 60_000;
const DEFAULT_DIAL_TIMEOUT_MS = 30_000;
/** as the Go client's CloseTimeout: how long a closing stream may wait for the server */
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** bytes per DATA packet; keeps every message far below gRPC's 4 MiB default receive limit */
const MAX_DATA_BYTES = 64 * 1024;
/** the port OCM cluster-proxy agents route on: the "URL" of a ClusterProxy cluster is https://{cluster} */
const CLUSTER_PROXY_PORT = 443;

export type TunnelFailureReason =
  | 'unavailable' // the proxy-server cannot be reached
  | 'dial_error' // DIAL_RSP carried an error (no agent, agent could not connect)
  | 'dial_closed' // DIAL_CLS for our dial
  | 'timeout'
  | 'aborted'
  | 'stream' // the gRPC stream failed or ended
  | 'closed'; // the dialer was closed

/** How the proxy answers each failure (a DialError kind: 504 for timeouts, 503 for the rest). */
const DIAL_ERROR_KIND: Record<TunnelFailureReason, DialErrorKind> = {
  unavailable: 'unreachable',
  dial_error: 'unreachable',
  dial_closed: 'unreachable',
  timeout: 'timeout',
  aborted: 'aborted',
  stream: 'unreachable',
  closed: 'unreachable',
};

/**
 * Every tunnel failure, during the dial or later on an open connection; the message names the
 * tunnel. A DialError, so the proxy maps it like any egress failure (503 `Status`, 504 on timeout).
 */
export class KonnectivityError extends DialError {
  readonly tunnel: string;
  readonly reason: TunnelFailureReason;
  /** gRPC status code when the failure came from the stream */
  readonly grpcCode: grpc.status | undefined;
  constructor(
    tunnel: string,
    reason: TunnelFailureReason,
    message: string,
    opts?: { cause?: unknown; grpcCode?: grpc.status },
  ) {
    super(
      DIAL_ERROR_KIND[reason],
      `${tunnel}: ${message}`,
      opts?.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.name = 'KonnectivityError';
    this.tunnel = tunnel;
    this.reason = reason;
    this.grpcCode = opts?.grpcCode;
  }
}

export interface KonnectivityDialerOptions {
  /** proxy-server host (also the TLS ServerName, as upstream) */
  host: string;
  port: number;
  /** PEM: CA of the proxy-server, client certificate and key for mTLS */
  ca: string;
  cert: string;
  key: string;
  /** HTTP/2 ping interval; raised to MIN_KEEPALIVE_TIME_MS when lower (default 5 min) */
  keepaliveTimeMs?: number;
  /** DIAL_REQ → DIAL_RSP deadline, including connecting to the proxy-server (default 30 s) */
  dialTimeoutMs?: number;
  /** how long a closed connection waits for the server to end its stream before cancelling it (default 10 s) */
  closeTimeoutMs?: number;
  /** upper bound of the reconnect backoff while the proxy-server is down (default 2 s) */
  maxReconnectBackoffMs?: number;
  metrics?: Metrics;
  logger?: Logger;
}

/** A Duplex byte stream over one Konnectivity connection; `end()` sends CLOSE_REQ. */
export interface KonnectivitySocket extends Duplex {
  readonly cluster: string;
  readonly connectID: string;
}

export class KonnectivityDialer implements Dialer {
  /** `konnectivity tunnel to host:port`, the prefix of every error */
  readonly tunnel: string;
  /** the HTTP/2 keepalive in use (never below MIN_KEEPALIVE_TIME_MS) */
  readonly keepaliveTimeMs: number;
  readonly #client: grpc.Client;
  readonly #opts: Required<Pick<KonnectivityDialerOptions, 'dialTimeoutMs' | 'closeTimeoutMs'>> &
    KonnectivityDialerOptions;
  readonly #tunnels = new Set<Tunnel>();
  #closed = false;

  constructor(opts: KonnectivityDialerOptions) {
    const { host, port } = opts;
    if (!host) throw new Error('konnectivity: proxy-server host is empty');
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`konnectivity: invalid port ${port}`);
    const hostPort = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.tunnel = `konnectivity tunnel to ${hostPort}`;
    this.#opts = {
      ...opts,
      dialTimeoutMs: opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      closeTimeoutMs: opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    };
    const keepalive = Math.max(opts.keepaliveTimeMs ?? MIN_KEEPALIVE_TIME_MS, MIN_KEEPALIVE_TIME_MS);
    if (opts.keepaliveTimeMs !== undefined && opts.keepaliveTimeMs < MIN_KEEPALIVE_TIME_MS)
      opts.logger?.warn(
        { requestedMs: opts.keepaliveTimeMs, usedMs: keepalive },
        'konnectivity keepalive raised to the proxy-server minimum ping interval',
      );
    this.keepaliveTimeMs = keepalive;
    loadKonnectivityProtocol();
    let creds: grpc.ChannelCredentials;
    try {
      // grpc-js ignores an unparsable CA and only fails at connect time: check everything up front
      new X509Certificate(opts.ca);
      if (!new X509Certificate(opts.cert).checkPrivateKey(createPrivateKey(opts.key)))
        throw new Error('the client certificate does not match the key');
      creds = grpc.credentials.createSsl(Buffer.from(opts.ca), Buffer.from(opts.key), Buffer.from(opts.cert));
    } catch (e) {
      throw new Error(
        `konnectivity: invalid TLS material for the proxy-server (CA, client certificate or key): ${(e as Error).message}`,
        { cause: e },
      );
    }
    this.#client = new grpc.Client(`dns:${hostPort}`, creds, {
      'grpc.ssl_target_name_override': host,
      'grpc.default_authority': hostPort,
      'grpc.keepalive_time_ms': keepalive,
      'grpc.keepalive_timeout_ms': 20_000,
      // pings without an open stream count as strikes on the proxy-server
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': opts.maxReconnectBackoffMs ?? 2_000,
      // a bidi stream must never be replayed, and retry buffering would copy every DATA packet
      'grpc.enable_retries': 0,
      // one private HTTP/2 connection per dialer, not one shared with other channels of the process
      'grpc.use_local_subchannel_pool': 1,
      'grpc.primary_user_agent': 'cluster-gateway',
    });
  }

  /** open connections and pending dials */
  get activeTunnels(): number {
    return this.#tunnels.size;
  }

  dial(target: DialTarget, signal?: AbortSignal): Promise<Duplex> {
    const address = `${target.cluster}:${CLUSTER_PROXY_PORT}`;
    if (this.#closed)
      return Promise.reject(this.#failed('closed', new KonnectivityError(this.tunnel, 'closed', 'dialer is closed')));
    if (signal?.aborted)
      return Promise.reject(
        this.#failed(
          'aborted',
          new KonnectivityError(this.tunnel, 'aborted', `dial ${address} aborted`, { cause: signal.reason }),
        ),
      );
    const started = performance.now();
    return new Promise<Duplex>((resolve, reject) => {
      const t = new Tunnel({
        label: this.tunnel,
        cluster: target.cluster,
        address,
        call: this.#client.makeBidiStreamRequest<OutPacket, Packet>(
          PROXY_METHOD,
          (p) => loadKonnectivityProtocol().serialize(p),
          (b) => loadKonnectivityProtocol().deserialize(b),
        ),
        dialTimeoutMs: this.#opts.dialTimeoutMs,
        closeTimeoutMs: this.#opts.closeTimeoutMs,
        signal,
        logger: this.#opts.logger,
        onDialed: (socket) => {
          this.#opts.metrics?.tunnelsDialed.inc();
          this.#opts.metrics?.tunnelsActive.inc();
          this.#opts.metrics?.tunnelDialDuration.observe((performance.now() - started) / 1000);
          resolve(socket);
        },
        onDialFailed: (err) => {
          reject(this.#failed(err.reason, err));
        },
        onSocketClosed: () => this.#opts.metrics?.tunnelsActive.dec(),
        onDone: () => this.#tunnels.delete(t),
      });
      this.#tunnels.add(t);
    });
  }

  /** Fails every connection and pending dial and closes the channel; later dials reject. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of [...this.#tunnels]) t.abort(new KonnectivityError(this.tunnel, 'closed', 'dialer is closed'));
    this.#client.close();
  }

  #failed(reason: TunnelFailureReason, err: KonnectivityError): KonnectivityError {
    this.#opts.metrics?.tunnelsFailed.inc({ reason });
    this.#opts.logger?.debug({ reason, err: err.message }, 'konnectivity dial failed');
    return err;
  }
}

/** The dialer for `--proxy-host` & co., or undefined when Konnectivity is not configured. */
export function createKonnectivityDialer(
  config: Pick<GatewayConfig, 'konnectivity'>,
  extra: Pick<KonnectivityDialerOptions, 'metrics' | 'logger'> = {},
): KonnectivityDialer | undefined {
  const k = config.konnectivity;
  if (!k) return undefined;
  return new KonnectivityDialer({
    host: k.host,
    port: k.port,
    ca: k.ca.content,
    cert: k.cert.content,
    key: k.key.content,
    ...extra,
  });
}

/** non-negative, non-zero int63 as the Go client's rand.Int63 */
function randomId(): string {
  const n = randomBytes(8).readBigUInt64BE() >> 1n;
  return (n === 0n ? 1n : n).toString();
}

interface TunnelInit {
  label: string;
  cluster: string;
  address: string;
  call: grpc.ClientDuplexStream<OutPacket, Packet>;
  dialTimeoutMs: number;
  closeTimeoutMs: number;
  signal: AbortSignal | undefined;
  logger: Logger | undefined;
  onDialed(socket: KonnectivitySocket): void;
  onDialFailed(err: KonnectivityError): void;
  onSocketClosed(): void;
  onDone(): void;
}

/** One gRPC stream: the dial, then the connection it carries, then the stream's end. */
class Tunnel {
  readonly #i: TunnelInit;
  readonly #call: grpc.ClientDuplexStream<OutPacket, Packet>;
  readonly #random = randomId();
  #phase: 'dialing' | 'open' | 'done' = 'dialing';
  #socket: Socket | undefined;
  #connectID = '';
  /** we sent CLOSE_REQ (or DIAL_CLS) and half-closed the stream */
  #ended = false;
  #callDone = false;
  #pausedByUs = false;
  #pendingWrite: ((err?: Error | null) => void) | undefined;
  #dialTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  readonly #onAbort = (): void => {
    this.#dialFailed(
      new KonnectivityError(this.#i.label, 'aborted', `dial ${this.#i.address} aborted`, {
        cause: this.#i.signal?.reason,
      }),
      true,
    );
  };

  constructor(init: TunnelInit) {
    this.#i = init;
    const call = (this.#call = init.call);
    call.on('data', (p: Packet) => {
      this.#onPacket(p);
    });
    call.on('drain', () => {
      const cb = this.#pendingWrite;
      this.#pendingWrite = undefined;
      cb?.();
    });
    // grpc-js emits 'error' for every non-OK status, then 'status'; OK only gets 'status'
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => {
      this.#onStatus(s);
    });
    this.#dialTimer = setTimeout(() => {
      this.#dialFailed(
        new KonnectivityError(init.label, 'timeout', `dial ${init.address} timed out after ${init.dialTimeoutMs} ms`),
        true,
      );
    }, init.dialTimeoutMs);
    init.signal?.addEventListener('abort', this.#onAbort, { once: true });
    call.write({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: init.address, random: this.#random } });
  }

  /** dialer closed: fail whatever this tunnel is doing and cancel the stream */
  abort(err: KonnectivityError): void {
    if (this.#phase === 'dialing') this.#dialFailed(err, false);
    else this.#socket?.destroy(err);
    this.#cancel();
  }

  #onPacket(p: Packet): void {
    if (this.#phase === 'dialing') {
      if (p.type === 'DIAL_RSP' && int64(p.dialResponse?.random) === this.#random) {
        const rsp = p.dialResponse!;
        if (rsp.error) {
          this.#dialFailed(
            new KonnectivityError(this.#i.label, 'dial_error', `dial ${this.#i.address} failed: ${rsp.error}`),
            false,
          );
          return;
        }
        this.#opened(int64(rsp.connectID) ?? '0');
      } else if (p.type === 'DIAL_CLS' && int64(p.closeDial?.random) === this.#random) {
        this.#dialFailed(
          new KonnectivityError(
            this.#i.label,
            'dial_closed',
            `dial ${this.#i.address} closed by the proxy-server (DIAL_CLS)`,
          ),
          false,
        );
      }
      // DRAIN and anything else before the dial completes is of no concern to this connection
      return;
    }
    const socket = this.#socket;
    if (this.#phase !== 'open' || !socket || socket.destroyed) return;
    switch (p.type) {
      case 'DATA': {
        const d = p.data;
        if (!d || int64(d.connectID) !== this.#connectID) return;
        if (d.error) {
          socket.destroy(new KonnectivityError(this.#i.label, 'stream', `connection ${this.#connectID}: ${d.error}`));
          return;
        }
        if (d.data.length > 0 && !socket.push(d.data)) {
          this.#pausedByUs = true;
          this.#call.pause();
        }
        return;
      }
      case 'CLOSE_RSP':
      case 'CLOSE_REQ': {
        const id = p.type === 'CLOSE_RSP' ? p.closeResponse?.connectID : p.closeRequest?.connectID;
        if (int64(id) !== this.#connectID) return;
        const error = p.type === 'CLOSE_RSP' ? p.closeResponse?.error : '';
        if (error)
          socket.destroy(
            new KonnectivityError(this.#i.label, 'stream', `connection ${this.#connectID} closed: ${error}`),
          );
        else this.#remoteEnded();
        this.#end();
        return;
      }
      default:
        // DRAIN: a hint for the proxy-server's agent choice; stray DIAL_* packets: ignored like the Go client
        return;
    }
  }

  #opened(connectID: string): void {
    this.#clearDial();
    this.#phase = 'open';
    this.#connectID = connectID;
    const socket = new Socket(this, this.#i.cluster, connectID);
    this.#socket = socket;
    this.#i.logger?.debug({ cluster: this.#i.cluster, connectID }, 'konnectivity connection open');
    this.#i.onDialed(socket);
  }

  #dialFailed(err: KonnectivityError, sendDialClose: boolean): void {
    if (this.#phase !== 'dialing') return;
    this.#phase = 'done';
    this.#clearDial();
    this.#i.onDialFailed(err);
    if (sendDialClose && !this.#callDone) {
      // tell the proxy-server to drop the pending dial, then leave the stream (the Go client does the same)
      this.#call.write({ type: 'DIAL_CLS', closeDial: { random: this.#random } });
    }
    this.#end();
  }

  #clearDial(): void {
    clearTimeout(this.#dialTimer);
    this.#dialTimer = undefined;
    this.#i.signal?.removeEventListener('abort', this.#onAbort);
  }

  /** half-close our side; the proxy-server ends the stream in turn, or we cancel it after closeTimeoutMs */
  #end(): void {
    if (this.#ended || this.#callDone) return;
    this.#ended = true;
    this.#call.end();
    this.#closeTimer = setTimeout(() => {
      this.#cancel();
    }, this.#i.closeTimeoutMs);
  }

  #cancel(): void {
    if (!this.#callDone) this.#call.cancel();
  }

  #onStatus(s: grpc.StatusObject): void {
    if (this.#callDone) return;
    this.#callDone = true;
    clearTimeout(this.#closeTimer);
    const err = this.#streamError(s);
    if (this.#phase === 'dialing') {
      this.#dialFailed(
        err ??
          new KonnectivityError(
            this.#i.label,
            'stream',
            `proxy-server ended the stream before answering the dial of ${this.#i.address}`,
          ),
        false,
      );
    } else if (this.#socket && !this.#socket.destroyed) {
      // a stream that ends cleanly is the connection's EOF (the Go proxy-server ends it after CLOSE_REQ
      // without relaying CLOSE_RSP); a failed one fails the connection at once
      if (err) this.#socket.destroy(err);
      else this.#remoteEnded();
    }
    this.#phase = 'done';
    const cb = this.#pendingWrite;
    this.#pendingWrite = undefined;
    cb?.(err ?? this.#closedError());
    this.#i.onDone();
  }

  #streamError(s: grpc.StatusObject): KonnectivityError | undefined {
    if (s.code === grpc.status.OK) return undefined;
    const name = grpc.status[s.code] as string | undefined;
    // grpc-js appends an empty "Resolution note: " to connection failures
    const details = s.details.replace(/[.\s]*Resolution note:\s*$/, '');
    if (s.code === grpc.status.UNAVAILABLE)
      return new KonnectivityError(this.#i.label, 'unavailable', `proxy-server unavailable: ${details}`, {
        grpcCode: s.code,
      });
    return new KonnectivityError(this.#i.label, 'stream', `stream failed: ${name ?? s.code}: ${details}`, {
      grpcCode: s.code,
    });
  }

  #remoteEnded(): void {
    const socket = this.#socket;
    if (!socket || socket.remoteEnded) return;
    socket.remoteEnded = true;
    socket.push(null);
  }

  #closedError(): KonnectivityError {
    return new KonnectivityError(this.#i.label, 'stream', `connection ${this.#connectID || '(not dialed)'} is closed`);
  }

  // --- called by the Socket ---

  read(): void {
    if (this.#pausedByUs) {
      this.#pausedByUs = false;
      this.#call.resume();
    }
  }

  write(chunk: Buffer, cb: (err?: Error | null) => void): void {
    if (this.#phase !== 'open' || this.#ended || this.#socket?.remoteEnded) {
      cb(this.#closedError());
      return;
    }
    let ok = true;
    for (let off = 0; off < chunk.length; off += MAX_DATA_BYTES)
      ok = this.#call.write({
        type: 'DATA',
        data: { connectID: this.#connectID, data: chunk.subarray(off, off + MAX_DATA_BYTES) },
      });
    if (ok) cb();
    else this.#pendingWrite = cb;
  }

  /** our side is done writing: CLOSE_REQ; the readable side ends with CLOSE_RSP or the stream's end */
  final(cb: (err?: Error | null) => void): void {
    this.#sendClose();
    cb();
  }

  destroyed(): void {
    // grpc-js delivers the stream's status only once its buffered messages are read
    this.read();
    this.#sendClose();
    this.#i.onSocketClosed();
    this.#i.logger?.debug({ cluster: this.#i.cluster, connectID: this.#connectID }, 'konnectivity connection closed');
  }

  #sendClose(): void {
    if (this.#ended || this.#callDone) return;
    if (!this.#socket?.remoteEnded)
      this.#call.write({ type: 'CLOSE_REQ', closeRequest: { connectID: this.#connectID } });
    this.#end();
  }
}

class Socket extends Duplex implements KonnectivitySocket {
  readonly cluster: string;
  readonly connectID: string;
  remoteEnded = false;
  readonly #t: Tunnel;

  constructor(t: Tunnel, cluster: string, connectID: string) {
    // no half-open: Konnectivity has no half-close, CLOSE_REQ ends both directions
    super({ allowHalfOpen: false });
    this.#t = t;
    this.cluster = cluster;
    this.connectID = connectID;
  }

  override _read(): void {
    this.#t.read();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#t.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#t.final(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#t.destroyed();
    cb(err);
  }

  // net.Socket-style no-ops: HTTP clients call these on whatever socket they are given
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
