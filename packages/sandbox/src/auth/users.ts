// Well-known user and group names of kube-apiserver and the service-account username scheme
// (`system:serviceaccount:<ns>:<name>`), shared by authentication, RBAC subject matching and
// impersonation so the three agree on exactly the same parsing rules as k8s.io/apiserver.

import type { UserInfo } from '../api/types.ts';

export const ANONYMOUS = 'system:anonymous';
export const ALL_AUTHENTICATED = 'system:authenticated';
export const ALL_UNAUTHENTICATED = 'system:unauthenticated';
export const PRIVILEGED_GROUP = 'system:masters';
export const ALL_SERVICE_ACCOUNTS = 'system:serviceaccounts';
export const SA_USERNAME_PREFIX = 'system:serviceaccount:';
export const SA_GROUP_PREFIX = 'system:serviceaccounts:';

/** user.Info extra keys kube-apiserver ≥1.30 sets on authenticated users */
export const EXTRA_CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';
export const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
export const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';
export const EXTRA_NODE_NAME = 'authentication.kubernetes.io/node-name';
export const EXTRA_NODE_UID = 'authentication.kubernetes.io/node-uid';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
}

export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SA_USERNAME_PREFIX}${namespace}:${name}`;
}

export function serviceAccountGroups(namespace: string): string[] {
  return [ALL_SERVICE_ACCOUNTS, `${SA_GROUP_PREFIX}${namespace}`];
}

/**
 * Like serviceaccount.SplitUsername: only a well-formed `system:serviceaccount:<ns>:<name>` with a valid
 * namespace and ServiceAccount name counts; anything else is an ordinary user name.
 */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SA_USERNAME_PREFIX)) return undefined;
  const parts = username.slice(SA_USERNAME_PREFIX.length).split(':');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  if (!isDns1123Label(namespace) || !isDns1123Subdomain(name)) return undefined;
  return { namespace, name };
}

/**
 * group.AuthenticatedGroupAdder: every authenticated user gains `system:authenticated` unless it is
 * anonymous or already carries `system:authenticated`/`system:unauthenticated`.
 */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  if (user.username === ANONYMOUS) return user;
  if (user.groups.some((g) => g === ALL_AUTHENTICATED || g === ALL_UNAUTHENTICATED)) return user;
  return { ...user, groups: [...user.groups, ALL_AUTHENTICATED] };
}

export function anonymousUser(): UserInfo {
  return { username: ANONYMOUS, groups: [ALL_UNAUTHENTICATED] };
}

/** utilerrors.NewAggregate(...).Error(): one message alone, several de-duplicated inside `[a, b]`. */
export function aggregateMessage(messages: readonly string[]): string {
  if (messages.length === 0) return '';
  if (messages.length === 1) return messages[0]!;
  const seen = [...new Set(messages)];
  return seen.length === 1 ? seen[0]! : `[${seen.join(', ')}]`;
}

/** The user.Info as the authentication.k8s.io/v1 `UserInfo` JSON shape (empty fields omitted). */
export function userInfoJson(user: UserInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (user.username) out.username = user.username;
  if (user.uid) out.uid = user.uid;
  if (user.groups.length > 0) out.groups = [...user.groups];
  if (user.extra && Object.keys(user.extra).length > 0) {
    out.extra = Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]]));
  }
  return out;
}
