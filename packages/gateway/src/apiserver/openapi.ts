// OpenAPI v2 and v3 documents of the gateway's API (title "Cluster Gateway", as upstream), with the
// ClusterGateway schema and the meta types it references, enough for `kubectl explain
// clustergateway.spec.access` through the hub (kube-aggregator merges these documents). The
// documents are static, so they are built and hashed once.

import { createHash } from 'node:crypto';
import { GROUP } from './errors.ts';
import { GROUP_VERSION, VERSION } from './discovery.ts';

const P = 'com.github.oam-dev.cluster-gateway.pkg.apis.cluster.v1alpha1';
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';

type Schema = Record<string, unknown>;

function ref(name: string, v3: boolean): Schema {
  return { $ref: v3 ? `#/components/schemas/${name}` : `#/definitions/${name}` };
}

function withDescription(r: Schema, description: string, v3: boolean): Schema {
  // v3 cannot put siblings next to $ref; kube wraps it in allOf
  return v3 ? { description, allOf: [r] } : { description, ...r };
}

function definitions(v3: boolean): Record<string, Schema> {
  const r = (n: string): Schema => ref(n, v3);
  const gvk = (kind: string): Schema => ({
    'x-kubernetes-group-version-kind': [{ group: GROUP, version: VERSION, kind }],
  });
  return {
    [`${P}.ClusterGateway`]: {
      description:
        'ClusterGateway is a virtual, read-only view of a managed cluster built from a Secret in the hub (optionally merged with an OCM ManagedCluster). Its proxy subresource forwards Kubernetes API requests to the cluster.',
      type: 'object',
      required: ['spec'],
      properties: {
        apiVersion: {
          description: 'APIVersion defines the versioned schema of this representation of an object.',
          type: 'string',
        },
        kind: {
          description: 'Kind is a string value representing the REST resource this object represents.',
          type: 'string',
        },
        metadata: withDescription(
          r(`${META}.ObjectMeta`),
          "Standard object's metadata, copied from the cluster's Secret.",
          v3,
        ),
        spec: withDescription(r(`${P}.ClusterGatewaySpec`), 'How the cluster is reached.', v3),
        status: withDescription(r(`${P}.ClusterGatewayStatus`), 'Health of the cluster.', v3),
      },
      ...gvk('ClusterGateway'),
    },
    [`${P}.ClusterGatewayList`]: {
      description: 'ClusterGatewayList is a list of ClusterGateways.',
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: r(`${META}.ListMeta`),
        items: {
          type: 'array',
          items: v3 ? { default: {}, allOf: [r(`${P}.ClusterGateway`)] } : r(`${P}.ClusterGateway`),
        },
      },
      ...gvk('ClusterGatewayList'),
    },
    [`${P}.ClusterGatewaySpec`]: {
      description: 'ClusterGatewaySpec describes how the gateway reaches a managed cluster.',
      type: 'object',
      required: ['provider', 'access'],
      properties: {
        provider: {
          description: 'Provider of the cluster (always empty when converted from a Secret).',
          type: 'string',
        },
        access: withDescription(r(`${P}.ClusterAccess`), 'Endpoint and credential used to reach the cluster.', v3),
      },
    },
    [`${P}.ClusterAccess`]: {
      description: 'ClusterAccess is the endpoint and credential of a managed cluster.',
      type: 'object',
      required: ['endpoint'],
      properties: {
        endpoint: withDescription(
          r(`${P}.ClusterEndpoint`),
          'Endpoint of the cluster: a constant address, or a Konnectivity (ClusterProxy) tunnel.',
          v3,
        ),
        credential: withDescription(
          r(`${P}.ClusterAccessCredential`),
          'Credential the gateway uses towards the cluster (redacted unless --expose-credentials=true).',
          v3,
        ),
      },
    },
    [`${P}.ClusterEndpoint`]: {
      description: 'ClusterEndpoint is how the cluster is reached.',
      type: 'object',
      required: ['type'],
      properties: {
        type: {
          description: 'Type of the endpoint: Const (a fixed URL) or ClusterProxy (through the Konnectivity tunnel).',
          type: 'string',
        },
        const: withDescription(r(`${P}.ClusterEndpointConst`), 'The constant endpoint (type Const).', v3),
      },
    },
    [`${P}.ClusterEndpointConst`]: {
      description: 'ClusterEndpointConst is a fixed cluster address.',
      type: 'object',
      required: ['address'],
      properties: {
        address: { description: 'HTTPS URL of the cluster API server, possibly with a sub-path.', type: 'string' },
        caBundle: {
          description: 'PEM CA bundle verifying the cluster (base64 in JSON).',
          type: 'string',
          format: 'byte',
        },
        insecure: { description: 'TLS verification is disabled because the Secret has no CA bundle.', type: 'boolean' },
        'proxy-url': { description: 'HTTP, HTTPS or SOCKS5 proxy used to reach the cluster.', type: 'string' },
      },
    },
    [`${P}.ClusterAccessCredential`]: {
      description: 'ClusterAccessCredential is the credential used towards the cluster.',
      type: 'object',
      required: ['type'],
      properties: {
        type: { description: 'ServiceAccountToken, X509Certificate or Dynamic (exec plugin).', type: 'string' },
        serviceAccountToken: {
          description: 'Bearer token (redacted unless --expose-credentials=true).',
          type: 'string',
        },
        x509: withDescription(r(`${P}.X509`), 'Client certificate and key.', v3),
      },
    },
    [`${P}.X509`]: {
      description: 'X509 is a client certificate and key.',
      type: 'object',
      required: ['certificate'],
      properties: {
        certificate: { description: 'PEM client certificate (base64 in JSON).', type: 'string', format: 'byte' },
        privateKey: {
          description: 'PEM private key (base64 in JSON); omitted unless --expose-credentials=true.',
          type: 'string',
          format: 'byte',
        },
      },
    },
    [`${P}.ClusterGatewayStatus`]: {
      description: 'ClusterGatewayStatus is the observed health of the cluster.',
      type: 'object',
      properties: {
        healthy: {
          description: 'Whether the cluster is healthy (from the Secret health annotations or the OCM ManagedCluster).',
          type: 'boolean',
        },
        healthyReason: { description: 'Reason for the health value.', type: 'string' },
        conditions: {
          description: 'Conditions: Ready (the gateway can serve the cluster) and TLSVerified.',
          type: 'array',
          items: {
            type: 'object',
            required: ['type', 'status'],
            properties: {
              type: { type: 'string' },
              status: { type: 'string' },
              reason: { type: 'string' },
              message: { type: 'string' },
              lastTransitionTime: { type: 'string', format: 'date-time' },
            },
          },
        },
      },
    },
    [`${P}.ClusterGatewayProxyOptions`]: {
      description: 'ClusterGatewayProxyOptions are the options of the proxy subresource.',
      type: 'object',
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        path: { description: 'Path of the request on the managed cluster.', type: 'string' },
        impersonate: { description: 'Impersonate the caller on the managed cluster.', type: 'boolean' },
      },
      ...gvk('ClusterGatewayProxyOptions'),
    },
    [`${META}.ObjectMeta`]: {
      description: 'ObjectMeta is metadata that all persisted resources must have.',
      type: 'object',
      properties: {
        name: { description: 'Name of the cluster.', type: 'string' },
        uid: { description: 'UID of the source Secret.', type: 'string' },
        resourceVersion: { description: 'Hub resourceVersion of the last change to this cluster.', type: 'string' },
        creationTimestamp: { description: 'Creation time of the source Secret.', type: 'string', format: 'date-time' },
        labels: {
          description: 'Labels of the source Secret.',
          type: 'object',
          additionalProperties: { type: 'string' },
        },
        annotations: {
          description: 'Annotations of the source Secret.',
          type: 'object',
          additionalProperties: { type: 'string' },
        },
      },
    },
    [`${META}.ListMeta`]: {
      description: 'ListMeta describes metadata that synthetic resources must have.',
      type: 'object',
      properties: {
        resourceVersion: { type: 'string' },
        continue: { type: 'string' },
        remainingItemCount: { type: 'integer', format: 'int64' },
      },
    },
  };
}

