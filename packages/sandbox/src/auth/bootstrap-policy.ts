// The default RBAC policy a fresh kube-apiserver (1.30-era) reconciles at start-up that clients can see
// or rely on (plugin/pkg/auth/authorizer/rbac/bootstrappolicy): cluster-admin and the admin/edit/view
// aggregation family, discovery/basic-user/public-info access for every caller, and the kube-system
// authentication-reader Role. Controller-specific `system:controller:*` roles are left out: nothing in
// the sandbox runs as them. Rules are built like kube's rule builder (every list sorted), and the
// aggregated roles come with the rules the aggregation controller would have written.

import type { KubeObject } from '../api/types.ts';
import { RBAC_GROUP, aggregateRules } from './rbac.ts';
import type { PolicyRule } from './rbac.ts';

const LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const ANNOTATIONS = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const READ_WRITE = [...READ, ...WRITE];

const sorted = (l: readonly string[]) => [...l].sort();

function rule(
  verbs: readonly string[],
  apiGroups: readonly string[],
  resources: readonly string[],
  names?: string[],
): PolicyRule {
  const r: PolicyRule = { verbs: sorted(verbs), apiGroups: sorted(apiGroups), resources: sorted(resources) };
  if (names) r.resourceNames = sorted(names);
  return r;
}

function urls(verbs: readonly string[], nonResourceURLs: readonly string[]): PolicyRule {
  return { verbs: sorted(verbs), nonResourceURLs: sorted(nonResourceURLs) };
}

function meta(name: string, extraLabels: Record<string, string> = {}, namespace?: string): KubeObject['metadata'] {
  const m: KubeObject['metadata'] = {
    name,
    labels: { ...LABELS, ...extraLabels },
    annotations: { ...ANNOTATIONS },
  };
  if (namespace) m.namespace = namespace;
  return m;
}

function clusterRole(name: string, rules: PolicyRule[], extraLabels: Record<string, string> = {}): KubeObject {
  return { apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRole', metadata: meta(name, extraLabels), rules };
}

function aggregatedRole(name: string, aggregateFrom: string, extraLabels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: meta(name, extraLabels),
    aggregationRule: {
      clusterRoleSelectors: [{ matchLabels: { [`rbac.authorization.k8s.io/aggregate-to-${aggregateFrom}`]: 'true' } }],
    },
    rules: [] as PolicyRule[],
  };
}

function subject(kind: 'User' | 'Group', name: string): Record<string, string> {
  return { apiGroup: RBAC_GROUP, kind, name };
}

function clusterRoleBinding(name: string, subjects: Record<string, string>[], roleName = name): KubeObject {
  const b: KubeObject = {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: meta(name),
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: roleName },
  };
  if (subjects.length > 0) b.subjects = subjects;
  return b;
}

