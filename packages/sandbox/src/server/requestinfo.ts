// Turns a request path + method into kube-apiserver's RequestInfo (the same rules as
// k8s.io/apiserver/pkg/endpoints/request.RequestInfoFactory): resource or non-resource request, verb,
// group/version/resource/subresource, namespace and name. Authorization and routing both use it.

export interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  verb: string;
  /** `api` or `apis` */
  prefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** path segments after the subresource (pods/log has none; services/proxy/<rest>) */
  parts: string[];
}

const namespaceSubresources = new Set(['status', 'finalize']);

export function parseRequestInfo(method: string, rawPath: string, query: URLSearchParams): RequestInfo {
  const path = rawPath;
  const info: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    prefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: [],
  };
  const segs = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  const first = segs[0];
  if (first !== 'api' && first !== 'apis') return info;
  info.prefix = first;
  let cur = segs.slice(1);
  if (first === 'apis') {
    if (cur.length < 2) return info; // /apis and /apis/<group> are discovery (non-resource)
    info.apiGroup = cur[0]!;
    info.apiVersion = cur[1]!;
    cur = cur.slice(2);
  } else {
    if (cur.length < 1) return info;
    info.apiVersion = cur[0]!;
    cur = cur.slice(1);
  }
  if (cur.length === 0 || cur[0] === '') return info; // group-version discovery
  info.isResourceRequest = true;

  switch (method) {
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
  // deprecated /watch/ prefix
  if (cur[0] === 'watch') {
    cur = cur.slice(1);
    info.verb = 'watch';
  }
  if (cur[0] === 'namespaces') {
    if (cur.length > 1) {
      info.namespace = decodeSeg(cur[1]!);
      if (cur.length > 2 && !namespaceSubresources.has(cur[2]!)) cur = cur.slice(2);
    }
  }
  info.parts = cur.map(decodeSeg);
  const p = info.parts;
  if (p.length >= 3) {
    info.subresource = p[2]!;
    info.parts = p.slice(3);
  } else {
    info.parts = [];
  }
  if (p.length >= 2) info.name = p[1]!;
  if (p.length >= 1) info.resource = p[0]!;

  // namespaces/{name} is the namespace object itself, not a namespaced request
  if (info.resource === 'namespaces') info.namespace = p.length >= 2 ? info.name : '';

  if (info.name === '' && info.verb === 'get') {
    info.verb = 'list';
  }
  const watch = query.get('watch');
  if ((info.verb === 'list' || info.verb === 'get') && (watch === 'true' || watch === '1')) {
    if (info.verb === 'list') info.verb = 'watch';
  }
  if (info.verb === 'delete' && info.name === '') info.verb = 'deletecollection';
  return info;
}

function decodeSeg(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
