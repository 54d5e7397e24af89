// Secret (+ OCM ManagedCluster) → Cluster → ClusterGateway, upstream §2 and §1.2. Pure functions: the
// watch loop converts each Secret once when it changes (never on the request path), and the API
// handlers render the read model. Where upstream is lax we are stricter but say why, so a broken
// Secret becomes an `InvalidCluster` with a reason instead of a cluster that fails at request time:
// credentials and CA bundles must parse, URLs must be http(s) (socks5 for proxies). Where upstream is
// strict for no gain we are lenient: a bad health annotation makes the cluster unhealthy (upstream
// drops it), a broken proxy-configuration annotation gives a warning (upstream ignores it silently,
// or crashes on a rule without source).

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { parseExecConfig } from './exec-credential.ts';
import { parseProxyConfiguration } from './proxy-config.ts';
import { errors } from '../apiserver/errors.ts';
import {
  ANNOTATION_CREDENTIALS_REDACTED,
  ANNOTATION_HEALTHY,
  ANNOTATION_HEALTHY_REASON,
  ANNOTATION_PROXY_CONFIG,
  API_VERSION,
  LABEL_CREDENTIAL_TYPE,
  LABEL_ENDPOINT_TYPE,
} from './types.ts';
import type { Cluster, ClusterGateway, Credential, Endpoint, ExchangeRule, InvalidCluster } from './types.ts';

/** The parts of a core/v1 Secret we read (JSON as served, or a client-node V1Secret). */
export interface SecretLike {
  metadata?: {
    name?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string | Date | null;
    labels?: Record<string, string> | null;
    annotations?: Record<string, string> | null;
  };
  /** base64 values, as in the API's JSON */
  data?: Record<string, string> | null;
}

export interface ManagedClusterCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The parts of an OCM `cluster.open-cluster-management.io/v1` ManagedCluster we read. */
export interface ManagedClusterLike {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { managedClusterClientConfigs?: { url?: string; caBundle?: string }[] | null };
  status?: { conditions?: ManagedClusterCondition[] | null };
}

export interface FeatureGates {
  HealthinessCheck: boolean;
  ClientIdentityPenetration: boolean;
}

export interface ConvertOptions {
  /** OCM integration: the same-named ManagedCluster, when one exists */
  managedCluster?: ManagedClusterLike | undefined;
  featureGates: FeatureGates;
  /** `--insecure-without-ca` (default true, upstream's behaviour): serve clusters without CA unverified */
  insecureWithoutCA: boolean;
}

export type ConvertResult =
  { ok: true; cluster: Cluster } | { ok: false; invalid: InvalidCluster } | { ok: false; notACluster: true };

export const WARNING_NO_CA = 'no CA bundle: TLS verification of the cluster is disabled';
export const MANAGED_CLUSTER_AVAILABLE = 'ManagedClusterConditionAvailable';

const PROXY_PROTOCOLS = ['http:', 'https:', 'socks5:', 'socks5h:'];
// would leak the Secret's data (tokens, keys) if copied into ClusterGateway annotations
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Go's `strconv.ParseBool`. */
export function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** true if `s` has whitespace or a control character (either would corrupt a URL or header) */
function hasSpaceOrControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return /\s/.test(s);
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every PEM certificate in `pem`; text around the blocks is ignored, as Go's AppendCertsFromPEM does. */
function parsePEMCertificates(pem: Buffer, what: string): { certs: X509Certificate[] } | { error: string } {
  const blocks = pem.toString('utf8').match(PEM_CERT) ?? [];
  if (!blocks.length) return { error: `${what} does not contain a PEM certificate` };
  const certs: X509Certificate[] = [];
  for (const [i, b] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(b));
    } catch (e) {
      return { error: `${what}: certificate #${i + 1} is not a valid PEM certificate: ${errMessage(e)}` };
    }
  }
  return { certs };
}

