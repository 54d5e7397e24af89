// `cluster-gateway apiserver`: one lifecycle, on one AbortSignal. Start: serving certificate →
// hub client → authentication trust (extension-apiserver-authentication) → Secret/ManagedCluster
// caches → listen → ready once the caches have synced. Stop: not ready → drain in-flight requests
// (bounded by --shutdown-drain-timeout) → close. Each request runs kube's filter chain:
// authenticate → impersonate (direct clients) → authorize (SubjectAccessReview) → route.

import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID, type X509Certificate } from 'node:crypto';
import { watch as watchFile, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { HubClient, isHubError } from '../kube/hub-client.ts';
import { Informer } from '../kube/informer.ts';
import { OptionalInformer } from '../kube/crd-watch.ts';
import {
  DelegatingAuthenticator,
  DelegatingAuthorizer,
  DynamicAuthConfig,
  forbiddenError,
  impersonate,
  parseRequestInfo,
  requestAttributes,
  isLongRunning,
  type HubAuthApi,
  type RequestInfo,
  type UserInfo,
} from '../auth/index.ts';
import { ClusterCache } from '../registry/cache.ts';
import type { ManagedClusterLike, SecretLike } from '../registry/convert.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import { withContext } from '../observability/logger.ts';
import { loadOrGenerate, checkPair, type ServingPair } from '../certs/self-signed.ts';
import { listen, tlsSocketOf, type Listener, type Req, type Res } from './listener.ts';
import { errors, GROUP } from './errors.ts';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  DISCOVERY_V2_CONTENT_TYPE,
  GROUP_VERSION,
} from './discovery.ts';
import { openApiDocs } from './openapi.ts';
import { ClusterGatewayApi, type WatchSink } from './clustergateways.ts';
import { decodeJsonOrYaml, negotiate, readBody, watchSink, writeError, writeJSON, writeText } from './http.ts';

export interface GatewayServerOptions {
  config: Config;
  logger: Logger;
  /** a hub client to use instead of loading `config.hub.kubeconfig` (tests, sandbox wiring) */
  hub?: HubClient;
  metrics?: Metrics;
  /** how often watches with allowWatchBookmarks get a BOOKMARK (kube: about a minute) */
  bookmarkIntervalMs?: number;
  /** version reported on /version */
  version?: string;
  /** extra names for the generated serving certificate */
  certHosts?: string[];
  /** handles `…/clustergateways/{name}/proxy/…` (the proxy subresource) */
  proxy?: ProxyHandler;
}

export interface ProxyHandler {
  handle(ctx: RequestContext, req: Req, res: Res): Promise<void>;
  upgrade(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** draining starts: end long-running proxied responses (watch, logs -f) cleanly */
  drain?(): void;
  /** release member connections on stop (after the drain) */
  close?(): Promise<void>;
}

export interface RequestContext {
  requestId: string;
  url: URL;
  info: RequestInfo;
  user: UserInfo;
  log: Logger;
  signal: AbortSignal;
}

interface Deps {
  hub: HubClient;
  authConfig: DynamicAuthConfig;
  authn: DelegatingAuthenticator;
  authz: DelegatingAuthorizer;
  cache: ClusterCache;
  api: ClusterGatewayApi;
  secrets: Informer<SecretLike & { metadata: { name: string; namespace?: string; resourceVersion: string } }>;
  managedClusters:
    OptionalInformer<ManagedClusterLike & { metadata: { name: string; resourceVersion: string } }> | undefined;
}

const HEALTH_CHECKS = ['ping', 'log', 'informer-sync', 'shutdown'];

export class GatewayServer {
  readonly #o: GatewayServerOptions;
  readonly #log: Logger;
  readonly metrics: Metrics;
  #listener: Listener | undefined;
  #deps: Deps | undefined;
  #serving: ServingPair | undefined;
  #ready = false;
  #shuttingDown = false;
  #inflight = 0;
  readonly #idle = new Set<() => void>();
  readonly #stop = new AbortController();
  /** aborted when shutdown starts: open watches end cleanly so the drain is not held up by them */
  readonly #draining = new AbortController();
  #stopping: Promise<void> | undefined;

