// The builtin resources every sandbox cluster serves, with the discovery facts kube-apiserver
// publishes for them (kinds, short names, categories, verbs, subresources).

import type { ResourceInfo } from './types.ts';

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

interface Def {
  gv: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: string[];
  subresources?: string[];
  statusSubresource?: boolean;
  hasGeneration?: boolean;
  singular?: string;
}

const defs: Def[] = [
  {
    gv: 'v1',
    resource: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status', 'finalize'],
    statusSubresource: true,
  },
  { gv: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
  { gv: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  {
    gv: 'v1',
    resource: 'serviceaccounts',
    kind: 'ServiceAccount',
    namespaced: true,
    shortNames: ['sa'],
    subresources: ['token'],
  },
  {
    gv: 'v1',
    resource: 'pods',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'log', 'exec', 'attach', 'portforward', 'binding', 'eviction', 'ephemeralcontainers'],
    statusSubresource: true,
  },
  {
    gv: 'v1',
    resource: 'services',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    subresources: ['status', 'proxy'],
    statusSubresource: true,
  },
  { gv: 'v1', resource: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], singular: 'endpoints' },
  { gv: 'v1', resource: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  {
    gv: 'v1',
    resource: 'nodes',
    kind: 'Node',
    namespaced: false,
    shortNames: ['no'],
    subresources: ['status', 'proxy'],
    statusSubresource: true,
  },
  {
    gv: 'apps/v1',
    resource: 'deployments',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    statusSubresource: true,
    hasGeneration: true,
  },
  {
    gv: 'apps/v1',
    resource: 'replicasets',
    kind: 'ReplicaSet',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    statusSubresource: true,
    hasGeneration: true,
  },
  { gv: 'rbac.authorization.k8s.io/v1', resource: 'roles', kind: 'Role', namespaced: true },
  { gv: 'rbac.authorization.k8s.io/v1', resource: 'clusterroles', kind: 'ClusterRole', namespaced: false },
  { gv: 'rbac.authorization.k8s.io/v1', resource: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  {
    gv: 'rbac.authorization.k8s.io/v1',
    resource: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    namespaced: false,
  },
  { gv: 'coordination.k8s.io/v1', resource: 'leases', kind: 'Lease', namespaced: true },
  {
    gv: 'policy/v1',
    resource: 'poddisruptionbudgets',
    kind: 'PodDisruptionBudget',
    namespaced: true,
    shortNames: ['pdb'],
    subresources: ['status'],
    statusSubresource: true,
    hasGeneration: true,
  },
  {
    gv: 'apiregistration.k8s.io/v1',
    resource: 'apiservices',
    kind: 'APIService',
    namespaced: false,
    categories: ['api-extensions'],
    subresources: ['status'],
    statusSubresource: true,
  },
  {
    gv: 'apiextensions.k8s.io/v1',
    resource: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    subresources: ['status'],
    statusSubresource: true,
    hasGeneration: true,
  },
  {
    gv: 'authentication.k8s.io/v1',
    resource: 'tokenreviews',
    kind: 'TokenReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    gv: 'authentication.k8s.io/v1',
    resource: 'selfsubjectreviews',
    kind: 'SelfSubjectReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    gv: 'authorization.k8s.io/v1',
    resource: 'subjectaccessreviews',
    kind: 'SubjectAccessReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    gv: 'authorization.k8s.io/v1',
    resource: 'selfsubjectaccessreviews',
    kind: 'SelfSubjectAccessReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    gv: 'authorization.k8s.io/v1',
    resource: 'selfsubjectrulesreviews',
    kind: 'SelfSubjectRulesReview',
    namespaced: false,
    verbs: ['create'],
  },
  {
    gv: 'authorization.k8s.io/v1',
    resource: 'localsubjectaccessreviews',
    kind: 'LocalSubjectAccessReview',
    namespaced: true,
    verbs: ['create'],
  },
];

export function builtinResources(): ResourceInfo[] {
  return defs.map((d) => {
    const [group, version] = d.gv.includes('/') ? (d.gv.split('/') as [string, string]) : ['', d.gv];
    const info: ResourceInfo = {
      group,
      version,
      resource: d.resource,
      kind: d.kind,
      listKind: `${d.kind}List`,
      singular: d.singular ?? d.kind.toLowerCase(),
      namespaced: d.namespaced,
      shortNames: d.shortNames ?? [],
      categories: d.categories ?? [],
      verbs: d.verbs ?? CRUD,
      subresources: d.subresources ?? [],
      hasGeneration: d.hasGeneration ?? false,
      statusSubresource: d.statusSubresource ?? false,
    };
    return info;
  });
}

/** Resources that are only ever created (reviews): they are computed, never stored. */
export function isVirtual(info: ResourceInfo): boolean {
  return info.verbs.length === 1 && info.verbs[0] === 'create';
}
