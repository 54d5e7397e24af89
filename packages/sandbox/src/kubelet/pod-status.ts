// What a kubelet reports about the pods and the node it runs: pod status (phase, conditions,
// container statuses with image/imageID/containerID as containerd names them, IPs, QoS class), the
// container environment (env, envFrom, service links, downward API) and the Node object itself.

import { createHash } from 'node:crypto';
import type { KubeObject } from '../api/types.ts';
import type { Store } from '../store/store.ts';

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: { name: string; value?: string; valueFrom?: EnvVarSource }[];
  envFrom?: { prefix?: string; configMapRef?: { name?: string }; secretRef?: { name?: string } }[];
  resources?: { limits?: Record<string, string | number>; requests?: Record<string, string | number> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
}

export interface EnvVarSource {
  fieldRef?: { fieldPath?: string };
  configMapKeyRef?: { name?: string; key?: string };
  secretKeyRef?: { name?: string; key?: string };
  resourceFieldRef?: { resource?: string };
}

export interface PodSpec {
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
  hostNetwork?: boolean;
  serviceAccountName?: string;
  enableServiceLinks?: boolean;
  terminationGracePeriodSeconds?: number;
  containers?: ContainerSpec[];
  initContainers?: ContainerSpec[];
}

export function podSpec(pod: KubeObject): PodSpec {
  return pod.spec ?? {};
}

/** RFC 3339 with second precision, as metav1.Time serializes. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with microseconds, as metav1.MicroTime serializes (Lease renewTime). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function hex(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/** `nginx` → `docker.io/library/nginx:latest`, as containerd normalizes image references. */
export function normalizeImage(image: string): string {
  let ref = image.trim();
  const at = ref.indexOf('@');
  const digest = at === -1 ? '' : ref.slice(at);
  if (at !== -1) ref = ref.slice(0, at);
  const slash = ref.indexOf('/');
  const first = slash === -1 ? '' : ref.slice(0, slash);
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost';
  if (!hasRegistry) ref = `docker.io/${slash === -1 ? `library/${ref}` : ref}`;
  const lastSeg = ref.slice(ref.lastIndexOf('/') + 1);
  if (!digest && !lastSeg.includes(':')) ref += ':latest';
  return ref + digest;
}

/** The repo digest containerd reports as imageID: `docker.io/library/nginx@sha256:…`. */
export function imageID(image: string): string {
  const n = normalizeImage(image);
  if (n.includes('@')) return n;
  const repo = n.slice(0, n.lastIndexOf(':'));
  return `${repo}@sha256:${hex('image', n)}`;
}

export function containerID(podUID: string, container: string): string {
  return `containerd://${hex('container', podUID, container)}`;
}

// ----- QoS -----

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
};

export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) return undefined;
  return Number(m[1]) * (SUFFIX[m[2] ?? ''] ?? 1);
}

