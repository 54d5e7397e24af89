// Public surface of the gateway's auth layer: delegated authentication and authorization against the
// hub, the impersonation filter, request attributes and identity exchange. Other folders import from
// here, not from the files behind it.

export * from './types.ts';
export {
  DynamicAuthConfig,
  parseAuthConfigMap,
  requestHeaderFromFlags,
  AUTH_CONFIGMAP_NAME,
  AUTH_CONFIGMAP_NAMESPACE,
  REQUESTHEADER_DEFAULTS,
} from './auth-config.ts';
export type {
  AuthConfig,
  CABundle,
  RequestHeaderConfig,
  RequestHeaderFlags,
  DynamicAuthConfigOptions,
  AuthConfigLogLevel,
} from './auth-config.ts';
export { DelegatingAuthenticator } from './authn.ts';
export type { AuthnRequest, AuthnResult, AuthnMethod, DelegatingAuthenticatorOptions } from './authn.ts';
export {
  DelegatingAuthorizer,
  forbiddenError,
  forbiddenMessage,
  subjectAccessReviewSpec,
  validateAlwaysAllowPaths,
  DEFAULT_ALWAYS_ALLOW_PATHS,
  DEFAULT_ALWAYS_ALLOW_GROUPS,
} from './authz.ts';
export type { AuthorizationDecision, DelegatingAuthorizerOptions } from './authz.ts';
export { impersonate, hasImpersonationHeaders, stripImpersonationHeaders } from './impersonation.ts';
export type { ImpersonationInput } from './impersonation.ts';
export { parseRequestInfo, requestAttributes, isLongRunning } from './request-attributes.ts';
export type { RequestInfo } from './request-attributes.ts';
export {
  exchangeIdentity,
  compileGoPattern,
  PRIVILEGED_EXCHANGER,
  STATIC_MAPPING_EXCHANGER,
  EXTERNAL_EXCHANGER,
} from './identity-exchange.ts';
export type { ExchangeResult, ImpersonationTarget } from './identity-exchange.ts';
export { headerValues, isIdentityHeader } from './headers.ts';
export type { RetryBackoff } from './review-cache.ts';
export { DEFAULT_RETRY_BACKOFF } from './review-cache.ts';
