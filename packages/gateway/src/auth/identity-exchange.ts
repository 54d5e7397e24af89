// Which identity a proxied request carries to the managed cluster (upstream §5,
// ClientIdentityPenetration and ClientIdentityExchanger): the per-cluster rules (Secret annotation)
// first, then the global rules (--cluster-gateway-proxy-config), the first matching rule wins; with
// no match the caller's own name, groups and extra are impersonated (the UID is not forwarded).
// A rule matches when it has a source and every field it sets holds (AND): exact user, group
// membership, uid, cluster; unanchored regular expressions on user, any group, cluster.
//
// Deliberate differences from upstream, each a fix:
// - An invalid pattern is NO match (upstream: a match, so a typo in a pattern grants the rule, e.g.
//   PrivilegedIdentityExchanger, to everyone). It is reported in `warnings`.
// - StaticMappingIdentityExchanger without `target`, ExternalIdentityExchanger and unknown types end
//   in a clean GatewayError (upstream: nil dereference, the request panics into a 500).
// Patterns are Go RE2 syntax run by the JS engine: a leading `(?flags)` group and `(?P<name>` are
// translated; anything else JS cannot compile counts as invalid.

import { GatewayError } from '../apiserver/errors.ts';
import type { ExchangeRule } from '../registry/types.ts';
import type { UserInfo } from './types.ts';

export const PRIVILEGED_EXCHANGER = 'PrivilegedIdentityExchanger';
export const STATIC_MAPPING_EXCHANGER = 'StaticMappingIdentityExchanger';
export const EXTERNAL_EXCHANGER = 'ExternalIdentityExchanger';

export interface ImpersonationTarget {
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface ExchangeResult {
  /** null = privileged: the request runs as the cluster credential, no impersonation headers */
  impersonate: ImpersonationTarget | null;
  /** name of the matching rule */
  rule?: string;
  source: 'cluster' | 'global' | 'default';
  /** problems met while matching (invalid patterns), for the log */
  warnings: string[];
}

type Compiled = { ok: true; re: RegExp } | { ok: false; error: string };
const compiled = new Map<string, Compiled>();
const MAX_COMPILED = 512;

/** Go RE2 pattern → JS RegExp (cached). */
export function compileGoPattern(pattern: string): Compiled {
  const cached = compiled.get(pattern);
  if (cached) return cached;
  let src = pattern;
  let flags = '';
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    if (lead[1]!.includes('U')) {
      // ungreedy mode has no JS equivalent
      const r: Compiled = { ok: false, error: 'flag U (ungreedy) is not supported' };
      remember(pattern, r);
      return r;
    }
    flags = [...new Set(lead[1])].join('');
    src = src.slice(lead[0].length);
  }
  src = src.replaceAll('(?P<', '(?<');
  let r: Compiled;
  try {
    r = { ok: true, re: new RegExp(src, flags) };
  } catch (e) {
    r = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  remember(pattern, r);
  return r;
}

function remember(pattern: string, r: Compiled): void {
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(pattern, r);
}

interface MatchContext {
  user: UserInfo;
  cluster: string;
  rule: string;
  warnings: string[];
}

/** true when `pattern` is set and `value` does not match it (an invalid pattern denies). */
function denies(
  pattern: string | undefined | null,
  field: string,
  values: readonly string[],
  ctx: MatchContext,
): boolean {
  if (pattern === undefined || pattern === null) return false;
  const c = compileGoPattern(pattern);
  if (!c.ok) {
    ctx.warnings.push(
      `rule ${JSON.stringify(ctx.rule)}: invalid ${field} ${JSON.stringify(pattern)} never matches: ${c.error}`,
    );
    return true;
  }
  return !values.some((v) => c.re.test(v));
}

function matches(rule: ExchangeRule, ctx: MatchContext): boolean {
  const s = rule.source;
  if (!s) return false;
  const { user, cluster } = ctx;
  const set = (v: string | undefined | null): v is string => v !== undefined && v !== null;
  if (set(s.user) && user.username !== s.user) return false;
  if (set(s.group) && !user.groups.includes(s.group)) return false;
  if (set(s.uid) && (user.uid ?? '') !== s.uid) return false;
  if (set(s.cluster) && cluster !== s.cluster) return false;
  if (denies(s.userPattern, 'userPattern', [user.username], ctx)) return false;
  if (denies(s.groupPattern, 'groupPattern', user.groups, ctx)) return false;
  if (denies(s.clusterPattern, 'clusterPattern', [cluster], ctx)) return false;
  return true;
}

function where(source: 'cluster' | 'global', cluster: string): string {
  return source === 'cluster'
    ? `in the proxy config from cluster ${JSON.stringify(cluster)}`
    : 'in the global proxy config';
}

/** The projection of a matched rule; throws a clean GatewayError where upstream panics. */
function project(rule: ExchangeRule, source: 'cluster' | 'global', cluster: string): ImpersonationTarget | null {
  const at = `identity exchange rule ${JSON.stringify(rule.name)} ${where(source, cluster)}`;
  switch (rule.type) {
    case PRIVILEGED_EXCHANGER:
      return null;
    case STATIC_MAPPING_EXCHANGER: {
      const t = rule.target;
      if (!t) throw new GatewayError(500, 'InternalError', `${at}: StaticMappingIdentityExchanger has no target`);
      const out: ImpersonationTarget = {};
      if (t.user) out.user = t.user;
      if (t.groups && t.groups.length > 0) out.groups = [...t.groups];
      if (t.uid) out.uid = t.uid;
      return out;
    }
    case EXTERNAL_EXCHANGER:
      throw new GatewayError(501, 'InternalError', `${at}: ExternalIdentityExchanger is not implemented`);
    default:
      throw new GatewayError(500, 'InternalError', `${at}: unknown exchanger type: ${rule.type}`);
  }
}

/**
 * The identity to impersonate at `cluster` for `user`. `clusterRules` come from the cluster's
 * annotation (only parsed under the ClientIdentityPenetration gate upstream: pass [] otherwise).
 */
export function exchangeIdentity(
  user: UserInfo,
  cluster: string,
  clusterRules: readonly ExchangeRule[],
  globalRules: readonly ExchangeRule[],
): ExchangeResult {
  const warnings: string[] = [];
  for (const [source, rules] of [
    ['cluster', clusterRules],
    ['global', globalRules],
  ] as const) {
    for (const rule of rules) {
      if (!matches(rule, { user, cluster, rule: rule.name, warnings })) continue;
      return { impersonate: project(rule, source, cluster), rule: rule.name, source, warnings };
    }
  }
  const target: ImpersonationTarget = { user: user.username, groups: [...user.groups] };
  if (user.extra && Object.keys(user.extra).length > 0) {
    target.extra = Object.fromEntries(Object.entries(user.extra).map(([k, v]) => [k, [...v]]));
  }
  return { impersonate: target, source: 'default', warnings };
}