  constructor(o: GatewayServerOptions) {
    this.#o = o;
    this.#log = o.logger;
    this.metrics = o.metrics ?? createMetrics();
  }

  get port(): number {
    if (!this.#listener) throw new Error('gateway is not listening');
    return this.#listener.port;
  }

  /** PEM serving certificate (self-signed ones double as the APIService caBundle) */
  get servingCertificate(): string {
    if (!this.#serving) throw new Error('gateway not started');
    return this.#serving.cert;
  }

  get ready(): boolean {
    return this.#ready && !this.#shuttingDown;
  }

  get cache(): ClusterCache {
    if (!this.#deps) throw new Error('gateway not started');
    return this.#deps.cache;
  }

  /** the hub-delegating authorizer (SubjectAccessReview with caches) */
  get authorizer(): DelegatingAuthorizer {
    if (!this.#deps) throw new Error('gateway not started');
    return this.#deps.authz;
  }

  /** Start everything; resolves once listening (readiness follows the cache sync). */
  async start(): Promise<void> {
    const c = this.#o.config;
    const signal = this.#stop.signal;
    const serving = await this.#servingPair();
    this.#serving = serving;
    const hub = this.#o.hub ?? (await loadHub(c));
    const hubAuth: HubAuthApi = {
      createTokenReview: (token, audiences, s) => hub.createTokenReview(token, audiences, s),
      createSubjectAccessReview: (spec, s) => hub.createSubjectAccessReview(spec, s),
      getConfigMap: async (ns, name, s) => {
        try {
          return await hub.get(
            `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${encodeURIComponent(name)}`,
            s ? { signal: s } : {},
          );
        } catch (e) {
          if (isHubError(e, 404)) return undefined;
          throw e;
        }
      },
    };
    const a = c.authentication;
    const authConfig = new DynamicAuthConfig({
      hub: hubAuth,
      ...(a.clientCA ? { clientCA: a.clientCA.content } : {}),
      ...(a.requestHeader
        ? {
            requestHeader: {
              clientCA: a.requestHeader.clientCA.content,
              allowedNames: [...a.requestHeader.allowedNames],
              usernameHeaders: [...a.requestHeader.usernameHeaders],
              groupHeaders: [...a.requestHeader.groupHeaders],
              extraHeaderPrefixes: [...a.requestHeader.extraHeaderPrefixes],
              uidHeaders: [...a.requestHeader.uidHeaders],
            },
          }
        : {}),
      skipLookup: a.skipLookup,
      tolerateLookupFailure: a.tolerateLookupFailure,
      log: (level, message, err) => {
        this.#log[level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info']({ err }, message);
      },
    });
    await authConfig.start(signal);
    const authn = new DelegatingAuthenticator({
      config: () => authConfig.current,
      hub: hubAuth,
      cacheTTLMs: a.tokenCacheTtlMs,
    });
    const z = c.authorization;
    const authz = new DelegatingAuthorizer({
      hub: hubAuth,
      alwaysAllowPaths: [...z.alwaysAllowPaths],
      alwaysAllowGroups: ['system:masters'],
      allowCacheTTLMs: z.authorizedTtlMs,
      denyCacheTTLMs: z.unauthorizedTtlMs,
    });

    const informerLog = {
      warn: (o: object, m: string) => {
        this.#log.warn(o, m);
      },
      debug: (o: object, m: string) => {
        this.#log.debug(o, m);
      },
    };
    const secrets = new Informer<
      SecretLike & { metadata: { name: string; namespace?: string; resourceVersion: string } }
    >({
      client: hub,
      path: `/api/v1/namespaces/${encodeURIComponent(c.secretNamespace)}/secrets`,
      logger: informerLog,
      onMetric: (e) => {
        if (e.type === 'relist' || e.type === 'error') this.metrics.cacheWatchRestarts.inc({ resource: 'secrets' });
      },
    });
    const managedClusters = c.ocm.integration
      ? new OptionalInformer<ManagedClusterLike & { metadata: { name: string; resourceVersion: string } }>({
          client: hub,
          resource: { group: 'cluster.open-cluster-management.io', version: 'v1', resource: 'managedclusters' },
          logger: informerLog,
        })
      : undefined;
    const convert = {
      featureGates: {
        HealthinessCheck: c.featureGates.HealthinessCheck,
        ClientIdentityPenetration: c.featureGates.ClientIdentityPenetration,
      },
      insecureWithoutCA: c.proxy.insecureWithoutCa,
    };
    const cache = new ClusterCache({
      secrets,
      ...(managedClusters ? { managedClusters } : {}),
      secretNamespace: c.secretNamespace,
      convert,
      allowStandaloneSecrets: c.ocm.allowStandaloneSecrets,
      onInvalid: (inv) => {
        this.#log.warn({ cluster: inv.name, reason: inv.reason }, 'cluster Secret cannot be served');
      },
      onChange: () => {
        this.metrics.clusters.set(cache.size);
        this.metrics.invalidClusters.set(cache.invalidClusters().length);
      },
    });
    const api = new ClusterGatewayApi({
      cache,
      exposeCredentials: c.proxy.exposeCredentials,
      secretNamespace: c.secretNamespace,
      convert,
      managedCluster: (name) => managedClusters?.get(name),
      health: {
        getSecret: (ns, name, s) =>
          hub.get(
            `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`,
            s ? { signal: s } : {},
          ),
        updateSecret: (ns, name, body, s) =>
          hub.update(
            `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(name)}`,
            body,
            s ? { signal: s } : {},
          ),
      },
      bookmarkIntervalMs: this.#o.bookmarkIntervalMs ?? 60_000,
    });
    this.#deps = { hub, authConfig, authn, authz, cache, api, secrets, managedClusters };

    void secrets.run(signal);
    if (managedClusters) void managedClusters.run(signal);
    void (async () => {
      try {
        await secrets.waitForSync(signal);
        await managedClusters?.waitForSync(signal);
        // the list version first: rebuild() makes the current version the watch-history floor, and
        // with no cluster events yet it would otherwise be 0 ("complete history since the beginning")
        cache.observe(secrets.lastSyncResourceVersion);
        cache.rebuild();
        this.metrics.clusters.set(cache.size);
        this.#ready = true;
        this.#log.info({ clusters: cache.size, invalid: cache.invalidClusters().length }, 'caches synced; ready');
      } catch (e) {
        if (!signal.aborted) this.#log.error({ err: e }, 'cache sync failed');
      }
    })();

    this.#listener = await listen({
      cert: serving.cert,
      key: serving.key,
      host: c.serving.bindAddress,
      port: c.serving.securePort,
      minVersion: c.serving.minVersion,
      ciphers: c.serving.ciphers,
      maxConcurrentStreams: c.serving.http2MaxStreamsPerConnection,
      onRequest: (req, res) => {
        void this.#handle(req, res);
      },
      onUpgrade: (req, socket, head) => {
        void this.#upgrade(req, socket, head);
      },
    });
    this.#watchCertificate();
    this.#log.info({ address: this.#listener.address, port: this.#listener.port }, 'serving');
  }

  async #servingPair(): Promise<ServingPair> {
    const t = this.#o.config.serving.tls;
    if (t.source === 'files') {
      const pair = { cert: t.cert.content, key: t.key.content };
      checkPair(pair, t.cert.path);
      return pair;
    }
    return loadOrGenerate(t.certFile, t.keyFile, ['localhost', '127.0.0.1', ...(this.#o.certHosts ?? [])]);
  }

  /**
   * --tls-cert-file/--tls-private-key-file are re-read when they change (cert-manager rotation).
   * Files replaced rather than rewritten (rename, the kubelet's `..data` symlink swap) leave a watch
   * on the old inode, so such a watch is re-armed on the new file; a slow resync (kube's dynamic
   * serving certificate does the same every minute) catches whatever the watches missed.
   */
  #watchCertificate(): void {
    const t = this.#o.config.serving.tls;
    if (t.source !== 'files') return;
    const signal = this.#stop.signal;
    const watchers = new Map<string, FSWatcher>();
    const rearm = new Set<string>();
    let timer: NodeJS.Timeout | undefined;
    const arm = (f: string): boolean => {
      watchers.get(f)?.close();
      watchers.delete(f);
      try {
        const w = watchFile(f, { persistent: false }, (event) => {
          if (event === 'rename') rearm.add(f);
          reload();
        });
        w.on('error', () => {
          rearm.add(f);
        });
        watchers.set(f, w);
        return true;
      } catch {
        rearm.add(f);
        return false;
      }
    };
    const reload = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void (async () => {
          for (const f of [...rearm]) if (arm(f)) rearm.delete(f);
          try {
            const pair = { cert: await readFile(t.cert.path, 'utf8'), key: await readFile(t.key.path, 'utf8') };
            if (signal.aborted || (pair.cert === this.#serving?.cert && pair.key === this.#serving.key)) return;
            checkPair(pair, t.cert.path);
            this.#listener?.setCertificate(pair.cert, pair.key);
            this.#serving = pair;
            this.#log.info({ file: t.cert.path }, 'serving certificate reloaded');
          } catch (e) {
            this.#log.warn({ err: e }, 'serving certificate not reloaded (keeping the current one)');
          }
        })();
      }, 200);
    };
    for (const f of [t.cert.path, t.key.path]) {
      if (!arm(f)) this.#log.warn({ file: f }, 'cannot watch certificate file; it is re-checked every minute');
    }
    const resync = setInterval(() => {
      rearm.add(t.cert.path).add(t.key.path);
      reload();
    }, 60_000);
    resync.unref();
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      clearInterval(resync);
      for (const w of watchers.values()) w.close();
    });
  }

