// The review APIs, create-only and never stored: TokenReview (authentication.k8s.io), the four access
// reviews of authorization.k8s.io (`kubectl auth can-i` is a SelfSubjectAccessReview, `can-i --list` a
// SelfSubjectRulesReview) and SelfSubjectReview (`kubectl auth whoami`). Each handler takes the decoded
// body and the (possibly impersonated) requester and returns the filled object; validation and its
// 400/422 wording follow pkg/apis/authorization/validation and the registry REST storages.

import type { Attributes, Authorizer, KubeObject, UserInfo } from '../api/types.ts';
import { errors } from '../errors/status.ts';
import type { StatusCause } from '../errors/status.ts';
import { BodyReader, isObject, rfc3339 } from './body.ts';
import type { JsonObject } from './body.ts';
import type { RuleResolver } from './rbac.ts';
import { userInfoJson } from './users.ts';

export interface TokenAuthenticator {
  authenticateToken(
    token: string,
    audiences?: readonly string[],
  ): { ok: true; user: UserInfo; audiences: string[] } | { ok: false; error: string };
}

export interface ReviewDeps {
  /** SelfSubjectRulesReview needs rulesFor; without it the review answers `incomplete: true` like kube */
  authorizer: Authorizer & Partial<RuleResolver>;
  /** needed by TokenReview only */
  authenticator?: TokenAuthenticator;
  /** clock in ms, for SelfSubjectReview's creationTimestamp */
  now?: () => number;
}

const AUTHZ_GROUP = 'authorization.k8s.io';
const AUTHN_GROUP = 'authentication.k8s.io';
const AUTHZ_KINDS = [
  'SubjectAccessReview',
  'SelfSubjectAccessReview',
  'LocalSubjectAccessReview',
  'SelfSubjectRulesReview',
];
const AUTHN_KINDS = ['TokenReview', 'SelfSubjectReview', 'TokenRequest'];

function reader(kind: string): BodyReader {
  return new BodyReader(kind, AUTHZ_KINDS.includes(kind) ? AUTHZ_GROUP : AUTHN_GROUP, 'v1');
}

function knownKinds(r: BodyReader): string[] {
  return r.group === AUTHZ_GROUP ? AUTHZ_KINDS : AUTHN_KINDS;
}

/** The echoed metadata: what the client sent (decoded), creationTimestamp null when unset. */
function echoMetadata(root: JsonObject): Record<string, unknown> {
  const m = isObject(root.metadata) ? root.metadata : {};
  return { creationTimestamp: null, ...m };
}

/** field.Invalid as rendered in a cause: `Invalid value: <value>: <detail>` */
function invalid(field: string, value: string, detail: string): StatusCause {
  return { type: 'FieldValueInvalid', field, message: `Invalid value: ${value}: ${detail}` };
}

function goString(s: string): string {
  return JSON.stringify(s);
}

/** Non-empty ObjectMeta fields (managedFields and a null creationTimestamp count as empty). */
function nonEmptyMeta(meta: JsonObject, allow: readonly string[] = []): [string, unknown][] {
  return Object.entries(meta).filter(([k, v]) => {
    if (k === 'managedFields' || allow.includes(k)) return false;
    if (v === null || v === undefined || v === '' || v === 0) return false;
    if (Array.isArray(v) && v.length === 0) return false;
    if (isObject(v) && Object.keys(v).length === 0) return false;
    return true;
  });
}

/** Go's %#v of an ObjectMeta, reduced to the fields that are set. */
function goObjectMeta(entries: [string, unknown][]): string {
  const fields = entries.map(
    ([k, v]) => `${k.charAt(0).toUpperCase()}${k.slice(1)}:${typeof v === 'string' ? goString(v) : JSON.stringify(v)}`,
  );
  return `v1.ObjectMeta{${fields.join(', ')}}`;
}

// ---- access reviews ----

export interface ResourceAttributes {
  namespace: string;
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource: string;
  name: string;
  fieldSelector?: JsonObject;
  labelSelector?: JsonObject;
}

export interface NonResourceAttributes {
  path: string;
  verb: string;
}

export interface AccessSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: NonResourceAttributes;
  user: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  uid: string;
}

