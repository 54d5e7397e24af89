// Typed access to the gateway's own API on the hub: list/get ClusterGateways and the `health`
// subresource (upstream's clientset expansion GetHealthiness/UpdateHealthiness, §3.3, §10.2). The
// JSON model is declared here rather than imported from the gateway, so the SDK depends on the wire
// format only. Requests reuse the hub KubeConfig's authentication and TLS dispatcher; failures are
// client-node ApiExceptions carrying the server's Status, like every generated API client.

import { fetch } from 'undici';
import { ApiException, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { hubCurrent } from './kubeconfig.ts';
import {
  clusterGatewayPath,
  clusterGatewaysPath,
  DEFAULT_GROUP,
  DEFAULT_VERSION,
  normalizeServer,
  type GatewayPathOptions,
} from './paths.ts';
import { USER_AGENT } from './routing.ts';

export type EndpointType = 'Const' | 'ClusterProxy' | (string & {});
export type CredentialType = 'ServiceAccountToken' | 'X509Certificate' | 'Dynamic' | (string & {});

/** `cluster.core.oam.dev/v1alpha1` ClusterGateway as served (upstream §1.2). */
export interface ClusterGateway {
  apiVersion: string;
  kind: 'ClusterGateway';
  metadata: {
    name: string;
    creationTimestamp?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    provider: string;
    access: {
      endpoint: {
        type: EndpointType;
        const?: {
          address: string;
          /** base64 */
          caBundle?: string;
          insecure?: boolean;
          'proxy-url'?: string;
        };
      };
      credential?: {
        type: CredentialType;
        serviceAccountToken?: string;
        /** base64 fields; the gateway may redact them */
        x509?: { certificate: string; privateKey?: string };
      };
    };
  };
  status: ClusterGatewayStatus;
}

export interface ClusterGatewayStatus {
  healthy: boolean;
  healthyReason?: string;
  conditions?: {
    type: string;
    status: 'True' | 'False' | 'Unknown';
    reason: string;
    message: string;
    lastTransitionTime?: string;
  }[];
}

export interface ClusterGatewayList {
  apiVersion: string;
  kind: 'ClusterGatewayList';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: ClusterGateway[];
}

/** Upstream's health reason constants (the prober may also write free text). */
export const HealthReason = {
  NotRegistered: 'ClusterGatewayNotRegistered',
  CertificateMismatch: 'CertificateMismatch',
  ConnectionTimeout: 'ConnectionTimeout',
} as const;

export interface RequestOptions extends GatewayPathOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends RequestOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

interface KubeStatus {
  kind?: string;
  message?: string;
  code?: number;
}

/** One JSON request to the hub with the hub's credentials; non-2xx becomes an ApiException. */
export async function hubRequest<T>(
  hub: KubeConfig,
  method: 'GET' | 'PUT' | 'PATCH',
  path: string,
  opts: { body?: unknown; contentType?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const url = normalizeServer(hubCurrent(hub).cluster.server) + path;
  const ctx = new RequestContext(url, method);
  await hub.applySecurityAuthentication(ctx);
  const headers: Record<string, string> = { ...ctx.getHeaders(), Accept: 'application/json', 'User-Agent': USER_AGENT };
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = opts.contentType ?? 'application/json';
  }
  const res = await fetch(url, {
    method,
    headers,
    body,
    dispatcher: ctx.getDispatcher(),
    signal: opts.signal,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON (a proxy in between, an HTML error page): keep the text for the exception
  }
  const responseHeaders: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    responseHeaders[k] = v;
  });
  if (res.status < 200 || res.status > 299) {
    const status = parsed as KubeStatus | undefined;
    const message =
      status && typeof status === 'object' && typeof status.message === 'string'
        ? status.message
        : `HTTP ${res.status} from ${method} ${path}`;
    throw new ApiException(res.status, message, parsed, responseHeaders);
  }
  return parsed as T;
}

/** LIST `clustergateways` (selectors and pagination are honoured by this gateway, ignored by upstream's). */
export async function listClusterGateways(hub: KubeConfig, opts: ListOptions = {}): Promise<ClusterGatewayList> {
  const q = new URLSearchParams();
  if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
  if (opts.fieldSelector) q.set('fieldSelector', opts.fieldSelector);
  if (opts.limit !== undefined) q.set('limit', String(opts.limit));
  if (opts.continue) q.set('continue', opts.continue);
  const qs = q.toString();
  return hubRequest<ClusterGatewayList>(hub, 'GET', clusterGatewaysPath(opts) + (qs ? `?${qs}` : ''), opts);
}

/** GET one ClusterGateway. */
export async function getClusterGateway(hub: KubeConfig, name: string, opts: RequestOptions = {}) {
  return hubRequest<ClusterGateway>(hub, 'GET', clusterGatewayPath(name, undefined, opts), opts);
}

/** GET `…/health`: the full ClusterGateway, health in `.status` (upstream GetHealthiness). */
export async function getHealth(hub: KubeConfig, name: string, opts: RequestOptions = {}): Promise<ClusterGateway> {
  return hubRequest<ClusterGateway>(hub, 'GET', clusterGatewayPath(name, 'health', opts), opts);
}

/**
 * PUT `…/health` with the new status (upstream UpdateHealthiness); the gateway stores it in the
 * cluster Secret's annotations and answers with the updated ClusterGateway.
 */
export async function updateHealth(
  hub: KubeConfig,
  name: string,
  healthy: boolean,
  reason = '',
  opts: RequestOptions = {},
): Promise<ClusterGateway> {
  if (typeof healthy !== 'boolean') throw new TypeError('healthy must be a boolean');
  const body = {
    apiVersion: `${opts.group ?? DEFAULT_GROUP}/${opts.version ?? DEFAULT_VERSION}`,
    kind: 'ClusterGateway',
    metadata: { name },
    status: { healthy, healthyReason: reason },
  };
  return hubRequest<ClusterGateway>(hub, 'PUT', clusterGatewayPath(name, 'health', opts), { ...opts, body });
}
