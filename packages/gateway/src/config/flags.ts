// The flag table of `cluster-gateway apiserver` and its pflag-compatible parser. Command lines
// written for the Go gateway (charts, KubeVela, docs) must keep working, so names, defaults and
// syntax follow pflag/klog: `--flag=value`, `--flag value`, bare booleans, `-v=4`/`-v 4`/`--v=4`,
// `_` and `-` interchangeable (k8s WordSepNormalizeFunc), repeatable comma-separated lists.
// Commander cannot do pflag booleans or `-v=4`, so `normalizePflagArgs` rewrites argv into
// canonical `--name=value` tokens first (collecting every unknown flag instead of stopping at the
// first), then a commander Command built from the same table does the typed parsing.
// Flags the generic Go server registers but that mean nothing here are accepted with a warning.

import { Command, Option } from 'commander';
import { parseGoDuration } from './duration.ts';
import { gatesHelp, parseGateList, parseGoBool } from './featuregates.ts';

/** Everything the command line can say, typed, before defaults; `undefined` means "not given". */
export interface RawOptions {
  // project-specific (upstream §6.1)
  secretNamespace?: string;
  ocmIntegration?: boolean;
  proxyHost?: string;
  proxyPort?: number;
  proxyCaCert?: string;
  proxyCert?: string;
  proxyKey?: string;
  authorizeProxySubpath?: boolean;
  userAgent?: string;
  clusterGatewayProxyConfig?: string;
  virtualClusterWithControlPlane?: boolean;
  standaloneDebugMode?: boolean;
  /** Explicit `--feature-gates` settings in order (later wins), including generic kube gates. */
  featureGates?: ReadonlyMap<string, boolean>;
  // serving
  securePort?: number;
  bindAddress?: string;
  certDir?: string;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  tlsMinVersion?: string;
  tlsCipherSuites?: readonly string[];
  http2MaxStreamsPerConnection?: number;
  // hub client and delegated authn/authz
  kubeconfig?: string;
  authenticationKubeconfig?: string;
  authenticationSkipLookup?: boolean;
  authenticationTokenWebhookCacheTtlMs?: number;
  authenticationTolerateLookupFailure?: boolean;
  clientCaFile?: string;
  requestheaderClientCaFile?: string;
  requestheaderAllowedNames?: readonly string[];
  requestheaderUsernameHeaders?: readonly string[];
  requestheaderGroupHeaders?: readonly string[];
  requestheaderExtraHeadersPrefix?: readonly string[];
  requestheaderUidHeaders?: readonly string[];
  authorizationKubeconfig?: string;
  authorizationAlwaysAllowPaths?: readonly string[];
  authorizationWebhookCacheAuthorizedTtlMs?: number;
  authorizationWebhookCacheUnauthorizedTtlMs?: number;
  profiling?: boolean;
  verbosity?: number;
  // our improvements
  exposeCredentials?: boolean;
  insecureWithoutCa?: boolean;
  ocmAllowStandaloneSecrets?: boolean;
  shutdownDrainTimeoutMs?: number;
  proxyTimeoutMs?: number;
  deniedEndpointCidrs?: readonly string[];
  allowedEndpointCidrs?: readonly string[];
  logFormat?: string;
}

export type FlagKind = 'string' | 'bool' | 'int' | 'duration' | 'stringSlice' | 'gates';
/**
 * `active`: modelled and used. `noEffect`: registered by the Go generic server, accepted, warned
 * about. `klog`: klog flag other than `-v`, accepted, warned "ignored". `silent`: a no-op upstream
 * too, accepted quietly.
 */
export type FlagEffect = 'active' | 'noEffect' | 'klog' | 'silent';
export type FlagGroup = 'gateway' | 'serving' | 'authentication' | 'authorization' | 'logging' | 'other' | 'compat';

export interface FlagSpec {
  /** Canonical name without dashes, `_` normalised to `-` (except the single-letter `v`). */
  readonly name: string;
  readonly kind: FlagKind;
  readonly key?: keyof RawOptions;
  readonly effect: FlagEffect;
  readonly group: FlagGroup;
  readonly help: string;
  readonly defaultText?: string;
}

