// Delegated authorization of the gateway apiserver, as k8s.io/apiserver's
// DelegatingAuthorizationOptions builds it: a union of the privileged groups (`system:masters`), the
// always-allowed non-resource paths (`/healthz`, `/readyz`, `/livez`, trailing `*` = prefix) and a
// SubjectAccessReview on the hub, cached (allowed and denied answers for their own TTLs), single-flight
// and bounded. A hub failure is not a denial: kube answers 500 InternalError for it, and so do we
// (the decision carries the error). Also the 403 wording kube's responsewriters.Forbidden produces.

import { createHash } from 'node:crypto';
import { errors, GatewayError } from '../apiserver/errors.ts';
import { ReviewCache, type RetryBackoff } from './review-cache.ts';
import {
  errorMessage,
  goQuote,
  PRIVILEGED_GROUP,
  type Attributes,
  type HubAuthApi,
  type SubjectAccessReviewResult,
  type SubjectAccessReviewSpec,
} from './types.ts';

export const DEFAULT_ALWAYS_ALLOW_PATHS = ['/healthz', '/readyz', '/livez'];
export const DEFAULT_ALWAYS_ALLOW_GROUPS = [PRIVILEGED_GROUP];

export interface AuthorizationDecision {
  allowed: boolean;
  /** an explicit deny (the hub said `denied`), as opposed to no opinion */
  denied?: boolean;
  reason: string;
  /** the hub could not be asked or answered nonsense: kube responds 500 with this, not 403 */
  error?: GatewayError;
}

export interface DelegatingAuthorizerOptions {
  /** the hub for SubjectAccessReview; undefined = only the always-allow rules apply */
  hub?: HubAuthApi;
  /** --authorization-always-allow-paths */
  alwaysAllowPaths?: string[];
  /** groups allowed everything (kube: system:masters) */
  alwaysAllowGroups?: string[];
  /** --authorization-webhook-cache-authorized-ttl (default 10s) */
  allowCacheTTLMs?: number;
  /** --authorization-webhook-cache-unauthorized-ttl (default 10s) */
  denyCacheTTLMs?: number;
  cacheMaxEntries?: number;
  /** deadline of one review including retries (kube: 10s) */
  reviewTimeoutMs?: number;
  retryBackoff?: RetryBackoff;
}

/** Problems with --authorization-always-allow-paths, in kube's words (empty when fine). */
export function validateAlwaysAllowPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of paths) {
    const p = raw.replace(/^\//, '');
    if (p.length > 0 && p.slice(0, -1).includes('*')) out.push(`only trailing * allowed in ${goQuote(p)}`);
  }
  return out;
}