/** The pod's QoS class from its containers' cpu/memory requests and limits (v1 qos.GetPodQOS). */
export function qosClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const all = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  let any = false;
  let guaranteed = all.length > 0;
  for (const c of all) {
    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    for (const r of ['cpu', 'memory']) {
      const l = parseQuantity(limits[r]);
      const q = parseQuantity(requests[r]) ?? l;
      if ((l !== undefined && l !== 0) || (q !== undefined && q !== 0)) any = true;
      if (l === undefined || q === undefined || l !== q) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

// ----- status -----

export interface RunningPod {
  uid: string;
  podIP: string;
  hostIP: string;
  startMs: number;
  /** when containers stopped (graceful deletion) */
  stoppedMs?: number;
  containerStarts: Map<string, number>;
  /** containers whose main process exited on its own (interactive `kubectl run -it` shells) */
  exited?: Map<string, { exitCode: number; finishedMs: number }>;
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

function condition(type: string, status: 'True' | 'False', at: number, reason?: string, message?: string): Condition {
  const c: Condition = { type, status, lastProbeTime: null, lastTransitionTime: rfc3339(at) };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

export function scheduledCondition(at: number): Condition {
  return condition('PodScheduled', 'True', at);
}

function volumeMounts(c: ContainerSpec): unknown[] | undefined {
  if (!c.volumeMounts?.length) return undefined;
  return c.volumeMounts.map((m) => {
    const out: Record<string, unknown> = { name: m.name, mountPath: m.mountPath };
    if (m.readOnly) {
      out.readOnly = true;
      out.recursiveReadOnly = 'Disabled';
    }
    return out;
  });
}

/** The status a kubelet posts for a pod whose containers run (or have stopped / exited). */
export function podStatus(pod: KubeObject, run: RunningPod): Record<string, unknown> {
  const spec = podSpec(pod);
  const containers = spec.containers ?? [];
  const prev = (pod.status ?? {}) as { conditions?: Condition[] };
  const scheduledAt = prev.conditions?.find((c) => c.type === 'PodScheduled')?.lastTransitionTime;
  const endOf = (name: string): { exitCode: number; finishedMs: number } | undefined =>
    run.stoppedMs !== undefined
      ? (run.exited?.get(name) ?? { exitCode: 0, finishedMs: run.stoppedMs })
      : run.exited?.get(name);
  const ended = containers.filter((c) => endOf(c.name));
  const allEnded = containers.length > 0 && ended.length === containers.length;
  const lastEnd = Math.max(run.startMs, ...ended.map((c) => endOf(c.name)!.finishedMs));
  const ready = ended.length === 0;
  const why = allEnded ? 'PodCompleted' : ready ? undefined : 'ContainersNotReady';
  const msg = allEnded || ready ? undefined : `containers with unready status: [${ended.map((c) => c.name).join(' ')}]`;
  const conds: Condition[] = [
    condition('PodReadyToStartContainers', allEnded ? 'False' : 'True', allEnded ? lastEnd : run.startMs),
    condition('Initialized', 'True', run.startMs, allEnded ? 'PodCompleted' : undefined),
    condition('Ready', ready ? 'True' : 'False', ready ? run.startMs : lastEnd, why, msg),
    condition('ContainersReady', ready ? 'True' : 'False', ready ? run.startMs : lastEnd, why, msg),
    scheduledAt
      ? { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: scheduledAt }
      : scheduledCondition(run.startMs),
  ];
  const statusOf = (c: ContainerSpec, init: boolean): Record<string, unknown> => {
    const started = run.containerStarts.get(c.name) ?? run.startMs;
    const id = containerID(run.uid, c.name);
    const image = normalizeImage(c.image ?? '');
    const end = init ? { exitCode: 0, finishedMs: started } : endOf(c.name);
    const s: Record<string, unknown> = {
      name: c.name,
      state: end
        ? {
            terminated: {
              exitCode: end.exitCode,
              reason: end.exitCode === 0 ? 'Completed' : 'Error',
              startedAt: rfc3339(started),
              finishedAt: rfc3339(end.finishedMs),
              containerID: id,
            },
          }
        : { running: { startedAt: rfc3339(started) } },
      lastState: {},
      ready: !end,
      restartCount: 0,
      image,
      imageID: imageID(c.image ?? ''),
      containerID: id,
      started: !end,
    };
    const vm = volumeMounts(c);
    if (vm) s.volumeMounts = vm;
    return s;
  };
  const failed = ended.some((c) => endOf(c.name)!.exitCode !== 0);
  const status: Record<string, unknown> = {
    phase: allEnded ? (failed ? 'Failed' : 'Succeeded') : 'Running',
    conditions: conds,
    hostIP: run.hostIP,
    hostIPs: [{ ip: run.hostIP }],
    podIP: run.podIP,
    podIPs: [{ ip: run.podIP }],
    startTime: rfc3339(run.startMs),
    containerStatuses: containers.map((c) => statusOf(c, false)),
    qosClass: qosClass(spec),
  };
  if (spec.initContainers?.length) status.initContainerStatuses = spec.initContainers.map((c) => statusOf(c, true));
  return status;
}

// ----- environment -----

function decodeSecret(v: unknown): string {
  return typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : '';
}

/** `$(VAR)` references in env values, as the kubelet expands them; `$$(VAR)` escapes. */
export function expandEnvRefs(value: string, env: Map<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return env.has(name!) ? env.get(name!)! : m;
  });
}

function fieldValue(pod: KubeObject, path: string, run: { podIP: string; hostIP: string }): string {
  const md = pod.metadata;
  const spec = podSpec(pod);
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? md.labels : md.annotations)?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'spec.nodeName':
      return spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return spec.serviceAccountName ?? '';
    case 'status.podIP':
    case 'status.podIPs':
      return run.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return run.hostIP;
  }
  return '';
}

function serviceEnv(store: Store, namespace: string): [string, string][] {
  const out: [string, string][] = [];
  const add = (svc: KubeObject): void => {
    const spec = (svc.spec ?? {}) as {
      clusterIP?: string;
      ports?: { name?: string; port: number; protocol?: string }[];
    };
    if (!spec.clusterIP || spec.clusterIP === 'None' || !spec.ports?.length) return;
    const prefix = svc.metadata.name!.toUpperCase().replace(/-/g, '_');
    const first = spec.ports[0]!;
    const proto = (first.protocol ?? 'TCP').toLowerCase();
    out.push([`${prefix}_SERVICE_HOST`, spec.clusterIP], [`${prefix}_SERVICE_PORT`, String(first.port)]);
    for (const p of spec.ports)
      if (p.name) out.push([`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`, String(p.port)]);
    out.push([`${prefix}_PORT`, `${proto}://${spec.clusterIP}:${first.port}`]);
    for (const p of spec.ports) {
      const pr = (p.protocol ?? 'TCP').toUpperCase();
      const base = `${prefix}_PORT_${p.port}_${pr}`;
      out.push(
        [base, `${pr.toLowerCase()}://${spec.clusterIP}:${p.port}`],
        [`${base}_PROTO`, pr.toLowerCase()],
        [`${base}_PORT`, String(p.port)],
        [`${base}_ADDR`, spec.clusterIP],
      );
    }
  };
  const seen = new Set<string>();
  for (const s of store.list('services', namespace)) {
    add(s);
    seen.add(s.metadata.name!);
  }
  // the master service is always visible, from the default namespace
  const k = store.get('services', 'default', 'kubernetes');
  if (k && !(namespace === 'default' && seen.has('kubernetes'))) add(k);
  return out;
}