/** Kubernetes RFC3339 (second precision, UTC) of a timestamp given as string or Date. */
function timestamp(v: string | Date | null | undefined): string {
  if (!v) return '';
  if (typeof v === 'string') return v;
  return Number.isNaN(v.getTime()) ? '' : v.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The larger of two resourceVersions when both are integers (one hub etcd); else the first. */
export function maxResourceVersion(a: string, b: string | undefined): string {
  if (b === undefined || b === '') return a;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return a;
  return BigInt(b) > BigInt(a) ? b : a;
}

function checkAddress(raw: string, what: string, reasons: string[], warnings: string[]): string | undefined {
  let address = raw;
  if (hasSpaceOrControl(address)) {
    reasons.push(`${what} ${JSON.stringify(address)} contains whitespace or control characters`);
    return undefined;
  }
  // client-go's DefaultServerURL prefixes https:// to a bare host:port; upstream therefore accepts it
  if (!address.includes('://')) {
    warnings.push(`${what} ${JSON.stringify(address)} has no scheme; https:// assumed`);
    address = `https://${address}`;
  }
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    reasons.push(`${what} ${JSON.stringify(raw)} is not a valid URL`);
    return undefined;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    reasons.push(`${what} ${JSON.stringify(raw)} must be an https:// (or http://) URL, not ${u.protocol}`);
    return undefined;
  }
  if (!u.hostname) {
    reasons.push(`${what} ${JSON.stringify(raw)} has no host`);
    return undefined;
  }
  if (u.search || u.hash) {
    reasons.push(`${what} ${JSON.stringify(raw)} must not have a query or fragment`);
    return undefined;
  }
  return address;
}

function checkProxyURL(raw: string, reasons: string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    reasons.push(`proxy-url ${JSON.stringify(raw)} is not a valid URL`);
    return undefined;
  }
  if (!PROXY_PROTOCOLS.includes(u.protocol)) {
    reasons.push(
      `proxy-url ${JSON.stringify(raw)} has unsupported scheme ${u.protocol} (want http, https, socks5 or socks5h)`,
    );
    return undefined;
  }
  if (!u.hostname) {
    reasons.push(`proxy-url ${JSON.stringify(raw)} has no host`);
    return undefined;
  }
  return raw;
}

function managedClusterHealth(mc: ManagedClusterLike): { healthy: boolean; reason: string } {
  const c = (mc.status?.conditions ?? []).find((x) => x.type === MANAGED_CLUSTER_AVAILABLE);
  if (!c) return { healthy: false, reason: `${MANAGED_CLUSTER_AVAILABLE} is not reported by the ManagedCluster` };
  const detail = [c.reason, c.message].filter((s): s is string => !!s).join(': ');
  if (c.status === 'True') return { healthy: true, reason: detail || `${MANAGED_CLUSTER_AVAILABLE}=True` };
  return {
    healthy: false,
    reason: `${MANAGED_CLUSTER_AVAILABLE}=${c.status ?? 'Unknown'}${detail ? `: ${detail}` : ''}`,
  };
}

/**
 * Convert a hub Secret (and, with OCM integration, its ManagedCluster) into the read model.
 * `notACluster`: the Secret has no credential-type label (upstream: NotFound, and not listed).
 * `invalid`: the label is there but the Secret cannot be served; `reason` lists every problem.
 */
