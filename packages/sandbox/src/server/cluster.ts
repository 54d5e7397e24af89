// One sandbox cluster: its PKI, store, resource registry, authentication/authorization chain,
// controllers and TLS listener. `handle` is kube-apiserver's filter chain in miniature:
// authenticate → impersonate → request info → authorize → route (non-resource, discovery,
// OpenAPI, reviews, subresources, generic REST storage).

import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { X509Certificate } from 'node:crypto';
import { errors, ApiError } from '../errors/status.ts';
import { Store } from '../store/store.ts';
import { ResourceRegistry, apiVersionOf } from '../api/registry.ts';
import { RestStorage, type RestRequest } from '../api/rest.ts';
import type { Attributes, Authorizer, KubeObject, ResourceInfo, UserInfo } from '../api/types.ts';
import { isVirtual } from '../api/builtin.ts';
import { createCA, type CertificateAuthority, type KeyPair } from '../pki/pki.ts';
import { listen, tlsSocketOf, type Listener, type Req, type Res } from './listener.ts';
import { parseRequestInfo, type RequestInfo } from './requestinfo.ts';
import {
  decodeBody,
  negotiate,
  patchTypeOf,
  readBody,
  warningHeaders,
  watchSink,
  writeError,
  writeJSON,
  writeListJSON,
} from './http.ts';
import {
  aggregatedDiscovery,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  DISCOVERY_V2_CONTENT_TYPE,
  type DiscoveryInput,
  type ExternalGroupVersion,
} from '../discovery/discovery.ts';
import { OpenApiService, etagMatches } from '../openapi/openapi.ts';
import { OPENAPI_V2_PROTOBUF_CONTENT_TYPE, negotiateOpenApiV2 } from '../openapi/v2-protobuf.ts';
import { toTable } from '../api/table.ts';
import { Authenticator } from '../auth/authn.ts';
import { RbacAuthorizer, forbiddenError } from '../auth/rbac.ts';
import { ServiceAccountTokens, createTokenRequest } from '../auth/serviceaccount-tokens.ts';
import { impersonate } from '../auth/impersonation.ts';
import { reviews } from '../auth/reviews.ts';
import { installControllers } from '../controllers/controllers.ts';
import { installKubelet } from '../kubelet/kubelet.ts';
import { portForwardInterceptor } from '../kubelet/portforward.ts';
import { installAggregator, type Aggregator, type AggregatorOptions } from '../aggregator/aggregator.ts';

export interface ClusterOptions {
  name: string;
  host?: string;
  port?: number;
  /** static bearer tokens (token → user) */
  tokens?: Record<string, UserInfo>;
  /** how often watches with allowWatchBookmarks get a BOOKMARK (kube: about a minute) */
  bookmarkIntervalMs?: number;
  /** Kubernetes version this cluster reports */
  version?: { major: string; minor: string; gitVersion: string };
  aggregator?: AggregatorOptions;
  /** how many past events watches can resume from (etcd's compaction window); default 20000 */
  watchHistorySize?: number;
  /** run a kubelet (pods become Running; logs, exec, attach, port-forward); default true */
  kubelet?: boolean;
}

/** Hooks later layers (aggregation, kubelet) install to take over some requests. */
export interface RequestInterceptor {
  /** return true when the request was handled */
  handle(ctx: RequestContext, req: Req, res: Res): Promise<boolean> | boolean;
  upgrade?(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> | boolean;
}

export interface RequestContext {
  cluster: SandboxCluster;
  url: URL;
  info: RequestInfo;
  user: UserInfo;
  /** the authenticated user before impersonation */
  requester: UserInfo;
}

const HEALTH_CHECKS = [
  'ping',
  'log',
  'etcd',
  'poststarthook/start-apiextensions-controllers',
  'poststarthook/crd-informer-synced',
  'poststarthook/rbac/bootstrap-roles',
];

export class SandboxCluster {
  readonly name: string;
  readonly ca: CertificateAuthority;
  readonly serving: KeyPair;
  readonly admin: KeyPair;
  readonly store: Store;
  readonly registry = new ResourceRegistry();
  readonly rest: RestStorage;
  readonly openapi: OpenApiService;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly saTokens: ServiceAccountTokens;
  readonly interceptors: RequestInterceptor[] = [];
  /** extra group versions served by aggregated backends (filled by the aggregation layer) */
  external: () => ExternalGroupVersion[] = () => [];
  readonly #opts: ClusterOptions;
  #listener: Listener | undefined;
  #stopControllers: (() => void) | undefined;
  #aggregator: Aggregator | undefined;
  #stopKubelet: (() => void) | undefined;
  #streaming: { closeAll(): void } | undefined;
  readonly #extraClientCAs: string[] = [];

