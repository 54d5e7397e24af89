// The gateway's client for its own hub cluster: kubeconfig (file or in-cluster) loaded with
// @kubernetes/client-node, but every call goes through one undici Pool (keep-alive, HTTP/2 when the
// hub offers it), because client-node's fetch stack is fine for occasional calls and wrong for a
// data path that holds watches open and answers reviews on every gateway request. Failures the hub
// reports come back as HubError carrying the hub's own `Status`, so callers can branch on code/reason.

import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

/** The Kubernetes `Status` object as the hub sends it (or as we synthesize it for transport failures). */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  code: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
}

/**
 * A failed hub call. `code` is the HTTP status (or the Status code of a watch ERROR event); 0 means no
 * response arrived at all (connection refused, reset, TLS failure), the case callers retry.
 */
export class HubError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly status: KubeStatus;

  constructor(status: KubeStatus, options?: ErrorOptions) {
    super(status.message, options);
    this.name = 'HubError';
    this.code = status.code;
    this.reason = status.reason;
    this.status = status;
  }

  static transport(message: string, cause: unknown): HubError {
    return new HubError(failure(0, '', `hub unreachable: ${message}`), { cause });
  }
}

export function isHubError(e: unknown, code?: number): e is HubError {
  return e instanceof HubError && (code === undefined || e.code === code);
}

/** 410 Expired / Gone: the resourceVersion or continue token is older than the hub keeps. */
export function isExpired(e: unknown): boolean {
  return e instanceof HubError && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');
}

function failure(code: number, reason: string, message: string): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function isStatus(v: unknown): v is KubeStatus {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

/** kube-apiserver's reason for a bare HTTP status (k8s.io/apimachinery errors.NewGenericServerResponse). */
function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 406:
      return 'NotAcceptable';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 413:
      return 'RequestEntityTooLarge';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalError';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'Timeout';
    default:
      return code >= 500 ? 'InternalError' : 'Unknown';
  }
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent<T = unknown> {
  type: WatchEventType;
  object: T;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** content type for an object body (default application/json) */
  contentType?: string;
}

export interface WatchOptions {
  /** called once the hub has accepted the watch (200), before any event */
  onOpen?: () => void;
}

export interface HubResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json<T = unknown>(): Promise<T>;
  text(): Promise<string>;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface HubClientOptions {
  /** User-Agent sent to the hub (`--user-agent`); default `cluster-gateway/<version>` */
  userAgent?: string;
  /** per-request header timeout for ordinary calls (watches wait only for headers) */
  requestTimeoutMs?: number;
}

export interface LoadOptions extends HubClientOptions {
  /** kubeconfig file; when absent the in-cluster service account is used */
  kubeconfig?: string;
  /** context inside the kubeconfig (default: its current-context) */
  context?: string;
}

/** TLS material for the connection to the hub. */
interface TlsMaterial {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** Headers that authenticate one request, and client-cert material when an exec plugin returns one. */
interface AuthMaterial {
  headers: Record<string, string>;
  cert?: string;
  key?: string;
}

type AuthSource = () => Promise<AuthMaterial>;

/** client-go re-reads a projected service-account token about once a minute; so do we. */
const TOKEN_FILE_REFRESH_MS = 60_000;
const DEFAULT_USER_AGENT = 'cluster-gateway/v0.1.0';

export class HubClient {
  /** origin (scheme://host:port) of the hub */
  readonly origin: string;
  readonly #basePath: string;
  readonly #userAgent: string;
  readonly #requestTimeoutMs: number;
  readonly #tls: TlsMaterial;
  readonly #auth: AuthSource;
  #pool: Pool;
  #poolCert: string | undefined;
  #closed = false;

  private constructor(server: string, tls: TlsMaterial, auth: AuthSource, opts: HubClientOptions) {
    const u = new URL(server);
    this.origin = u.origin;
    this.#basePath = u.pathname.replace(/\/+$/, '');
    this.#userAgent = opts.userAgent || DEFAULT_USER_AGENT;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.#tls = tls;
    this.#auth = auth;
    this.#pool = this.#newPool(undefined, undefined);
  }

