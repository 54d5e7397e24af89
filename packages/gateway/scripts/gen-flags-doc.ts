// Generates docs/flags.md, the flag reference of `cluster-gateway apiserver`, from the flag table the
// parser uses (config/flags.ts) and the feature gates (config/featuregates.ts), so the documentation
// cannot drift from the code: test/docs/flags-doc.test.ts regenerates it in memory and fails when the
// committed file differs. What the code cannot say is kept here, next to the generator: which flags
// upstream's Go binary has (spec upstream.md §6.1) and, for flags whose effect differs from what
// their help text suggests, a note (each note names a flag that must exist, the test checks it).
// Usage: node packages/gateway/scripts/gen-flags-doc.ts [--check]

import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAGS, type FlagGroup, type FlagKind, type FlagSpec } from '../src/config/flags.ts';
import { GATES, GATE_NAMES } from '../src/config/featuregates.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FLAGS_DOC = join(REPO_ROOT, 'docs/flags.md');

/**
 * Flags upstream's `cluster-gateway apiserver` registers by name (upstream.md §6.1: the project flags,
 * then the inherited RecommendedOptions and klog flags it lists). Flags whose effect is `noEffect` or
 * `klog` are by definition ones the Go generic server registers, so they count as upstream too.
 */
export const UPSTREAM_FLAGS: ReadonlySet<string> = new Set([
  // project-specific
  'secret-namespace',
  'ocm-integration',
  'proxy-host',
  'proxy-port',
  'proxy-ca-cert',
  'proxy-cert',
  'proxy-key',
  'authorize-proxy-subpath',
  'user-agent',
  'cluster-gateway-proxy-config',
  'virtual-clutser-with-control-plane',
  'standalone-debug-mode',
  'feature-gates',
  // serving
  'secure-port',
  'bind-address',
  'cert-dir',
  'tls-cert-file',
  'tls-private-key-file',
  'tls-cipher-suites',
  'tls-min-version',
  'tls-sni-cert-key',
  'http2-max-streams-per-connection',
  'permit-port-sharing',
  'permit-address-sharing',
  // authentication
  'authentication-kubeconfig',
  'authentication-skip-lookup',
  'authentication-token-webhook-cache-ttl',
  'authentication-tolerate-lookup-failure',
  'client-ca-file',
  'requestheader-client-ca-file',
  'requestheader-allowed-names',
  'requestheader-username-headers',
  'requestheader-group-headers',
  'requestheader-extra-headers-prefix',
  'requestheader-uid-headers',
  // authorization
  'authorization-kubeconfig',
  'authorization-always-allow-paths',
  'authorization-webhook-cache-authorized-ttl',
  'authorization-webhook-cache-unauthorized-ttl',
  // other
  'kubeconfig',
  'profiling',
  'contention-profiling',
  'debug-socket-path',
  'v',
]);

/**
 * What a flag does here when its help text alone would mislead, or how it differs from upstream.
 * Only claims the code backs (see the file named in each note's comment when it is not obvious).
 */