/** Upstream defaults (and ours for the new flags). `complete` applies them; help shows them. */
export const DEFAULTS = {
  secretNamespace: 'vela-system',
  proxyPort: 8090,
  // The generic apiserver default; the charts pass --secure-port=9443.
  securePort: 443,
  bindAddress: '0.0.0.0',
  certDir: 'apiserver.local.config/certificates',
  tlsMinVersion: 'VersionTLS12',
  http2MaxStreamsPerConnection: 0,
  authenticationTokenWebhookCacheTtlMs: 10_000,
  requestheaderUsernameHeaders: ['X-Remote-User'],
  requestheaderGroupHeaders: ['X-Remote-Group'],
  requestheaderExtraHeadersPrefix: ['X-Remote-Extra-'],
  requestheaderUidHeaders: ['X-Remote-Uid'],
  authorizationAlwaysAllowPaths: ['/healthz', '/readyz', '/livez'],
  authorizationWebhookCacheAuthorizedTtlMs: 10_000,
  authorizationWebhookCacheUnauthorizedTtlMs: 10_000,
  profiling: true,
  verbosity: 0,
  exposeCredentials: false,
  insecureWithoutCa: true,
  ocmAllowStandaloneSecrets: false,
  shutdownDrainTimeoutMs: 60_000,
  proxyTimeoutMs: 0,
  // Link-local covers cloud metadata endpoints (169.254.169.254): a Secret's endpoint must not reach them.
  deniedEndpointCidrs: ['169.254.0.0/16'],
  allowedEndpointCidrs: [] as string[],
  logFormat: 'json',
} as const;

function f(
  name: string,
  kind: FlagKind,
  group: FlagGroup,
  help: string,
  key?: keyof RawOptions,
  defaultText?: string,
  effect: FlagEffect = 'active',
): FlagSpec {
  const s: { -readonly [K in keyof FlagSpec]: FlagSpec[K] } = { name, kind, group, help, effect };
  if (key !== undefined) s.key = key;
  if (defaultText !== undefined) s.defaultText = defaultText;
  return s;
}
const noEffect = (name: string, kind: FlagKind, group: FlagGroup = 'compat'): FlagSpec =>
  f(
    name,
    kind,
    group,
    'accepted for compatibility; has no effect in this implementation',
    undefined,
    undefined,
    'noEffect',
  );
const klog = (name: string, kind: FlagKind): FlagSpec =>
  f(name, kind, 'logging', 'klog flag, accepted for compatibility; ignored', undefined, undefined, 'klog');

const D = DEFAULTS;
const list = (xs: readonly string[]): string => `[${xs.join(',')}]`;

