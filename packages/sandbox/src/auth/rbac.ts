// The RBAC authorizer with kube-apiserver's exact semantics (plugin/pkg/auth/authorizer/rbac and
// pkg/registry/rbac/validation): ClusterRoleBindings apply everywhere, RoleBindings only in their
// namespace (to a Role of that namespace or a ClusterRole), first matching rule wins and names its
// binding in the decision reason, `system:masters` is allowed before RBAC like kube's privileged-group
// authorizer. Aggregated ClusterRoles are evaluated with their selected roles' rules, so a new
// aggregated role takes effect at once; reconcileAggregatedClusterRoles() gives the rules the
// clusterrole-aggregation controller would write so `kubectl get clusterrole admin -o yaml` shows them.
//
// The binding/role index is rebuilt lazily after any write to the four rbac types: the store's
// listeners run synchronously inside put/remove, so a check right after a write already sees it.

import type { Attributes, Authorizer, Decision, KubeObject, UserInfo } from '../api/types.ts';
import { ApiError } from '../errors/status.ts';
import type { StatusDetails } from '../errors/status.ts';
import type { Store } from '../store/store.ts';
import { PRIVILEGED_GROUP, SA_USERNAME_PREFIX, aggregateMessage } from './users.ts';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';
export const GR_ROLES = `roles.${RBAC_GROUP}`;
export const GR_CLUSTERROLES = `clusterroles.${RBAC_GROUP}`;
export const GR_ROLEBINDINGS = `rolebindings.${RBAC_GROUP}`;
export const GR_CLUSTERROLEBINDINGS = `clusterrolebindings.${RBAC_GROUP}`;

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: string;
  apiGroup?: string;
  name: string;
  namespace?: string;
}

export interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

export interface NonResourceRule {
  verbs: string[];
  nonResourceURLs?: string[];
}

export interface RulesForResult {
  resourceRules: ResourceRule[];
  nonResourceRules: NonResourceRule[];
  incomplete: boolean;
  /** resolution errors (a binding to a missing role), as SelfSubjectRulesReview's evaluationError */
  evaluationError?: string;
}

/** authorizer.RuleResolver: what SelfSubjectRulesReview asks. */
export interface RuleResolver {
  rulesFor(user: UserInfo, namespace: string): RulesForResult;
}

// ---- rule matching (pkg/apis/rbac/v1/evaluation_helpers.go) ----

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return list(rule.verbs).some((v) => v === '*' || v === verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return list(rule.apiGroups).some((g) => g === '*' || g === group);
}

export function resourceMatches(rule: PolicyRule, combinedResource: string, subresource: string): boolean {
  for (const r of list(rule.resources)) {
    if (r === '*' || r === combinedResource) return true;
    if (!subresource) continue;
    // `*/subresource` matches that subresource of every resource
    if (r.length === subresource.length + 2 && r.startsWith('*/') && r.endsWith(subresource)) return true;
  }
  return false;
}

export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = list(rule.resourceNames);
  return names.length === 0 || names.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of list(rule.nonResourceURLs)) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.replace(/\*+$/, ''))) return true;
  }
  return false;
}

/** rbac.RuleAllows */
export function ruleAllows(attrs: Attributes, rule: PolicyRule): boolean {
  if (attrs.resourceRequest) {
    const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    return (
      verbMatches(rule, attrs.verb) &&
      apiGroupMatches(rule, attrs.apiGroup) &&
      resourceMatches(rule, combined, attrs.subresource) &&
      resourceNameMatches(rule, attrs.name)
    );
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path);
}

// ---- subjects (pkg/registry/rbac/validation/rule.go) ----

