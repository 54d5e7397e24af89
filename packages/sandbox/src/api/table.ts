// Server-side printing: `meta.k8s.io/v1 Table` responses (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`)
// with the same columns and cell values kube-apiserver's printers produce
// (k8s.io/kubernetes/pkg/printers/internalversion, the aggregator's APIService printer, the CRD
// additionalPrinterColumns convertor and the default NAME / CREATED AT convertor). The server always
// prints "wide": priority-1 columns are filled and kubectl hides them unless `-o wide`.

import type { KubeObject, PrinterColumn, ResourceInfo } from './types.ts';
import { builtinDefinitions } from '../openapi/schemas.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  includeObject: IncludeObject;
  listMeta?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  now?: Date;
}

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export type Cell = string | number | boolean | null;

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface TableRow {
  cells: Cell[];
  conditions?: TableRowCondition[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

// ---- helpers -------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function obj(v: unknown): Obj {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** kube's `duration.HumanDuration`: `5s`, `3m20s`, `15m`, `2h5m`, `20h`, `2d3h`, `30d`, `2y10d`, `9y`. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    return dy === 0 ? `${Math.trunc(hours / 24 / 365)}y` : `${Math.trunc(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || !v) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

/** `translateTimestampSince`: `<unknown>` for a missing timestamp. */
function since(v: unknown, now: number): string {
  const t = parseTime(v);
  return t === undefined ? '<unknown>' : humanDuration(now - t);
}

/** RFC3339 in UTC, second precision, as Go's `Time.UTC().Format(time.RFC3339)`. */
function rfc3339(v: unknown): string {
  const t = parseTime(v);
  // a zero metav1.Time formats as Go's zero time
  if (t === undefined) return '0001-01-01T00:00:00Z';
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

let docCache: Map<string, string> | undefined;

/** The published description of a builtin field (what kube's printers take from `SwaggerDoc()`). */
function doc(definition: string, field: string): string {
  docCache ??= new Map();
  const key = `${definition}.${field}`;
  let d = docCache.get(key);
  if (d === undefined) {
    const def = builtinDefinitions()[definition];
    const props = obj(def?.properties);
    d = str(obj(props[field]).description);
    docCache.set(key, d);
  }
  return d;
}

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const CORE = 'io.k8s.api.core.v1';
const APPS = 'io.k8s.api.apps.v1';

function col(name: string, type: string, description: string, priority = 0, format = ''): TableColumnDefinition {
  return { name, type, format, description, priority };
}
const nameCol = (): TableColumnDefinition => col('Name', 'string', doc(META, 'name'), 0, 'name');
const ageCol = (): TableColumnDefinition => col('Age', 'string', doc(META, 'creationTimestamp'));

function formatLabels(m: unknown): string {
  const entries = Object.entries(obj(m));
  if (!entries.length) return '<none>';
  return entries
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${str(v)}`)
    .join(',');
}

/** `metav1.FormatLabelSelector`. */
function formatLabelSelector(sel: unknown): string {
  if (sel === null || sel === undefined) return '<none>';
  const s = obj(sel);
  const parts: string[] = [];
  for (const [k, v] of Object.entries(obj(s.matchLabels)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    parts.push(`${k}=${str(v)}`);
  }
  for (const e of arr(s.matchExpressions)) {
    const r = obj(e);
    const key = str(r.key);
    const values = arr(r.values).map(str).sort();
    switch (r.operator) {
      case 'In':
        parts.push(`${key} in (${values.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${key} notin (${values.join(',')})`);
        break;
      case 'Exists':
        parts.push(key);
        break;
      case 'DoesNotExist':
        parts.push(`!${key}`);
        break;
      default:
        break;
    }
  }
  const l = parts.join(',');
  return l || '<none>';
}

// ---- printers ------------------------------------------------------------------------------------

interface Printer {
  columns: () => TableColumnDefinition[];
  row: (o: KubeObject, now: number) => { cells: Cell[]; conditions?: TableRowCondition[] };
}

function condition(conds: unknown, type: string): Obj | undefined {
  return arr(conds)
    .map(obj)
    .find((c) => c.type === type);
}

function printPod(pod: KubeObject, now: number): { cells: Cell[]; conditions?: TableRowCondition[] } {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const containers = arr(spec.containers).map(obj);
  const initContainers = arr(spec.initContainers).map(obj);
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = containers.length;
  let readyContainers = 0;
  let lastRestart = 0;
  let lastRestartableInitRestart = 0;
  const phase = str(status.phase);
  let reason = str(status.reason) || phase;
  for (const c of arr(status.conditions).map(obj)) {
    if (c.type === 'PodScheduled' && c.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }
  let conditions: TableRowCondition[] | undefined;
  if (phase === 'Succeeded') {
    conditions = [
      { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' },
    ];
  } else if (phase === 'Failed') {
    conditions = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
  }
  const restartable = new Set<string>();
  for (const c of initContainers) {
    if (c.restartPolicy === 'Always') {
      restartable.add(str(c.name));
      totalContainers++;
    }
  }
  const terminatedAt = (cs: Obj): number | undefined => parseTime(obj(obj(cs.lastState).terminated).finishedAt);

  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses).map(obj);
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i]!;
    restarts += num(cs.restartCount);
    const t = terminatedAt(cs);
    if (t !== undefined && t > lastRestart) lastRestart = t;
    const isRestartable = restartable.has(str(cs.name));
    if (isRestartable) {
      restartableInitRestarts += num(cs.restartCount);
      if (t !== undefined && t > lastRestartableInitRestart) lastRestartableInitRestart = t;
    }
    const state = obj(cs.state);
    const terminated = state.terminated ? obj(state.terminated) : undefined;
    const waiting = state.waiting ? obj(state.waiting) : undefined;
    if (terminated && num(terminated.exitCode) === 0) continue;
    if (isRestartable && cs.started === true) {
      if (cs.ready === true) readyContainers++;
      continue;
    }
    if (terminated) {
      if (!str(terminated.reason)) {
        reason =
          num(terminated.signal) !== 0
            ? `Init:Signal:${num(terminated.signal)}`
            : `Init:ExitCode:${num(terminated.exitCode)}`;
      } else {
        reason = `Init:${str(terminated.reason)}`;
      }
    } else if (waiting && str(waiting.reason) && waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  const initializedTrue = condition(status.conditions, 'Initialized')?.status === 'True';
  if (!initializing || initializedTrue) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses).map(obj);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      restarts += num(cs.restartCount);
      const t = terminatedAt(cs);
      if (t !== undefined && t > lastRestart) lastRestart = t;
      const state = obj(cs.state);
      const waiting = state.waiting ? obj(state.waiting) : undefined;
      const terminated = state.terminated ? obj(state.terminated) : undefined;
      if (waiting && str(waiting.reason)) {
        reason = str(waiting.reason);
      } else if (terminated && str(terminated.reason)) {
        reason = str(terminated.reason);
      } else if (terminated) {
        reason =
          num(terminated.signal) !== 0 ? `Signal:${num(terminated.signal)}` : `ExitCode:${num(terminated.exitCode)}`;
      } else if (cs.ready === true && state.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      reason = condition(status.conditions, 'Ready')?.status === 'True' ? 'Running' : 'NotReady';
    }
  }

  const deleting = !!pod.metadata.deletionTimestamp;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart !== 0) restartsStr = `${restarts} (${humanDuration(now - lastRestart)} ago)`;

  const podIPs = arr(status.podIPs).map(obj);
  const podIP = str(podIPs[0]?.ip) || '<none>';
  const nodeName = str(spec.nodeName) || '<none>';
  const nominated = str(status.nominatedNodeName) || '<none>';
  let gates = '<none>';
  const readinessGates = arr(spec.readinessGates).map(obj);
  if (readinessGates.length) {
    let trueConditions = 0;
    for (const g of readinessGates) {
      const c = condition(status.conditions, str(g.conditionType));
      if (c?.status === 'True') trueConditions++;
    }
    gates = `${trueConditions}/${readinessGates.length}`;
  }
  const cells: Cell[] = [
    pod.metadata.name ?? '',
    `${readyContainers}/${totalContainers}`,
    reason,
    restartsStr,
    since(pod.metadata.creationTimestamp, now),
    podIP,
    nodeName,
    nominated,
    gates,
  ];
  return conditions ? { cells, conditions } : { cells };
}

function containerCells(template: unknown): [string, string] {
  const containers = arr(obj(obj(template).spec).containers).map(obj);
  return [containers.map((c) => str(c.name)).join(','), containers.map((c) => str(c.image)).join(',')];
}

/** `loadBalancerStatusStringer`. */
function lbStatus(status: unknown, wide: boolean): string {
  const ingress = arr(obj(obj(status).loadBalancer).ingress).map(obj);
  const out: string[] = [];
  for (const i of ingress) {
    if (str(i.ip)) out.push(str(i.ip));
    else if (str(i.hostname)) out.push(str(i.hostname));
  }
  let r = out.join(',');
  if (!wide && r.length > 16) r = `${r.slice(0, 13)}...`;
  return r;
}

function serviceExternalIP(svc: KubeObject, wide: boolean): string {
  const spec = obj(svc.spec);
  const externalIPs = arr(spec.externalIPs).map(str);
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = lbStatus(svc.status, wide);
      if (externalIPs.length) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

function servicePorts(spec: Obj): string {
  const ports = arr(spec.ports).map(obj);
  if (!ports.length) return '<none>';
  return ports
    .map((p) => {
      const proto = str(p.protocol) || 'TCP';
      return num(p.nodePort) > 0 ? `${num(p.port)}:${num(p.nodePort)}/${proto}` : `${num(p.port)}/${proto}`;
    })
    .join(',');
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** `formatEndpoints` with no port filter: at most 3 endpoints, then ` + N more...`. */
function formatEndpoints(ep: KubeObject): string {
  const subsets = arr(ep.subsets).map(obj);
  if (!subsets.length) return '<none>';
  const list: string[] = [];
  const max = 3;
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addresses = arr(ss.addresses).map(obj);
    const ports = arr(ss.ports).map(obj);
    if (!ports.length) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a.ip));
      }
    } else {
      for (const p of ports) {
        count += addresses.length;
        for (const a of addresses) {
          if (list.length === max) {
            more = true;
            break;
          }
          list.push(joinHostPort(str(a.ip), num(p.port)));
        }
      }
    }
  }
  const ret = list.join(',');
  return more ? `${ret} + ${count - max} more...` : ret;
}

function nodeStatus(node: KubeObject): string {
  const status: string[] = [];
  const ready = condition(obj(node.status).conditions, 'Ready');
  if (ready) status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  if (!status.length) status.push('Unknown');
  if (obj(node.spec).unschedulable === true) status.push('SchedulingDisabled');
  return status.join(',');
}

function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) {
      roles.add(v);
    }
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

function nodeAddress(node: KubeObject, type: string): string {
  const a = arr(obj(node.status).addresses)
    .map(obj)
    .find((x) => x.type === type);
  return a ? str(a.address) : '<none>';
}

function subjectsStrings(subjects: unknown): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of arr(subjects).map(obj)) {
    switch (s.kind) {
      case 'User':
        users.push(str(s.name));
        break;
      case 'Group':
        groups.push(str(s.name));
        break;
      case 'ServiceAccount':
        sas.push(`${str(s.namespace)}:${str(s.name)}`);
        break;
      default:
        break;
    }
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}

function eventSource(ev: KubeObject): string {
  const src = obj(ev.source);
  const component = str(src.component) || str(ev.reportingComponent);
  const instance = str(src.host) || str(ev.reportingInstance);
  return instance ? `${component}, ${instance}` : component;
}

const roleBindingColumns = (kind: string): TableColumnDefinition[] => [
  nameCol(),
  col('Role', 'string', doc(`io.k8s.api.rbac.v1.${kind}`, 'roleRef')),
  ageCol(),
  col('Users', 'string', 'Users in the roleBinding', 1),
  col('Groups', 'string', 'Groups in the roleBinding', 1),
  col('ServiceAccounts', 'string', 'ServiceAccounts in the roleBinding', 1),
];

function roleBindingRow(o: KubeObject, now: number): { cells: Cell[] } {
  const ref = obj(o.roleRef);
  return {
    cells: [
      o.metadata.name ?? '',
      `${str(ref.kind)}/${str(ref.name)}`,
      since(o.metadata.creationTimestamp, now),
      ...subjectsStrings(o.subjects),
    ],
  };
}

const createdAtColumns = (): TableColumnDefinition[] => [
  nameCol(),
  col('Created At', 'date', doc(META, 'creationTimestamp')),
];
const createdAtRow = (o: KubeObject): { cells: Cell[] } => ({
  cells: [o.metadata.name ?? '', rfc3339(o.metadata.creationTimestamp)],
});

const PRINTERS: Record<string, Printer> = {
  pods: {
    columns: () => [
      nameCol(),
      col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 'The aggregate status of the containers in this pod.'),
      col(
        'Restarts',
        'string',
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      ),
      ageCol(),
      col('IP', 'string', doc(`${CORE}.PodStatus`, 'podIP'), 1),
      col('Node', 'string', doc(`${CORE}.PodSpec`, 'nodeName'), 1),
      col('Nominated Node', 'string', doc(`${CORE}.PodStatus`, 'nominatedNodeName'), 1),
      col('Readiness Gates', 'string', doc(`${CORE}.PodSpec`, 'readinessGates'), 1),
    ],
    row: printPod,
  },
  namespaces: {
    columns: () => [nameCol(), col('Status', 'string', 'The status of the namespace'), ageCol()],
    row: (o, now) => ({
      cells: [o.metadata.name ?? '', str(obj(o.status).phase), since(o.metadata.creationTimestamp, now)],
    }),
  },
  configmaps: {
    columns: () => [nameCol(), col('Data', 'string', doc(`${CORE}.ConfigMap`, 'data')), ageCol()],
    row: (o, now) => ({
      cells: [
        o.metadata.name ?? '',
        Object.keys(obj(o.data)).length + Object.keys(obj(o.binaryData)).length,
        since(o.metadata.creationTimestamp, now),
      ],
    }),
  },
  secrets: {
    columns: () => [
      nameCol(),
      col('Type', 'string', doc(`${CORE}.Secret`, 'type')),
      col('Data', 'string', doc(`${CORE}.Secret`, 'data')),
      ageCol(),
    ],
    row: (o, now) => ({
      cells: [
        o.metadata.name ?? '',
        str(o.type),
        Object.keys(obj(o.data)).length,
        since(o.metadata.creationTimestamp, now),
      ],
    }),
  },
  serviceaccounts: {
    columns: () => [nameCol(), col('Secrets', 'string', doc(`${CORE}.ServiceAccount`, 'secrets')), ageCol()],
    row: (o, now) => ({
      cells: [o.metadata.name ?? '', arr(o.secrets).length, since(o.metadata.creationTimestamp, now)],
    }),
  },
  services: {
    columns: () => [
      nameCol(),
      col('Type', 'string', doc(`${CORE}.ServiceSpec`, 'type')),
      col('Cluster-IP', 'string', doc(`${CORE}.ServiceSpec`, 'clusterIP')),
      col('External-IP', 'string', doc(`${CORE}.ServiceSpec`, 'externalIPs')),
      col('Port(s)', 'string', doc(`${CORE}.ServiceSpec`, 'ports')),
      ageCol(),
      col('Selector', 'string', doc(`${CORE}.ServiceSpec`, 'selector'), 1),
    ],
    row: (o, now) => {
      const spec = obj(o.spec);
      const clusterIPs = arr(spec.clusterIPs).map(str);
      const internalIP = clusterIPs.length ? clusterIPs.join(',') : str(spec.clusterIP);
      return {
        cells: [
          o.metadata.name ?? '',
          str(spec.type),
          internalIP,
          serviceExternalIP(o, true),
          servicePorts(spec),
          since(o.metadata.creationTimestamp, now),
          formatLabels(spec.selector),
        ],
      };
    },
  },
  endpoints: {
    columns: () => [nameCol(), col('Endpoints', 'string', doc(`${CORE}.Endpoints`, 'subsets')), ageCol()],
    row: (o, now) => ({
      cells: [o.metadata.name ?? '', formatEndpoints(o), since(o.metadata.creationTimestamp, now)],
    }),
  },
  events: {
    columns: () => [
      col('Last Seen', 'string', doc(`${CORE}.Event`, 'lastTimestamp')),
      col('Type', 'string', doc(`${CORE}.Event`, 'type')),
      col('Reason', 'string', doc(`${CORE}.Event`, 'reason')),
      col('Object', 'string', doc(`${CORE}.Event`, 'involvedObject')),
      col('Subobject', 'string', doc(`${CORE}.ObjectReference`, 'fieldPath'), 1),
      col('Source', 'string', doc(`${CORE}.Event`, 'source'), 1),
      col('Message', 'string', doc(`${CORE}.Event`, 'message')),
      col('First Seen', 'string', doc(`${CORE}.Event`, 'firstTimestamp'), 1),
      col('Count', 'string', doc(`${CORE}.Event`, 'count'), 1),
      col('Name', 'string', doc(META, 'name'), 1, 'name'),
    ],
    row: (ev, now) => {
      let first = since(ev.firstTimestamp, now);
      if (parseTime(ev.firstTimestamp) === undefined) first = since(ev.eventTime, now);
      let last = since(ev.lastTimestamp, now);
      if (parseTime(ev.lastTimestamp) === undefined) last = first;
      let count = num(ev.count);
      const series = ev.series ? obj(ev.series) : undefined;
      if (series) {
        last = since(series.lastObservedTime, now);
        count = num(series.count);
      } else if (count === 0) {
        count = 1;
      }
      const involved = obj(ev.involvedObject);
      const kind = str(involved.kind).toLowerCase();
      const target = str(involved.name) ? `${kind}/${str(involved.name)}` : kind;
      return {
        cells: [
          last,
          str(ev.type),
          str(ev.reason),
          target,
          str(involved.fieldPath),
          eventSource(ev),
          str(ev.message).trim(),
          first,
          count,
          ev.metadata.name ?? '',
        ],
      };
    },
  },
  nodes: {
    columns: () => [
      nameCol(),
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      ageCol(),
      col('Version', 'string', doc(`${CORE}.NodeSystemInfo`, 'kubeletVersion')),
      col('Internal-IP', 'string', doc(`${CORE}.NodeStatus`, 'addresses'), 1),
      col('External-IP', 'string', doc(`${CORE}.NodeStatus`, 'addresses'), 1),
      col('OS-Image', 'string', doc(`${CORE}.NodeSystemInfo`, 'osImage'), 1),
      col('Kernel-Version', 'string', doc(`${CORE}.NodeSystemInfo`, 'kernelVersion'), 1),
      col('Container-Runtime', 'string', doc(`${CORE}.NodeSystemInfo`, 'containerRuntimeVersion'), 1),
    ],
    row: (n, now) => {
      const info = obj(obj(n.status).nodeInfo);
      return {
        cells: [
          n.metadata.name ?? '',
          nodeStatus(n),
          nodeRoles(n),
          since(n.metadata.creationTimestamp, now),
          str(info.kubeletVersion),
          nodeAddress(n, 'InternalIP'),
          nodeAddress(n, 'ExternalIP'),
          str(info.osImage) || '<unknown>',
          str(info.kernelVersion) || '<unknown>',
          str(info.containerRuntimeVersion) || '<unknown>',
        ],
      };
    },
  },
  'deployments.apps': {
    columns: () => [
      nameCol(),
      col('Ready', 'string', 'Number of the pod with ready state'),
      col('Up-to-date', 'string', doc(`${APPS}.DeploymentStatus`, 'updatedReplicas')),
      col('Available', 'string', doc(`${APPS}.DeploymentStatus`, 'availableReplicas')),
      ageCol(),
      col('Containers', 'string', 'Names of each container in the template.', 1),
      col('Images', 'string', 'Images referenced by each container in the template.', 1),
      col('Selector', 'string', doc(`${APPS}.DeploymentSpec`, 'selector'), 1),
    ],
    row: (d, now) => {
      const spec = obj(d.spec);
      const status = obj(d.status);
      const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const [names, images] = containerCells(spec.template);
      return {
        cells: [
          d.metadata.name ?? '',
          `${num(status.readyReplicas)}/${desired}`,
          num(status.updatedReplicas),
          num(status.availableReplicas),
          since(d.metadata.creationTimestamp, now),
          names,
          images,
          formatLabelSelector(spec.selector),
        ],
      };
    },
  },
  'replicasets.apps': {
    columns: () => [
      nameCol(),
      col('Desired', 'integer', doc(`${APPS}.ReplicaSetSpec`, 'replicas')),
      col('Current', 'integer', doc(`${APPS}.ReplicaSetStatus`, 'replicas')),
      col('Ready', 'integer', doc(`${APPS}.ReplicaSetStatus`, 'readyReplicas')),
      ageCol(),
      col('Containers', 'string', 'Names of each container in the template.', 1),
      col('Images', 'string', 'Images referenced by each container in the template.', 1),
      col('Selector', 'string', doc(`${APPS}.ReplicaSetSpec`, 'selector'), 1),
    ],
    row: (rs, now) => {
      const spec = obj(rs.spec);
      const status = obj(rs.status);
      const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const [names, images] = containerCells(spec.template);
      return {
        cells: [
          rs.metadata.name ?? '',
          desired,
          num(status.replicas),
          num(status.readyReplicas),
          since(rs.metadata.creationTimestamp, now),
          names,
          images,
          formatLabelSelector(spec.selector),
        ],
      };
    },
  },
  'roles.rbac.authorization.k8s.io': { columns: createdAtColumns, row: createdAtRow },
  'clusterroles.rbac.authorization.k8s.io': { columns: createdAtColumns, row: createdAtRow },
  'rolebindings.rbac.authorization.k8s.io': { columns: () => roleBindingColumns('RoleBinding'), row: roleBindingRow },
  'clusterrolebindings.rbac.authorization.k8s.io': {
    columns: () => roleBindingColumns('ClusterRoleBinding'),
    row: roleBindingRow,
  },
  'leases.coordination.k8s.io': {
    columns: () => [
      nameCol(),
      col('Holder', 'string', doc('io.k8s.api.coordination.v1.LeaseSpec', 'holderIdentity')),
      ageCol(),
    ],
    row: (o, now) => ({
      cells: [o.metadata.name ?? '', str(obj(o.spec).holderIdentity), since(o.metadata.creationTimestamp, now)],
    }),
  },
  'apiservices.apiregistration.k8s.io': {
    columns: () => [
      nameCol(),
      col('Service', 'string', 'The reference to the service that hosts this API endpoint.'),
      col('Available', 'string', 'Whether this service is available.'),
      ageCol(),
    ],
    row: (o, now) => {
      const svc = obj(o.spec).service;
      const service = svc ? `${str(obj(svc).namespace)}/${str(obj(svc).name)}` : 'Local';
      let status = 'Unknown';
      const c = condition(obj(o.status).conditions, 'Available');
      if (c) {
        if (c.status === 'True') status = 'True';
        else if (str(c.reason)) status = `${str(c.status)} (${str(c.reason)})`;
        else status = str(c.status);
      }
      return { cells: [o.metadata.name ?? '', service, status, since(o.metadata.creationTimestamp, now)] };
    },
  },
};

// ---- CRD columns: the simple JSONPath subset kube allows in additionalPrinterColumns ---------------

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'filter'; path: string[]; op: '==' | '!=' | 'exists'; value?: unknown };

/** Parses `.a.b[0]`, `.a['x.y']`, `.a[*].b`, `.a[?(@.type=="Ready")].status`, with optional `{}`. */
export function parseJsonPath(expr: string): Step[] | undefined {
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1).trim();
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '.') {
      i++;
      const m = /^[A-Za-z0-9_\-$/]+/.exec(s.slice(i));
      if (!m) {
        if (i >= s.length) break;
        return undefined;
      }
      steps.push({ kind: 'field', name: m[0] });
      i += m[0].length;
    } else if (c === '[') {
      const end = findClose(s, i);
      if (end < 0) return undefined;
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(') && inner.endsWith(')')) {
        const f = /^@((?:\.[A-Za-z0-9_\-$/]+)+)\s*(?:(==|!=)\s*(.+))?$/.exec(inner.slice(2, -1).trim());
        if (!f) return undefined;
        const path = f[1]!.slice(1).split('.');
        if (!f[2]) steps.push({ kind: 'filter', path, op: 'exists' });
        else {
          const raw = f[3]!.trim();
          let value: unknown;
          if (/^'.*'$|^".*"$/.test(raw)) value = raw.slice(1, -1);
          else if (raw === 'true' || raw === 'false') value = raw === 'true';
          else if (/^-?\d+(\.\d+)?$/.test(raw)) value = Number(raw);
          else return undefined;
          steps.push({ kind: 'filter', path, op: f[2] as '==' | '!=', value });
        }
      } else return undefined;
    } else {
      return undefined;
    }
  }
  return steps;
}

function findClose(s: string, open: number): number {
  let quote = '';
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth === 0 && c === ']') return i;
    }
  }
  return -1;
}

/** Evaluates a parsed JSONPath; returns all matches in document order. */
export function evalJsonPath(steps: Step[], root: unknown): unknown[] {
  let cur: unknown[] = [root];
  for (const st of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      switch (st.kind) {
        case 'field':
          if (v && typeof v === 'object' && !Array.isArray(v) && st.name in v) next.push((v as Obj)[st.name]);
          break;
        case 'index':
          if (Array.isArray(v)) {
            const idx = st.index < 0 ? v.length + st.index : st.index;
            if (idx >= 0 && idx < v.length) next.push(v[idx]);
          }
          break;
        case 'all':
          if (Array.isArray(v)) next.push(...(v as unknown[]));
          else if (v && typeof v === 'object') next.push(...Object.values(v as Obj));
          break;
        case 'filter':
          if (Array.isArray(v)) {
            for (const item of v as unknown[]) {
              let x: unknown = item;
              for (const p of st.path) x = x && typeof x === 'object' && !Array.isArray(x) ? (x as Obj)[p] : undefined;
              const ok =
                st.op === 'exists'
                  ? x !== undefined
                  : st.op === '=='
                    ? x === st.value
                    : x !== undefined && x !== st.value;
              if (ok) next.push(item);
            }
          }
          break;
      }
    }
    cur = next;
  }
  return cur;
}

/** JSONPath's text rendering of one value (`fmt.Fprint` of the decoded JSON, maps/slices as JSON). */
function jsonPathText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return '<nil>';
  return JSON.stringify(v);
}

function crdCell(column: PrinterColumn, steps: Step[] | undefined, o: KubeObject, now: number): Cell {
  if (!steps) return null;
  const results = evalJsonPath(steps, o);
  if (!results.length) return null;
  const value = results[0];
  switch (column.type) {
    case 'string':
      return jsonPathText(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date': {
      if (typeof value !== 'string') return null;
      const t = parseTime(value);
      return t === undefined ? '<invalid>' : humanDuration(now - t);
    }
    default:
      return null;
  }
}

const DEFAULT_CRD_COLUMNS: PrinterColumn[] = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];

function crdPrinter(resource: ResourceInfo): Printer {
  const columns = resource.crd?.additionalPrinterColumns.length
    ? resource.crd.additionalPrinterColumns
    : DEFAULT_CRD_COLUMNS;
  const parsed = columns.map((c) => parseJsonPath(c.jsonPath));
  return {
    columns: () => [
      nameCol(),
      ...columns.map((c) =>
        col(
          c.name,
          c.type,
          c.description || `Custom resource definition column (in JSONPath format): ${c.jsonPath}`,
          c.priority ?? 0,
          c.format ?? '',
        ),
      ),
    ],
    row: (o, now) => ({ cells: [o.metadata.name ?? '', ...columns.map((c, i) => crdCell(c, parsed[i], o, now))] }),
  };
}

const DEFAULT_PRINTER: Printer = { columns: createdAtColumns, row: createdAtRow };

function printerFor(resource: ResourceInfo): Printer {
  if (resource.crd) return crdPrinter(resource);
  const key = resource.group ? `${resource.resource}.${resource.group}` : resource.resource;
  return PRINTERS[key] ?? DEFAULT_PRINTER;
}

function partialObjectMetadata(o: KubeObject): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

/** Renders objects of one resource as a `meta.k8s.io/v1 Table`. */
export function toTable(resource: ResourceInfo, objects: readonly KubeObject[], opts: TableOptions): Table {
  const printer = printerFor(resource);
  const now = (opts.now ?? new Date()).getTime();
  const rows: TableRow[] = objects.map((o) => {
    const { cells, conditions } = printer.row(o, now);
    const row: TableRow = { cells };
    if (conditions) row.conditions = conditions;
    if (opts.includeObject === 'Object') row.object = o;
    else if (opts.includeObject === 'Metadata') row.object = partialObjectMetadata(o);
    return row;
  });
  const metadata: Table['metadata'] = {};
  if (opts.listMeta?.resourceVersion) metadata.resourceVersion = opts.listMeta.resourceVersion;
  if (opts.listMeta?.continue) metadata.continue = opts.listMeta.continue;
  if (opts.listMeta?.remainingItemCount !== undefined) metadata.remainingItemCount = opts.listMeta.remainingItemCount;
  return { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata, columnDefinitions: printer.columns(), rows };
}
