// Generates packages/sandbox/src/openapi/builtin-schemas.json: the OpenAPI (Swagger 2.0 style,
// `#/definitions/...` refs) definitions of the builtin kinds the sandbox serves, under the real
// Kubernetes definition names, with the list/patch extensions that strategic merge patch and
// server-side apply depend on. There is no network here, so the models come from
// @kubernetes/client-node's generated classes (attributeTypeMap for types, .d.ts JSDoc for
// descriptions, `?` for optionality); what those classes lose (package names, Quantity/Time/
// RawExtension types, x-kubernetes-* extensions) is restored from the tables below, whose values
// were taken from kube-apiserver's published api/openapi-spec/swagger.json.
//
// Regenerate (deterministic output; commit the JSON):
//   cd /work/main && node_modules/.bin/node packages/sandbox/scripts/gen-openapi-schemas.ts
// The JSON is key-sorted and formatted with the repository's prettier config, so reruns on the same
// client-node version produce identical bytes and `prettier --check` passes.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = Record<string, Json>;

interface Attr {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const modelsDir = join(dirname(require.resolve('@kubernetes/client-node')), 'gen', 'models');
const outFile = join(here, '..', 'src', 'openapi', 'builtin-schemas.json');

const PKG = {
  core: 'io.k8s.api.core.v1',
  apps: 'io.k8s.api.apps.v1',
  autoscaling: 'io.k8s.api.autoscaling.v1',
  policy: 'io.k8s.api.policy.v1',
  rbac: 'io.k8s.api.rbac.v1',
  coordination: 'io.k8s.api.coordination.v1',
  authn: 'io.k8s.api.authentication.v1',
  authz: 'io.k8s.api.authorization.v1',
  apireg: 'io.k8s.kube-aggregator.pkg.apis.apiregistration.v1',
  apiext: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1',
  meta: 'io.k8s.apimachinery.pkg.apis.meta.v1',
  runtime: 'io.k8s.apimachinery.pkg.runtime',
  resource: 'io.k8s.apimachinery.pkg.api.resource',
  intstr: 'io.k8s.apimachinery.pkg.util.intstr',
  version: 'io.k8s.apimachinery.pkg.version',
} as const;

/** client-node prefixes a model with its group when two groups share a type name. */
const PREFIX_PKG: Record<string, string> = {
  CoreV1: PKG.core,
  RbacV1: PKG.rbac,
  AuthenticationV1: PKG.authn,
  ApiregistrationV1: PKG.apireg,
  ApiextensionsV1: PKG.apiext,
};

/** apimachinery meta/v1 types: wherever they are referenced from, they live in meta. */
const META_TYPES = new Set([
  'ObjectMeta',
  'ListMeta',
  'LabelSelector',
  'LabelSelectorRequirement',
  'FieldSelectorRequirement',
  'OwnerReference',
  'ManagedFieldsEntry',
  'Status',
  'StatusDetails',
  'StatusCause',
  'DeleteOptions',
  'Preconditions',
  'WatchEvent',
  'APIResourceList',
  'APIResource',
  'APIGroup',
  'APIGroupList',
  'APIVersions',
  'GroupVersionForDiscovery',
  'ServerAddressByClientCIDR',
  'Condition',
]);

interface Root {
  model: string;
  pkg: string;
  /** definition short name when it differs from the model's */
  name?: string;
  gvk?: { group: string; version: string; kind: string }[];
}

function kinds(model: string, pkg: string, group: string, version: string, kind: string, list = true): Root[] {
  const out: Root[] = [{ model, pkg, gvk: [{ group, version, kind }] }];
  if (list) out.push({ model: `${model}List`, pkg, gvk: [{ group, version, kind: `${kind}List` }] });
  return out;
}

// every group-version the sandbox serves: WatchEvent and DeleteOptions carry one GVK per group-version, as in kube
const SERVED_GVS: [string, string][] = [
  ['', 'v1'],
  ['apps', 'v1'],
  ['rbac.authorization.k8s.io', 'v1'],
  ['coordination.k8s.io', 'v1'],
  ['apiregistration.k8s.io', 'v1'],
  ['apiextensions.k8s.io', 'v1'],
  ['authentication.k8s.io', 'v1'],
  ['authorization.k8s.io', 'v1'],
  ['autoscaling', 'v1'],
  ['policy', 'v1'],
];
const perGV = (kind: string): { group: string; version: string; kind: string }[] =>
  SERVED_GVS.map(([group, version]) => ({ group, version, kind }));

const ROOTS: Root[] = [
  ...kinds('V1Namespace', PKG.core, '', 'v1', 'Namespace'),
  ...kinds('V1ConfigMap', PKG.core, '', 'v1', 'ConfigMap'),
  ...kinds('V1Secret', PKG.core, '', 'v1', 'Secret'),
  ...kinds('V1ServiceAccount', PKG.core, '', 'v1', 'ServiceAccount'),
  ...kinds('V1Pod', PKG.core, '', 'v1', 'Pod'),
  ...kinds('V1Service', PKG.core, '', 'v1', 'Service'),
  ...kinds('V1Endpoints', PKG.core, '', 'v1', 'Endpoints'),
  { model: 'CoreV1Event', pkg: PKG.core, gvk: [{ group: '', version: 'v1', kind: 'Event' }] },
  { model: 'CoreV1EventList', pkg: PKG.core, gvk: [{ group: '', version: 'v1', kind: 'EventList' }] },
  ...kinds('V1Node', PKG.core, '', 'v1', 'Node'),
  ...kinds('V1Binding', PKG.core, '', 'v1', 'Binding', false),
  ...kinds('V1Eviction', PKG.policy, 'policy', 'v1', 'Eviction', false),
  ...kinds('V1PodDisruptionBudget', PKG.policy, 'policy', 'v1', 'PodDisruptionBudget'),
  {
    model: 'AuthenticationV1TokenRequest',
    pkg: PKG.authn,
    gvk: [{ group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' }],
  },
  ...kinds('V1Deployment', PKG.apps, 'apps', 'v1', 'Deployment'),
  ...kinds('V1ReplicaSet', PKG.apps, 'apps', 'v1', 'ReplicaSet'),
  ...kinds('V1Scale', PKG.autoscaling, 'autoscaling', 'v1', 'Scale', false),
  ...kinds('V1Role', PKG.rbac, 'rbac.authorization.k8s.io', 'v1', 'Role'),
  ...kinds('V1ClusterRole', PKG.rbac, 'rbac.authorization.k8s.io', 'v1', 'ClusterRole'),
  ...kinds('V1RoleBinding', PKG.rbac, 'rbac.authorization.k8s.io', 'v1', 'RoleBinding'),
  ...kinds('V1ClusterRoleBinding', PKG.rbac, 'rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding'),
  ...kinds('V1Lease', PKG.coordination, 'coordination.k8s.io', 'v1', 'Lease'),
  ...kinds('V1APIService', PKG.apireg, 'apiregistration.k8s.io', 'v1', 'APIService'),
  ...kinds('V1CustomResourceDefinition', PKG.apiext, 'apiextensions.k8s.io', 'v1', 'CustomResourceDefinition'),
  ...kinds('V1TokenReview', PKG.authn, 'authentication.k8s.io', 'v1', 'TokenReview', false),
  ...kinds('V1SelfSubjectReview', PKG.authn, 'authentication.k8s.io', 'v1', 'SelfSubjectReview', false),
  ...kinds('V1SubjectAccessReview', PKG.authz, 'authorization.k8s.io', 'v1', 'SubjectAccessReview', false),
  ...kinds('V1SelfSubjectAccessReview', PKG.authz, 'authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', false),
  ...kinds('V1SelfSubjectRulesReview', PKG.authz, 'authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', false),
  ...kinds('V1LocalSubjectAccessReview', PKG.authz, 'authorization.k8s.io', 'v1', 'LocalSubjectAccessReview', false),
  { model: 'V1Status', pkg: PKG.meta, gvk: [{ group: '', version: 'v1', kind: 'Status' }] },
  { model: 'V1DeleteOptions', pkg: PKG.meta, gvk: perGV('DeleteOptions') },
  { model: 'V1WatchEvent', pkg: PKG.meta, gvk: perGV('WatchEvent') },
  { model: 'V1APIResourceList', pkg: PKG.meta, gvk: [{ group: '', version: 'v1', kind: 'APIResourceList' }] },
  { model: 'V1APIGroup', pkg: PKG.meta, gvk: [{ group: '', version: 'v1', kind: 'APIGroup' }] },
  { model: 'V1APIGroupList', pkg: PKG.meta, gvk: [{ group: '', version: 'v1', kind: 'APIGroupList' }] },
  { model: 'V1APIVersions', pkg: PKG.meta, gvk: [{ group: '', version: 'v1', kind: 'APIVersions' }] },
  { model: 'V1ObjectMeta', pkg: PKG.meta },
  { model: 'V1ListMeta', pkg: PKG.meta },
  { model: 'V1Condition', pkg: PKG.meta },
  { model: 'VersionInfo', pkg: PKG.version, name: 'Info' },
];

const Q = { $ref: `#/definitions/${PKG.resource}.Quantity` };

/** Types client-node flattens (`any`, plain strings) that kube names: `Model.baseName` → schema. */
const TYPE_OVERRIDES: Record<string, Schema> = {
  'V1WatchEvent.object': { $ref: `#/definitions/${PKG.runtime}.RawExtension` },
  'V1ManagedFieldsEntry.fieldsV1': { $ref: `#/definitions/${PKG.meta}.FieldsV1` },
  'V1JSONSchemaProps.default': { $ref: `#/definitions/${PKG.apiext}.JSON` },
  'V1JSONSchemaProps.example': { $ref: `#/definitions/${PKG.apiext}.JSON` },
  'V1JSONSchemaProps.enum': { type: 'array', items: { $ref: `#/definitions/${PKG.apiext}.JSON` } },
  'V1JSONSchemaProps.additionalItems': { $ref: `#/definitions/${PKG.apiext}.JSONSchemaPropsOrBool` },
  'V1JSONSchemaProps.additionalProperties': { $ref: `#/definitions/${PKG.apiext}.JSONSchemaPropsOrBool` },
  'V1JSONSchemaProps.items': { $ref: `#/definitions/${PKG.apiext}.JSONSchemaPropsOrArray` },
  'V1CustomResourceSubresources.status': { $ref: `#/definitions/${PKG.apiext}.CustomResourceSubresourceStatus` },
  'V1ResourceRequirements.limits': { type: 'object', additionalProperties: Q },
  'V1ResourceRequirements.requests': { type: 'object', additionalProperties: Q },
  'V1VolumeResourceRequirements.limits': { type: 'object', additionalProperties: Q },
  'V1VolumeResourceRequirements.requests': { type: 'object', additionalProperties: Q },
  'V1PodSpec.overhead': { type: 'object', additionalProperties: Q },
  'V1NodeStatus.capacity': { type: 'object', additionalProperties: Q },
  'V1NodeStatus.allocatable': { type: 'object', additionalProperties: Q },
  'V1ContainerStatus.allocatedResources': { type: 'object', additionalProperties: Q },
  'V1PersistentVolumeClaimStatus.capacity': { type: 'object', additionalProperties: Q },
  'V1PersistentVolumeClaimStatus.allocatedResources': { type: 'object', additionalProperties: Q },
  'V1EmptyDirVolumeSource.sizeLimit': Q,
  'V1ResourceFieldSelector.divisor': Q,
};

// ---- x-kubernetes-* extensions (values as in kube-apiserver's swagger.json) -----------------------
// Lists not named here are atomic for server-side apply and replaced by strategic merge patch, which
// is exactly what a list without extensions means; only map/set/merge lists need to be listed.

const mapList = (keys: string[], mergeKey?: string, strategy = 'merge'): Schema => {
  const s: Schema = { 'x-kubernetes-list-map-keys': keys, 'x-kubernetes-list-type': 'map' };
  if (mergeKey) {
    s['x-kubernetes-patch-merge-key'] = mergeKey;
    s['x-kubernetes-patch-strategy'] = strategy;
  }
  return s;
};
const byName = mapList(['name'], 'name');
const byType = mapList(['type'], 'type');
const atomic: Schema = { 'x-kubernetes-list-type': 'atomic' };

/** `definition-short-name.property` (definition name without its package) → extensions. */
const PROPERTY_EXTENSIONS: Record<string, Schema> = {
  // meta
  'ObjectMeta.finalizers': { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
  'ObjectMeta.ownerReferences': mapList(['uid'], 'uid'),
  'ObjectMeta.managedFields': atomic,
  'LabelSelector.matchExpressions': atomic,
  'LabelSelectorRequirement.values': atomic,
  'Status.details': {},
  'StatusDetails.causes': atomic,
  'DeleteOptions.dryRun': atomic,
  // core: pods
  'PodSpec.containers': byName,
  'PodSpec.initContainers': byName,
  'PodSpec.ephemeralContainers': byName,
  'PodSpec.hostAliases': mapList(['ip'], 'ip'),
  'PodSpec.imagePullSecrets': byName,
  'PodSpec.resourceClaims': mapList(['name'], 'name', 'merge,retainKeys'),
  'PodSpec.schedulingGates': byName,
  'PodSpec.tolerations': atomic,
  'PodSpec.readinessGates': atomic,
  'PodSpec.topologySpreadConstraints': mapList(['topologyKey', 'whenUnsatisfiable'], 'topologyKey'),
  'PodSpec.volumes': mapList(['name'], 'name', 'merge,retainKeys'),
  'PodStatus.conditions': byType,
  'PodStatus.podIPs': mapList(['ip'], 'ip'),
  'PodStatus.hostIPs': mapList(['ip'], 'ip'),
  'PodStatus.containerStatuses': atomic,
  'PodStatus.initContainerStatuses': atomic,
  'PodStatus.ephemeralContainerStatuses': atomic,
  'PodStatus.resourceClaimStatuses': mapList(['name'], 'name', 'merge,retainKeys'),
  'Container.env': byName,
  'Container.envFrom': atomic,
  'Container.ports': mapList(['containerPort', 'protocol'], 'containerPort'),
  'Container.volumeMounts': mapList(['mountPath'], 'mountPath'),
  'Container.volumeDevices': mapList(['devicePath'], 'devicePath'),
  'Container.resizePolicy': atomic,
  'Container.restartPolicyRules': atomic,
  'Container.args': atomic,
  'Container.command': atomic,
  'EphemeralContainer.env': byName,
  'EphemeralContainer.envFrom': atomic,
  'EphemeralContainer.ports': mapList(['containerPort', 'protocol'], 'containerPort'),
  'EphemeralContainer.volumeMounts': mapList(['mountPath'], 'mountPath'),
  'EphemeralContainer.volumeDevices': mapList(['devicePath'], 'devicePath'),
  'EphemeralContainer.resizePolicy': atomic,
  'EphemeralContainer.args': atomic,
  'EphemeralContainer.command': atomic,
  'ResourceRequirements.claims': mapList(['name']),
  'PodSecurityContext.supplementalGroups': atomic,
  'PodSecurityContext.sysctls': atomic,
  'Capabilities.add': atomic,
  'Capabilities.drop': atomic,
  'NodeSelector.nodeSelectorTerms': atomic,
  'NodeSelectorTerm.matchExpressions': atomic,
  'NodeSelectorTerm.matchFields': atomic,
  'NodeSelectorRequirement.values': atomic,
  'NodeAffinity.preferredDuringSchedulingIgnoredDuringExecution': atomic,
  'PodAffinity.preferredDuringSchedulingIgnoredDuringExecution': atomic,
  'PodAffinity.requiredDuringSchedulingIgnoredDuringExecution': atomic,
  'PodAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution': atomic,
  'PodAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution': atomic,
  'PodAffinityTerm.namespaces': atomic,
  'PodAffinityTerm.matchLabelKeys': atomic,
  'PodAffinityTerm.mismatchLabelKeys': atomic,
  'TopologySpreadConstraint.matchLabelKeys': atomic,
  'PodDNSConfig.nameservers': atomic,
  'PodDNSConfig.options': atomic,
  'PodDNSConfig.searches': atomic,
  'HostAlias.hostnames': atomic,
  'ExecAction.command': atomic,
  'HTTPGetAction.httpHeaders': atomic,
  'ContainerStatus.volumeMounts': mapList(['mountPath'], 'mountPath'),
  'ContainerStatus.allocatedResourcesStatus': mapList(['name'], 'name'),
  'ContainerStatus.resources': {},
  'ConfigMapVolumeSource.items': atomic,
  'SecretVolumeSource.items': atomic,
  'ConfigMapProjection.items': atomic,
  'SecretProjection.items': atomic,
  'DownwardAPIVolumeSource.items': atomic,
  'DownwardAPIProjection.items': atomic,
  'ProjectedVolumeSource.sources': atomic,
  'CSIVolumeSource.volumeAttributes': {},
  'PersistentVolumeClaimSpec.accessModes': atomic,
  // core: services, endpoints, nodes, namespaces, service accounts
  'ServiceSpec.ports': mapList(['port', 'protocol'], 'port'),
  'ServiceSpec.clusterIPs': atomic,
  'ServiceSpec.externalIPs': atomic,
  'ServiceSpec.ipFamilies': atomic,
  'ServiceSpec.loadBalancerSourceRanges': atomic,
  'ServiceStatus.conditions': byType,
  'LoadBalancerStatus.ingress': atomic,
  'LoadBalancerIngress.ports': atomic,
  'Endpoints.subsets': atomic,
  'EndpointSubset.addresses': atomic,
  'EndpointSubset.notReadyAddresses': atomic,
  'EndpointSubset.ports': atomic,
  'NodeSpec.podCIDRs': { 'x-kubernetes-list-type': 'set', 'x-kubernetes-patch-strategy': 'merge' },
  'NodeSpec.taints': atomic,
  'NodeStatus.addresses': byType,
  'NodeStatus.conditions': byType,
  'NodeStatus.images': atomic,
  'NodeStatus.volumesAttached': atomic,
  'NodeStatus.volumesInUse': atomic,
  'NodeStatus.runtimeHandlers': atomic,
  'ContainerImage.names': atomic,
  'NamespaceSpec.finalizers': atomic,
  'NamespaceStatus.conditions': byType,
  'ServiceAccount.secrets': {
    'x-kubernetes-patch-merge-key': 'name',
    'x-kubernetes-patch-strategy': 'merge',
  },
  'ServiceAccount.imagePullSecrets': atomic,
  // apps
  'DeploymentSpec.strategy': { 'x-kubernetes-patch-strategy': 'retainKeys' },
  'DeploymentStatus.conditions': byType,
  'ReplicaSetStatus.conditions': byType,
  // rbac
  'PolicyRule.apiGroups': atomic,
  'PolicyRule.nonResourceURLs': atomic,
  'PolicyRule.resourceNames': atomic,
  'PolicyRule.resources': atomic,
  'PolicyRule.verbs': atomic,
  'Role.rules': atomic,
  'ClusterRole.rules': atomic,
  'AggregationRule.clusterRoleSelectors': atomic,
  'RoleBinding.subjects': atomic,
  'ClusterRoleBinding.subjects': atomic,
  // apiregistration / apiextensions
  'APIServiceStatus.conditions': byType,
  'CustomResourceDefinitionStatus.conditions': byType,
  'CustomResourceDefinitionStatus.storedVersions': atomic,
  'CustomResourceDefinitionSpec.versions': atomic,
  'CustomResourceDefinitionNames.shortNames': atomic,
  'CustomResourceDefinitionNames.categories': atomic,
  'CustomResourceDefinitionVersion.additionalPrinterColumns': atomic,
  'CustomResourceDefinitionVersion.selectableFields': atomic,
  'JSONSchemaProps.x-kubernetes-list-map-keys': atomic,
  'JSONSchemaProps.x-kubernetes-validations': mapList(['rule'], 'rule'),
  'JSONSchemaProps.required': atomic,
  'JSONSchemaProps.allOf': atomic,
  'JSONSchemaProps.anyOf': atomic,
  'JSONSchemaProps.oneOf': atomic,
  'JSONSchemaProps.enum': atomic,
  'CustomResourceConversion.webhook': {},
  'WebhookConversion.conversionReviewVersions': atomic,
  // authentication / authorization
  'TokenRequestSpec.audiences': atomic,
  'TokenReviewSpec.audiences': atomic,
  'TokenReviewStatus.audiences': atomic,
  'SubjectAccessReviewSpec.groups': atomic,
  'SubjectRulesReviewStatus.resourceRules': atomic,
  'SubjectRulesReviewStatus.nonResourceRules': atomic,
  'ResourceRule.verbs': atomic,
  'ResourceRule.apiGroups': atomic,
  'ResourceRule.resources': atomic,
  'ResourceRule.resourceNames': atomic,
  'NonResourceRule.verbs': atomic,
  'NonResourceRule.nonResourceURLs': atomic,
  'FieldSelectorAttributes.requirements': atomic,
  'LabelSelectorAttributes.requirements': atomic,
  'FieldSelectorRequirement.values': atomic,
};

/** Definitions kube marks `x-kubernetes-map-type: atomic` (structType=atomic): replaced whole by SSA. */
const ATOMIC_STRUCTS = new Set([
  `${PKG.meta}.LabelSelector`,
  `${PKG.core}.LocalObjectReference`,
  `${PKG.core}.ObjectReference`,
  `${PKG.core}.TypedLocalObjectReference`,
  `${PKG.core}.ConfigMapKeySelector`,
  `${PKG.core}.SecretKeySelector`,
  `${PKG.core}.ObjectFieldSelector`,
  `${PKG.core}.ResourceFieldSelector`,
  `${PKG.core}.NodeSelector`,
  `${PKG.core}.NodeSelectorTerm`,
  `${PKG.core}.SecretReference`,
  `${PKG.core}.ClaimSource`,
  `${PKG.core}.TopologySelectorTerm`,
  `${PKG.rbac}.RoleRef`,
]);

/** Leaf definitions client-node has no model for (or models as `any`). */
const HAND_WRITTEN: Record<string, Schema> = {
  [`${PKG.resource}.Quantity`]: {
    description:
      'Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the "" case in <decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= "+" | "-" <signedNumber>    ::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | "" | k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn\'t choose the capitalization.)\n\n<decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber> ```\n\nNo matter which of the three exponent forms is used, no quantity may represent a number greater than 2^63-1 in magnitude, nor may it have more than 3 decimal places. Numbers larger or more precise will be capped or rounded up. (E.g.: 0.1m will rounded up to 1m.) This may be extended in the future if we require larger or smaller quantities.\n\nWhen a Quantity is parsed from a string, it will remember the type of suffix it had, and will use the same type again when it is serialized.\n\nBefore serializing, Quantity will be put in "canonical form". This means that Exponent/suffix will be adjusted up or down (with a corresponding increase or decrease in Mantissa) such that:\n\n- No precision is lost - No fractional digits will be emitted - The exponent (or suffix) is as large as possible.\n\nThe sign will be omitted unless the number is negative.\n\nExamples:\n\n- 1.5 will be serialized as "1500m" - 1.5Gi will be serialized as "1536Mi"\n\nNote that the quantity will NEVER be internally represented by a floating point number. That is the whole point of this exercise.\n\nNon-canonical values will still parse as long as they are well formed, but will be re-emitted in their canonical form. (So always use canonical form, or don\'t diff.)\n\nThis format is intended to make it difficult to use these numbers without writing some sort of special handling code in the hopes that that will cause implementors to also use a fixed point implementation.',
    type: 'string',
  },
  [`${PKG.intstr}.IntOrString`]: {
    description:
      'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
    format: 'int-or-string',
    type: 'string',
  },
  [`${PKG.meta}.Time`]: {
    description:
      'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers.',
    format: 'date-time',
    type: 'string',
  },
  [`${PKG.meta}.MicroTime`]: {
    description: 'MicroTime is version of Time with microsecond level precision.',
    format: 'date-time',
    type: 'string',
  },
  [`${PKG.meta}.FieldsV1`]: {
    description:
      "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is either a '.' representing the field itself, and will always map to an empty set, or a string representing a sub-field or item. The string will follow one of these four formats: 'f:<name>', where <name> is the name of a field in a struct, or key in a map 'v:<value>', where <value> is the exact json formatted value of a list item 'i:<index>', where <index> is position of a item in a list 'k:<keys>', where <keys> is a map of  a list item's key fields to their unique values If a key maps to an empty Fields value, the field that key represents is part of the set.\n\nThe exact format is defined in sigs.k8s.io/structured-merge-diff",
    type: 'object',
  },
  [`${PKG.meta}.Patch`]: {
    description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.',
    type: 'object',
  },
  [`${PKG.runtime}.RawExtension`]: {
    description:
      'RawExtension is used to hold extensions in external versions.\n\nTo use this, make a field which has RawExtension as its type in your external version struct, and Object in your internal struct. You also need to register your various plugin types.\n\n// Internal package:\n\n\ttype MyAPIObject struct {\n\t\truntime.TypeMeta `json:",inline"`\n\t\tMyPlugin runtime.Object `json:"myPlugin"`\n\t}\n\n\ttype PluginA struct {\n\t\tAOption string `json:"aOption"`\n\t}\n\n// External package:\n\n\ttype MyAPIObject struct {\n\t\truntime.TypeMeta `json:",inline"`\n\t\tMyPlugin runtime.RawExtension `json:"myPlugin"`\n\t}\n\n\ttype PluginA struct {\n\t\tAOption string `json:"aOption"`\n\t}\n\n// On the wire, the JSON will look something like this:\n\n\t{\n\t\t"kind":"MyAPIObject",\n\t\t"apiVersion":"v1",\n\t\t"myPlugin": {\n\t\t\t"kind":"PluginA",\n\t\t\t"aOption":"foo",\n\t\t},\n\t}\n\nSo what happens? Decode first uses json or yaml to unmarshal the serialized data into your external MyAPIObject. That causes the raw JSON to be stored, but not unpacked. The next step is to copy (using pkg/conversion) into the internal struct. The runtime package\'s DefaultScheme has conversion functions installed which will unpack the JSON stored in RawExtension, turning it into the correct object type, and storing it in the Object. (TODO: In the case where the object is of an unknown type, a runtime.Unknown object will be created and stored.)',
    type: 'object',
  },
  [`${PKG.apiext}.JSON`]: {
    description:
      'JSON represents any valid JSON value. These types are supported: bool, int64, float64, string, []interface{}, map[string]interface{} and nil.',
    'x-kubernetes-preserve-unknown-fields': true,
  },
  [`${PKG.apiext}.JSONSchemaPropsOrArray`]: {
    description:
      'JSONSchemaPropsOrArray represents a value that can either be a JSONSchemaProps or an array of JSONSchemaProps. Mainly here for serialization purposes.',
    'x-kubernetes-preserve-unknown-fields': true,
  },
  [`${PKG.apiext}.JSONSchemaPropsOrBool`]: {
    description:
      'JSONSchemaPropsOrBool represents JSONSchemaProps or a boolean value. Defaults to true for the boolean property.',
    'x-kubernetes-preserve-unknown-fields': true,
  },
  [`${PKG.apiext}.CustomResourceSubresourceStatus`]: {
    description:
      'CustomResourceSubresourceStatus defines how to serve the status subresource for CustomResources. Status is represented by the `.status` JSON path inside of a CustomResource. When set, * exposes a /status subresource for the custom resource * PUT requests to the /status subresource take a custom resource object, and ignore changes to anything except the status stanza * PUT/POST/PATCH requests to the custom resource ignore changes to the status stanza',
    type: 'object',
  },
};

const STD_DESCRIPTIONS: Record<string, string> = {
  metadata:
    "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
  listMetadata:
    'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
};

// ---- reading client-node's models ----------------------------------------------------------------

interface Model {
  attrs: Attr[];
  description: string | undefined;
  propDocs: Map<string, string>;
  required: Set<string>;
}

const modelCache = new Map<string, Model>();

function unescapeDoc(s: string): string {
  return s.replace(/\\(.)/g, '$1').trim();
}

async function loadModel(name: string): Promise<Model> {
  const cached = modelCache.get(name);
  if (cached) return cached;
  const mod = (await import(join(modelsDir, `${name}.js`))) as Record<string, { attributeTypeMap?: Attr[] }>;
  const attrs = mod[name]?.attributeTypeMap;
  if (!attrs) throw new Error(`model ${name} has no attributeTypeMap`);
  const dts = readFileSync(join(modelsDir, `${name}.d.ts`), 'utf8');
  const classDoc = /\/\*\*\n\* ([\s\S]*?)\n\*\/\nexport declare class/.exec(dts);
  const propDocs = new Map<string, string>();
  const required = new Set<string>();
  const propRe = /(?:\/\*\*\n {4}\* ([\s\S]*?)\n {4}\*\/\n)? {4}'([^']+)'(\??):/g;
  for (let m = propRe.exec(dts); m; m = propRe.exec(dts)) {
    const [, doc, prop, optional] = m;
    if (doc) propDocs.set(prop!, unescapeDoc(doc));
    if (optional !== '?') required.add(prop!);
  }
  const model: Model = {
    attrs,
    description: classDoc?.[1] ? unescapeDoc(classDoc[1]) : undefined,
    propDocs,
    required,
  };
  modelCache.set(name, model);
  return model;
}

/** Models reached first from another group's types but defined in core/v1. */
const MODEL_PKG: Record<string, string> = { V1PodTemplateSpec: PKG.core };

/**
 * Definition name of a client-node model: fixed once a model is first reached, inheriting the
 * referrer's package when neither the name nor the tables say otherwise.
 */
function definitionName(model: string, referrerPkg: string): string {
  const known = defOf.get(model);
  if (known) return known;
  const forced = MODEL_PKG[model];
  if (forced) return `${forced}.${model.replace(/^V1/, '')}`;
  for (const [prefix, pkg] of Object.entries(PREFIX_PKG)) {
    if (model.startsWith(prefix)) return `${pkg}.${model.slice(prefix.length)}`;
  }
  const short = model.replace(/^V1/, '');
  if (META_TYPES.has(short)) return `${PKG.meta}.${short}`;
  return `${referrerPkg}.${short}`;
}

const defs = new Map<string, Schema>();
const modelOf = new Map<string, string>();
const defOf = new Map<string, string>();
const queue: { model: string; def: string; gvk: Root['gvk'] }[] = [];

function enqueue(model: string, def: string, gvk?: Root['gvk']): void {
  const seen = modelOf.get(def);
  if (seen !== undefined) {
    if (seen !== model) throw new Error(`definition ${def} claimed by ${seen} and ${model}`);
    return;
  }
  modelOf.set(def, model);
  defOf.set(model, def);
  queue.push({ model, def, gvk });
}

function pkgOf(def: string): string {
  return def.slice(0, def.lastIndexOf('.'));
}

function isModel(t: string): boolean {
  return /^[A-Z]/.test(t) && t !== 'Date' && t !== 'IntOrString';
}

function typeSchema(type: string, format: string, referrerPkg: string): Schema {
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) return { type: 'array', items: typeSchema(arr[1]!, format, referrerPkg) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { type: 'object', additionalProperties: typeSchema(map[1]!, format, referrerPkg) };
  switch (type) {
    case 'string':
      return format === 'byte' ? { format: 'byte', type: 'string' } : { type: 'string' };
    case 'boolean':
      return { type: 'boolean' };
    case 'number':
      if (format === 'double') return { format: 'double', type: 'number' };
      return format ? { format, type: 'integer' } : { type: 'integer' };
    case 'Date':
      return { $ref: `#/definitions/${PKG.meta}.${format === 'date-time-micro' ? 'MicroTime' : 'Time'}` };
    case 'V1MicroTime':
      return { $ref: `#/definitions/${PKG.meta}.MicroTime` };
    case 'IntOrString':
      return { $ref: `#/definitions/${PKG.intstr}.IntOrString` };
    case 'any':
      return {};
    default: {
      if (!isModel(type)) throw new Error(`unknown client-node type ${type}`);
      const def = definitionName(type, referrerPkg);
      enqueue(type, def);
      return { $ref: `#/definitions/${def}` };
    }
  }
}

/** The description a bare `$ref` property gets when client-node dropped the field's own. */
function refDescription(prop: string, ownerModel: string, s: Schema): string | undefined {
  if (prop === 'metadata')
    return ownerModel.endsWith('List') ? STD_DESCRIPTIONS.listMetadata : STD_DESCRIPTIONS.metadata;
  const ref = typeof s.$ref === 'string' ? s.$ref.slice('#/definitions/'.length) : undefined;
  if (!ref) return undefined;
  const model = modelOf.get(ref);
  if (model) return modelCache.get(model)?.description;
  const hand = HAND_WRITTEN[ref]?.description;
  return typeof hand === 'string' ? hand : undefined;
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]!);
    return out;
  }
  return v;
}