const VIEW_LABEL = { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' };
const EDIT_LABEL = { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' };
const ADMIN_LABEL = { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' };

function clusterRoles(): KubeObject[] {
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])]),
    clusterRole('system:discovery', [
      urls(
        ['get'],
        [
          '/livez',
          '/readyz',
          '/healthz',
          '/version',
          '/version/',
          '/openapi',
          '/openapi/*',
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
        ],
      ),
    ]),
    clusterRole('system:monitoring', [
      urls(
        ['get'],
        ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'],
      ),
    ]),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:public-info-viewer', [
      urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/']),
    ]),
    aggregatedRole('admin', 'admin'),
    aggregatedRole('edit', 'edit', ADMIN_LABEL),
    aggregatedRole('view', 'view', EDIT_LABEL),
    clusterRole(
      'system:aggregate-to-admin',
      [
        rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
        rule(READ_WRITE, [RBAC_GROUP], ['roles', 'rolebindings']),
      ],
      ADMIN_LABEL,
    ),
    clusterRole(
      'system:aggregate-to-edit',
      [
        // read on escalating resources
        rule(READ, [''], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
        rule(['impersonate'], [''], ['serviceaccounts']),
        rule(WRITE, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
        rule(['create'], [''], ['pods/eviction']),
        rule(
          WRITE,
          [''],
          [
            'replicationcontrollers',
            'replicationcontrollers/scale',
            'serviceaccounts',
            'services',
            'services/proxy',
            'persistentvolumeclaims',
            'configmaps',
            'secrets',
          ],
        ),
        rule(['create'], [''], ['serviceaccounts/token']),
        rule(
          WRITE,
          ['apps'],
          [
            'statefulsets',
            'statefulsets/scale',
            'daemonsets',
            'deployments',
            'deployments/scale',
            'deployments/rollback',
            'replicasets',
            'replicasets/scale',
          ],
        ),
        rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
        rule(WRITE, ['batch'], ['jobs', 'cronjobs']),
        rule(
          WRITE,
          ['extensions'],
          [
            'daemonsets',
            'deployments',
            'deployments/scale',
            'deployments/rollback',
            'ingresses',
            'replicasets',
            'replicasets/scale',
            'replicationcontrollers/scale',
            'networkpolicies',
          ],
        ),
        rule(WRITE, ['policy'], ['poddisruptionbudgets']),
        rule(WRITE, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
      ],
      EDIT_LABEL,
    ),
    clusterRole(
      'system:aggregate-to-view',
      [
        rule(
          READ,
          [''],
          [
            'pods',
            'replicationcontrollers',
            'replicationcontrollers/scale',
            'serviceaccounts',
            'services',
            'services/status',
            'endpoints',
            'persistentvolumeclaims',
            'persistentvolumeclaims/status',
            'configmaps',
          ],
        ),
        rule(
          READ,
          [''],
          [
            'limitranges',
            'resourcequotas',
            'bindings',
            'events',
            'pods/status',
            'resourcequotas/status',
            'namespaces/status',
            'replicationcontrollers/status',
            'pods/log',
          ],
        ),
        // read on namespaces at namespace scope shows which namespaces one can use
        rule(READ, [''], ['namespaces']),
        rule(READ, ['discovery.k8s.io'], ['endpointslices']),
        rule(
          READ,
          ['apps'],
          [
            'controllerrevisions',
            'statefulsets',
            'statefulsets/status',
            'statefulsets/scale',
            'daemonsets',
            'daemonsets/status',
            'deployments',
            'deployments/status',
            'deployments/scale',
            'replicasets',
            'replicasets/status',
            'replicasets/scale',
          ],
        ),
        rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
        rule(READ, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
        rule(
          READ,
          ['extensions'],
          [
            'daemonsets',
            'daemonsets/status',
            'deployments',
            'deployments/scale',
            'deployments/status',
            'ingresses',
            'ingresses/status',
            'replicasets',
            'replicasets/scale',
            'replicasets/status',
            'replicationcontrollers/scale',
            'networkpolicies',
          ],
        ),
        rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
        rule(READ, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
      ],
      VIEW_LABEL,
    ),
    clusterRole('system:auth-delegator', [
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
    ]),
    clusterRole('system:kube-aggregator', [rule(READ, [''], ['services', 'endpoints'])]),
    clusterRole('system:service-account-issuer-discovery', [
      urls(
        ['get'],
        [
          '/.well-known/openid-configuration',
          '/.well-known/openid-configuration/',
          '/openid/v1/jwks',
          '/openid/v1/jwks/',
        ],
      ),
    ]),
    clusterRole('system:node-bootstrapper', [
      rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
    ]),
  ];
}

function clusterRoleBindings(): KubeObject[] {
  return [
    clusterRoleBinding('cluster-admin', [subject('Group', 'system:masters')]),
    clusterRoleBinding('system:monitoring', [subject('Group', 'system:monitoring')]),
    clusterRoleBinding('system:discovery', [subject('Group', 'system:authenticated')]),
    clusterRoleBinding('system:basic-user', [subject('Group', 'system:authenticated')]),
    clusterRoleBinding('system:public-info-viewer', [
      subject('Group', 'system:authenticated'),
      subject('Group', 'system:unauthenticated'),
    ]),
    clusterRoleBinding('system:service-account-issuer-discovery', [subject('Group', 'system:serviceaccounts')]),
  ];
}

function namespacedPolicy(): KubeObject[] {
  return [
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'Role',
      metadata: meta('extension-apiserver-authentication-reader', {}, 'kube-system'),
      rules: [rule(READ, [''], ['configmaps'], ['extension-apiserver-authentication'])],
    },
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'RoleBinding',
      metadata: meta('system::extension-apiserver-authentication-reader', {}, 'kube-system'),
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [subject('User', 'system:kube-controller-manager'), subject('User', 'system:kube-scheduler')],
    },
  ];
}

/**
 * The bootstrap ClusterRoles, ClusterRoleBindings, Roles and RoleBindings (in that order), as fresh
 * mutable objects without uid/creationTimestamp/resourceVersion for the caller to store.
 */
export function bootstrapPolicy(): KubeObject[] {
  const roles = clusterRoles();
  // fill the aggregated roles deepest-first: view feeds edit, which feeds admin
  for (const name of ['view', 'edit', 'admin']) {
    const role = roles.find((r) => r.metadata.name === name)!;
    role.rules = structuredClone(aggregateRules(role, roles) ?? []);
  }
  return [...roles, ...clusterRoleBindings(), ...namespacedPolicy()];
}

/** Storage key (`resource.group`) for each kind bootstrapPolicy() returns. */
export function bootstrapStorageKey(obj: KubeObject): string {
  const resource = {
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    Role: 'roles',
    RoleBinding: 'rolebindings',
  }[obj.kind];
  if (!resource) throw new Error(`not an RBAC kind: ${obj.kind}`);
  return `${resource}.${RBAC_GROUP}`;
}
