// The wire side of the aggregation proxy: per APIService one backend connection set (TLS verified
// against spec.caBundle for `<service>.<namespace>.svc`, or not at all with insecureSkipTLSVerify; the
// front-proxy client certificate presented), streaming requests and responses both ways with
// backpressure and no timeouts (watches, logs -f), raw HTTP/1.1 upgrades relayed byte for byte, and
// failures reported the way kube-aggregator reports them: a plain-text 503 carrying the Go error text
// (its handler uses http.Error, not a Status).
//
// h2 goes through node:http2 rather than undici: undici's h2 client joins repeated header values into
// one field (`x-remote-group: a, b`), while Go's transport sends one field per value and the
// requestheader authenticator of a backend takes every field value as one group, so a joined value is
// one bogus group. node:http2 sends each array element as its own field. A backend that does not
// negotiate h2 by ALPN is spoken to over HTTP/1.1 with undici, which writes one header line per value.

import * as tls from 'node:tls';
import * as http2 from 'node:http2';
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { finished, pipeline, Readable } from 'node:stream';
import { Pool } from 'undici';
import type { KeyPair } from '../pki/pki.ts';
import type { Req, Res } from '../server/listener.ts';
import {
  h2RequestHeaders,
  headersFromRaw,
  invalidHeaderError,
  proxyResponseHeaders,
  requestHead,
  type HeaderMap,
  type OutHeaders,
} from './headers.ts';
import { joinHostPort, type Endpoint } from './resolve.ts';

/** Where and how to reach one backend; equal targets share connections. */
export interface BackendTarget {
  endpoint: Endpoint;
  servername: string;
  /** PEM bundle; '' = system roots */
  ca: string;
  insecure: boolean;
}

function targetKey(t: BackendTarget): string {
  return JSON.stringify([t.endpoint.host, t.endpoint.port, t.servername, t.ca, t.insecure]);
}

function tlsOptions(t: BackendTarget, client: KeyPair): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = {
    servername: t.servername,
    cert: client.cert,
    key: client.key,
    rejectUnauthorized: !t.insecure,
    minVersion: 'TLSv1.2',
  };
  if (t.ca) o.ca = t.ca;
  return o;
}

