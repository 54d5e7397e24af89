// ServiceAccount tokens of one sandbox cluster: the RS256 signing key, issuing bound tokens (TokenRequest,
// `kubectl create token`) and legacy Secret-based tokens, and verifying both the way kube-apiserver's
// serviceaccount JWT authenticator does (signature, issuer, audiences, exp/nbf/iat with go-jose's one
// minute leeway, then a live lookup of the ServiceAccount and the bound object so deleting either
// revokes the token). Claims, kid and error strings follow pkg/serviceaccount of kube ≥1.30.

import { createHash, createPublicKey, generateKeyPairSync, randomUUID, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { KubeObject, UserInfo } from '../api/types.ts';
import { errors } from '../errors/status.ts';
import { Store } from '../store/store.ts';
import { BodyReader, rfc3339 } from './body.ts';
import type { JsonObject } from './body.ts';
import {
  EXTRA_CREDENTIAL_ID,
  EXTRA_NODE_NAME,
  EXTRA_NODE_UID,
  EXTRA_POD_NAME,
  EXTRA_POD_UID,
  serviceAccountGroups,
  serviceAccountUsername,
  splitServiceAccountUsername,
} from './users.ts';

export const DEFAULT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';
export const LEGACY_INVALID_SINCE_LABEL = 'kubernetes.io/legacy-token-invalid-since';
/** jwt.DefaultLeeway of go-jose */
const LEEWAY_SECONDS = 60;
const MIN_EXPIRATION_SECONDS = 600;
const MAX_EXPIRATION_SECONDS = 2 ** 32;
/** serviceaccount.WarnOnlyBoundTokenExpirationSeconds: kubelet's projected-token default, extended for pods */
const WARN_ONLY_EXPIRATION_SECONDS = 3607;
const EXTENDED_EXPIRATION_SECONDS = 24 * 365 * 60 * 60;
const CRYPTO_ERROR = 'go-jose/go-jose: error in cryptographic primitive';

export interface BoundObject {
  kind: 'Pod' | 'Secret' | 'Node';
  name: string;
  uid: string;
  /** for Pod-bound tokens: the node the pod runs on (kube embeds it since 1.30) */
  node?: { name: string; uid: string };
}

export interface IssueOptions {
  namespace: string;
  name: string;
  uid: string;
  audiences: string[];
  expirationSeconds: number;
  boundObject?: BoundObject;
  /** `kubernetes.io.warnafter`: kube sets it when it extends a pod-bound token's lifetime */
  warnAfterSeconds?: number;
}

export interface IssuedToken {
  token: string;
  /** RFC 3339, second precision */
  expirationTimestamp: string;
  jti: string;
}

export type TokenVerification =
  /** not a JWT of ours (unknown issuer or not a JWT at all): other authenticators may claim it */
  | { kind: 'ignored' }
  | { kind: 'error'; message: string }
  | { kind: 'ok'; user: UserInfo; audiences: string[]; secret?: KubeObject };

export interface ServiceAccountTokensOptions {
  store: Store;
  issuer?: string;
  /** --api-audiences; defaults to the issuer like kube-apiserver */
  apiAudiences?: string[];
  /** an RSA private key; generated (RSA-2048) when absent */
  privateKey?: KeyObject;
  /** clock in ms, for tests */
  now?: () => number;
}

interface ParsedJwt {
  header: JsonObject;
  claims: JsonObject;
  signingInput: string;
  signature: Buffer;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function parseJwt(token: string): ParsedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const isB64 = (x: string) => /^[A-Za-z0-9_-]*$/.test(x);
  if (!isB64(h) || !isB64(p) || !isB64(s)) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const claims: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return undefined;
    return {
      header: header as JsonObject,
      claims: claims as JsonObject,
      signingInput: `${h}.${p}`,
      signature: Buffer.from(s, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/** Go's %q on a []string: `["a" "b"]` */
function goQuotedList(list: readonly string[]): string {
  return `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;
}

function claimAudiences(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function ref(v: unknown): { name: string; uid: string } | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as JsonObject;
  return { name: str(o.name), uid: str(o.uid) };
}

/** JSON with keys in the order given; go-jose marshals claims sorted, so callers pass sorted objects. */
function sortedJson(o: Record<string, unknown>): string {
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) if (o[k] !== undefined) sorted[k] = o[k];
  return JSON.stringify(sorted);
}

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly apiAudiences: string[];
  /** kube's kid: base64url(sha256(PKIX DER of the public key)) */
  readonly keyId: string;
  readonly #privateKey: KeyObject;
  readonly #publicKey: KeyObject;
  readonly #store: Store;
  readonly #now: () => number;

  constructor(opts: ServiceAccountTokensOptions) {
    this.#store = opts.store;
    this.issuer = opts.issuer ?? DEFAULT_ISSUER;
    this.apiAudiences = opts.apiAudiences ?? [this.issuer];
    this.#now = opts.now ?? Date.now;
    this.#privateKey = opts.privateKey ?? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    this.#publicKey = createPublicKey(this.#privateKey);
    const der = this.#publicKey.export({ format: 'der', type: 'spki' });
    this.keyId = b64url(createHash('sha256').update(der).digest());
  }

  get store(): Store {
    return this.#store;
  }

  /** The clock tokens are issued and checked against (ms). */
  nowMs(): number {
    return this.#now();
  }

  /** PEM of the verification key (what `--service-account-key-file` would hold). */
  publicKeyPem(): string {
    return this.#publicKey.export({ format: 'pem', type: 'spki' }).toString();
  }

  /** The `/openid/v1/jwks` document. */
  jwks(): { keys: Record<string, unknown>[] } {
    const jwk = this.#publicKey.export({ format: 'jwk' });
    return { keys: [{ use: 'sig', kty: jwk.kty, kid: this.keyId, alg: 'RS256', n: jwk.n, e: jwk.e }] };
  }

  /** The `/.well-known/openid-configuration` document. */
  openIdConfiguration(jwksUri = `${this.issuer}/openid/v1/jwks`): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: jwksUri,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    };
  }

  #sign(claims: Record<string, unknown>): string {
    const header = JSON.stringify({ alg: 'RS256', kid: this.keyId });
    const input = `${b64url(header)}.${b64url(sortedJson(claims))}`;
    const signature = sign('sha256', Buffer.from(input), this.#privateKey);
    return `${input}.${b64url(signature)}`;
  }

  /** A bound token with kube's claims (sub, aud, exp, iat, nbf, jti, iss, kubernetes.io). */
  issue(opts: IssueOptions): IssuedToken {
    const nowSec = Math.floor(this.#now() / 1000);
    const jti = randomUUID();
    const k8s: Record<string, unknown> = {
      namespace: opts.namespace,
      serviceaccount: { name: opts.name, uid: opts.uid },
    };
    const b = opts.boundObject;
    if (b?.kind === 'Pod') {
      k8s.pod = { name: b.name, uid: b.uid };
      if (b.node) k8s.node = b.node.uid ? { name: b.node.name, uid: b.node.uid } : { name: b.node.name };
    } else if (b?.kind === 'Secret') {
      k8s.secret = { name: b.name, uid: b.uid };
    } else if (b?.kind === 'Node') {
      k8s.node = { name: b.name, uid: b.uid };
    }
    if (opts.warnAfterSeconds) k8s.warnafter = nowSec + opts.warnAfterSeconds;
    const exp = nowSec + opts.expirationSeconds;
    const token = this.#sign({
      aud: opts.audiences,
      exp,
      iat: nowSec,
      iss: this.issuer,
      jti,
      'kubernetes.io': sortedObject(k8s),
      nbf: nowSec,
      sub: serviceAccountUsername(opts.namespace, opts.name),
    });
    return { token, expirationTimestamp: rfc3339(exp * 1000), jti };
  }

  /** The long-lived token the tokens controller writes into a `kubernetes.io/service-account-token` Secret. */
  legacyToken(opts: { namespace: string; name: string; uid: string; secretName: string }): string {
    return this.#sign({
      iss: LEGACY_ISSUER,
      'kubernetes.io/serviceaccount/namespace': opts.namespace,
      'kubernetes.io/serviceaccount/secret.name': opts.secretName,
      'kubernetes.io/serviceaccount/service-account.name': opts.name,
      'kubernetes.io/serviceaccount/service-account.uid': opts.uid,
      sub: serviceAccountUsername(opts.namespace, opts.name),
    });
  }

  /**
   * Verify a bearer token as ours. `audiences` are the requested target audiences (a TokenReview's
   * spec.audiences); requests to the API use the api audiences.
   */
  verify(token: string, audiences?: readonly string[]): TokenVerification {
    const jwt = parseJwt(token);
    if (!jwt) return { kind: 'ignored' };
    const iss = jwt.claims.iss;
    if (iss !== this.issuer && iss !== LEGACY_ISSUER) return { kind: 'ignored' };
    if (
      jwt.header.alg !== 'RS256' ||
      !verify('sha256', Buffer.from(jwt.signingInput), this.#publicKey, jwt.signature)
    ) {
      return { kind: 'error', message: CRYPTO_ERROR };
    }
    let tokenAuds = claimAudiences(jwt.claims.aud);
    // only the api audiences are allowed for legacy (audience-less) tokens
    if (tokenAuds.length === 0) tokenAuds = this.apiAudiences;
    const requested = audiences && audiences.length > 0 ? [...audiences] : this.apiAudiences;
    const auds = tokenAuds.filter((a) => requested.includes(a));
    if (auds.length === 0) {
      return {
        kind: 'error',
        message: `token audiences ${goQuotedList(tokenAuds)} is invalid for the target audiences ${goQuotedList(requested)}`,
      };
    }
    const result = iss === LEGACY_ISSUER ? this.#validateLegacy(token, jwt.claims) : this.#validateBound(jwt.claims);
    if (result.kind !== 'ok') return result;
    return { ...result, audiences: auds };
  }

  #deletedLongAgo(obj: KubeObject, nowMs: number): boolean {
    const ts = obj.metadata.deletionTimestamp;
    return ts !== undefined && Date.parse(ts) < nowMs - LEEWAY_SECONDS * 1000;
  }

  #validateBound(claims: JsonObject): TokenVerification {
    const nowMs = this.#now();
    const now = nowMs / 1000;
    const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
    const nbf = num(claims.nbf);
    const exp = num(claims.exp);
    const iat = num(claims.iat);
    if (nbf !== undefined && now + LEEWAY_SECONDS < nbf) {
      return { kind: 'error', message: 'service account token is not valid yet' };
    }
    if (exp !== undefined && now - LEEWAY_SECONDS > exp) {
      return { kind: 'error', message: 'service account token has expired' };
    }
    if (iat !== undefined && now + LEEWAY_SECONDS < iat) {
      return { kind: 'error', message: 'service account token is issued in the future' };
    }
    const k8s = (typeof claims['kubernetes.io'] === 'object' && claims['kubernetes.io']) || {};
    const priv = k8s as JsonObject;
    const namespace = str(priv.namespace);
    const saRef = ref(priv.serviceaccount) ?? { name: '', uid: '' };
    const sa = this.#store.get('serviceaccounts', namespace, saRef.name);
    if (!sa) return { kind: 'error', message: `serviceaccounts "${saRef.name}" not found` };
    if ((sa.metadata.uid ?? '') !== saRef.uid) {
      return {
        kind: 'error',
        message: `service account UID (${sa.metadata.uid ?? ''}) does not match claim (${saRef.uid})`,
      };
    }
    if (this.#deletedLongAgo(sa, nowMs)) {
      return { kind: 'error', message: `service account ${namespace}/${saRef.name} has been deleted` };
    }
    const invalidated: TokenVerification = { kind: 'error', message: 'service account token has been invalidated' };
    const secRef = ref(priv.secret);
    if (secRef) {
      const secret = this.#store.get('secrets', namespace, secRef.name);
      if (!secret) return invalidated;
      if ((secret.metadata.uid ?? '') !== secRef.uid) {
        return {
          kind: 'error',
          message: `secret UID (${secret.metadata.uid ?? ''}) does not match service account secret ref claim (${secRef.uid})`,
        };
      }
      if (this.#deletedLongAgo(secret, nowMs)) return invalidated;
    }
    const podRef = ref(priv.pod);
    const extra: Record<string, string[]> = {};
    const jti = str(claims.jti);
    if (jti) extra[EXTRA_CREDENTIAL_ID] = [`JTI=${jti}`];
    const nodeRef = ref(priv.node);
    if (podRef) {
      const pod = this.#store.get('pods', namespace, podRef.name);
      if (!pod) return invalidated;
      if ((pod.metadata.uid ?? '') !== podRef.uid) {
        return {
          kind: 'error',
          message: `pod UID (${pod.metadata.uid ?? ''}) does not match service account pod ref claim (${podRef.uid})`,
        };
      }
      if (this.#deletedLongAgo(pod, nowMs)) return invalidated;
      // node claims of pod-bound tokens are informational only
      if (nodeRef?.name) {
        extra[EXTRA_NODE_NAME] = [nodeRef.name];
        if (nodeRef.uid) extra[EXTRA_NODE_UID] = [nodeRef.uid];
      }
      if (podRef.name && podRef.uid) {
        extra[EXTRA_POD_NAME] = [podRef.name];
        extra[EXTRA_POD_UID] = [podRef.uid];
      }
    } else if (nodeRef) {
      const node = this.#store.get('nodes', undefined, nodeRef.name);
      if (!node) return invalidated;
      if ((node.metadata.uid ?? '') !== nodeRef.uid) {
        return {
          kind: 'error',
          message: `node UID (${node.metadata.uid ?? ''}) does not match service account node ref claim (${nodeRef.uid})`,
        };
      }
      if (this.#deletedLongAgo(node, nowMs)) return invalidated;
      if (nodeRef.name) {
        extra[EXTRA_NODE_NAME] = [nodeRef.name];
        if (nodeRef.uid) extra[EXTRA_NODE_UID] = [nodeRef.uid];
      }
    }
    const user: UserInfo = {
      username: serviceAccountUsername(namespace, saRef.name),
      uid: saRef.uid,
      groups: serviceAccountGroups(namespace),
    };
    if (Object.keys(extra).length > 0) user.extra = sortedObject(extra) as Record<string, string[]>;
    return { kind: 'ok', user, audiences: [] };
  }

  #validateLegacy(token: string, claims: JsonObject): TokenVerification {
    const sub = str(claims.sub);
    const namespace = str(claims['kubernetes.io/serviceaccount/namespace']);
    const secretName = str(claims['kubernetes.io/serviceaccount/secret.name']);
    const saName = str(claims['kubernetes.io/serviceaccount/service-account.name']);
    const saUid = str(claims['kubernetes.io/serviceaccount/service-account.uid']);
    const err = (message: string): TokenVerification => ({ kind: 'error', message });
    if (!sub) return err('sub claim is missing');
    if (!namespace) return err('namespace claim is missing');
    if (!secretName) return err('secretName claim is missing');
    if (!saName) return err('serviceAccountName claim is missing');
    if (!saUid) return err('serviceAccountUID claim is missing');
    const split = splitServiceAccountUsername(sub);
    if (split?.namespace !== namespace || split.name !== saName) return err('sub claim is invalid');
    const secret = this.#store.get('secrets', namespace, secretName);
    if (!secret || secret.metadata.deletionTimestamp) return err('Token has been invalidated');
    const data = (secret.data ?? {}) as Record<string, unknown>;
    const stored = typeof data.token === 'string' ? Buffer.from(data.token, 'base64').toString('utf8') : '';
    if (stored !== token) return err("Token does not match server's copy");
    const sa = this.#store.get('serviceaccounts', namespace, saName);
    if (!sa) return err(`serviceaccounts "${saName}" not found`);
    if (sa.metadata.deletionTimestamp) return err(`ServiceAccount ${namespace}/${saName} has been deleted`);
    if ((sa.metadata.uid ?? '') !== saUid) {
      return err(`ServiceAccount UID (${sa.metadata.uid ?? ''}) does not match claim (${saUid})`);
    }
    if (secret.metadata.labels?.[LEGACY_INVALID_SINCE_LABEL]) {
      return err(
        `the token in secret ${namespace}/${secretName} for service account ${namespace}/${saName} has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '${LEGACY_INVALID_SINCE_LABEL}' label from the secret to temporarily allow use of this token`,
      );
    }
    return {
      kind: 'ok',
      user: {
        username: serviceAccountUsername(namespace, saName),
        uid: saUid,
        groups: serviceAccountGroups(namespace),
      },
      audiences: [],
      secret,
    };
  }

  /** `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` */
  createTokenRequest(namespace: string, saName: string, body: unknown): KubeObject {
    return createTokenRequest(this, namespace, saName, body);
  }
}

function sortedObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

const tokenRequestBody = new BodyReader('TokenRequest', 'authentication.k8s.io', 'v1');

/**
 * The TokenRequest subresource (what `kubectl create token NAME` calls): validates the body like
 * kube (metadata must match the URL, 600s ≤ expirationSeconds ≤ 2^32, bound object exists and
 * belongs to the ServiceAccount), then issues a token for the ServiceAccount.
 */
export function createTokenRequest(
  tokens: ServiceAccountTokens,
  namespace: string,
  saName: string,
  body: unknown,
): KubeObject;
/** Same, with the store passed explicitly (it must be the one the tokens were created with). */
export function createTokenRequest(
  tokens: ServiceAccountTokens,
  store: Store,
  namespace: string,
  saName: string,
  body: unknown,
): KubeObject;
export function createTokenRequest(tokens: ServiceAccountTokens, ...args: unknown[]): KubeObject {
  const [namespace, saName, body] = (args[0] instanceof Store ? args.slice(1) : args) as [string, string, unknown];
  return tokenRequest(tokens, namespace, saName, body);
}

function tokenRequest(tokens: ServiceAccountTokens, namespace: string, saName: string, body: unknown): KubeObject {
  const store = tokens.store;
  const root = tokenRequestBody.root(body);
  const metadata = tokenRequestBody.object(root, 'metadata', 'TokenRequest', 'metadata', 'v1.ObjectMeta') ?? {};
  const reqName = typeof metadata.name === 'string' ? metadata.name : '';
  const reqNamespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  const reqUid = typeof metadata.uid === 'string' ? metadata.uid : '';
  if (reqName && reqName !== saName) {
    throw errors.invalid('TokenRequest', 'authentication.k8s.io', saName, [
      {
        type: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: ${JSON.stringify(reqName)}: must match the service account name if specified`,
      },
    ]);
  }
  if (reqNamespace && reqNamespace !== namespace) {
    throw errors.invalid('TokenRequest', 'authentication.k8s.io', saName, [
      {
        type: 'FieldValueInvalid',
        field: 'metadata.namespace',
        message: `Invalid value: ${JSON.stringify(reqNamespace)}: must match the service account namespace if specified`,
      },
    ]);
  }
  const spec = tokenRequestBody.object(root, 'spec', 'TokenRequest', 'spec', 'v1.TokenRequestSpec') ?? {};
  const specAudiences = tokenRequestBody.stringList(spec, 'audiences', 'TokenRequest', 'spec.audiences');
  let expirationSeconds =
    tokenRequestBody.integer(spec, 'expirationSeconds', 'TokenRequest', 'spec.expirationSeconds') ?? 3600;
  const boundRef = tokenRequestBody.object(
    spec,
    'boundObjectRef',
    'TokenRequest',
    'spec.boundObjectRef',
    'v1.BoundObjectReference',
  );
  const bound = boundRef
    ? {
        kind: tokenRequestBody.string(boundRef, 'kind', 'TokenRequest', 'spec.boundObjectRef.kind'),
        apiVersion: tokenRequestBody.string(boundRef, 'apiVersion', 'TokenRequest', 'spec.boundObjectRef.apiVersion'),
        name: tokenRequestBody.string(boundRef, 'name', 'TokenRequest', 'spec.boundObjectRef.name'),
        uid: tokenRequestBody.string(boundRef, 'uid', 'TokenRequest', 'spec.boundObjectRef.uid'),
      }
    : undefined;

  const sa = store.get('serviceaccounts', namespace, saName);
  if (!sa) throw errors.notFound({ group: '', resource: 'serviceaccounts' }, saName);
  const saUid = sa.metadata.uid ?? '';
  if (reqUid && reqUid !== saUid) {
    throw errors.conflict(
      { group: 'authentication.k8s.io', resource: 'TokenRequest' },
      saName,
      `the UID in the token request (${reqUid}) does not match the UID of the service account (${saUid})`,
    );
  }
  const audiences = specAudiences && specAudiences.length > 0 ? specAudiences : [...tokens.apiAudiences];
  const nowMs = tokens.nowMs();
  if (expirationSeconds < MIN_EXPIRATION_SECONDS || expirationSeconds > MAX_EXPIRATION_SECONDS) {
    throw errors.invalid('TokenRequest', 'authentication.k8s.io', '', [
      {
        type: 'FieldValueInvalid',
        field: 'spec.expirationSeconds',
        message: `Invalid value: ${expirationSeconds}: ${
          expirationSeconds < MIN_EXPIRATION_SECONDS
            ? 'may not specify a duration less than 10 minutes'
            : 'may not specify a duration larger than 2^32 seconds'
        }`,
      },
    ]);
  }

  let boundObject: BoundObject | undefined;
  if (bound) {
    const slash = bound.apiVersion.indexOf('/');
    const group = slash >= 0 ? bound.apiVersion.slice(0, slash) : '';
    const version = slash >= 0 ? bound.apiVersion.slice(slash + 1) : bound.apiVersion;
    let obj: KubeObject | undefined;
    if (group === '' && bound.kind === 'Pod') {
      obj = store.get('pods', namespace, bound.name);
      if (!obj) throw errors.notFound({ group: '', resource: 'pods' }, bound.name);
      const podSpec = (obj.spec ?? {}) as JsonObject;
      if (podSpec.serviceAccountName !== saName) {
        throw errors.badRequest(
          `cannot bind token for serviceaccount ${JSON.stringify(saName)} to pod running with different serviceaccount name.`,
        );
      }
      boundObject = { kind: 'Pod', name: bound.name, uid: obj.metadata.uid ?? '' };
      const nodeName = typeof podSpec.nodeName === 'string' ? podSpec.nodeName : '';
      if (nodeName) {
        const node = store.get('nodes', undefined, nodeName);
        boundObject.node = { name: nodeName, uid: node?.metadata.uid ?? '' };
      }
    } else if (group === '' && bound.kind === 'Node') {
      obj = store.get('nodes', undefined, bound.name);
      if (!obj) throw errors.notFound({ group: '', resource: 'nodes' }, bound.name);
      boundObject = { kind: 'Node', name: bound.name, uid: obj.metadata.uid ?? '' };
    } else if (group === '' && bound.kind === 'Secret') {
      obj = store.get('secrets', namespace, bound.name);
      if (!obj) throw errors.notFound({ group: '', resource: 'secrets' }, bound.name);
      boundObject = { kind: 'Secret', name: bound.name, uid: obj.metadata.uid ?? '' };
    } else {
      throw errors.badRequest(`cannot bind token to object of type ${group}/${version}, Kind=${bound.kind}`);
    }
    if (bound.uid && bound.uid !== boundObject.uid) {
      throw errors.conflict(
        { group, resource: bound.kind },
        bound.name,
        `the UID in the bound object reference (${bound.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    }
  }

  // kube extends the kubelet's default projected token (3607s) to a year, warning after the request
  let warnAfterSeconds: number | undefined;
  let tokenLifetime = expirationSeconds;
  if (
    boundObject?.kind === 'Pod' &&
    expirationSeconds === WARN_ONLY_EXPIRATION_SECONDS &&
    audiences.every((a) => tokens.apiAudiences.includes(a))
  ) {
    warnAfterSeconds = expirationSeconds;
    tokenLifetime = EXTENDED_EXPIRATION_SECONDS;
  }
  const issued = tokens.issue({
    namespace,
    name: saName,
    uid: saUid,
    audiences,
    expirationSeconds: tokenLifetime,
    ...(boundObject ? { boundObject } : {}),
    ...(warnAfterSeconds ? { warnAfterSeconds } : {}),
  });
  expirationSeconds = Math.floor(expirationSeconds);
  const outMeta: Record<string, unknown> = {
    name: saName,
    namespace,
    uid: saUid,
    creationTimestamp: rfc3339(nowMs),
  };
  return {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: outMeta,
    spec: {
      audiences,
      expirationSeconds,
      boundObjectRef: bound
        ? {
            kind: bound.kind,
            apiVersion: bound.apiVersion,
            name: bound.name,
            ...(bound.uid ? { uid: bound.uid } : {}),
          }
        : null,
    },
    status: { token: issued.token, expirationTimestamp: rfc3339(nowMs + expirationSeconds * 1000) },
  };
}

/**
 * What kube-controller-manager's tokens controller does to a `kubernetes.io/service-account-token`
 * Secret naming an existing ServiceAccount: returns the Secret with data.token/ca.crt/namespace and the
 * service-account.uid annotation filled, or undefined when nothing is to be done (wrong type, SA
 * missing, UID annotation naming another SA, token already present).
 */
export function populateTokenSecret(
  tokens: ServiceAccountTokens,
  secret: KubeObject,
  caCertPem: string,
): KubeObject | undefined {
  if (secret.type !== 'kubernetes.io/service-account-token') return undefined;
  const ns = secret.metadata.namespace ?? '';
  const annotations = secret.metadata.annotations ?? {};
  const saName = annotations['kubernetes.io/service-account.name'];
  if (!saName) return undefined;
  const sa = tokens.store.get('serviceaccounts', ns, saName);
  if (!sa) return undefined;
  const saUid = sa.metadata.uid ?? '';
  const annotatedUid = annotations['kubernetes.io/service-account.uid'];
  if (annotatedUid && annotatedUid !== saUid) return undefined;
  const data = { ...((secret.data ?? {}) as Record<string, string>) };
  if (data.token && annotatedUid) return undefined;
  const token = tokens.legacyToken({ namespace: ns, name: saName, uid: saUid, secretName: secret.metadata.name ?? '' });
  data['ca.crt'] = Buffer.from(caCertPem).toString('base64');
  data.namespace = Buffer.from(ns).toString('base64');
  data.token = Buffer.from(token).toString('base64');
  return {
    ...secret,
    metadata: { ...secret.metadata, annotations: { ...annotations, 'kubernetes.io/service-account.uid': saUid } },
    data,
  };
}
