// Client-certificate verification with node:crypto, as crypto/x509's Verify runs it for kube's x509
// authenticators: build a chain from the leaf through the intermediates the client sent to one of the
// trusted roots, checking signatures, validity windows, CA-ness of issuers and the clientAuth extended
// key usage at every step. Done in code rather than in the TLS handshake because the gateway must ask
// for client certificates without rejecting unknown ones (a bearer-token client may present any
// certificate), exactly like kube-apiserver, and because the trusted CAs change at run time.

import { X509Certificate } from 'node:crypto';

export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const EKU_ANY = '2.5.29.37.0';
const MAX_DEPTH = 10;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Every certificate of a PEM bundle. Throws when a CERTIFICATE block does not parse or the bundle
 * holds none (kube refuses such CA bundles rather than trusting nothing silently).
 */
export function parsePemBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error('data does not contain any valid RSA or ECDSA certificates');
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new Error(`certificate ${i + 1} of the bundle does not parse`, { cause: e });
    }
  });
}

/** Subject common name and organizations (CommonNameUserConversion: CN = user, O = groups). */
const subjectMemo = new Map<string, { commonName: string; organizations: string[] }>();

export function certificateSubject(cert: X509Certificate): { commonName: string; organizations: string[] } {
  const fp = cert.fingerprint256;
  const hit = subjectMemo.get(fp);
  if (hit) return { commonName: hit.commonName, organizations: [...hit.organizations] };
  const s = certificateSubjectUncached(cert);
  if (subjectMemo.size >= 4096) subjectMemo.delete(subjectMemo.keys().next().value!);
  subjectMemo.set(fp, s);
  return { commonName: s.commonName, organizations: [...s.organizations] };
}

function certificateSubjectUncached(cert: X509Certificate): { commonName: string; organizations: string[] } {
  const legacy = cert.toLegacyObject().subject as unknown as Record<string, string | string[] | undefined>;
  const cn = legacy.CN;
  const o = legacy.O;
  return {
    commonName: Array.isArray(cn) ? (cn[0] ?? '') : (cn ?? ''),
    organizations: o === undefined ? [] : Array.isArray(o) ? [...o] : [o],
  };
}

export interface VerifyOptions {
  roots: readonly X509Certificate[];
  intermediates?: readonly X509Certificate[];
  /** clock in ms */
  now?: number;
}

function timeError(c: X509Certificate, now: number): string | undefined {
  const from = c.validFromDate.getTime();
  const to = c.validToDate.getTime();
  const at = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (now < from)
    return `certificate has expired or is not yet valid: current time ${at} is before ${c.validFromDate.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  if (now > to)
    return `certificate has expired or is not yet valid: current time ${at} is after ${c.validToDate.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
  return undefined;
}

function ekuAllowsClientAuth(c: X509Certificate): boolean {
  const eku = c.keyUsage as string[] | undefined;
  return !eku || eku.length === 0 || eku.includes(EKU_CLIENT_AUTH) || eku.includes(EKU_ANY);
}

function issuedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** Go prints serial numbers in decimal. */
function serialDecimal(c: X509Certificate): string {
  try {
    return BigInt(`0x${c.serialNumber}`).toString(10);
  } catch {
    return c.serialNumber;
  }
}

/**
 * Verifies `leaf` for client authentication. Returns undefined when a chain to a root exists, else
 * the reason in crypto/x509's words wrapped as kube's verifier wraps it (logged, never sent: the
 * client only ever sees 401 Unauthorized).
 */
/**
 * Chain verification costs about 0.1 ms of CPU per certificate, on every request of every
 * connection; the answer only depends on the certificates and the time, so it is memoized by
 * fingerprints for a minute (never past the leaf's expiry). Bounded; oldest entries go first.
 */
const verifyMemo = new Map<string, { result: string | undefined; until: number }>();
const VERIFY_MEMO_MAX = 4096;
const VERIFY_MEMO_TTL_MS = 60_000;

export function verifyClientCertificate(leaf: X509Certificate, opts: VerifyOptions): string | undefined {
  if (opts.now !== undefined) return verifyUncached(leaf, opts);
  const now = Date.now();
  const key = [
    leaf.fingerprint256,
    ...opts.roots.map((r) => r.fingerprint256),
    '|',
    ...(opts.intermediates ?? []).map((i) => i.fingerprint256),
  ].join(',');
  const hit = verifyMemo.get(key);
  if (hit && hit.until > now) return hit.result;
  const result = verifyUncached(leaf, opts);
  if (verifyMemo.size >= VERIFY_MEMO_MAX) verifyMemo.delete(verifyMemo.keys().next().value!);
  verifyMemo.set(key, { result, until: Math.min(now + VERIFY_MEMO_TTL_MS, Date.parse(leaf.validTo)) });
  return result;
}

function verifyUncached(leaf: X509Certificate, opts: VerifyOptions): string | undefined {
  const now = opts.now ?? Date.now();
  const fail = (why: string) => `verifying certificate SN=${serialDecimal(leaf)} failed: x509: ${why}`;
  const leafTime = timeError(leaf, now);
  if (leafTime) return fail(leafTime);
  if (opts.roots.length === 0) return fail('certificate signed by unknown authority');
  // Go accepts a certificate that is itself in the root pool
  if (opts.roots.some((r) => r.raw.equals(leaf.raw))) {
    return ekuAllowsClientAuth(leaf) ? undefined : fail('certificate specifies an incompatible key usage');
  }
  const intermediates = opts.intermediates ?? [];
  let lastProblem = 'certificate signed by unknown authority';
  // depth-first search over candidate issuers, as Go's buildChains does
  const search = (chain: X509Certificate[]): boolean => {
    const current = chain[chain.length - 1]!;
    if (chain.length > MAX_DEPTH) return false;
    for (const root of opts.roots) {
      if (!issuedBy(current, root)) continue;
      const t = timeError(root, now);
      if (t) {
        lastProblem = t;
        continue;
      }
      // like Go, a trusted root needs no CA basic constraint (old v1 roots); intermediates do
      const full = [...chain, root];
      if (full.every(ekuAllowsClientAuth)) return true;
      lastProblem = 'certificate specifies an incompatible key usage';
    }
    for (const inter of intermediates) {
      if (chain.some((c) => c.raw.equals(inter.raw))) continue;
      if (!inter.ca || !issuedBy(current, inter)) continue;
      const t = timeError(inter, now);
      if (t) {
        lastProblem = t;
        continue;
      }
      if (search([...chain, inter])) return true;
    }
    return false;
  };
  return search([leaf]) ? undefined : fail(lastProblem);
}
