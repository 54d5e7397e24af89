// Discovery documents of the gateway's API group, as upstream serves them (legacy) plus aggregated
// discovery v2, which kube-aggregator ≥1.27 asks aggregated servers for first.

import { GROUP } from './errors.ts';

export const VERSION = 'v1alpha1';
export const GROUP_VERSION = `${GROUP}/${VERSION}`;

const resources = [
  {
    name: 'clustergateways',
    singularName: 'clustergateway',
    namespaced: false,
    kind: 'ClusterGateway',
    verbs: ['get', 'list', 'watch'],
  },
  {
    name: 'clustergateways/health',
    singularName: '',
    namespaced: false,
    kind: 'ClusterGateway',
    verbs: ['get', 'patch', 'update'],
  },
  {
    name: 'clustergateways/proxy',
    singularName: '',
    namespaced: false,
    kind: 'ClusterGatewayProxyOptions',
    verbs: ['create', 'delete', 'get', 'patch', 'update'],
  },
];

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [apiGroupBody()] };
}

function apiGroupBody(): object {
  return {
    name: GROUP,
    versions: [{ groupVersion: GROUP_VERSION, version: VERSION }],
    preferredVersion: { groupVersion: GROUP_VERSION, version: VERSION },
  };
}

export function apiGroup(): object {
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupBody() };
}

export function apiResourceList(): object {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: GROUP_VERSION, resources };
}

export const DISCOVERY_V2_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

export function aggregatedDiscovery(): object {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: [
      {
        metadata: { name: GROUP, creationTimestamp: null },
        versions: [
          {
            version: VERSION,
            freshness: 'Current',
            resources: [
              {
                resource: 'clustergateways',
                responseKind: { group: GROUP, version: VERSION, kind: 'ClusterGateway' },
                scope: 'Cluster',
                singularResource: 'clustergateway',
                verbs: ['get', 'list', 'watch'],
                subresources: [
                  {
                    subresource: 'health',
                    responseKind: { group: GROUP, version: VERSION, kind: 'ClusterGateway' },
                    verbs: ['get', 'patch', 'update'],
                  },
                  {
                    subresource: 'proxy',
                    responseKind: { group: GROUP, version: VERSION, kind: 'ClusterGatewayProxyOptions' },
                    verbs: ['create', 'delete', 'get', 'patch', 'update'],
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}
