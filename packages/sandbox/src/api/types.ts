// Shared shapes of the sandbox's API machinery: objects as stored, resource descriptions, request
// attributes and the authenticated user. Every other module speaks in these types.

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Record<string, unknown>[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
  [k: string]: unknown;
}

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

/** One served resource (a group/version/resource triple), builtin or from a CRD. */
export interface ResourceInfo {
  group: string;
  version: string;
  /** plural, lower-case: `configmaps` */
  resource: string;
  kind: string;
  listKind: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** served subresources, e.g. `status`, `token`, `log` */
  subresources: string[];
  /** CRD-backed resources carry their schema for validation, pruning, OpenAPI and Table columns */
  crd?: CrdVersionInfo;
  /** `metadata.generation` increments on spec changes (all but a few kinds) */
  hasGeneration?: boolean;
  /** status subresource splits writes: main resource ignores .status, /status ignores everything else */
  statusSubresource?: boolean;
}

export interface CrdVersionInfo {
  crdName: string;
  schema: Record<string, unknown> | undefined;
  additionalPrinterColumns: PrinterColumn[];
  preserveUnknownFields: boolean;
}

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

/** The authenticated (or impersonated) caller. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** Authorization attributes of one request, as kube-apiserver's authorizer.Attributes. */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** for non-resource requests */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface Decision {
  allowed: boolean;
  /** why it was allowed/denied (RBAC names the binding) */
  reason: string;
}

export interface Authorizer {
  authorize(attrs: Attributes): Decision;
}

export const GR = {
  key(group: string, resource: string): string {
    return group ? `${resource}.${group}` : resource;
  },
};
