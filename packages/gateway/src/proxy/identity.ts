// Identity resolution for proxied requests (upstream §3.4.1 and §5): whether the gateway impersonates
// anyone at the member cluster and whom. Impersonation is on under the ClientIdentityPenetration gate
// or for `?impersonate=true`; the exchange rules of `auth/identity-exchange.ts` then pick the identity
// (cluster annotation rules only under the gate, as upstream parses them only then; global rules
// always). ExternalIdentityExchanger rules, reserved but unimplemented upstream, are delegated to an
// `ExternalExchanger` (the webhook in `identity-webhook.ts`).
//
// Deliberate differences from upstream, each a fix:
// - A StaticMapping target without `user` is refused with a clear 500 naming the rule. Upstream sends
//   an empty `Impersonate-User` (the member rejects it) and, for an all-empty target, no headers at
//   all, which silently turns a typo into the privileged exchanger.

import { GatewayError } from '../apiserver/errors.ts';
import { EXTERNAL_EXCHANGER, exchangeIdentity, type ExchangeResult } from '../auth/identity-exchange.ts';
import type { UserInfo } from '../auth/types.ts';
import type { Cluster, ExchangeRule } from '../registry/types.ts';
import type { IdentityDecision, IdentityResolver, Impersonation } from './identity-types.ts';

/** What an external exchanger is asked: the matched rule, the target cluster and the hub caller. */
export interface ExternalExchangeRequest {
  /** the rule's `url` */
  url: string;
  /** the rule's name (for messages and the webhook's own bookkeeping) */
  rule: string;
  cluster: string;
  user: UserInfo;
}

/** An external exchanger's answer: impersonate `identity`, or nothing (privileged). */
export type ExternalExchangeResult = { privileged: true } | { privileged: false; identity: Impersonation };

export interface ExternalExchanger {
  /** Throws a GatewayError when the exchange cannot be done (503) or is refused (403). */
  exchange(req: ExternalExchangeRequest, signal?: AbortSignal): Promise<ExternalExchangeResult>;
}

export interface DefaultIdentityResolverOptions {
  /** the ClientIdentityPenetration feature gate */
  penetration: boolean;
  /** the current global rules (`--cluster-gateway-proxy-config`, hot-reloaded) */
  globalRules: () => readonly ExchangeRule[];
  /** ExternalIdentityExchanger rules; without it such rules answer 501 as before */
  external?: ExternalExchanger;
  /** receives matching problems (invalid patterns) */
  logger?: { warn(obj: object, msg: string): void };
}

// exchangeIdentity refuses External rules (it cannot call out). To learn which External rule matched
// without duplicating the matching logic, each one is swapped for a Privileged stand-in carrying a
// name no real rule can have; the stand-in's name identifies the original.
const STAND_IN = '\u0000external#';

interface StandIns {
  rules: ExchangeRule[];
  originals: Map<string, ExchangeRule>;
}

function withStandIns(rules: readonly ExchangeRule[], source: string, originals: Map<string, ExchangeRule>): StandIns {
  const out = rules.map((rule, i) => {
    if (rule.type !== EXTERNAL_EXCHANGER) return rule;
    const name = `${STAND_IN}${source}#${String(i)}`;
    originals.set(name, rule);
    const standIn: ExchangeRule = { ...rule, name, type: 'PrivilegedIdentityExchanger' };
    return standIn;
  });
  return { rules: out, originals };
}

function restoreNames(text: string, originals: Map<string, ExchangeRule>): string {
  let out = text;
  for (const [name, rule] of originals) out = out.replaceAll(JSON.stringify(name), JSON.stringify(rule.name));
  return out;
}

function copyExtra(extra: Record<string, string[]> | undefined): Record<string, string[]> {
  if (!extra) return {};
  return Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, [...v]]));
}

function where(source: 'cluster' | 'global', cluster: string): string {
  return source === 'cluster'
    ? `in the proxy config from cluster ${JSON.stringify(cluster)}`
    : 'in the global proxy config';
}

export class DefaultIdentityResolver implements IdentityResolver {
  readonly #o: DefaultIdentityResolverOptions;

  constructor(o: DefaultIdentityResolverOptions) {
    this.#o = o;
  }

  async resolve(
    user: UserInfo,
    cluster: Cluster,
    impersonateRequested: boolean,
    signal?: AbortSignal,
  ): Promise<IdentityDecision> {
    if (!this.#o.penetration && !impersonateRequested) return { impersonate: undefined, rule: 'none', source: 'none' };

    const originals = new Map<string, ExchangeRule>();
    const clusterRules = this.#o.penetration ? withStandIns(cluster.exchangeRules, 'cluster', originals).rules : [];
    const globalRules = withStandIns(this.#o.globalRules(), 'global', originals).rules;
    let result: ExchangeResult;
    try {
      result = exchangeIdentity(user, cluster.name, clusterRules, globalRules);
    } catch (e) {
      if (e instanceof GatewayError && originals.size > 0) {
        throw new GatewayError(e.code, e.reason, restoreNames(e.message, originals), e.details, { cause: e });
      }
      throw e;
    }
    if (result.warnings.length > 0) {
      this.#o.logger?.warn(
        { cluster: cluster.name, warnings: result.warnings.map((w) => restoreNames(w, originals)) },
        'identity exchange rules have problems',
      );
    }

    if (result.source === 'default') {
      // upstream penetration: name, groups and extra; the UID is not forwarded
      return {
        impersonate: { user: user.username, groups: [...user.groups], extra: copyExtra(user.extra) },
        rule: 'default',
        source: 'default',
      };
    }

    const source = result.source;
    const external = result.rule === undefined ? undefined : originals.get(result.rule);
    if (external) return this.#external(external, source, user, cluster.name, signal);

    const rule = result.rule ?? '';
    const target = result.impersonate;
    if (target === null) return { impersonate: undefined, rule, source };
    if (!target.user) {
      throw new GatewayError(
        500,
        'InternalError',
        `identity exchange rule ${JSON.stringify(rule)} ${where(source, cluster.name)}: StaticMappingIdentityExchanger target has no user (the member cluster cannot impersonate groups or a uid without a user)`,
      );
    }
    const impersonate: Impersonation = { user: target.user, groups: [...(target.groups ?? [])], extra: {} };
    if (target.uid) impersonate.uid = target.uid;
    return { impersonate, rule, source };
  }

  async #external(
    rule: ExchangeRule,
    source: 'cluster' | 'global',
    user: UserInfo,
    cluster: string,
    signal: AbortSignal | undefined,
  ): Promise<IdentityDecision> {
    const at = `identity exchange rule ${JSON.stringify(rule.name)} ${where(source, cluster)}`;
    const exchanger = this.#o.external;
    if (!exchanger) throw new GatewayError(501, 'InternalError', `${at}: ExternalIdentityExchanger is not implemented`);
    if (!rule.url) throw new GatewayError(500, 'InternalError', `${at}: ExternalIdentityExchanger rule has no url`);
    const r = await exchanger.exchange({ url: rule.url, rule: rule.name, cluster, user }, signal);
    if (r.privileged) return { impersonate: undefined, rule: rule.name, source: 'external' };
    const id = r.identity;
    const impersonate: Impersonation = { user: id.user, groups: [...id.groups], extra: copyExtra(id.extra) };
    if (id.uid) impersonate.uid = id.uid;
    return { impersonate, rule: rule.name, source: 'external' };
  }
}
