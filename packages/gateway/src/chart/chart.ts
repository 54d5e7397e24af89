// Renders `charts/cluster-gateway` the way `helm template` does, for tests and for generating the
// plain manifests under `deploy/` (no helm binary is needed or available here). It loads
// Chart.yaml, values.yaml and templates/, coalesces user values over the defaults (maps merge,
// `null` deletes a key, as Helm does), validates them with the same zod schema that produces
// values.schema.json, executes every template with the Go-template subset of template.ts and
// parses the output into objects, sorted in Helm's install order.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { TemplateSet, TemplateError } from './template.ts';
import { checkValues } from './values.ts';

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface LoadedChart {
  dir: string;
  meta: { name: string; version: string; appVersion: string };
  defaults: Record<string, unknown>;
  templates: TemplateSet;
  /** template files rendered into manifests (not partials or NOTES.txt), in file-name order */
  manifestTemplates: string[];
}

export interface RenderOptions {
  release: { name: string; namespace: string };
  /** user values, coalesced over values.yaml */
  values?: Record<string, unknown>;
}

export interface RenderedChart {
  values: Record<string, unknown>;
  manifests: KubeManifest[];
  /** rendered text per template file (empty documents included), like `helm template` output */
  files: Map<string, string>;
}

export class ChartError extends Error {
  override name = 'ChartError';
}

function text(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
}

export async function loadChart(dir: string): Promise<LoadedChart> {
  const chartYaml = parse(await readFile(join(dir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  const defaults = (parse(await readFile(join(dir, 'values.yaml'), 'utf8')) ?? {}) as Record<string, unknown>;
  const templates = new TemplateSet();
  const files = (await readdir(join(dir, 'templates'))).sort();
  const manifestTemplates: string[] = [];
  // partials first so every file sees every `define`
  for (const f of [...files.filter((x) => x.startsWith('_')), ...files.filter((x) => !x.startsWith('_'))]) {
    if (!/\.(ya?ml|tpl)$/.test(f)) continue;
    templates.add(`templates/${f}`, await readFile(join(dir, 'templates', f), 'utf8'));
    if (!f.startsWith('_') && /\.ya?ml$/.test(f)) manifestTemplates.push(`templates/${f}`);
  }
  return {
    dir,
    meta: {
      name: text(chartYaml.name),
      version: text(chartYaml.version),
      appVersion: text(chartYaml.appVersion),
    },
    defaults,
    templates,
    manifestTemplates,
  };
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Helm's coalescing: user maps merge into default maps, other values replace, `null` deletes. */
export function coalesceValues(
  defaults: Record<string, unknown>,
  user: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(user)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = coalesceValues(out[k], v);
    else out[k] = v;
  }
  return out;
}

/** Helm's InstallOrder (pkg/release/util/kind_sorter.go), the part this chart can produce. */
const INSTALL_ORDER = [
  'Namespace',
  'PodDisruptionBudget',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Service',
  'Deployment',
  'APIService',
];

function kindRank(kind: string): number {
  const i = INSTALL_ORDER.indexOf(kind);
  return i < 0 ? INSTALL_ORDER.length - 1 : i;
}

export function renderChart(chart: LoadedChart, opts: RenderOptions): RenderedChart {
  const values = coalesceValues(chart.defaults, opts.values ?? {});
  const problems = checkValues(values);
  if (problems.length > 0)
    throw new ChartError(`values don't meet the specifications of the schema:\n- ${problems.join('\n- ')}`);
  const data = {
    Values: values,
    Release: {
      Name: opts.release.name,
      Namespace: opts.release.namespace,
      Service: 'Helm',
      IsInstall: true,
      IsUpgrade: false,
      Revision: 1,
    },
    Chart: { Name: chart.meta.name, Version: chart.meta.version, AppVersion: chart.meta.appVersion },
  };
  const files = new Map<string, string>();
  const manifests: { m: KubeManifest; order: number }[] = [];
  for (const name of chart.manifestTemplates) {
    let text: string;
    try {
      text = chart.templates.execute(name, data);
    } catch (e) {
      if (e instanceof TemplateError) throw new ChartError(`${name}: ${e.message}`, { cause: e });
      throw e;
    }
    files.set(name, text);
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0)
        throw new ChartError(`${name}: rendered YAML is invalid: ${doc.errors.map((e) => e.message).join('; ')}`);
      const obj = doc.toJS() as unknown;
      if (obj === null || obj === undefined) continue;
      if (!isMap(obj) || typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string' || !isMap(obj.metadata))
        throw new ChartError(`${name}: a rendered document is not a Kubernetes object`);
      manifests.push({ m: obj as KubeManifest, order: manifests.length });
    }
  }
  manifests.sort((a, b) => kindRank(a.m.kind) - kindRank(b.m.kind) || a.order - b.order);
  return { values, manifests: manifests.map((x) => x.m), files };
}

/** The one manifest of `kind` (and `name`, when given); throws when absent or ambiguous. */
export function findManifest(manifests: readonly KubeManifest[], kind: string, name?: string): KubeManifest {
  const hits = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (hits.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${hits.length}`);
  return hits[0]!;
}
