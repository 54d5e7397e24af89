// `--authorize-proxy-subpath` (upstream §3.4 step 3, §4.2): before a proxied request is forwarded,
// the hub also authorizes the INNER request, i.e. the Kubernetes request the path after `/proxy`
// describes, for the hub caller, so hub RBAC can restrict what may be done through the gateway.
// As upstream, the inner path is parsed without its query and the inner verb is the OUTER verb
// (get/create/update/patch/delete by HTTP method): an inner list or watch is checked as `get`.
// Difference from upstream, a fix: a denial is a 403 Forbidden Status in kube's wording (upstream
// answers 500 "proxying by user X is forbidden authorization failed"); a hub failure is a 500
// InternalError Status, as kube answers for an authorizer error.

import type { DelegatingAuthorizer } from '../auth/authz.ts';
import { forbiddenError } from '../auth/authz.ts';
import { parseRequestInfo, requestAttributes } from '../auth/request-attributes.ts';
import type { Attributes, UserInfo } from '../auth/types.ts';

export type SubpathAuthorizer = Pick<DelegatingAuthorizer, 'authorize'>;

const OUTER_VERBS: Readonly<Record<string, string>> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

const DENIED_SUFFIX = 'the hub authorizes the proxied request itself (--authorize-proxy-subpath)';

/**
 * The hub authorization attributes of the inner request. `innerPath` is the part after `…/proxy`,
 * percent-encoded as on the wire, with or without a leading `/`; a query is ignored.
 */
export function subpathAttributes(user: UserInfo, method: string, innerPath: string): Attributes {
  const raw = innerPath.split(/[?#]/, 1)[0] ?? '';
  // set as a pathname, never parsed as a URL reference (`//host/…` or `/\host/…` would become an
  // authority); a backslash stays a literal character, as the member's Go router sees it; repeated
  // slashes collapse as upstream's path.Join does to the forwarded path
  const url = new URL('http://gateway.invalid');
  url.pathname = `/${raw
    .replace(/^\/+/, '')
    .replace(/\/{2,}/g, '/')
    .replaceAll('\\', '%5C')}`;
  const info = parseRequestInfo(method, url);
  info.verb = OUTER_VERBS[method.toUpperCase()] ?? '';
  return requestAttributes(user, info);
}

/**
 * Authorize the inner request of a proxied call at the hub. Resolves when allowed; throws a
 * GatewayError: 403 Forbidden when denied, 500 InternalError when the hub cannot decide.
 */
export async function authorizeSubpath(
  authorizer: SubpathAuthorizer,
  user: UserInfo,
  method: string,
  innerPath: string,
  signal?: AbortSignal,
): Promise<void> {
  const attrs = subpathAttributes(user, method, innerPath);
  const d = await authorizer.authorize(attrs, signal);
  if (d.allowed) return;
  if (d.error) throw d.error;
  throw forbiddenError(attrs, d.reason ? `${d.reason}; ${DENIED_SUFFIX}` : DENIED_SUFFIX);
}