  private constructor(opts: ClusterOptions, ca: CertificateAuthority, serving: KeyPair, admin: KeyPair) {
    this.#opts = opts;
    this.name = opts.name;
    this.ca = ca;
    this.serving = serving;
    this.admin = admin;
    this.store = new Store(opts.watchHistorySize ? { historySize: opts.watchHistorySize } : {});
    this.rest = new RestStorage(this.store, this.registry);
    this.openapi = new OpenApiService(
      () => this.registry.all(),
      () => this.registry.generation,
    );
    this.saTokens = new ServiceAccountTokens({ store: this.store });
    this.authenticator = new Authenticator({
      clientCA: () => [this.ca.cert, ...this.#extraClientCAs],
      staticTokens: new Map(Object.entries(opts.tokens ?? {})),
      serviceAccountTokens: this.saTokens,
      store: this.store,
    });
    this.authorizer = new RbacAuthorizer(this.store);
  }

  static async create(opts: ClusterOptions): Promise<SandboxCluster> {
    const ca = await createCA(`${opts.name}-ca`);
    const host = opts.host ?? '127.0.0.1';
    const ips = ['127.0.0.1', '::1'];
    const dns = [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      opts.name,
    ];
    if (/^[\d.]+$/.test(host) || host.includes(':')) {
      if (!ips.includes(host) && host !== '0.0.0.0' && host !== '::') ips.push(host);
    } else dns.push(host);
    const serving = await ca.issue({ commonName: 'kube-apiserver', dnsNames: dns, ipAddresses: ips, usage: 'server' });
    const admin = await ca.issue({
      commonName: 'kubernetes-admin',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const c = new SandboxCluster(opts, ca, serving, admin);
    c.#stopControllers = installControllers(c);
    c.#aggregator = await installAggregator(c, opts.aggregator);
    if (opts.kubelet !== false) {
      c.#stopKubelet = installKubelet(c, { kubeletVersion: c.version.gitVersion.replace(/-sandbox$/, '') });
      // port-forward (SPDY, SPDY over WebSocket, v4 channels) and SPDY exec/attach for older clients
      const streaming = portForwardInterceptor();
      c.interceptors.push(streaming);
      c.#streaming = streaming;
    }
    return c;
  }

  /** the Kubernetes version this cluster reports on /version */
  get version(): { major: string; minor: string; gitVersion: string } {
    return this.#opts.version ?? { major: '1', minor: '32', gitVersion: 'v1.32.4-sandbox' };
  }

  /** Trust client certificates from another CA too (e.g. the gateway's front-proxy CA). */
  addClientCA(pem: string): void {
    this.#extraClientCAs.push(pem);
    this.#listener?.setSecureContext({
      cert: this.serving.cert,
      key: this.serving.key,
      clientCA: [this.ca.cert, ...this.#extraClientCAs],
    });
  }

  get port(): number {
    if (!this.#listener) throw new Error(`cluster ${this.name} is not listening`);
    return this.#listener.port;
  }

  get url(): string {
    const host = this.#opts.host ?? '127.0.0.1';
    return `https://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  async start(): Promise<void> {
    this.#listener = await listen({
      cert: this.serving.cert,
      key: this.serving.key,
      clientCA: [this.ca.cert, ...this.#extraClientCAs],
      host: this.#opts.host ?? '127.0.0.1',
      port: this.#opts.port ?? 0,
      onRequest: (req, res) => {
        this.handle(req, res).catch((e: unknown) => {
          writeError(res, e);
        });
      },
      onUpgrade: (req, socket, head) => {
        this.#upgrade(req, socket, head).catch(() => socket.destroy());
      },
    });
  }

  /** the aggregation layer (front-proxy PKI, APIService routing) */
  get aggregator(): Aggregator {
    if (!this.#aggregator) throw new Error('aggregator not installed');
    return this.#aggregator;
  }

  async stop(): Promise<void> {
    this.#streaming?.closeAll();
    this.#stopKubelet?.();
    await this.#aggregator?.stop();
    this.#stopControllers?.();
    await this.#listener?.close();
    this.#listener = undefined;
    this.interceptors.length = 0;
  }

  /** An admin kubeconfig (system:masters client certificate) for this cluster. */
  kubeconfig(user: KeyPair = this.admin, userName = 'admin'): string {
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${this.name}`,
      '  cluster:',
      `    server: ${this.url}`,
      `    certificate-authority-data: ${b64(this.ca.cert)}`,
      'users:',
      `- name: ${userName}@${this.name}`,
      '  user:',
      `    client-certificate-data: ${b64(user.cert)}`,
      `    client-key-data: ${b64(user.key)}`,
      'contexts:',
      `- name: ${this.name}`,
      '  context:',
      `    cluster: ${this.name}`,
      `    user: ${userName}@${this.name}`,
      `current-context: ${this.name}`,
      '',
    ].join('\n');
  }

  #peerCert(req: Req): X509Certificate | undefined {
    // the authenticator verifies the chain itself: an untrusted certificate is a 401, not anonymous
    return tlsSocketOf(req)?.getPeerX509Certificate();
  }

  /** authn → impersonation → request info → authz; throws ApiErrors for 401/403. */
  #authenticate(req: Req): { requester: UserInfo; user: UserInfo; url: URL; info: RequestInfo } {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://sandbox.invalid');
    } catch {
      throw errors.badRequest('malformed request URL');
    }
    const requester = this.authenticator.authenticate({ headers: req.headers, peerCertificate: this.#peerCert(req) });
    const user = impersonate(requester, distinctHeaders(req), this.authorizer) ?? requester;
    const info = parseRequestInfo(req.method ?? 'GET', url.pathname, url.searchParams);
    const attrs: Attributes = {
      user,
      verb: info.isResourceRequest ? info.verb : (req.method ?? 'GET').toLowerCase(),
      resourceRequest: info.isResourceRequest,
      path: url.pathname,
      apiGroup: info.apiGroup,
      apiVersion: info.apiVersion,
      resource: info.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
    };
    const d = this.authorizer.authorize(attrs);
    if (!d.allowed) throw forbiddenError(attrs, d.reason);
    return { requester, user, url, info };
  }

  async handle(req: Req, res: Res): Promise<void> {
    try {
      const { requester, user, url, info } = this.#authenticate(req);
      const ctx: RequestContext = { cluster: this, url, info, user, requester };
      for (const i of this.interceptors) if (await i.handle(ctx, req, res)) return;
      if (!info.isResourceRequest) {
        await this.#nonResource(ctx, req, res);
        return;
      }
      await this.#resource(ctx, req, res);
    } catch (e) {
      writeError(res, e);
    }
  }

  async #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    let ctx: RequestContext;
    try {
      const a = this.#authenticate(req);
      ctx = { cluster: this, ...a };
    } catch (e) {
      const err = e instanceof ApiError ? e : errors.internal(String(e));
      const body = JSON.stringify(err.toStatus());
      socket.end(
        `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    for (const i of this.interceptors) if (i.upgrade && (await i.upgrade(ctx, req, socket, head))) return;
    const body = JSON.stringify(errors.badRequest('upgrade requests are not supported for this resource').toStatus());
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }

  discoveryInput(): DiscoveryInput {
    return {
      local: this.registry.all(),
      external: this.external(),
      serverAddress: `${this.#opts.host ?? '127.0.0.1'}:${this.#listener?.port ?? 0}`,
    };
  }

  async #nonResource(ctx: RequestContext, req: Req, res: Res): Promise<void> {
    const path = ctx.url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      if (path.startsWith('/api'))
        throw errors.methodNotAllowed(`the server does not allow this method on the requested resource`);
      writeText(res, 404, '404 page not found\n');
      return;
    }
    const m = /^\/(healthz|livez|readyz)(?:\/(.+))?$/.exec(path);
    if (m) {
      const check = m[2];
      if (check) {
        if (!HEALTH_CHECKS.includes(check)) {
          writeText(res, 404, '404 page not found\n');
          return;
        }
        writeText(res, 200, 'ok');
        return;
      }
      if (ctx.url.searchParams.has('verbose')) {
        writeText(res, 200, HEALTH_CHECKS.map((c) => `[+]${c} ok`).join('\n') + `\n${m[1]} check passed\n`);
        return;
      }
      writeText(res, 200, 'ok');
      return;
    }
    if (path === '/openapi/v2') {
      // kube-openapi's own negotiation (JSON or gnostic protobuf; an empty 406 otherwise): it must
      // run before negotiate(), which refuses protobuf-only Accepts
      const format = negotiateOpenApiV2(req.headers.accept);
      if (!format) {
        res.writeHead(406, { vary: 'Accept' });
        res.end();
        return;
      }
      const body = format === 'protobuf' ? this.openapi.v2Protobuf() : this.openapi.v2();
      const etag = `"${this.openapi.v2ETag()}"`;
      if (etagMatches(req.headers['if-none-match'], etag)) {
        res.writeHead(304, { etag, vary: 'Accept' });
        res.end();
        return;
      }
      res.writeHead(200, {
        'content-type': format === 'protobuf' ? OPENAPI_V2_PROTOBUF_CONTENT_TYPE : 'application/json',
        etag,
        vary: 'Accept',
        'content-length': String(body.length),
      });
      res.end(body);
      return;
    }
    const neg = negotiate(req.headers.accept);
    switch (path) {
      case '/version': {
        const v = this.#opts.version ?? { major: '1', minor: '32', gitVersion: 'v1.32.4-sandbox' };
        writeJSON(res, 200, {
          ...v,
          gitCommit: 'sandbox',
          gitTreeState: 'clean',
          buildDate: '2026-11-01T00:00:00Z',
          goVersion: 'go1.23.8',
          compiler: 'gc',
          platform: `linux/amd64`,
        });
        return;
      }
      case '/api':
        if (neg.as === 'APIGroupDiscoveryList')
          writeJSON(res, 200, aggregatedDiscovery(this.discoveryInput(), true), {}, DISCOVERY_V2_CONTENT_TYPE);
        else writeJSON(res, 200, apiVersions(this.discoveryInput()));
        return;
      case '/apis':
        if (neg.as === 'APIGroupDiscoveryList')
          writeJSON(res, 200, aggregatedDiscovery(this.discoveryInput(), false), {}, DISCOVERY_V2_CONTENT_TYPE);
        else writeJSON(res, 200, apiGroupList(this.discoveryInput()));
        return;
      case '/openapi/v3': {
        // kube-aggregator's merged index: local group versions plus those of available APIServices
        const idx = this.openapi.v3Index() as { paths: Record<string, unknown> };
        writeJSON(res, 200, { ...idx, paths: { ...idx.paths, ...(this.#aggregator?.openapiV3Paths() ?? {}) } });
        return;
      }
    }
    if (path.startsWith('/openapi/v3/')) {
      const gvPath = path.slice('/openapi/v3/'.length);
      const doc = this.openapi.v3Body(gvPath);
      const remote = doc === undefined ? await this.#aggregator?.fetchOpenApiV3(gvPath) : undefined;
      if (remote) {
        res.writeHead(200, {
          'content-type': remote.contentType,
          'cache-control': 'no-cache, private',
          'content-length': String(remote.body.length),
        });
        res.end(remote.body);
        return;
      }
      if (doc === undefined) {
        writeText(res, 404, '404 page not found\n');
        return;
      }
      const asked = ctx.url.searchParams.get('hash');
      if (asked !== null && asked !== doc.hash) {
        // kube redirects a stale hash to the current document's URL
        res.writeHead(301, {
          location: `/openapi/v3/${gvPath}?hash=${doc.hash}`,
          'cache-control': 'no-cache, private',
        });
        res.end();
        return;
      }
      const etag = `"${doc.hash}"`;
      const cache = asked !== null ? 'public, immutable' : 'no-cache, private';
      if (etagMatches(req.headers['if-none-match'], etag)) {
        res.writeHead(304, { etag, 'cache-control': cache });
        res.end();
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        etag,
        'cache-control': cache,
        'content-length': String(doc.body.length),
      });
      res.end(doc.body);
      return;
    }
    const g = /^\/apis\/([^/]+)$/.exec(path);
    if (g) {
      const doc = apiGroupDoc(this.discoveryInput(), g[1]!);
      if (doc) {
        writeJSON(res, 200, doc);
        return;
      }
    }
    const gv = /^\/api\/(v1)$/.exec(path) ?? /^\/apis\/([^/]+\/[^/]+)$/.exec(path);
    if (gv) {
      const [group, version] = path.startsWith('/api/') ? ['', gv[1]!] : (gv[1]!.split('/') as [string, string]);
      const doc = apiResourceList(this.registry.all(), group, version);
      if (doc) {
        writeJSON(res, 200, doc);
        return;
      }
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    if (path.startsWith('/api'))
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    writeText(res, 404, '404 page not found\n');
  }

  async #resource(ctx: RequestContext, req: Req, res: Res): Promise<void> {
    const { info: ri, url } = ctx;
    const info = this.registry.lookup(ri.apiGroup, ri.apiVersion, ri.resource);
    if (!info) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    if (ri.subresource && !info.subresources.includes(ri.subresource))
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    if (!info.namespaced && ri.namespace && info.resource !== 'namespaces')
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    const method = req.method ?? 'GET';
    const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH' || method === 'DELETE';
    const neg = negotiate(req.headers.accept);
    let body: unknown;
    let patchType: RestRequest['patchType'];
    if (hasBody) {
      const buf = await readBody(req);
      if (method === 'PATCH') {
        patchType = patchTypeOf(req.headers['content-type']);
        body = decodeBody(buf, req.headers['content-type'], true);
      } else {
        // the URL implies the body's kind for writes of the resource itself (not DeleteOptions, TokenRequest, Scale…)
        const expected =
          method !== 'DELETE' && (ri.subresource === '' || ri.subresource === 'status')
            ? { apiVersion: apiVersionOf(info), kind: info.kind }
            : undefined;
        body = decodeBody(buf, req.headers['content-type'], false, expected);
      }
    }
    const r: RestRequest = {
      info,
      namespace: ri.namespace,
      name: ri.name,
      subresource: ri.subresource,
      query: url.searchParams,
      user: ctx.user,
      userAgent: req.headers['user-agent'],
      body,
      patchType,
    };

    if (isVirtual(info)) {
      if (ri.verb !== 'create')
        throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
      const out = reviews(info, body, ctx.user, {
        store: this.store,
        authorizer: this.authorizer,
        authenticator: this.authenticator,
        namespace: ri.namespace,
      });
      writeJSON(res, 201, out);
      return;
    }
    if (ri.subresource === 'token' && info.resource === 'serviceaccounts') {
      if (ri.verb !== 'create')
        throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
      writeJSON(res, 201, createTokenRequest(this.saTokens, this.store, ri.namespace, ri.name, body));
      return;
    }
    if (ri.subresource === 'scale') {
      this.#scale(r, ri, res);
      return;
    }
    if (ri.subresource && ri.subresource !== 'status' && !(ri.subresource === 'finalize' && ri.verb === 'update')) {
      throw errors.badRequest(`${info.resource}/${ri.subresource} is not available in this sandbox cluster yet`);
    }

    const respond = (code: number, obj: unknown, warnings?: string[]): void => {
      writeJSON(
        res,
        code,
        this.#render(info, obj, neg.as, url.searchParams),
        warningHeaders(warnings),
        neg.as === 'Table'
          ? neg.contentType
          : neg.as.startsWith('PartialObjectMetadata')
            ? neg.contentType
            : 'application/json',
      );
    };
    switch (ri.verb) {
      case 'get': {
        const out = this.rest.get(r);
        respond(200, out.body);
        return;
      }
      case 'list': {
        const list = this.rest.listObject(r);
        if (neg.as === '') {
          writeListJSON(res, list);
          return;
        }
        respond(200, list);
        return;
      }
      case 'watch': {
        const table = neg.as === 'Table';
        // resolve selector errors before committing to a 200 stream
        this.rest.selection(r);
        if (ri.name) {
          url.searchParams.set(
            'fieldSelector',
            [url.searchParams.get('fieldSelector'), `metadata.name=${ri.name}`].filter(Boolean).join(','),
          );
        }
        const sink = watchSink(req, res, table ? neg.contentType : 'application/json');
        this.rest.watch(r, sink, {
          bookmarkIntervalMs: this.#opts.bookmarkIntervalMs ?? 60_000,
          transform: table
            ? (o, first) => tableFor(info, [o], url.searchParams, first)
            : neg.as === 'PartialObjectMetadataList' || neg.as === 'PartialObjectMetadata'
              ? partialMetadata
              : undefined,
        });
        return;
      }
      case 'create': {
        const out = this.rest.create(r);
        respond(out.code, out.body, out.warnings);
        return;
      }
      case 'update': {
        const out = this.rest.update(r);
        respond(out.code, out.body, out.warnings);
        return;
      }
      case 'patch': {
        const out = this.rest.patch(r);
        respond(out.code, out.body, out.warnings);
        return;
      }
      case 'delete': {
        const out = this.rest.delete(r);
        respond(out.code, out.body);
        return;
      }
      case 'deletecollection': {
        if (!info.verbs.includes('deletecollection'))
          throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
        const out = this.rest.deleteCollection(r);
        respond(out.code, out.body);
        return;
      }
      default:
        throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
    }
  }

  #render(info: ResourceInfo, obj: unknown, as: string, q: URLSearchParams): unknown {
    const o = obj as KubeObject & { items?: KubeObject[] };
    if (o?.kind === 'Status') return obj;
    if (as === 'Table') {
      if (Array.isArray(o.items)) return tableFor(info, o.items, q, true, o.metadata);
      return tableFor(info, [o], q, true);
    }
    if (as === 'PartialObjectMetadataList' || as === 'PartialObjectMetadata') {
      if (Array.isArray(o.items))
        return {
          apiVersion: 'meta.k8s.io/v1',
          kind: 'PartialObjectMetadataList',
          metadata: o.metadata,
          items: o.items.map(partialMetadata),
        };
      return partialMetadata(o);
    }
    return obj;
  }

  #scale(r: RestRequest, ri: RequestInfo, res: Res): void {
    const toScale = (o: KubeObject): unknown => {
      const spec = (o.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
      const status = (o.status ?? {}) as { replicas?: number };
      const sel = Object.entries(spec.selector?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: {
          name: o.metadata.name,
          namespace: o.metadata.namespace,
          uid: o.metadata.uid,
          resourceVersion: o.metadata.resourceVersion,
          creationTimestamp: o.metadata.creationTimestamp,
        },
        spec: { replicas: spec.replicas ?? 0 },
        status: { replicas: status.replicas ?? 0, selector: sel },
      };
    };
    const current = this.rest.get({ ...r, subresource: '' }).body as KubeObject;
    if (ri.verb === 'get') {
      writeJSON(res, 200, toScale(current));
      return;
    }
    let replicas: unknown;
    if (ri.verb === 'update') {
      replicas = (r.body as { spec?: { replicas?: unknown } } | undefined)?.spec?.replicas;
    } else if (ri.verb === 'patch') {
      const out = this.rest.patch({ ...r, subresource: '' });
      writeJSON(res, 200, toScale(out.body as KubeObject));
      return;
    } else throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw errors.invalid('Scale', 'autoscaling', ri.name, [
        {
          type: 'FieldValueInvalid',
          field: 'spec.replicas',
          message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        },
      ]);
    }
    const next = structuredClone(current);
    (next.spec as Record<string, unknown>).replicas = replicas;
    const out = this.rest.update({ ...r, subresource: '', body: next });
    writeJSON(res, 200, toScale(out.body as KubeObject));
  }
}

function tableFor(
  info: ResourceInfo,
  objs: KubeObject[],
  q: URLSearchParams,
  first: boolean,
  listMeta?: Record<string, unknown>,
): unknown {
  const include = (q.get('includeObject') ?? 'Metadata') as 'None' | 'Metadata' | 'Object';
  const t = toTable(info, objs, { includeObject: include, listMeta: listMeta }) as { columnDefinitions?: unknown[] };
  if (!first) t.columnDefinitions = [];
  return t;
}

/** Repeated headers kept apart (Node joins them with ", "), from the raw header list of either protocol. */
function distinctHeaders(req: Req): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) (out[raw[i]!.toLowerCase()] ??= []).push(raw[i + 1]!);
  return out;
}

function partialMetadata(o: KubeObject): KubeObject {
  return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: o.metadata };
}

function writeText(res: Res, code: number, text: string): void {
  res.writeHead(code, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export { apiVersionOf };