function paths(v3: boolean): Record<string, unknown> {
  const base = `/apis/${GROUP_VERSION}/clustergateways`;
  const body = (name: string): object =>
    v3 ? { content: { 'application/json': { schema: ref(name, true) } } } : { schema: ref(name, false) };
  const ok = (name: string): object => ({ responses: { '200': { description: 'OK', ...body(name) } } });
  const action = (a: string, kind = 'ClusterGateway'): object => ({
    'x-kubernetes-action': a,
    'x-kubernetes-group-version-kind': { group: GROUP, version: VERSION, kind },
  });
  return {
    [base]: {
      get: {
        operationId: 'listClusterGateway',
        tags: ['clusterCoreOamDev_v1alpha1'],
        ...ok(`${P}.ClusterGatewayList`),
        ...action('list'),
      },
    },
    [`${base}/{name}`]: {
      get: {
        operationId: 'readClusterGateway',
        tags: ['clusterCoreOamDev_v1alpha1'],
        ...ok(`${P}.ClusterGateway`),
        ...action('get'),
      },
    },
    [`${base}/{name}/health`]: {
      get: { operationId: 'readClusterGatewayHealth', ...ok(`${P}.ClusterGateway`), ...action('get') },
      put: { operationId: 'replaceClusterGatewayHealth', ...ok(`${P}.ClusterGateway`), ...action('put') },
      patch: { operationId: 'patchClusterGatewayHealth', ...ok(`${P}.ClusterGateway`), ...action('patch') },
    },
    [`${base}/{name}/proxy/{path}`]: {
      get: {
        operationId: 'connectGetClusterGatewayProxyWithPath',
        responses: { '200': { description: 'OK' } },
        ...action('connect', 'ClusterGatewayProxyOptions'),
      },
    },
  };
}

export interface OpenApiDocs {
  v2: Buffer;
  v2ETag: string;
  v3Index: object;
  v3: Buffer;
  v3Hash: string;
  v3Path: string;
}

let cached: OpenApiDocs | undefined;

export function openApiDocs(): OpenApiDocs {
  if (cached) return cached;
  const info = { title: 'Cluster Gateway', version: '1.0.0' };
  const v2 = Buffer.from(
    JSON.stringify({ swagger: '2.0', info, paths: paths(false), definitions: definitions(false) }),
  );
  const v3 = Buffer.from(
    JSON.stringify({ openapi: '3.0.0', info, paths: paths(true), components: { schemas: definitions(true) } }),
  );
  const v3Hash = createHash('sha512').update(v3).digest('hex').toUpperCase().slice(0, 128);
  const v3Path = `apis/${GROUP_VERSION}`;
  cached = {
    v2,
    v2ETag: createHash('sha256').update(v2).digest('hex').slice(0, 32),
    v3,
    v3Hash,
    v3Path,
    v3Index: { paths: { [v3Path]: { serverRelativeURL: `/openapi/v3/${v3Path}?hash=${v3Hash}` } } },
  };
  return cached;
}
