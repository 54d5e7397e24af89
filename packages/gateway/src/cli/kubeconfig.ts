// `cluster-gateway kubeconfig`: a kubeconfig with one context per managed cluster, each routed
// through the hub's `clustergateways/<cluster>/proxy` path (upstream §10.3's kubeconfig trick), so
// kubectl and any client-go/client-node program reach a managed cluster with the hub's own
// server CA and credentials (the gateway authorizes them on the hub, then uses the cluster's).
// Also the small hub client the kubectl plugin shares: one HTTPS request with the credentials
// @kubernetes/client-node derives from a kubeconfig (certs, tokens, exec plugins).

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { dirname } from 'node:path';
import { KubeConfig, type Cluster, type User } from '@kubernetes/client-node';
import { Command } from 'commander';
import { stringify } from 'yaml';

export const GATEWAY_GROUP = 'cluster.core.oam.dev';
export const GATEWAY_VERSION = 'v1alpha1';
export const CLUSTERGATEWAYS_PATH = `/apis/${GATEWAY_GROUP}/${GATEWAY_VERSION}/clustergateways`;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The `server:` of a managed cluster reached through the gateway on `hubServer`. */
export function proxyServer(hubServer: string, cluster: string): string {
  return `${hubServer.replace(/\/+$/, '')}${CLUSTERGATEWAYS_PATH}/${encodeURIComponent(cluster)}/proxy`;
}

export interface HubKubeconfigOptions {
  /** kubeconfig file; default: $KUBECONFIG, ~/.kube/config, in-cluster (client-go's order) */
  kubeconfig?: string;
  /** context to use instead of the current one */
  context?: string;
}

export function loadHub(o: HubKubeconfigOptions): KubeConfig {
  const kc = new KubeConfig();
  if (o.kubeconfig !== undefined && o.kubeconfig !== '') kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  if (o.context !== undefined && o.context !== '') {
    if (!kc.getContextObject(o.context)) throw new Error(`context "${o.context}" is not in the hub kubeconfig`);
    kc.setCurrentContext(o.context);
  }
  if (!kc.getCurrentCluster()) throw new Error('the hub kubeconfig has no current context with a cluster');
  return kc;
}

export class HubRequestError extends Error {
  override name = 'HubRequestError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * One request to the hub with the kubeconfig's transport settings. Errors carry the hub's
 * `Status.message` (what kubectl prints), never the request's credentials.
 */
export async function hubRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: { contentType: string; data: unknown },
  signal?: AbortSignal,
): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the hub kubeconfig');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const opts: RequestOptions = {
    method,
    headers: { accept: 'application/json', ...(body ? { 'content-type': body.contentType } : {}) },
  };
  // adds the CA, client certificate and Authorization header (running exec plugins if needed)
  await kc.applyToHTTPSOptions(opts);
  const payload = body ? JSON.stringify(body.data) : undefined;
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { ...opts, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(parsed);
          return;
        }
        const msg =
          typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string'
            ? (parsed as { message: string }).message
            : `${status} ${res.statusMessage ?? ''}`.trim();
        reject(new HubRequestError(status, `${method} ${path}: ${msg}`));
      });
    });
    req.on('error', (e) => {
      reject(new Error(`cannot reach the hub at ${url.origin}: ${e.message}`, { cause: e }));
    });
    req.end(payload);
  });
}

export interface ClusterGatewaySummary {
  name: string;
  endpointType: string;
  endpoint: string;
  credentialType: string;
  healthy: boolean;
  healthyReason: string;
}

interface ClusterGatewayLike {
  metadata?: { name?: string };
  spec?: {
    access?: {
      endpoint?: { type?: string; const?: { address?: string } };
      credential?: { type?: string };
    };
  };
  status?: { healthy?: boolean; healthyReason?: string };
}

export function summarize(obj: unknown): ClusterGatewaySummary {
  const o = obj as ClusterGatewayLike;
  return {
    name: o.metadata?.name ?? '',
    endpointType: o.spec?.access?.endpoint?.type ?? '',
    endpoint: o.spec?.access?.endpoint?.const?.address ?? '',
    credentialType: o.spec?.access?.credential?.type ?? '',
    healthy: o.status?.healthy === true,
    healthyReason: o.status?.healthyReason ?? '',
  };
}

export async function listClusterGateways(kc: KubeConfig, signal?: AbortSignal): Promise<ClusterGatewaySummary[]> {
  const list = (await hubRequest(kc, 'GET', CLUSTERGATEWAYS_PATH, undefined, signal)) as { items?: unknown[] };
  return (list.items ?? []).map(summarize).sort((a, b) => a.name.localeCompare(b.name));
}

async function inline(data: string | undefined, file: string | undefined): Promise<string | undefined> {
  if (data !== undefined && data !== '') return data;
  if (file === undefined || file === '') return undefined;
  return (await readFile(file)).toString('base64');
}

/**
 * The kubeconfig document: one cluster, one context per managed cluster (both named after it) and
 * one user, the hub's current user. File references are inlined so the result is self-contained.
 */