export function convertSecret(secret: SecretLike, opts: ConvertOptions): ConvertResult {
  const meta = secret.metadata ?? {};
  const labels: Record<string, string> = { ...(meta.labels ?? {}) };
  const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
  const credentialType = labels[LABEL_CREDENTIAL_TYPE];
  if (credentialType === undefined) return { ok: false, notACluster: true };

  const name = meta.name ?? '';
  const secretRV = meta.resourceVersion ?? '';
  const data = secret.data ?? {};
  const has = (k: string): boolean => typeof data[k] === 'string';
  const bytes = (k: string): Buffer | undefined => {
    const v = data[k];
    return typeof v === 'string' ? Buffer.from(v, 'base64') : undefined;
  };
  const text = (k: string): string | undefined => bytes(k)?.toString('utf8');

  const reasons: string[] = [];
  const warnings: string[] = [];
  const mc = opts.managedCluster;
  if (!name) reasons.push('the Secret has no metadata.name');
  if (mc?.metadata?.name && mc.metadata.name !== name) {
    warnings.push(`ManagedCluster ${JSON.stringify(mc.metadata.name)} merged into cluster ${JSON.stringify(name)}`);
  }

  // ---- endpoint -----------------------------------------------------------------------------------
  const endpointLabel = labels[LABEL_ENDPOINT_TYPE];
  const endpointType = endpointLabel || 'Const';
  if (endpointType !== 'Const' && endpointType !== 'ClusterProxy') {
    warnings.push(
      `unsupported cluster gateway endpoint type ${JSON.stringify(endpointType)}: requests to this cluster are refused`,
    );
  }
  const mcConfig = mc?.spec?.managedClusterClientConfigs?.[0];
  let address: string | undefined;
  if (endpointType === 'ClusterProxy') {
    address = `https://${name}`;
  } else if (mc) {
    // upstream ignores the Secret's endpoint and CA when merging a ManagedCluster
    const url = mcConfig?.url ?? '';
    if (!url) reasons.push(`the ManagedCluster has no spec.managedClusterClientConfigs[0].url`);
    else address = checkAddress(url, 'ManagedCluster url', reasons, warnings);
  } else {
    // upstream trims exactly one trailing newline (a common artefact of `echo ... | base64`)
    const raw = (text('endpoint') ?? '').replace(/\n$/, '');
    if (!raw) reasons.push(`missing secret data key: endpoint (required for endpoint type ${endpointType})`);
    else address = checkAddress(raw, 'endpoint', reasons, warnings);
  }

  // ---- CA -----------------------------------------------------------------------------------------
  let caBundle: Buffer | undefined;
  let insecure = false;
  if (mc) {
    if (mcConfig?.caBundle) caBundle = Buffer.from(mcConfig.caBundle, 'base64');
    // no CA on the ManagedCluster: the system trust store (upstream never sets insecure here)
  } else {
    const caKey = ['ca.crt', 'ca'].find((k) => (bytes(k)?.length ?? 0) > 0);
    if (caKey) caBundle = bytes(caKey);
    else if (has('ca.crt') || has('ca')) {
      // upstream sets the empty bundle, which means the system trust store, not insecure
      warnings.push('the CA bundle in the Secret is empty: the system trust store is used');
    } else if (opts.insecureWithoutCA) {
      insecure = true;
      warnings.push(WARNING_NO_CA);
    } else {
      reasons.push('no CA bundle and --insecure-without-ca=false');
    }
  }
  if (caBundle) {
    const parsed = parsePEMCertificates(caBundle, mc ? 'ManagedCluster caBundle' : 'CA bundle');
    if ('error' in parsed) reasons.push(parsed.error);
  }

  // ---- proxy-url ----------------------------------------------------------------------------------
  let proxyURL: string | undefined;
  const rawProxy = (text('proxy-url') ?? '').replace(/\n$/, '');
  if (rawProxy) proxyURL = checkProxyURL(rawProxy, reasons);

  // ---- credential ---------------------------------------------------------------------------------
  let credential: Credential | undefined;
  switch (credentialType) {
    case 'ServiceAccountToken': {
      const token = (text('token') ?? '').replace(/[\r\n]+$/, '');
      if (!has('token')) reasons.push('missing secret data key: token');
      else if (!token) reasons.push('secret data key token is empty');
      else if (hasSpaceOrControl(token))
        reasons.push('secret data key token contains whitespace or control characters');
      else credential = { type: 'ServiceAccountToken', token };
      break;
    }
    case 'X509Certificate': {
      const cert = bytes('tls.crt');
      const key = bytes('tls.key');
      if (!cert?.length) reasons.push('missing secret data key: tls.crt');
      if (!key?.length) reasons.push('missing secret data key: tls.key');
      if (cert?.length && key?.length) {
        const certs = parsePEMCertificates(cert, 'tls.crt');
        let keyObj;
        try {
          keyObj = createPrivateKey(key);
        } catch (e) {
          reasons.push(`tls.key is not a valid PEM private key: ${errMessage(e)}`);
        }
        if ('error' in certs) reasons.push(certs.error);
        else if (keyObj) {
          const leaf = certs.certs[0]!;
          if (!leaf.checkPrivateKey(keyObj)) reasons.push('tls.key does not match the certificate in tls.crt');
          else {
            credential = { type: 'X509Certificate', certificate: cert, privateKey: key };
            if (Date.parse(leaf.validTo) < Date.now())
              warnings.push(`the client certificate expired at ${leaf.validTo}`);
          }
        }
      }
      break;
    }
    case 'Dynamic':
      try {
        credential = { type: 'Dynamic', exec: parseExecConfig(text('exec')) };
      } catch (e) {
        reasons.push(errMessage(e));
      }
      break;
    default:
      reasons.push(`unrecognized secret credential type ${credentialType}`);
  }

  if (reasons.length) {
    return { ok: false, invalid: { name, reason: reasons.join('; '), secretResourceVersion: secretRV } };
  }

  // ---- health -------------------------------------------------------------------------------------
  let healthy = false;
  let healthyReason: string | undefined;
  if (mc) {
    // the README's promise upstream never kept: OCM's view of the cluster wins over annotations
    const h = managedClusterHealth(mc);
    healthy = h.healthy;
    healthyReason = h.reason;
  } else if (opts.featureGates.HealthinessCheck) {
    healthyReason = annotations[ANNOTATION_HEALTHY_REASON] || undefined;
    const v = annotations[ANNOTATION_HEALTHY];
    if (v !== undefined) {
      const b = parseGoBool(v);
      if (b === undefined) {
        // upstream fails the whole conversion ("unrecogized healthiness status") and the cluster vanishes
        healthyReason = `invalid annotation ${ANNOTATION_HEALTHY}: ${JSON.stringify(v)} is not a boolean`;
        warnings.push(healthyReason);
      } else healthy = b;
    }
  }

  // ---- identity-exchange rules --------------------------------------------------------------------
  let exchangeRules: ExchangeRule[] = [];
  const proxyConfig = annotations[ANNOTATION_PROXY_CONFIG];
  if (opts.featureGates.ClientIdentityPenetration && proxyConfig !== undefined) {
    const parsed = parseProxyConfiguration(proxyConfig, { cluster: name });
    exchangeRules = parsed.rules;
    warnings.push(...parsed.warnings.map((w) => `annotation ${ANNOTATION_PROXY_CONFIG}: ${w}`));
  }

  const endpoint: Endpoint = { type: endpointType, address: address!, caBundle, insecure, proxyURL };
  const mcRV = mc?.metadata?.resourceVersion;
  const cluster: Cluster = {
    name,
    uid: meta.uid ?? '',
    creationTimestamp: timestamp(meta.creationTimestamp),
    resourceVersion: maxResourceVersion(secretRV, mcRV),
    labels,
    annotations,
    endpoint,
    credential,
    healthy,
    healthyReason,
    exchangeRules,
    warnings,
    source:
      mcRV === undefined
        ? { secretResourceVersion: secretRV }
        : { secretResourceVersion: secretRV, managedClusterResourceVersion: mcRV },
  };
  return { ok: true, cluster };
}