export const FLAGS: readonly FlagSpec[] = [
  // gateway (upstream §6.1)
  f(
    'secret-namespace',
    'string',
    'gateway',
    'namespace holding the cluster Secrets',
    'secretNamespace',
    D.secretNamespace,
  ),
  f('ocm-integration', 'bool', 'gateway', 'read endpoint and CA from OCM ManagedClusters', 'ocmIntegration', 'false'),
  f(
    'proxy-host',
    'string',
    'gateway',
    'Konnectivity proxy-server host; empty disables cluster-proxy egress',
    'proxyHost',
  ),
  f('proxy-port', 'int', 'gateway', 'Konnectivity proxy-server port', 'proxyPort', String(D.proxyPort)),
  f('proxy-ca-cert', 'string', 'gateway', 'CA file for the proxy-server (required with --proxy-host)', 'proxyCaCert'),
  f(
    'proxy-cert',
    'string',
    'gateway',
    'client certificate file for the proxy-server (required with --proxy-host)',
    'proxyCert',
  ),
  f('proxy-key', 'string', 'gateway', 'client key file for the proxy-server (required with --proxy-host)', 'proxyKey'),
  f(
    'authorize-proxy-subpath',
    'bool',
    'gateway',
    'also authorize the inner proxied request against hub RBAC',
    'authorizeProxySubpath',
    'false',
  ),
  f('user-agent', 'string', 'gateway', 'User-Agent of the gateway-to-hub client', 'userAgent'),
  f(
    'cluster-gateway-proxy-config',
    'string',
    'gateway',
    'file holding the global ClusterGatewayProxyConfiguration',
    'clusterGatewayProxyConfig',
  ),
  f(
    'virtual-clutser-with-control-plane',
    'bool',
    'gateway',
    'no effect (kept as spelt upstream)',
    'virtualClusterWithControlPlane',
    'true',
    'silent',
  ),
  f(
    'standalone-debug-mode',
    'bool',
    'gateway',
    'disable authorization; requires --bind-address=127.0.0.1',
    'standaloneDebugMode',
    'false',
  ),
  f('feature-gates', 'gates', 'gateway', gatesHelp(), 'featureGates'),
  // our improvements
  f(
    'expose-credentials',
    'bool',
    'gateway',
    'return cluster credentials in clear text on GET/LIST (upstream behaviour)',
    'exposeCredentials',
    'false',
  ),
  f(
    'insecure-without-ca',
    'bool',
    'gateway',
    'proxy to clusters whose Secret has no CA without verifying TLS (upstream behaviour)',
    'insecureWithoutCa',
    'true',
  ),
  f(
    'ocm-allow-standalone-secrets',
    'bool',
    'gateway',
    'with --ocm-integration, keep Secrets without a ManagedCluster listed',
    'ocmAllowStandaloneSecrets',
    'false',
  ),
  f(
    'shutdown-drain-timeout',
    'duration',
    'gateway',
    'how long to drain in-flight requests on shutdown',
    'shutdownDrainTimeoutMs',
    '60s',
  ),
  f(
    'proxy-timeout',
    'duration',
    'gateway',
    'overall timeout of non-streaming proxied requests; 0 means none',
    'proxyTimeoutMs',
    '0s',
  ),
  f(
    'denied-endpoint-cidrs',
    'stringSlice',
    'gateway',
    'CIDRs cluster endpoints may not resolve into',
    'deniedEndpointCidrs',
    list(D.deniedEndpointCidrs),
  ),
  f(
    'allowed-endpoint-cidrs',
    'stringSlice',
    'gateway',
    'if set, CIDRs cluster endpoints must resolve into',
    'allowedEndpointCidrs',
    '[]',
  ),
  f('log-format', 'string', 'logging', 'log format: json or text', 'logFormat', D.logFormat),
  // serving
  f(
    'secure-port',
    'int',
    'serving',
    'HTTPS port (the charts use 9443; 0 picks a free port)',
    'securePort',
    String(D.securePort),
  ),
  f('bind-address', 'string', 'serving', 'IP address to listen on', 'bindAddress', D.bindAddress),
  f(
    'cert-dir',
    'string',
    'serving',
    'directory of apiserver.crt/apiserver.key (self-signed if absent)',
    'certDir',
    D.certDir,
  ),
  f('tls-cert-file', 'string', 'serving', 'serving certificate file (with --tls-private-key-file)', 'tlsCertFile'),
  f('tls-private-key-file', 'string', 'serving', 'serving private key file', 'tlsPrivateKeyFile'),
  f(
    'tls-min-version',
    'string',
    'serving',
    'minimum TLS version: VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13',
    'tlsMinVersion',
    D.tlsMinVersion,
  ),
  f(
    'tls-cipher-suites',
    'stringSlice',
    'serving',
    'TLS 1.2 cipher suites (Go/IANA names); unmappable names are ignored with a warning',
    'tlsCipherSuites',
  ),
  f(
    'http2-max-streams-per-connection',
    'int',
    'serving',
    'HTTP/2 concurrent streams per connection; 0 uses the default',
    'http2MaxStreamsPerConnection',
    '0',
  ),
  noEffect('tls-sni-cert-key', 'stringSlice', 'serving'),
  noEffect('permit-port-sharing', 'bool', 'serving'),
  noEffect('permit-address-sharing', 'bool', 'serving'),
  // authentication
  f(
    'kubeconfig',
    'string',
    'authentication',
    'hub kubeconfig (default $KUBECONFIG, then in-cluster, then ~/.kube/config)',
    'kubeconfig',
  ),
  f(
    'authentication-kubeconfig',
    'string',
    'authentication',
    'kubeconfig for TokenReview (default: the hub kubeconfig)',
    'authenticationKubeconfig',
  ),
  f(
    'authentication-skip-lookup',
    'bool',
    'authentication',
    'do not read kube-system/extension-apiserver-authentication',
    'authenticationSkipLookup',
    'false',
  ),
  f(
    'authentication-token-webhook-cache-ttl',
    'duration',
    'authentication',
    'TokenReview cache TTL',
    'authenticationTokenWebhookCacheTtlMs',
    '10s',
  ),
  f(
    'authentication-tolerate-lookup-failure',
    'bool',
    'authentication',
    'start even if the authentication ConfigMap cannot be read',
    'authenticationTolerateLookupFailure',
    'false',
  ),
  f(
    'client-ca-file',
    'string',
    'authentication',
    'CA bundle for client certificates (default: from the ConfigMap)',
    'clientCaFile',
  ),
  f(
    'requestheader-client-ca-file',
    'string',
    'authentication',
    'front-proxy CA bundle; when set, the --requestheader-* flags replace the ConfigMap',
    'requestheaderClientCaFile',
  ),
  f(
    'requestheader-allowed-names',
    'stringSlice',
    'authentication',
    'front-proxy client certificate common names; empty allows any',
    'requestheaderAllowedNames',
  ),
  f(
    'requestheader-username-headers',
    'stringSlice',
    'authentication',
    'headers holding the user name',
    'requestheaderUsernameHeaders',
    list(D.requestheaderUsernameHeaders),
  ),
  f(
    'requestheader-group-headers',
    'stringSlice',
    'authentication',
    'headers holding groups',
    'requestheaderGroupHeaders',
    list(D.requestheaderGroupHeaders),
  ),
  f(
    'requestheader-extra-headers-prefix',
    'stringSlice',
    'authentication',
    'header prefixes holding extra attributes',
    'requestheaderExtraHeadersPrefix',
    list(D.requestheaderExtraHeadersPrefix),
  ),
  f(
    'requestheader-uid-headers',
    'stringSlice',
    'authentication',
    'headers holding the user UID',
    'requestheaderUidHeaders',
    list(D.requestheaderUidHeaders),
  ),
  // authorization
  f(
    'authorization-kubeconfig',
    'string',
    'authorization',
    'kubeconfig for SubjectAccessReview (default: the hub kubeconfig)',
    'authorizationKubeconfig',
  ),
  f(
    'authorization-always-allow-paths',
    'stringSlice',
    'authorization',
    'paths that skip authorization',
    'authorizationAlwaysAllowPaths',
    list(D.authorizationAlwaysAllowPaths),
  ),
  f(
    'authorization-webhook-cache-authorized-ttl',
    'duration',
    'authorization',
    'cache TTL of allowed SubjectAccessReviews',
    'authorizationWebhookCacheAuthorizedTtlMs',
    '10s',
  ),
  f(
    'authorization-webhook-cache-unauthorized-ttl',
    'duration',
    'authorization',
    'cache TTL of denied SubjectAccessReviews',
    'authorizationWebhookCacheUnauthorizedTtlMs',
    '10s',
  ),
  // other generic server flags
  f(
    'profiling',
    'bool',
    'other',
    'accepted for compatibility; no profiling endpoints are served (use node --cpu-prof)',
    'profiling',
    'true',
  ),
  noEffect('contention-profiling', 'bool', 'other'),
  noEffect('debug-socket-path', 'string', 'other'),
  noEffect('enable-priority-and-fairness', 'bool', 'other'),
  noEffect('enable-admission-plugins', 'stringSlice'),
  noEffect('disable-admission-plugins', 'stringSlice'),
  noEffect('admission-control-config-file', 'string'),
  noEffect('egress-selector-config-file', 'string'),
  noEffect('tracing-config-file', 'string'),
  noEffect('encryption-provider-config', 'string'),
  noEffect('encryption-provider-config-automatic-reload', 'bool'),
  ...['audit-log-path', 'audit-log-format', 'audit-log-mode', 'audit-log-version', 'audit-policy-file']
    .concat([
      'audit-webhook-config-file',
      'audit-webhook-mode',
      'audit-webhook-version',
      'audit-webhook-initial-backoff',
    ])
    .map((n) => noEffect(n, 'string')),
  ...['audit-log-maxage', 'audit-log-maxbackup', 'audit-log-maxsize'].map((n) => noEffect(n, 'string')),
  ...['log', 'webhook'].flatMap((b) => [
    noEffect(`audit-${b}-batch-buffer-size`, 'string'),
    noEffect(`audit-${b}-batch-max-size`, 'string'),
    noEffect(`audit-${b}-batch-max-wait`, 'string'),
    noEffect(`audit-${b}-batch-throttle-burst`, 'string'),
    noEffect(`audit-${b}-batch-throttle-qps`, 'string'),
    noEffect(`audit-${b}-batch-throttle-enable`, 'bool'),
    noEffect(`audit-${b}-truncate-enabled`, 'bool'),
    noEffect(`audit-${b}-truncate-max-batch-size`, 'string'),
    noEffect(`audit-${b}-truncate-max-event-size`, 'string'),
  ]),
  noEffect('audit-log-compress', 'bool'),
  ...[
    'etcd-servers',
    'etcd-servers-overrides',
    'etcd-prefix',
    'etcd-cafile',
    'etcd-certfile',
    'etcd-keyfile',
    'etcd-compaction-interval',
    'etcd-count-metric-poll-period',
    'etcd-db-metric-poll-interval',
    'etcd-healthcheck-timeout',
    'etcd-readycheck-timeout',
    'storage-backend',
    'storage-media-type',
    'watch-cache-sizes',
    'default-watch-cache-size',
    'delete-collection-workers',
    'lease-reuse-duration-seconds',
  ].map((n) => noEffect(n, 'string')),
  noEffect('watch-cache', 'bool'),
  noEffect('enable-garbage-collector', 'bool'),
  // klog (only -v has an effect)
  f('v', 'int', 'logging', 'log verbosity: 0-1 info, 2-3 debug, 4+ trace', 'verbosity', '0'),
  klog('vmodule', 'string'),
  klog('logtostderr', 'bool'),
  klog('alsologtostderr', 'bool'),
  klog('log-dir', 'string'),
  klog('log-file', 'string'),
  klog('log-file-max-size', 'string'),
  klog('stderrthreshold', 'string'),
  klog('skip-headers', 'bool'),
  klog('skip-log-headers', 'bool'),
  klog('add-dir-header', 'bool'),
  klog('one-output', 'bool'),
  klog('log-backtrace-at', 'string'),
  klog('log-flush-frequency', 'string'),
];