export async function buildGatewayKubeconfig(
  hub: KubeConfig,
  clusters: readonly string[],
  currentContext?: string,
): Promise<Record<string, unknown>> {
  if (clusters.length === 0) throw new Error('no managed clusters to write');
  for (const c of clusters)
    if (!DNS_SUBDOMAIN.test(c) || c.length > 253) throw new Error(`${JSON.stringify(c)} is not a cluster name`);
  const hubCluster: Cluster = hub.getCurrentCluster()!;
  const hubUser: User | null = hub.getCurrentUser();
  const ca = await inline(hubCluster.caData, hubCluster.caFile);
  // exportConfig() is client-node's public way to get the entries in kubeconfig (kebab-case) form
  const exported = JSON.parse(hub.exportConfig()) as {
    clusters?: { name: string; cluster: Record<string, unknown> }[];
    users?: { name: string; user: Record<string, unknown> }[];
  };
  const exportedCluster = exported.clusters?.find((c) => c.name === hubCluster.name)?.cluster ?? {};
  const exportedUser = hubUser ? exported.users?.find((u) => u.name === hubUser.name)?.user : undefined;
  const clusterEntry = (name: string): Record<string, unknown> => {
    const c: Record<string, unknown> = { ...exportedCluster, server: proxyServer(hubCluster.server, name) };
    delete c['certificate-authority'];
    if (ca !== undefined) c['certificate-authority-data'] = ca;
    return { name, cluster: c };
  };
  const userName = hubUser?.name ?? 'hub-user';
  let user: Record<string, unknown> = {};
  if (hubUser) {
    user = { ...(exportedUser ?? {}) };
    const cert = await inline(hubUser.certData, hubUser.certFile);
    const key = await inline(hubUser.keyData, hubUser.keyFile);
    delete user['client-certificate'];
    delete user['client-key'];
    if (cert !== undefined) user['client-certificate-data'] = cert;
    if (key !== undefined) user['client-key-data'] = key;
    for (const k of Object.keys(user)) if (user[k] === undefined) delete user[k];
  }
  const current = currentContext ?? clusters[0]!;
  if (!clusters.includes(current)) throw new Error(`current context ${current} is not one of the clusters`);
  return {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: clusters.map(clusterEntry),
    users: [{ name: userName, user }],
    contexts: clusters.map((name) => ({ name, context: { cluster: name, user: userName } })),
    'current-context': current,
  };
}

export interface KubeconfigCommandOptions extends HubKubeconfigOptions {
  cluster?: string[];
  all: boolean;
  output?: string;
}

/** Resolves which clusters to write, builds the kubeconfig and writes it (0600) or returns it. */
export async function runKubeconfig(
  o: KubeconfigCommandOptions,
  out: { write(s: string): unknown } = process.stdout,
  signal?: AbortSignal,
): Promise<string[]> {
  const named = o.cluster ?? [];
  if (o.all === named.length > 0) throw new Error('pass either --cluster NAME (repeatable) or --all');
  const hub = loadHub(o);
  const clusters = o.all ? (await listClusterGateways(hub, signal)).map((c) => c.name) : [...new Set(named)];
  if (clusters.length === 0) throw new Error('the hub serves no ClusterGateways');
  const doc = stringify(await buildGatewayKubeconfig(hub, clusters));
  if (o.output !== undefined && o.output !== '' && o.output !== '-') {
    await mkdir(dirname(o.output), { recursive: true });
    await writeFile(o.output, doc, { mode: 0o600 });
    process.stderr.write(`wrote ${o.output} with contexts ${clusters.join(', ')}\n`);
  } else out.write(doc);
  return clusters;
}

function repeatable(v: string, acc: string[] = []): string[] {
  return [...acc, ...v.split(',').filter((s) => s !== '')];
}

/** The `kubeconfig` subcommand (shared by `cluster-gateway` and `kubectl gateway`). */
export function kubeconfigCommand(hubFlag = '--hub-kubeconfig'): Command {
  return new Command('kubeconfig')
    .description('write a kubeconfig with one context per managed cluster, routed through the gateway proxy')
    .option(`${hubFlag} <file>`, 'hub kubeconfig (default: $KUBECONFIG, ~/.kube/config)')
    .option('--context <name>', 'hub context (default: the current one)')
    .option('--cluster <name>', 'a managed cluster (repeatable, or comma-separated)', repeatable)
    .option('--all', 'every ClusterGateway the hub serves', false)
    .option('-o, --output <file>', 'write here (mode 0600) instead of stdout')
    .action(
      async (opts: {
        hubKubeconfig?: string;
        kubeconfig?: string;
        context?: string;
        cluster?: string[];
        all: boolean;
        output?: string;
      }) => {
        await runKubeconfig({
          kubeconfig: opts.hubKubeconfig ?? opts.kubeconfig,
          context: opts.context,
          cluster: opts.cluster,
          all: opts.all,
          output: opts.output,
        });
      },
    );
}
