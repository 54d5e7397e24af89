// The auth package's public surface: authentication, ServiceAccount tokens, RBAC, bootstrap policy,
// impersonation and the review APIs, as plain functions/classes the HTTP layer composes.

export { Authenticator } from './authn.ts';
export type { AuthenticatorOptions, AuthnRequest, TokenAuthResult } from './authn.ts';
export {
  DEFAULT_ISSUER,
  LEGACY_ISSUER,
  ServiceAccountTokens,
  createTokenRequest,
  populateTokenSecret,
} from './serviceaccount-tokens.ts';
export type {
  BoundObject,
  IssueOptions,
  IssuedToken,
  ServiceAccountTokensOptions,
  TokenVerification,
} from './serviceaccount-tokens.ts';
export {
  GR_CLUSTERROLEBINDINGS,
  GR_CLUSTERROLES,
  GR_ROLEBINDINGS,
  GR_ROLES,
  RbacAuthorizer,
  aggregateRules,
  forbiddenError,
  forbiddenMessage,
  reconcileAggregatedClusterRoles,
  ruleAllows,
} from './rbac.ts';
export type { PolicyRule, RuleResolver, RulesForResult, Subject } from './rbac.ts';
export { bootstrapPolicy, bootstrapStorageKey } from './bootstrap-policy.ts';
export { hasImpersonationHeaders, impersonate } from './impersonation.ts';
export {
  localSubjectAccessReview,
  reviews,
  selfSubjectAccessReview,
  selfSubjectReview,
  selfSubjectRulesReview,
  subjectAccessReview,
  tokenReview,
} from './reviews.ts';
export type { ReviewDeps, TokenAuthenticator } from './reviews.ts';
export { ANONYMOUS, ALL_AUTHENTICATED, ALL_UNAUTHENTICATED, PRIVILEGED_GROUP, userInfoJson } from './users.ts';
