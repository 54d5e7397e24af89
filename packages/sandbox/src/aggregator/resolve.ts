// Where an APIService's backend lives. kube-aggregator resolves `spec.service` through the Service:
// ExternalName → its DNS name at the APIService port; ClusterIP/NodePort/LoadBalancer → with
// --enable-aggregator-routing, an address of the Service's Endpoints for the matching port. The
// sandbox has no service network, so it always routes through Endpoints (point them at 127.0.0.1).

import type { KubeObject } from '../api/types.ts';
import type { Store } from '../store/store.ts';

export const APISERVICE_KEY = 'apiservices.apiregistration.k8s.io';

export interface ServiceRef {
  namespace: string;
  name: string;
  port: number;
}

/** The parts of an APIService the aggregator acts on. */
export interface APIServiceSpec {
  name: string;
  group: string;
  version: string;
  groupPriorityMinimum: number;
  versionPriority: number;
  service: ServiceRef | undefined;
  /** PEM bundle decoded from spec.caBundle ('' when unset: system roots) */
  caBundle: string;
  insecureSkipTLSVerify: boolean;
}

function rec(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function num(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

export function apiServiceSpec(obj: KubeObject): APIServiceSpec {
  const spec = rec(obj.spec);
  const svc = spec.service;
  let service: ServiceRef | undefined;
  if (svc !== null && typeof svc === 'object') {
    const s = rec(svc);
    service = { namespace: str(s.namespace), name: str(s.name), port: num(s.port, 443) };
  }
  return {
    name: obj.metadata.name ?? '',
    group: str(spec.group),
    version: str(spec.version),
    groupPriorityMinimum: num(spec.groupPriorityMinimum, 0),
    versionPriority: num(spec.versionPriority, 0),
    service,
    caBundle: Buffer.from(str(spec.caBundle), 'base64').toString('utf8'),
    insecureSkipTLSVerify: spec.insecureSkipTLSVerify === true,
  };
}

/** kube-aggregator verifies the backend certificate for this name whatever address it dials. */
export function backendServerName(ref: ServiceRef): string {
  return `${ref.name}.${ref.namespace}.svc`;
}

export interface Endpoint {
  host: string;
  port: number;
}

/** A resolution failure; `message` is the Go error text kube would log. */
export class ResolveError extends Error {
  readonly reason: 'ServiceNotFound' | 'ServicePortError' | 'EndpointsNotFound' | 'MissingEndpoints' | 'Unsupported';
  constructor(reason: ResolveError['reason'], message: string) {
    super(message);
    this.name = 'ResolveError';
    this.reason = reason;
  }
}

interface ServicePort {
  name?: string;
  port?: number;
}

function servicePorts(svc: KubeObject): ServicePort[] {
  const ports = rec(svc.spec).ports;
  return Array.isArray(ports) ? (ports as ServicePort[]) : [];
}

export function resolveEndpoint(store: Store, ref: ServiceRef): Endpoint {
  const svc = store.get('services', ref.namespace, ref.name);
  if (!svc) throw new ResolveError('ServiceNotFound', `service "${ref.name}" not found`);
  const spec = rec(svc.spec);
  const type = str(spec.type) || 'ClusterIP';
  if (type === 'ExternalName') {
    const host = str(spec.externalName);
    if (!host) throw new ResolveError('Unsupported', `service "${ref.name}" has no externalName`);
    return { host, port: ref.port };
  }
  if (type !== 'ClusterIP' && type !== 'NodePort' && type !== 'LoadBalancer') {
    throw new ResolveError('Unsupported', `unsupported service type "${type}"`);
  }
  if (type === 'ClusterIP' && spec.clusterIP === 'None') {
    throw new ResolveError('Unsupported', `cannot route to service with ClusterIP "None"`);
  }
  const port = servicePorts(svc).find((p) => p.port === ref.port);
  if (!port) throw new ResolveError('ServicePortError', `no service port ${ref.port} found for service "${ref.name}"`);
  const eps = store.get('endpoints', ref.namespace, ref.name);
  if (!eps) throw new ResolveError('EndpointsNotFound', `endpoints "${ref.name}" not found`);
  const portName = port.name ?? '';
  const subsets = Array.isArray(eps.subsets) ? (eps.subsets as Record<string, unknown>[]) : [];
  for (const ss of subsets) {
    const ports = Array.isArray(ss.ports) ? (ss.ports as ServicePort[]) : [];
    const addrs = Array.isArray(ss.addresses) ? (ss.addresses as { ip?: string }[]) : [];
    for (const p of ports) {
      if ((p.name ?? '') !== portName || typeof p.port !== 'number') continue;
      const ips = addrs.map((a) => a.ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
      if (ips.length === 0) continue;
      return { host: ips[Math.floor(Math.random() * ips.length)]!, port: p.port };
    }
  }
  throw new ResolveError('MissingEndpoints', `no endpoints available for service "${ref.name}"`);
}

/** host:port as Go's net.JoinHostPort writes it. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