const KNOWN_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ECONNRESET',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Error text in the words of Go's net and crypto/tls packages, which is what kube clients see. */
export function goErrorText(e: unknown, target?: BackendTarget): string {
  const err = (e instanceof AggregateError && e.errors.length ? e.errors[0] : e) as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
    hostname?: string;
    host?: string;
    cert?: { subjectaltname?: string; subject?: { CN?: string } };
    cause?: unknown;
  };
  if (err instanceof Retryable) return goErrorText(err.cause, target);
  if (!(err instanceof Error)) return String(err);
  // undici wraps some socket errors; the cause carries the errno
  if (err.cause instanceof Error && !KNOWN_CODES.has(err.code ?? '')) return goErrorText(err.cause, target);
  const addr =
    err.address !== undefined && err.port !== undefined
      ? joinHostPort(err.address, err.port)
      : target
        ? joinHostPort(target.endpoint.host, target.endpoint.port)
        : '';
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${err.hostname ?? target?.endpoint.host ?? ''}: no such host`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `dial tcp ${addr}: i/o timeout`;
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      const names = (err.cert?.subjectaltname ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.startsWith('DNS:'))
        .map((s) => s.slice(4));
      const wanted = err.host ?? target?.servername ?? '';
      return names.length
        ? `tls: failed to verify certificate: x509: certificate is valid for ${names.join(', ')}, not ${wanted}`
        : `tls: failed to verify certificate: x509: certificate is not valid for any names, but wanted to match ${wanted}`;
    }
  }
  return err.message;
}

/** kube-aggregator's proxyError / responder.Error: Go's http.Error, text/plain. */
export function writeProxyError(res: Res, code: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${message}\n`;
  res.writeHead(code, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function rawError(socket: Duplex, code: number, message: string): void {
  const body = `${message}\n`;
  const reason =
    code === 503
      ? 'Service Unavailable'
      : code === 404
        ? 'Not Found'
        : code === 500
          ? 'Internal Server Error'
          : 'Error';
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** One request to a backend. */
export interface UpstreamRequest {
  method: string;
  /** path and query */
  path: string;
  headers: OutHeaders;
  /** streamed upstream with backpressure; null or absent: no body */
  body?: Readable | null;
  /** cancels the request, and the response body while it streams */
  signal?: AbortSignal;
}

/** What a backend answered; the body streams (a watch never ends on its own). */
export interface UpstreamResponse {
  statusCode: number;
  /** lower-case names; a field the backend repeated is an array */
  headers: HeaderMap;
  body: Readable;
  /** '2.0' or '1.1' */
  httpVersion: string;
}

/** A request that the backend provably did not process (refused stream, GOAWAY): safe to send again. */
class Retryable extends Error {
  override readonly cause: unknown;
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.cause = cause;
  }
}

// Go's dialer timeout in kube's proxy transport
const CONNECT_TIMEOUT_MS = 30_000;
// kube's h2 transport health check: ping after 30s without a frame, give up 15s later; an idle
// connection is closed at the same point (undici's keep-alive here before was 30s too)
const READ_IDLE_MS = 30_000;
const PING_TIMEOUT_MS = 15_000;
// per-stream receive window (Go's transport uses 4 MiB); node holds back WINDOW_UPDATEs of a stream
// whose reader is paused, so a slow client throttles only its own stream
const STREAM_WINDOW = 1 << 20;
const SESSION_WINDOW = 16 << 20;

/** RFC 9113 error code names, by code. */
const H2_ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** Go's http2.StreamError text for a stream the backend reset. */
function streamErrorText(id: number | undefined, code: number): string {
  return `stream error: stream ID ${String(id ?? 0)}; ${H2_ERROR_NAMES[code] ?? `unknown error code 0x${code.toString(16)}`}; received from peer`;
}

function cancel(stream: http2.ClientHttp2Stream): void {
  if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
  if (!stream.destroyed) stream.destroy();
}

/**
 * The response body of an h2 stream. node ends a stream's readable side even when the connection
 * under it dies (RST_STREAM CANCEL, no END_STREAM seen), which would pass a truncated body off as
 * complete; this one ends only for a stream that closed cleanly and errors otherwise, so the proxy
 * aborts its own response as Go's ReverseProxy does. Reading is paused with the consumer, and a
 * paused stream holds back its WINDOW_UPDATEs.
 */
function h2Body(stream: http2.ClientHttp2Stream): Readable {
  let ended = false;
  const body = new Readable({
    read() {
      stream.resume();
    },
    destroy(err, cb) {
      cancel(stream);
      cb(err);
    },
  });
  stream.on('data', (chunk: Buffer) => {
    if (!body.push(chunk)) stream.pause();
  });
  stream.on('end', () => {
    ended = true;
  });
  stream.on('close', () => {
    if (body.destroyed) return;
    const code = stream.rstCode;
    if (ended && code === http2.constants.NGHTTP2_NO_ERROR) body.push(null);
    else
      body.destroy(
        code === http2.constants.NGHTTP2_NO_ERROR || code === http2.constants.NGHTTP2_CANCEL
          ? Object.assign(new Error('unexpected EOF'), { code: 'ECONNRESET' })
          : new Error(streamErrorText(stream.id, code)),
      );
  });
  return body;
}

interface H2Conn {
  session: http2.ClientHttp2Session;
  /** open streams */
  streams: number;
  /** new streams may go here (false after GOAWAY, an error or retirement) */
  usable: boolean;
  ping?: NodeJS.Timeout;
}

/**
 * The connections to one APIService's backend: h2 sessions (more than one only when the backend's
 * SETTINGS_MAX_CONCURRENT_STREAMS is reached) or, for a backend that does not negotiate h2, an
 * HTTP/1.1 pool. A dead session (closed, GOAWAY, failed ping) is replaced on the next request.
 */
class Backend {
  readonly key: string;
  readonly #target: BackendTarget;
  readonly #client: () => KeyPair;
  readonly #conns = new Set<H2Conn>();
  readonly #dialSockets = new Set<tls.TLSSocket>();
  #dialing: Promise<H2Conn | undefined> | undefined;
  /** what ALPN chose last; HTTP/1.1 sticks until the backend is replaced */
  #protocol: 'h2' | 'http/1.1' | undefined;
  #pool: Pool | undefined;
  #retired = false;
  #destroyed = false;

  constructor(key: string, target: BackendTarget, client: () => KeyPair) {
    this.key = key;
    this.#target = target;
    this.#client = client;
  }

  get #authority(): string {
    return joinHostPort(this.#target.endpoint.host, this.#target.endpoint.port);
  }

  /** Nothing open any more (a retired backend can be forgotten). */
  get drained(): boolean {
    return this.#conns.size === 0 && !this.#dialing && (this.#pool === undefined || this.#pool.closed);
  }

  async request(r: UpstreamRequest): Promise<UpstreamResponse> {
    const bad = invalidHeaderError(r.headers);
    if (bad) throw new Error(bad);
    for (let attempt = 0; ; attempt++) {
      if (this.#destroyed) throw new Error('service unavailable');
      const conn = this.#protocol === 'http/1.1' ? undefined : await this.#h2conn();
      if (!conn) return this.#h1request(r);
      try {
        return await this.#h2request(conn, r);
      } catch (e) {
        // only a request the backend provably never saw is sent again (Retryable is never made
        // once body bytes went out: a stream cannot be replayed), as Go's transport does
        if (!(e instanceof Retryable)) throw e;
        if (attempt >= 2 || r.signal?.aborted) throw e.cause;
      }
    }
  }

  #h2conn(): Promise<H2Conn | undefined> {
    for (const c of this.#conns) {
      const max = c.session.remoteSettings.maxConcurrentStreams ?? Infinity;
      if (c.usable && !c.session.closed && !c.session.destroyed && c.streams < max) return Promise.resolve(c);
    }
    this.#dialing ??= this.#dial().finally(() => {
      this.#dialing = undefined;
    });
    return this.#dialing;
  }

  /** TLS with ALPN h2 + http/1.1; resolves the new h2 connection, or undefined when the backend chose HTTP/1.1. */
  #dial(): Promise<H2Conn | undefined> {
    const t = this.#target;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        ...tlsOptions(t, this.#client()),
        host: t.endpoint.host,
        port: t.endpoint.port,
        ALPNProtocols: ['h2', 'http/1.1'],
      });
      this.#dialSockets.add(socket);
      const timer = setTimeout(() => {
        socket.destroy(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }));
      }, CONNECT_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        this.#dialSockets.delete(socket);
        socket.off('error', fail);
        socket.off('close', closed);
      };
      const fail = (e: Error): void => {
        done();
        socket.destroy();
        reject(e);
      };
      const closed = (): void => {
        fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      };
      socket.on('error', fail);
      socket.on('close', closed);
      socket.once('secureConnect', () => {
        done();
        if (this.#destroyed) {
          socket.destroy();
          reject(new Error('service unavailable'));
          return;
        }
        if (socket.alpnProtocol !== 'h2') {
          socket.destroy();
          this.#protocol = 'http/1.1';
          resolve(undefined);
          return;
        }
        this.#protocol = 'h2';
        resolve(this.#adopt(socket));
      });
    });
  }

  #adopt(socket: tls.TLSSocket): H2Conn {
    const session = http2.connect(`https://${this.#authority}`, {
      createConnection: () => socket,
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW },
      maxSessionMemory: 64,
    });
    const conn: H2Conn = { session, streams: 0, usable: !this.#retired };
    this.#conns.add(conn);
    const unusable = (): void => {
      conn.usable = false;
    };
    // the streams carry the error to their requests; the session is just not used again
    session.on('error', unusable);
    session.on('goaway', unusable);
    session.on('frameError', () => undefined);
    session.on('close', () => {
      unusable();
      clearTimeout(conn.ping);
      this.#conns.delete(conn);
    });
    session.once('connect', () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW);
      } catch {
        // a session torn down in between: its close handler cleans up
      }
    });
    session.setTimeout(READ_IDLE_MS, () => {
      this.#readIdle(conn);
    });
    return conn;
  }

  #readIdle(conn: H2Conn): void {
    const s = conn.session;
    if (s.closed || s.destroyed) return;
    if (conn.streams === 0) {
      conn.usable = false;
      s.close();
      return;
    }
    // streams open but silent (a quiet watch): a ping tells a live backend from a vanished one
    if (conn.ping) return;
    conn.ping = setTimeout(() => {
      s.destroy(new Error('http2: client connection lost'));
    }, PING_TIMEOUT_MS);
    const sent = s.ping((err) => {
      clearTimeout(conn.ping);
      conn.ping = undefined;
      if (err && !s.destroyed) s.destroy(err);
    });
    if (!sent) {
      clearTimeout(conn.ping);
      conn.ping = undefined;
    }
  }

  #h2request(conn: H2Conn, r: UpstreamRequest): Promise<UpstreamResponse> {
    const headers: http2.OutgoingHttpHeaders = {
      ...h2RequestHeaders(r.headers),
      ':method': r.method,
      ':path': r.path,
      ':scheme': 'https',
      ':authority': this.#authority,
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = conn.session.request(headers, { endStream: !r.body });
    } catch (e) {
      // a session that went away between the pick and the request: nothing was sent
      if (conn.session.closed || conn.session.destroyed) {
        conn.usable = false;
        return Promise.reject(new Retryable(e));
      }
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    conn.streams++;
    if (this.#retired) conn.session.close();
    // errors reach the caller through the promise below or through the body's consumer
    stream.on('error', () => undefined);
    const signal = r.signal;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      let settled = false;
      let sentBody = false;
      const settle = (e: unknown): void => {
        if (settled) return;
        settled = true;
        reject(e instanceof Error ? e : new Error(String(e)));
      };
      let body: Readable | undefined;
      const onAbort = (): void => {
        const reason: unknown = signal?.reason ?? new Error('aborted');
        if (body) body.destroy(reason instanceof Error ? reason : new Error(String(reason)));
        else cancel(stream);
        settle(reason);
      };
      stream.once('close', () => {
        conn.streams--;
        signal?.removeEventListener('abort', onAbort);
        const code = stream.rstCode ?? 0;
        if (code === http2.constants.NGHTTP2_REFUSED_STREAM && !sentBody) {
          settle(new Retryable(new Error(streamErrorText(stream.id, code))));
        } else if (code !== 0 && code !== http2.constants.NGHTTP2_CANCEL) {
          settle(new Error(streamErrorText(stream.id, code)));
        } else {
          settle(Object.assign(new Error('unexpected EOF'), { code: 'ECONNRESET' }));
        }
      });
      stream.once('error', (e: NodeJS.ErrnoException) => {
        // a stream above the GOAWAY's last stream id was never processed
        settle(e.code === 'ERR_HTTP2_GOAWAY_SESSION' && !sentBody ? new Retryable(e) : e);
      });
      stream.once('response', (h, _flags, raw) => {
        if (settled) return;
        settled = true;
        body = h2Body(stream);
        resolve({ statusCode: Number(h[':status']), headers: headersFromRaw(raw), body, httpVersion: '2.0' });
      });
      if (signal) {
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
      }
      if (r.body) {
        sentBody = true;
        const body = r.body;
        body.pipe(stream);
        // a client that goes away mid-upload cancels the upstream stream instead of ending it short
        finished(body, (err) => {
          if (err && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        });
      }
    });
  }

  async #h1request(r: UpstreamRequest): Promise<UpstreamResponse> {
    if (this.#destroyed) throw new Error('service unavailable');
    this.#pool ??= new Pool(`https://${this.#authority}`, {
      connect: { ...tlsOptions(this.#target, this.#client()), timeout: CONNECT_TIMEOUT_MS },
      // kube's proxy transport has no response timeouts: watches and logs -f stay open indefinitely
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: READ_IDLE_MS,
    });
    const pool = this.#pool;
    const pending = pool.request({
      path: r.path,
      method: r.method,
      headers: r.headers,
      body: r.body ?? null,
      signal: r.signal ?? null,
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    // a retired pool lets the requests it has finish
    if (this.#retired) pool.close().catch(() => undefined);
    const up = await pending;
    return { statusCode: up.statusCode, headers: up.headers, body: up.body, httpVersion: '1.1' };
  }

  /** No new requests; open ones (watches) run to their end, then the connections close. */
  retire(): void {
    this.#retired = true;
    for (const c of this.#conns) {
      c.usable = false;
      if (!c.session.closed) c.session.close();
    }
    this.#pool?.close().catch(() => undefined);
  }

  async destroy(): Promise<void> {
    this.#destroyed = true;
    this.#retired = true;
    for (const s of this.#dialSockets) s.destroy();
    this.#dialSockets.clear();
    const closing: Promise<unknown>[] = [];
    for (const c of this.#conns) {
      clearTimeout(c.ping);
      const s = c.session;
      if (s.destroyed) continue;
      closing.push(
        new Promise<void>((resolve) => {
          s.once('close', resolve);
        }),
      );
      s.destroy();
    }
    if (this.#pool && !this.#pool.destroyed) closing.push(this.#pool.destroy().catch(() => undefined));
    await Promise.allSettled(closing);
  }
}

const MAX_UPGRADE_HEAD = 64 * 1024;

export class Backends {
  readonly #client: () => KeyPair;
  readonly #backends = new Map<string, Backend>();
  readonly #sockets = new Set<Duplex>();
  readonly #retired = new Set<Backend>();
  #closed = false;

  constructor(client: () => KeyPair) {
    this.#client = client;
  }

  /** The backend of APIService `name` for `target`; a changed target replaces (and drains) the old one. */
  #backend(name: string, target: BackendTarget): Backend {
    const key = targetKey(target);
    const cur = this.#backends.get(name);
    if (cur?.key === key) return cur;
    if (cur) this.#retire(cur);
    const b = new Backend(key, target, this.#client);
    this.#backends.set(name, b);
    return b;
  }

  /** Send one request to the backend of APIService `name`; rejects with a transport error (see goErrorText). */
  async request(name: string, target: BackendTarget, r: UpstreamRequest): Promise<UpstreamResponse> {
    if (this.#closed) throw new Error('service unavailable');
    return this.#backend(name, target).request(r);
  }

  /** Drop the connections of APIService `name` (spec, Service or Endpoints changed, or it was deleted). */
  evict(name: string): void {
    const cur = this.#backends.get(name);
    if (!cur) return;
    this.#backends.delete(name);
    this.#retire(cur);
  }

  #retire(b: Backend): void {
    // in-flight requests (watches) may finish on the old connections; new ones go to the new backend
    b.retire();
    for (const r of this.#retired) if (r.drained) this.#retired.delete(r);
    if (!b.drained) this.#retired.add(b);
  }

  /** Forward a (non-upgrade) request and stream the answer back. */
  async forward(
    name: string,
    target: BackendTarget,
    req: Req,
    res: Res,
    path: string,
    headers: OutHeaders,
  ): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const ac = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) ac.abort();
    };
    res.on('close', onClose);
    let upstream: UpstreamResponse;
    try {
      upstream = await this.request(name, target, {
        path,
        method,
        headers,
        body: hasBody(req, method) ? req : null,
        signal: ac.signal,
      });
    } catch (e) {
      res.off('close', onClose);
      if (ac.signal.aborted) return;
      writeProxyError(res, 503, goErrorText(e, target));
      return;
    }
    if (ac.signal.aborted) {
      upstream.body.destroy();
      return;
    }
    try {
      res.writeHead(upstream.statusCode, proxyResponseHeaders(upstream.headers));
    } catch (e) {
      upstream.body.destroy();
      res.off('close', onClose);
      writeProxyError(res, 502, e instanceof Error ? e.message : String(e));
      return;
    }
    // long-running responses: the client must see the status line before the first event
    (res as { flushHeaders?: () => void }).flushHeaders?.();
    pipeline(upstream.body, res as unknown as NodeJS.WritableStream, () => {
      res.off('close', onClose);
    });
  }

  /**
   * Relay an upgrade (SPDY or WebSocket: exec, attach, port-forward) as kube's UpgradeAwareHandler
   * does: dial the backend over HTTP/1.1 TLS, replay the request, and once the backend answers 101
   * (or with an error status, which is relayed as is) copy bytes both ways until either side closes.
   */
  upgrade(
    target: BackendTarget,
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    path: string,
    headers: OutHeaders,
  ): void {
    if (this.#closed) {
      rawError(socket, 503, 'service unavailable');
      return;
    }
    socket.on('error', () => socket.destroy());
    const up = tls.connect({
      ...tlsOptions(target, this.#client()),
      host: target.endpoint.host,
      port: target.endpoint.port,
      ALPNProtocols: ['http/1.1'],
    });
    this.#track(up);
    this.#track(socket);
    let switched = false;
    const chunks: Buffer[] = [];
    let size = 0;
    up.on('secureConnect', () => {
      up.write(
        requestHead(
          (req.method ?? 'GET').toUpperCase(),
          path,
          joinHostPort(target.endpoint.host, target.endpoint.port),
          headers,
        ),
      );
      if (head.length) up.write(head);
    });
    up.on('error', (e) => {
      if (!switched) {
        if (!socket.destroyed) rawError(socket, 503, goErrorText(e, target));
      } else socket.destroy();
      up.destroy();
    });
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const buf = Buffer.concat(chunks);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) {
        if (size > MAX_UPGRADE_HEAD) {
          up.destroy();
          rawError(socket, 503, 'net/http: HTTP/1.x transport connection broken: header too long');
        }
        return;
      }
      up.off('data', onData);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, end).toString('latin1'));
      const code = m ? Number(m[1]) : 0;
      if (code !== 101 && code < 400) {
        up.destroy();
        rawError(socket, 503, code ? `invalid upgrade response: status code ${code}` : 'malformed HTTP response');
        return;
      }
      switched = true;
      up.pause();
      socket.write(buf);
      const done = (): void => {
        up.destroy();
        socket.destroy();
      };
      // either half closing ends the relay, as in kube's proxy
      up.on('close', done);
      socket.on('close', done);
      up.on('end', done);
      socket.on('end', done);
      up.pipe(socket);
      socket.pipe(up);
      up.resume();
    };
    up.on('data', onData);
    socket.on('close', () => {
      if (!switched) up.destroy();
    });
  }

  #track(s: Duplex): void {
    this.#sockets.add(s);
    s.on('close', () => this.#sockets.delete(s));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#backends.values(), ...this.#retired];
    this.#backends.clear();
    this.#retired.clear();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await Promise.allSettled(all.map((b) => b.destroy()));
  }
}

function hasBody(req: Req, method: string): boolean {
  if (method === 'GET' || method === 'HEAD') return false;
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  if ('stream' in req && req.stream) return !req.stream.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined;
}
