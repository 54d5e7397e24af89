// The `proxy` subresource (`…/clustergateways/{name}/proxy/{rest}`, upstream §3.4): every request a
// client could make to the member, forwarded with the cluster's credentials and, when the identity
// resolver says so, the caller's identity. One request is: confine the path → find the cluster →
// (optional hub authorization of the inner request) → identity → credential → forward on the
// cluster's keep-alive pool (or, for upgrades, on a dedicated connection) → stream the answer back
// with backpressure, no timeout for streams (watch, logs -f) → one metrics sample and one audit log
// line, both with the real status (backend failures are 502/503/504 here; upstream records 200).
// A client abort aborts the member request; a member failure mid-stream ends the client response
// abnormally (reset, never a clean end), so a truncated list is never mistaken for a complete one.
// When the gateway drains (shutdown), watches and `logs -f` end cleanly instead: a watch at its next
// event (newline) boundary, like a watch that timed out, so clients re-watch from their last version.

import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { ProxyHandler, RequestContext } from '../apiserver/server.ts';
import type { Req, Res } from '../apiserver/listener.ts';
import { errors, type GatewayError } from '../apiserver/errors.ts';
import { writeError } from '../apiserver/http.ts';
import type { Cidr } from '../config/cidr.ts';
import type { UserInfo } from '../auth/types.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { ClusterEvent } from '../registry/cache.ts';
import type { Cluster, InvalidCluster } from '../registry/types.ts';
import type { Dialer } from '../egress/types.ts';
import { DirectDialer, EndpointPolicy } from '../egress/direct.ts';
import { ProxyURLDialer } from '../egress/proxy-url.ts';
import type { IdentityDecision, IdentityResolver } from './identity-types.ts';
import { drainMode, forwardQuery, innerRequest, joinTargetPath, parseProxyTarget, type InnerRequest } from './path.ts';
import { forwardHeaders, responseHeaders, warningHeader } from './headers.ts';
import { backendError } from './backend-errors.ts';
import { memberCredential, type ExecCredentials } from './credentials.ts';
import { memberEndpoint, TransportCache, type MemberCredential, type MemberEndpoint } from './transport.ts';
import { errorResponse, relayedResponse, requestUpgrade, splice, switchingHead } from './upgrade.ts';

/** What the proxy needs from the cluster cache (ClusterCache fits). */
export interface ClusterLookup {
  get(name: string): Cluster | undefined;
  invalid(name: string): InvalidCluster | undefined;
  hasSynced?(): boolean;
  watch?(fromRV: number, listener: (ev: ClusterEvent) => void): () => void;
  readonly resourceVersion?: number;
}

export interface ProxyHandlerConfig {
  /** `--proxy-timeout`: bound on non-streaming requests (0 = none) */
  timeoutMs: number;
  deniedEndpointCidrs?: readonly Cidr[];
  allowedEndpointCidrs?: readonly Cidr[];
  /** how long the member may take to send response headers when no --proxy-timeout applies (120 s) */
  headersTimeoutMs?: number;
  /** more caller identity headers to strip (the configured requestheader names / prefixes) */
  identityHeaders?: readonly string[];
  /** TCP connect timeout (30 s) and TLS handshake timeout (10 s) */
  connectTimeoutMs?: number;
  tlsHandshakeTimeoutMs?: number;
}

export interface ProxyHandlerOptions {
  /** the cluster cache, or a getter for one created later (the server builds it on start) */
  cache: ClusterLookup | (() => ClusterLookup);
  identity: IdentityResolver;
  metrics: Metrics;
  logger: Logger;
  config: ProxyHandlerConfig;
  execCredentials: ExecCredentials;
  /** egress for ClusterProxy clusters; without it they get a 503 */
  konnectivity?: Dialer | undefined;
  /** `--authorize-proxy-subpath`: authorize the inner request at the hub (throws a GatewayError) */
  authorizeSubpath?: (user: UserInfo, method: string, innerPath: string, signal?: AbortSignal) => Promise<void>;
  /** replace the direct / proxy-url egress (tests) */
  dialers?: { direct?: Dialer; proxyURL?: Dialer };
}

