// Connections to member API servers. One keep-alive undici Pool per (cluster, endpoint + credential
// fingerprint): a Secret change or a rotated Dynamic client certificate yields a new fingerprint, so
// the next request gets a fresh pool and the old one is closed gracefully (its in-flight streams
// finish on their connections). Every connection, pooled or upgraded, is dialled through the egress
// Dialer (direct TCP, `proxy-url`, Konnectivity) and wrapped in TLS here: the cluster CA, SNI = the
// endpoint host (none for an IP, which is then verified against the certificate's IP SANs), the
// client certificate for X509 / Dynamic-x509, verification off only when the cluster has no CA.
// ClusterProxy members are reached as `https://{cluster}` through the tunnel; when a CA is known the
// chain is verified but not the name (the agent-side apiserver-proxy's certificate does not carry the
// cluster name; upstream verifies nothing there).
// Members are spoken to over HTTP/1.1 only: undici's h2 client joins repeated request header values
// into one field, which would turn two `Impersonate-Group` lines into one bogus group. HTTP/1.1 with
// keep-alive sends one line per value and pools connections just as well; exec/attach/port-forward
// need HTTP/1.1 anyway.

import * as tls from 'node:tls';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Duplex } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { GatewayError, GROUP, errors } from '../apiserver/errors.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Cluster } from '../registry/types.ts';
import type { Dialer } from '../egress/types.ts';
import { describeTLSError, MemberTLSError } from './backend-errors.ts';

/** Where and how to reach one member, derived once per Cluster object. */
export interface MemberEndpoint {
  cluster: string;
  type: 'Const' | 'ClusterProxy';
  /** false only for an `http://` endpoint (plain TCP, as client-go allows) */
  secure: boolean;
  /** pool origin `https://host:port` */
  origin: string;
  /** host to dial (brackets removed) and port */
  host: string;
  port: number;
  /** the endpoint's own path (`/k8s/clusters/c-x`), '' when none */
  basePath: string;
  /** `Host` header at the member: the host without port (upstream), the cluster name for ClusterProxy */
  hostHeader: string;
  /** SNI; undefined for IP hosts */
  servername: string | undefined;
  verifyHostname: boolean;
  ca: Buffer | undefined;
  insecure: boolean;
  proxyURL: string | undefined;
}

/** The credential material of one request (bearer token and/or client certificate). */
export interface MemberCredential {
  token?: string | undefined;
  cert?: Buffer | undefined;
  key?: Buffer | undefined;
}

const endpoints = new WeakMap<Cluster, MemberEndpoint>();