export function subjectAppliesTo(user: UserInfo, subject: Subject, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      // an unqualified ServiceAccount subject means "in the binding's namespace"
      const ns = subject.namespace || bindingNamespace;
      if (!ns) return false;
      return user.username === `${SA_USERNAME_PREFIX}${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') {
    // kube prints name/namespace (sic) for ServiceAccounts
    return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  }
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

// ---- label selectors for aggregationRule ----

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function labelSelectorMatches(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function rulesOf(obj: KubeObject): PolicyRule[] {
  return Array.isArray(obj.rules) ? (obj.rules as PolicyRule[]) : [];
}

function aggregationSelectors(obj: KubeObject): LabelSelector[] | undefined {
  const agg = obj.aggregationRule as { clusterRoleSelectors?: LabelSelector[] } | undefined | null;
  if (!agg || typeof agg !== 'object') return undefined;
  return Array.isArray(agg.clusterRoleSelectors) ? agg.clusterRoleSelectors : [];
}

/** apiequality.Semantic.DeepEqual on PolicyRules: nil and empty lists are the same. */
function ruleKey(r: PolicyRule): string {
  const norm = (v: unknown) => list(v);
  return JSON.stringify([
    norm(r.verbs),
    norm(r.apiGroups),
    norm(r.resources),
    norm(r.resourceNames),
    norm(r.nonResourceURLs),
  ]);
}

/**
 * The rules the clusterrole-aggregation controller computes for an aggregated ClusterRole: the rules of
 * every other ClusterRole matched by a selector, roles taken in name order, duplicates dropped.
 * `rulesFor` resolves the selected roles' own (possibly aggregated) rules.
 */
export function aggregateRules(
  role: KubeObject,
  clusterRoles: readonly KubeObject[],
  rulesFor: (r: KubeObject) => PolicyRule[] = rulesOf,
): PolicyRule[] | undefined {
  const selectors = aggregationSelectors(role);
  if (!selectors) return undefined;
  const sorted = [...clusterRoles].sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  const out: PolicyRule[] = [];
  const seen = new Set<string>();
  for (const sel of selectors) {
    for (const cr of sorted) {
      if (cr.metadata.name === role.metadata.name) continue;
      if (!labelSelectorMatches(sel, cr.metadata.labels)) continue;
      for (const rule of rulesFor(cr)) {
        const k = ruleKey(rule);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(rule);
      }
    }
  }
  return out;
}

/**
 * Aggregated ClusterRoles whose stored rules differ from what the aggregation controller would write,
 * returned as mutable copies with the new rules for the caller to store.
 */
export function reconcileAggregatedClusterRoles(store: Store): KubeObject[] {
  const all = store.list(GR_CLUSTERROLES);
  const effective = effectiveRulesResolver(all);
  const out: KubeObject[] = [];
  for (const cr of all) {
    const rules = aggregateRules(cr, all, effective);
    if (!rules) continue;
    const current = rulesOf(cr);
    if (current.length === rules.length && current.every((r, i) => ruleKey(r) === ruleKey(rules[i]!))) continue;
    const copy: KubeObject = structuredClone(cr);
    copy.rules = structuredClone(rules);
    out.push(copy);
  }
  return out;
}

function effectiveRulesResolver(all: readonly KubeObject[]): (cr: KubeObject) => PolicyRule[] {
  const cache = new Map<string, PolicyRule[]>();
  const visiting = new Set<string>();
  const resolve = (cr: KubeObject): PolicyRule[] => {
    const name = cr.metadata.name ?? '';
    const hit = cache.get(name);
    if (hit) return hit;
    // an aggregation cycle falls back to the stored rules, as the controller would see them
    if (visiting.has(name)) return rulesOf(cr);
    visiting.add(name);
    const rules = aggregateRules(cr, all, resolve) ?? rulesOf(cr);
    visiting.delete(name);
    cache.set(name, rules);
    return rules;
  };
  return resolve;
}

// ---- the authorizer ----

interface Index {
  clusterRoleBindings: KubeObject[];
  roleBindings: Map<string, KubeObject[]>;
  roles: Map<string, PolicyRule[]>;
  clusterRoles: Map<string, PolicyRule[]>;
}

interface Visit {
  source: string;
  rule: PolicyRule;
}

export class RbacAuthorizer implements Authorizer, RuleResolver {
  readonly #store: Store;
  #index: Index | undefined;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(store: Store) {
    this.#store = store;
    const invalidate = () => {
      this.#index = undefined;
    };
    for (const gr of [GR_ROLES, GR_CLUSTERROLES, GR_ROLEBINDINGS, GR_CLUSTERROLEBINDINGS]) {
      this.#unsubscribe.push(store.watch(gr, store.resourceVersion, invalidate));
    }
  }

  /** Stop following the store. */
  close(): void {
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #build(): Index {
    if (this.#index) return this.#index;
    const store = this.#store;
    const clusterRoleObjs = store.list(GR_CLUSTERROLES);
    const effective = effectiveRulesResolver(clusterRoleObjs);
    const clusterRoles = new Map<string, PolicyRule[]>();
    for (const cr of clusterRoleObjs) clusterRoles.set(cr.metadata.name ?? '', effective(cr));
    const roles = new Map<string, PolicyRule[]>();
    for (const r of store.list(GR_ROLES))
      roles.set(`${r.metadata.namespace ?? ''}/${r.metadata.name ?? ''}`, rulesOf(r));
    const roleBindings = new Map<string, KubeObject[]>();
    for (const rb of store.list(GR_ROLEBINDINGS)) {
      const ns = rb.metadata.namespace ?? '';
      let l = roleBindings.get(ns);
      if (!l) roleBindings.set(ns, (l = []));
      l.push(rb);
    }
    this.#index = { clusterRoleBindings: store.list(GR_CLUSTERROLEBINDINGS), roleBindings, roles, clusterRoles };
    return this.#index;
  }

  /** GetRoleReferenceRules, with the listers' NotFound wording for a dangling roleRef. */
  #roleRefRules(idx: Index, binding: KubeObject, namespace: string): PolicyRule[] | string {
    const roleRef = (binding.roleRef ?? {}) as { kind?: string; name?: string };
    const name = roleRef.name ?? '';
    if (roleRef.kind === 'Role') {
      return idx.roles.get(`${namespace}/${name}`) ?? `role.${RBAC_GROUP} ${JSON.stringify(name)} not found`;
    }
    if (roleRef.kind === 'ClusterRole') {
      return idx.clusterRoles.get(name) ?? `clusterrole.${RBAC_GROUP} ${JSON.stringify(name)} not found`;
    }
    return `unsupported role reference kind: ${JSON.stringify(roleRef.kind ?? '')}`;
  }

  /** VisitRulesFor: ClusterRoleBindings first, then the namespace's RoleBindings; stop when visit returns false. */
  #visit(user: UserInfo, namespace: string, visit: (v: Visit) => boolean, errs: string[]): void {
    const idx = this.#build();
    for (const crb of idx.clusterRoleBindings) {
      const subject = subjectsOf(crb).find((s) => subjectAppliesTo(user, s, ''));
      if (!subject) continue;
      const rules = this.#roleRefRules(idx, crb, '');
      if (typeof rules === 'string') {
        errs.push(rules);
        continue;
      }
      const roleRef = crb.roleRef as { kind?: string; name?: string };
      const source = `ClusterRoleBinding ${JSON.stringify(crb.metadata.name ?? '')} of ${roleRef.kind ?? ''} ${JSON.stringify(roleRef.name ?? '')} to ${describeSubject(subject, '')}`;
      for (const rule of rules) if (!visit({ source, rule })) return;
    }
    if (!namespace) return;
    for (const rb of idx.roleBindings.get(namespace) ?? []) {
      const subject = subjectsOf(rb).find((s) => subjectAppliesTo(user, s, namespace));
      if (!subject) continue;
      const rules = this.#roleRefRules(idx, rb, namespace);
      if (typeof rules === 'string') {
        errs.push(rules);
        continue;
      }
      const roleRef = rb.roleRef as { kind?: string; name?: string };
      const source = `RoleBinding ${JSON.stringify(`${rb.metadata.name ?? ''}/${namespace}`)} of ${roleRef.kind ?? ''} ${JSON.stringify(roleRef.name ?? '')} to ${describeSubject(subject, namespace)}`;
      for (const rule of rules) if (!visit({ source, rule })) return;
    }
  }

  authorize(attrs: Attributes): Decision {
    // kube-apiserver puts the privileged-group authorizer ahead of RBAC; it gives no reason
    if (attrs.user.groups.includes(PRIVILEGED_GROUP)) return { allowed: true, reason: '' };
    let allowedBy: string | undefined;
    const errs: string[] = [];
    this.#visit(
      attrs.user,
      attrs.namespace,
      ({ source, rule }) => {
        if (!ruleAllows(attrs, rule)) return true;
        allowedBy = source;
        return false;
      },
      errs,
    );
    if (allowedBy !== undefined) return { allowed: true, reason: `RBAC: allowed by ${allowedBy}` };
    return { allowed: false, reason: errs.length > 0 ? `RBAC: ${aggregateMessage(errs)}` : '' };
  }

  rulesFor(user: UserInfo, namespace: string): RulesForResult {
    const resourceRules: ResourceRule[] = [];
    const nonResourceRules: NonResourceRule[] = [];
    const errs: string[] = [];
    this.#visit(
      user,
      namespace,
      ({ rule }) => {
        if (list(rule.resources).length > 0) {
          const r: ResourceRule = { verbs: list(rule.verbs) };
          if (list(rule.apiGroups).length > 0) r.apiGroups = list(rule.apiGroups);
          r.resources = list(rule.resources);
          if (list(rule.resourceNames).length > 0) r.resourceNames = list(rule.resourceNames);
          resourceRules.push(r);
        }
        if (list(rule.nonResourceURLs).length > 0) {
          nonResourceRules.push({ verbs: list(rule.verbs), nonResourceURLs: list(rule.nonResourceURLs) });
        }
        return true;
      },
      errs,
    );
    const out: RulesForResult = { resourceRules, nonResourceRules, incomplete: false };
    if (errs.length > 0) out.evaluationError = aggregateMessage(errs);
    return out;
  }
}

function subjectsOf(binding: KubeObject): Subject[] {
  return Array.isArray(binding.subjects) ? (binding.subjects as Subject[]) : [];
}

// ---- 403s (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters) ----

/** `User "alice" cannot list resource "secrets" in API group "" in the namespace "default"` */
export function forbiddenMessage(attrs: Attributes): string {
  const username = attrs.user.username;
  if (!attrs.resourceRequest) {
    return `User ${JSON.stringify(username)} cannot ${attrs.verb} path ${JSON.stringify(attrs.path)}`;
  }
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const what = `User ${JSON.stringify(username)} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)}`;
  return attrs.namespace
    ? `${what} in the namespace ${JSON.stringify(attrs.namespace)}`
    : `${what} at the cluster scope`;
}

/**
 * The 403 Status for a denied request, as responsewriters.Forbidden builds it with apierrors.NewForbidden:
 * `secrets "x" is forbidden: User ... : <reason>`; non-resource paths read `forbidden: User ... path "/foo"`.
 */
export function forbiddenError(attrs: Attributes, reason = ''): ApiError {
  // kube HTML-escapes these before they reach the Status
  const msg = forbiddenMessage(attrs).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const err = reason ? `${msg}: ${reason}` : msg;
  const details: StatusDetails = {};
  if (attrs.name) details.name = attrs.name;
  if (attrs.apiGroup) details.group = attrs.apiGroup;
  if (attrs.resource) details.kind = attrs.resource;
  if (!attrs.apiGroup && !attrs.resource) return new ApiError(403, 'Forbidden', `forbidden: ${err}`, details);
  const qualified = attrs.apiGroup ? `${attrs.resource}.${attrs.apiGroup}` : attrs.resource;
  const subject = attrs.name ? `${qualified} ${JSON.stringify(attrs.name)}` : qualified;
  return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${err}`, details);
}
