// The aggregation layer of a sandbox cluster, kube-aggregator in miniature: it owns the front-proxy
// PKI and the extension-apiserver-authentication ConfigMap, keeps the Local APIServices of builtin and
// CRD group versions, proxies /apis/<group>/<version>[/...] to the backend of a remote APIService
// (after the cluster's own authentication and authorization, asserting the user with X-Remote-*),
// probes each backend for the Available condition and feeds its discovery into the cluster's
// /apis, /apis/<group> and aggregated discovery.

import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { KubeObject } from '../api/types.ts';
import type { KeyPair } from '../pki/pki.ts';
import type { RequestContext, RequestInterceptor, SandboxCluster } from '../server/cluster.ts';
import type { Req, Res } from '../server/listener.ts';
import type { ExternalGroupVersion } from '../discovery/discovery.ts';
import { thaw, type StoreEvent } from '../store/store.ts';
import { proxyRequestHeaders, type OutHeaders } from './headers.ts';
import { Backends, writeProxyError, type BackendTarget } from './backend.ts';
import { APISERVICE_KEY, apiServiceSpec, backendServerName, resolveEndpoint, type APIServiceSpec } from './resolve.ts';
import { checkAvailability, isAvailable, LOCAL_CONDITION, now, setCondition, type Condition } from './availability.ts';
import {
  AUTH_CONFIGMAP_NAME,
  AUTH_CONFIGMAP_NAMESPACE,
  authenticationConfigMapData,
  createFrontProxyPKI,
  requiredAuthenticationInfo,
  type FrontProxyPKI,
} from './frontproxy.ts';

export interface AggregatorOptions {
  /** how often every remote APIService is re-probed (kube: resync about every 30s, plus events); default 10s */
  probeIntervalMs?: number;
  /** deadline of one availability probe (kube: 5s) */
  probeTimeoutMs?: number;
  /** send X-Remote-Uid and advertise it (kube's RemoteRequestHeaderUID gate, off in 1.32) */
  sendUID?: boolean;
  /** create the Local APIServices kube registers for builtin and CRD group versions (default true) */
  localAPIServices?: boolean;
  /** reuse an existing front-proxy PKI instead of creating one */
  frontProxy?: FrontProxyPKI;
  /** further client CAs to publish as client-ca-file (the cluster CA is always included) */
  extraClientCAs?: string[];
}

export interface Aggregator {
  /** stop probing, drop the interceptor and close every backend connection */
  stop(): Promise<void>;
  /** PEM of the requestheader CA (what `requestheader-client-ca-file` holds) */
  readonly frontProxyCA: string;
  /** the front-proxy client certificate (CN front-proxy-client) presented to backends */
  readonly frontProxyClient: KeyPair;
  /** probe one APIService (or all remote ones) now and wait for the status write */
  probe(name?: string): Promise<void>;
  /** OpenAPI v3 index entries of available backends (`apis/<g>/<v>` → server-relative URL with hash) */
  openapiV3Paths(): Record<string, { serverRelativeURL: string }>;
  /** the backend's OpenAPI v3 document of an aggregated group version, or undefined */
  fetchOpenApiV3(gvPath: string): Promise<{ contentType: string; body: Buffer } | undefined>;
}

const AUTOMANAGED = 'kube-aggregator.kubernetes.io/automanaged';

/** kube-apiserver's APIService priorities for the builtin group versions the sandbox serves. */
const BUILTIN_PRIORITIES: Record<string, [number, number]> = {
  v1: [18000, 1],
  'apiregistration.k8s.io/v1': [18000, 15],
  'apps/v1': [17800, 15],
  'events.k8s.io/v1': [17750, 15],
  'authentication.k8s.io/v1': [17700, 15],
  'authorization.k8s.io/v1': [17600, 15],
  'autoscaling/v1': [17500, 15],
  'autoscaling/v2': [17500, 30],
  'batch/v1': [17400, 15],
  'certificates.k8s.io/v1': [17300, 15],
  'networking.k8s.io/v1': [17200, 15],
  'policy/v1': [17100, 15],
  'rbac.authorization.k8s.io/v1': [17000, 15],
  'storage.k8s.io/v1': [16800, 15],
  'apiextensions.k8s.io/v1': [16700, 15],
  'admissionregistration.k8s.io/v1': [16700, 15],
  'scheduling.k8s.io/v1': [16600, 15],
  'coordination.k8s.io/v1': [16500, 15],
  'node.k8s.io/v1': [16300, 15],
  'discovery.k8s.io/v1': [16200, 15],
  'flowcontrol.apiserver.k8s.io/v1': [16100, 21],
};

