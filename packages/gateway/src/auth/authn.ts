// Delegated authentication of the gateway apiserver, in the order and with the semantics of
// k8s.io/apiserver's DelegatingAuthenticatorConfig: (a) front-proxy / requestheader: a client
// certificate that verifies against the requestheader CA (CN in the allowed names) makes the
// X-Remote-* headers the identity; the same headers without such a certificate are never trusted;
// (b) a client certificate against the client CA (CN = user, O = groups); (c) a bearer token (header
// or WebSocket subprotocol) reviewed by the hub's TokenReview, cached; (d) anonymous. As in kube's
// union authenticator a failing method does not stop the next one, but if nothing succeeds and any
// method failed the answer is 401 rather than anonymous (FailOnError), and every authenticated user
// gains `system:authenticated`.

import { createHash, type X509Certificate } from 'node:crypto';
import { errors, type GatewayError } from '../apiserver/errors.ts';
import type { AuthConfig } from './auth-config.ts';
import { firstValue, headerValues, unescapeExtraKey, type HeaderInput, type HeaderValues } from './headers.ts';
import { ReviewCache, type RetryBackoff } from './review-cache.ts';
import {
  anonymousUser,
  errorMessage,
  withAuthenticatedGroup,
  type HubAuthApi,
  type TokenReviewResult,
  type UserInfo,
} from './types.ts';
import { certificateSubject, verifyClientCertificate } from './x509.ts';

export interface AuthnRequest {
  /** `req.headersDistinct` (or `req.headers`; then pass `rawHeaders` so repeated headers stay distinct) */
  headers: HeaderInput;
  /** node's `req.rawHeaders`: exact, repeated headers kept apart */
  rawHeaders?: readonly string[];
  /** `tlsSocket.getPeerX509Certificate()` */
  peerCertificate: X509Certificate | undefined;
  /** intermediates the client sent after its leaf */
  peerChain?: X509Certificate[];
  signal?: AbortSignal;
}

export type AuthnMethod = 'requestheader' | 'x509' | 'token' | 'websocket-token' | 'anonymous';

export interface AuthnResult {
  user: UserInfo;
  method: AuthnMethod;
  /**
   * Header changes kube makes after success: names (lower-case) to delete and values to replace
   * (the WebSocket subprotocol list without the token). The proxy strips identity headers anyway.
   */
  deleteHeaders: string[];
  setHeaders: Record<string, string>;
}

export interface DelegatingAuthenticatorOptions {
  /** the live trust configuration (DynamicAuthConfig.current) */
  config: () => AuthConfig;
  /** the hub for TokenReview; undefined = bearer tokens are not accepted (ignored) */
  hub?: HubAuthApi;
  /** audiences sent in TokenReview.spec.audiences and required in the answer */
  audiences?: string[];
  /** --authentication-token-webhook-cache-ttl (default 10s) */
  cacheTTLMs?: number;
  /**
   * how long a definite "not authenticated" is kept (default 5s). kube keeps failures with an error
   * text not at all and others for the full TTL; keeping every negative answer briefly stops a
   * client looping on a bad token from turning each request into a hub call.
   */
  failureCacheTTLMs?: number;
  /** bound of the token cache (kube: 32 stripes of 128) */
  cacheMaxEntries?: number;
  /** deadline of one TokenReview including retries (kube: 10s) */
  reviewTimeoutMs?: number;
  retryBackoff?: RetryBackoff;
  /** --anonymous-auth (default true) */
  anonymous?: boolean;
  /** clock in ms, for certificate validity */
  now?: () => number;
  /** where failures are reported (never with the credential itself) */
  log?: (message: string, err?: unknown) => void;
}

const WS_PROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';
const INVALID_BEARER = 'invalid bearer token';

type Outcome = { ok: true; result: AuthnResult } | { ok: false; error: string } | undefined;

interface TokenRecord {
  authenticated: boolean;
  user?: UserInfo;
  error?: string;
}

/** websocket.IsWebSocketRequest: `Connection: upgrade` and `Upgrade: websocket` */
function isWebSocketRequest(h: HeaderValues): boolean {
  const conn = (h.get('connection') ?? []).flatMap((v) => v.split(',')).map((v) => v.trim().toLowerCase());
  return conn.includes('upgrade') && firstValue(h, 'upgrade').trim().toLowerCase() === 'websocket';
}

export class DelegatingAuthenticator {
  readonly #opts: DelegatingAuthenticatorOptions;
  readonly #tokens: ReviewCache<TokenRecord>;