  /** Graceful stop: /readyz fails, in-flight requests drain (bounded), then everything closes. */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#shuttingDown = true;
    this.#log.info({ inflight: this.#inflight }, 'shutting down: draining requests');
    this.#draining.abort();
    try {
      this.#o.proxy?.drain?.();
    } catch (e) {
      this.#log.warn({ err: e }, 'draining the proxy failed');
    }
    // the listener's close callback waits for every connection (idle keep-alives, the aggregator's
    // h2 sessions) to go away, so it cannot gate the drain: it completes once closeAll() ran
    const closed = this.#listener?.stopAccepting().catch(() => undefined);
    const drained = new Promise<void>((resolve) => {
      if (this.#inflight === 0) resolve();
      else this.#idle.add(resolve);
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      drained,
      new Promise<void>((r) => (timer = setTimeout(r, this.#o.config.shutdownDrainTimeoutMs))),
    ]);
    clearTimeout(timer);
    this.#stop.abort();
    this.#listener?.closeAll();
    await this.#o.proxy?.close?.().catch((e: unknown) => {
      this.#log.warn({ err: e }, 'closing the proxy transports failed');
    });
    // a connection whose TLS handshake completes after closeAll() is only tracked from then on (and
    // would hold the listener open forever): sweep again until it closed, for a bounded time
    let listenerClosed = closed === undefined;
    void closed?.then(() => (listenerClosed = true));
    for (const end = Date.now() + 2000; !listenerClosed && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 25));
      this.#listener?.closeAll();
    }
    if (!listenerClosed) this.#log.warn('listener did not close; connections still in their TLS handshake');
    this.#deps?.cache.stop();
    if (!this.#o.hub) await this.#deps?.hub.close();
    this.#log.info('stopped');
  }