  /** Load from a kubeconfig file, or from the in-cluster service account when no file is given. */
  static async load(opts: LoadOptions = {}): Promise<HubClient> {
    const kc = new KubeConfig();
    if (opts.kubeconfig) {
      // parse failures name the file but never echo its content (it holds credentials)
      const text = await readFile(opts.kubeconfig, 'utf8');
      try {
        kc.loadFromString(text);
      } catch (e) {
        throw new Error(`invalid kubeconfig ${opts.kubeconfig}`, { cause: e });
      }
      kc.makePathsAbsolute(dirnameOf(opts.kubeconfig));
    } else if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) {
      kc.loadFromCluster();
    } else {
      throw new Error('no hub kubeconfig given and not running inside a cluster (KUBERNETES_SERVICE_HOST is unset)');
    }
    if (opts.context) {
      if (!kc.getContextObject(opts.context))
        throw new Error(`context ${JSON.stringify(opts.context)} not found in kubeconfig`);
      kc.setCurrentContext(opts.context);
    }
    return HubClient.fromKubeConfig(kc, opts);
  }

  /**
   * Build from a loaded KubeConfig. TLS material is resolved once here (files read at start-up); the
   * credential is resolved per request only when it can change: token files and exec/auth plugins.
   */
  static async fromKubeConfig(kc: KubeConfig, opts: HubClientOptions = {}): Promise<HubClient> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const user = kc.getCurrentUser();
    if (cluster.proxyUrl) throw new Error('kubeconfig clusters[].proxy-url is not supported for the hub connection');
    let server: URL;
    try {
      server = new URL(cluster.server);
    } catch (e) {
      throw new Error(`invalid hub server URL in kubeconfig cluster ${JSON.stringify(cluster.name)}`, { cause: e });
    }
    if (server.protocol !== 'https:' && server.protocol !== 'http:') {
      throw new Error(`unsupported hub server scheme ${JSON.stringify(server.protocol)}`);
    }

    // Everything except the dynamic credential: CA, client cert/key, skip-verify, SNI, static token.
    const applied: {
      ca?: Buffer | string;
      cert?: Buffer | string;
      key?: Buffer | string;
      rejectUnauthorized?: boolean;
      servername?: string;
      headers?: Record<string, unknown>;
      auth?: string;
    } = {};
    // client-node refuses plain-HTTP servers unless TLS verification is off; TLS is moot there anyway
    let source = kc;
    if (server.protocol === 'http:' && user) {
      source = new KubeConfig();
      source.loadFromClusterAndUser({ ...cluster, skipTLSVerify: true }, user);
    }
    await source.applyToHTTPSOptions(applied as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
    if (server.protocol === 'http:') {
      delete applied.ca;
      delete applied.rejectUnauthorized;
    }
    const tls: TlsMaterial = {};
    if (applied.ca !== undefined) tls.ca = applied.ca;
    if (applied.cert !== undefined) tls.cert = applied.cert;
    if (applied.key !== undefined) tls.key = applied.key;
    if (applied.rejectUnauthorized !== undefined) tls.rejectUnauthorized = applied.rejectUnauthorized;
    if (applied.servername !== undefined) tls.servername = applied.servername;

    const staticHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(applied.headers ?? {})) if (typeof v === 'string') staticHeaders[k] = v;
    if (applied.auth) staticHeaders.Authorization = `Basic ${Buffer.from(applied.auth).toString('base64')}`;

