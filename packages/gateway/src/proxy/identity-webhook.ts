// ExternalIdentityExchanger as a webhook (upstream reserved the type and never implemented it): the
// gateway POSTs the hub caller's identity to the rule's `url` and impersonates the identity the
// webhook answers. The contract (request and response documents, URL policy, timeouts, caching,
// failure handling) is documented in docs/identity-exchange.md; keep the two in step.
// An exchange that cannot be done (timeout, transport error, non-2xx, oversized or malformed answer,
// disallowed URL) fails the proxied request with 503 ServiceUnavailable naming the rule and the cause:
// guessing an identity would be worse than refusing. Answers are cached per (url, rule, cluster, caller)
// and concurrent identical exchanges share one call. The gateway holds no secret for the webhook and
// sends none; URLs are shown without query or user info in messages and logs.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { getCACertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { errors, GatewayError } from '../apiserver/errors.ts';
import { API_VERSION } from '../registry/types.ts';
import type { UserInfo } from '../auth/types.ts';
import type { ExternalExchangeRequest, ExternalExchangeResult, ExternalExchanger } from './identity.ts';

export const EXCHANGE_KIND = 'ClusterGatewayIdentityExchange';
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_CACHE_TTL_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

/** The request document POSTed to the webhook. */
export interface IdentityExchangeRequestDocument {
  apiVersion: typeof API_VERSION;
  kind: typeof EXCHANGE_KIND;
  spec: {
    cluster: string;
    rule: string;
    user: { username: string; uid: string; groups: string[]; extra: Record<string, string[]> };
  };
}

// Values end up in Impersonate-* header fields: control characters would corrupt or split them.
function hasControlCharacter(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

const headerSafe = z
  .string()
  .refine((v) => !hasControlCharacter(v), { message: 'must not contain control characters' });

const statusSchema = z
  .object({
    privileged: z.boolean().optional(),
    denied: z.boolean().optional(),
    reason: z.string().optional(),
    user: headerSafe.optional(),
    groups: z.array(headerSafe).nullish(),
    uid: headerSafe.optional(),
    extra: z.record(headerSafe.min(1, 'extra keys must not be empty'), z.array(headerSafe)).nullish(),
  })
  .superRefine((s, ctx) => {
    const mapped = s.user !== undefined || (s.groups?.length ?? 0) > 0 || s.uid !== undefined || s.extra;
    if (s.denied === true) return;
    if (s.privileged === true) {
      if (mapped) ctx.addIssue({ code: 'custom', message: 'a privileged answer must not carry an identity' });
      return;
    }
    if (!s.user) ctx.addIssue({ code: 'custom', path: ['user'], message: 'required unless privileged or denied' });
  });

const responseSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(EXCHANGE_KIND),
  status: statusSchema,
});

type Answer =
  | { kind: 'privileged' }
  | { kind: 'denied'; reason: string }
  | { kind: 'identity'; user: string; groups: string[]; uid?: string; extra: Record<string, string[]> };

/** Why a webhook URL is refused, or undefined when it may be called (see docs/identity-exchange.md). */
export function webhookURLProblem(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'not a valid absolute URL';
  }
  if (u.username || u.password) return 'must not carry user info (credentials do not belong in the proxy config)';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol !== 'http:') return `scheme ${u.protocol.slice(0, -1)} is not supported; use https`;
  if (isLoopback(u.hostname)) return undefined;
  return 'http is allowed only for loopback addresses (127.0.0.0/8, [::1]); use https';
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
}

/** The URL as shown in messages and logs: no user info, query or fragment (they may carry secrets). */
export function displayURL(raw: string): string {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

export interface WebhookIdentityExchangerOptions {
  /** deadline of one exchange: connect, request, full answer (default 5 s) */
  timeoutMs?: number;
  /** how long an answer is reused (default 30 s; 0 = no cache, calls are still single-flight) */
  cacheTTLMs?: number;
  cacheMaxEntries?: number;
  /** larger answers are refused (default 64 KiB) */
  maxResponseBytes?: number;
  /** extra trusted CA certificates (PEM) on top of Node's bundled and the system roots */
  ca?: string[];
  logger?: { warn(obj: object, msg: string): void };
  /** clock for the cache (tests) */
  now?: () => number;
}

function trustedRoots(extra: readonly string[]): string[] {
  const roots = new Set<string>(getCACertificates('default'));
  try {
    for (const c of getCACertificates('system')) roots.add(c);
  } catch {
    // no readable system store: Node's bundled roots remain
  }
  for (const c of extra) roots.add(c);
  return [...roots];
}

class ExchangeFailure extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ExchangeFailure';
  }
}

