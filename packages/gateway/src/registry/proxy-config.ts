// `ClusterGatewayProxyConfiguration` (upstream §5.2): the identity-exchange rules document, read from the
// per-cluster Secret annotation and from the global `--cluster-gateway-proxy-config` file. Upstream
// ignores per-cluster parse errors silently and crashes on a rule without `source`; here the lenient
// mode (annotation) keeps what is usable and reports the rest as warnings, and the strict mode
// (global file, fatal at start-up as upstream) throws one error listing every problem with its path.

import { parse as parseYAML } from 'yaml';
import { z } from 'zod';
import type { ExchangeRule } from './types.ts';

export const EXCHANGER_TYPES = [
  'PrivilegedIdentityExchanger',
  'StaticMappingIdentityExchanger',
  'ExternalIdentityExchanger',
] as const;

// Unknown fields are ignored, as Go's JSON/YAML decoding does; apiVersion and kind are not checked
// (upstream does not check them either).
const sourceSchema = z.object({
  user: z.string().optional(),
  group: z.string().optional(),
  uid: z.string().optional(),
  cluster: z.string().optional(),
  userPattern: z.string().optional(),
  groupPattern: z.string().optional(),
  clusterPattern: z.string().optional(),
});

const targetSchema = z.object({
  user: z.string().optional(),
  groups: z.array(z.string()).nullish(),
  uid: z.string().optional(),
});

const ruleSchema = z.object({
  name: z.string().optional(),
  type: z.string().optional(),
  source: sourceSchema.nullish(),
  target: targetSchema.nullish(),
  url: z.string().optional(),
});

const documentSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    spec: z
      .object({
        clientIdentityExchanger: z.object({ rules: z.array(ruleSchema).nullish() }).nullish(),
      })
      .nullish(),
  })
  .nullish();

type RawRule = z.infer<typeof ruleSchema>;

export interface ParseProxyConfigurationOptions {
  /** throw on any problem (the global file); otherwise collect warnings (the per-cluster annotation) */
  strict?: boolean;
  /** per-cluster use: every rule's `source.cluster` is forced to this name, as upstream does */
  cluster?: string;
}

export interface ParsedProxyConfiguration {
  rules: ExchangeRule[];
  warnings: string[];
}

/** A strict-mode failure; `problems` holds every problem with its document path. */
export class ProxyConfigurationError extends Error {
  readonly problems: string[];
  constructor(problems: string[], options?: ErrorOptions) {
    super(`invalid ClusterGatewayProxyConfiguration: ${problems.join('; ')}`, options);
    this.name = 'ProxyConfigurationError';
    this.problems = problems;
  }
}

/** `spec.clientIdentityExchanger.rules[0].source` style path (the YAML path of the problem). */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '<document>';
}

function compiles(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/**
 * Parse a YAML or JSON `ClusterGatewayProxyConfiguration`. Lenient mode never throws: a document that
 * does not parse gives no rules and a warning; a rule without `source` or with a pattern that is not a
 * valid regular expression is dropped with a warning (upstream crashes on the first and treats the
 * second as matching everything). Rules of an unknown type or a StaticMapping rule without `target`
 * are kept (with a warning) so that the proxy refuses requests that match them with a clear error,
 * rather than letting a later rule grant something else.
 */
export function parseProxyConfiguration(
  text: string,
  opts: ParseProxyConfigurationOptions = {},
): ParsedProxyConfiguration {
  const strict = opts.strict ?? false;
  const warnings: string[] = [];
  const problems: string[] = [];

  let doc: unknown;
  try {
    doc = parseYAML(text);
  } catch (e) {
    const msg = `not valid YAML or JSON: ${e instanceof Error ? e.message.split('\n')[0]! : String(e)}`;
    if (strict) throw new ProxyConfigurationError([msg], { cause: e });
    return { rules: [], warnings: [msg] };
  }

  const parsed = documentSchema.safeParse(doc);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    if (strict) throw new ProxyConfigurationError(issues, { cause: parsed.error });
    return { rules: [], warnings: issues };
  }

  const raw: RawRule[] = parsed.data?.spec?.clientIdentityExchanger?.rules ?? [];
  const rules: ExchangeRule[] = [];
  raw.forEach((r, i) => {
    const path = `spec.clientIdentityExchanger.rules[${i}]`;
    const label = r.name ? `${path} (${r.name})` : path;
    if (!r.source) {
      // never matches upstream (and crashes the per-cluster conversion): dropping it changes nothing
      warnings.push(`${label}: rule has no source and never matches; ignored`);
      return;
    }
    const bad = (['userPattern', 'groupPattern', 'clusterPattern'] as const)
      .map((k) => {
        const p = r.source?.[k];
        const err = p === undefined ? undefined : compiles(p);
        return err === undefined ? undefined : `${label}.source.${k}: invalid regular expression: ${err}`;
      })
      .filter((m): m is string => m !== undefined);
    if (bad.length) {
      problems.push(...bad);
      warnings.push(...bad.map((m) => `${m}; rule ignored`));
      return;
    }
    const type = r.type ?? '';
    if (!(EXCHANGER_TYPES as readonly string[]).includes(type)) {
      const m = `${label}.type: unknown exchanger type: ${JSON.stringify(type)} (want one of ${EXCHANGER_TYPES.join(', ')})`;
      problems.push(m);
      warnings.push(m);
    } else if (type === 'StaticMappingIdentityExchanger' && !r.target) {
      const m = `${label}.target: a StaticMappingIdentityExchanger rule needs a target`;
      problems.push(m);
      warnings.push(m);
    }
    const source: NonNullable<ExchangeRule['source']> = {};
    for (const [k, v] of Object.entries(r.source)) {
      if (v !== undefined) source[k as keyof typeof source] = v;
    }
    if (opts.cluster !== undefined) source.cluster = opts.cluster;
    const rule: ExchangeRule = { name: r.name ?? '', type, source };
    if (r.target) {
      const target: NonNullable<ExchangeRule['target']> = {};
      if (r.target.user !== undefined) target.user = r.target.user;
      if (r.target.groups) target.groups = [...r.target.groups];
      if (r.target.uid !== undefined) target.uid = r.target.uid;
      rule.target = target;
    }
    if (r.url !== undefined) rule.url = r.url;
    rules.push(rule);
  });

  if (strict && problems.length) throw new ProxyConfigurationError(problems);
  return { rules, warnings };
}
