// Prometheus metrics on a private prom-client Registry (never the global one, so several gateways
// can live in one test process). Names, types, labels, buckets and help texts of the upstream
// `ocm_proxy_*` metrics and of kube's `apiserver_request_*` are kept exactly, help prefixed with
// the component-base stability marker (`[ALPHA] `, `[STABLE] `), so existing dashboards and alerts
// keep working. `cluster_gateway_*` metrics are ours (cache and Konnectivity tunnels).
// Unlike upstream, `code` is the status the client really got (502/503/504 for backend failures).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Upstream `requestDurationSecondsBuckets`, shared by both ocm_proxy histograms. */
export const OCM_PROXY_DURATION_BUCKETS: readonly number[] = [0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30];
/** k8s.io/apiserver `apiserver_request_duration_seconds` buckets. */
export const APISERVER_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];
export const TUNNEL_DIAL_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const ALPHA = '[ALPHA] ';
const STABLE = '[STABLE] ';

type ApiserverLabels = 'verb' | 'dry_run' | 'group' | 'version' | 'resource' | 'subresource' | 'scope' | 'component';

export interface ProxiedRequest {
  /** Inner resource parsed from the proxied path (`pods`), `''` for non-resource paths. */
  readonly resource: string;
  /** Outer verb: get/create/update/patch/delete. */
  readonly verb: string;
  readonly cluster: string;
  readonly code: number;
  readonly durationSeconds: number;
}

export interface ApiserverRequest {
  /** kube's reported verb, upper case: GET, LIST, WATCH, CREATE, UPDATE, PATCH, DELETE, CONNECT… */
  readonly verb: string;
  readonly dryRun?: string;
  readonly group: string;
  readonly version: string;
  readonly resource: string;
  readonly subresource: string;
  /** `resource`, `namespace` or `cluster` (kube's CleanScope); `''` for non-resource requests. */
  readonly scope: string;
  readonly component?: string;
  readonly code: number;
  /** Omit for long-running requests that should not be observed. */
  readonly durationSeconds?: number;
}

export interface Metrics {
  readonly registry: Registry;
  // upstream (§8.1)
  readonly proxiedRequestsByResource: Counter<'resource' | 'verb' | 'code'>;
  readonly proxiedRequestsByCluster: Counter<'cluster' | 'code'>;
  readonly proxiedRequestDuration: Histogram<'resource' | 'verb' | 'cluster' | 'code'>;
  readonly escalationAccessReviewDuration: Histogram<'success'>;
  // generic apiserver
  readonly apiserverRequests: Counter<ApiserverLabels | 'code'>;
  readonly apiserverRequestDuration: Histogram<ApiserverLabels>;
  // cache
  readonly clusters: Gauge;
  readonly invalidClusters: Gauge;
  readonly cacheWatchRestarts: Counter<'resource'>;
  // Konnectivity tunnels
  readonly tunnelsDialed: Counter;
  readonly tunnelsActive: Gauge;
  readonly tunnelsFailed: Counter<'reason'>;
  readonly tunnelDialDuration: Histogram;
  // member connections of the proxy
  readonly proxyConnectionsOpened: Counter<'cluster'>;
  readonly proxyConnectionsReused: Counter<'cluster'>;
  readonly proxyPools: Gauge;
  readonly proxyUpgradesActive: Gauge;
  /** Records one proxied request in the three upstream metrics at once. */
  recordProxiedRequest(r: ProxiedRequest): void;
  recordApiserverRequest(r: ApiserverRequest): void;
  /** The exposition for `/metrics`. */
  render(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions {
  /** process_* and nodejs_* metrics (default true). */
  readonly processMetrics?: boolean;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const proxiedRequestsByResource = new Counter({
    name: 'ocm_proxy_proxied_resource_requests_by_resource_total',
    help: `${ALPHA}Number of requests proxied requests`,
    labelNames: ['resource', 'verb', 'code'] as const,
    registers,
  });
  const proxiedRequestsByCluster = new Counter({
    name: 'ocm_proxy_proxied_requests_by_cluster_total',
    help: `${ALPHA}Number of requests proxied requests`,
    labelNames: ['cluster', 'code'] as const,
    registers,
  });
  const proxiedRequestDuration = new Histogram({
    name: 'ocm_proxy_proxied_request_duration_seconds',
    help: `${ALPHA}Cluster proxy request time cost`,
    labelNames: ['resource', 'verb', 'cluster', 'code'] as const,
    buckets: [...OCM_PROXY_DURATION_BUCKETS],
    registers,
  });
  const escalationAccessReviewDuration = new Histogram({
    name: 'ocm_proxy_cluster_escalation_access_review_duration_seconds',
    help: `${ALPHA}Cluster escalation access review time cost`,
    labelNames: ['success'] as const,
    buckets: [...OCM_PROXY_DURATION_BUCKETS],
    registers,
  });

  const apiserverLabels = [
    'verb',
    'dry_run',
    'group',
    'version',
    'resource',
    'subresource',
    'scope',
    'component',
  ] as const;
  const apiserverRequests = new Counter({
    name: 'apiserver_request_total',
    help: `${STABLE}Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.`,
    labelNames: [...apiserverLabels, 'code'] as const,
    registers,
  });
  const apiserverRequestDuration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: `${STABLE}Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.`,
    labelNames: apiserverLabels,
    buckets: [...APISERVER_DURATION_BUCKETS],
    registers,
  });

