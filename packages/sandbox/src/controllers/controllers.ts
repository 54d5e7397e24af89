// The few controllers a cluster needs for its API to behave as users expect, run in-process on store
// events: bootstrap objects (system namespaces, RBAC defaults, the `kubernetes` Service), namespace
// lifecycle (a deleted namespace empties, then disappears), a `default` ServiceAccount and the
// `kube-root-ca.crt` ConfigMap in every namespace, legacy ServiceAccount token Secrets, and
// CustomResourceDefinition establishment (names accepted, resources served, cleanup on delete).

import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../api/types.ts';
import type { SandboxCluster } from '../server/cluster.ts';
import { thaw, type StoreEvent } from '../store/store.ts';
import { bootstrapPolicy } from '../auth/bootstrap-policy.ts';
import { crdResourceInfos, crdStatus, defaultCrd } from '../crd/crd-validation.ts';

const CRD_KEY = 'customresourcedefinitions.apiextensions.k8s.io';
const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function meta(name: string, namespace?: string, extra: Partial<KubeObject['metadata']> = {}): KubeObject['metadata'] {
  const m: KubeObject['metadata'] = { name, uid: randomUUID(), creationTimestamp: now(), ...extra };
  if (namespace) m.namespace = namespace;
  return m;
}

export function installControllers(c: SandboxCluster): () => void {
  const rest = c.rest;
  const queue: (() => void)[] = [];
  let scheduled = false;
  let stopped = false;
  // controllers react asynchronously, as real ones do, but in order
  const enqueue = (fn: () => void): void => {
    queue.push(fn);
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        while (queue.length && !stopped) {
          try {
            queue.shift()!();
          } catch {
            // a controller failure must never take the API server down; the next event retries
          }
        }
      });
    }
  };

  const ensureNamespaceContent = (ns: string): void => {
    if (!c.store.get('serviceaccounts', ns, 'default')) {
      rest.systemUpdate('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('default', ns) });
    }
    if (!c.store.get('configmaps', ns, 'kube-root-ca.crt')) {
      rest.systemUpdate('configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta('kube-root-ca.crt', ns, {
          annotations: {
            'kubernetes.io/description':
              'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
          },
        }),
        data: { 'ca.crt': c.ca.cert },
      });
    }
  };

  const finishNamespace = (ns: KubeObject): void => {
    const name = ns.metadata.name!;
    for (const key of c.store.types()) {
      if (key === 'namespaces') continue;
      for (const o of c.store.list(key, name)) {
        if (o.metadata.namespace !== name) continue;
        c.rest.systemRemove(key, name, o.metadata.name!);
      }
    }
    const current = c.store.get('namespaces', undefined, name);
    if (!current) return;
    if (current.metadata.finalizers?.length) {
      // other finalizers hold the namespace; drop only the built-in spec finalizer
      const next = thaw(current);
      next.spec = { finalizers: [] };
      rest.systemUpdate('namespaces', next);
      return;
    }
    c.rest.systemRemove('namespaces', undefined, name);
  };

  const tokenSecret = (s: KubeObject): void => {
    if (s.type !== 'kubernetes.io/service-account-token') return;
    const data = (s.data ?? {}) as Record<string, string>;
    if (data.token) return;
    const saName = s.metadata.annotations?.['kubernetes.io/service-account.name'];
    if (!saName) return;
    const sa = c.store.get('serviceaccounts', s.metadata.namespace, saName);
    if (!sa) return;
    const next = thaw(s);
    const token = c.saTokens.legacyToken({
      namespace: s.metadata.namespace!,
      name: saName,
      uid: sa.metadata.uid!,
      secretName: s.metadata.name!,
    });
    next.data = {
      ...data,
      token: Buffer.from(token).toString('base64'),
      'ca.crt': Buffer.from(c.ca.cert).toString('base64'),
      namespace: Buffer.from(s.metadata.namespace!).toString('base64'),
    };
    next.metadata.annotations = { ...next.metadata.annotations, 'kubernetes.io/service-account.uid': sa.metadata.uid! };
    rest.systemUpdate('secrets', next);
  };

  const crd = (obj: KubeObject, deleted: boolean): void => {
    const name = obj.metadata.name!;
    if (deleted) {
      c.registry.setCrd(name, []);
      c.openapi.invalidate();
      return;
    }
    const current = c.store.get(CRD_KEY, undefined, name);
    if (!current) return;
    if (current.metadata.deletionTimestamp) {
      // delete every custom resource, then release the CRD
      const infos = crdResourceInfos(current);
      const first = infos[0];
      if (first) {
        const key = `${first.resource}.${first.group}`;
        for (const o of c.store.list(key)) c.rest.systemRemove(key, o.metadata.namespace, o.metadata.name!);
        // the resource's storage is gone: open watches end, as kube-apiserver closes them
        c.store.terminateWatches(key);
      }
      c.registry.setCrd(name, []);
      c.openapi.invalidate();
      const next = thaw(current);
      next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
      if (next.metadata.finalizers.length === 0) c.rest.systemRemove(CRD_KEY, undefined, name);
      else rest.systemUpdate(CRD_KEY, next);
      return;
    }
    const next = defaultCrd(thaw(current));
    if (!next.metadata.finalizers?.includes(CRD_CLEANUP_FINALIZER))
      next.metadata.finalizers = [...(next.metadata.finalizers ?? []), CRD_CLEANUP_FINALIZER];
    // names must not clash with another established CRD
    const names = next.spec as { names?: { plural?: string }; group?: string };
    const clash = c.store
      .list(CRD_KEY)
      .some(
        (o) =>
          o.metadata.name !== name &&
          (o.spec as typeof names).group === names.group &&
          (o.spec as typeof names).names?.plural === names.names?.plural,
      );
    next.status = crdStatus(next, !clash);
    rest.systemUpdate(CRD_KEY, next);
    if (!clash) {
      c.registry.setCrd(name, crdResourceInfos(next));
      c.openapi.invalidate();
    }
  };

  const onEvent = (ev: StoreEvent): void => {
    switch (ev.gr) {
      case 'namespaces':
        if (ev.type === 'ADDED')
          enqueue(() => {
            ensureNamespaceContent(ev.object.metadata.name!);
          });
        else if (ev.type === 'MODIFIED' && ev.object.metadata.deletionTimestamp) {
          const ns = ev.object;
          if (
            (ns.spec as { finalizers?: string[] } | undefined)?.finalizers?.includes('kubernetes') ||
            !ns.metadata.finalizers?.length
          )
            enqueue(() => {
              finishNamespace(ns);
            });
        }
        break;
      case 'secrets':
        if (ev.type !== 'DELETED')
          enqueue(() => {
            tokenSecret(ev.object);
          });
        break;
      case CRD_KEY:
        if (ev.type === 'DELETED')
          enqueue(() => {
            crd(ev.object, true);
          });
        else if (!crdEventIsOwnStatusWrite(ev))
          enqueue(() => {
            crd(ev.object, false);
          });
        break;
      case 'serviceaccounts':
        // a deleted ServiceAccount invalidates its legacy token Secrets
        if (ev.type === 'DELETED') {
          const ns = ev.object.metadata.namespace;
          enqueue(() => {
            for (const s of c.store.list('secrets', ns)) {
              if (
                s.type === 'kubernetes.io/service-account-token' &&
                s.metadata.annotations?.['kubernetes.io/service-account.name'] === ev.object.metadata.name
              ) {
                c.rest.systemRemove('secrets', ns, s.metadata.name!);
              }
            }
          });
        }
        break;
    }
  };
  const unsubscribe = c.store.watch('*', c.store.resourceVersion, onEvent);

  // bootstrap: what a fresh kube-apiserver + controller-manager publish
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    rest.systemUpdate('namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: meta(ns, undefined, { labels: { 'kubernetes.io/metadata.name': ns } }),
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  for (const o of bootstrapPolicy()) {
    const key =
      o.kind === 'ClusterRole'
        ? 'clusterroles'
        : o.kind === 'ClusterRoleBinding'
          ? 'clusterrolebindings'
          : o.kind === 'Role'
            ? 'roles'
            : 'rolebindings';
    const m = thaw(o);
    m.metadata.uid ??= randomUUID();
    m.metadata.creationTimestamp ??= now();
    rest.systemUpdate(`${key}.rbac.authorization.k8s.io`, m);
  }
  rest.systemUpdate('services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('kubernetes', 'default', { labels: { component: 'apiserver', provider: 'kubernetes' } }),
    spec: {
      type: 'ClusterIP',
      clusterIP: '10.96.0.1',
      clusterIPs: ['10.96.0.1'],
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }],
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  });

  return () => {
    stopped = true;
    unsubscribe();
  };
}

/** The CRD controller's own status writes must not retrigger it forever. */
function crdEventIsOwnStatusWrite(ev: StoreEvent): boolean {
  if (ev.type !== 'MODIFIED' || !ev.previous) return false;
  const strip = (o: KubeObject): string =>
    JSON.stringify({
      ...o,
      status: undefined,
      metadata: { ...o.metadata, resourceVersion: '', finalizers: undefined, managedFields: undefined },
    });
  return strip(ev.previous) === strip(ev.object) && !ev.object.metadata.deletionTimestamp;
}
