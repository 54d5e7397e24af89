// The generic impersonation filter (k8s.io/apiserver WithImpersonation) for clients that call the
// gateway directly: `Impersonate-User`, `Impersonate-Group` (repeatable), `Impersonate-Uid` and
// `Impersonate-Extra-<key>` switch the request's user after the caller passes an `impersonate` check
// for each piece (users / groups / serviceaccounts in the core group, uids and userextras/<key> in
// authentication.k8s.io), asked through the delegating authorizer, i.e. the hub's RBAC. Groups, extra
// or uid without a user is a 400; a denied or unanswerable check is the 403 of that check (kube does
// not distinguish authorizer errors here).

import { errors } from '../apiserver/errors.ts';
import { forbiddenError, type DelegatingAuthorizer } from './authz.ts';
import { firstValue, headerValues, unescapeExtraKey, type HeaderInput } from './headers.ts';
import {
  ALL_AUTHENTICATED,
  ALL_SERVICE_ACCOUNTS,
  ALL_UNAUTHENTICATED,
  ANONYMOUS,
  SA_USERNAME_PREFIX,
  splitServiceAccountUsername,
  type Attributes,
  type UserInfo,
} from './types.ts';

export const IMPERSONATE_USER = 'impersonate-user';
export const IMPERSONATE_GROUP = 'impersonate-group';
export const IMPERSONATE_UID = 'impersonate-uid';
export const IMPERSONATE_EXTRA_PREFIX = 'impersonate-extra-';

interface ImpersonationRequest {
  kind: 'ServiceAccount' | 'User' | 'Group' | 'UserExtra' | 'UID';
  namespace: string;
  name: string;
  apiVersion: string;
  fieldPath: string;
}

/** Go's %v of a v1.ObjectReference: `{Kind Namespace Name UID APIVersion ResourceVersion FieldPath}` */
function goObjectReference(r: ImpersonationRequest): string {
  return `{${[r.kind, r.namespace, r.name, '', r.apiVersion, '', r.fieldPath].join(' ')}}`;
}

/** True when any impersonation header is present. */
export function hasImpersonationHeaders(headers: HeaderInput): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase().startsWith('impersonate-'));
}

/** Deletes every Impersonate-* header from a mutable header object (what kube does after the switch). */
export function stripImpersonationHeaders(headers: HeaderInput): void {
  for (const k of Object.keys(headers)) if (k.toLowerCase().startsWith('impersonate-')) delete headers[k];
}

function buildRequests(headers: HeaderInput, rawHeaders?: readonly string[]): ImpersonationRequest[] {
  const h = headerValues(headers, rawHeaders);
  const out: ImpersonationRequest[] = [];
  const base = { namespace: '', apiVersion: '', fieldPath: '' };
  const requestedUser = firstValue(h, IMPERSONATE_USER);
  if (requestedUser) {
    const sa = splitServiceAccountUsername(requestedUser);
    out.push(
      sa
        ? { ...base, kind: 'ServiceAccount', namespace: sa.namespace, name: sa.name }
        : { ...base, kind: 'User', name: requestedUser },
    );
  }
  const groups = h.get(IMPERSONATE_GROUP) ?? [];
  for (const g of groups) out.push({ ...base, kind: 'Group', name: g });
  let hasExtra = false;
  for (const [name, values] of h) {
    if (!name.startsWith(IMPERSONATE_EXTRA_PREFIX)) continue;
    hasExtra = true;
    const key = unescapeExtraKey(name.slice(IMPERSONATE_EXTRA_PREFIX.length).toLowerCase());
    for (const v of values) {
      out.push({ ...base, kind: 'UserExtra', apiVersion: 'authentication.k8s.io/v1', name: v, fieldPath: key });
    }
  }
  const uid = firstValue(h, IMPERSONATE_UID);
  if (uid) out.push({ ...base, kind: 'UID', apiVersion: 'authentication.k8s.io/v1', name: uid });
  if ((groups.length > 0 || hasExtra || uid) && !requestedUser) {
    throw errors.badRequest(`requested [${out.map(goObjectReference).join(' ')}] without impersonating a user`);
  }
  return out;
}

export interface ImpersonationInput {
  headers: HeaderInput;
  rawHeaders?: readonly string[];
  signal?: AbortSignal;
}

/**
 * The impersonated user, or undefined when the request asks for no impersonation. Rejects with the
 * 400/403 GatewayError kube answers with. The caller removes the Impersonate-* headers afterwards
 * (`stripImpersonationHeaders`), as the proxy must never forward them.
 */
export async function impersonate(
  requester: UserInfo,
  req: ImpersonationInput,
  authorizer: Pick<DelegatingAuthorizer, 'authorize'>,
): Promise<UserInfo | undefined> {
  const requests = buildRequests(req.headers, req.rawHeaders);
  if (requests.length === 0) return undefined;
  const groupsSpecified = requests.some((r) => r.kind === 'Group');
  let username = '';
  let groups: string[] = [];
  let uid = '';
  const extra: Record<string, string[]> = {};
  for (const r of requests) {
    const slash = r.apiVersion.indexOf('/');
    const attrs: Attributes = {
      user: requester,
      verb: 'impersonate',
      resourceRequest: true,
      path: '',
      apiGroup: slash >= 0 ? r.apiVersion.slice(0, slash) : '',
      apiVersion: slash >= 0 ? r.apiVersion.slice(slash + 1) : r.apiVersion,
      resource: '',
      subresource: '',
      namespace: r.namespace,
      name: r.name,
    };
    switch (r.kind) {
      case 'ServiceAccount':
        attrs.resource = 'serviceaccounts';
        username = `${SA_USERNAME_PREFIX}${r.namespace}:${r.name}`;
        // a ServiceAccount's groups are a fixed mapping unless groups are asked for explicitly
        if (!groupsSpecified) groups = [ALL_SERVICE_ACCOUNTS, `${ALL_SERVICE_ACCOUNTS}:${r.namespace}`];
        break;
      case 'User':
        attrs.resource = 'users';
        username = r.name;
        break;
      case 'Group':
        attrs.resource = 'groups';
        groups.push(r.name);
        break;
      case 'UserExtra':
        attrs.resource = 'userextras';
        attrs.subresource = r.fieldPath;
        (extra[r.fieldPath] ??= []).push(r.name);
        break;
      case 'UID':
        attrs.resource = 'uids';
        uid = r.name;
        break;
    }
    const d = await authorizer.authorize(attrs, req.signal);
    if (!d.allowed) throw forbiddenError(attrs, d.reason);
  }
  if (username !== ANONYMOUS) {
    if (!groups.some((g) => g === ALL_AUTHENTICATED || g === ALL_UNAUTHENTICATED)) groups.push(ALL_AUTHENTICATED);
  } else if (!groups.includes(ALL_UNAUTHENTICATED)) {
    groups.push(ALL_UNAUTHENTICATED);
  }
  const user: UserInfo = { username, groups };
  if (uid) user.uid = uid;
  if (Object.keys(extra).length > 0) user.extra = extra;
  return user;
}
