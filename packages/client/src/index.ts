// @cluster-gateway/client: route @kubernetes/client-node traffic to managed clusters through
// cluster-gateway's `clustergateways/{name}/proxy` subresource on the hub, and read or update
// ClusterGateways and their health.

export {
  DEFAULT_GROUP,
  DEFAULT_VERSION,
  InvalidNameError,
  InvalidServerError,
  clusterGatewayPath,
  clusterGatewaysPath,
  gatewayServerURL,
  normalizeServer,
  proxyPath,
  routeURL,
  validateClusterName,
  type GatewayPathOptions,
} from './paths.ts';
export { gatewayKubeConfig, type GatewayKubeConfigOptions } from './kubeconfig.ts';
export {
  MissingClusterError,
  clusterRoutingMiddleware,
  currentCluster,
  makeRoutedApiClient,
  runInCluster,
  withCluster,
  type RoutingOptions,
} from './routing.ts';
export {
  HealthReason,
  getClusterGateway,
  getHealth,
  listClusterGateways,
  updateHealth,
  type ClusterGateway,
  type ClusterGatewayList,
  type ClusterGatewayStatus,
  type CredentialType,
  type EndpointType,
  type ListOptions,
  type RequestOptions,
} from './clustergateways.ts';
export { ClusterGatewayClient, type KubeConfigConsumer } from './client.ts';
export { watchClusterGateways, type ClusterGatewayEventType, type WatchClusterGatewaysOptions } from './watch.ts';
