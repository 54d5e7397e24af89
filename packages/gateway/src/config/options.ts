// The options pipeline of `cluster-gateway apiserver`, shaped like sample-apiserver's:
// parse flags (flags.ts) → `complete` (defaults, kubeconfig discovery, file contents loaded
// asynchronously) → `validate` (every error collected, so an operator fixes a command line in one
// go) → `Config`. `Config` carries a brand only `validate` can attach, so code that takes a Config
// cannot be handed raw or half-checked options. `loadApiserverConfig` runs the whole pipeline.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { isIP } from 'node:net';
import type { SecureVersion } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { type Cidr, parseCidr } from './cidr.ts';
import { type FeatureGates, resolveGates } from './featuregates.ts';
import { DEFAULTS, type ParseResult, type RawOptions, parseApiserverFlags } from './flags.ts';
import { mapCipherSuites, tlsMinVersion } from './tls.ts';

export type LogFormat = 'json' | 'text';
export type LogLevel = 'info' | 'debug' | 'trace';

/** klog verbosity → pino level: 0–1 info, 2–3 debug, ≥4 trace. */
export function levelForVerbosity(v: number): LogLevel {
  if (v >= 4) return 'trace';
  if (v >= 2) return 'debug';
  return 'info';
}

/** Where a kubeconfig comes from. `paths` may hold several files (a `$KUBECONFIG` list). */
export type KubeconfigRef =
  | { readonly source: 'flag' | 'env' | 'home'; readonly paths: readonly string[] }
  | { readonly source: 'in-cluster' }
  | { readonly source: 'none' };

export interface LoadedFile {
  readonly flag: string;
  readonly path: string;
  readonly content: string;
}

export interface FileProblem {
  readonly flag: string;
  readonly path: string;
  readonly message: string;
}

/** The dependencies of `complete`, injectable for tests. */
export interface CompleteEnv {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly homedir: string;
  readonly cwd: string;
  readFile(path: string): Promise<string>;
  exists(path: string): Promise<boolean>;
}

export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function nodeCompleteEnv(): CompleteEnv {
  return {
    env: process.env,
    homedir: homedir(),
    cwd: process.cwd(),
    readFile: (p) => readFile(p, 'utf8'),
    exists: (p) =>
      access(p).then(
        () => true,
        () => false,
      ),
  };
}

/** Options with defaults applied and referenced files read. Not yet validated. */
export interface CompletedOptions {
  readonly secretNamespace: string;
  readonly featureGates: FeatureGates;
  readonly ocmIntegration: boolean;
  readonly ocmAllowStandaloneSecrets: boolean;
  readonly konnectivity: {
    readonly host: string;
    readonly port: number;
    readonly ca: LoadedFile | undefined;
    readonly cert: LoadedFile | undefined;
    readonly key: LoadedFile | undefined;
  };
  readonly authorizeProxySubpath: boolean;
  readonly userAgent: string;
  readonly proxyConfig: LoadedFile | undefined;
  readonly standaloneDebugMode: boolean;
  readonly exposeCredentials: boolean;
  readonly insecureWithoutCa: boolean;
  readonly shutdownDrainTimeoutMs: number;
  readonly proxyTimeoutMs: number;
  readonly deniedEndpointCidrs: readonly string[];
  readonly allowedEndpointCidrs: readonly string[];
  readonly serving: {
    readonly bindAddress: string;
    readonly securePort: number;
    readonly certDir: string;
    readonly tlsCertFile: string | undefined;
    readonly tlsPrivateKeyFile: string | undefined;
    readonly cert: LoadedFile | undefined;
    readonly key: LoadedFile | undefined;
    readonly tlsMinVersion: string;
    readonly tlsCipherSuites: readonly string[];
    readonly http2MaxStreamsPerConnection: number;
  };
  readonly hubKubeconfig: KubeconfigRef;
  readonly authentication: {
    readonly kubeconfig: KubeconfigRef;
    readonly skipLookup: boolean;
    readonly tolerateLookupFailure: boolean;
    readonly tokenCacheTtlMs: number;
    readonly clientCA: LoadedFile | undefined;
    readonly requestHeaderCA: LoadedFile | undefined;
    readonly allowedNames: readonly string[];
    readonly usernameHeaders: readonly string[];
    readonly groupHeaders: readonly string[];
    readonly extraHeaderPrefixes: readonly string[];
    readonly uidHeaders: readonly string[];
  };
  readonly authorization: {
    readonly kubeconfig: KubeconfigRef;
    readonly alwaysAllowPaths: readonly string[];
    readonly authorizedTtlMs: number;
    readonly unauthorizedTtlMs: number;
  };
  readonly profiling: boolean;
  readonly verbosity: number;
  readonly logFormat: string;
  /** Problems from flag parsing and from reading files, reported by `validate`. */
  readonly parseErrors: readonly string[];
  readonly fileProblems: readonly FileProblem[];
  readonly warnings: readonly string[];
}

