// Request authentication of the sandbox, mirroring kube-apiserver's authenticator chain: a client
// certificate verified against the client CA (CN = user, O = groups), then a bearer token (static
// tokens, then ServiceAccount JWTs, bound or legacy), the WebSocket bearer subprotocol, and anonymous
// last. As in kube, a presented-but-invalid credential is a 401 rather than a fall-back to anonymous,
// and every authenticated user gains `system:authenticated`.
//
// Certificate verification happens here, not in the TLS layer: the server requests client certificates
// without rejecting unverified ones, and passes `socket.getPeerX509Certificate()` whenever there is one
// (whether or not `socket.authorized`), so an untrusted certificate yields 401 exactly like kube.

import { createHash, X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { UserInfo } from '../api/types.ts';
import { errors } from '../errors/status.ts';
import type { Store } from '../store/store.ts';
import type { ServiceAccountTokens } from './serviceaccount-tokens.ts';
import { EXTRA_CREDENTIAL_ID, anonymousUser, withAuthenticatedGroup } from './users.ts';

export interface AuthnRequest {
  headers: Record<string, string | string[] | undefined>;
  peerCertificate?: PeerCertificate | X509Certificate | undefined;
  /** intermediates the client sent after its leaf (else the leaf's `issuerCertificate` chain is used) */
  peerIntermediates?: X509Certificate[];
}

export interface AuthenticatorOptions {
  /** PEM bundle(s) of the CAs trusted for client certificates; a function is re-read on every check (CAs added at run time) */
  clientCA?: string | readonly string[] | (() => string | readonly string[]);
  staticTokens?: ReadonlyMap<string, UserInfo>;
  serviceAccountIssuer?: ServiceAccountTokens;
  /** alias of serviceAccountIssuer */
  serviceAccountTokens?: ServiceAccountTokens;
  store: Store;
  /** --api-audiences; defaults to the ServiceAccount issuer's api audiences */
  apiAudiences?: string[];
  /** --anonymous-auth (default true) */
  anonymous?: boolean;
  /** clock in ms, for tests */
  now?: () => number;
}

export type TokenAuthResult = { ok: true; user: UserInfo; audiences: string[] } | { ok: false; error: string };

type CertResult = { ok: true; user: UserInfo } | { ok: false; error: string } | undefined;

const WS_PROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';
const INVALID_BEARER = 'invalid bearer token';

function splitPemBundle(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function headerValues(headers: AuthnRequest['headers'], name: string): string[] {
  const v = headers[name] ?? headers[name.toLowerCase()];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function toX509(c: PeerCertificate | X509Certificate): X509Certificate | undefined {
  if (c instanceof X509Certificate) return c;
  // an empty object is what tls gives when the peer sent no certificate
  if (!c.raw || c.raw.length === 0) return undefined;
  return new X509Certificate(c.raw);
}

function peerChain(c: PeerCertificate | X509Certificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  if (c instanceof X509Certificate) {
    let cur = c.issuerCertificate;
    while (cur && out.length < 10 && !out.some((x) => x.fingerprint256 === cur!.fingerprint256)) {
      out.push(cur);
      cur = cur.issuerCertificate;
    }
    return out;
  }
  let cur = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  while (cur?.raw && out.length < 10) {
    const x = new X509Certificate(cur.raw);
    if (out.some((o) => o.fingerprint256 === x.fingerprint256) || x.fingerprint256 === c.fingerprint256) break;
    out.push(x);
    cur = (cur as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return out;
}

const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const EKU_ANY = '2.5.29.37.0';

export class Authenticator {
  readonly #clientCASource: () => string | readonly string[];
  #clientCAKey = '';
  #clientCAs: X509Certificate[] = [];
  readonly #staticTokens: ReadonlyMap<string, UserInfo>;
  readonly #sa: ServiceAccountTokens | undefined;
  readonly #apiAudiences: string[];
  readonly #anonymous: boolean;
  readonly #now: () => number;

  constructor(opts: AuthenticatorOptions) {
    const ca = opts.clientCA;
    this.#clientCASource = typeof ca === 'function' ? ca : () => ca ?? [];
    this.#staticTokens = opts.staticTokens ?? new Map();
    this.#sa = opts.serviceAccountIssuer ?? opts.serviceAccountTokens;
    this.#apiAudiences = opts.apiAudiences ?? this.#sa?.apiAudiences ?? [];
    this.#anonymous = opts.anonymous ?? true;
    this.#now = opts.now ?? Date.now;
  }

  /** The trusted client CAs, re-parsed only when the PEMs change. */
  #trustedCAs(): X509Certificate[] {
    const src = this.#clientCASource();
    const bundles = typeof src === 'string' ? [src] : src;
    const key = bundles.join('\n');
    if (key !== this.#clientCAKey) {
      this.#clientCAs = bundles.flatMap(splitPemBundle).map((pem) => new X509Certificate(pem));
      this.#clientCAKey = key;
    }
    return this.#clientCAs;
  }

  get apiAudiences(): string[] {
    return this.#apiAudiences;
  }

  /** Who is calling. Throws the 401 `Unauthorized` ApiError on a bad credential. */
  authenticate(req: AuthnRequest): UserInfo {
    const failures: string[] = [];
    if (req.peerCertificate) {
      const r = this.authenticateCertificate(req.peerCertificate, req.peerIntermediates);
      if (r?.ok) return withAuthenticatedGroup(r.user);
      if (r) failures.push(r.error);
    }
    const auth = headerValues(req.headers, 'authorization')[0]?.trim() ?? '';
    if (auth) {
      const parts = auth.split(/\s+/);
      if (parts.length >= 2 && parts[0]!.toLowerCase() === 'bearer') {
        const r = this.authenticateToken(parts[1]!);
        if (r.ok) return r.user;
        failures.push(r.error);
      }
    }
    const wsToken = this.#websocketToken(req.headers);
    if (wsToken !== undefined) {
      const r = typeof wsToken === 'string' ? this.authenticateToken(wsToken) : wsToken;
      if (r.ok) return r.user;
      failures.push(r.error);
    }
    if (failures.length > 0 || !this.#anonymous) throw errors.unauthorized();
    return anonymousUser();
  }

  /** websocket.ProtocolAuthenticator: `Sec-WebSocket-Protocol: base64url.bearer.authorization.k8s.io.<token>` */
  #websocketToken(headers: AuthnRequest['headers']): string | { ok: false; error: string } | undefined {
    const protocols = headerValues(headers, 'sec-websocket-protocol')
      .flatMap((v) => v.split(','))
      .map((p) => p.trim())
      .filter((p) => p.startsWith(WS_PROTOCOL_PREFIX));
    if (protocols.length === 0) return undefined;
    if (protocols.length > 1) return { ok: false, error: 'multiple base64.bearer.authorization tokens specified' };
    const encoded = protocols[0]!.slice(WS_PROTOCOL_PREFIX.length);
    if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return { ok: false, error: INVALID_BEARER };
    const token = Buffer.from(encoded, 'base64url').toString('utf8');
    if (!token) return { ok: false, error: INVALID_BEARER };
    return token;
  }

  /**
   * The token half of the chain (also what TokenReview runs): static tokens, then ServiceAccount JWTs.
   * `audiences` are the target audiences (default: the api audiences).
   */
  authenticateToken(token: string, audiences?: readonly string[]): TokenAuthResult {
    if (!token) return { ok: false, error: INVALID_BEARER };
    const target = audiences && audiences.length > 0 ? [...audiences] : this.#apiAudiences;
    const staticUser = this.#staticTokens.get(token);
    if (staticUser) {
      // audience-agnostic authenticators are only valid for the api audiences
      const auds = this.#apiAudiences.length > 0 ? this.#apiAudiences.filter((a) => target.includes(a)) : target;
      if (this.#apiAudiences.length === 0 || auds.length > 0) {
        return { ok: true, user: withAuthenticatedGroup(staticUser), audiences: auds };
      }
    }
    if (this.#sa) {
      const r = this.#sa.verify(token, target);
      if (r.kind === 'ok') return { ok: true, user: withAuthenticatedGroup(r.user), audiences: r.audiences };
      if (r.kind === 'error') return { ok: false, error: r.message };
    }
    return { ok: false, error: INVALID_BEARER };
  }

  /**
   * x509.Authenticator with CommonNameUserConversion: undefined when the certificate carries no
   * identity (no CN), an error when it does not verify against the client CA.
   */
  authenticateCertificate(cert: PeerCertificate | X509Certificate, intermediates?: X509Certificate[]): CertResult {
    const leaf = toX509(cert);
    if (!leaf) return undefined;
    const chainError = this.#verifyChain(leaf, intermediates ?? peerChain(cert));
    if (chainError) {
      return { ok: false, error: `verifying certificate SN=${leaf.serialNumber} failed: x509: ${chainError}` };
    }
    const subject = leaf.toLegacyObject().subject as unknown as Record<string, string | string[] | undefined>;
    const cnRaw = subject.CN;
    const cn = Array.isArray(cnRaw) ? (cnRaw[0] ?? '') : (cnRaw ?? '');
    if (!cn) return undefined;
    const o = subject.O;
    const groups = o === undefined ? [] : Array.isArray(o) ? [...o] : [o];
    const credentialId = `X509SHA256=${createHash('sha256').update(leaf.raw).digest('hex')}`;
    return { ok: true, user: { username: cn, groups, extra: { [EXTRA_CREDENTIAL_ID]: [credentialId] } } };
  }

  /** crypto/x509 Verify with ExtKeyUsageClientAuth against the client CA pool; returns the failure or undefined. */
  #verifyChain(leaf: X509Certificate, intermediates: X509Certificate[]): string | undefined {
    const roots = this.#trustedCAs();
    if (roots.length === 0) return 'certificate signed by unknown authority';
    const now = this.#now();
    const expired = (c: X509Certificate) => now < Date.parse(c.validFrom) || now > Date.parse(c.validTo);
    const ekuOk = (c: X509Certificate) => {
      const eku = c.keyUsage as string[] | undefined;
      return !eku || eku.length === 0 || eku.includes(EKU_CLIENT_AUTH) || eku.includes(EKU_ANY);
    };
    if (expired(leaf)) return 'certificate has expired or is not yet valid';
    if (!ekuOk(leaf)) return 'certificate specifies an incompatible key usage';
    let current = leaf;
    const used = new Set<string>();
    for (let depth = 0; depth < 10; depth++) {
      for (const ca of roots) {
        if (current.checkIssued(ca) && current.verify(ca.publicKey) && !expired(ca)) return undefined;
      }
      const next = intermediates.find(
        (c) => !used.has(c.fingerprint256) && c.ca && current.checkIssued(c) && current.verify(c.publicKey),
      );
      if (!next) break;
      if (expired(next)) return 'certificate has expired or is not yet valid';
      if (!ekuOk(next)) return 'certificate specifies an incompatible key usage';
      used.add(next.fingerprint256);
      current = next;
    }
    return 'certificate signed by unknown authority';
  }
}
