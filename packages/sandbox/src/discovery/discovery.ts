// Discovery documents exactly as kube-apiserver serves them: legacy (/api, /apis, /apis/<g>,
// group-version APIResourceLists) and aggregated discovery v2 (APIGroupDiscoveryList) which kubectl
// asks for first. Built from the ResourceRegistry plus groups contributed by the aggregation layer.

import { createHash } from 'node:crypto';
import type { ResourceInfo } from '../api/types.ts';

/** Builtin group order as kube-apiserver publishes it (group priority), CRD groups follow by name. */
const GROUP_ORDER = [
  '',
  'apiregistration.k8s.io',
  'apps',
  'events.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'batch',
  'certificates.k8s.io',
  'networking.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'scheduling.k8s.io',
  'coordination.k8s.io',
  'node.k8s.io',
  'discovery.k8s.io',
  'flowcontrol.apiserver.k8s.io',
];

interface SubresourceFacts {
  kind: string;
  group?: string;
  version?: string;
  verbs: string[];
}

const SUBRESOURCES: Record<string, SubresourceFacts> = {
  status: { kind: '', verbs: ['get', 'patch', 'update'] },
  scale: { kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: ['get', 'patch', 'update'] },
  log: { kind: 'Pod', verbs: ['get'] },
  exec: { kind: 'PodExecOptions', verbs: ['create', 'get'] },
  attach: { kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  portforward: { kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  binding: { kind: 'Binding', verbs: ['create'] },
  eviction: { kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
  ephemeralcontainers: { kind: 'Pod', verbs: ['get', 'patch', 'update'] },
  token: { kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] },
  finalize: { kind: 'Namespace', verbs: ['update'] },
  proxy: { kind: '', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
};

function proxyKind(info: ResourceInfo): string {
  return info.resource === 'nodes' ? 'NodeProxyOptions' : 'ServiceProxyOptions';
}

/** Aggregated (non-local) group versions, e.g. from APIServices pointing at extension servers. */
export interface ExternalGroupVersion {
  group: string;
  version: string;
  groupPriorityMinimum: number;
  versionPriority: number;
  /** APIResourceList from the backend, or undefined when it is unavailable */
  resources: Record<string, unknown>[] | undefined;
}

export interface DiscoveryInput {
  local: readonly ResourceInfo[];
  external: ExternalGroupVersion[];
  serverAddress: string;
}

interface GroupEntry {
  name: string;
  versions: string[];
  preferred: string;
}

function groupRank(g: string): number {
  const i = GROUP_ORDER.indexOf(g);
  return i === -1 ? GROUP_ORDER.length : i;
}

/** kube's version ordering: GA > beta > alpha, higher numbers first. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stage = m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && !pb) return -1;
  if (!pa && pb) return 1;
  if (!pa || !pb) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pb[i]! - pa[i]!;
  return 0;
}

export function groups(input: DiscoveryInput): GroupEntry[] {
  const byGroup = new Map<string, Set<string>>();
  for (const r of input.local) {
    if (r.group === '') continue;
    let s = byGroup.get(r.group);
    if (!s) byGroup.set(r.group, (s = new Set()));
    s.add(r.version);
  }
  const prio = new Map<string, number>();
  for (const e of input.external) {
    let s = byGroup.get(e.group);
    if (!s) byGroup.set(e.group, (s = new Set()));
    s.add(e.version);
    prio.set(e.group, Math.max(prio.get(e.group) ?? 0, e.groupPriorityMinimum));
  }
  const list = [...byGroup.entries()].map(([name, vs]) => {
    const versions = [...vs].sort(compareKubeVersions);
    return { name, versions, preferred: versions[0]! };
  });
  list.sort((a, b) => {
    const ra = groupRank(a.name);
    const rb = groupRank(b.name);
    if (ra !== rb) return ra - rb;
    const pa = prio.get(a.name) ?? 1000;
    const pb = prio.get(b.name) ?? 1000;
    if (pa !== pb) return pb - pa;
    return a.name < b.name ? -1 : 1;
  });
  return list;
}

export function apiVersions(input: DiscoveryInput): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: input.serverAddress }],
  };
}

function apiGroup(g: GroupEntry): Record<string, unknown> {
  return {
    name: g.name,
    versions: g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${g.name}/${g.preferred}`, version: g.preferred },
  };
}

export function apiGroupList(input: DiscoveryInput): unknown {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups(input).map(apiGroup) };
}

export function apiGroupDoc(input: DiscoveryInput, group: string): unknown {
  const g = groups(input).find((x) => x.name === group);
  if (!g) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) };
}

function storageVersionHash(r: ResourceInfo): string {
  return createHash('sha256').update(`${r.group}/${r.version}/${r.kind}`).digest('base64').slice(0, 11);
}

/** The APIResourceList of a local group version, or undefined if nothing is served there. */
export function apiResourceList(local: readonly ResourceInfo[], group: string, version: string): unknown {
  const rs = local.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const r of [...rs].sort((a, b) => (a.resource < b.resource ? -1 : 1))) {
    const e: Record<string, unknown> = {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
    };
    if (r.shortNames.length) e.shortNames = r.shortNames;
    if (r.categories.length) e.categories = r.categories;
    if (r.verbs.includes('get')) e.storageVersionHash = storageVersionHash(r);
    resources.push(e);
    for (const sub of r.subresources) {
      const f = SUBRESOURCES[sub] ?? { kind: r.kind, verbs: ['get'] };
      const s: Record<string, unknown> = {
        name: `${r.resource}/${sub}`,
        singularName: '',
        namespaced: r.namespaced,
        kind: sub === 'proxy' ? proxyKind(r) : f.kind || r.kind,
        verbs: f.verbs,
      };
      if (f.group !== undefined) s.group = f.group;
      if (f.version !== undefined) s.version = f.version;
      resources.push(s);
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

function v2Resources(local: readonly ResourceInfo[], group: string, version: string): Record<string, unknown>[] {
  return local
    .filter((r) => r.group === group && r.version === version)
    .sort((a, b) => (a.resource < b.resource ? -1 : 1))
    .map((r) => {
      const e: Record<string, unknown> = {
        resource: r.resource,
        responseKind: { group: r.group, version: r.version, kind: r.kind },
        scope: r.namespaced ? 'Namespaced' : 'Cluster',
        singularResource: r.singular,
        verbs: r.verbs,
      };
      if (r.shortNames.length) e.shortNames = r.shortNames;
      if (r.categories.length) e.categories = r.categories;
      if (r.subresources.length) {
        e.subresources = r.subresources.map((sub) => {
          const f = SUBRESOURCES[sub] ?? { kind: r.kind, verbs: ['get'] };
          return {
            subresource: sub,
            responseKind: {
              group: f.group ?? r.group,
              version: f.version ?? r.version,
              kind: sub === 'proxy' ? proxyKind(r) : f.kind || r.kind,
            },
            verbs: f.verbs,
          };
        });
      }
      return e;
    });
}

/** Convert a legacy APIResourceList entry set (from an aggregated backend) to v2 resources. */
function v2FromLegacy(group: string, version: string, list: Record<string, unknown>[]): Record<string, unknown>[] {
  const top = list.filter((e) => typeof e.name === 'string' && !e.name.includes('/'));
  return top.map((e) => {
    const name = e.name as string;
    const out: Record<string, unknown> = {
      resource: name,
      responseKind: { group, version, kind: e.kind },
      scope: e.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: e.singularName ?? '',
      verbs: e.verbs ?? [],
    };
    if (Array.isArray(e.shortNames)) out.shortNames = e.shortNames;
    if (Array.isArray(e.categories)) out.categories = e.categories;
    const subs = list.filter((s) => typeof s.name === 'string' && s.name.startsWith(`${name}/`));
    if (subs.length) {
      out.subresources = subs.map((s) => ({
        subresource: (s.name as string).slice(name.length + 1),
        responseKind: {
          group: (s.group as string | undefined) ?? group,
          version: (s.version as string | undefined) ?? version,
          kind: s.kind,
        },
        verbs: s.verbs ?? [],
      }));
    }
    return out;
  });
}

export const DISCOVERY_V2_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Aggregated discovery for `/api` (core only) or `/apis` (everything else). */
export function aggregatedDiscovery(input: DiscoveryInput, core: boolean): unknown {
  const items: unknown[] = [];
  if (core) {
    items.push({
      metadata: { name: '', creationTimestamp: null },
      versions: [{ version: 'v1', resources: v2Resources(input.local, '', 'v1'), freshness: 'Current' }],
    });
  } else {
    for (const g of groups(input)) {
      const versions = g.versions.map((v) => {
        const ext = input.external.find((e) => e.group === g.name && e.version === v);
        if (ext) {
          return ext.resources
            ? { version: v, resources: v2FromLegacy(g.name, v, ext.resources), freshness: 'Current' }
            : { version: v, freshness: 'Stale' };
        }
        return { version: v, resources: v2Resources(input.local, g.name, v), freshness: 'Current' };
      });
      items.push({ metadata: { name: g.name, creationTimestamp: null }, versions });
    }
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
