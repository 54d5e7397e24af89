// ClusterGatewayClient: one hub KubeConfig in, per-cluster client-node objects out. Caches the routed
// KubeConfig and API clients per cluster, because client-node keeps the TLS agent (and
// KubernetesObjectApi its discovery cache) per instance: rebuilding them per call would reconnect
// and re-discover every time. Cache entries are bounded by the number of clusters; `forget` drops them
// when a cluster goes away.

import {
  KubernetesObjectApi,
  type ApiConstructor,
  type ApiType,
  type ConfigurationOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import {
  getClusterGateway,
  getHealth,
  listClusterGateways,
  updateHealth,
  type ClusterGateway,
  type ClusterGatewayList,
  type ListOptions,
  type RequestOptions,
} from './clustergateways.ts';
import { gatewayKubeConfig } from './kubeconfig.ts';
import { makeRoutedApiClient, withCluster, type RoutingOptions } from './routing.ts';
import { validateClusterName, type GatewayPathOptions } from './paths.ts';

/** Anything built from a KubeConfig: Watch, Log, Exec, Attach, PortForward, Metrics, Cp, Health… */
export type KubeConfigConsumer<T> = new (kc: KubeConfig) => T;

export class ClusterGatewayClient {
  readonly hub: KubeConfig;
  readonly #opts: GatewayPathOptions;
  readonly #configs = new Map<string, KubeConfig>();
  readonly #apis = new Map<string, Map<unknown, unknown>>();
  readonly #routed = new Map<unknown, unknown>();

  constructor(hub: KubeConfig, opts: GatewayPathOptions = {}) {
    this.hub = hub;
    this.#opts = { ...opts };
    // fail at construction, not at first use, for a hub config that cannot be routed
    withCluster(hub, 'probe', this.#opts);
  }

  /** The KubeConfig whose server is `cluster`'s proxy path (cached). */
  forCluster(cluster: string): KubeConfig {
    validateClusterName(cluster);
    let kc = this.#configs.get(cluster);
    if (!kc) {
      kc = gatewayKubeConfig(this.hub, cluster, this.#opts);
      this.#configs.set(cluster, kc);
    }
    return kc;
  }

  /** A generated API client (or KubernetesObjectApi) for `cluster` (cached per class and cluster). */
  api<T extends ApiType>(apiClass: ApiConstructor<T>, cluster: string): T {
    const kc = this.forCluster(cluster);
    let perCluster = this.#apis.get(cluster);
    if (!perCluster) {
      perCluster = new Map();
      this.#apis.set(cluster, perCluster);
    }
    let api = perCluster.get(apiClass) as T | undefined;
    if (!api) {
      // KubernetesObjectApi's own factory also takes the context's namespace as the default
      api =
        (apiClass as unknown) === KubernetesObjectApi
          ? (KubernetesObjectApi.makeApiClient(kc) as unknown as T)
          : kc.makeApiClient(apiClass);
      perCluster.set(apiClass, api);
    }
    return api;
  }

  /** KubernetesObjectApi for `cluster` (generic create/read/patch/delete of any kind). */
  objects(cluster: string): KubernetesObjectApi {
    return this.api(KubernetesObjectApi, cluster);
  }

  /** Watch, Log, Exec, Attach, PortForward… for `cluster` (a new instance each call; they are cheap). */
  create<T>(ctor: KubeConfigConsumer<T>, cluster: string): T {
    return new ctor(this.forCluster(cluster));
  }

  /**
   * An API client that routes each call by the enclosing runInCluster (hub outside one, or
   * MissingClusterError when `strict`); one cached instance per class and strictness.
   */
  routedApi<T extends ApiType>(apiClass: ApiConstructor<T>, opts: Pick<RoutingOptions, 'strict'> = {}): T {
    const key = opts.strict ? 'strict' : 'fallback';
    let byClass = this.#routed.get(apiClass) as Map<string, T> | undefined;
    if (!byClass) {
      byClass = new Map();
      this.#routed.set(apiClass, byClass);
    }
    let api = byClass.get(key);
    if (!api) {
      api = makeRoutedApiClient(this.hub, apiClass, { ...this.#opts, strict: opts.strict === true });
      byClass.set(key, api);
    }
    return api;
  }

  /** Per-call options sending one call of a hub-made API client to `cluster`. */
  withCluster(cluster: string): ConfigurationOptions {
    return withCluster(this.hub, cluster, this.#opts);
  }

  /** Drop cached configs and clients for one cluster, or for all. */
  forget(cluster?: string): void {
    if (cluster === undefined) {
      this.#configs.clear();
      this.#apis.clear();
      return;
    }
    this.#configs.delete(cluster);
    this.#apis.delete(cluster);
  }

  list(opts: Omit<ListOptions, keyof GatewayPathOptions> = {}): Promise<ClusterGatewayList> {
    return listClusterGateways(this.hub, { ...opts, ...this.#opts });
  }

  get(name: string, opts: { signal?: AbortSignal } = {}): Promise<ClusterGateway> {
    return getClusterGateway(this.hub, name, { ...opts, ...this.#opts } satisfies RequestOptions);
  }

  getHealth(name: string, opts: { signal?: AbortSignal } = {}): Promise<ClusterGateway> {
    return getHealth(this.hub, name, { ...opts, ...this.#opts });
  }

  updateHealth(name: string, healthy: boolean, reason = '', opts: { signal?: AbortSignal } = {}) {
    return updateHealth(this.hub, name, healthy, reason, { ...opts, ...this.#opts });
  }
}