const BY_NAME: ReadonlyMap<string, FlagSpec> = new Map(FLAGS.map((s) => [s.name, s]));

/** pflag lookup with k8s's word-separator normalisation (`log_dir` ≡ `log-dir`). */
export function lookupFlag(name: string): FlagSpec | undefined {
  return BY_NAME.get(name.replaceAll('_', '-'));
}

export interface NormalizedArgs {
  /** Canonical `--name=value` tokens, one per occurrence, in order. */
  readonly args: readonly string[];
  /** Unknown flags as typed (`--foo`, `-x`), in order. */
  readonly unknown: readonly string[];
  readonly positionals: readonly string[];
  readonly errors: readonly string[];
  readonly help: boolean;
}

/**
 * Rewrites a pflag-style argv into canonical tokens commander parses without ambiguity. Like
 * pflag, a non-boolean flag without `=` takes the next argument whatever it looks like, a boolean
 * never does, and `--` ends the flags.
 */
export function normalizePflagArgs(
  argv: readonly string[],
  lookup: (name: string) => FlagSpec | undefined = lookupFlag,
): NormalizedArgs {
  const args: string[] = [];
  const unknown: string[] = [];
  const positionals: string[] = [];
  const errors: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') {
      help = true;
      continue;
    }
    let name: string;
    let value: string | undefined;
    let typed: string;
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      value = eq < 0 ? undefined : a.slice(eq + 1);
      typed = `--${name}`;
    } else if (a.startsWith('-') && a.length > 1 && !a.startsWith('--')) {
      // Only klog's `-v` has a shorthand; pflag reads `-v4`, `-v=4` and `-v 4`.
      if (a[1] !== 'v') {
        unknown.push(a);
        continue;
      }
      name = 'v';
      value = a.length === 2 ? undefined : a[2] === '=' ? a.slice(3) : a.slice(2);
      typed = '-v';
    } else {
      positionals.push(a);
      continue;
    }
    const spec = name === '' ? undefined : lookup(name);
    if (!spec) {
      unknown.push(typed);
      // Guess that an unknown `--flag value` took the next argument, so it is not reported as a stray positional.
      const next = argv[i + 1];
      if (value === undefined && next !== undefined && !next.startsWith('-')) i++;
      continue;
    }
    if (spec.kind === 'bool') {
      value ??= 'true';
    } else if (value === undefined) {
      if (i + 1 >= argv.length) {
        errors.push(`flag needs an argument: ${typed}`);
        continue;
      }
      value = argv[++i]!;
    }
    args.push(`--${spec.name}=${value}`);
  }
  return { args, unknown, positionals, errors, help };
}