function readAccessSpec(r: BodyReader, root: JsonObject, withSubject: boolean): AccessSpec {
  const specStruct = withSubject ? 'SubjectAccessReviewSpec' : 'SelfSubjectAccessReviewSpec';
  const spec = r.object(root, 'spec', r.kind, 'spec', `v1.${specStruct}`) ?? {};
  const out: AccessSpec = { user: '', uid: '' };
  const ra = r.object(spec, 'resourceAttributes', r.kind, 'spec.resourceAttributes', 'v1.ResourceAttributes');
  if (ra) {
    const s = (k: string) => r.string(ra, k, r.kind, `spec.resourceAttributes.${k}`);
    out.resourceAttributes = {
      namespace: s('namespace'),
      verb: s('verb'),
      group: s('group'),
      version: s('version'),
      resource: s('resource'),
      subresource: s('subresource'),
      name: s('name'),
    };
    const fs = r.object(
      ra,
      'fieldSelector',
      r.kind,
      'spec.resourceAttributes.fieldSelector',
      'v1.FieldSelectorAttributes',
    );
    const ls = r.object(
      ra,
      'labelSelector',
      r.kind,
      'spec.resourceAttributes.labelSelector',
      'v1.LabelSelectorAttributes',
    );
    if (fs) out.resourceAttributes.fieldSelector = fs;
    if (ls) out.resourceAttributes.labelSelector = ls;
  }
  const nra = r.object(spec, 'nonResourceAttributes', r.kind, 'spec.nonResourceAttributes', 'v1.NonResourceAttributes');
  if (nra) {
    out.nonResourceAttributes = {
      path: r.string(nra, 'path', r.kind, 'spec.nonResourceAttributes.path'),
      verb: r.string(nra, 'verb', r.kind, 'spec.nonResourceAttributes.verb'),
    };
  }
  if (withSubject) {
    out.user = r.string(spec, 'user', r.kind, 'spec.user');
    const groups = r.stringList(spec, 'groups', r.kind, 'spec.groups');
    if (groups) out.groups = groups;
    const extra = r.extra(spec, 'extra', r.kind, 'spec.extra');
    if (extra) out.extra = extra;
    out.uid = r.string(spec, 'uid', r.kind, 'spec.uid');
  }
  return out;
}

function goNonResourceAttributes(n: NonResourceAttributes): string {
  return `authorization.NonResourceAttributes{Path:${goString(n.path)}, Verb:${goString(n.verb)}}`;
}

function validateAccessSpec(spec: AccessSpec, withSubject: boolean): StatusCause[] {
  const causes: StatusCause[] = [];
  if (spec.resourceAttributes && spec.nonResourceAttributes) {
    causes.push(
      invalid(
        'spec.nonResourceAttributes',
        goNonResourceAttributes(spec.nonResourceAttributes),
        'cannot be specified in combination with resourceAttributes',
      ),
    );
  }
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
    causes.push(
      invalid(
        'spec.resourceAttributes',
        '"null"',
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    );
  }
  if (withSubject && !spec.user && (spec.groups ?? []).length === 0) {
    causes.push(invalid('spec.user', goString(spec.user), 'at least one of user or group must be specified'));
  }
  return causes;
}

/** The spec as kube serializes it back (omitempty fields dropped). */
function specJson(spec: AccessSpec, withSubject: boolean): JsonObject {
  const out: JsonObject = {};
  if (spec.resourceAttributes) {
    const ra: JsonObject = {};
    for (const [k, v] of Object.entries(spec.resourceAttributes)) if (v !== '' && v !== undefined) ra[k] = v;
    out.resourceAttributes = ra;
  }
  if (spec.nonResourceAttributes) {
    const nra: JsonObject = {};
    if (spec.nonResourceAttributes.path) nra.path = spec.nonResourceAttributes.path;
    if (spec.nonResourceAttributes.verb) nra.verb = spec.nonResourceAttributes.verb;
    out.nonResourceAttributes = nra;
  }
  if (withSubject) {
    if (spec.user) out.user = spec.user;
    if (spec.groups && spec.groups.length > 0) out.groups = spec.groups;
    if (spec.extra && Object.keys(spec.extra).length > 0) out.extra = spec.extra;
    if (spec.uid) out.uid = spec.uid;
  }
  return out;
}

/** authorizationutil.ResourceAttributesFrom / NonResourceAttributesFrom */
export function attributesFromSpec(user: UserInfo, spec: AccessSpec): Attributes {
  const ra = spec.resourceAttributes;
  if (ra) {
    return {
      user,
      verb: ra.verb,
      resourceRequest: true,
      path: '',
      apiGroup: ra.group,
      apiVersion: ra.version,
      resource: ra.resource,
      subresource: ra.subresource,
      namespace: ra.namespace,
      name: ra.name,
    };
  }
  const nra = spec.nonResourceAttributes ?? { path: '', verb: '' };
  return {
    user,
    verb: nra.verb,
    resourceRequest: false,
    path: nra.path,
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
  };
}