    let auth: AuthSource;
    const provider = user?.authProvider as { name?: string; config?: Record<string, unknown> } | undefined;
    const tokenFile = typeof provider?.config?.tokenFile === 'string' ? provider.config.tokenFile : undefined;
    if (user && tokenFile) {
      auth = tokenFileAuth(tokenFile, staticHeaders);
    } else if (user && (user.exec || provider)) {
      auth = pluginAuth(kc, staticHeaders);
    } else {
      const m: AuthMaterial = { headers: staticHeaders };
      auth = () => Promise.resolve(m);
    }
    return new HubClient(server.href, tls, auth, opts);
  }

  #newPool(cert: string | undefined, key: string | undefined): Pool {
    const connect: Record<string, unknown> = { ...this.#tls };
    if (cert !== undefined) connect.cert = cert;
    if (key !== undefined) connect.key = key;
    return new Pool(this.origin, {
      allowH2: true,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: connect as Pool.Options['connect'],
    });
  }

  /** The pool for this request; swapped when an exec plugin hands out a new client certificate. */
  #poolFor(m: AuthMaterial): Pool {
    if (m.cert !== undefined && m.key !== undefined && m.cert !== this.#poolCert) {
      const old = this.#pool;
      this.#pool = this.#newPool(m.cert, m.key);
      this.#poolCert = m.cert;
      // in-flight requests (watches) finish on the old connections
      old.close().catch(() => undefined);
    }
    return this.#pool;
  }

  #url(path: string, query?: Query): string {
    let p = this.#basePath + (path.startsWith('/') ? path : `/${path}`);
    if (query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs.append(k, String(v));
      const s = qs.toString();
      if (s) p += (p.includes('?') ? '&' : '?') + s;
    }
    return p;
  }

  async #dispatch(
    method: string,
    path: string,
    opts: RequestOptions,
    stream: boolean,
  ): Promise<Dispatcher.ResponseData> {
    if (this.#closed) throw HubClient.#closedError();
    let m: AuthMaterial;
    try {
      m = await this.#auth();
    } catch (e) {
      // the message of a plugin failure may carry its stderr; keep it as the cause only
      throw new HubError(failure(401, 'Unauthorized', 'failed to obtain hub credentials'), { cause: e });
    }
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.#userAgent,
      ...m.headers,
      ...opts.headers,
    };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] ??= opts.contentType ?? 'application/json';
    }
    try {
      return await this.#poolFor(m).request({
        method,
        path: this.#url(path, opts.query),
        headers,
        body,
        signal: opts.signal,
        headersTimeout: this.#requestTimeoutMs,
        // a watch may stay silent for minutes between bookmarks; ordinary bodies must not stall
        bodyTimeout: stream ? 0 : this.#requestTimeoutMs,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      throw HubError.transport(`${method} ${path}: ${errorMessage(e)}`, e);
    }
  }

  static #closedError(): HubError {
    return HubError.transport('client closed', undefined);
  }

  /**
   * One call. 2xx/3xx responses are returned with the body unread; anything ≥ 400 is read and thrown as
   * a HubError carrying the hub's Status (or one synthesized from the HTTP status when the body isn't).
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<HubResponse> {
    const res = await this.#dispatch(method, path, opts, false);
    if (res.statusCode >= 400) throw await errorFromResponse(res, opts.signal);
    const read = async (): Promise<string> => {
      try {
        return await res.body.text();
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        throw HubError.transport(`${method} ${path}: reading body: ${errorMessage(e)}`, e);
      }
    };
    return {
      status: res.statusCode,
      headers: res.headers,
      text: read,
      json: async <T>(): Promise<T> => {
        const t = await read();
        try {
          return JSON.parse(t) as T;
        } catch (e) {
          throw new HubError(failure(500, 'InternalError', `${method} ${path}: hub answered invalid JSON`), {
            cause: e,
          });
        }
      },
    };
  }

  async get<T = unknown>(path: string, opts: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return (await this.request('GET', path, opts)).json<T>();
  }

  /** LIST one page (pass `limit`/`continue` in the query to paginate). */
  async list<T = unknown>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return (await this.request('GET', path, { query, signal })).json<T>();
  }

  async create<T = unknown>(path: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return (await this.request('POST', path, { ...opts, body })).json<T>();
  }

  async update<T = unknown>(path: string, body: unknown, opts: Omit<RequestOptions, 'body'> = {}): Promise<T> {
    return (await this.request('PUT', path, { ...opts, body })).json<T>();
  }

  async patch<T = unknown>(
    path: string,
    body: unknown,
    type: PatchType = 'merge',
    opts: Omit<RequestOptions, 'body' | 'contentType'> = {},
  ): Promise<T> {
    const payload = type === 'apply' && typeof body !== 'string' ? JSON.stringify(body) : body;
    return (
      await this.request('PATCH', path, { ...opts, body: payload, contentType: PATCH_CONTENT_TYPES[type] })
    ).json<T>();
  }

  async delete<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
    return (await this.request('DELETE', path, opts)).json<T>();
  }

  /**
   * A watch stream as events. `watch=true` is added to the query. The response status is checked when
   * iteration starts (≥ 400 → HubError); an ERROR event is thrown as a HubError with the event's Status
   * (e.g. 410 Expired); the stream ending normally (server timeoutSeconds) ends the iteration; aborting
   * the signal throws the signal's reason. Breaking out of the loop closes the stream.
   */
  async *watch<T = unknown>(
    path: string,
    query: Query = {},
    signal?: AbortSignal,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent<T>> {
    const res = await this.#dispatch('GET', path, { query: { ...query, watch: 'true' }, signal }, true);
    if (res.statusCode >= 400) throw await errorFromResponse(res, signal);
    opts.onOpen?.();
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) yield parseWatchLine<T>(line);
        }
      }
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      if (e instanceof HubError) throw e;
      throw HubError.transport(`watch ${path}: ${errorMessage(e)}`, e);
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
    buf += decoder.decode();
    if (buf.trim()) throw HubError.transport(`watch ${path}: stream ended inside an event`, undefined);
  }

  /** POST a TokenReview; returns the review as the hub filled it in (status.authenticated, user…). */
  async createTokenReview(token: string, audiences?: string[], signal?: AbortSignal): Promise<TokenReview> {
    const spec: { token: string; audiences?: string[] } = { token };
    if (audiences?.length) spec.audiences = audiences;
    return this.create<TokenReview>(
      '/apis/authentication.k8s.io/v1/tokenreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec },
      { signal },
    );
  }

  /** POST a SubjectAccessReview; returns the review with its status (allowed, denied, reason). */
  async createSubjectAccessReview(spec: SubjectAccessReviewSpec, signal?: AbortSignal): Promise<SubjectAccessReview> {
    return this.create<SubjectAccessReview>(
      '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
      { signal },
    );
  }

  /**
   * The APIResourceList of one group version, or undefined when the hub does not serve it (404).
   * Asks for that group version only: upstream's whole-discovery check failed whenever any aggregated
   * API was down, which is the normal state while the gateway itself starts.
   */
  async discoveryResources(group: string, version: string, signal?: AbortSignal): Promise<APIResourceList | undefined> {
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    try {
      return await this.get<APIResourceList>(path, { signal });
    } catch (e) {
      if (isHubError(e, 404)) return undefined;
      throw e;
    }
  }

  async discoveryHasGroupVersion(group: string, version: string, signal?: AbortSignal): Promise<boolean> {
    return (await this.discoveryResources(group, version, signal)) !== undefined;
  }

  /** Close connections; in-flight requests are aborted. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.destroy().catch(() => undefined);
  }
}

export interface APIResource {
  name: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  group?: string;
  version?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface APIResourceList {
  kind: 'APIResourceList';
  groupVersion: string;
  resources: APIResource[];
}

export interface TokenReview {
  apiVersion: string;
  kind: 'TokenReview';
  spec: { token?: string; audiences?: string[] };
  status?: {
    authenticated?: boolean;
    user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
    audiences?: string[];
    error?: string;
  };
}

export interface SubjectAccessReviewSpec {
  user?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  resourceAttributes?: {
    namespace?: string;
    verb?: string;
    group?: string;
    version?: string;
    resource?: string;
    subresource?: string;
    name?: string;
  };
  nonResourceAttributes?: { path?: string; verb?: string };
}

export interface SubjectAccessReview {
  apiVersion: string;
  kind: 'SubjectAccessReview';
  spec: SubjectAccessReviewSpec;
  status?: { allowed: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

function parseWatchLine<T>(line: string): WatchEvent<T> {
  let ev: { type?: unknown; object?: unknown };
  try {
    ev = JSON.parse(line) as { type?: unknown; object?: unknown };
  } catch (e) {
    throw new HubError(failure(500, 'InternalError', 'hub sent an undecodable watch event'), { cause: e });
  }
  if (ev.type === 'ERROR') {
    const st = isStatus(ev.object) ? ev.object : failure(500, 'InternalError', 'watch ERROR event without a Status');
    throw new HubError(st);
  }
  if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED' && ev.type !== 'DELETED' && ev.type !== 'BOOKMARK') {
    throw new HubError(failure(500, 'InternalError', `unknown watch event type ${JSON.stringify(ev.type)}`));
  }
  return { type: ev.type, object: ev.object as T };
}

async function errorFromResponse(res: Dispatcher.ResponseData, signal: AbortSignal | undefined): Promise<HubError> {
  let text = '';
  try {
    text = await res.body.text();
  } catch {
    if (signal?.aborted) throw signal.reason;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (isStatus(parsed)) {
    const st = { ...parsed };
    if (!st.code) st.code = res.statusCode;
    if (typeof st.reason !== 'string') st.reason = '';
    if (typeof st.message !== 'string') st.message = '';
    return new HubError(st);
  }
  // a proxy or a non-kube server in between: keep the status, never the (possibly huge) body
  const snippet = text.slice(0, 200).trim();
  const msg = snippet
    ? `the server responded with status ${res.statusCode}: ${snippet}`
    : `the server responded with status ${res.statusCode}`;
  return new HubError(failure(res.statusCode, reasonForCode(res.statusCode), msg));
}

function errorMessage(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

function dirnameOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : p.slice(0, i);
}

/** In-cluster projected token: re-read asynchronously about once a minute (it rotates on disk). */
function tokenFileAuth(file: string, base: Record<string, string>): AuthSource {
  let token: string | undefined;
  let readAt = 0;
  let pending: Promise<string> | undefined;
  return async () => {
    if (token === undefined || Date.now() - readAt > TOKEN_FILE_REFRESH_MS) {
      pending ??= readFile(file, 'utf8')
        .then((t) => {
          token = t.trim();
          readAt = Date.now();
          return token;
        })
        .finally(() => {
          pending = undefined;
        });
      try {
        await pending;
      } catch (e) {
        // keep using the last token if a refresh fails: the file is being swapped
        if (token === undefined) throw e;
      }
    }
    return { headers: { ...base, Authorization: `Bearer ${token ?? ''}` } };
  };
}