/** The member endpoint of `cluster`; throws a GatewayError for unusable endpoints. */
export function memberEndpoint(cluster: Cluster): MemberEndpoint {
  const cached = endpoints.get(cluster);
  if (cached) return cached;
  const ep = cluster.endpoint;
  const details = { name: cluster.name, group: GROUP, kind: 'clustergateways' };
  if (ep.type !== 'Const' && ep.type !== 'ClusterProxy') {
    throw new GatewayError(
      501,
      'InternalError',
      `cluster "${cluster.name}" has unsupported endpoint type ${JSON.stringify(ep.type)} (want Const or ClusterProxy)`,
      details,
    );
  }
  let u: URL;
  try {
    u = new URL(ep.type === 'ClusterProxy' ? `https://${cluster.name}` : ep.address);
  } catch (e) {
    throw errors.invalidCluster(cluster.name, `endpoint ${JSON.stringify(ep.address)} is not a valid URL`, e);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw errors.invalidCluster(cluster.name, `endpoint scheme ${u.protocol} is not supported`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  const out: MemberEndpoint = {
    cluster: cluster.name,
    type: ep.type,
    secure: u.protocol === 'https:',
    origin: `${u.protocol}//${net.isIPv6(host) ? `[${host}]` : host}:${String(port)}`,
    host,
    port,
    basePath: u.pathname === '/' ? '' : u.pathname,
    hostHeader: ep.type === 'ClusterProxy' ? cluster.name : u.hostname,
    servername: net.isIP(host) ? undefined : host,
    verifyHostname: ep.type === 'Const',
    ca: ep.caBundle?.length ? ep.caBundle : undefined,
    insecure: ep.insecure,
    proxyURL: ep.proxyURL,
  };
  endpoints.set(cluster, out);
  return out;
}

function fingerprint(ep: MemberEndpoint, cred: MemberCredential): string {
  const h = createHash('sha256');
  for (const part of [ep.type, ep.origin, ep.servername ?? '', String(ep.insecure), ep.proxyURL ?? '']) {
    h.update(part).update('\0');
  }
  for (const b of [ep.ca, cred.cert, cred.key]) h.update(b ?? '').update('\0');
  return h.digest('hex');
}

export interface TransportOptions {
  direct: Dialer;
  /** for clusters with a `proxy-url` */
  proxyURL: Dialer;
  konnectivity?: Dialer | undefined;
  metrics?: Metrics | undefined;
  /** Go's TLSHandshakeTimeout: 10 s */
  tlsHandshakeTimeoutMs?: number;
  /** how long an idle pooled connection is kept; default 30 s */
  keepAliveTimeoutMs?: number;
}

interface PoolEntry {
  key: string;
  pool: Pool;
  context: tls.SecureContext;
}

/** per-socket request counts of pooled member connections (reuse metric) */
const socketUse = new WeakMap<object, { cluster: string; requests: number; metrics: Metrics | undefined }>();
let subscribers = 0;
const onSendHeaders = (message: unknown): void => {
  const socket = (message as { socket?: object }).socket;
  const use = socket ? socketUse.get(socket) : undefined;
  if (!use) return;
  use.requests++;
  if (use.requests > 1) use.metrics?.proxyConnectionsReused.inc({ cluster: use.cluster });
};

export class TransportCache {
  readonly #o: TransportOptions;
  readonly #pools = new Map<string, PoolEntry>();
  #closed = false;

  constructor(o: TransportOptions) {
    this.#o = o;
    if (subscribers++ === 0) subscribe('undici:client:sendHeaders', onSendHeaders);
  }

  get size(): number {
    return this.#pools.size;
  }

  /** the Dialer for this endpoint; throws 503 for ClusterProxy without Konnectivity */
  dialer(ep: MemberEndpoint): Dialer {
    if (ep.type === 'ClusterProxy') {
      if (!this.#o.konnectivity) {
        throw new GatewayError(
          503,
          'ServiceUnavailable',
          `cluster "${ep.cluster}" is reached through Konnectivity (ClusterProxy), which is not configured on this gateway (--proxy-host)`,
          { name: ep.cluster, group: GROUP, kind: 'clustergateways' },
        );
      }
      return this.#o.konnectivity;
    }
    return ep.proxyURL ? this.#o.proxyURL : this.#o.direct;
  }

  /** The keep-alive pool for (cluster, credential). Use it synchronously (a later rotation closes it). */
  pool(ep: MemberEndpoint, cred: MemberCredential): Dispatcher {
    if (this.#closed) throw errors.unavailable('the gateway is shutting down');
    const key = fingerprint(ep, cred);
    const current = this.#pools.get(ep.cluster);
    if (current?.key === key) return current.pool;
    const dialer = this.dialer(ep);
    const context = tls.createSecureContext({
      ...(ep.ca ? { ca: ep.ca } : {}),
      ...(cred.cert && cred.key ? { cert: cred.cert, key: cred.key } : {}),
    });
    const pool = new Pool(ep.origin, {
      connect: (_opts, cb) => {
        this.#open(ep, dialer, context, undefined).then(
          (s) => {
            socketUse.set(s, { cluster: ep.cluster, requests: 0, metrics: this.#o.metrics });
            cb(null, s);
          },
          (e: unknown) => {
            cb(e instanceof Error ? e : new Error(String(e)), null);
          },
        );
      },
      keepAliveTimeout: this.#o.keepAliveTimeoutMs ?? 30_000,
      keepAliveMaxTimeout: 10 * 60_000,
      // streams (watch, logs -f) must never be cut by the transport; the handler bounds the rest
      bodyTimeout: 0,
      headersTimeout: 0,
      pipelining: 1,
    });
    this.#pools.set(ep.cluster, { key, pool, context });
    this.#o.metrics?.proxyPools.set(this.#pools.size);
    if (current) void current.pool.close().catch(() => undefined);
    return pool;
  }

  /** A fresh connection to the member (upgrades): TLS with ALPN http/1.1 unless the endpoint is http://. */
  async connect(ep: MemberEndpoint, cred: MemberCredential, signal?: AbortSignal): Promise<net.Socket> {
    if (this.#closed) throw errors.unavailable('the gateway is shutting down');
    const dialer = this.dialer(ep);
    const key = fingerprint(ep, cred);
    const current = this.#pools.get(ep.cluster);
    const context =
      current?.key === key
        ? current.context
        : tls.createSecureContext({
            ...(ep.ca ? { ca: ep.ca } : {}),
            ...(cred.cert && cred.key ? { cert: cred.cert, key: cred.key } : {}),
          });
    return this.#open(ep, dialer, context, signal);
  }

  async #open(
    ep: MemberEndpoint,
    dialer: Dialer,
    context: tls.SecureContext,
    signal: AbortSignal | undefined,
  ): Promise<net.Socket> {
    const raw = await dialer.dial(
      { cluster: ep.cluster, host: ep.host, port: ep.port, proxyURL: ep.type === 'Const' ? ep.proxyURL : undefined },
      signal,
    );
    // a plain http:// endpoint: the dialled stream is the connection (a net.Socket or a tunnel)
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- undici only needs the Duplex side
    const s = ep.secure ? await this.#secure(raw, ep, context, signal) : (raw as net.Socket);
    this.#o.metrics?.proxyConnectionsOpened.inc({ cluster: ep.cluster });
    return s;
  }

  #secure(raw: Duplex, ep: MemberEndpoint, context: tls.SecureContext, signal?: AbortSignal): Promise<tls.TLSSocket> {
    const timeoutMs = this.#o.tlsHandshakeTimeoutMs ?? 10_000;
    return new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        socket: raw,
        host: ep.host,
        ...(ep.servername ? { servername: ep.servername } : {}),
        secureContext: context,
        ALPNProtocols: ['http/1.1'],
        rejectUnauthorized: !ep.insecure,
        ...(ep.verifyHostname ? {} : { checkServerIdentity: () => undefined }),
      });
      const done = (err?: Error): void => {
        clearTimeout(timer);
        s.off('secureConnect', onOk);
        s.off('error', onErr);
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          s.destroy();
          raw.destroy();
          reject(err);
        } else resolve(s);
      };
      const onOk = (): void => {
        done();
      };
      const onErr = (e: Error): void => {
        done(new MemberTLSError(describeTLSError(e, ep.servername ?? ep.host), { cause: e }));
      };
      const onAbort = (): void => {
        done(new MemberTLSError('tls: handshake canceled', { cause: signal?.reason }));
      };
      const timer = setTimeout(() => {
        done(new MemberTLSError('net/http: TLS handshake timeout', { timeout: true }));
      }, timeoutMs);
      s.once('secureConnect', onOk);
      s.once('error', onErr);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Drop the cluster's pool (Secret deleted or changed); open streams finish on their connections. */
  evict(cluster: string): void {
    const e = this.#pools.get(cluster);
    if (!e) return;
    this.#pools.delete(cluster);
    this.#o.metrics?.proxyPools.set(this.#pools.size);
    void e.pool.close().catch(() => undefined);
  }

  /** Close every pool now (shutdown: in-flight requests were drained before). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#pools.values()];
    this.#pools.clear();
    this.#o.metrics?.proxyPools.set(0);
    if (--subscribers === 0) unsubscribe('undici:client:sendHeaders', onSendHeaders);
    await Promise.all(all.map((e) => e.pool.destroy().catch(() => undefined)));
  }
}
