// Per-kind write rules that kube-apiserver's registry strategies apply before validation:
// what is reset on create (status), what an update of the main resource or of `/status` may change,
// when `metadata.generation` moves, and which kinds may be created by PUT.

import type { KubeObject, ResourceInfo } from './types.ts';
import { storageKey } from './registry.ts';

/** Kinds whose PUT on a missing object creates it (rest.Updater AllowCreateOnUpdate). */
const createOnUpdate = new Set([
  'endpoints',
  'events',
  'leases.coordination.k8s.io',
  'roles.rbac.authorization.k8s.io',
  'clusterroles.rbac.authorization.k8s.io',
  'rolebindings.rbac.authorization.k8s.io',
  'clusterrolebindings.rbac.authorization.k8s.io',
  'apiservices.apiregistration.k8s.io',
]);

export function allowCreateOnUpdate(info: ResourceInfo): boolean {
  return createOnUpdate.has(storageKey(info));
}

/** Everything but metadata and status: a change here bumps `metadata.generation`. */
export function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

export function tracksGeneration(info: ResourceInfo): boolean {
  return Boolean(info.hasGeneration || info.crd);
}

/** Create: drop status where a status subresource owns it; set server-side defaults. */
export function prepareForCreate(info: ResourceInfo, obj: KubeObject): void {
  const key = storageKey(info);
  if (info.statusSubresource && key !== 'namespaces' && key !== 'pods' && key !== 'nodes') delete obj.status;
  if (tracksGeneration(info)) obj.metadata.generation = 1;
  switch (key) {
    case 'namespaces': {
      obj.spec = { finalizers: ['kubernetes'] };
      obj.status = { phase: 'Active' };
      const labels = { ...(obj.metadata.labels ?? {}) };
      labels['kubernetes.io/metadata.name'] = obj.metadata.name!;
      obj.metadata.labels = labels;
      break;
    }
    case 'secrets':
      if (obj.type === undefined || obj.type === '') obj.type = 'Opaque';
      break;
    case 'services': {
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      if (spec.type !== 'ExternalName') {
        spec.clusterIP ??= `10.96.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
        spec.clusterIPs ??= [spec.clusterIP];
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      if (Array.isArray(spec.ports)) {
        spec.ports = (spec.ports as Record<string, unknown>[]).map((p) => ({
          protocol: 'TCP',
          targetPort: p.port,
          ...p,
        }));
      }
      obj.spec = spec;
      obj.status = { loadBalancer: {} };
      break;
    }
    case 'pods': {
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      spec.restartPolicy ??= 'Always';
      spec.terminationGracePeriodSeconds ??= 30;
      spec.dnsPolicy ??= 'ClusterFirst';
      spec.serviceAccountName ??= 'default';
      spec.schedulerName ??= 'default-scheduler';
      spec.enableServiceLinks ??= true;
      spec.preemptionPolicy ??= 'PreemptLowerPriority';
      spec.priority ??= 0;
      spec.securityContext ??= {};
      if (Array.isArray(spec.containers)) {
        spec.containers = (spec.containers as Record<string, unknown>[]).map((c) => ({
          imagePullPolicy: imagePullPolicyFor(typeof c.image === 'string' ? c.image : ''),
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          resources: {},
          ...c,
          ...(Array.isArray(c.ports)
            ? { ports: (c.ports as Record<string, unknown>[]).map((p) => ({ protocol: 'TCP', ...p })) }
            : {}),
        }));
      }
      obj.spec = spec;
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    }
    case 'deployments.apps': {
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      const strategy = (spec.strategy ?? {}) as Record<string, unknown>;
      strategy.type ??= 'RollingUpdate';
      if (strategy.type === 'RollingUpdate')
        strategy.rollingUpdate = {
          maxSurge: '25%',
          maxUnavailable: '25%',
          ...(strategy.rollingUpdate as object | undefined),
        };
      spec.strategy = strategy;
      obj.spec = spec;
      break;
    }
    case 'serviceaccounts':
    case 'configmaps':
    default:
      break;
  }
}

/**
 * Update of the main resource: status is kept from the old object where a status subresource owns it.
 * Update of `/status`: only status changes (plus nothing else), as kube's status strategies do.
 */
export function prepareForUpdate(
  info: ResourceInfo,
  subresource: string,
  next: KubeObject,
  old: KubeObject,
): KubeObject {
  if (subresource === 'status') {
    const merged: KubeObject = { ...old, metadata: { ...old.metadata } };
    if (next.status === undefined) delete merged.status;
    else merged.status = next.status;
    // labels/annotations may change through /status on custom resources and most kinds
    if (next.metadata.labels !== undefined) merged.metadata.labels = next.metadata.labels;
    if (next.metadata.annotations !== undefined) merged.metadata.annotations = next.metadata.annotations;
    merged.metadata.resourceVersion = next.metadata.resourceVersion;
    return merged;
  }
  if (info.statusSubresource) {
    if (old.status === undefined) delete next.status;
    else next.status = old.status;
  }
  if (storageKey(info) === 'namespaces') {
    next.spec = old.spec;
    const labels = { ...(next.metadata.labels ?? {}) };
    labels['kubernetes.io/metadata.name'] = next.metadata.name!;
    next.metadata.labels = labels;
  }
  if (storageKey(info) === 'secrets') {
    if (next.type === undefined || next.type === '') next.type = old.type;
  }
  return next;
}

/** kube's default: `Always` for `:latest` or untagged images, `IfNotPresent` otherwise. */
function imagePullPolicyFor(image: string): string {
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  return image.endsWith(':latest') || !lastSegment.includes(':') ? 'Always' : 'IfNotPresent';
}

/** Secret `stringData` is write-only: its entries overwrite `data` (base64-encoded) and it is dropped. */
export function mergeStringData(secret: KubeObject): void {
  const sd = secret.stringData;
  if (sd === undefined || sd === null) return;
  delete secret.stringData;
  if (typeof sd !== 'object' || Array.isArray(sd)) return;
  const data = { ...((secret.data as Record<string, string> | undefined) ?? {}) };
  for (const [k, v] of Object.entries(sd as Record<string, unknown>)) {
    if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
  }
  secret.data = data;
}