export interface ToClusterGatewayOptions {
  /** `--expose-credentials`: upstream returns tokens and keys in reads; we redact by default */
  exposeCredentials: boolean;
}

type Condition = NonNullable<ClusterGateway['status']['conditions']>[number];

function conditions(c: Cluster): Condition[] {
  const known = c.endpoint.type === 'Const' || c.endpoint.type === 'ClusterProxy';
  const ready: Condition = known
    ? { type: 'Ready', status: 'True', reason: 'Valid', message: 'the cluster Secret is valid' }
    : {
        type: 'Ready',
        status: 'False',
        reason: 'InvalidEndpointType',
        message: `unsupported cluster gateway endpoint type ${JSON.stringify(c.endpoint.type)}`,
      };
  let tls: Condition;
  if (c.endpoint.insecure) tls = { type: 'TLSVerified', status: 'False', reason: 'NoCABundle', message: WARNING_NO_CA };
  else if (c.endpoint.caBundle?.length) {
    tls = {
      type: 'TLSVerified',
      status: 'True',
      reason: 'CABundle',
      message: 'the cluster is verified against its CA bundle',
    };
  } else {
    tls = {
      type: 'TLSVerified',
      status: 'True',
      reason: 'SystemTrustStore',
      message: 'the cluster is verified against the system trust store',
    };
  }
  return [ready, tls];
}