function decide(deps: ReviewDeps, attrs: Attributes): JsonObject {
  const d = deps.authorizer.authorize(attrs);
  const status: JsonObject = { allowed: d.allowed };
  if (d.reason) status.reason = d.reason;
  return status;
}

function subjectUser(spec: AccessSpec): UserInfo {
  const user: UserInfo = { username: spec.user, groups: [...(spec.groups ?? [])] };
  if (spec.uid) user.uid = spec.uid;
  if (spec.extra) user.extra = spec.extra;
  return user;
}

function metaCauses(root: JsonObject, allowNamespace: boolean): StatusCause[] {
  const meta = isObject(root.metadata) ? root.metadata : {};
  const set = nonEmptyMeta(meta, allowNamespace ? ['namespace'] : []);
  if (set.length === 0) return [];
  return [
    invalid('metadata', goObjectMeta(set), allowNamespace ? 'must be empty except for namespace' : 'must be empty'),
  ];
}

/** `POST /apis/authorization.k8s.io/v1/subjectaccessreviews` */
export function subjectAccessReview(body: unknown, _requester: UserInfo, deps: ReviewDeps): KubeObject {
  const r = reader('SubjectAccessReview');
  const root = r.root(body, knownKinds(r));
  const spec = readAccessSpec(r, root, true);
  const causes = [...validateAccessSpec(spec, true), ...metaCauses(root, false)];
  if (causes.length > 0) throw errors.invalid(r.kind, r.group, '', causes);
  return {
    kind: r.kind,
    apiVersion: r.apiVersion,
    metadata: echoMetadata(root),
    spec: specJson(spec, true),
    status: decide(deps, attributesFromSpec(subjectUser(spec), spec)),
  };
}