const GV_PATH = /^\/apis\/([^/]+)\/([^/]+)(?:\/.*)?$/;

function specJSON(o: KubeObject | undefined): string {
  return JSON.stringify(o?.spec ?? null);
}

/** The query re-encoded with sorted keys, as kube's proxy does (url.Values.Encode). */
function upstreamPath(url: URL): string {
  const q = new URLSearchParams(url.search);
  q.sort();
  const qs = q.toString();
  return qs ? `${url.pathname}?${qs}` : url.pathname;
}

/** A (small) JSON response body; undefined when it is not JSON or the stream fails. */
async function readJSON(body: Readable): Promise<{ kind?: string; resources?: unknown } | undefined> {
  try {
    const chunks = (await body.toArray()) as Buffer[];
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { kind?: string; resources?: unknown };
  } catch {
    body.destroy();
    return undefined;
  }
}

function clientAddress(req: Req | http.IncomingMessage): string | undefined {
  const s = 'stream' in req && req.stream ? req.stream.session?.socket : req.socket;
  return s?.remoteAddress;
}

export async function installAggregator(cluster: SandboxCluster, opts: AggregatorOptions = {}): Promise<Aggregator> {
  const store = cluster.store;
  const rest = cluster.rest;
  const fp = opts.frontProxy ?? (await createFrontProxyPKI(cluster.name));
  const sendUID = opts.sendUID ?? false;
  const intervalMs = opts.probeIntervalMs ?? 10_000;
  const timeoutMs = opts.probeTimeoutMs ?? 5_000;
  const backends = new Backends(() => fp.client);
  /** APIService name → APIResourceList entries from its backend (undefined = discovery failed) */
  const discoveryCache = new Map<string, Record<string, unknown>[] | undefined>();
  /** last status this controller wrote per APIService, to tell our writes from others' */
  const written = new Map<string, string>();
  const inflight = new Map<string, Promise<void>>();
  const again = new Set<string>();
  let stopped = false;
  const stopping = new AbortController();

  // --- extension-apiserver-authentication ---------------------------------------------------------
  const required = requiredAuthenticationInfo(
    [cluster.ca.cert, ...(opts.extraClientCAs ?? [])].join(''),
    fp.ca.cert,
    sendUID,
  );
  const syncAuthConfigMap = (): void => {
    const cur = store.get('configmaps', AUTH_CONFIGMAP_NAMESPACE, AUTH_CONFIGMAP_NAME);
    const data = authenticationConfigMapData(required, (cur?.data ?? {}) as Record<string, string>);
    if (cur) {
      if (JSON.stringify(cur.data) === JSON.stringify(data)) return;
      const next = thaw(cur);
      next.data = data;
      rest.systemUpdate('configmaps', next);
      return;
    }
    rest.systemUpdate('configmaps', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: AUTH_CONFIGMAP_NAME,
        namespace: AUTH_CONFIGMAP_NAMESPACE,
        uid: randomUUID(),
        creationTimestamp: now(),
      },
      data,
    });
  };

  // --- Local APIServices -------------------------------------------------------------------------
  const localAPIServices = (): Map<string, KubeObject> => {
    const out = new Map<string, KubeObject>();
    for (const r of cluster.registry.all()) {
      const gv = r.group ? `${r.group}/${r.version}` : r.version;
      const name = `${r.version}.${r.group}`;
      if (out.has(name)) continue;
      const prio = r.crd ? [1000, 100] : BUILTIN_PRIORITIES[gv];
      if (!prio) continue;
      const spec: Record<string, unknown> = {};
      if (r.group) spec.group = r.group;
      spec.version = r.version;
      spec.groupPriorityMinimum = prio[0];
      spec.versionPriority = prio[1];
      out.set(name, {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name, labels: { [AUTOMANAGED]: r.crd ? 'true' : 'onstart' } },
        spec,
      });
    }
    return out;
  };
  const syncLocalAPIServices = (): void => {
    if (opts.localAPIServices === false) return;
    const want = localAPIServices();
    for (const [name, obj] of want) {
      const cur = store.get(APISERVICE_KEY, undefined, name);
      const managed = obj.metadata.labels?.[AUTOMANAGED];
      // `onstart` ones are only created; CRD ones (`true`) are kept in line, as kube's autoregister does
      if (cur && (managed === 'onstart' || cur.metadata.labels?.[AUTOMANAGED] !== 'true')) continue;
      if (cur && specJSON(cur) === specJSON(obj)) continue;
      const next = cur ? thaw(cur) : obj;
      if (cur) next.spec = obj.spec;
      else {
        next.metadata.uid = randomUUID();
        next.metadata.creationTimestamp = now();
      }
      setCondition(next, LOCAL_CONDITION);
      written.set(name, JSON.stringify(next.status));
      rest.systemUpdate(APISERVICE_KEY, next);
    }
    for (const o of store.list(APISERVICE_KEY)) {
      const name = o.metadata.name!;
      if (o.metadata.labels?.[AUTOMANAGED] === 'true' && !want.has(name))
        rest.systemRemove(APISERVICE_KEY, undefined, name);
    }
  };

  // --- availability ------------------------------------------------------------------------------
  const writeCondition = (name: string, probedSpec: string, c: Condition): void => {
    const cur = store.get(APISERVICE_KEY, undefined, name);
    // the spec moved on while we probed: the event it caused schedules a fresh probe
    if (!cur || specJSON(cur) !== probedSpec) return;
    const next = thaw(cur);
    setCondition(next, c);
    const st = JSON.stringify(next.status);
    written.set(name, st);
    if (st === JSON.stringify(cur.status)) return;
    rest.systemUpdate(APISERVICE_KEY, next);
  };

  const targetOf = (spec: APIServiceSpec): BackendTarget | undefined => {
    if (!spec.service) return undefined;
    const endpoint = resolveEndpoint(store, spec.service);
    return {
      endpoint,
      servername: backendServerName(spec.service),
      ca: spec.caBundle,
      insecure: spec.insecureSkipTLSVerify,
    };
  };

  /** What kube's discovery manager caches: the backend's APIResourceList, fetched over the verified proxy transport. */
  const fetchDiscovery = async (spec: APIServiceSpec): Promise<Record<string, unknown>[] | undefined> => {
    const target = targetOf(spec);
    if (!target) return undefined;
    const ac = new AbortController();
    const timer = setTimeout(() => {
      ac.abort();
    }, timeoutMs);
    try {
      const r = await backends.request(spec.name, target, {
        path: `/apis/${spec.group}/${spec.version}`,
        method: 'GET',
        headers: {
          accept: 'application/json',
          'x-remote-user': 'system:kube-aggregator',
          'x-remote-group': 'system:masters',
        },
        signal: AbortSignal.any([ac.signal, stopping.signal]),
      });
      const body = await readJSON(r.body);
      if (r.statusCode !== 200 || body?.kind !== 'APIResourceList' || !Array.isArray(body.resources)) return undefined;
      return body.resources.filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object');
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };

  /** the backend's OpenAPI v3 index entry for its group version (kube-aggregator merges these) */
  const openapiCache = new Map<string, { gvPath: string; url: string }>();
  const backendGet = async (
    spec: APIServiceSpec,
    path: string,
  ): Promise<{ status: number; contentType: string; body: Buffer } | undefined> => {
    const target = targetOf(spec);
    if (!target) return undefined;
    const ac = new AbortController();
    const timer = setTimeout(() => {
      ac.abort();
    }, timeoutMs);
    try {
      const r = await backends.request(spec.name, target, {
        path,
        method: 'GET',
        headers: {
          accept: 'application/json',
          'x-remote-user': 'system:kube-aggregator',
          'x-remote-group': 'system:masters',
        },
        signal: AbortSignal.any([ac.signal, stopping.signal]),
      });
      const body = Buffer.concat((await r.body.toArray()) as Buffer[]);
      const ct = r.headers['content-type'];
      return { status: r.statusCode, contentType: (Array.isArray(ct) ? ct[0] : ct) ?? 'application/json', body };
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
  const fetchOpenApiIndex = async (spec: APIServiceSpec): Promise<void> => {
    const gvPath = `apis/${spec.group}/${spec.version}`;
    const r = await backendGet(spec, '/openapi/v3');
    let url: string | undefined;
    try {
      const idx =
        r?.status === 200
          ? (JSON.parse(r.body.toString('utf8')) as { paths?: Record<string, { serverRelativeURL?: string }> })
          : undefined;
      url = idx?.paths?.[gvPath]?.serverRelativeURL;
    } catch {
      url = undefined;
    }
    if (url) openapiCache.set(spec.name, { gvPath, url });
    else openapiCache.delete(spec.name);
  };

  const probeOnce = async (name: string): Promise<void> => {
    const obj = store.get(APISERVICE_KEY, undefined, name);
    if (!obj) {
      discoveryCache.delete(name);
      written.delete(name);
      return;
    }
    const spec = apiServiceSpec(obj);
    const probed = specJSON(obj);
    if (!spec.service) {
      discoveryCache.delete(name);
      writeCondition(name, probed, LOCAL_CONDITION);
      return;
    }
    const c = await checkAvailability(store, spec, { client: fp.client, timeoutMs, signal: stopping.signal });
    if (stopped) return;
    discoveryCache.set(name, c.status === 'True' ? await fetchDiscovery(spec) : undefined);
    if (c.status === 'True') await fetchOpenApiIndex(spec);
    else openapiCache.delete(name);
    if (stopped) return;
    writeCondition(name, probed, c);
  };

  /** Probe now; a request during a running probe runs once more afterwards (coalesced). */
  const probe = (name: string): Promise<void> => {
    const running = inflight.get(name);
    if (running) {
      again.add(name);
      return running;
    }
    const p = (async (): Promise<void> => {
      try {
        do {
          again.delete(name);
          if (stopped) return;
          await probeOnce(name).catch(() => undefined);
        } while (again.has(name));
      } finally {
        inflight.delete(name);
      }
    })();
    inflight.set(name, p);
    return p;
  };

  const remoteNames = (): string[] =>
    store
      .list(APISERVICE_KEY)
      .filter((o) => apiServiceSpec(o).service)
      .map((o) => o.metadata.name!);

  const probeAll = async (): Promise<void> => {
    await Promise.all(remoteNames().map((n) => probe(n)));
  };

  // --- events ------------------------------------------------------------------------------------
  const deferred: (() => void)[] = [];
  let scheduled = false;
  // store listeners run inside the writer's call: act after it, as a real controller would
  const later = (fn: () => void): void => {
    deferred.push(fn);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      while (deferred.length && !stopped) {
        try {
          deferred.shift()!();
        } catch {
          // a failed sync is retried by the next event or resync
        }
      }
    });
  };

  const referencing = (namespace: string | undefined, name: string | undefined): string[] =>
    store
      .list(APISERVICE_KEY)
      .filter((o) => {
        const s = apiServiceSpec(o).service;
        return s !== undefined && s.namespace === namespace && s.name === name;
      })
      .map((o) => o.metadata.name!);

  const onAPIService = (ev: StoreEvent): void => {
    const name = ev.object.metadata.name!;
    if (ev.type === 'DELETED') {
      backends.evict(name);
      discoveryCache.delete(name);
      written.delete(name);
      return;
    }
    const specChanged = ev.type === 'ADDED' || specJSON(ev.previous) !== specJSON(ev.object);
    if (specChanged) backends.evict(name);
    if (specChanged || written.get(name) !== JSON.stringify(ev.object.status)) {
      later(() => void probe(name));
    }
  };
  const onServiceOrEndpoints = (ev: StoreEvent): void => {
    for (const name of referencing(ev.object.metadata.namespace, ev.object.metadata.name)) {
      backends.evict(name);
      later(() => void probe(name));
    }
  };
  const onConfigMap = (ev: StoreEvent): void => {
    if (ev.object.metadata.namespace !== AUTH_CONFIGMAP_NAMESPACE || ev.object.metadata.name !== AUTH_CONFIGMAP_NAME)
      return;
    later(syncAuthConfigMap);
  };

  // --- routing -----------------------------------------------------------------------------------
  const lookup = (ctx: RequestContext): KubeObject | undefined => {
    const m = GV_PATH.exec(ctx.url.pathname);
    if (!m) return undefined;
    const obj = store.get(APISERVICE_KEY, undefined, `${m[2]!}.${m[1]!}`);
    return obj && apiServiceSpec(obj).service ? obj : undefined;
  };

  /** kube-aggregator answers "service unavailable" for an unavailable APIService or an unresolvable Service. */
  const routeOf = (obj: KubeObject): { spec: APIServiceSpec; target: BackendTarget } | undefined => {
    if (!isAvailable(obj)) return undefined;
    const spec = apiServiceSpec(obj);
    try {
      const target = targetOf(spec);
      return target ? { spec, target } : undefined;
    } catch {
      return undefined;
    }
  };

  const headersFor = (ctx: RequestContext, req: Req | http.IncomingMessage, upgrade: boolean): OutHeaders => {
    const h = proxyRequestHeaders(req.headers, ctx.user, { upgrade, sendUID, clientAddress: clientAddress(req) });
    delete h.expect;
    return h;
  };

  const interceptor: RequestInterceptor = {
    async handle(ctx: RequestContext, req: Req, res: Res): Promise<boolean> {
      const obj = lookup(ctx);
      if (!obj) return false;
      const route = routeOf(obj);
      if (!route) {
        writeProxyError(res, 503, 'service unavailable');
        return true;
      }
      await backends.forward(
        route.spec.name,
        route.target,
        req,
        res,
        upstreamPath(ctx.url),
        headersFor(ctx, req, false),
      );
      return true;
    },
    upgrade(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
      const obj = lookup(ctx);
      if (!obj) return false;
      const route = routeOf(obj);
      if (!route) {
        const body = 'service unavailable\n';
        socket.end(
          `HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
        );
        return true;
      }
      backends.upgrade(route.target, req, socket, head, upstreamPath(ctx.url), headersFor(ctx, req, true));
      return true;
    },
  };

  const external = (): ExternalGroupVersion[] =>
    store
      .list(APISERVICE_KEY)
      .map((o) => ({ o, spec: apiServiceSpec(o) }))
      .filter(({ spec }) => spec.service !== undefined && spec.group !== '')
      .map(({ o, spec }) => ({
        group: spec.group,
        version: spec.version,
        groupPriorityMinimum: spec.groupPriorityMinimum,
        versionPriority: spec.versionPriority,
        resources: isAvailable(o) ? discoveryCache.get(spec.name) : undefined,
      }));

  // --- start -------------------------------------------------------------------------------------
  syncAuthConfigMap();
  syncLocalAPIServices();
  const rv = store.resourceVersion;
  const unsubscribe = [
    store.watch(APISERVICE_KEY, rv, onAPIService),
    store.watch('services', rv, onServiceOrEndpoints),
    store.watch('endpoints', rv, onServiceOrEndpoints),
    store.watch('configmaps', rv, onConfigMap),
    cluster.registry.onChange(() => {
      later(syncLocalAPIServices);
    }),
  ];
  // user-created local APIServices and remote ones that predate us
  for (const o of store.list(APISERVICE_KEY)) {
    const name = o.metadata.name!;
    if (apiServiceSpec(o).service || !written.has(name)) void probe(name);
  }
  const previousExternal = cluster.external;
  cluster.external = external;
  cluster.interceptors.push(interceptor);
  const timer = setInterval(() => void probeAll(), intervalMs);
  timer.unref();

  return {
    frontProxyCA: fp.ca.cert,
    frontProxyClient: fp.client,
    openapiV3Paths: () => {
      const out: Record<string, { serverRelativeURL: string }> = {};
      for (const [name, e] of openapiCache) {
        const o = store.get(APISERVICE_KEY, undefined, name);
        if (!o || !isAvailable(o)) continue;
        const hash = new URL(e.url, 'https://backend.invalid').searchParams.get('hash');
        out[e.gvPath] = { serverRelativeURL: `/openapi/v3/${e.gvPath}${hash ? `?hash=${hash}` : ''}` };
      }
      return out;
    },
    fetchOpenApiV3: async (gvPath: string) => {
      for (const [name, e] of openapiCache) {
        if (e.gvPath !== gvPath) continue;
        const o = store.get(APISERVICE_KEY, undefined, name);
        if (!o || !isAvailable(o)) return undefined;
        const r = await backendGet(apiServiceSpec(o), new URL(e.url, 'https://backend.invalid').pathname);
        return r?.status === 200 ? { contentType: r.contentType, body: r.body } : undefined;
      }
      return undefined;
    },
    probe: async (name?: string): Promise<void> => {
      if (name) await probe(name);
      else await probeAll();
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      stopping.abort();
      clearInterval(timer);
      for (const u of unsubscribe) u();
      const i = cluster.interceptors.indexOf(interceptor);
      if (i !== -1) cluster.interceptors.splice(i, 1);
      if (cluster.external === external) cluster.external = previousExternal;
      await Promise.allSettled([...inflight.values()]);
      await backends.close();
    },
  };
}