declare const configBrand: unique symbol;

/** A validated configuration. Only `validate` (and so `loadApiserverConfig`) can produce one. */
export type Config = GatewayConfig & { readonly [configBrand]: true };

export interface GatewayConfig {
  readonly secretNamespace: string;
  readonly featureGates: FeatureGates;
  readonly ocm: { readonly integration: boolean; readonly allowStandaloneSecrets: boolean };
  /** Konnectivity (OCM cluster-proxy) egress; undefined when `--proxy-host` is empty. */
  readonly konnectivity:
    | {
        readonly host: string;
        readonly port: number;
        readonly ca: LoadedFile;
        readonly cert: LoadedFile;
        readonly key: LoadedFile;
      }
    | undefined;
  readonly proxy: {
    readonly authorizeSubpath: boolean;
    /** 0 = no overall timeout (streams such as watch/exec must never be cut). */
    readonly timeoutMs: number;
    readonly exposeCredentials: boolean;
    readonly insecureWithoutCa: boolean;
    /** `--cluster-gateway-proxy-config`: file and its parsed YAML/JSON document. */
    readonly globalConfig:
      { readonly file: LoadedFile; readonly document: Readonly<Record<string, unknown>> } | undefined;
    readonly deniedEndpointCidrs: readonly Cidr[];
    readonly allowedEndpointCidrs: readonly Cidr[];
  };
  readonly serving: {
    readonly bindAddress: string;
    /** 0 = any free port (tests); upstream rejects 0. */
    readonly securePort: number;
    readonly certDir: string;
    /** Explicit files, or the `--cert-dir` pair to load or generate (`certs/` decides). */
    readonly tls:
      | { readonly source: 'files'; readonly cert: LoadedFile; readonly key: LoadedFile }
      | { readonly source: 'cert-dir'; readonly certFile: string; readonly keyFile: string };
    readonly minVersion: SecureVersion;
    readonly ciphers: string | undefined;
    /** 0 = library default. */
    readonly http2MaxStreamsPerConnection: number;
  };
  readonly hub: { readonly kubeconfig: KubeconfigRef; readonly userAgent: string };
  readonly authentication: {
    readonly kubeconfig: KubeconfigRef;
    readonly skipLookup: boolean;
    readonly tolerateLookupFailure: boolean;
    readonly tokenCacheTtlMs: number;
    /** undefined: take `client-ca-file` from kube-system/extension-apiserver-authentication. */
    readonly clientCA: LoadedFile | undefined;
    /**
     * Front-proxy settings from flags when `--requestheader-client-ca-file` is set (as in k8s);
     * otherwise undefined, and the ConfigMap provides them.
     */
    readonly requestHeader:
      | {
          readonly clientCA: LoadedFile;
          readonly allowedNames: readonly string[];
          readonly usernameHeaders: readonly string[];
          readonly groupHeaders: readonly string[];
          readonly extraHeaderPrefixes: readonly string[];
          readonly uidHeaders: readonly string[];
        }
      | undefined;
  };
  readonly authorization: {
    readonly kubeconfig: KubeconfigRef;
    /** `--standalone-debug-mode`: every request is allowed. */
    readonly disabled: boolean;
    readonly alwaysAllowPaths: readonly string[];
    readonly authorizedTtlMs: number;
    readonly unauthorizedTtlMs: number;
  };
  readonly standaloneDebugMode: boolean;
  readonly profiling: boolean;
  readonly shutdownDrainTimeoutMs: number;
  readonly logging: { readonly verbosity: number; readonly level: LogLevel; readonly format: LogFormat };
  /** Accepted-but-ignored flags and similar; log them once the logger exists. */
  readonly warnings: readonly string[];
}

