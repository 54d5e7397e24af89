// Shared vocabulary of the gateway's delegated authentication and authorization: who a caller is
// (UserInfo, as k8s.io/apiserver's user.Info), what a request asks for (Attributes, as
// authorizer.Attributes), the well-known user and group names, and the small slice of the hub API the
// auth layer needs (`HubAuthApi`). The hub client lives in `kube/`; auth depends only on this
// interface so it can be tested against any hub and the lead can adapt the real client in one place.

import type { SubjectAccessReviewSpec, TokenReview } from '../kube/hub-client.ts';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Authorization attributes of one request (k8s.io/apiserver authorizer.Attributes). */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** the URL path (used for non-resource requests and always-allow paths) */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export const ANONYMOUS = 'system:anonymous';
export const ALL_AUTHENTICATED = 'system:authenticated';
export const ALL_UNAUTHENTICATED = 'system:unauthenticated';
export const PRIVILEGED_GROUP = 'system:masters';
export const SA_USERNAME_PREFIX = 'system:serviceaccount:';
export const ALL_SERVICE_ACCOUNTS = 'system:serviceaccounts';

// ---- hub API slice ---------------------------------------------------------------------------------

/** authentication.k8s.io/v1 TokenReview as far as the gateway reads it (the hub client's type). */
export type TokenReviewResult = Pick<TokenReview, 'status'>;

export type { SubjectAccessReviewSpec };

/** authorization.k8s.io/v1 SubjectAccessReview as far as the gateway reads it. */
export interface SubjectAccessReviewResult {
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

export interface ConfigMapLike {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

/**
 * What auth needs from the hub. Failures are thrown; an error with a numeric `code` carries the HTTP
 * status (kube/ HubError: 0 = no response), which decides retries and start-up tolerance.
 */
export interface HubAuthApi {
  createTokenReview(token: string, audiences: string[] | undefined, signal?: AbortSignal): Promise<TokenReviewResult>;
  createSubjectAccessReview(spec: SubjectAccessReviewSpec, signal?: AbortSignal): Promise<SubjectAccessReviewResult>;
  /** undefined when the ConfigMap does not exist (404) */
  getConfigMap(namespace: string, name: string, signal?: AbortSignal): Promise<ConfigMapLike | undefined>;
}

/** The HTTP status an error from the hub carries, if any (0 = transport failure). */
export function hubErrorCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const c = (e as { code?: unknown; statusCode?: unknown }).code ?? (e as { statusCode?: unknown }).statusCode;
  return typeof c === 'number' ? c : undefined;
}

/** Errors worth another try: no response, 429 and 5xx (kube's webhook retry rule). */
export function isRetriableHubError(e: unknown): boolean {
  const code = hubErrorCode(e);
  return code === undefined || code === 0 || code === 429 || code >= 500;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- user helpers ----------------------------------------------------------------------------------

/**
 * group.AuthenticatedGroupAdder: an authenticated user gains `system:authenticated` unless it is
 * anonymous or already carries `system:authenticated` / `system:unauthenticated`.
 */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.username === ANONYMOUS) return user;
  if (user.groups.some((g) => g === ALL_AUTHENTICATED || g === ALL_UNAUTHENTICATED)) return user;
  return { ...user, groups: [...user.groups, ALL_AUTHENTICATED] };
}

export function anonymousUser(): UserInfo {
  return { username: ANONYMOUS, groups: [ALL_UNAUTHENTICATED] };
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** serviceaccount.SplitUsername: only a well-formed `system:serviceaccount:<ns>:<name>` counts. */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_USERNAME_PREFIX)) return undefined;
  const parts = username.slice(SA_USERNAME_PREFIX.length).split(':');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace)) return undefined;
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) return undefined;
  return { namespace, name };
}

/**
 * Go's `%q` for the strings kube quotes in messages: like JSON, but non-printable characters use
 * Go escapes (`\x00`, `\u2028`) and printable non-ASCII stays as is.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if ((cp >= 0x80 && cp < 0xa0) || cp === 0xad || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff)
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}