export class WebhookIdentityExchanger implements ExternalExchanger {
  readonly #timeoutMs: number;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #log: WebhookIdentityExchangerOptions['logger'];
  readonly #now: () => number;
  readonly #agent: Agent;
  readonly #cache = new Map<string, { answer: Answer; expires: number }>();
  readonly #flights = new Map<string, Promise<Answer>>();
  /** webhook calls made (tests prove cache hits and single-flight with it) */
  calls = 0;

  constructor(o: WebhookIdentityExchangerOptions = {}) {
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#ttlMs = o.cacheTTLMs ?? DEFAULT_CACHE_TTL_MS;
    this.#maxEntries = o.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
    this.#maxBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#log = o.logger;
    this.#now = o.now ?? Date.now;
    this.#agent = new Agent({
      connect: { ca: trustedRoots(o.ca ?? []), rejectUnauthorized: true, timeout: this.#timeoutMs },
      keepAliveTimeout: 30_000,
    });
  }

  async exchange(req: ExternalExchangeRequest, signal?: AbortSignal): Promise<ExternalExchangeResult> {
    signal?.throwIfAborted();
    const answer = await this.#answer(req, signal);
    switch (answer.kind) {
      case 'privileged':
        return { privileged: true };
      case 'denied':
        throw errors.forbidden(
          `identity exchange rule ${JSON.stringify(req.rule)} denied user ${JSON.stringify(req.user.username)} access to cluster ${JSON.stringify(req.cluster)}${answer.reason ? `: ${answer.reason}` : ''}`,
        );
      case 'identity': {
        const identity = { user: answer.user, groups: [...answer.groups], extra: copyExtra(answer.extra) };
        return { privileged: false, identity: answer.uid ? { ...identity, uid: answer.uid } : identity };
      }
    }
  }

  /** Drop cached answers and close idle connections. */
  async close(): Promise<void> {
    this.#cache.clear();
    await this.#agent.close();
  }

  async #answer(req: ExternalExchangeRequest, signal: AbortSignal | undefined): Promise<Answer> {
    const key = cacheKey(req.url, req.rule, req.cluster, req.user);
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit && hit.expires > now) return hit.answer;
    if (hit) this.#cache.delete(key);

    let flight = this.#flights.get(key);
    if (!flight) {
      flight = this.#call(req).then(
        (answer) => {
          this.#remember(key, answer);
          return answer;
        },
        (e: unknown) => {
          throw this.#failed(req, e);
        },
      );
      const settled = flight.finally(() => this.#flights.delete(key));
      settled.catch(() => undefined);
      this.#flights.set(key, flight);
    }
    return raceAbort(flight, signal);
  }

  #remember(key: string, answer: Answer): void {
    if (this.#ttlMs <= 0) return;
    if (this.#cache.size >= this.#maxEntries) {
      const now = this.#now();
      for (const [k, v] of this.#cache) if (v.expires <= now) this.#cache.delete(k);
      // still full: drop the oldest entries (Map keeps insertion order)
      for (const k of this.#cache.keys()) {
        if (this.#cache.size < this.#maxEntries) break;
        this.#cache.delete(k);
      }
    }
    this.#cache.set(key, { answer, expires: this.#now() + this.#ttlMs });
  }

  #failed(req: ExternalExchangeRequest, e: unknown): GatewayError {
    const cause = e instanceof Error ? e.message : String(e);
    this.#log?.warn(
      { rule: req.rule, cluster: req.cluster, url: displayURL(req.url), user: req.user.username, cause },
      'identity exchange webhook failed',
    );
    return errors.unavailable(
      `identity exchange webhook of rule ${JSON.stringify(req.rule)} (${displayURL(req.url)}) failed for cluster ${JSON.stringify(req.cluster)}: ${cause}`,
      undefined,
      e,
    );
  }

  async #call(req: ExternalExchangeRequest): Promise<Answer> {
    const problem = webhookURLProblem(req.url);
    if (problem) throw new ExchangeFailure(`url refused: ${problem}`);
    this.calls++;
    const doc: IdentityExchangeRequestDocument = {
      apiVersion: API_VERSION,
      kind: EXCHANGE_KIND,
      spec: {
        cluster: req.cluster,
        rule: req.rule,
        user: {
          username: req.user.username,
          uid: req.user.uid ?? '',
          groups: [...req.user.groups],
          extra: copyExtra(req.user.extra),
        },
      },
    };
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.#timeoutMs);
    try {
      const res = await request(req.url, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'cluster-gateway' },
        body: JSON.stringify(doc),
        signal: ac.signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      const text = await readLimited(res.body, res.headers['content-length'], this.#maxBytes);
      if (res.statusCode < 200 || res.statusCode > 299) {
        const message = statusMessage(text);
        throw new ExchangeFailure(`webhook answered HTTP ${String(res.statusCode)}${message ? `: ${message}` : ''}`);
      }
      return parseAnswer(text);
    } catch (e) {
      if (timedOut) throw new ExchangeFailure(`no answer within ${String(this.#timeoutMs)}ms`, { cause: e });
      if (e instanceof ExchangeFailure) throw e;
      const code = (e as { code?: unknown }).code;
      const msg = e instanceof Error ? e.message : String(e);
      throw new ExchangeFailure(`request failed: ${typeof code === 'string' ? `${code}: ` : ''}${msg}`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
  }
}

function copyExtra(extra: Record<string, string[]> | null | undefined): Record<string, string[]> {
  if (!extra) return {};
  return Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, [...v]]));
}

