// Feature gates of `cluster-gateway apiserver` (upstream §6.2) and the parser for
// `--feature-gates=A=true,B=false`, following k8s component-base: comma-separated `Name=bool`
// pairs, empty entries skipped (the upstream chart emits a trailing comma), later entries win,
// `AllAlpha`/`AllBeta` switch every gate of that stage. Generic Kubernetes gates that KubeVela's
// chart and docs pass (`APIPriorityAndFairness=false`) are accepted with a warning because they
// mean nothing here; any other name is rejected so a typo cannot silently keep a default.

export type GateName = 'HealthinessCheck' | 'SecretCache' | 'ClientIdentityPenetration' | 'OCMClusterCache';
export type GateStage = 'Alpha' | 'Beta' | 'GA';

export interface GateSpec {
  readonly default: boolean;
  readonly stage: GateStage;
  readonly description: string;
}

export const GATES: Readonly<Record<GateName, GateSpec>> = {
  HealthinessCheck: {
    default: false,
    stage: 'Alpha',
    description: 'populate status.healthy/healthyReason from Secret annotations',
  },
  SecretCache: { default: true, stage: 'Beta', description: 'serve Secrets from a namespaced informer cache' },
  ClientIdentityPenetration: {
    default: false,
    stage: 'Alpha',
    description: 'impersonate the caller on member clusters; honour identity-exchange annotations',
  },
  OCMClusterCache: {
    default: true,
    stage: 'Beta',
    description: 'serve OCM ManagedClusters from an informer cache (skipped if the API is absent)',
  },
};

export const GATE_NAMES = Object.keys(GATES) as readonly GateName[];

export type FeatureGates = Readonly<Record<GateName, boolean>>;

/**
 * Generic gates registered by k8s.io/apiserver and component-base across the releases upstream
 * built against (1.2x-1.3x). Accepted so existing command lines keep working; they have no effect.
 */
export const KNOWN_KUBE_GATES: ReadonlySet<string> = new Set([
  'AdmissionWebhookMatchConditions',
  'AdvancedAuditing',
  'AggregatedDiscoveryEndpoint',
  'AllowUnsafeMalformedObjectDeletion',
  'AnonymousAuthConfigurableEndpoints',
  'APIListChunking',
  'APIPriorityAndFairness',
  'APIResponseCompression',
  'APIServerIdentity',
  'APIServerTracing',
  'APIServingWithRoutine',
  'AuthorizeWithSelectors',
  'BtreeWatchCache',
  'CBORServingAndStorage',
  'ComponentSLIs',
  'ConcurrentWatchObjectDecode',
  'ConsistentListFromCache',
  'ContextualLogging',
  'CoordinatedLeaderElection',
  'CustomResourceValidationExpressions',
  'DryRun',
  'EfficientWatchResumption',
  'InPlacePodVerticalScaling',
  'KMSv1',
  'KMSv2',
  'KMSv2KDF',
  'ListFromCacheSnapshot',
  'LoggingAlphaOptions',
  'LoggingBetaOptions',
  'MutatingAdmissionPolicy',
  'OpenAPIEnums',
  'OpenAPIV3',
  'RemainingItemCount',
  'RemoveSelfLink',
  'ResilientWatchCacheInitialization',
  'RetryGenerateName',
  'SeparateCacheWatchRPC',
  'ServerSideApply',
  'ServerSideFieldValidation',
  'StorageVersionAPI',
  'StorageVersionHash',
  'StrictCostEnforcementForVAP',
  'StrictCostEnforcementForWebhooks',
  'StructuredAuthenticationConfiguration',
  'StructuredAuthorizationConfiguration',
  'UnauthenticatedHTTP2DOSMitigation',
  'ValidatingAdmissionPolicy',
  'WatchBookmark',
  'WatchCacheInitializationPostStartHook',
  'WatchFromStorageWithoutResourceVersion',
  'WatchList',
  'ZeroLimitedNominalConcurrencyShares',
]);

export interface GateParseResult {
  /** Explicit settings, in order of appearance (later wins). */
  readonly set: ReadonlyMap<string, boolean>;
  readonly errors: readonly string[];
}

/** Go `strconv.ParseBool`. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'true':
    case 'TRUE':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'false':
    case 'FALSE':
    case 'False':
      return false;
    default:
      return undefined;
  }
}

/** Parses one `--feature-gates` value (`A=true,B=false,`) into raw name/value pairs. */
export function parseGateList(value: string): GateParseResult {
  const set = new Map<string, boolean>();
  const errors: string[] = [];
  for (const entry of value.split(',')) {
    const s = entry.trim();
    if (s === '') continue;
    const eq = s.indexOf('=');
    if (eq < 0) {
      errors.push(`missing bool value for ${s}`);
      continue;
    }
    const name = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1).trim();
    const b = parseGoBool(raw);
    if (b === undefined) {
      errors.push(
        `invalid value of ${name}=${raw}, err: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`,
      );
      continue;
    }
    set.set(name, b);
  }
  return { set, errors };
}

export interface ResolvedGates {
  readonly gates: FeatureGates;
  readonly warnings: readonly string[];
  readonly errors: readonly string[];
}

/** Applies explicit settings over defaults; classifies names (ours, generic kube, unknown). */
export function resolveGates(set: ReadonlyMap<string, boolean>): ResolvedGates {
  const gates: Record<GateName, boolean> = {
    HealthinessCheck: GATES.HealthinessCheck.default,
    SecretCache: GATES.SecretCache.default,
    ClientIdentityPenetration: GATES.ClientIdentityPenetration.default,
    OCMClusterCache: GATES.OCMClusterCache.default,
  };
  const warnings: string[] = [];
  const errors: string[] = [];
  // AllAlpha/AllBeta apply first so explicit gates override them whatever their order.
  for (const stage of ['Alpha', 'Beta'] as const) {
    const v = set.get(`All${stage}`);
    if (v === undefined) continue;
    for (const n of GATE_NAMES) if (GATES[n].stage === stage) gates[n] = v;
  }
  for (const [name, value] of set) {
    if (name === 'AllAlpha' || name === 'AllBeta') continue;
    if (isGateName(name)) {
      gates[name] = value;
    } else if (KNOWN_KUBE_GATES.has(name)) {
      warnings.push(
        `feature gate ${name}=${value} is a generic Kubernetes gate and has no effect in this implementation`,
      );
    } else {
      const hint = GATE_NAMES.find((g) => g.toLowerCase() === name.toLowerCase());
      errors.push(`unrecognized feature gate: ${name}${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
  }
  return { gates, warnings, errors };
}

export function isGateName(name: string): name is GateName {
  return Object.hasOwn(GATES, name);
}

/** The `--feature-gates` help text, listing our gates like component-base does. */
export function gatesHelp(): string {
  const lines = GATE_NAMES.map(
    (n) => `${n}=true|false (${GATES[n].stage.toUpperCase()} - default=${GATES[n].default})`,
  );
  return `A set of key=value pairs that describe feature gates for alpha/experimental features. Options are:\n${['AllAlpha=true|false (ALPHA - default=false)', 'AllBeta=true|false (BETA - default=false)', ...lines].join('\n')}`;
}