export interface GatewayProxyHandler extends ProxyHandler {
  readonly transports: TransportCache;
  /** close the member pools and any open upgraded connection */
  close(): Promise<void>;
}

interface Prepared {
  cluster: Cluster;
  ep: MemberEndpoint;
  /** path + query at the member */
  target: string;
  /** the inner path as the client gave it (for logs: no query) */
  innerPath: string;
  inner: InnerRequest;
  decision: IdentityDecision;
  cred: MemberCredential;
  headers: string[];
  warnings: string[];
  /** how the response may end when the gateway drains (watch, logs -f); undefined: never ended */
  drain: 'lines' | 'any' | undefined;
}

/** Per-request bookkeeping for metrics and the audit line. */
class Exchange {
  readonly started = performance.now();
  cluster: string;
  resource = '';
  innerPath = '';
  decision: IdentityDecision | undefined;
  bytesIn = 0;
  bytesOut = 0;
  status = 0;
  error: GatewayError | undefined;
  outcome = 'complete';
  constructor(cluster: string) {
    this.cluster = cluster;
  }
}

function rawHeadersOf(req: Req): string[] {
  return req.rawHeaders;
}

function isH2(req: Req): req is http2.Http2ServerRequest {
  return 'stream' in req && (req as { stream?: unknown }).stream !== undefined;
}

/** Whether the caller sends a body (GET/HEAD/OPTIONS without one never do). */
function hasBody(req: Req): boolean {
  const m = (req.method ?? 'GET').toUpperCase();
  const cl = req.headers['content-length'];
  if (isH2(req)) {
    if (req.stream.endAfterHeaders) return false;
    if (cl === undefined && (m === 'GET' || m === 'HEAD' || m === 'OPTIONS')) return false;
    return true;
  }
  if (req.headers['transfer-encoding'] !== undefined) return true;
  return cl !== undefined && cl !== '0';
}

function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

const DRAINED = Symbol('drained');

/**
 * The drain signal of one stream. A fresh promise per read, not one shared promise raced on every
 * read: each race would leave a reaction on it for the life of the stream (a slow leak on long watches).
 */
class StreamDrain {
  fired = false;
  #wake: (() => void) | undefined;
  fire(): void {
    this.fired = true;
    this.#wake?.();
  }
  next(): Promise<typeof DRAINED> {
    return new Promise((resolve) => {
      if (this.fired) resolve(DRAINED);
      else
        this.#wake = () => {
          resolve(DRAINED);
        };
    });
  }
}

/**
 * The member's body, relayed until it ends or the gateway drains. On drain, a line-delimited stream
 * (watch) stops after the next newline (at once if the last chunk ended with one); any other stream
 * stops at once. Stopping destroys the member body, which aborts the member request.
 */
async function* untilDrained(
  body: Dispatcher.ResponseData['body'],
  drain: StreamDrain,
  mode: 'lines' | 'any',
): AsyncGenerator<Buffer> {
  const it = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let stopping = false;
  let atBoundary = true;
  let pending: Promise<IteratorResult<Buffer>> | undefined;
  try {
    for (;;) {
      pending = it.next();
      let r = stopping ? await pending : await Promise.race([pending, drain.next()]);
      if (r === DRAINED) {
        stopping = true;
        if (mode === 'any' || atBoundary) return;
        r = await pending;
      }
      pending = undefined;
      if (r.done) return;
      const chunk = r.value;
      if (stopping) {
        const i = chunk.indexOf(10);
        if (i !== -1) {
          yield chunk.subarray(0, i + 1);
          return;
        }
      }
      atBoundary = chunk.at(-1) === 10;
      yield chunk;
    }
  } finally {
    // an idle stream's pending read would hold it.return(): end the member body directly
    pending?.catch(() => undefined);
    if (!body.readableEnded) body.destroy();
  }
}

function clientAddress(req: Req): string | undefined {
  const s = isH2(req) ? req.stream.session?.socket : req.socket;
  return s?.remoteAddress;
}