/** `POST /apis/authorization.k8s.io/v1/namespaces/{namespace}/localsubjectaccessreviews` */
export function localSubjectAccessReview(
  body: unknown,
  _requester: UserInfo,
  deps: ReviewDeps,
  namespace: string,
): KubeObject {
  const r = reader('LocalSubjectAccessReview');
  const root = r.root(body, knownKinds(r));
  const meta = isObject(root.metadata) ? { ...root.metadata } : {};
  // the generic create handler defaults the object's namespace from the URL and refuses a different one
  const objNs = typeof meta.namespace === 'string' ? meta.namespace : '';
  if (objNs && namespace && objNs !== namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (!objNs) meta.namespace = namespace;
  const rootWithNs = { ...root, metadata: meta };
  const spec = readAccessSpec(r, rootWithNs, true);
  const causes = [...validateAccessSpec(spec, true), ...metaCauses(rootWithNs, true)];
  const metaNs = typeof meta.namespace === 'string' ? meta.namespace : '';
  if (spec.resourceAttributes && spec.resourceAttributes.namespace !== metaNs) {
    causes.push(
      invalid(
        'spec.resourceAttributes.namespace',
        goString(spec.resourceAttributes.namespace),
        'must match metadata.namespace',
      ),
    );
  }
  if (spec.nonResourceAttributes) {
    causes.push(
      invalid(
        'spec.nonResourceAttributes',
        goNonResourceAttributes(spec.nonResourceAttributes),
        'disallowed on this kind of request',
      ),
    );
  }
  if (causes.length > 0) throw errors.invalid(r.kind, r.group, '', causes);
  if (!namespace) throw errors.badRequest('namespace is required on this type: ');
  if (namespace !== metaNs)
    throw errors.badRequest(`spec.resourceAttributes.namespace must match namespace: ${namespace}`);
  return {
    kind: r.kind,
    apiVersion: r.apiVersion,
    metadata: echoMetadata(rootWithNs),
    spec: specJson(spec, true),
    status: decide(deps, attributesFromSpec(subjectUser(spec), spec)),
  };
}

/** `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` (`kubectl auth can-i`) */
export function selfSubjectAccessReview(body: unknown, requester: UserInfo, deps: ReviewDeps): KubeObject {
  const r = reader('SelfSubjectAccessReview');
  const root = r.root(body, knownKinds(r));
  const spec = readAccessSpec(r, root, false);
  const causes = [...validateAccessSpec(spec, false), ...metaCauses(root, false)];
  if (causes.length > 0) throw errors.invalid(r.kind, r.group, '', causes);
  return {
    kind: r.kind,
    apiVersion: r.apiVersion,
    metadata: echoMetadata(root),
    spec: specJson(spec, false),
    status: decide(deps, attributesFromSpec(requester, spec)),
  };
}

/** `POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews` (`kubectl auth can-i --list`) */
export function selfSubjectRulesReview(body: unknown, requester: UserInfo, deps: ReviewDeps): KubeObject {
  const r = reader('SelfSubjectRulesReview');
  const root = r.root(body, knownKinds(r));
  const spec = r.object(root, 'spec', r.kind, 'spec', 'v1.SelfSubjectRulesReviewSpec') ?? {};
  const namespace = r.string(spec, 'namespace', r.kind, 'spec.namespace');
  if (!namespace) throw errors.badRequest('no namespace on request');
  const rules = deps.authorizer.rulesFor?.(requester, namespace) ?? {
    resourceRules: [],
    nonResourceRules: [],
    incomplete: true,
  };
  const status: JsonObject = {
    resourceRules: rules.resourceRules,
    nonResourceRules: rules.nonResourceRules,
    incomplete: rules.incomplete,
  };
  if (rules.evaluationError) status.evaluationError = rules.evaluationError;
  // the storage answers with a fresh object: the request's spec is not echoed
  return { kind: r.kind, apiVersion: r.apiVersion, metadata: echoMetadata({}), spec: {}, status };
}

/** `POST /apis/authentication.k8s.io/v1/selfsubjectreviews` (`kubectl auth whoami`) */
export function selfSubjectReview(body: unknown, requester: UserInfo, deps: Partial<ReviewDeps> = {}): KubeObject {
  const r = reader('SelfSubjectReview');
  r.root(body, knownKinds(r));
  const now = deps.now ?? Date.now;
  return {
    kind: r.kind,
    apiVersion: r.apiVersion,
    metadata: { creationTimestamp: rfc3339(now()) },
    status: { userInfo: userInfoJson(requester) },
  };
}

/** `POST /apis/authentication.k8s.io/v1/tokenreviews` */
export function tokenReview(body: unknown, _requester: UserInfo, deps: ReviewDeps): KubeObject {
  const r = reader('TokenReview');
  const root = r.root(body, knownKinds(r));
  const spec = r.object(root, 'spec', r.kind, 'spec', 'v1.TokenReviewSpec') ?? {};
  const token = r.string(spec, 'token', r.kind, 'spec.token');
  const audiences = r.stringList(spec, 'audiences', r.kind, 'spec.audiences');
  if (!token) throw errors.badRequest('token is required for TokenReview in authentication');
  const specOut: JsonObject = { token };
  if (audiences && audiences.length > 0) specOut.audiences = audiences;
  const status: JsonObject = { user: {} };
  if (deps.authenticator) {
    const result = deps.authenticator.authenticateToken(token, audiences);
    if (result.ok) {
      status.authenticated = true;
      status.user = userInfoJson(result.user);
      if (result.audiences.length > 0) status.audiences = result.audiences;
    } else {
      status.error = result.error;
    }
  }
  return { kind: r.kind, apiVersion: r.apiVersion, metadata: echoMetadata(root), spec: specOut, status };
}

/** Dispatch a create on one of the review resources (as served by the registry) to its handler. */
export function reviews(
  info: { group: string; resource: string },
  body: unknown,
  requester: UserInfo,
  deps: ReviewDeps & { namespace?: string; store?: unknown },
): KubeObject {
  switch (`${info.resource}.${info.group}`) {
    case 'tokenreviews.authentication.k8s.io':
      return tokenReview(body, requester, deps);
    case 'selfsubjectreviews.authentication.k8s.io':
      return selfSubjectReview(body, requester, deps);
    case 'subjectaccessreviews.authorization.k8s.io':
      return subjectAccessReview(body, requester, deps);
    case 'selfsubjectaccessreviews.authorization.k8s.io':
      return selfSubjectAccessReview(body, requester, deps);
    case 'selfsubjectrulesreviews.authorization.k8s.io':
      return selfSubjectRulesReview(body, requester, deps);
    case 'localsubjectaccessreviews.authorization.k8s.io':
      return localSubjectAccessReview(body, requester, deps, deps.namespace ?? '');
    default:
      throw errors.notFound(info, '');
  }
}