async function main(): Promise<void> {
  for (const r of ROOTS) {
    enqueue(r.model, `${r.pkg}.${r.name ?? r.model.replace(/^(V1|CoreV1|AuthenticationV1)/, '')}`, r.gvk);
  }
  const pendingRefDocs: { def: string; model: string; prop: string }[] = [];
  while (queue.length) {
    const { model: name, def, gvk } = queue.shift()!;
    const model = await loadModel(name);
    const pkg = pkgOf(def);
    const short = def.slice(pkg.length + 1);
    const properties: Record<string, Json> = {};
    for (const a of model.attrs) {
      const override = TYPE_OVERRIDES[`${name}.${a.baseName}`];
      const s: Schema = override ? structuredClone(override) : typeSchema(a.type, a.format, pkg);
      const doc = model.propDocs.get(a.name);
      if (doc) s.description = doc;
      else if (s.$ref) pendingRefDocs.push({ def, model: name, prop: a.baseName });
      Object.assign(s, PROPERTY_EXTENSIONS[`${short}.${a.baseName}`] ?? {});
      properties[a.baseName] = s;
    }
    const schema: Schema = { type: 'object', properties };
    if (model.description) schema.description = model.description;
    const required = model.attrs.filter((a) => model.required.has(a.name)).map((a) => a.baseName);
    if (required.length) schema.required = required;
    if (gvk) schema['x-kubernetes-group-version-kind'] = gvk;
    if (ATOMIC_STRUCTS.has(def)) schema['x-kubernetes-map-type'] = 'atomic';
    defs.set(def, schema);
  }
  for (const [name, s] of Object.entries(HAND_WRITTEN)) defs.set(name, s);
  for (const { def, model, prop } of pendingRefDocs) {
    const props = defs.get(def)!.properties as Record<string, Schema>;
    const p = props[prop]!;
    const d = refDescription(prop, model, p);
    if (d) p.description = d;
  }
  // every $ref must resolve
  const text = JSON.stringify(Object.fromEntries(defs));
  for (const m of text.matchAll(/"#\/definitions\/([^"]+)"/g)) {
    if (!defs.has(m[1]!)) throw new Error(`dangling $ref ${m[1]}`);
  }
  // a typo (or a field client-node's kube version lacks) must not silently drop an extension
  for (const key of Object.keys(PROPERTY_EXTENSIONS)) {
    const short = key.slice(0, key.indexOf('.'));
    const prop = key.slice(short.length + 1);
    const hit = [...defs.entries()].some(
      ([d, s]) => d.endsWith(`.${short}`) && prop in (s.properties as Record<string, Json>),
    );
    if (!hit) console.warn(`extension for unknown property ${key}`);
  }
  const sorted = sortKeys(Object.fromEntries([...defs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
  const config = (await prettier.resolveConfig(outFile)) ?? {};
  const out = await prettier.format(JSON.stringify({ definitions: sorted }), { ...config, parser: 'json' });
  writeFileSync(outFile, out);
  console.log(`wrote ${defs.size} definitions, ${out.length} bytes to ${outFile}`);
}

await main();