export interface ParseResult {
  readonly options: RawOptions;
  /** Canonical names of the flags given on the command line. */
  readonly given: ReadonlySet<string>;
  /** Usage errors: unknown flags, malformed values, stray arguments. All of them, in order. */
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  readonly help: boolean;
}

// Returned by a failed conversion: commander turns `undefined` into `true`/`''`, which would
// silently accept the bad value.
const INVALID: unique symbol = Symbol('invalid flag value');

/** Splits a pflag string-slice value; an empty value is an empty list. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Parses `cluster-gateway apiserver` flags. Never throws: every problem lands in `errors`. */
export function parseApiserverFlags(argv: readonly string[]): ParseResult {
  const norm = normalizePflagArgs(argv);
  const errors: string[] = [];
  const warnings: string[] = [];
  if (norm.unknown.length === 1) errors.push(`unknown flag: ${norm.unknown[0]!}`);
  else if (norm.unknown.length > 1) errors.push(`unknown flags: ${norm.unknown.join(', ')}`);
  errors.push(...norm.errors);
  if (norm.positionals.length > 0) {
    errors.push(
      `unexpected arguments: ${norm.positionals.map((p) => JSON.stringify(p)).join(' ')} (cluster-gateway apiserver takes only flags)`,
    );
  }

  const given = new Set<string>();
  const warned = new Set<string>();
  const cmd = new Command('apiserver')
    .exitOverride()
    .helpOption(false)
    .allowExcessArguments(false)
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const attrs = new Map<string, FlagSpec>();
  for (const spec of FLAGS) {
    const opt = new Option(spec.kind === 'bool' ? `--${spec.name} [bool]` : `--${spec.name} <value>`);
    const bad = (v: string, why: string): void => {
      errors.push(
        `invalid argument ${JSON.stringify(v)} for "${spec.name === 'v' ? '-v, --v' : `--${spec.name}`}" flag: ${why}`,
      );
    };
    opt.argParser((v: string, prev: unknown): unknown => {
      given.add(spec.name);
      if (spec.effect === 'noEffect' && !warned.has(spec.name)) {
        warned.add(spec.name);
        warnings.push(`flag --${spec.name} has no effect in this implementation`);
      } else if (spec.effect === 'klog' && !warned.has(spec.name)) {
        warned.add(spec.name);
        warnings.push(`klog flag --${spec.name} is ignored (only -v is honoured; use --log-format)`);
      }
      switch (spec.kind) {
        case 'string':
          return v;
        case 'bool': {
          const b = parseGoBool(v);
          if (b === undefined) bad(v, `strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
          return b ?? prev ?? INVALID;
        }
        case 'int': {
          if (!/^[+-]?\d+$/.test(v.trim()) || !Number.isSafeInteger(Number(v))) {
            bad(v, `strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
            return prev ?? INVALID;
          }
          return Number(v);
        }
        case 'duration': {
          const d = parseGoDuration(v.trim());
          if (!d.ok) {
            bad(v, d.error);
            return prev ?? INVALID;
          }
          return d.ms;
        }
        case 'stringSlice':
          // pflag: the first occurrence replaces the default, later ones append.
          return [...(Array.isArray(prev) ? (prev as string[]) : []), ...splitList(v)];
        case 'gates': {
          const parsed = parseGateList(v);
          for (const e of parsed.errors) bad(v, e);
          const merged = new Map(prev instanceof Map ? (prev as Map<string, boolean>) : []);
          for (const [k, b] of parsed.set) merged.set(k, b);
          return merged;
        }
      }
    });
    cmd.addOption(opt);
    attrs.set(opt.attributeName(), spec);
  }
  try {
    cmd.parse([...norm.args], { from: 'user' });
  } catch (e) {
    // Unreachable for normalised input; kept so a commander surprise is a usage error, not a crash.
    errors.push(e instanceof Error ? e.message : String(e));
  }
  const options: Record<string, unknown> = {};
  for (const [attr, spec] of attrs) {
    const v: unknown = cmd.getOptionValue(attr);
    if (v === undefined || v === INVALID || spec.key === undefined) continue;
    options[spec.key] = v;
  }
  return { options, given, errors, warnings, help: norm.help };
}