export const EFFECT_NOTES: Readonly<Record<string, string>> = {
  'secret-namespace': 'as upstream; must also be a valid namespace name',
  // registry/cache.ts, registry/convert.ts, kube/crd-watch.ts
  'ocm-integration':
    'as upstream, plus what upstream only documents: Secrets without a ManagedCluster are left out (see `--ocm-allow-standalone-secrets`) and `status.healthy` follows `ManagedClusterConditionAvailable`; the ManagedCluster cache starts and stops with the CRD, no restart ([ocm.md](ocm.md))',
  'proxy-host':
    'as upstream; `ClusterProxy` clusters without it answer 503. Tunnelled connections are pooled (upstream: one tunnel per request)',
  'proxy-ca-cert': 'required with `--proxy-host`; must hold a PEM certificate',
  'proxy-cert': 'required with `--proxy-host`; must match `--proxy-key`',
  'proxy-key': 'required with `--proxy-host`',
  'authorize-proxy-subpath': 'as upstream; a denial is a 403 `Status` (upstream: 500)',
  'user-agent': 'as upstream; empty means the gateway default',
  'cluster-gateway-proxy-config':
    'as upstream, and hot-reloaded; an invalid new version keeps the last good rules ([identity-exchange.md](identity-exchange.md))',
  // apiserver/server.ts skips the SubjectAccessReview when `authorization.disabled` is set
  'standalone-debug-mode':
    'as upstream: requires `--bind-address=127.0.0.1`; every authenticated request is allowed without a SubjectAccessReview',
  'feature-gates':
    'the four gates below; `SecretCache` and `OCMClusterCache` are accepted but caches are always on; generic Kubernetes gates (e.g. `APIPriorityAndFairness=false`) are accepted with a warning; unknown names are an error',
  'expose-credentials': 'new (upstream always exposes credentials)',
  'insecure-without-ca':
    'new; `false` makes a Secret without CA an invalid cluster. With `true`, proxied responses carry a `Warning` header and `status.conditions` has `TLSVerified=False`',
  'ocm-allow-standalone-secrets': 'new; warns and does nothing without `--ocm-integration`',
  'shutdown-drain-timeout': 'new',
  'proxy-timeout': 'new; watches, `logs -f` and upgrades are never cut',
  'denied-endpoint-cidrs': 'new; checked on the resolved address at dial time, `proxy-url` proxies included',
  'allowed-endpoint-cidrs': 'new; denied ranges win over allowed ones',
  'log-format': 'new (upstream logs with klog)',
  'secure-port': 'as upstream; `0` picks a free port (upstream rejects 0)',
  'cert-dir': 'as upstream; a self-signed pair is generated there when the files are absent',
  'tls-cert-file': 'as upstream; the pair is re-read when the files change (no restart)',
  'tls-cipher-suites': 'Go/IANA names mapped to OpenSSL ones; unmappable names are ignored with a warning',
  kubeconfig: 'as upstream, plus the `$KUBECONFIG` list and `~/.kube/config` fallbacks',
  'client-ca-file': 'overrides the ConfigMap value',
  'requestheader-client-ca-file': 'when set, the `--requestheader-*` flags replace the ConfigMap values (as kube)',
  'requestheader-allowed-names': 'only with `--requestheader-client-ca-file` (otherwise a warning)',
  'requestheader-username-headers': 'only with `--requestheader-client-ca-file` (otherwise a warning)',
  'requestheader-group-headers': 'only with `--requestheader-client-ca-file` (otherwise a warning)',
  'requestheader-extra-headers-prefix': 'only with `--requestheader-client-ca-file` (otherwise a warning)',
  'requestheader-uid-headers': 'only with `--requestheader-client-ca-file` (otherwise a warning)',
  // nothing outside config/ reads `profiling`
  profiling: 'accepted and validated; no profiling endpoints are served',
  v: 'sets the log level: 0-1 info, 2-3 debug, 4+ trace',
};

const GROUP_TITLES: Readonly<Record<FlagGroup, string>> = {
  gateway: 'Gateway',
  serving: 'Secure serving',
  authentication: 'Authentication',
  authorization: 'Authorization',
  logging: 'Logging',
  other: 'Other generic server flags',
  compat: 'Accepted for compatibility, no effect',
};

const TYPE_NAMES: Readonly<Record<FlagKind, string>> = {
  string: 'string',
  bool: 'bool',
  int: 'int',
  duration: 'duration',
  stringSlice: 'strings',
  gates: 'mapStringBool',
};

export function isUpstreamFlag(s: FlagSpec): boolean {
  return UPSTREAM_FLAGS.has(s.name) || s.effect === 'noEffect' || s.effect === 'klog';
}