/**
 * The `ClusterGateway` object (upstream JSON shape, §1.2) for a cluster. Redaction keeps every field's
 * JSON type so upstream clients still decode it: the token becomes `<redacted>`, the client certificate
 * (public) stays, the private key is left out, and the object is annotated as redacted. A Dynamic
 * credential shows its type only: the issued credential is never materialised for reads.
 */
export function toClusterGateway(cluster: Cluster, opts: ToClusterGatewayOptions): ClusterGateway {
  const ep = cluster.endpoint;
  const endpoint: ClusterGateway['spec']['access']['endpoint'] = { type: ep.type };
  if (ep.type !== 'ClusterProxy') {
    const c: NonNullable<typeof endpoint.const> = { address: ep.address };
    if (ep.caBundle?.length) c.caBundle = ep.caBundle.toString('base64');
    if (ep.insecure) c.insecure = true;
    if (ep.proxyURL) c['proxy-url'] = ep.proxyURL;
    endpoint.const = c;
  }

  const annotations: Record<string, string> = { ...cluster.annotations };
  delete annotations[LAST_APPLIED];
  const access: ClusterGateway['spec']['access'] = { endpoint };
  const cred = cluster.credential;
  if (cred) {
    const redact = !opts.exposeCredentials;
    if (redact) annotations[ANNOTATION_CREDENTIALS_REDACTED] = 'true';
    switch (cred.type) {
      case 'ServiceAccountToken':
        access.credential = { type: cred.type, serviceAccountToken: redact ? '<redacted>' : cred.token };
        break;
      case 'X509Certificate':
        access.credential = {
          type: cred.type,
          x509: redact
            ? { certificate: cred.certificate.toString('base64') }
            : { certificate: cred.certificate.toString('base64'), privateKey: cred.privateKey.toString('base64') },
        };
        break;
      case 'Dynamic':
        access.credential = { type: cred.type };
        break;
    }
  }

  const metadata: ClusterGateway['metadata'] = {
    name: cluster.name,
    uid: cluster.uid,
    resourceVersion: cluster.resourceVersion,
    creationTimestamp: cluster.creationTimestamp,
  };
  if (!metadata.uid) delete metadata.uid;
  if (!metadata.resourceVersion) delete metadata.resourceVersion;
  if (Object.keys(cluster.labels).length) metadata.labels = { ...cluster.labels };
  if (Object.keys(annotations).length) metadata.annotations = annotations;

  const status: ClusterGateway['status'] = { healthy: cluster.healthy };
  if (cluster.healthyReason) status.healthyReason = cluster.healthyReason;
  status.conditions = conditions(cluster);

  return { apiVersion: API_VERSION, kind: 'ClusterGateway', metadata, spec: { provider: '', access }, status };
}

/** The message a GET of a malformed cluster answers with (500, as upstream, but saying why). */
export function invalidToStatusMessage(invalid: InvalidCluster): string {
  return errors.invalidCluster(invalid.name, invalid.reason).message;
}

/** The error a GET (or a proxy request) of a malformed cluster answers with. */
export function invalidToError(invalid: InvalidCluster): ReturnType<typeof errors.invalidCluster> {
  return errors.invalidCluster(invalid.name, invalid.reason);
}
