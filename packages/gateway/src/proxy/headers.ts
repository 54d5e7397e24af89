// Header policy of the proxy (upstream §3.4.1): what the member sees and what the client gets back.
// Outbound, the caller's credentials and identity assertions never pass: `Authorization`,
// `Proxy-Authorization`, `Impersonate-*`, the front-proxy `X-Remote-*` (and any configured
// requestheader names) are removed, as are hop-by-hop headers and every header named in
// `Connection` (RFC 9110 §7.6.1), except `Connection: Upgrade` + `Upgrade` on upgrade requests.
// Then `Host` becomes the endpoint host, `X-Forwarded-For` gains the caller's address, the cluster's
// bearer token goes in, and the identity the resolver chose is asserted: `Impersonate-User`, one
// `Impersonate-Group` line per group, `Impersonate-Uid`, and one `Impersonate-Extra-<key>` line per
// value with the key escaped as client-go does. Headers are kept as a flat [name, value, …] list so
// repeated fields stay separate lines (HTTP/1.1; see transport.ts for why no h2 to members).
// Inbound, hop-by-hop headers are removed and everything else passes unchanged.

import type { Impersonation } from './identity-types.ts';

/** RFC 9110 §7.6.1 plus the legacy ones Go's ReverseProxy removes */
export const HOP_BY_HOP = new Set([
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

/** request headers the proxy sets itself or that only make sense on the first hop */
const REPLACED = new Set(['host', 'authorization', 'x-forwarded-for', 'expect', 'http2-settings']);

export interface ForwardHeaderOptions {
  /** value of `Host` at the member (endpoint host without port; the cluster name for ClusterProxy) */
  host: string;
  /** the caller's address (appended to X-Forwarded-For) */
  clientAddress: string | undefined;
  /** keep `Connection: Upgrade` and `Upgrade` */
  upgrade: boolean;
  /** the cluster's bearer token */
  bearer: string | undefined;
  impersonate: Impersonation | undefined;
  /** more identity header names / prefixes to drop (the configured requestheader names), lower case */
  identityHeaders?: readonly string[];
}

function connectionTokens(values: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const v of values) for (const t of v.split(',')) if (t.trim()) out.add(t.trim().toLowerCase());
  return out;
}

function isIdentity(name: string, extra: readonly string[]): boolean {
  return (
    name.startsWith('impersonate-') ||
    name.startsWith('x-remote-') ||
    extra.some((p) => (p.endsWith('-') ? name.startsWith(p) : name === p))
  );
}

/** token characters of RFC 9110 except `%` (client-go's legalHeaderKeyBytes) */
function legalKeyByte(b: number): boolean {
  return (
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    "!#$&'*+-.^_`|~".includes(String.fromCharCode(b))
  );
}

/** client-go's headerKeyEscape: bytes that cannot be in a header name, and `%`, become %XX. */
export function escapeExtraKey(key: string): string {
  let out = '';
  for (const b of Buffer.from(key, 'utf8')) {
    out += legalKeyByte(b) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The impersonation headers for `imp`, one line per group and per extra value. */
export function impersonationHeaders(imp: Impersonation): [string, string][] {
  const out: [string, string][] = [['Impersonate-User', imp.user]];
  if (imp.uid) out.push(['Impersonate-Uid', imp.uid]);
  for (const g of imp.groups) out.push(['Impersonate-Group', g]);
  for (const [k, vs] of Object.entries(imp.extra)) {
    for (const v of vs) out.push([`Impersonate-Extra-${escapeExtraKey(k)}`, v]);
  }
  return out;
}

/**
 * The request headers for the member as a flat [name, value, …] list, from the caller's raw
 * headers (node's `rawHeaders`; h2 pseudo-headers are skipped).
 */
export function forwardHeaders(rawHeaders: readonly string[], o: ForwardHeaderOptions): string[] {
  const connection: string[] = [];
  let forwardedFor: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const n = rawHeaders[i]!.toLowerCase();
    if (n === 'connection') connection.push(rawHeaders[i + 1]!);
    if (n === 'x-forwarded-for') forwardedFor.push(rawHeaders[i + 1]!);
  }
  const named = connectionTokens(connection);
  const extra = (o.identityHeaders ?? []).map((h) => h.toLowerCase());
  const out: string[] = ['Host', o.host];
  let upgradeValue: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const n = name.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (n.startsWith(':')) continue;
    if (n === 'upgrade') {
      upgradeValue ??= value;
      continue;
    }
    if (HOP_BY_HOP.has(n) || REPLACED.has(n) || isIdentity(n, extra)) continue;
    if (named.has(n)) continue;
    out.push(name, value);
  }
  if (o.upgrade && upgradeValue !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgradeValue);
  if (o.clientAddress) forwardedFor = [...forwardedFor, o.clientAddress];
  if (forwardedFor.length) out.push('X-Forwarded-For', forwardedFor.join(', '));
  if (o.bearer) out.push('Authorization', `Bearer ${o.bearer}`);
  if (o.impersonate) for (const [k, v] of impersonationHeaders(o.impersonate)) out.push(k, v);
  return out;
}

export type ResponseHeaders = Record<string, string | string[]>;

/**
 * The member's response headers for the client: hop-by-hop ones (and those named in its
 * `Connection`) removed, `warning` merged with ours.
 */
export function responseHeaders(
  headers: Record<string, string | string[] | undefined>,
  warnings: readonly string[] = [],
): ResponseHeaders {
  const conn = headers.connection;
  const named = connectionTokens(conn === undefined ? [] : Array.isArray(conn) ? conn : [conn]);
  const out: ResponseHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const n = k.toLowerCase();
    if (HOP_BY_HOP.has(n) || named.has(n) || n.startsWith(':')) continue;
    out[n] = v;
  }
  if (warnings.length) {
    const w = out.warning;
    out.warning = [...(w === undefined ? [] : Array.isArray(w) ? w : [w]), ...warnings];
  }
  return out;
}

/** A kube `Warning` header value (code 299, agent `-`). */
export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}
