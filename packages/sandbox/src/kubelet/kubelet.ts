// A kubelet (and the scheduler's one decision) inside each sandbox cluster: registers a Node and keeps
// its Lease renewed, binds new pods to that node, "runs" their containers (status Running, IPs,
// container IDs, an in-memory filesystem and a deterministic log stream per container), stops them on
// graceful deletion and removes the pod, and serves pods/log, pods/exec and pods/attach through a
// RequestInterceptor. No host process is ever started.

import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../api/types.ts';
import type { RequestInterceptor, SandboxCluster } from '../server/cluster.ts';
import { thaw, type StoreEvent } from '../store/store.ts';
import { runCommand, type CommandIO, type CommandResult, type ContainerContext } from './commands.ts';
import { imageFilesystem, resolvePath, type MemFS } from './fs.ts';
import {
  containerEnv,
  microTime,
  nodeObject,
  podSpec,
  podStatus,
  qosClass,
  rfc3339,
  scheduledCondition,
  type ContainerSpec,
  type RunningPod,
} from './pod-status.ts';
import { handleLogs, logLine } from './logs.ts';
import { ExecService } from './exec.ts';
import { onlcr } from './stdio.ts';

export interface KubeletOptions {
  /** default `<cluster-name>-node` */
  nodeName?: string;
  /** reported as nodeInfo.kubeletVersion (default v1.32.4, the sandbox's Kubernetes version) */
  kubeletVersion?: string;
  /** delay between binding a pod and its containers running */
  startDelayMs?: number;
  /** upper bound of the time containers take to stop on graceful deletion (also bounded by the grace period) */
  maxStopDelayMs?: number;
  /** Lease renewal period (the kubelet's is 10s) */
  leaseRenewMs?: number;
  /** time between two log lines of a container */
  logIntervalMs?: number;
}

export interface ContainerRuntime extends ContainerContext {
  startedMs: number;
  image: string;
  /** the main process as attach sees it, for containers started with stdin (`kubectl run -it -- sh`) */
  interactive: string[] | undefined;
  stdinOnce: boolean;
}

export interface PodRuntime extends RunningPod {
  namespace: string;
  name: string;
  containers: Map<string, ContainerRuntime>;
  /** aborted when the containers stop (graceful deletion) or the pod disappears */
  stop: AbortController;
  /** containers have started (status Running posted or adopted) */
  running: boolean;
  stopping: boolean;
  timers: Set<NodeJS.Timeout>;
}

const NODE_ADDRESS = '127.0.0.1';
const LEASE_NS = 'kube-node-lease';

const EVENT_TTL_MS = 60 * 60 * 1000;

const kubelets = new WeakMap<SandboxCluster, Kubelet>();

/** The kubelet installed in `cluster`, if any (lets other transports, e.g. SPDY exec, reach containers). */
export function kubeletFor(cluster: SandboxCluster): Kubelet | undefined {
  return kubelets.get(cluster);
}

export class Kubelet {
  readonly cluster: SandboxCluster;
  readonly nodeName: string;
  readonly logIntervalMs: number;
  readonly #opts: Required<Omit<KubeletOptions, 'nodeName'>>;
  readonly #pods = new Map<string, PodRuntime>();
  readonly #usedIPs = new Set<string>();
  #nextIP = 2;
  #eventSeq = 0;
  /** events this kubelet wrote, oldest first, for the 1h TTL kube-apiserver applies to events */
  readonly #events: { namespace: string; name: string; at: number }[] = [];
  #stopped = false;
  readonly #queue: (() => void)[] = [];
  #scheduled = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  #unsubscribe: (() => void) | undefined;
  readonly exec: ExecService;

