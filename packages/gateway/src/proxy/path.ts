// Where a proxied request goes on the member: the `{rest}` after `…/clustergateways/{name}/proxy`,
// confined to the cluster, joined to the endpoint's own path (Rancher-style sub-paths such as
// `https://h/k8s/clusters/c-x`) the way upstream's `path.Join` does it (slashes collapsed, trailing
// slash dropped), and the query to forward (`dryRun` intact, upstream's `__dryRun` renamed back,
// our `impersonate` switch consumed).
// Confinement works on the RAW request target (as received, before any URL normalisation): a dot
// segment (`..`, `%2e%2e`, `.`), an encoded slash or backslash inside a segment, a raw backslash,
// control characters, an absolute URL (`/proxy/https://host/…`) or an authority (`/proxy//host:443/…`)
// are refused with 400 before anything reaches the member. The segments are forwarded still
// percent-encoded as received, so the member decodes exactly what the client encoded.

import { errors, GROUP } from '../apiserver/errors.ts';
import { parseRequestInfo } from '../auth/request-attributes.ts';

export interface ProxyTarget {
  /** cleaned sub-path segments, still percent-encoded */
  segments: string[];
  /** the raw query without `?` ('' when none) */
  rawQuery: string;
}

const PREFIX = new RegExp(`^/+apis/+${GROUP.replace(/\./g, '\\.')}/+v1alpha1/+clustergateways/+([^/]+)/+proxy(?=/|$)`);

function refuse(why: string): never {
  throw errors.badRequest(`invalid proxy path: ${why}`);
}

function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    return refuse(`malformed percent-encoding in ${JSON.stringify(seg)}`);
  }
}

/**
 * Split and check the raw request target (`req.url`) of a proxy request for `cluster`. Throws a 400
 * GatewayError for anything that could leave the cluster's endpoint path.
 */
export function parseProxyTarget(rawTarget: string, cluster: string): ProxyTarget {
  const q = rawTarget.indexOf('?');
  const rawPath = q < 0 ? rawTarget : rawTarget.slice(0, q);
  const rawQuery = q < 0 ? '' : rawTarget.slice(q + 1);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(rawTarget)) refuse('control characters');
  const m = PREFIX.exec(rawPath);
  if (!m || decodeSegment(m[1]!) !== cluster) refuse('the path does not address this cluster');
  const sub = rawPath.slice(m[0].length);
  if (sub.includes('\\')) refuse('backslash');
  const parts = sub.split('/');
  // parts[0] is '' (sub starts with '/') or sub is ''
  const segments: string[] = [];
  for (const seg of parts) {
    if (seg === '') continue;
    const d = decodeSegment(seg);
    if (d === '.' || d === '..') refuse('dot segments');
    if (d.includes('/') || d.includes('\\')) refuse('encoded slash or backslash');
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(d)) refuse('encoded control characters');
    segments.push(seg);
  }
  // `/proxy/https://host/…`: a scheme followed by an empty segment is an absolute URL
  if (parts.length > 2 && /^[a-z][a-z0-9+.-]*:$/i.test(decodeSegment(parts[1]!)) && parts[2] === '') {
    refuse('absolute URL');
  }
  // `/proxy//host:443/…`: an authority; `proxy//api/v1` (a server URL with a trailing slash) is fine
  if (sub.startsWith('//')) {
    const first = segments[0];
    if (first !== undefined && /[.:@]/.test(decodeSegment(first))) refuse('authority in path');
  }
  return { segments, rawQuery };
}

/** upstream's `path.Join(endpointPath, rest)`: clean, no trailing slash, `/` when empty. */
export function joinTargetPath(endpointPath: string, segments: readonly string[]): string {
  const base = endpointPath.split('/').filter((s) => s !== '' && s !== '.');
  return `/${[...base, ...segments].join('/')}`;
}

/** strconv.ParseBool's true values */
function goTrue(v: string): boolean {
  return ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

function decodeQueryPart(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export interface ForwardQuery {
  /** '' or `?…`, pieces kept in order and encoding except the renamed `__dryRun` */
  search: string;
  /** `impersonate=true` was asked */
  impersonate: boolean;
}

/** The query to forward: `__dryRun` → `dryRun` (upstream's escaping), `impersonate` consumed. */
export function forwardQuery(rawQuery: string): ForwardQuery {
  let impersonate = false;
  const out: string[] = [];
  for (const piece of rawQuery.split('&')) {
    if (!piece) continue;
    const eq = piece.indexOf('=');
    const rawKey = eq < 0 ? piece : piece.slice(0, eq);
    const key = decodeQueryPart(rawKey);
    if (key === 'impersonate') {
      impersonate = goTrue(decodeQueryPart(eq < 0 ? '' : piece.slice(eq + 1)));
      continue;
    }
    if (key === '__dryRun') out.push(`dryRun${eq < 0 ? '' : piece.slice(eq)}`);
    else out.push(piece);
  }
  return { search: out.length ? `?${out.join('&')}` : '', impersonate };
}

export interface InnerRequest {
  /** inner resource (`pods`), '' for non-resource paths (metrics label) */
  resource: string;
  /** a stream whose length the client decides: watch, logs -f, exec/attach/port-forward, proxy */
  streaming: boolean;
}

/** What the inner request is, from its path and query (kube's RequestInfo rules). */
export function innerRequest(method: string, path: string, search: string): InnerRequest {
  try {
    const info = parseRequestInfo(method, new URL(`${path}${search}`, 'http://member.invalid'));
    const q = new URLSearchParams(search);
    const streaming =
      info.verb === 'watch' ||
      ['exec', 'attach', 'portforward', 'proxy'].includes(info.subresource) ||
      (info.subresource === 'log' && goTrue(q.get('follow') ?? ''));
    return { resource: info.isResourceRequest ? info.resource : '', streaming };
  } catch {
    return { resource: '', streaming: false };
  }
}

/**
 * How a streaming response may end when the gateway drains: a watch at an event (newline) boundary,
 * `logs -f` anywhere. Other streams (service proxy, exec…) are not ended by the gateway.
 */
export function drainMode(method: string, path: string, search: string): 'lines' | 'any' | undefined {
  try {
    const info = parseRequestInfo(method, new URL(`${path}${search}`, 'http://member.invalid'));
    if (method.toUpperCase() !== 'GET') return undefined;
    if (info.verb === 'watch') return 'lines';
    if (info.subresource === 'log' && goTrue(new URLSearchParams(search).get('follow') ?? '')) return 'any';
    return undefined;
  } catch {
    return undefined;
  }
}
