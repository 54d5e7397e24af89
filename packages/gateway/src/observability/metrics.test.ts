// Metric names, types, labels, buckets and help texts must match upstream/kube exactly: dashboards
// and alerts are written against the exposition text, so that is what these tests read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from './metrics.ts';

function block(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) || l.startsWith(`# HELP ${name} `) || l.startsWith(`# TYPE ${name} `));
}

test('upstream ocm_proxy metrics: names, types, help, labels, buckets', async () => {
  const m = createMetrics({ processMetrics: false });
  m.recordProxiedRequest({ resource: 'pods', verb: 'get', cluster: 'c1', code: 200, durationSeconds: 0.015 });
  m.recordProxiedRequest({ resource: '', verb: 'get', cluster: 'c1', code: 502, durationSeconds: 0.001 });
  m.escalationAccessReviewDuration.observe({ success: 'true' }, 0.3);
  const text = await m.render();

  assert.ok(
    text.includes(
      '# HELP ocm_proxy_proxied_resource_requests_by_resource_total [ALPHA] Number of requests proxied requests\n',
    ),
  );
  assert.ok(text.includes('# TYPE ocm_proxy_proxied_resource_requests_by_resource_total counter\n'));
  assert.ok(
    text.includes('ocm_proxy_proxied_resource_requests_by_resource_total{resource="pods",verb="get",code="200"} 1\n'),
  );
  assert.ok(
    text.includes('ocm_proxy_proxied_resource_requests_by_resource_total{resource="",verb="get",code="502"} 1\n'),
  );

  assert.ok(
    text.includes('# HELP ocm_proxy_proxied_requests_by_cluster_total [ALPHA] Number of requests proxied requests\n'),
  );
  assert.ok(text.includes('# TYPE ocm_proxy_proxied_requests_by_cluster_total counter\n'));
  assert.ok(text.includes('ocm_proxy_proxied_requests_by_cluster_total{cluster="c1",code="200"} 1\n'));
  assert.ok(text.includes('ocm_proxy_proxied_requests_by_cluster_total{cluster="c1",code="502"} 1\n'));

  assert.ok(
    text.includes('# HELP ocm_proxy_proxied_request_duration_seconds [ALPHA] Cluster proxy request time cost\n'),
  );
  assert.ok(text.includes('# TYPE ocm_proxy_proxied_request_duration_seconds histogram\n'));
  const les = block(text, 'ocm_proxy_proxied_request_duration_seconds_bucket')
    .filter((l) => l.includes('code="200"'))
    .map((l) => /le="([^"]+)"/.exec(l)![1]);
  assert.deepEqual(les, ['0', '0.005', '0.02', '0.05', '0.1', '0.2', '0.5', '1', '2', '5', '10', '30', '+Inf']);
  assert.ok(
    text.includes(
      'ocm_proxy_proxied_request_duration_seconds_bucket{le="0.005",resource="pods",verb="get",cluster="c1",code="200"} 0\n',
    ),
  );
  assert.ok(
    text.includes(
      'ocm_proxy_proxied_request_duration_seconds_bucket{le="0.02",resource="pods",verb="get",cluster="c1",code="200"} 1\n',
    ),
  );
  assert.ok(
    text.includes(
      'ocm_proxy_proxied_request_duration_seconds_count{resource="pods",verb="get",cluster="c1",code="200"} 1\n',
    ),
  );

  assert.ok(
    text.includes(
      '# HELP ocm_proxy_cluster_escalation_access_review_duration_seconds [ALPHA] Cluster escalation access review time cost\n',
    ),
  );
  assert.ok(text.includes('# TYPE ocm_proxy_cluster_escalation_access_review_duration_seconds histogram\n'));
  assert.ok(
    text.includes('ocm_proxy_cluster_escalation_access_review_duration_seconds_bucket{le="0.5",success="true"} 1\n'),
  );
});

