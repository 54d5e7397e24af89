// Writes the generated deployment artefacts from their single sources: `values.schema.json` from
// the zod values schema, and `deploy/cluster-gateway.yaml` by rendering the Helm chart with
// DEPLOY_VALUES (namespace vela-system, Secrets in vela-system, the TLS Secret and APIService
// left to `cluster-gateway certs --manifests` because they carry per-install key material).
// `--check` only compares and exits 1 when a file is stale (tests run it).
// Usage: node packages/gateway/src/chart/generate.ts [--check]

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import * as prettier from 'prettier';
import { loadChart, renderChart, type KubeManifest } from './chart.ts';
import { valuesJSONSchema } from './values.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const CHART_DIR = join(REPO_ROOT, 'charts/cluster-gateway');
export const DEPLOY_FILE = join(REPO_ROOT, 'deploy/cluster-gateway.yaml');
export const SCHEMA_FILE = join(CHART_DIR, 'values.schema.json');

export const DEPLOY_RELEASE = { name: 'cluster-gateway', namespace: 'vela-system' };
export const DEPLOY_VALUES = {
  secretNamespace: 'vela-system',
  tls: { existingSecret: 'cluster-gateway-tls' },
  apiService: { create: false },
};

const DEPLOY_HEADER = `# cluster-gateway: plain manifests, generated from charts/cluster-gateway by
# packages/gateway/src/chart/generate.ts (do not edit by hand). Namespace vela-system, cluster
# Secrets read from vela-system. The TLS Secret and the APIService carry per-install keys, so
# they come from the certs command:
#   kubectl apply -f deploy/cluster-gateway.yaml
#   cluster-gateway certs --namespace vela-system --service cluster-gateway --out-dir certs --manifests
#   kubectl apply -f certs/secret.yaml -f certs/apiservice.yaml
`;

export async function deployManifests(): Promise<KubeManifest[]> {
  const chart = await loadChart(CHART_DIR);
  const { manifests } = renderChart(chart, { release: DEPLOY_RELEASE, values: DEPLOY_VALUES });
  const ns: KubeManifest = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: DEPLOY_RELEASE.namespace },
  };
  return [ns, ...manifests];
}

export async function generated(): Promise<Map<string, string>> {
  const schema = await prettier.format(JSON.stringify(valuesJSONSchema()), {
    parser: 'json',
    ...((await prettier.resolveConfig(SCHEMA_FILE)) ?? {}),
  });
  const deploy = await prettier.format(
    DEPLOY_HEADER + (await deployManifests()).map((m) => '---\n' + stringify(m)).join(''),
    { parser: 'yaml', ...((await prettier.resolveConfig(DEPLOY_FILE)) ?? {}) },
  );
  return new Map([
    [SCHEMA_FILE, schema],
    [DEPLOY_FILE, deploy],
  ]);
}

/** Files whose content differs from what the sources generate. */
export async function staleFiles(): Promise<string[]> {
  const stale: string[] = [];
  for (const [file, content] of await generated()) {
    const current = await readFile(file, 'utf8').catch(() => undefined);
    if (current !== content) stale.push(file);
  }
  return stale;
}

if (import.meta.main) {
  if (process.argv.includes('--check')) {
    const stale = await staleFiles();
    for (const f of stale) process.stderr.write(`stale: ${f} (run node packages/gateway/src/chart/generate.ts)\n`);
    process.exitCode = stale.length > 0 ? 1 : 0;
  } else {
    for (const [file, content] of await generated()) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
      process.stdout.write(`wrote ${file}\n`);
    }
  }
}
