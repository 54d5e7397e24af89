// Per-request cluster routing, the TypeScript counterparts of upstream's `multicluster` transport
// package (§10.1). Two shapes, because client-node offers two hooks:
//  - `withCluster(hub, name)`: per-call ConfigurationOptions that swap the base server, for any
//    generated API client made from the hub config (`api.listNamespace({}, withCluster(hub, 'c1'))`);
//  - `runInCluster(name, fn)` + a routed API client: an AsyncLocalStorage "request context" read by a
//    middleware that rewrites the URL, as NewClusterGatewayRoundTripper reads the Go context. Without
//    a cluster in context requests go to the hub (discovery keeps working), or fail in strict mode.
// Watch/Log/Exec/Attach/PortForward do not go through middleware; they need gatewayKubeConfig.

import { AsyncLocalStorage } from 'node:async_hooks';
import {
  createConfiguration,
  ServerConfiguration,
  setHeaderMiddleware,
  type ApiConstructor,
  type ApiType,
  type ConfigurationOptions,
  type KubeConfig,
  type Middleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { hubCurrent } from './kubeconfig.ts';
import { gatewayServerURL, normalizeServer, routeURL, validateClusterName, type GatewayPathOptions } from './paths.ts';

export const USER_AGENT = 'cluster-gateway-client/0.1.0';

const clusterContext = new AsyncLocalStorage<string>();

/** Run `fn` with `cluster` as the routing target of every routed API call started inside it. */
export function runInCluster<T>(cluster: string, fn: () => T): T {
  validateClusterName(cluster);
  return clusterContext.run(cluster, fn);
}

/** The cluster set by the innermost enclosing runInCluster, if any. */
export function currentCluster(): string | undefined {
  return clusterContext.getStore();
}

/** Per-call options for a generated API client made from the hub config: send this call to `cluster`. */
export function withCluster(hub: KubeConfig, cluster: string, opts: GatewayPathOptions = {}): ConfigurationOptions {
  const server = gatewayServerURL(hubCurrent(hub).cluster.server, cluster, opts);
  return { baseServer: new ServerConfiguration<Record<string, string>>(server, {}) };
}

export interface RoutingOptions extends GatewayPathOptions {
  /** refuse requests made outside runInCluster (upstream's NewStrictClusterGatewayRoundTripper) */
  strict?: boolean;
}

/** Thrown by a strict routed client called outside runInCluster (upstream's wording). */
export class MissingClusterError extends Error {
  override readonly name = 'MissingClusterError';
  constructor() {
    super('missing cluster name in the request context');
  }
}

/** Middleware that rewrites hub URLs onto the proxy of the cluster in the current runInCluster context. */
export function clusterRoutingMiddleware(hubServer: string, opts: RoutingOptions = {}): Middleware {
  const base = normalizeServer(hubServer);
  return {
    pre(ctx: RequestContext): Promise<RequestContext> {
      const cluster = clusterContext.getStore();
      if (cluster !== undefined) ctx.setUrl(routeURL(ctx.getUrl(), base, cluster, opts));
      else if (opts.strict) return Promise.reject(new MissingClusterError());
      return Promise.resolve(ctx);
    },
    post(res: ResponseContext): Promise<ResponseContext> {
      return Promise.resolve(res);
    },
  };
}

/**
 * A generated API client (CoreV1Api, AppsV1Api…) authenticated as the hub user whose requests go to
 * the cluster of the enclosing runInCluster, or to the hub outside one (unless `strict`).
 */
export function makeRoutedApiClient<T extends ApiType>(
  hub: KubeConfig,
  apiClass: ApiConstructor<T>,
  opts: RoutingOptions = {},
): T {
  const base = normalizeServer(hubCurrent(hub).cluster.server);
  const config = createConfiguration({
    baseServer: new ServerConfiguration<Record<string, string>>(base, {}),
    authMethods: { default: hub },
    middleware: [setHeaderMiddleware('User-Agent', USER_AGENT)],
    promiseMiddleware: [clusterRoutingMiddleware(base, opts)],
  });
  return new apiClass(config);
}