  const clusters = new Gauge({
    name: 'cluster_gateway_clusters',
    help: `${ALPHA}Number of ClusterGateways currently served from the cache`,
    registers,
  });
  const invalidClusters = new Gauge({
    name: 'cluster_gateway_invalid_clusters',
    help: `${ALPHA}Number of cluster Secrets in the secret namespace that cannot be converted to a ClusterGateway`,
    registers,
  });
  const cacheWatchRestarts = new Counter({
    name: 'cluster_gateway_cache_watch_restarts_total',
    help: `${ALPHA}Number of times a cache watch was restarted (expired resource version, broken stream)`,
    labelNames: ['resource'] as const,
    registers,
  });
  const tunnelsDialed = new Counter({
    name: 'cluster_gateway_konnectivity_tunnels_dialed_total',
    help: `${ALPHA}Number of Konnectivity tunnels successfully dialed`,
    registers,
  });
  const tunnelsActive = new Gauge({
    name: 'cluster_gateway_konnectivity_tunnels_active',
    help: `${ALPHA}Number of open Konnectivity tunnels`,
    registers,
  });
  const tunnelsFailed = new Counter({
    name: 'cluster_gateway_konnectivity_tunnels_failed_total',
    help: `${ALPHA}Number of Konnectivity tunnel dials that failed, by reason`,
    labelNames: ['reason'] as const,
    registers,
  });
  const tunnelDialDuration = new Histogram({
    name: 'cluster_gateway_konnectivity_tunnels_dial_duration_seconds',
    help: `${ALPHA}Time to open a Konnectivity tunnel (proxy-server connection and DIAL_RSP)`,
    buckets: [...TUNNEL_DIAL_BUCKETS],
    registers,
  });

  const proxyConnectionsOpened = new Counter({
    name: 'cluster_gateway_proxy_connections_opened_total',
    help: `${ALPHA}Number of connections (TCP + TLS) the proxy opened to member clusters, upgrades included`,
    labelNames: ['cluster'] as const,
    registers,
  });
  const proxyConnectionsReused = new Counter({
    name: 'cluster_gateway_proxy_connections_reused_total',
    help: `${ALPHA}Number of proxied requests sent on an already-used keep-alive connection`,
    labelNames: ['cluster'] as const,
    registers,
  });
  const proxyPools = new Gauge({
    name: 'cluster_gateway_proxy_pools',
    help: `${ALPHA}Number of keep-alive connection pools to member clusters (one per cluster and credential)`,
    registers,
  });
  const proxyUpgradesActive = new Gauge({
    name: 'cluster_gateway_proxy_upgrades_active',
    help: `${ALPHA}Number of open upgraded proxy connections (exec, attach, port-forward)`,
    registers,
  });

  return {
    registry,
    proxiedRequestsByResource,
    proxiedRequestsByCluster,
    proxiedRequestDuration,
    escalationAccessReviewDuration,
    apiserverRequests,
    apiserverRequestDuration,
    clusters,
    invalidClusters,
    cacheWatchRestarts,
    tunnelsDialed,
    tunnelsActive,
    tunnelsFailed,
    tunnelDialDuration,
    proxyConnectionsOpened,
    proxyConnectionsReused,
    proxyPools,
    proxyUpgradesActive,
    recordProxiedRequest(r) {
      const code = String(r.code);
      proxiedRequestsByResource.inc({ resource: r.resource, verb: r.verb, code });
      proxiedRequestsByCluster.inc({ cluster: r.cluster, code });
      proxiedRequestDuration.observe(
        { resource: r.resource, verb: r.verb, cluster: r.cluster, code },
        Math.max(0, r.durationSeconds),
      );
    },
    recordApiserverRequest(r) {
      const labels = {
        verb: r.verb,
        dry_run: r.dryRun ?? '',
        group: r.group,
        version: r.version,
        resource: r.resource,
        subresource: r.subresource,
        scope: r.scope,
        component: r.component ?? 'apiserver',
      };
      apiserverRequests.inc({ ...labels, code: String(r.code) });
      if (r.durationSeconds !== undefined) apiserverRequestDuration.observe(labels, Math.max(0, r.durationSeconds));
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
