// APIService availability as kube-aggregator's status controllers judge it. Local APIServices are
// always Available (reason Local). Remote ones need their Service (and, for ClusterIP, a port and a
// ready endpoint), then a GET of /apis/<group>/<version> on the backend answered with 2xx, made with
// the front-proxy certificate as system:kube-aggregator (system:masters) and — like kube — without
// verifying the backend certificate; the conditions carry kube's reasons and messages.

import { Client } from 'undici';
import type { KubeObject } from '../api/types.ts';
import type { KeyPair } from '../pki/pki.ts';
import type { Store } from '../store/store.ts';
import { goErrorText } from './backend.ts';
import { backendServerName, joinHostPort, resolveEndpoint, ResolveError, type APIServiceSpec } from './resolve.ts';

export interface Condition {
  type: 'Available';
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason: string;
  message: string;
}

export const LOCAL_CONDITION: Condition = {
  type: 'Available',
  status: 'True',
  reason: 'Local',
  message: 'Local APIServices are always available',
};

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function availableCondition(obj: KubeObject): Condition | undefined {
  const st = obj.status as { conditions?: Condition[] } | undefined;
  return st?.conditions?.find((c) => c.type === 'Available');
}

export function isAvailable(obj: KubeObject): boolean {
  return availableCondition(obj)?.status === 'True';
}

/**
 * kube's SetAPIServiceCondition on a thawed object: lastTransitionTime moves only when the status
 * does; reason and message always follow. Key order matches kube's JSON.
 */
export function setCondition(obj: KubeObject, c: Condition): void {
  const st = (obj.status && typeof obj.status === 'object' ? obj.status : {}) as { conditions?: Condition[] };
  const conds = Array.isArray(st.conditions) ? st.conditions : [];
  const i = conds.findIndex((x) => x.type === c.type);
  const prev = i === -1 ? undefined : conds[i];
  const next: Condition = {
    type: c.type,
    status: c.status,
    lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now(),
    reason: c.reason,
    message: c.message,
  };
  if (i === -1) conds.push(next);
  else conds[i] = next;
  obj.status = { ...st, conditions: conds };
}

export interface CheckOptions {
  client: KeyPair;
  /** per-attempt deadline (kube: 5s client timeout) */
  timeoutMs: number;
  /** aborts the probe (the aggregator is stopping) */
  signal?: AbortSignal;
}

function fail(reason: string, message: string): Condition {
  return { type: 'Available', status: 'False', reason, message };
}

/** The Available condition kube's remote availability controller would compute now. */
export async function checkAvailability(store: Store, spec: APIServiceSpec, opts: CheckOptions): Promise<Condition> {
  const ref = spec.service;
  if (!ref) return LOCAL_CONDITION;
  const svc = store.get('services', ref.namespace, ref.name);
  if (!svc) return fail('ServiceNotFound', `service/${ref.name} in "${ref.namespace}" is not present`);
  const svcSpec = (svc.spec ?? {}) as { type?: string; ports?: { name?: string; port?: number }[] };
  if ((svcSpec.type ?? 'ClusterIP') === 'ClusterIP') {
    const port = (svcSpec.ports ?? []).find((p) => p.port === ref.port);
    if (!port)
      return fail('ServicePortError', `service/${ref.name} in "${ref.namespace}" is not listening on port ${ref.port}`);
    // the sandbox keeps Endpoints (not EndpointSlices); kube's messages name the slices
    if (!store.get('endpoints', ref.namespace, ref.name))
      return fail('EndpointsNotFound', `cannot find endpointslices for service/${ref.name} in "${ref.namespace}"`);
  }
  let url: string;
  let host: string;
  let port: number;
  try {
    ({ host, port } = resolveEndpoint(store, ref));
    url = `https://${joinHostPort(host, port)}${spec.group === '' ? `/api/${spec.version}` : `/apis/${spec.group}/${spec.version}`}`;
  } catch (e) {
    if (e instanceof ResolveError && e.reason === 'MissingEndpoints') {
      const portName = (svcSpec.ports ?? []).find((p) => p.port === ref.port)?.name ?? '';
      return fail(
        'MissingEndpoints',
        `endpointslices for service/${ref.name} in "${ref.namespace}" have no addresses with port name "${portName}"`,
      );
    }
    return fail('FailedDiscoveryCheck', e instanceof Error ? e.message : String(e));
  }
  const client = new Client(`https://${joinHostPort(host, port)}`, {
    allowH2: true,
    connect: {
      rejectUnauthorized: false,
      servername: backendServerName(ref),
      cert: opts.client.cert,
      key: opts.client.key,
      timeout: opts.timeoutMs,
    },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
  const ac = new AbortController();
  const timer = setTimeout(() => {
    ac.abort();
  }, opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([ac.signal, opts.signal]) : ac.signal;
  try {
    const r = await client.request({
      path: new URL(url).pathname,
      method: 'GET',
      headers: { 'x-remote-user': 'system:kube-aggregator', 'x-remote-group': 'system:masters' },
      signal,
    });
    await r.body.dump().catch(() => undefined);
    if (r.statusCode < 200 || r.statusCode >= 300) {
      return fail(
        'FailedDiscoveryCheck',
        `failing or missing response from ${url}: bad status from ${url}: ${r.statusCode}`,
      );
    }
    return { type: 'Available', status: 'True', reason: 'Passed', message: 'all checks passed' };
  } catch (e) {
    const why = ac.signal.aborted
      ? 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
      : goErrorText(e);
    return fail('FailedDiscoveryCheck', `failing or missing response from ${url}: Get "${url}": ${why}`);
  } finally {
    clearTimeout(timer);
    await client.destroy().catch(() => undefined);
  }
}