const GROUP_TITLES: Readonly<Record<FlagGroup, string>> = {
  gateway: 'Gateway flags',
  serving: 'Secure serving flags',
  authentication: 'Authentication flags',
  authorization: 'Authorization flags',
  logging: 'Logging flags',
  other: 'Other flags',
  compat: 'Accepted for compatibility (no effect)',
};

/** `cluster-gateway apiserver --help`. */
export function apiserverHelp(): string {
  const out: string[] = [
    'Usage: cluster-gateway apiserver [flags]',
    '',
    'Serve cluster.core.oam.dev/v1alpha1 ClusterGateways (an aggregated apiserver).',
  ];
  for (const group of Object.keys(GROUP_TITLES) as FlagGroup[]) {
    const specs = FLAGS.filter((s) =>
      group === 'compat' ? s.effect === 'noEffect' : s.group === group && s.effect !== 'noEffect',
    );
    if (specs.length === 0) continue;
    out.push('', `${GROUP_TITLES[group]}:`);
    for (const s of specs) {
      const flag = s.name === 'v' ? '-v, --v int' : `--${s.name}${typeHint(s.kind)}`;
      if (group === 'compat') {
        out.push(`      ${flag}`);
        continue;
      }
      const def = s.defaultText !== undefined && s.defaultText !== '' ? ` (default ${s.defaultText})` : '';
      const help = s.help.split('\n');
      out.push(`      ${flag.padEnd(50)} ${help[0]!}${def}`);
      for (const line of help.slice(1)) out.push(`${' '.repeat(57)}${line}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function typeHint(kind: FlagKind): string {
  switch (kind) {
    case 'bool':
      return '';
    case 'int':
      return ' int';
    case 'duration':
      return ' duration';
    case 'stringSlice':
      return ' strings';
    case 'gates':
      return ' mapStringBool';
    case 'string':
      return ' string';
  }
}