class PathMatcher {
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];

  constructor(paths: readonly string[]) {
    const bad = validateAlwaysAllowPaths(paths);
    if (bad.length > 0) throw new Error(bad.join('; '));
    for (const raw of paths) {
      const p = raw.replace(/^\//, '');
      if (p.endsWith('*')) this.#prefixes.push(p.slice(0, -1));
      else this.#exact.add(p);
    }
  }

  matches(path: string): boolean {
    const p = path.replace(/^\//, '');
    return this.#exact.has(p) || this.#prefixes.some((x) => p.startsWith(x));
  }
}

/** The SubjectAccessReview spec kube's webhook authorizer sends for `attrs`. */
export function subjectAccessReviewSpec(attrs: Attributes): SubjectAccessReviewSpec {
  const spec: SubjectAccessReviewSpec = { user: attrs.user.username, groups: [...attrs.user.groups] };
  if (attrs.user.uid) spec.uid = attrs.user.uid;
  const extra = attrs.user.extra;
  if (extra && Object.keys(extra).length > 0) {
    spec.extra = Object.fromEntries(
      Object.keys(extra)
        .sort()
        .map((k) => [k, [...extra[k]!]]),
    );
  }
  if (attrs.resourceRequest) {
    spec.resourceAttributes = {
      namespace: attrs.namespace,
      verb: attrs.verb,
      group: attrs.apiGroup,
      version: attrs.apiVersion,
      resource: attrs.resource,
      subresource: attrs.subresource,
      name: attrs.name,
    };
  } else {
    spec.nonResourceAttributes = { path: attrs.path, verb: attrs.verb };
  }
  return spec;
}

interface SarRecord {
  allowed: boolean;
  denied: boolean;
  reason: string;
  /** both allowed and denied: kube treats it as an error */
  conflicting: boolean;
}

export class DelegatingAuthorizer {
  readonly #hub: HubAuthApi | undefined;
  readonly #paths: PathMatcher;
  readonly #groups: Set<string>;
  readonly #cache: ReviewCache<SarRecord>;

  /** Throws when an always-allow path has a `*` anywhere but at the end (as kube refuses to start). */
  constructor(opts: DelegatingAuthorizerOptions = {}) {
    this.#hub = opts.hub;
    this.#paths = new PathMatcher(opts.alwaysAllowPaths ?? DEFAULT_ALWAYS_ALLOW_PATHS);
    this.#groups = new Set(opts.alwaysAllowGroups ?? DEFAULT_ALWAYS_ALLOW_GROUPS);
    const allowTTL = opts.allowCacheTTLMs ?? 10_000;
    const denyTTL = opts.denyCacheTTLMs ?? 10_000;
    this.#cache = new ReviewCache<SarRecord>({
      max: opts.cacheMaxEntries ?? 10_000,
      ttlFor: (r) => (r.conflicting ? 0 : r.allowed ? allowTTL : denyTTL),
      timeoutMs: opts.reviewTimeoutMs ?? 10_000,
      backoff: opts.retryBackoff,
    });
  }

  /** SubjectAccessReview cache counters. */
  get reviewStats(): Readonly<{ hubCalls: number; hits: number; joined: number }> {
    return this.#cache.stats;
  }

  async authorize(attrs: Attributes, signal?: AbortSignal): Promise<AuthorizationDecision> {
    if (attrs.user.groups.some((g) => this.#groups.has(g))) return { allowed: true, reason: '' };
    if (!attrs.resourceRequest && this.#paths.matches(attrs.path)) return { allowed: true, reason: '' };
    const hub = this.#hub;
    if (!hub) return { allowed: false, reason: '' };
    const spec = subjectAccessReviewSpec(attrs);
    const key = createHash('sha256').update(JSON.stringify(spec)).digest('base64url');
    let rec: SarRecord;
    try {
      rec = await this.#cache.get(key, async (s) => toRecord(await hub.createSubjectAccessReview(spec, s)), signal);
    } catch (e) {
      if (signal?.aborted) throw e;
      return { allowed: false, reason: '', error: reviewFailed(attrs, errorMessage(e), e) };
    }
    if (rec.conflicting) {
      return {
        allowed: false,
        denied: true,
        reason: rec.reason,
        error: reviewFailed(attrs, 'webhook subject access review returned both allow and deny response'),
      };
    }
    const d: AuthorizationDecision = { allowed: rec.allowed, reason: rec.reason };
    if (rec.denied) d.denied = true;
    return d;
  }

  /** authorize, throwing what WithAuthorization answers: 500 for hub failures, 403 for no. */
  async check(attrs: Attributes, signal?: AbortSignal): Promise<void> {
    const d = await this.authorize(attrs, signal);
    if (d.allowed) return;
    if (d.error) throw d.error;
    throw forbiddenError(attrs, d.reason);
  }
}

function toRecord(sar: SubjectAccessReviewResult): SarRecord {
  const st = sar.status ?? {};
  const allowed = st.allowed === true;
  const denied = st.denied === true;
  return { allowed: allowed && !denied, denied, reason: st.reason ?? '', conflicting: allowed && denied };
}

/** responsewriters.InternalError's text (kube writes it as text/plain; we put it in a Status). */
function reviewFailed(attrs: Attributes, why: string, cause?: unknown): GatewayError {
  return new GatewayError(500, 'InternalError', `Internal Server Error: ${goQuote(attrs.path)}: ${why}`, undefined, {
    cause,
  });
}

/** responsewriters.forbiddenMessage */
export function forbiddenMessage(attrs: Attributes): string {
  const user = goQuote(attrs.user.username);
  if (!attrs.resourceRequest) return `User ${user} cannot ${attrs.verb} path ${goQuote(attrs.path)}`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const what = `User ${user} cannot ${attrs.verb} resource ${goQuote(resource)} in API group ${goQuote(attrs.apiGroup)}`;
  return attrs.namespace ? `${what} in the namespace ${goQuote(attrs.namespace)}` : `${what} at the cluster scope`;
}

/**
 * The 403 responsewriters.Forbidden sends (apierrors.NewForbidden): `<resource>.<group> "<name>" is
 * forbidden: <message>[: <reason>]`, `forbidden: …` for non-resource paths; `&<>` HTML-escaped.
 */
export function forbiddenError(attrs: Attributes, reason = ''): GatewayError {
  const msg = forbiddenMessage(attrs).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const err = reason ? `${msg}: ${reason}` : msg;
  const group = attrs.resourceRequest ? attrs.apiGroup : '';
  const resource = attrs.resourceRequest ? attrs.resource : '';
  const name = attrs.resourceRequest ? attrs.name : '';
  const details: { name?: string; group?: string; kind?: string } = {};
  if (name) details.name = name;
  if (group) details.group = group;
  if (resource) details.kind = resource;
  if (!group && !resource) return errors.forbidden(`forbidden: ${err}`, details);
  const qualified = group ? `${resource}.${group}` : resource;
  return errors.forbidden(`${name ? `${qualified} ${goQuote(name)}` : qualified} is forbidden: ${err}`, details);
}