  constructor(cluster: SandboxCluster, opts: KubeletOptions = {}) {
    this.cluster = cluster;
    this.nodeName = opts.nodeName ?? `${cluster.name}-node`;
    this.#opts = {
      kubeletVersion: opts.kubeletVersion ?? 'v1.32.4',
      startDelayMs: opts.startDelayMs ?? 30,
      maxStopDelayMs: opts.maxStopDelayMs ?? 1000,
      leaseRenewMs: opts.leaseRenewMs ?? 10_000,
      logIntervalMs: opts.logIntervalMs ?? 1000,
    };
    this.logIntervalMs = this.#opts.logIntervalMs;
    this.exec = new ExecService(this);
  }

  // ----- lifecycle -----

  start(): void {
    this.#registerNode();
    this.#renewLease();
    const t = setInterval(() => {
      this.#renewLease();
      this.#expireEvents(Date.now() - EVENT_TTL_MS);
    }, this.#opts.leaseRenewMs);
    t.unref();
    this.#timers.add(t);
    const store = this.cluster.store;
    this.#unsubscribe = store.watch('pods', store.resourceVersion, (ev) => {
      this.#onEvent(ev);
    });
    for (const p of store.list('pods'))
      this.#enqueue(() => {
        this.#sync(p.metadata.namespace!, p.metadata.name!);
      });
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe?.();
    for (const t of this.#timers) clearInterval(t);
    this.#timers.clear();
    for (const rt of this.#pods.values()) this.#release(rt);
    this.#pods.clear();
    this.exec.closeAll();
  }

  #enqueue(fn: () => void): void {
    this.#queue.push(fn);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#queue.length && !this.#stopped) {
        try {
          this.#queue.shift()!();
        } catch {
          // a failed sync must not take the API server down; the next event for the pod retries
        }
      }
    });
  }

  #after(ms: number, fn: () => void, rt?: PodRuntime): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      rt?.timers.delete(t);
      if (!this.#stopped) fn();
    }, ms);
    this.#timers.add(t);
    rt?.timers.add(t);
  }

  // ----- node -----

  #registerNode(): void {
    const store = this.cluster.store;
    const existing = store.get('nodes', undefined, this.nodeName);
    const node = nodeObject(
      {
        name: this.nodeName,
        kubeletVersion: this.#opts.kubeletVersion,
        address: NODE_ADDRESS,
        podCIDR: '10.244.0.0/24',
      },
      Date.now(),
    );
    node.metadata.uid = existing?.metadata.uid ?? randomUUID();
    node.metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? rfc3339(Date.now());
    if (existing) {
      // keep what users set (labels, taints) and refresh what the kubelet owns
      const next = thaw(existing);
      next.metadata.labels = { ...node.metadata.labels, ...next.metadata.labels };
      next.status = node.status;
      this.cluster.rest.systemUpdate('nodes', next);
    } else this.cluster.rest.systemUpdate('nodes', node);
  }

  #renewLease(): void {
    const store = this.cluster.store;
    if (!store.get('namespaces', undefined, LEASE_NS)) return;
    const node = store.get('nodes', undefined, this.nodeName);
    const key = 'leases.coordination.k8s.io';
    const existing = store.get(key, LEASE_NS, this.nodeName);
    const now = Date.now();
    if (existing) {
      const next = thaw(existing);
      next.spec = {
        ...(next.spec as object),
        holderIdentity: this.nodeName,
        leaseDurationSeconds: 40,
        renewTime: microTime(now),
      };
      this.cluster.rest.systemUpdate(key, next);
      return;
    }
    const lease: KubeObject = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.nodeName, namespace: LEASE_NS, uid: randomUUID(), creationTimestamp: rfc3339(now) },
      spec: { holderIdentity: this.nodeName, leaseDurationSeconds: 40, renewTime: microTime(now) },
    };
    if (node)
      lease.metadata.ownerReferences = [
        { apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: node.metadata.uid },
      ];
    this.cluster.rest.systemUpdate(key, lease);
  }

  // ----- pods -----

  #onEvent(ev: StoreEvent): void {
    const md = ev.object.metadata;
    if (ev.type === 'DELETED') {
      const rt = this.#pods.get(md.uid!);
      if (rt) {
        this.#release(rt);
        this.#pods.delete(md.uid!);
      }
      return;
    }
    this.#enqueue(() => {
      this.#sync(md.namespace!, md.name!);
    });
  }

  /** The runtime of a pod this kubelet runs (matched by UID so a re-created pod is a new one). */
  runtime(pod: KubeObject): PodRuntime | undefined {
    const rt = this.#pods.get(pod.metadata.uid ?? '');
    return rt && rt.namespace === pod.metadata.namespace && rt.name === pod.metadata.name ? rt : undefined;
  }

  #sync(ns: string, name: string): void {
    const pod = this.cluster.store.get('pods', ns, name);
    if (!pod) return;
    const spec = podSpec(pod);
    if (!spec.nodeName) {
      if (pod.metadata.deletionTimestamp) return;
      const scheduler = (pod.spec as { schedulerName?: string }).schedulerName;
      if (scheduler && scheduler !== 'default-scheduler') return;
      this.#bind(pod);
      return;
    }
    if (spec.nodeName !== this.nodeName) return;
    let rt = this.runtime(pod);
    if (pod.metadata.deletionTimestamp) {
      if (!rt) rt = this.#createRuntime(pod, (pod.status as { phase?: string } | undefined)?.phase === 'Running');
      if (!rt.stopping) this.#stopPod(rt, pod);
      return;
    }
    if (rt) return;
    const status = (pod.status ?? {}) as { phase?: string; podIP?: string };
    const adopted = status.phase === 'Running' && !!status.podIP;
    rt = this.#createRuntime(pod, adopted);
    if (adopted) return;
    const created = rt;
    this.#after(
      this.#opts.startDelayMs,
      () => {
        this.#markRunning(created);
      },
      created,
    );
  }

  #allocateIP(): string {
    for (let i = 0; i < 65_000; i++) {
      const n = this.#nextIP;
      this.#nextIP = this.#nextIP >= 65_533 ? 2 : this.#nextIP + 1;
      const ip = `10.244.${n >> 8}.${n & 255}`;
      if ((n & 255) === 0 || (n & 255) === 255 || this.#usedIPs.has(ip)) continue;
      this.#usedIPs.add(ip);
      return ip;
    }
    throw new Error('pod IP range 10.244.0.0/16 exhausted');
  }

  #createRuntime(pod: KubeObject, adopt: boolean): PodRuntime {
    const spec = podSpec(pod);
    const status = (pod.status ?? {}) as {
      podIP?: string;
      startTime?: string;
      containerStatuses?: { name: string; state?: { running?: { startedAt?: string } } }[];
    };
    const now = Date.now();
    let podIP: string;
    if (spec.hostNetwork) podIP = NODE_ADDRESS;
    else if (adopt && status.podIP) {
      podIP = status.podIP;
      this.#usedIPs.add(podIP);
    } else podIP = this.#allocateIP();
    const startMs = adopt && status.startTime ? Date.parse(status.startTime) || now : now;
    const rt: PodRuntime = {
      uid: pod.metadata.uid!,
      namespace: pod.metadata.namespace!,
      name: pod.metadata.name!,
      podIP,
      hostIP: NODE_ADDRESS,
      startMs,
      containerStarts: new Map(),
      containers: new Map(),
      stop: new AbortController(),
      running: adopt,
      stopping: false,
      timers: new Set(),
    };
    const hostname = (spec.hostname ?? pod.metadata.name!).slice(0, 63);
    for (const c of spec.containers ?? []) {
      const started = adopt
        ? Date.parse(status.containerStatuses?.find((s) => s.name === c.name)?.state?.running?.startedAt ?? '') ||
          startMs
        : startMs;
      rt.containerStarts.set(c.name, started);
      rt.containers.set(c.name, this.#containerRuntime(pod, c, rt, hostname, started));
    }
    this.#pods.set(rt.uid, rt);
    return rt;
  }

  #containerRuntime(
    pod: KubeObject,
    c: ContainerSpec,
    rt: PodRuntime,
    hostname: string,
    started: number,
  ): ContainerRuntime {
    const fs: MemFS = imageFilesystem({ hostname, podIP: rt.podIP, namespace: rt.namespace });
    const workingDir = c.workingDir ? resolvePath('/', c.workingDir) : '/';
    fs.mkdir(workingDir, { parents: true });
    for (const m of c.volumeMounts ?? []) {
      try {
        fs.mkdir(resolvePath('/', m.mountPath), { parents: true });
      } catch {
        // a mount path that collides with an image file stays a file
      }
    }
    return {
      namespace: rt.namespace,
      podName: rt.name,
      containerName: c.name,
      hostname,
      env: containerEnv(this.cluster.store, pod, c, rt, hostname),
      fs,
      workingDir,
      stopped: rt.stop.signal,
      startedMs: started,
      image: c.image ?? '',
      // an image's own entrypoint is unknown here; a shell is what interactive images usually start
      interactive: c.stdin
        ? c.command?.length || c.args?.length
          ? [...(c.command ?? []), ...(c.args ?? [])]
          : ['sh']
        : undefined,
      stdinOnce: c.stdinOnce ?? false,
    };
  }

  #bind(pod: KubeObject): void {
    const next = thaw(pod);
    const now = Date.now();
    (next.spec as Record<string, unknown>).nodeName = this.nodeName;
    const status = { ...((next.status ?? {}) as Record<string, unknown>) };
    status.phase = 'Pending';
    status.conditions = [scheduledCondition(now)];
    status.qosClass = qosClass(podSpec(next));
    next.status = status;
    this.cluster.rest.systemUpdate('pods', next);
    this.#event(
      pod,
      'Scheduled',
      `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${this.nodeName}`,
      'default-scheduler',
    );
  }

  #markRunning(rt: PodRuntime): void {
    const pod = this.cluster.store.get('pods', rt.namespace, rt.name);
    if (pod?.metadata.uid !== rt.uid || pod.metadata.deletionTimestamp || rt.stopping) return;
    // containers start now: logs, attach and exec count from this moment
    const now = Date.now();
    rt.startMs = now;
    for (const [name, c] of rt.containers) {
      c.startedMs = now;
      rt.containerStarts.set(name, now);
    }
    rt.running = true;
    const next = thaw(pod);
    next.status = podStatus(pod, rt);
    this.cluster.rest.systemUpdate('pods', next);
    for (const c of podSpec(pod).containers ?? []) {
      const fieldPath = `spec.containers{${c.name}}`;
      this.#event(pod, 'Pulled', `Container image "${c.image ?? ''}" already present on machine`, 'kubelet', fieldPath);
      this.#event(pod, 'Created', `Created container ${c.name}`, 'kubelet', fieldPath);
      this.#event(pod, 'Started', `Started container ${c.name}`, 'kubelet', fieldPath);
    }
  }

  #stopPod(rt: PodRuntime, pod: KubeObject): void {
    rt.stopping = true;
    const grace = pod.metadata.deletionGracePeriodSeconds ?? podSpec(pod).terminationGracePeriodSeconds ?? 30;
    const ns = this.cluster.store.get('namespaces', undefined, rt.namespace);
    if (!ns?.metadata.deletionTimestamp) {
      for (const c of podSpec(pod).containers ?? [])
        this.#event(pod, 'Killing', `Stopping container ${c.name}`, 'kubelet', `spec.containers{${c.name}}`);
    }
    this.#after(
      Math.max(0, Math.min(grace * 1000, this.#opts.maxStopDelayMs)),
      () => {
        rt.stoppedMs = Date.now();
        rt.stop.abort();
        const current = this.cluster.store.get('pods', rt.namespace, rt.name);
        if (current?.metadata.uid !== rt.uid) return;
        const next = thaw(current);
        next.status = podStatus(current, rt);
        this.cluster.rest.systemUpdate('pods', next);
        // the kubelet's final delete; finalizers still hold the object until they are removed
        if (!current.metadata.finalizers?.length) this.cluster.rest.systemRemove('pods', rt.namespace, rt.name);
      },
      rt,
    );
  }

  #release(rt: PodRuntime): void {
    for (const t of rt.timers) {
      clearTimeout(t);
      this.#timers.delete(t);
    }
    rt.timers.clear();
    if (!rt.stop.signal.aborted) {
      rt.stoppedMs ??= Date.now();
      rt.stop.abort();
    }
    if (rt.podIP !== NODE_ADDRESS) this.#usedIPs.delete(rt.podIP);
  }

  #event(pod: KubeObject, reason: string, message: string, component: string, fieldPath?: string): void {
    const now = Date.now();
    const name = `${pod.metadata.name}.${(BigInt(now) * 1_000_000n + BigInt(this.#eventSeq++ % 1_000_000)).toString(16)}`;
    const involved: Record<string, unknown> = {
      kind: 'Pod',
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
      apiVersion: 'v1',
      resourceVersion: pod.metadata.resourceVersion,
    };
    if (fieldPath) involved.fieldPath = fieldPath;
    const ev: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: pod.metadata.namespace, uid: randomUUID(), creationTimestamp: rfc3339(now) },
      involvedObject: involved,
      reason,
      message,
      source: component === 'kubelet' ? { component, host: this.nodeName } : { component },
      firstTimestamp: rfc3339(now),
      lastTimestamp: rfc3339(now),
      count: 1,
      type: 'Normal',
      eventTime: null,
      reportingComponent: component,
      reportingInstance: component === 'kubelet' ? this.nodeName : `${component}-${this.nodeName}`,
    };
    this.cluster.rest.systemUpdate('events', ev);
    this.#events.push({ namespace: pod.metadata.namespace!, name, at: now });
  }

  #expireEvents(before: number): void {
    while (this.#events.length && this.#events[0]!.at < before) {
      const e = this.#events.shift()!;
      this.cluster.rest.systemRemove('events', e.namespace, e.name);
    }
  }

  // ----- containers -----

  /**
   * A container started with stdin runs its command as the process attach talks to; when that process
   * exits while attached, the container terminates (per the restart policy) as `kubectl run -it` expects.
   */
  async #attachInteractive(container: ContainerRuntime, argv: string[], io: CommandIO): Promise<CommandResult> {
    const exit = await runCommand(container, argv, io);
    // attach never reports the process's exit code (the pod status does)
    const result: CommandResult = { exitCode: 0 };
    if (container.stopped.aborted || (io.signal?.aborted && !container.stdinOnce)) return result;
    const rt = [...this.#pods.values()].find((r) => r.containers.get(container.containerName) === container);
    const pod = rt && this.cluster.store.get('pods', rt.namespace, rt.name);
    if (!rt || pod?.metadata.uid !== rt.uid) return result;
    const policy = (pod.spec as { restartPolicy?: string }).restartPolicy ?? 'Always';
    if (policy === 'Always' || (policy === 'OnFailure' && exit.exitCode !== 0)) return result;
    rt.exited ??= new Map();
    rt.exited.set(container.containerName, {
      exitCode: exit.startError ? 128 : exit.exitCode,
      finishedMs: Date.now(),
    });
    const next = thaw(pod);
    next.status = podStatus(pod, rt);
    this.cluster.rest.systemUpdate('pods', next);
    return result;
  }

  /** The container `name` of a running pod; undefined when it is not (yet) running here. */
  container(pod: KubeObject, name: string): ContainerRuntime | undefined {
    const rt = this.runtime(pod);
    if (!rt?.running) return undefined;
    return rt.containers.get(name);
  }

  /** Run a command in a container (exec). Resolves with its exit code or start failure. */
  runCommand(container: ContainerRuntime, argv: string[], io: CommandIO): Promise<CommandResult> {
    return runCommand(container, argv, io);
  }

  /**
   * Attach to the container's main process: stdout receives its output (the log lines) as they are
   * produced and stdin is echoed back; ends when the container stops or the client goes away.
   */
  attach(container: ContainerRuntime, io: CommandIO): Promise<CommandResult> {
    if (container.interactive?.length) return this.#attachInteractive(container, container.interactive, io);
    const signal = io.signal ? AbortSignal.any([container.stopped, io.signal]) : container.stopped;
    const write = (b: Buffer): void => {
      const out = io.stdout;
      if (!out || out.destroyed || out.writableEnded) return;
      out.write(io.tty ? onlcr(b) : b);
    };
    io.stdin?.on('data', (b: Buffer) => {
      write(b);
    });
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const interval = this.logIntervalMs;
      let next = Math.floor((Date.now() - container.startedMs) / interval) + 2;
      const tick = (): void => {
        const due = Math.floor((Date.now() - container.startedMs) / interval) + 1;
        for (; next <= due; next++) write(Buffer.from(logLine(container, next, interval).text));
        timer = setTimeout(tick, Math.max(1, container.startedMs + (next - 1) * interval - Date.now()));
      };
      timer = setTimeout(tick, Math.max(1, container.startedMs + (next - 1) * interval - Date.now()));
      const done = (): void => {
        clearTimeout(timer);
        resolve({ exitCode: 0 });
      };
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }
}

/**
 * Install a kubelet into `cluster`: node registration, scheduling + pod lifecycle, and the pods/log,
 * pods/exec, pods/attach endpoints. Returns the uninstall function.
 */
export function installKubelet(cluster: SandboxCluster, opts: KubeletOptions = {}): () => void {
  if (kubelets.has(cluster)) throw new Error(`a kubelet is already installed in cluster ${cluster.name}`);
  const k = new Kubelet(cluster, opts);
  kubelets.set(cluster, k);
  const interceptor: RequestInterceptor = {
    handle: (ctx, req, res) => handleLogs(k, ctx, req, res) || k.exec.handle(ctx, req, res),
    upgrade: (ctx, req, socket, head) => k.exec.upgrade(ctx, req, socket, head),
  };
  cluster.interceptors.push(interceptor);
  k.start();
  return () => {
    const i = cluster.interceptors.indexOf(interceptor);
    if (i !== -1) cluster.interceptors.splice(i, 1);
    k.stop();
    kubelets.delete(cluster);
  };
}
