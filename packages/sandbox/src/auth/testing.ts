// Test fixtures for the auth package: RBAC objects and request attributes built the way kube stores
// and passes them, so the tests read like the YAML a user would apply.

import { randomUUID } from 'node:crypto';
import type { Attributes, KubeObject, UserInfo } from '../api/types.ts';
import type { Store } from '../store/store.ts';
import { GR_CLUSTERROLEBINDINGS, GR_CLUSTERROLES, GR_ROLEBINDINGS, GR_ROLES, RBAC_GROUP } from './rbac.ts';
import type { PolicyRule, Subject } from './rbac.ts';

export function put(store: Store, gr: string, obj: KubeObject): KubeObject {
  const o = structuredClone(obj);
  o.metadata.uid ??= randomUUID();
  o.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return store.put(gr, o, store.get(gr, o.metadata.namespace, o.metadata.name!) ? 'MODIFIED' : 'ADDED');
}

export function role(store: Store, namespace: string, name: string, rules: PolicyRule[]): KubeObject {
  return put(store, GR_ROLES, { apiVersion: `${RBAC_GROUP}/v1`, kind: 'Role', metadata: { name, namespace }, rules });
}

export function clusterRole(
  store: Store,
  name: string,
  rules: PolicyRule[],
  labels?: Record<string, string>,
  aggregationRule?: unknown,
): KubeObject {
  const obj: KubeObject = { apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRole', metadata: { name }, rules };
  if (labels) obj.metadata.labels = labels;
  if (aggregationRule) obj.aggregationRule = aggregationRule;
  return put(store, GR_CLUSTERROLES, obj);
}

export function roleBinding(
  store: Store,
  namespace: string,
  name: string,
  roleRef: { kind: 'Role' | 'ClusterRole'; name: string },
  subjects: Subject[],
): KubeObject {
  return put(store, GR_ROLEBINDINGS, {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'RoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: RBAC_GROUP, ...roleRef },
    subjects,
  });
}

export function clusterRoleBinding(store: Store, name: string, roleName: string, subjects: Subject[]): KubeObject {
  return put(store, GR_CLUSTERROLEBINDINGS, {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: roleName },
    subjects,
  });
}

export const user = (username: string, ...groups: string[]): UserInfo => ({
  username,
  groups: [...groups, 'system:authenticated'],
});

/** Resource attributes from a compact description: `list secrets` in `ns`, group, subresource, name. */
export function resourceAttrs(
  u: UserInfo,
  verb: string,
  resource: string,
  opts: { namespace?: string; group?: string; subresource?: string; name?: string } = {},
): Attributes {
  return {
    user: u,
    verb,
    resourceRequest: true,
    path: '',
    apiGroup: opts.group ?? '',
    apiVersion: 'v1',
    resource,
    subresource: opts.subresource ?? '',
    namespace: opts.namespace ?? '',
    name: opts.name ?? '',
  };
}

export function pathAttrs(u: UserInfo, verb: string, path: string): Attributes {
  return {
    user: u,
    verb,
    resourceRequest: false,
    path,
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
  };
}
