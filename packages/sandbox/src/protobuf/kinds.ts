// The kinds the sandbox accepts as `application/vnd.kubernetes.protobuf` request bodies, by the proto
// package that defines them. One table serves the decoder (which message a body's typeMeta names) and
// scripts/gen-kube-protos.ts (which messages the trimmed .proto files keep), so the two cannot drift.
// It covers what kubectl's typed commands send (create <kind>, create token, auth can-i/whoami,
// drain, certificate approve, autoscale) plus the common workload and RBAC kinds client-go writes.

export interface ProtoGroupVersion {
  /** proto package, e.g. `k8s.io.api.apps.v1` */
  pkg: string;
  /** Kubernetes apiVersion, e.g. `apps/v1` */
  apiVersion: string;
  kinds: readonly string[];
}

export const KUBE_PROTOBUF_KINDS: readonly ProtoGroupVersion[] = [
  {
    pkg: 'k8s.io.api.core.v1',
    apiVersion: 'v1',
    kinds: [
      'Binding',
      'ConfigMap',
      'Endpoints',
      'Event',
      'LimitRange',
      'Namespace',
      'Node',
      'PersistentVolume',
      'PersistentVolumeClaim',
      'Pod',
      'PodTemplate',
      'ReplicationController',
      'ResourceQuota',
      'Secret',
      'Service',
      'ServiceAccount',
    ],
  },
  {
    pkg: 'k8s.io.api.apps.v1',
    apiVersion: 'apps/v1',
    kinds: ['ControllerRevision', 'DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet'],
  },
  { pkg: 'k8s.io.api.batch.v1', apiVersion: 'batch/v1', kinds: ['CronJob', 'Job'] },
  {
    pkg: 'k8s.io.api.rbac.v1',
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kinds: ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'],
  },
  {
    pkg: 'k8s.io.api.authentication.v1',
    apiVersion: 'authentication.k8s.io/v1',
    kinds: ['SelfSubjectReview', 'TokenRequest', 'TokenReview'],
  },
  {
    pkg: 'k8s.io.api.authorization.v1',
    apiVersion: 'authorization.k8s.io/v1',
    kinds: ['LocalSubjectAccessReview', 'SelfSubjectAccessReview', 'SelfSubjectRulesReview', 'SubjectAccessReview'],
  },
  { pkg: 'k8s.io.api.autoscaling.v1', apiVersion: 'autoscaling/v1', kinds: ['HorizontalPodAutoscaler', 'Scale'] },
  { pkg: 'k8s.io.api.autoscaling.v2', apiVersion: 'autoscaling/v2', kinds: ['HorizontalPodAutoscaler'] },
  { pkg: 'k8s.io.api.certificates.v1', apiVersion: 'certificates.k8s.io/v1', kinds: ['CertificateSigningRequest'] },
  { pkg: 'k8s.io.api.coordination.v1', apiVersion: 'coordination.k8s.io/v1', kinds: ['Lease'] },
  { pkg: 'k8s.io.api.discovery.v1', apiVersion: 'discovery.k8s.io/v1', kinds: ['EndpointSlice'] },
  { pkg: 'k8s.io.api.events.v1', apiVersion: 'events.k8s.io/v1', kinds: ['Event'] },
  {
    pkg: 'k8s.io.api.networking.v1',
    apiVersion: 'networking.k8s.io/v1',
    kinds: ['Ingress', 'IngressClass', 'NetworkPolicy'],
  },
  { pkg: 'k8s.io.api.policy.v1', apiVersion: 'policy/v1', kinds: ['Eviction', 'PodDisruptionBudget'] },
  { pkg: 'k8s.io.api.scheduling.v1', apiVersion: 'scheduling.k8s.io/v1', kinds: ['PriorityClass'] },
  { pkg: 'k8s.io.api.storage.v1', apiVersion: 'storage.k8s.io/v1', kinds: ['StorageClass'] },
  {
    pkg: 'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1',
    apiVersion: 'apiextensions.k8s.io/v1',
    kinds: ['CustomResourceDefinition'],
  },
  {
    pkg: 'k8s.io.kube_aggregator.pkg.apis.apiregistration.v1',
    apiVersion: 'apiregistration.k8s.io/v1',
    kinds: ['APIService'],
  },
];

/**
 * Options kinds that metav1.AddToGroupVersion registers in every group version (a typed client's
 * Delete sends `DeleteOptions` under its own group's apiVersion), decoded from meta/v1 whatever the
 * apiVersion says.
 */
export const META_V1_PKG = 'k8s.io.apimachinery.pkg.apis.meta.v1';
export const OPTIONS_KINDS: readonly string[] = ['DeleteOptions'];
