// The read model of the gateway: what a managed cluster is (endpoint, credential, health, identity
// rules), as converted from a hub Secret (+ OCM ManagedCluster), and the ClusterGateway API object
// built from it. Credentials live only in `Cluster`; API objects are redacted unless configured.

export const API_VERSION = 'cluster.core.oam.dev/v1alpha1';

export const LABEL_CREDENTIAL_TYPE = 'cluster.core.oam.dev/cluster-credential-type';
export const LABEL_ENDPOINT_TYPE = 'cluster.core.oam.dev/cluster-endpoint-type';
export const ANNOTATION_HEALTHY = 'status.cluster.core.oam.dev/healthy';
export const ANNOTATION_HEALTHY_REASON = 'status.cluster.core.oam.dev/healthy-reason';
export const ANNOTATION_PROXY_CONFIG = 'cluster.core.oam.dev/cluster-gateway-proxy-configuration';
export const ANNOTATION_ALIAS = 'cluster.core.oam.dev/cluster-alias';
/** set on ClusterGateway reads whose credential was redacted (`--expose-credentials=false`) */
export const ANNOTATION_CREDENTIALS_REDACTED = 'cluster.core.oam.dev/credentials-redacted';

export type CredentialType = 'ServiceAccountToken' | 'X509Certificate' | 'Dynamic';
export type EndpointType = 'Const' | 'ClusterProxy';

/** kubeconfig ExecConfig as stored in the Secret's `exec` key (Dynamic credentials) */
export interface ExecConfig {
  apiVersion: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
  interactiveMode?: string;
  provideClusterInfo?: boolean;
}

export type Credential =
  | { type: 'ServiceAccountToken'; token: string }
  | { type: 'X509Certificate'; certificate: Buffer; privateKey: Buffer }
  | { type: 'Dynamic'; exec: ExecConfig };

export interface Endpoint {
  /** `Const`, `ClusterProxy`, or an unknown label value kept verbatim (proxying then fails clearly) */
  type: string;
  /** https URL (may carry a sub-path); for ClusterProxy `https://{cluster}` */
  address: string;
  caBundle: Buffer | undefined;
  /** true only when no CA is known (compatibility default); the status and proxied responses warn */
  insecure: boolean;
  proxyURL: string | undefined;
}

/** One identity-exchange rule (upstream §5) */
export interface ExchangeRule {
  name: string;
  type: string;
  source?: {
    user?: string;
    group?: string;
    uid?: string;
    cluster?: string;
    userPattern?: string;
    groupPattern?: string;
    clusterPattern?: string;
  };
  target?: { user?: string; groups?: string[]; uid?: string };
  url?: string;
}

/** A managed cluster as the gateway knows it. */
export interface Cluster {
  name: string;
  /** uid of the source Secret, used as the ClusterGateway uid */
  uid: string;
  creationTimestamp: string;
  /** hub resourceVersion of the last change to this cluster (Secret or ManagedCluster) */
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  endpoint: Endpoint;
  credential: Credential | undefined;
  healthy: boolean;
  healthyReason: string | undefined;
  /** per-cluster exchange rules from the proxy-configuration annotation */
  exchangeRules: ExchangeRule[];
  /** problems that do not prevent serving (e.g. no CA, unparsable proxy config) */
  warnings: string[];
  /** where it came from */
  source: { secretResourceVersion: string; managedClusterResourceVersion?: string };
}

/** A Secret that carries the credential-type label but cannot be converted. */
export interface InvalidCluster {
  name: string;
  reason: string;
  secretResourceVersion: string;
}

export interface ClusterGateway {
  apiVersion: typeof API_VERSION;
  kind: 'ClusterGateway';
  metadata: {
    name: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    provider: string;
    access: {
      endpoint: {
        type: string;
        const?: { address: string; caBundle?: string; insecure?: boolean; 'proxy-url'?: string };
      };
      credential?: {
        type: string;
        serviceAccountToken?: string;
        /** privateKey is omitted when credentials are redacted */
        x509?: { certificate: string; privateKey?: string };
      };
    };
  };
  status: {
    healthy: boolean;
    healthyReason?: string;
    conditions?: {
      type: string;
      status: 'True' | 'False' | 'Unknown';
      reason: string;
      message: string;
      lastTransitionTime?: string;
    }[];
  };
}