  #track(res: Res): void {
    this.#inflight++;
    let done = false;
    res.on('close', () => {
      if (done) return;
      done = true;
      this.#inflight--;
      if (this.#inflight === 0) for (const f of [...this.#idle]) f();
    });
  }

  /** authn → impersonation → authz; returns the request context. */
  async #filter(req: Req, signal: AbortSignal): Promise<RequestContext> {
    const d = this.#deps!;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://gateway.invalid');
    } catch (e) {
      throw errors.badRequest('malformed request URL', e);
    }
    const requestId = randomUUID();
    const sock = tlsSocketOf(req);
    const peer = sock ? peerCertificate(sock) : undefined;
    const authn = await d.authn.authenticateRequest({
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      peerCertificate: peer,
      signal,
    });
    let user = authn.user;
    const info = parseRequestInfo(req.method ?? 'GET', url);
    // the front-proxy path is already impersonated by the hub; direct clients may impersonate here
    if (authn.method !== 'requestheader') {
      const imp = await impersonate(user, { headers: req.headers, rawHeaders: req.rawHeaders, signal }, d.authz);
      if (imp) user = imp;
    }
    const attrs = requestAttributes(user, info);
    // --standalone-debug-mode (only with --bind-address=127.0.0.1, enforced by config validation)
    if (this.#o.config.authorization.disabled)
      return { requestId, url, info, user, log: withContext(this.#log, { requestId, user: user.username }), signal };
    const decision = await d.authz.authorize(attrs, signal);
    if (decision.error) throw decision.error;
    if (!decision.allowed) throw forbiddenError(attrs, decision.reason);
    return { requestId, url, info, user, log: withContext(this.#log, { requestId, user: user.username }), signal };
  }

  async #handle(req: Req, res: Res): Promise<void> {
    this.#track(res);
    const started = performance.now();
    const ac = new AbortController();
    res.on('close', () => {
      ac.abort();
    });
    let ctx: RequestContext | undefined;
    let code = 200;
    try {
      if (!this.#deps) throw errors.unavailable('the gateway is starting', 1);
      ctx = await this.#filter(req, ac.signal);
      code = await this.#route(ctx, req, res);
    } catch (e) {
      code = writeError(res, e);
      if (code >= 500)
        this.#log.warn({ err: e, requestId: ctx?.requestId, path: req.url?.split('?')[0] }, 'request failed');
    } finally {
      const info = ctx?.info;
      if (info) {
        const verb =
          info.verb === 'list'
            ? 'LIST'
            : info.verb === 'watch'
              ? 'WATCH'
              : info.subresource === 'proxy'
                ? 'CONNECT'
                : info.verb.toUpperCase();
        this.metrics.recordApiserverRequest({
          verb,
          group: info.apiGroup,
          version: info.apiVersion,
          resource: info.resource,
          subresource: info.subresource,
          scope: info.isResourceRequest ? (info.name ? 'resource' : 'cluster') : '',
          code,
          ...(isLongRunning(info) ? {} : { durationSeconds: (performance.now() - started) / 1000 }),
        });
      }
    }
  }

  async #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const ac = new AbortController();
    socket.on('close', () => {
      ac.abort();
    });
    try {
      if (!this.#deps) throw errors.unavailable('the gateway is starting', 1);
      const ctx = await this.#filter(req, ac.signal);
      if (ctx.info.resource === 'clustergateways' && ctx.info.subresource === 'proxy' && this.#o.proxy) {
        await this.#o.proxy.upgrade(ctx, req, socket, head);
        return;
      }
      throw errors.badRequest('upgrade requests are only served by the clustergateways/proxy subresource');
    } catch (e) {
      const err =
        e instanceof Error && 'toStatus' in e
          ? (e as unknown as { code: number; toStatus(): unknown })
          : errors.internal(String(e));
      const body = JSON.stringify(err.toStatus());
      socket.end(
        `HTTP/1.1 ${err.code} ${httpText(err.code)}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
  }

  /** Returns the status code written. */
  async #route(ctx: RequestContext, req: Req, res: Res): Promise<number> {
    const { info, url } = ctx;
    const method = req.method ?? 'GET';
    if (!info.isResourceRequest) return this.#nonResource(ctx, req, res);
    if (
      info.apiGroup !== GROUP ||
      info.apiVersion !== 'v1alpha1' ||
      info.resource !== 'clustergateways' ||
      info.namespace
    ) {
      throw errors.notFoundPath();
    }
    const d = this.#deps!;
    if (info.subresource === 'proxy') {
      if (!this.#o.proxy) throw errors.notImplemented('the proxy subresource is not available in this build');
      await this.#o.proxy.handle(ctx, req, res);
      return res.statusCode;
    }
    if (info.subresource === 'health') {
      if (!info.name) throw errors.notFoundPath();
      if (method === 'GET' || method === 'HEAD') {
        writeJSON(res, 200, d.api.get(info.name));
        return 200;
      }
      const body = decodeJsonOrYaml(await readBody(req), req.headers['content-type']);
      if (method === 'PUT') {
        writeJSON(res, 200, await d.api.putHealth(info.name, body, ctx.signal));
        return 200;
      }
      if (method === 'PATCH') {
        const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
        writeJSON(res, 200, await d.api.patchHealth(info.name, ct, body, ctx.signal));
        return 200;
      }
      throw errors.methodNotAllowed();
    }
    if (info.subresource) throw errors.notFoundPath();
    if (!this.#ready) throw errors.unavailable('the gateway cache has not synced yet', 1);
    const as = negotiate(req.headers.accept);
    switch (info.verb) {
      case 'get': {
        const gw = d.api.get(info.name);
        writeJSON(
          res,
          200,
          as === 'Table' ? d.api.table(url.searchParams, [gw]) : gw,
          {},
          as === 'Table' ? TABLE_CT : 'application/json',
        );
        return 200;
      }
      case 'list': {
        const list = d.api.list(url.searchParams);
        writeJSON(
          res,
          200,
          as === 'Table'
            ? d.api.table(url.searchParams, list.items, list.metadata)
            : { apiVersion: 'cluster.core.oam.dev/v1alpha1', kind: 'ClusterGatewayList', ...list },
          {},
          as === 'Table' ? TABLE_CT : 'application/json',
        );
        return 200;
      }
      case 'watch': {
        d.api.selection(url.searchParams);
        // the 200 and the stream start with the first event (or once the watch is established), so
        // a bad resourceVersion or a version this replica cannot reach is a plain error response
        let opened: WatchSink | undefined;
        const open = (): WatchSink => (opened ??= watchSink(req, res, as === 'Table' ? TABLE_CT : 'application/json'));
        const sink: WatchSink = {
          send: (type, object) => {
            open().send(type, object);
          },
          end: () => {
            open().end();
          },
          onClose: (fn) => {
            open().onClose(fn);
          },
        };
        const q = url.searchParams;
        await d.api.watch(
          q,
          info.name,
          sink,
          (o, first) => {
            if (as !== 'Table') return o;
            const t = d.api.table(q, [o]) as { columnDefinitions?: unknown[] };
            if (!first) t.columnDefinitions = [];
            return t;
          },
          ctx.signal,
        );
        open();
        // on shutdown a watch ends like a timed-out one (clients re-watch elsewhere from their last
        // version) instead of holding the drain and then being cut
        const draining = this.#draining.signal;
        const end = (): void => {
          sink.end();
        };
        if (draining.aborted) end();
        else {
          draining.addEventListener('abort', end, { once: true });
          sink.onClose(() => {
            draining.removeEventListener('abort', end);
          });
        }
        return 200;
      }
      default:
        throw errors.methodNotAllowed();
    }
  }

  #nonResource(ctx: RequestContext, req: Req, res: Res): number {
    const path = ctx.url.pathname.replace(/\/+$/, '') || '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') throw errors.methodNotAllowed();
    const health = /^\/(healthz|livez|readyz)(?:\/(.+))?$/.exec(path);
    if (health) return this.#health(health[1]!, health[2], ctx.url.searchParams.has('verbose'), res);
    switch (path) {
      case '/version':
        writeJSON(res, 200, {
          major: '1',
          minor: '0',
          gitVersion: this.#o.version ?? 'v0.1.0',
          gitCommit: '',
          gitTreeState: 'clean',
          buildDate: '',
          goVersion: '',
          compiler: 'node',
          platform: `${process.platform}/${process.arch}`,
          nodeVersion: process.version,
        });
        return 200;
      case '/metrics':
        void this.metrics.render().then((text) => {
          res.writeHead(200, { 'content-type': this.metrics.contentType });
          res.end(text);
        });
        return 200;
      case '/apis':
        if (negotiate(req.headers.accept) === 'APIGroupDiscoveryList')
          writeJSON(res, 200, aggregatedDiscovery(), {}, DISCOVERY_V2_CONTENT_TYPE);
        else writeJSON(res, 200, apiGroupList());
        return 200;
      case `/apis/${GROUP}`:
        writeJSON(res, 200, apiGroup());
        return 200;
      case `/apis/${GROUP_VERSION}`:
        writeJSON(res, 200, apiResourceList());
        return 200;
      case '/openapi/v2': {
        const docs = openApiDocs();
        res.writeHead(200, {
          'content-type': 'application/json',
          etag: `"${docs.v2ETag}"`,
          'content-length': String(docs.v2.length),
        });
        res.end(docs.v2);
        return 200;
      }
      case '/openapi/v3':
        writeJSON(res, 200, openApiDocs().v3Index);
        return 200;
      case `/openapi/v3/apis/${GROUP_VERSION}`: {
        const docs = openApiDocs();
        res.writeHead(200, {
          'content-type': 'application/json',
          etag: `"${docs.v3Hash}"`,
          'content-length': String(docs.v3.length),
          'cache-control': ctx.url.searchParams.has('hash') ? 'public, immutable' : 'no-cache, private',
        });
        res.end(docs.v3);
        return 200;
      }
    }
    writeText(res, 404, '404 page not found\n');
    return 404;
  }

  #health(kind: string, check: string | undefined, verbose: boolean, res: Res): number {
    const checks: [string, boolean, string][] = [
      ['ping', true, 'ok'],
      ['log', true, 'ok'],
      ['informer-sync', kind !== 'readyz' || this.#ready, 'caches not synced'],
      ['shutdown', kind !== 'readyz' || !this.#shuttingDown, 'shutting down'],
    ];
    if (check) {
      const c = checks.find(([n]) => n === check);
      if (!c || !HEALTH_CHECKS.includes(check)) {
        writeText(res, 404, '404 page not found\n');
        return 404;
      }
      writeText(res, c[1] ? 200 : 500, c[1] ? 'ok' : `internal server error: ${c[2]}\n`);
      return c[1] ? 200 : 500;
    }
    const ok = checks.every(([, pass]) => pass);
    if (!verbose && ok) {
      writeText(res, 200, 'ok');
      return 200;
    }
    const lines = checks.map(([n, pass, why]) =>
      pass ? `[+]${n} ok` : `[-]${n} failed: reason withheld${why ? ` (${why})` : ''}`,
    );
    const text = `${lines.join('\n')}\n${ok ? `${kind} check passed` : `${kind} check failed`}\n`;
    writeText(res, ok ? 200 : 500, text);
    return ok ? 200 : 500;
  }
}

const TABLE_CT = 'application/json;as=Table;v=v1;g=meta.k8s.io';

async function loadHub(c: Config): Promise<HubClient> {
  const k = c.hub.kubeconfig;
  if (k.source === 'none') throw new Error('no hub kubeconfig: pass --kubeconfig or run inside a cluster');
  return HubClient.load({
    ...(k.source === 'in-cluster' ? {} : { kubeconfig: k.paths[0]! }),
    userAgent: c.hub.userAgent,
  });
}

function httpText(code: number): string {
  return (
    (
      {
        400: 'Bad Request',
        401: 'Unauthorized',
        403: 'Forbidden',
        404: 'Not Found',
        500: 'Internal Server Error',
        503: 'Service Unavailable',
      } as Record<number, string>
    )[code] ?? 'Error'
  );
}

/** The client certificate of a TLS connection, parsed once per connection (it cannot change). */
const peerCertificates = new WeakMap<object, X509Certificate | undefined>();
function peerCertificate(sock: import('node:tls').TLSSocket): X509Certificate | undefined {
  if (peerCertificates.has(sock)) return peerCertificates.get(sock);
  const cert = sock.getPeerX509Certificate();
  peerCertificates.set(sock, cert);
  return cert;
}
