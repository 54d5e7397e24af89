// kube-apiserver's WithImpersonation filter: `Impersonate-User`, `Impersonate-Group` (repeatable),
// `Impersonate-Uid` and `Impersonate-Extra-<key>` headers switch the request's user after the caller
// passes an `impersonate` check for each requested piece (users / groups / serviceaccounts in core,
// uids / userextras/<key> in authentication.k8s.io). Failure wording and statuses are kube's: groups,
// extras or uid without a user is a 400 listing the requests, a denied piece is the 403 of that check.

import type { Attributes, Authorizer, UserInfo } from '../api/types.ts';
import { errors } from '../errors/status.ts';
import { forbiddenError } from './rbac.ts';
import {
  ALL_AUTHENTICATED,
  ALL_UNAUTHENTICATED,
  ANONYMOUS,
  serviceAccountGroups,
  serviceAccountUsername,
  splitServiceAccountUsername,
} from './users.ts';

const EXTRA_PREFIX = 'impersonate-extra-';

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

function values(headers: Record<string, string | string[] | undefined>, name: string): string[] {
  const v = headers[name];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function unescapeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    // kube records malformed keys verbatim
    return encoded;
  }
}

/** True when the request carries any impersonation header (lower-cased names, as node gives them). */
export function hasImpersonationHeaders(headers: Record<string, string | string[] | undefined>): boolean {
  return Object.keys(headers).some((h) => h.toLowerCase().startsWith('impersonate-'));
}

function buildRequests(headers: Record<string, string | string[] | undefined>): ImpersonationRequest[] {
  const lower: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  const out: ImpersonationRequest[] = [];
  const base = { namespace: '', apiVersion: '', fieldPath: '' };
  const requestedUser = values(lower, 'impersonate-user')[0] ?? '';
  if (requestedUser) {
    const sa = splitServiceAccountUsername(requestedUser);
    out.push(
      sa
        ? { ...base, kind: 'ServiceAccount', namespace: sa.namespace, name: sa.name }
        : { ...base, kind: 'User', name: requestedUser },
    );
  }
  const groups = values(lower, 'impersonate-group');
  for (const g of groups) out.push({ ...base, kind: 'Group', name: g });
  let hasExtra = false;
  for (const [header, v] of Object.entries(lower)) {
    if (!header.startsWith(EXTRA_PREFIX)) continue;
    hasExtra = true;
    const key = unescapeExtraKey(header.slice(EXTRA_PREFIX.length).toLowerCase());
    for (const value of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
      out.push({ ...base, kind: 'UserExtra', apiVersion: 'authentication.k8s.io/v1', name: value, fieldPath: key });
    }
  }
  const uid = values(lower, 'impersonate-uid')[0] ?? '';
  if (uid) out.push({ ...base, kind: 'UID', apiVersion: 'authentication.k8s.io/v1', name: uid });
  if ((groups.length > 0 || hasExtra || uid) && !requestedUser) {
    throw errors.badRequest(`requested [${out.map(goObjectReference).join(' ')}] without impersonating a user`);
  }
  return out;
}

/**
 * The impersonated user, or undefined when the request has no impersonation headers. Throws the
 * 400/403 ApiError kube answers with. Pass node's `req.headersDistinct` (or any header map whose
 * repeated headers are arrays): a comma-joined `Impersonate-Group` would be taken as one group.
 */
export function impersonate(
  requester: UserInfo,
  headers: Record<string, string | string[] | undefined>,
  authorizer: Authorizer,
): UserInfo | undefined {
  const requests = buildRequests(headers);
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
        username = serviceAccountUsername(r.namespace, r.name);
        // a ServiceAccount's groups are a fixed mapping unless groups are asked for explicitly
        if (!groupsSpecified) groups = serviceAccountGroups(r.namespace);
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
    const decision = authorizer.authorize(attrs);
    if (!decision.allowed) throw forbiddenError(attrs, decision.reason);
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