test('apiserver request metrics use kube names, labels and buckets', async () => {
  const m = createMetrics({ processMetrics: false });
  m.recordApiserverRequest({
    verb: 'LIST',
    group: 'cluster.core.oam.dev',
    version: 'v1alpha1',
    resource: 'clustergateways',
    subresource: '',
    scope: 'cluster',
    code: 200,
    durationSeconds: 0.01,
  });
  m.recordApiserverRequest({
    verb: 'WATCH',
    group: 'cluster.core.oam.dev',
    version: 'v1alpha1',
    resource: 'clustergateways',
    subresource: '',
    scope: 'cluster',
    code: 200,
  });
  const text = await m.render();
  assert.ok(
    text.includes(
      '# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.\n',
    ),
  );
  assert.ok(text.includes('# TYPE apiserver_request_total counter\n'));
  assert.ok(
    text.includes(
      'apiserver_request_total{verb="LIST",dry_run="",group="cluster.core.oam.dev",version="v1alpha1",resource="clustergateways",subresource="",scope="cluster",component="apiserver",code="200"} 1\n',
    ),
  );
  assert.ok(text.includes('# TYPE apiserver_request_duration_seconds histogram\n'));
  const les = block(text, 'apiserver_request_duration_seconds_bucket').map((l) => /le="([^"]+)"/.exec(l)![1]);
  assert.deepEqual(les, [
    '0.005',
    '0.025',
    '0.05',
    '0.1',
    '0.2',
    '0.4',
    '0.6',
    '0.8',
    '1',
    '1.25',
    '1.5',
    '2',
    '3',
    '4',
    '5',
    '6',
    '8',
    '10',
    '15',
    '20',
    '30',
    '45',
    '60',
    '+Inf',
  ]);
  // The watch was counted but not observed.
  assert.ok(text.includes('verb="WATCH"'));
  assert.ok(!/apiserver_request_duration_seconds_count\{verb="WATCH"/.test(text));
});

test('cluster_gateway cache and tunnel metrics', async () => {
  const m = createMetrics({ processMetrics: false });
  m.clusters.set(3);
  m.invalidClusters.set(1);
  m.cacheWatchRestarts.inc({ resource: 'secrets' });
  m.tunnelsDialed.inc();
  m.tunnelsActive.inc();
  m.tunnelsFailed.inc({ reason: 'dial_timeout' });
  m.tunnelDialDuration.observe(0.02);
  const text = await m.render();
  for (const [name, type] of [
    ['cluster_gateway_clusters', 'gauge'],
    ['cluster_gateway_invalid_clusters', 'gauge'],
    ['cluster_gateway_cache_watch_restarts_total', 'counter'],
    ['cluster_gateway_konnectivity_tunnels_dialed_total', 'counter'],
    ['cluster_gateway_konnectivity_tunnels_active', 'gauge'],
    ['cluster_gateway_konnectivity_tunnels_failed_total', 'counter'],
    ['cluster_gateway_konnectivity_tunnels_dial_duration_seconds', 'histogram'],
  ] as const) {
    assert.ok(text.includes(`# TYPE ${name} ${type}\n`), name);
    assert.match(text, new RegExp(`# HELP ${name} \\[ALPHA\\] `), name);
  }
  assert.ok(text.includes('cluster_gateway_clusters 3\n'));
  assert.ok(text.includes('cluster_gateway_cache_watch_restarts_total{resource="secrets"} 1\n'));
  assert.ok(text.includes('cluster_gateway_konnectivity_tunnels_failed_total{reason="dial_timeout"} 1\n'));
});

test('registries are private; process metrics are included by default', async () => {
  const a = createMetrics();
  const b = createMetrics({ processMetrics: false });
  a.tunnelsDialed.inc();
  assert.match(await b.render(), /cluster_gateway_konnectivity_tunnels_dialed_total 0\n/);
  const text = await a.render();
  assert.match(text, /cluster_gateway_konnectivity_tunnels_dialed_total 1\n/);
  assert.match(text, /# TYPE process_cpu_seconds_total counter/);
  assert.match(text, /process_start_time_seconds \d+/);
  assert.match(a.contentType, /^text\/plain/);
});

test('bad input: unknown labels are rejected, negative durations clamp', async () => {
  const m = createMetrics({ processMetrics: false });
  assert.throws(() => {
    m.proxiedRequestsByCluster.inc({ cluster: 'c', code: '200', bogus: 'x' } as never);
  });
  m.recordProxiedRequest({ resource: 'pods', verb: 'get', cluster: 'c', code: 200, durationSeconds: -1 });
  assert.ok(
    (await m.render()).includes(
      'ocm_proxy_proxied_request_duration_seconds_bucket{le="0",resource="pods",verb="get",cluster="c",code="200"} 1\n',
    ),
  );
});
