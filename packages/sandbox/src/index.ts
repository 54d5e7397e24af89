// Public surface of the sandbox package: start clusters, reach their internals for tests.
export { startSandbox, validateClusterNames, writeFileAtomic, type Sandbox, type SandboxOptions } from './host.ts';
export { SandboxCluster, type ClusterOptions, type RequestInterceptor, type RequestContext } from './server/cluster.ts';
export { createCA, type CertificateAuthority, type KeyPair } from './pki/pki.ts';
export { ApiError, errors, type Status } from './errors/status.ts';
export type { KubeObject, UserInfo, ResourceInfo } from './api/types.ts';
export {
  startKonnectivityServer,
  tcpAgent,
  type AgentDial,
  type KonnectivityServer,
  type KonnectivityServerOptions,
} from './konnectivity/index.ts';