/**
 * Exec and auth-provider credentials: client-node's authenticators run the plugin and cache its
 * credential until it expires. We ask a copy of the KubeConfig with the user's files stripped, so
 * this per-request call reads no certificate files synchronously.
 */
function pluginAuth(kc: KubeConfig, base: Record<string, string>): AuthSource {
  const cluster = kc.getCurrentCluster()!;
  const user = kc.getCurrentUser()!;
  const authOnly = new KubeConfig();
  authOnly.loadFromClusterAndUser(
    { name: cluster.name, server: cluster.server, skipTLSVerify: true }, // its agent is never used
    { name: user.name, exec: user.exec as unknown, authProvider: user.authProvider as unknown, token: user.token },
  );
  return async () => {
    const o: { headers?: Record<string, unknown>; cert?: unknown; key?: unknown } = { headers: {} };
    await authOnly.applyToHTTPSOptions(o as Parameters<KubeConfig['applyToHTTPSOptions']>[0]);
    const headers = { ...base };
    for (const [k, v] of Object.entries(o.headers ?? {})) if (typeof v === 'string') headers[k] = v;
    const m: AuthMaterial = { headers };
    if (typeof o.cert === 'string' || Buffer.isBuffer(o.cert)) m.cert = String(o.cert);
    if (typeof o.key === 'string' || Buffer.isBuffer(o.key)) m.key = String(o.key);
    return m;
  };
}
