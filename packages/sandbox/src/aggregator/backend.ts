// The wire side of the aggregation proxy: one undici pool per APIService (TLS verified against
// spec.caBundle for `<service>.<namespace>.svc`, or not at all with insecureSkipTLSVerify; the
// front-proxy client certificate presented; h2 when the backend offers it), streaming requests and
// responses both ways with backpressure and no timeouts (watches, logs -f), raw HTTP/1.1 upgrades
// relayed byte for byte, and failures reported the way kube-aggregator reports them: a plain-text 503
// carrying the Go error text (its handler uses http.Error, not a Status).

import * as tls from 'node:tls';
import type * as http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { Pool } from 'undici';
import type { KeyPair } from '../pki/pki.ts';
import type { Req, Res } from '../server/listener.ts';
import { proxyResponseHeaders, requestHead, type OutHeaders } from './headers.ts';
import { joinHostPort, type Endpoint } from './resolve.ts';

/** Where and how to reach one backend; equal targets share a pool. */
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

interface PoolEntry {
  key: string;
  pool: Pool;
}

const MAX_UPGRADE_HEAD = 64 * 1024;

export class Backends {
  readonly #client: () => KeyPair;
  readonly #pools = new Map<string, PoolEntry>();
  readonly #sockets = new Set<Duplex>();
  readonly #retired = new Set<Pool>();
  #closed = false;

  constructor(client: () => KeyPair) {
    this.#client = client;
  }

  /** The pool of APIService `name` for `target`; a changed target replaces (and drains) the old pool. */
  pool(name: string, target: BackendTarget): Pool {
    const key = targetKey(target);
    const cur = this.#pools.get(name);
    if (cur?.key === key && !cur.pool.closed) return cur.pool;
    if (cur) this.#retire(cur);
    const c = this.#client();
    const pool = new Pool(`https://${joinHostPort(target.endpoint.host, target.endpoint.port)}`, {
      allowH2: true,
      connect: { ...tlsOptions(target, c), timeout: 30_000 },
      // kube's proxy transport has no response timeouts: watches and logs -f stay open indefinitely
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
    });
    this.#pools.set(name, { key, pool });
    return pool;
  }

  /** Drop the pool of APIService `name` (spec, Service or Endpoints changed, or it was deleted). */
  evict(name: string): void {
    const cur = this.#pools.get(name);
    if (!cur) return;
    this.#pools.delete(name);
    this.#retire(cur);
  }

  #retire(e: PoolEntry): void {
    // in-flight requests (watches) may finish on the old pool; new ones go to the new one
    this.#retired.add(e.pool);
    e.pool
      .close()
      .catch(() => undefined)
      .finally(() => this.#retired.delete(e.pool));
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
    let upstream: Awaited<ReturnType<Pool['request']>>;
    try {
      upstream = await this.pool(name, target).request({
        path,
        method: method,
        headers,
        body: hasBody(req, method) ? (req as unknown as Readable) : null,
        signal: ac.signal,
        headersTimeout: 0,
        bodyTimeout: 0,
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
    const pools = [...[...this.#pools.values()].map((e) => e.pool), ...this.#retired];
    this.#pools.clear();
    this.#retired.clear();
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }
}

function hasBody(req: Req, method: string): boolean {
  if (method === 'GET' || method === 'HEAD') return false;
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  if ('stream' in req && req.stream) return !req.stream.endAfterHeaders;
  return req.headers['transfer-encoding'] !== undefined;
}