async function resolveHubKubeconfig(flag: string | undefined, env: CompleteEnv): Promise<KubeconfigRef> {
  if (flag !== undefined && flag !== '') return { source: 'flag', paths: [resolve(env.cwd, flag)] };
  const fromEnv = env.env.KUBECONFIG;
  if (fromEnv !== undefined && fromEnv !== '') {
    const paths = fromEnv
      .split(delimiter)
      .filter((p) => p !== '')
      .map((p) => resolve(env.cwd, p));
    if (paths.length > 0) return { source: 'env', paths };
  }
  if (env.env.KUBERNETES_SERVICE_HOST && env.env.KUBERNETES_SERVICE_PORT && (await env.exists(IN_CLUSTER_TOKEN))) {
    return { source: 'in-cluster' };
  }
  const home = join(env.homedir, '.kube', 'config');
  if (await env.exists(home)) return { source: 'home', paths: [home] };
  return { source: 'none' };
}

/**
 * Applies defaults and reads every referenced file concurrently. Never throws: unreadable files
 * become `fileProblems` for `validate` to report alongside everything else.
 */
export async function complete(parsed: ParseResult, env: CompleteEnv = nodeCompleteEnv()): Promise<CompletedOptions> {
  const raw: RawOptions = parsed.options;
  const warnings = [...parsed.warnings];
  const parseErrors = [...parsed.errors];
  const fileProblems: FileProblem[] = [];
  const abs = (p: string | undefined): string | undefined =>
    p === undefined || p === '' ? undefined : resolve(env.cwd, p);

  const load = async (flag: string, p: string | undefined): Promise<LoadedFile | undefined> => {
    const path = abs(p);
    if (path === undefined) return undefined;
    try {
      return { flag, path, content: await env.readFile(path) };
    } catch (e) {
      fileProblems.push({ flag, path, message: e instanceof Error ? e.message : String(e) });
      return undefined;
    }
  };

  const gates = resolveGates(raw.featureGates ?? new Map());
  warnings.push(...gates.warnings);
  parseErrors.push(...gates.errors);

  const hubKubeconfig = await resolveHubKubeconfig(raw.kubeconfig, env);
  const authnKubeconfig: KubeconfigRef =
    raw.authenticationKubeconfig !== undefined && raw.authenticationKubeconfig !== ''
      ? { source: 'flag', paths: [abs(raw.authenticationKubeconfig)!] }
      : hubKubeconfig;
  const authzKubeconfig: KubeconfigRef =
    raw.authorizationKubeconfig !== undefined && raw.authorizationKubeconfig !== ''
      ? { source: 'flag', paths: [abs(raw.authorizationKubeconfig)!] }
      : hubKubeconfig;
  // The inherited refs are the hub's: check each file once, under the flag that named it.
  const kubeconfigChecks: [string, KubeconfigRef][] = [['--kubeconfig', hubKubeconfig]];
  if (authnKubeconfig !== hubKubeconfig) kubeconfigChecks.push(['--authentication-kubeconfig', authnKubeconfig]);
  if (authzKubeconfig !== hubKubeconfig) kubeconfigChecks.push(['--authorization-kubeconfig', authzKubeconfig]);

  const certDir = abs(raw.certDir ?? DEFAULTS.certDir) ?? resolve(env.cwd, DEFAULTS.certDir);
  const [proxyCa, proxyCert, proxyKey, proxyConfig, tlsCert, tlsKey, clientCA, requestHeaderCA] = await Promise.all([
    load('--proxy-ca-cert', raw.proxyCaCert),
    load('--proxy-cert', raw.proxyCert),
    load('--proxy-key', raw.proxyKey),
    load('--cluster-gateway-proxy-config', raw.clusterGatewayProxyConfig),
    load('--tls-cert-file', raw.tlsCertFile),
    load('--tls-private-key-file', raw.tlsPrivateKeyFile),
    load('--client-ca-file', raw.clientCaFile),
    load('--requestheader-client-ca-file', raw.requestheaderClientCaFile),
    ...kubeconfigChecks.map(async ([flag, ref]) => {
      if (ref.source !== 'flag' && ref.source !== 'env') return undefined;
      const seen = await Promise.all(ref.paths.map((p) => env.exists(p)));
      // client-go tolerates missing entries in a $KUBECONFIG list, but not an explicit file.
      const missing = ref.paths.filter((_, i) => !seen[i]);
      if (ref.source === 'flag' || missing.length === ref.paths.length) {
        for (const p of missing)
          fileProblems.push({ flag: ref.source === 'env' ? '$KUBECONFIG' : flag, path: p, message: 'no such file' });
      }
      return undefined;
    }),
  ]);

  if (raw.requestheaderClientCaFile === undefined || raw.requestheaderClientCaFile === '') {
    const overridden = [
      'requestheader-allowed-names',
      'requestheader-username-headers',
      'requestheader-group-headers',
      'requestheader-extra-headers-prefix',
      'requestheader-uid-headers',
    ].filter((n) => parsed.given.has(n));
    if (overridden.length > 0) {
      warnings.push(
        `${overridden.map((n) => `--${n}`).join(', ')} only take effect with --requestheader-client-ca-file; otherwise kube-system/extension-apiserver-authentication provides them`,
      );
    }
  }

  return {
    secretNamespace: raw.secretNamespace ?? DEFAULTS.secretNamespace,
    featureGates: gates.gates,
    ocmIntegration: raw.ocmIntegration ?? false,
    ocmAllowStandaloneSecrets: raw.ocmAllowStandaloneSecrets ?? DEFAULTS.ocmAllowStandaloneSecrets,
    konnectivity: {
      host: raw.proxyHost ?? '',
      port: raw.proxyPort ?? DEFAULTS.proxyPort,
      ca: proxyCa,
      cert: proxyCert,
      key: proxyKey,
    },
    authorizeProxySubpath: raw.authorizeProxySubpath ?? false,
    userAgent: raw.userAgent ?? '',
    proxyConfig,
    standaloneDebugMode: raw.standaloneDebugMode ?? false,
    exposeCredentials: raw.exposeCredentials ?? DEFAULTS.exposeCredentials,
    insecureWithoutCa: raw.insecureWithoutCa ?? DEFAULTS.insecureWithoutCa,
    shutdownDrainTimeoutMs: raw.shutdownDrainTimeoutMs ?? DEFAULTS.shutdownDrainTimeoutMs,
    proxyTimeoutMs: raw.proxyTimeoutMs ?? DEFAULTS.proxyTimeoutMs,
    deniedEndpointCidrs: raw.deniedEndpointCidrs ?? DEFAULTS.deniedEndpointCidrs,
    allowedEndpointCidrs: raw.allowedEndpointCidrs ?? DEFAULTS.allowedEndpointCidrs,
    serving: {
      bindAddress: raw.bindAddress ?? DEFAULTS.bindAddress,
      securePort: raw.securePort ?? DEFAULTS.securePort,
      certDir,
      tlsCertFile: abs(raw.tlsCertFile),
      tlsPrivateKeyFile: abs(raw.tlsPrivateKeyFile),
      cert: tlsCert,
      key: tlsKey,
      tlsMinVersion: raw.tlsMinVersion ?? DEFAULTS.tlsMinVersion,
      tlsCipherSuites: raw.tlsCipherSuites ?? [],
      http2MaxStreamsPerConnection: raw.http2MaxStreamsPerConnection ?? DEFAULTS.http2MaxStreamsPerConnection,
    },
    hubKubeconfig,
    authentication: {
      kubeconfig: authnKubeconfig,
      skipLookup: raw.authenticationSkipLookup ?? false,
      tolerateLookupFailure: raw.authenticationTolerateLookupFailure ?? false,
      tokenCacheTtlMs: raw.authenticationTokenWebhookCacheTtlMs ?? DEFAULTS.authenticationTokenWebhookCacheTtlMs,
      clientCA,
      requestHeaderCA,
      allowedNames: raw.requestheaderAllowedNames ?? [],
      usernameHeaders: raw.requestheaderUsernameHeaders ?? DEFAULTS.requestheaderUsernameHeaders,
      groupHeaders: raw.requestheaderGroupHeaders ?? DEFAULTS.requestheaderGroupHeaders,
      extraHeaderPrefixes: raw.requestheaderExtraHeadersPrefix ?? DEFAULTS.requestheaderExtraHeadersPrefix,
      uidHeaders: raw.requestheaderUidHeaders ?? DEFAULTS.requestheaderUidHeaders,
    },
    authorization: {
      kubeconfig: authzKubeconfig,
      alwaysAllowPaths: raw.authorizationAlwaysAllowPaths ?? DEFAULTS.authorizationAlwaysAllowPaths,
      authorizedTtlMs:
        raw.authorizationWebhookCacheAuthorizedTtlMs ?? DEFAULTS.authorizationWebhookCacheAuthorizedTtlMs,
      unauthorizedTtlMs:
        raw.authorizationWebhookCacheUnauthorizedTtlMs ?? DEFAULTS.authorizationWebhookCacheUnauthorizedTtlMs,
    },
    profiling: raw.profiling ?? DEFAULTS.profiling,
    verbosity: raw.verbosity ?? DEFAULTS.verbosity,
    logFormat: raw.logFormat ?? DEFAULTS.logFormat,
    parseErrors,
    fileProblems,
    warnings,
  };
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function pemBlocks(pem: string, label: RegExp): string[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
  return [...pem.matchAll(re)].filter((m) => label.test(m[1]!)).map((m) => m[0]);
}

/** Checks a CA bundle holds at least one parseable certificate. */
function checkCertificates(f: LoadedFile, errors: string[]): X509Certificate | undefined {
  const blocks = pemBlocks(f.content, /^CERTIFICATE$/);
  if (blocks.length === 0) {
    errors.push(`${f.flag}: ${f.path} contains no PEM certificate`);
    return undefined;
  }
  let first: X509Certificate | undefined;
  for (const [i, b] of blocks.entries()) {
    try {
      const c = new X509Certificate(b);
      first ??= c;
    } catch (e) {
      errors.push(
        `${f.flag}: certificate ${i + 1} in ${f.path} cannot be parsed: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  return first;
}

function checkKey(f: LoadedFile, errors: string[]): ReturnType<typeof createPrivateKey> | undefined {
  try {
    return createPrivateKey(f.content);
  } catch (e) {
    errors.push(
      `${f.flag}: ${f.path} does not hold a usable PEM private key (${e instanceof Error ? e.message : String(e)})`,
    );
    return undefined;
  }
}

function checkPair(cert: LoadedFile, key: LoadedFile, errors: string[]): void {
  const c = checkCertificates(cert, errors);
  const k = checkKey(key, errors);
  if (c && k && !c.checkPrivateKey(k)) {
    errors.push(
      `${cert.flag} and ${key.flag}: the private key ${key.path} does not match the certificate ${cert.path}`,
    );
  }
}

function checkTtl(flag: string, ms: number, errors: string[]): void {
  if (ms < 0) errors.push(`${flag} must not be negative`);
}

function checkPort(flag: string, port: number, min: number, errors: string[]): void {
  if (!Number.isInteger(port) || port < min || port > 65535) {
    errors.push(`${flag} ${port} must be between ${min} and 65535, inclusive`);
  }
}

export type ValidationResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[]; readonly warnings: readonly string[] };

/** Checks everything and collects every error; a `Config` only when there are none. */
export function validate(c: CompletedOptions): ValidationResult {
  const errors: string[] = [...c.parseErrors];
  const warnings: string[] = [...c.warnings];
  for (const p of c.fileProblems) errors.push(`${p.flag}: cannot read ${p.path}: ${p.message}`);

  // Secret namespace
  if (c.secretNamespace === '') errors.push('must specify --secret-namespace');
  else if (c.secretNamespace.length > 63 || !DNS1123_LABEL.test(c.secretNamespace)) {
    errors.push(
      `--secret-namespace ${JSON.stringify(c.secretNamespace)} is not a valid namespace name (a lowercase RFC 1123 label)`,
    );
  }

  // Konnectivity: only validated when a host is set, as upstream does.
  const k = c.konnectivity;
  let konnectivity: GatewayConfig['konnectivity'];
  if (k.host !== '') {
    if (k.port <= 0) errors.push('--proxy-port must be greater than 0 when --proxy-host is set');
    else checkPort('--proxy-port', k.port, 1, errors);
    const missing = [
      ['--proxy-ca-cert', k.ca],
      ['--proxy-cert', k.cert],
      ['--proxy-key', k.key],
    ] as const;
    for (const [flag, file] of missing) {
      if (file === undefined && !c.fileProblems.some((p) => p.flag === flag)) {
        errors.push(`${flag} must be specified when --proxy-host is set`);
      }
    }
    if (k.ca) checkCertificates(k.ca, errors);
    if (k.cert && k.key) checkPair(k.cert, k.key, errors);
    if (k.ca && k.cert && k.key) konnectivity = { host: k.host, port: k.port, ca: k.ca, cert: k.cert, key: k.key };
  }

  // Global proxy configuration: a read or parse failure is fatal upstream too.
  let globalConfig: GatewayConfig['proxy']['globalConfig'];
  if (c.proxyConfig) {
    try {
      const doc: unknown = parseYaml(c.proxyConfig.content);
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
        errors.push(
          `--cluster-gateway-proxy-config: ${c.proxyConfig.path} does not hold a ClusterGatewayProxyConfiguration object`,
        );
      } else {
        globalConfig = { file: c.proxyConfig, document: doc as Record<string, unknown> };
      }
    } catch (e) {
      errors.push(
        `--cluster-gateway-proxy-config: ${c.proxyConfig.path} cannot be parsed: ${e instanceof Error ? e.message.split('\n')[0]! : String(e)}`,
      );
    }
  }

  // Serving
  const s = c.serving;
  if (isIP(s.bindAddress) === 0)
    errors.push(`--bind-address ${JSON.stringify(s.bindAddress)} is not a valid IP address`);
  checkPort('--secure-port', s.securePort, 0, errors);
  if (c.standaloneDebugMode && s.bindAddress !== '127.0.0.1') {
    errors.push('--standalone-debug-mode requires --bind-address=127.0.0.1');
  }
  let tls: GatewayConfig['serving']['tls'] | undefined;
  if ((s.tlsCertFile === undefined) !== (s.tlsPrivateKeyFile === undefined)) {
    errors.push('--tls-cert-file and --tls-private-key-file must be specified together');
  } else if (s.tlsCertFile !== undefined) {
    if (s.cert && s.key) {
      checkPair(s.cert, s.key, errors);
      tls = { source: 'files', cert: s.cert, key: s.key };
    }
  } else {
    tls = { source: 'cert-dir', certFile: join(s.certDir, 'apiserver.crt'), keyFile: join(s.certDir, 'apiserver.key') };
  }
  const minVersion = tlsMinVersion(s.tlsMinVersion);
  if (!minVersion.ok) errors.push(minVersion.error);
  const ciphers = mapCipherSuites(s.tlsCipherSuites);
  warnings.push(...ciphers.warnings);
  if (s.http2MaxStreamsPerConnection < 0) errors.push('--http2-max-streams-per-connection must not be negative');

  // Hub access
  if (c.hubKubeconfig.source === 'none') {
    errors.push(
      'no kubeconfig for the hub cluster: pass --kubeconfig, set $KUBECONFIG, run in a pod, or create ~/.kube/config',
    );
  }

  // Authentication and authorization
  const a = c.authentication;
  checkTtl('--authentication-token-webhook-cache-ttl', a.tokenCacheTtlMs, errors);
  if (a.clientCA) checkCertificates(a.clientCA, errors);
  if (a.requestHeaderCA) {
    checkCertificates(a.requestHeaderCA, errors);
    if (a.usernameHeaders.length === 0)
      errors.push('--requestheader-username-headers must not be empty when --requestheader-client-ca-file is set');
  }
  for (const [flag, headers] of [
    ['--requestheader-username-headers', a.usernameHeaders],
    ['--requestheader-group-headers', a.groupHeaders],
    ['--requestheader-extra-headers-prefix', a.extraHeaderPrefixes],
    ['--requestheader-uid-headers', a.uidHeaders],
  ] as const) {
    for (const h of headers)
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h))
        errors.push(`${flag}: ${JSON.stringify(h)} is not a valid HTTP header name`);
  }
  const z = c.authorization;
  checkTtl('--authorization-webhook-cache-authorized-ttl', z.authorizedTtlMs, errors);
  checkTtl('--authorization-webhook-cache-unauthorized-ttl', z.unauthorizedTtlMs, errors);
  for (const p of z.alwaysAllowPaths) {
    if (!p.startsWith('/')) errors.push(`--authorization-always-allow-paths: ${JSON.stringify(p)} must start with /`);
    else if (p.includes('*') && !p.endsWith('/*') && p !== '/*')
      errors.push(`--authorization-always-allow-paths: ${JSON.stringify(p)}: * is only allowed as a trailing /*`);
  }

  // Our additions
  checkTtl('--shutdown-drain-timeout', c.shutdownDrainTimeoutMs, errors);
  checkTtl('--proxy-timeout', c.proxyTimeoutMs, errors);
  const cidrs = (flag: string, xs: readonly string[]): Cidr[] => {
    const out: Cidr[] = [];
    for (const x of xs) {
      const r = parseCidr(x);
      if (r.ok) out.push(r.cidr);
      else errors.push(`${flag}: ${r.error}`);
    }
    return out;
  };
  const denied = cidrs('--denied-endpoint-cidrs', c.deniedEndpointCidrs);
  const allowed = cidrs('--allowed-endpoint-cidrs', c.allowedEndpointCidrs);
  if (c.logFormat !== 'json' && c.logFormat !== 'text')
    errors.push(`--log-format ${JSON.stringify(c.logFormat)} must be json or text`);
  if (c.verbosity < 0) errors.push('-v must not be negative');
  if (c.ocmAllowStandaloneSecrets && !c.ocmIntegration)
    warnings.push('--ocm-allow-standalone-secrets has no effect without --ocm-integration');
  if (c.standaloneDebugMode)
    warnings.push(
      '--standalone-debug-mode: authorization is disabled; every authenticated or anonymous request is allowed',
    );

  if (errors.length > 0 || tls === undefined || !minVersion.ok) {
    return { ok: false, errors: errors.length > 0 ? errors : ['invalid serving certificate configuration'], warnings };
  }

  const config: GatewayConfig = {
    secretNamespace: c.secretNamespace,
    featureGates: c.featureGates,
    ocm: { integration: c.ocmIntegration, allowStandaloneSecrets: c.ocmAllowStandaloneSecrets },
    konnectivity,
    proxy: {
      authorizeSubpath: c.authorizeProxySubpath,
      timeoutMs: c.proxyTimeoutMs,
      exposeCredentials: c.exposeCredentials,
      insecureWithoutCa: c.insecureWithoutCa,
      globalConfig,
      deniedEndpointCidrs: denied,
      allowedEndpointCidrs: allowed,
    },
    serving: {
      bindAddress: s.bindAddress,
      securePort: s.securePort,
      certDir: s.certDir,
      tls,
      minVersion: minVersion.version,
      ciphers: ciphers.ciphers,
      http2MaxStreamsPerConnection: s.http2MaxStreamsPerConnection,
    },
    hub: { kubeconfig: c.hubKubeconfig, userAgent: c.userAgent },
    authentication: {
      kubeconfig: a.kubeconfig,
      skipLookup: a.skipLookup,
      tolerateLookupFailure: a.tolerateLookupFailure,
      tokenCacheTtlMs: a.tokenCacheTtlMs,
      clientCA: a.clientCA,
      requestHeader: a.requestHeaderCA
        ? {
            clientCA: a.requestHeaderCA,
            allowedNames: a.allowedNames,
            usernameHeaders: a.usernameHeaders,
            groupHeaders: a.groupHeaders,
            extraHeaderPrefixes: a.extraHeaderPrefixes,
            uidHeaders: a.uidHeaders,
          }
        : undefined,
    },
    authorization: {
      kubeconfig: z.kubeconfig,
      disabled: c.standaloneDebugMode,
      alwaysAllowPaths: z.alwaysAllowPaths,
      authorizedTtlMs: z.authorizedTtlMs,
      unauthorizedTtlMs: z.unauthorizedTtlMs,
    },
    standaloneDebugMode: c.standaloneDebugMode,
    profiling: c.profiling,
    shutdownDrainTimeoutMs: c.shutdownDrainTimeoutMs,
    logging: { verbosity: c.verbosity, level: levelForVerbosity(c.verbosity), format: c.logFormat as LogFormat },
    warnings,
  };
  return { ok: true, config: deepFreeze(config) as Config, warnings };
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

export type LoadResult =
  | { readonly kind: 'config'; readonly config: Config; readonly warnings: readonly string[] }
  | { readonly kind: 'help' }
  | {
      readonly kind: 'error';
      readonly errors: readonly string[];
      readonly warnings: readonly string[];
      /** 2 for usage errors (unknown flags, malformed values), 1 for an invalid configuration. */
      readonly exitCode: 1 | 2;
    };

/** parse → complete → validate. Usage errors and validation errors are reported together. */
export async function loadApiserverConfig(
  argv: readonly string[],
  env: CompleteEnv = nodeCompleteEnv(),
): Promise<LoadResult> {
  const parsed = parseApiserverFlags(argv);
  if (parsed.help) return { kind: 'help' };
  const completed = await complete(parsed, env);
  const result = validate(completed);
  if (result.ok) return { kind: 'config', config: result.config, warnings: result.warnings };
  return {
    kind: 'error',
    errors: result.errors,
    warnings: result.warnings,
    exitCode: completed.parseErrors.length > 0 ? 2 : 1,
  };
}