/** The "effect here" cell of a flag. */
export function effectHere(s: FlagSpec): string {
  switch (s.effect) {
    case 'noEffect':
      return 'accepted, no effect; a warning is logged';
    case 'klog':
      return 'accepted, ignored; a warning is logged (only `-v` is honoured; see `--log-format`)';
    case 'silent':
      return EFFECT_NOTES[s.name] ?? 'accepted, no effect (as upstream)';
    case 'active':
      return EFFECT_NOTES[s.name] ?? (isUpstreamFlag(s) ? 'as upstream' : 'new');
  }
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function flagName(s: FlagSpec): string {
  return s.name === 'v' ? '`-v`, `--v`' : `\`--${s.name}\``;
}

function description(s: FlagSpec): string {
  // the gate list of --feature-gates is the table below; keep the first line only
  if (s.kind !== 'gates') return s.help;
  return `${(s.help.split('\n')[0] ?? s.help).replace(/\. Options are:$/, '')} (see the gate table below)`;
}

/** The group a flag is listed under (flags with no effect are gathered at the end, as in --help). */
function groupOf(s: FlagSpec): FlagGroup {
  return s.effect === 'noEffect' ? 'compat' : s.group;
}

/** The whole of docs/flags.md. Pure: same code, same text. */
export function renderFlagsDoc(): string {
  const out: string[] = [
    '<!-- GENERATED by packages/gateway/scripts/gen-flags-doc.ts from packages/gateway/src/config/flags.ts: do not edit; run `npm run docs:flags` -->',
    '',
    '# Flags of `cluster-gateway apiserver`',
    '',
    'Syntax follows pflag/klog, as the Go gateway: `--flag=value` or `--flag value`, bare booleans',
    '(`--ocm-integration`), `-v=4`/`-v 4`, `_` and `-` interchangeable, repeatable comma-separated lists.',
    'Every configuration error is reported at once (exit code 2 for usage errors, 1 for invalid values).',
    '`cluster-gateway apiserver --help` prints the same flags.',
    '',
    'Columns: **upstream** says whether oam-dev/cluster-gateway has the flag; **effect here** says what it',
    'does in this implementation when that is not simply what the description says.',
  ];
  for (const group of Object.keys(GROUP_TITLES) as FlagGroup[]) {
    const specs = FLAGS.filter((s) => groupOf(s) === group);
    if (specs.length === 0) continue;
    out.push('', `## ${GROUP_TITLES[group]}`, '');
    out.push('| flag | type | default | description | upstream | effect here |', '|---|---|---|---|---|---|');
    for (const s of specs) {
      const def = s.defaultText !== undefined && s.defaultText !== '' ? `\`${cell(s.defaultText)}\`` : '—';
      out.push(
        `| ${flagName(s)} | ${TYPE_NAMES[s.kind]} | ${def} | ${cell(description(s))} | ${isUpstreamFlag(s) ? 'yes' : 'no'} | ${cell(effectHere(s))} |`,
      );
    }
  }
  out.push(
    '',
    '## Feature gates (`--feature-gates`)',
    '',
    '`AllAlpha=true|false` and `AllBeta=true|false` switch every gate of that stage; later entries win.',
    '',
    '| gate | stage | default | description |',
    '|---|---|---|---|',
  );
  for (const n of GATE_NAMES) {
    const g = GATES[n];
    out.push(`| \`${n}\` | ${g.stage} | \`${String(g.default)}\` | ${cell(g.description)} |`);
  }
  return `${out.join('\n')}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const text = renderFlagsDoc();
  if (argv.includes('--check')) {
    const current = await readFile(FLAGS_DOC, 'utf8').catch(() => '');
    if (current === text) return 0;
    process.stderr.write(`${FLAGS_DOC} is stale: run npm run docs:flags\n`);
    return 1;
  }
  await writeFile(FLAGS_DOC, text);
  process.stdout.write(`wrote ${FLAGS_DOC}\n`);
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