/** The environment a container process starts with (image defaults + pod spec + service links). */
export function containerEnv(
  store: Store,
  pod: KubeObject,
  c: ContainerSpec,
  run: { podIP: string; hostIP: string },
  hostname: string,
): [string, string][] {
  const ns = pod.metadata.namespace ?? 'default';
  const spec = podSpec(pod);
  const env = new Map<string, string>();
  env.set('PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  env.set('HOSTNAME', hostname);
  const defined = new Map<string, string>();
  for (const ef of c.envFrom ?? []) {
    const prefix = ef.prefix ?? '';
    if (ef.configMapRef?.name) {
      const cm = store.get('configmaps', ns, ef.configMapRef.name);
      for (const [k, v] of Object.entries((cm?.data ?? {}) as Record<string, string>)) defined.set(prefix + k, v);
    }
    if (ef.secretRef?.name) {
      const s = store.get('secrets', ns, ef.secretRef.name);
      for (const [k, v] of Object.entries((s?.data ?? {}) as Record<string, string>))
        defined.set(prefix + k, decodeSecret(v));
    }
  }
  for (const e of c.env ?? []) {
    let v = '';
    if (e.value !== undefined) v = expandEnvRefs(e.value, defined);
    else if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) v = fieldValue(pod, vf.fieldRef.fieldPath ?? '', run);
      else if (vf.configMapKeyRef) {
        const cm = store.get('configmaps', ns, vf.configMapKeyRef.name ?? '');
        v = ((cm?.data ?? {}) as Record<string, string>)[vf.configMapKeyRef.key ?? ''] ?? '';
      } else if (vf.secretKeyRef) {
        const s = store.get('secrets', ns, vf.secretKeyRef.name ?? '');
        v = decodeSecret(((s?.data ?? {}) as Record<string, unknown>)[vf.secretKeyRef.key ?? '']);
      } else if (vf.resourceFieldRef) {
        const res = vf.resourceFieldRef.resource ?? '';
        const [kind, name] = res.split('.') as [string, string];
        const raw = (kind === 'limits' ? c.resources?.limits : c.resources?.requests)?.[name];
        v = raw === undefined ? (name === 'cpu' ? '8' : '17179869184') : String(Math.ceil(parseQuantity(raw) ?? 0));
      }
    }
    defined.set(e.name, v);
  }
  for (const [k, v] of defined) env.set(k, v);
  // the master service's variables are always injected; other services' only with service links
  const links =
    spec.enableServiceLinks !== false
      ? serviceEnv(store, ns)
      : serviceEnv(store, 'default').filter(([k]) => k.startsWith('KUBERNETES_'));
  for (const [k, v] of links) {
    if (!env.has(k)) env.set(k, v);
  }
  if (!env.has('HOME')) env.set('HOME', '/root');
  return [...env];
}

// ----- node -----

export interface NodeOptions {
  name: string;
  kubeletVersion: string;
  address: string;
  podCIDR: string;
}

export function nodeObject(o: NodeOptions, now: number): KubeObject {
  const capacity = {
    cpu: '8',
    'ephemeral-storage': '102626232Ki',
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: '16318412Ki',
    pods: '110',
  };
  const t = rfc3339(now);
  const cond = (type: string, status: string, reason: string, message: string): Record<string, string> => ({
    type,
    status,
    lastHeartbeatTime: t,
    lastTransitionTime: t,
    reason,
    message,
  });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: o.name,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': o.name,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/control-plane': '',
      },
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: { podCIDR: o.podCIDR, podCIDRs: [o.podCIDR] },
    status: {
      capacity,
      allocatable: capacity,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: o.address },
        { type: 'Hostname', address: o.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: hex('machine', o.name).slice(0, 32),
        systemUUID: formatUUID(hex('system', o.name)),
        bootID: formatUUID(hex('boot', o.name, String(now))),
        kernelVersion: '6.8.0-sandbox',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: o.kubeletVersion,
        kubeProxyVersion: o.kubeletVersion,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

function formatUUID(h: string): string {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
