// Header rewriting of the aggregation proxy, as kube-aggregator does it: the caller's credentials
// (Authorization, Impersonate-*, a bearer token smuggled in Sec-WebSocket-Protocol) and any
// caller-supplied X-Remote-* never reach the backend; the authenticated (possibly impersonated) user is
// asserted instead with the requestheader headers (client-go's SetAuthProxyHeaders), which the backend
// trusts only because the request arrives with the front-proxy client certificate.

import type { UserInfo } from '../api/types.ts';

export type HeaderMap = Record<string, string | string[] | undefined>;
export type OutHeaders = Record<string, string | string[]>;

export const USER_HEADER = 'X-Remote-User';
export const UID_HEADER = 'X-Remote-Uid';
export const GROUP_HEADER = 'X-Remote-Group';
export const EXTRA_PREFIX = 'X-Remote-Extra-';

/** RFC 7230 hop-by-hop headers (plus the legacy proxy ones Go's ReverseProxy also strips). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const WS_BEARER_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/** Bytes allowed verbatim in a header name (RFC 7230 tchar), '%' excluded so it can be unescaped. */
function legalKeyByte(b: number): boolean {
  if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)) return true;
  return "!#$&'*+-.^_`|~".includes(String.fromCharCode(b));
}

/**
 * Escape a user-extra key for use in an `X-Remote-Extra-<key>` header name, byte for byte as
 * client-go's headerKeyEscape: every byte that is not a token character (and '%') becomes %XX.
 */
export function escapeExtraKey(key: string): string {
  let out = '';
  for (const b of Buffer.from(key, 'utf8')) {
    out += legalKeyByte(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Names listed in a Connection header are hop-by-hop too. */
function connectionTokens(v: string | string[] | undefined): Set<string> {
  const list = Array.isArray(v) ? v : v ? [v] : [];
  return new Set(
    list
      .flatMap((s) => s.split(','))
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

function isCallerAuthHeader(name: string): boolean {
  return (
    name === 'authorization' ||
    name.startsWith('impersonate-') ||
    name === 'x-remote-user' ||
    name === 'x-remote-uid' ||
    name === 'x-remote-group' ||
    name.startsWith('x-remote-extra-')
  );
}

export interface ProxyHeaderOptions {
  /** keep Connection/Upgrade (the request is an upgrade that is relayed byte for byte) */
  upgrade?: boolean;
  /** send X-Remote-Uid (kube's RemoteRequestHeaderUID feature gate) */
  sendUID?: boolean;
  /** client address to append to X-Forwarded-For, as Go's ReverseProxy does */
  clientAddress?: string | undefined;
}

/** The headers to send upstream for a request made by `user`. Keys are lower-case. */
export function proxyRequestHeaders(incoming: HeaderMap, user: UserInfo, opts: ProxyHeaderOptions = {}): OutHeaders {
  const out: OutHeaders = {};
  const conn = connectionTokens(incoming.connection);
  for (const [rawName, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (name.startsWith(':') || name === 'host') continue;
    if (isCallerAuthHeader(name)) continue;
    if (opts.upgrade && (name === 'connection' || name === 'upgrade')) {
      out[name] = value;
      continue;
    }
    if (HOP_BY_HOP.has(name) || conn.has(name)) continue;
    if (name === 'sec-websocket-protocol') {
      // the WebSocket bearer token was consumed by authentication; the backend must not see it
      const protos = (Array.isArray(value) ? value : [value])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter((p) => p && !p.startsWith(WS_BEARER_PREFIX));
      if (protos.length) out[name] = protos.join(', ');
      continue;
    }
    out[name] = value;
  }
  if (opts.clientAddress) {
    const prior = out['x-forwarded-for'];
    const list = prior === undefined ? [] : Array.isArray(prior) ? prior : [prior];
    out['x-forwarded-for'] = [...list, opts.clientAddress].join(', ');
  }
  out['x-remote-user'] = user.username;
  if (opts.sendUID && user.uid) out['x-remote-uid'] = user.uid;
  if (user.groups.length) out['x-remote-group'] = [...user.groups];
  for (const [key, values] of Object.entries(user.extra ?? {})) {
    if (values.length) out[`x-remote-extra-${escapeExtraKey(key).toLowerCase()}`] = [...values];
  }
  return out;
}

/** Upstream response headers minus the hop-by-hop ones (h2 responses reject them outright). */
export function proxyResponseHeaders(upstream: HeaderMap): OutHeaders {
  const out: OutHeaders = {};
  const conn = connectionTokens(upstream.connection);
  for (const [rawName, value] of Object.entries(upstream)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (name.startsWith(':') || HOP_BY_HOP.has(name) || conn.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Go's textproto.CanonicalMIMEHeaderKey for names made of token characters: `x-remote-group` → `X-Remote-Group`. */
export function canonicalHeaderKey(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * The Go transport's refusal of a request whose header value holds a control character other than
 * HTAB (httpguts.ValidHeaderFieldValue); user extras come from tokens and webhooks, so they can.
 */
export function invalidHeaderError(headers: OutHeaders): string | undefined {
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      // eslint-disable-next-line no-control-regex
      if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v))
        return `net/http: invalid header field value for "${canonicalHeaderKey(name)}"`;
    }
  }
  return undefined;
}

/** Fields h2 forbids in requests (RFC 9113 §8.2.2); `te` survives only as `trailers`. */
const H2_CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** Request headers for an h2 stream: no connection-specific fields; repeated values stay arrays (one field each). */
export function h2RequestHeaders(headers: OutHeaders): OutHeaders {
  const out: OutHeaders = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (name.startsWith(':') || H2_CONNECTION_SPECIFIC.has(name)) continue;
    if (name === 'te') {
      const list = Array.isArray(value) ? value : [value];
      if (list.some((v) => v.split(',').some((t) => t.trim().toLowerCase() === 'trailers'))) out.te = 'trailers';
      continue;
    }
    out[name] = Array.isArray(value) ? [...value] : value;
  }
  return out;
}

/**
 * Response headers from a flat [name, value, ...] list (node's rawHeaders), repeated fields kept as
 * arrays so they go out again as separate fields rather than comma-joined; pseudo-headers dropped.
 */
export function headersFromRaw(raw: readonly string[]): HeaderMap {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name.startsWith(':')) continue;
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else if (Array.isArray(prior)) prior.push(value);
    else out[name] = [prior, value];
  }
  return out;
}

/** Serialize a request head for a raw HTTP/1.1 upgrade to the backend. */
export function requestHead(method: string, path: string, host: string, headers: OutHeaders): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}`];
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      // header injection is impossible from Node-parsed input, but user extras come from tokens
      if (/[\r\n]/.test(v)) continue;
      lines.push(`${name}: ${v}`);
    }
  }
  return lines.join('\r\n') + '\r\n\r\n';
}