  constructor(opts: DelegatingAuthenticatorOptions) {
    this.#opts = opts;
    const ttl = opts.cacheTTLMs ?? 10_000;
    const failureTTL = opts.failureCacheTTLMs ?? Math.min(ttl, 5_000);
    this.#tokens = new ReviewCache<TokenRecord>({
      max: opts.cacheMaxEntries ?? 4096,
      ttlFor: (r) => (r.authenticated ? ttl : failureTTL),
      timeoutMs: opts.reviewTimeoutMs ?? 10_000,
      backoff: opts.retryBackoff,
    });
  }

  /** TokenReview cache counters (hub calls, hits, joined flights). */
  get tokenStats(): Readonly<{ hubCalls: number; hits: number; joined: number }> {
    return this.#tokens.stats;
  }

  /** Who is calling. Rejects with the 401 GatewayError kube answers with. */
  async authenticate(req: AuthnRequest): Promise<UserInfo> {
    return (await this.authenticateRequest(req)).user;
  }

  async authenticateRequest(req: AuthnRequest): Promise<AuthnResult> {
    const h = headerValues(req.headers, req.rawHeaders);
    const cfg = this.#opts.config();
    const failures: string[] = [];
    const steps: (() => Outcome | Promise<Outcome>)[] = [
      () => this.#requestHeader(cfg, h, req),
      () => this.#clientCertificate(cfg, req),
      () => this.#bearer(h, req.signal),
      () => this.#websocket(h, req.signal),
    ];
    for (const step of steps) {
      const r = await step();
      if (!r) continue;
      if (r.ok) return { ...r.result, user: withAuthenticatedGroup(r.result.user) };
      failures.push(r.error);
    }
    if (failures.length > 0) {
      this.#opts.log?.(`authentication failed: ${failures.join('; ')}`);
      throw unauthorized();
    }
    if (this.#opts.anonymous === false) throw unauthorized();
    return { user: anonymousUser(), method: 'anonymous', deleteHeaders: [], setHeaders: {} };
  }

  /** The lower-case header names (and prefixes) the current requestheader config reads. */
  identityHeaders(): { names: string[]; prefixes: string[] } {
    const rh = this.#opts.config().requestHeader;
    if (!rh) return { names: [], prefixes: [] };
    return {
      names: [...rh.usernameHeaders, ...rh.uidHeaders, ...rh.groupHeaders],
      prefixes: [...rh.extraHeaderPrefixes],
    };
  }

  #requestHeader(cfg: AuthConfig, h: HeaderValues, req: AuthnRequest): Outcome {
    const rh = cfg.requestHeader;
    const cert = req.peerCertificate;
    // no requestheader config (never read, deleted) or no certificate: the headers mean nothing
    if (!rh || !cert) return undefined;
    const bad = verifyClientCertificate(cert, {
      roots: rh.ca.certs,
      intermediates: req.peerChain,
      now: this.#opts.now?.(),
    });
    if (bad) return { ok: false, error: bad };
    if (rh.allowedNames.length > 0) {
      const cn = certificateSubject(cert).commonName;
      if (!rh.allowedNames.includes(cn)) {
        return { ok: false, error: `x509: subject with cn=${cn} is not in the allowed list` };
      }
    }
    const first = (names: readonly string[]) => {
      for (const n of names) {
        const v = firstValue(h, n);
        if (v) return v;
      }
      return '';
    };
    const username = first(rh.usernameHeaders);
    if (!username) return undefined;
    const groups: string[] = [];
    for (const n of rh.groupHeaders) for (const v of h.get(n) ?? []) if (v) groups.push(v);
    const extra: Record<string, string[]> = {};
    const deleteHeaders = [...rh.usernameHeaders, ...rh.uidHeaders, ...rh.groupHeaders];
    for (const prefix of rh.extraHeaderPrefixes) {
      for (const [name, values] of h) {
        if (!name.startsWith(prefix)) continue;
        const key = unescapeExtraKey(name.slice(prefix.length).toLowerCase());
        (extra[key] ??= []).push(...values);
        deleteHeaders.push(name);
      }
    }
    const user: UserInfo = { username, groups };
    const uid = first(rh.uidHeaders);
    if (uid) user.uid = uid;
    if (Object.keys(extra).length > 0) user.extra = extra;
    return { ok: true, result: { user, method: 'requestheader', deleteHeaders, setHeaders: {} } };
  }

  #clientCertificate(cfg: AuthConfig, req: AuthnRequest): Outcome {
    const ca = cfg.clientCA;
    const cert = req.peerCertificate;
    if (!ca || !cert) return undefined;
    const bad = verifyClientCertificate(cert, {
      roots: ca.certs,
      intermediates: req.peerChain,
      now: this.#opts.now?.(),
    });
    if (bad) return { ok: false, error: bad };
    const { commonName, organizations } = certificateSubject(cert);
    // CommonNameUserConversion: a certificate without CN carries no identity
    if (!commonName) return undefined;
    return {
      ok: true,
      result: {
        user: { username: commonName, groups: organizations },
        method: 'x509',
        deleteHeaders: [],
        setHeaders: {},
      },
    };
  }

  async #bearer(h: HeaderValues, signal: AbortSignal | undefined): Promise<Outcome> {
    if (!this.#opts.hub) return undefined;
    const auth = firstValue(h, 'authorization').trim();
    if (!auth) return undefined;
    // bearertoken.Authenticator: strings.SplitN(auth, " ", 3)
    const parts = auth.split(' ');
    if (parts.length < 2 || parts[0]!.toLowerCase() !== 'bearer') return undefined;
    const token = parts[1]!;
    if (!token) return undefined;
    const r = await this.#review(token, signal);
    if (!r.ok) return r;
    return { ok: true, result: { user: r.user, method: 'token', deleteHeaders: ['authorization'], setHeaders: {} } };
  }

  async #websocket(h: HeaderValues, signal: AbortSignal | undefined): Promise<Outcome> {
    if (!this.#opts.hub || !isWebSocketRequest(h)) return undefined;
    let token = '';
    let sawToken = false;
    const others: string[] = [];
    for (const header of h.get('sec-websocket-protocol') ?? []) {
      for (const raw of header.split(',')) {
        const p = raw.trim();
        if (!p.startsWith(WS_PROTOCOL_PREFIX)) {
          others.push(p);
          continue;
        }
        if (sawToken) return { ok: false, error: 'multiple base64.bearer.authorization tokens specified' };
        sawToken = true;
        const enc = p.slice(WS_PROTOCOL_PREFIX.length);
        if (!/^[A-Za-z0-9_-]*$/.test(enc) || enc.length % 4 === 1) {
          return { ok: false, error: 'invalid base64.bearer.authorization token encoding' };
        }
        const bytes = Buffer.from(enc, 'base64url');
        try {
          token = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          return { ok: false, error: 'invalid base64.bearer.authorization token' };
        }
      }
    }
    if (token && others.length === 0) return { ok: false, error: 'missing additional subprotocol' };
    if (!token) return undefined;
    const r = await this.#review(token, signal);
    if (!r.ok) return r;
    return {
      ok: true,
      result: {
        user: r.user,
        method: 'websocket-token',
        deleteHeaders: [],
        setHeaders: { 'sec-websocket-protocol': others.join(',') },
      },
    };
  }

  async #review(
    token: string,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; user: UserInfo } | { ok: false; error: string }> {
    const hub = this.#opts.hub!;
    const audiences = this.#opts.audiences?.length ? this.#opts.audiences : undefined;
    // the token itself never becomes a key, a log line or an error text
    const key = createHash('sha256')
      .update(JSON.stringify([audiences ?? [], token]))
      .digest('base64url');
    let rec: TokenRecord;
    try {
      rec = await this.#tokens.get(
        key,
        async (s) => toRecord(await hub.createTokenReview(token, audiences, s), audiences),
        signal,
      );
    } catch (e) {
      if (signal?.aborted) throw e;
      // webhook.go: a failed review is an authentication error, i.e. 401 (never anonymous)
      return { ok: false, error: `TokenReview failed: ${errorMessage(e)}` };
    }
    if (rec.authenticated && rec.user) return { ok: true, user: rec.user };
    return { ok: false, error: rec.error ?? INVALID_BEARER };
  }
}

function toRecord(review: TokenReviewResult, audiences: string[] | undefined): TokenRecord {
  const st = review.status ?? {};
  if (audiences) {
    // an answer naming audiences must share one with ours; one naming none is for the implicit (ours)
    const got = st.audiences?.length ? st.audiences : audiences;
    if (!got.some((a) => audiences.includes(a))) return { authenticated: false };
  }
  if (!st.authenticated) return { authenticated: false, error: st.error || undefined };
  const u = st.user ?? {};
  const user: UserInfo = { username: u.username ?? '', groups: [...(u.groups ?? [])] };
  if (u.uid) user.uid = u.uid;
  if (u.extra && Object.keys(u.extra).length > 0) {
    user.extra = Object.fromEntries(Object.entries(u.extra).map(([k, v]) => [k, [...v]]));
  }
  return { authenticated: true, user };
}

function unauthorized(): GatewayError {
  return errors.unauthorized('Unauthorized');
}
