// What a request asks for, decided from its method and URL by the rules of kube's RequestInfoFactory
// (API prefixes `api` and `apis`, groupless `api`): resource requests get group, version, namespace,
// resource, subresource and name, and a verb from the HTTP method (GET/HEAD → get, or list/watch on
// collections; POST → create; PUT → update; PATCH → patch; DELETE → delete or deletecollection; any
// other method → '' which no RBAC rule grants); everything else is a non-resource request whose verb
// is the lower-cased method. For the gateway this turns
// `/apis/cluster.core.oam.dev/v1alpha1/clustergateways/{name}/proxy/{rest…}` into resource
// `clustergateways`, subresource `proxy`, name `{name}`.

import { errors } from '../apiserver/errors.ts';
import type { Attributes, UserInfo } from './types.ts';

export interface RequestInfo {
  isResourceRequest: boolean;
  /** the decoded URL path */
  path: string;
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** the path segments after group/version (and namespace) */
  parts: string[];
}

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_PREFIXES = new Set(['api']);
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** strconv.ParseBool */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** path.IsValidPathSegmentName */
function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/** fields.Selector.RequiresExactMatch("metadata.name") for a simple `a=b,c==d` selector */
function exactNameFromFieldSelector(selector: string): string | undefined {
  for (const term of selector.split(',')) {
    const m = /^\s*metadata\.name\s*(==|=)(.*)$/.exec(term);
    if (m) return m[2]!.trim();
  }
  return undefined;
}

function decodePath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath;
  }
}

/**
 * RequestInfoFactory.NewRequestInfo. Throws the 500 kube answers for `/apis/<g>/<v>/watch` or
 * `/proxy` without anything after it.
 */
export function parseRequestInfo(method: string, url: string | URL): RequestInfo {
  const u = typeof url === 'string' ? new URL(url, 'http://gateway.invalid') : url;
  const path = decodePath(u.pathname);
  const info: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: [],
  };
  let parts = path.replace(/^\/+|\/+$/g, '').split('/');
  // /api/v1 and anything outside /api, /apis are non-resource
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return info;
  info.apiPrefix = parts[0]!;
  parts = parts.slice(1);
  if (!GROUPLESS_PREFIXES.has(info.apiPrefix)) {
    // "do we have four parts?": /apis/<group>/<version> alone is discovery
    if (parts.length < 3) return info;
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);

  if (parts.length >= 1 && SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) throw errors.internal(`unable to determine kind and namespace from url, ${u.pathname}`);
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    switch (method.toUpperCase()) {
      case 'POST':
        info.verb = 'create';
        break;
      case 'GET':
      case 'HEAD':
        info.verb = 'get';
        break;
      case 'PUT':
        info.verb = 'update';
        break;
      case 'PATCH':
        info.verb = 'patch';
        break;
      case 'DELETE':
        info.verb = 'delete';
        break;
      default:
        info.verb = '';
    }
  }

  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      // namespaces/<ns>/<resource>…, but namespaces/<ns>/status and /finalize are the namespace's own
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  info.parts = parts;
  if (parts.length >= 3) {
    info.resource = parts[0]!;
    info.name = parts[1]!;
    info.subresource = parts[2]!;
  } else if (parts.length === 2) {
    info.resource = parts[0]!;
    info.name = parts[1]!;
  } else if (parts.length === 1) {
    info.resource = parts[0]!;
  }

  // collections: list or watch, and a metadata.name field selector names the object
  if (!info.name && info.verb === 'get') {
    const q = u.searchParams;
    const watch = q.get('watch');
    const parsed = watch === null ? false : parseGoBool(watch);
    info.verb = parsed === true ? 'watch' : 'list';
    if (parsed !== undefined) {
      const fs = q.get('fieldSelector');
      const name = fs ? exactNameFromFieldSelector(fs) : undefined;
      if (name && isValidPathSegmentName(name)) info.name = name;
    }
  }
  if (!info.name && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

/** The authorizer attributes of a request by `user`. */
export function requestAttributes(user: UserInfo, info: RequestInfo): Attributes {
  return {
    user,
    verb: info.verb,
    resourceRequest: info.isResourceRequest,
    path: info.path,
    apiGroup: info.apiGroup,
    apiVersion: info.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name: info.name,
  };
}

/**
 * Requests without a server-side timeout: every `clustergateways/proxy` request (upstream PR #107,
 * `logs -f` was cut after 60s) and, as kube's default, watches.
 */
export function isLongRunning(info: RequestInfo): boolean {
  if (!info.isResourceRequest) return false;
  if (info.resource === 'clustergateways' && info.subresource === 'proxy') return true;
  return info.verb === 'watch';
}
