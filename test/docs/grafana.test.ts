// docs/grafana-dashboard.json must stay importable and must only query metrics the gateway exposes:
// it parses, uses the `${DS_PROMETHEUS}` data source variable everywhere, and every metric name in
// every PromQL expression is registered by createMetrics (observability/metrics.ts), with the
// `_bucket`/`_sum`/`_count` series only on histograms. Renaming a metric breaks this test.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMetrics } from '../../packages/gateway/src/observability/metrics.ts';

const DASHBOARD = join(import.meta.dirname, '../../docs/grafana-dashboard.json');
const METRIC_PREFIX = /^(ocm_proxy_|cluster_gateway_|apiserver_|process_|nodejs_)/;

interface Target {
  expr?: string;
  datasource?: { uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

/** name → type of every metric the gateway registers (process metrics included). */
async function exposed(): Promise<Map<string, string>> {
  const m = createMetrics({ processMetrics: true });
  const json = await m.registry.getMetricsAsJSON();
  return new Map(json.map((x) => [x.name, String(x.type)]));
}

/** Problems with the metric names one PromQL expression uses (empty when all exist). */
function unknownMetrics(expr: string, known: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  // strip label matchers and strings so label values are not mistaken for metric names
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const [name] of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (!METRIC_PREFIX.test(name)) continue;
    if (known.has(name)) continue;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    if (base !== name && known.get(base) === 'histogram') continue;
    problems.push(name);
  }
  return problems;
}

function allPanels(ps: readonly Panel[]): Panel[] {
  return ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

async function load(): Promise<{ schemaVersion: number; panels: Panel[]; templating: { list: unknown[] } }> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as {
    schemaVersion: number;
    panels: Panel[];
    templating: { list: unknown[] };
  };
}

test('the dashboard is JSON with a recent schema and the DS_PROMETHEUS variable', async () => {
  const d = await load();
  assert.ok(d.schemaVersion >= 36 && d.schemaVersion <= 41, `schemaVersion ${d.schemaVersion}`);
  const ds = d.templating.list.find((v) => (v as { name?: string }).name === 'DS_PROMETHEUS') as
    { type?: string; query?: string } | undefined;
  assert.equal(ds?.type, 'datasource');
  assert.equal(ds.query, 'prometheus');
  const ids = allPanels(d.panels).map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids must be unique');
});

test('every query uses ${DS_PROMETHEUS} and only metrics the gateway exposes', async () => {
  const known = await exposed();
  const d = await load();
  let exprs = 0;
  for (const p of allPanels(d.panels)) {
    if (p.type === 'row') continue;
    assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', `panel ${p.title ?? ''}`);
    for (const t of p.targets ?? []) {
      assert.equal(t.datasource?.uid, '${DS_PROMETHEUS}', `target of ${p.title ?? ''}`);
      assert.ok(t.expr, `panel ${p.title ?? ''} has a target without expr`);
      exprs++;
      assert.deepEqual(unknownMetrics(t.expr, known), [], `panel "${p.title ?? ''}": ${t.expr}`);
    }
  }
  assert.ok(exprs >= 15);
});

test('the panels the docs promise are there', async () => {
  const d = await load();
  const all = allPanels(d.panels)
    .flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''))
    .join('\n');
  for (const m of [
    'ocm_proxy_proxied_requests_by_cluster_total',
    'ocm_proxy_proxied_resource_requests_by_resource_total',
    'ocm_proxy_proxied_request_duration_seconds_bucket',
    'cluster_gateway_konnectivity_tunnels_active',
    'cluster_gateway_konnectivity_tunnels_dialed_total',
    'cluster_gateway_konnectivity_tunnels_failed_total',
    'cluster_gateway_konnectivity_tunnels_dial_duration_seconds_bucket',
    'cluster_gateway_proxy_connections_opened_total',
    'cluster_gateway_proxy_connections_reused_total',
    'apiserver_request_total',
    'apiserver_request_duration_seconds_bucket',
    'cluster_gateway_clusters',
    'cluster_gateway_invalid_clusters',
  ]) {
    assert.ok(all.includes(m), `no panel queries ${m}`);
  }
});

test('the metric check rejects what does not exist', async () => {
  const known = await exposed();
  const cases: [string, string[]][] = [
    ['rate(ocm_proxy_proxied_requests_by_cluster_total[5m])', []],
    ['histogram_quantile(0.9, rate(ocm_proxy_proxied_request_duration_seconds_bucket[5m]))', []],
    ['rate(ocm_proxy_proxied_requests_total[5m])', ['ocm_proxy_proxied_requests_total']],
    ['rate(cluster_gateway_clusters_bucket[5m])', ['cluster_gateway_clusters_bucket']],
    ['sum by (code) (apiserver_request_total{resource="cluster_gateway_nope"})', []],
    ['process_cpu_seconds_total + nodejs_nope', ['nodejs_nope']],
  ];
  for (const [expr, want] of cases) assert.deepEqual(unknownMetrics(expr, known), want, expr);
});
