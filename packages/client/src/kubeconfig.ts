// The kubeconfig trick (upstream §10.3) as a function: a copy of the hub KubeConfig whose current
// context points at one cluster's proxy path on the hub. Every client-node helper derives its URLs
// from `cluster.server` (makeApiClient through ServerConfiguration, Watch/Log/Metrics by string
// concatenation, Exec/Attach/PortForward by swapping the scheme to ws(s)), so changing that one
// field routes all of them; credentials stay the hub's, the gateway injects the member's.

import { KubeConfig, type Cluster, type Context } from '@kubernetes/client-node';
import { gatewayServerURL, validateClusterName, type GatewayPathOptions } from './paths.ts';

export interface GatewayKubeConfigOptions extends GatewayPathOptions {
  /** name of the new context (and of its cluster entry); default `<hub context>@<cluster>` */
  contextName?: string;
}

/** The hub's current context and cluster, or a clear error naming what is missing. */
export function hubCurrent(hub: KubeConfig): { context: Context; cluster: Cluster } {
  const name = hub.getCurrentContext();
  const context = name ? hub.getContextObject(name) : null;
  if (!context) throw new Error(`hub kubeconfig has no current context${name ? ` (${JSON.stringify(name)})` : ''}`);
  const cluster = hub.getCluster(context.cluster);
  if (!cluster) throw new Error(`hub kubeconfig context ${JSON.stringify(name)} names an unknown cluster`);
  return { context, cluster };
}

/**
 * A new KubeConfig for `cluster` through the gateway; the hub config is not modified. All hub
 * entries are kept (switching the context back to the hub works); user entries are shared, not
 * copied, so token refreshes by auth providers are seen by both.
 */
export function gatewayKubeConfig(hub: KubeConfig, cluster: string, opts: GatewayKubeConfigOptions = {}): KubeConfig {
  validateClusterName(cluster);
  const { context, cluster: hubCluster } = hubCurrent(hub);
  const server = gatewayServerURL(hubCluster.server, cluster, opts);
  const name = opts.contextName ?? `${context.name}@${cluster}`;
  if (name === '') throw new Error('contextName must not be empty');

  const routed: Cluster = { ...hubCluster, name, server };
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [...hub.getClusters().filter((c) => c.name !== name), routed],
    users: [...hub.getUsers()],
    contexts: [
      ...hub.getContexts().filter((c) => c.name !== name),
      { ...context, name, cluster: name } satisfies Context,
    ],
    currentContext: name,
  });
  // custom authenticators registered on the hub config must keep working for the shared users
  const custom = (hub as unknown as { custom_authenticators?: unknown[] }).custom_authenticators;
  if (Array.isArray(custom))
    for (const a of custom) kc.addAuthenticator(a as Parameters<KubeConfig['addAuthenticator']>[0]);
  return kc;
}