// the rule name is part of the key: the webhook sees it and may answer differently per rule
function cacheKey(url: string, rule: string, cluster: string, user: UserInfo): string {
  const extra = Object.keys(user.extra ?? {})
    .sort()
    .map((k) => [k, [...(user.extra?.[k] ?? [])].sort()]);
  const id = [url, rule, cluster, user.username, user.uid ?? '', [...user.groups].sort(), extra];
  return createHash('sha256').update(JSON.stringify(id)).digest('base64url');
}

/** Wait for `p`, or reject as soon as this caller's `signal` aborts (others keep waiting). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}

async function readLimited(
  body: AsyncIterable<Buffer> & { destroy(err?: Error): unknown; on(event: 'error', fn: () => void): unknown },
  contentLength: string | string[] | undefined,
  max: number,
): Promise<string> {
  const declared = typeof contentLength === 'string' ? Number(contentLength) : NaN;
  if (declared > max) {
    // destroying an unread body emits an abort error nobody else listens to
    body.on('error', () => undefined);
    body.destroy();
    throw new ExchangeFailure(`answer of ${String(declared)} bytes exceeds the limit of ${String(max)} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      throw new ExchangeFailure(`answer exceeds the limit of ${String(max)} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The `message` of a Kubernetes Status (or similar) error body, shortened; '' otherwise. */
function statusMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown } | null)?.message;
    if (typeof m === 'string') return m.length > 200 ? `${m.slice(0, 200)}…` : m;
  } catch {
    // not JSON: the body is not shown (it may be an HTML error page)
  }
  return '';
}

function parseAnswer(text: string): Answer {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ExchangeFailure(`answer is not JSON: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const r = responseSchema.safeParse(doc);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.map(String).join('.') || '<document>'}: ${i.message}`);
    throw new ExchangeFailure(`answer is not a valid ${EXCHANGE_KIND}: ${problems.join('; ')}`);
  }
  const s = r.data.status;
  if (s.denied === true) return { kind: 'denied', reason: s.reason ?? '' };
  if (s.privileged === true) return { kind: 'privileged' };
  const answer: Answer = {
    kind: 'identity',
    user: s.user ?? '',
    groups: [...(s.groups ?? [])],
    extra: copyExtra(s.extra),
  };
  if (s.uid) answer.uid = s.uid;
  return answer;
}