export function createProxyHandler(opts: ProxyHandlerOptions): GatewayProxyHandler {
  const cfg = opts.config;
  const policy = new EndpointPolicy({
    denied: cfg.deniedEndpointCidrs ?? [],
    allowed: cfg.allowedEndpointCidrs ?? [],
  });
  const direct = opts.dialers?.direct ?? new DirectDialer({ policy, connectTimeoutMs: cfg.connectTimeoutMs ?? 30_000 });
  const proxyURL =
    opts.dialers?.proxyURL ??
    new ProxyURLDialer({
      direct: direct instanceof DirectDialer ? direct : new DirectDialer({ policy }),
      handshakeTimeoutMs: cfg.connectTimeoutMs ?? 30_000,
    });
  const transports = new TransportCache({
    direct,
    proxyURL,
    konnectivity: opts.konnectivity,
    metrics: opts.metrics,
    tlsHandshakeTimeoutMs: cfg.tlsHandshakeTimeoutMs ?? 10_000,
  });
  const headersTimeoutMs = cfg.headersTimeoutMs ?? 120_000;
  const tunnels = new Set<Duplex>();
  /** end every drainable stream (watch, logs -f) when the gateway drains */
  const drainers = new Set<() => void>();
  let draining = false;
  let unwatch: (() => void) | undefined;
  let closed = false;

  const cache = (): ClusterLookup => (typeof opts.cache === 'function' ? opts.cache() : opts.cache);

  /** Secret changes and deletions drop the cluster's pool (and a Dynamic credential). */
  const watchCache = (c: ClusterLookup): void => {
    if (unwatch || !c.watch || closed) return;
    try {
      unwatch = c.watch(c.resourceVersion ?? 0, (ev) => {
        const prev = ev.previous;
        const changed =
          ev.type === 'DELETED' ||
          !prev ||
          JSON.stringify([prev.endpoint, prev.credential]) !==
            JSON.stringify([ev.cluster.endpoint, ev.cluster.credential]);
        if (!changed) return;
        transports.evict(ev.cluster.name);
        if (ev.type === 'DELETED' || prev?.credential?.type === 'Dynamic')
          opts.execCredentials.invalidate(ev.cluster.name);
      });
    } catch (e) {
      opts.logger.debug({ err: e }, 'proxy: cannot watch the cluster cache yet');
    }
  };

  const findCluster = (name: string): Cluster => {
    const c = cache();
    watchCache(c);
    const cluster = c.get(name);
    if (cluster) return cluster;
    const invalid = c.invalid(name);
    if (invalid) throw errors.invalidCluster(name, invalid.reason);
    if (c.hasSynced && !c.hasSynced()) throw errors.unavailable('the gateway cache has not synced yet', 1);
    throw errors.noSuchCluster(name);
  };

  const prepare = async (ctx: RequestContext, req: Req, upgrade: boolean, x: Exchange): Promise<Prepared> => {
    const name = ctx.info.name;
    const t = parseProxyTarget(req.url ?? '', name);
    const innerPath = `/${t.segments.join('/')}`;
    x.innerPath = innerPath;
    const q = forwardQuery(t.rawQuery);
    const method = req.method ?? 'GET';
    const inner = innerRequest(method, innerPath, q.search);
    x.resource = inner.resource;
    const cluster = findCluster(name);
    const ep = memberEndpoint(cluster);
    transports.dialer(ep);
    if (opts.authorizeSubpath) await opts.authorizeSubpath(ctx.user, method, innerPath, ctx.signal);
    const decision = await opts.identity.resolve(ctx.user, cluster, q.impersonate, ctx.signal);
    x.decision = decision;
    const cred = await memberCredential(cluster, opts.execCredentials, ctx.signal);
    const headers = forwardHeaders(rawHeadersOf(req), {
      host: ep.hostHeader,
      clientAddress: clientAddress(req),
      upgrade,
      bearer: cred.token,
      impersonate: decision.impersonate,
      ...(cfg.identityHeaders ? { identityHeaders: cfg.identityHeaders } : {}),
    });
    const warnings = ep.insecure
      ? [warningHeader(`cluster ${cluster.name} has no CA bundle: TLS verification is disabled`)]
      : [];
    return {
      cluster,
      ep,
      target: `${joinTargetPath(ep.basePath, t.segments)}${q.search}`,
      innerPath,
      inner,
      decision,
      cred,
      headers,
      warnings,
      drain: drainMode(method, innerPath, q.search),
    };
  };

  const finish = (ctx: RequestContext, method: string, x: Exchange, upgrade: boolean): void => {
    const durationSeconds = (performance.now() - x.started) / 1000;
    opts.metrics.recordProxiedRequest({
      resource: x.resource,
      verb: ctx.info.verb,
      cluster: x.cluster,
      code: x.status,
      durationSeconds,
    });
    const imp = x.decision?.impersonate;
    const line = {
      cluster: x.cluster,
      verb: ctx.info.verb,
      method,
      path: x.innerPath,
      resource: x.resource,
      ...(imp ? { impersonated: { user: imp.user, groups: imp.groups } } : {}),
      ...(x.decision ? { identityRule: x.decision.rule, identitySource: x.decision.source } : {}),
      upgrade,
      status: x.status,
      outcome: x.outcome,
      bytesIn: x.bytesIn,
      bytesOut: x.bytesOut,
      durationMs: Math.round(durationSeconds * 1000),
      ...(x.error ? { error: x.error.message } : {}),
    };
    if (x.status >= 500) ctx.log.warn(line, 'proxy');
    else ctx.log.info(line, 'proxy');
  };

  const fail = (x: Exchange, e: unknown): GatewayError => {
    const err = backendError(x.cluster, e);
    x.error = err;
    x.status = err.code;
    x.outcome = 'error';
    return err;
  };

  const forward = async (ctx: RequestContext, req: Req, res: Res, p: Prepared, x: Exchange): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const ac = new AbortController();
    const onAbort = (): void => {
      ac.abort(ctx.signal.reason);
    };
    if (ctx.signal.aborted) onAbort();
    else ctx.signal.addEventListener('abort', onAbort, { once: true });
    const bounded = cfg.timeoutMs > 0 && !p.inner.streaming;
    const timer = bounded
      ? setTimeout(() => {
          ac.abort(new DOMException('the proxied request exceeded --proxy-timeout', 'TimeoutError'));
        }, cfg.timeoutMs)
      : undefined;
    let body: Transform | undefined;
    if (hasBody(req)) {
      body = counter((n) => (x.bytesIn += n));
      pipeline(req, body).catch(() => undefined);
    } else if (!req.readableEnded) req.resume();
    try {
      let r: Dispatcher.ResponseData;
      try {
        // taken and used in one step: a credential rotation closes the previous pool
        const pending = transports.pool(p.ep, p.cred).request({
          method,
          path: p.target,
          headers: p.headers,
          body: body ?? null,
          signal: ac.signal,
          headersTimeout: bounded ? cfg.timeoutMs : headersTimeoutMs,
          bodyTimeout: 0,
        });
        // undici does not fail a request still waiting for its connection (a black-holed TLS
        // handshake) when the signal fires: without this race --proxy-timeout would not bound dials
        r = await Promise.race([pending, rejectOnAbort(ac.signal)]);
      } catch (e) {
        const reason: unknown = ac.signal.aborted ? ac.signal.reason : undefined;
        throw reason instanceof DOMException && reason.name === 'TimeoutError' ? reason : e;
      }
      x.status = r.statusCode;
      if (r.statusCode === 401 && p.cluster.credential?.type === 'Dynamic') {
        // client-go refreshes an exec credential after a 401; the next request runs the plugin again
        opts.execCredentials.invalidate(p.cluster.name);
      }
      const headers = responseHeaders(r.headers, p.warnings);
      try {
        res.writeHead(r.statusCode, headers);
      } catch (e) {
        // a header node refuses to send on (invalid value, or not allowed over h2): free the member connection
        r.body.destroy();
        throw errors.badGateway(`cluster "${p.cluster.name}" sent a response header that cannot be relayed`, e);
      }
      (res as { flushHeaders?: () => void }).flushHeaders?.();
      let onDrain: (() => void) | undefined;
      try {
        if (p.drain) {
          const drain = new StreamDrain();
          onDrain = () => {
            x.outcome = 'drained';
            drain.fire();
          };
          if (draining) onDrain();
          else drainers.add(onDrain);
          await pipeline(
            untilDrained(r.body, drain, p.drain),
            counter((n) => (x.bytesOut += n)),
            res,
          );
          if (x.outcome === 'drained') ac.abort(new DOMException('the gateway is shutting down', 'AbortError'));
        } else {
          await pipeline(
            r.body,
            counter((n) => (x.bytesOut += n)),
            res,
          );
        }
      } catch (e) {
        x.outcome = ctx.signal.aborted ? 'client closed' : 'member failed mid-stream';
        if (!ctx.signal.aborted) ctx.log.debug({ err: e, cluster: x.cluster }, 'proxied stream ended abnormally');
        res.destroy();
      } finally {
        if (onDrain) drainers.delete(onDrain);
      }
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
    }
  };

  return {
    transports,

    async handle(ctx, req, res) {
      const x = new Exchange(ctx.info.name);
      const method = req.method ?? 'GET';
      try {
        const p = await prepare(ctx, req, false, x);
        await forward(ctx, req, res, p, x);
      } catch (e) {
        const err = fail(x, e);
        if (ctx.signal.aborted) {
          // nobody is listening any more; nginx's 499 keeps it apart from real failures
          x.status = 499;
          x.outcome = 'client closed';
        }
        try {
          if (!res.headersSent && !res.destroyed) writeError(res, err);
          else res.destroy();
        } catch {
          res.destroy();
        }
      } finally {
        finish(ctx, method, x, false);
      }
    },

    async upgrade(ctx, req, socket, head) {
      const x = new Exchange(ctx.info.name);
      const method = req.method ?? 'GET';
      socket.on('error', () => undefined);
      let member: Duplex | undefined;
      try {
        const p = await prepare(ctx, req, true, x);
        const conn = await transports.connect(p.ep, p.cred, ctx.signal);
        member = conn;
        const answer = await requestUpgrade(
          conn,
          method,
          p.target,
          p.headers,
          headersTimeoutMs,
          () => Object.assign(new Error('the cluster did not answer the upgrade in time'), { name: 'TimeoutError' }),
          ctx.signal,
        );
        const warnings: [string, string][] = p.warnings.map((w) => ['Warning', w]);
        x.status = answer.status;
        if (answer.kind === 'response') {
          if (answer.status === 401 && p.cluster.credential?.type === 'Dynamic') {
            opts.execCredentials.invalidate(p.cluster.name);
          }
          x.bytesOut = answer.body.length;
          x.outcome = 'not upgraded';
          socket.end(relayedResponse(answer, warnings));
          return;
        }
        member = answer.socket;
        if (socket.destroyed || closed) {
          answer.socket.destroy();
          x.outcome = 'client closed';
          return;
        }
        socket.write(switchingHead(answer, warnings));
        if (answer.head.length) {
          socket.write(answer.head);
          x.bytesOut += answer.head.length;
        }
        if (head.length) {
          answer.socket.write(head);
          x.bytesIn += head.length;
        }
        tunnels.add(socket);
        opts.metrics.proxyUpgradesActive.inc();
        try {
          const n = await splice(socket, answer.socket);
          x.bytesIn += n.bytesIn;
          x.bytesOut += n.bytesOut;
        } finally {
          tunnels.delete(socket);
          opts.metrics.proxyUpgradesActive.dec();
        }
      } catch (e) {
        member?.destroy();
        const err = fail(x, e);
        if (!socket.destroyed && socket.writable) socket.end(errorResponse(err));
        else socket.destroy();
      } finally {
        finish(ctx, method, x, true);
      }
    },

    drain() {
      draining = true;
      for (const end of drainers) end();
      drainers.clear();
    },

    async close() {
      if (closed) return;
      closed = true;
      unwatch?.();
      for (const s of tunnels) s.destroy();
      tunnels.clear();
      await transports.close();
    },
  };
}

/** Rejects with the signal's reason once it aborts (never settles otherwise). */
function rejectOnAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fire = (): void => {
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
}

/** An identity resolver that never impersonates (the cluster credential acts as itself). */
export const noImpersonation: IdentityResolver = {
  resolve() {
    return Promise.resolve({ impersonate: undefined, rule: 'none', source: 'none' });
  },
};
