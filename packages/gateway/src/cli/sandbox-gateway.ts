// `cluster-gateway sandbox --gateway`: runs the gateway next to the sandbox clusters and wires it in
// exactly as an operator would on a real hub: a `vela-system` namespace, an ExternalName Service
// (→ localhost) and the `v1alpha1.cluster.core.oam.dev` APIService with the gateway's CA, and one
// cluster Secret per managed cluster (the first X509Certificate, the others ServiceAccountToken).
// With `konnectivity`, a sandbox Konnectivity proxy-server is started too and the second managed
// cluster becomes a `ClusterProxy` cluster reached only through it (no endpoint in its Secret).

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import {
  startKonnectivityServer,
  tcpAgent,
  type KonnectivityServer,
  type Sandbox,
  type SandboxCluster,
} from '@cluster-gateway/sandbox';
import { loadApiserverConfig, nodeCompleteEnv } from '../config/index.ts';
import { createLogger } from '../observability/logger.ts';
import { GatewayServer } from '../apiserver/server.ts';
import { createMetrics } from '../observability/metrics.ts';
import { gatewayProxy } from '../proxy/from-config.ts';
import type { IdentityResolver } from '../proxy/identity-types.ts';
import { LABEL_CREDENTIAL_TYPE, LABEL_ENDPOINT_TYPE } from '../registry/types.ts';

export const SECRET_NAMESPACE = 'vela-system';
const ADMIN = { username: 'sandbox-setup', groups: ['system:masters', 'system:authenticated'] };

export interface SandboxGateway {
  server: GatewayServer;
  /** the test proxy-server when started with `konnectivity` (kill/restart it, read its stats) */
  konnectivity?: KonnectivityServer;
  /** the cluster reached through Konnectivity, if any */
  clusterProxy?: string;
  stop(): Promise<void>;
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

/** Create (or replace) an object in a sandbox cluster through its REST storage, as an admin would. */
function apply(
  c: SandboxCluster,
  group: string,
  version: string,
  resource: string,
  namespace: string,
  obj: Record<string, unknown> & { metadata: { name: string; labels?: Record<string, string> } },
): void {
  const info = c.registry.lookup(group, version, resource);
  if (!info) throw new Error(`${resource}.${group} is not served by ${c.name}`);
  const base = {
    info,
    namespace,
    name: '',
    subresource: '',
    query: new URLSearchParams(),
    user: ADMIN,
    userAgent: 'cluster-gateway-sandbox',
  };
  const existing = c.store.get(
    group ? `${resource}.${group}` : resource,
    info.namespaced ? namespace : undefined,
    obj.metadata.name,
  );
  if (existing)
    c.rest.update({
      ...base,
      name: obj.metadata.name,
      body: { ...obj, metadata: { ...obj.metadata, resourceVersion: existing.metadata.resourceVersion } },
    });
  else c.rest.create({ ...base, body: obj });
}

export async function startSandboxGateway(
  sandbox: Sandbox,
  hubName: string,
  dir: string,
  opts: {
    port?: number;
    bindAddress?: string;
    /** more `apiserver` flags, after the defaults (a repeated flag overrides: the last one wins) */
    extraArgs?: string[];
    /** who the proxy impersonates at the members (default: nobody) */
    identity?: IdentityResolver;
    /** reach the second managed cluster through a sandbox Konnectivity proxy-server (ClusterProxy) */
    konnectivity?: boolean;
  } = {},
): Promise<SandboxGateway> {
  const hub = sandbox.clusters.get(hubName);
  if (!hub) throw new Error(`hub cluster ${hubName} is not in the sandbox`);
  apply(hub, '', 'v1', 'namespaces', '', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: SECRET_NAMESPACE } });
  const argv = [
    `--kubeconfig=${sandbox.kubeconfigPath(hubName)}`,
    `--secure-port=${opts.port ?? 0}`,
    `--bind-address=${opts.bindAddress ?? '127.0.0.1'}`,
    `--cert-dir=${join(dir, 'gateway-certs')}`,
    `--secret-namespace=${SECRET_NAMESPACE}`,
    '--feature-gates=HealthinessCheck=true',
    '--shutdown-drain-timeout=5s',
    ...(opts.extraArgs ?? []),
  ];
  const members = [...sandbox.clusters.keys()].filter((n) => n !== hubName);
  const clusterProxy = opts.konnectivity ? members[1] : undefined;
  let ks: KonnectivityServer | undefined;
  if (opts.konnectivity) {
    if (!clusterProxy) throw new Error('konnectivity needs a second managed cluster to reach through the tunnel');
    ks = await startKonnectivityServer({ host: '127.0.0.1' });
    const member = sandbox.clusters.get(clusterProxy)!;
    const u = new URL(member.url);
    ks.registerAgent(clusterProxy, tcpAgent(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port)));
    const files = {
      ca: join(dir, 'konnectivity-ca.crt'),
      cert: join(dir, 'konnectivity-client.crt'),
      key: join(dir, 'konnectivity-client.key'),
    };
    await writeFile(files.ca, ks.ca);
    await writeFile(files.cert, ks.clientCert);
    await writeFile(files.key, ks.clientKey, { mode: 0o600 });
    argv.push(
      '--proxy-host=127.0.0.1',
      `--proxy-port=${ks.port}`,
      `--proxy-ca-cert=${files.ca}`,
      `--proxy-cert=${files.cert}`,
      `--proxy-key=${files.key}`,
    );
  }
  const loaded = await loadApiserverConfig(argv, nodeCompleteEnv());
  if (loaded.kind !== 'config') {
    await ks?.stop();
    throw new Error(`gateway configuration: ${loaded.kind === 'error' ? loaded.errors.join('; ') : 'help requested'}`);
  }
  const logger = createLogger({
    level: loaded.config.logging.level,
    base: { component: 'cluster-gateway' },
    destination: pino.destination({ dest: join(dir, 'gateway.log'), sync: false, mkdir: true }),
  });
  const metrics = createMetrics();
  const ref: { server?: GatewayServer } = {};
  const proxy = await gatewayProxy({
    config: loaded.config,
    metrics,
    logger,
    server: () => {
      if (!ref.server) throw new Error('gateway not started');
      return ref.server;
    },
    identity: opts.identity,
  });
  const server = new GatewayServer({
    config: loaded.config,
    logger,
    metrics,
    proxy: proxy.handler,
    certHosts: [`cluster-gateway.${SECRET_NAMESPACE}.svc`],
    bookmarkIntervalMs: 5_000,
  });
  ref.server = server;
  await server.start();

  apply(hub, '', 'v1', 'services', SECRET_NAMESPACE, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'cluster-gateway' },
    spec: {
      type: 'ExternalName',
      externalName: 'localhost',
      ports: [{ name: 'https', port: server.port, protocol: 'TCP' }],
    },
  });
  apply(hub, 'apiregistration.k8s.io', 'v1', 'apiservices', '', {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1alpha1.cluster.core.oam.dev' },
    spec: {
      group: 'cluster.core.oam.dev',
      version: 'v1alpha1',
      service: { namespace: SECRET_NAMESPACE, name: 'cluster-gateway', port: server.port },
      caBundle: b64(server.servingCertificate),
      groupPriorityMinimum: 5000,
      versionPriority: 10,
    },
  });

  let first = true;
  for (const [name, member] of sandbox.clusters) {
    if (name === hubName) continue;
    const data: Record<string, string> = { endpoint: b64(member.url), 'ca.crt': b64(member.ca.cert) };
    // ClusterProxy: no endpoint, the tunnel routes on the cluster name (upstream: https://{cluster})
    if (name === clusterProxy) delete data.endpoint;
    let type: string;
    if (first) {
      const pair = await member.ca.issue({
        commonName: 'cluster-gateway',
        organizations: ['system:masters'],
        usage: 'client',
      });
      data['tls.crt'] = b64(pair.cert);
      data['tls.key'] = b64(pair.key);
      type = 'X509Certificate';
    } else {
      apply(member, '', 'v1', 'serviceaccounts', 'kube-system', {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'cluster-gateway' },
      });
      apply(member, 'rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', '', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'cluster-gateway-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'cluster-gateway', namespace: 'kube-system' }],
      });
      const sa = member.store.get('serviceaccounts', 'kube-system', 'cluster-gateway')!;
      const { token } = member.saTokens.issue({
        namespace: 'kube-system',
        name: 'cluster-gateway',
        uid: sa.metadata.uid!,
        audiences: ['https://kubernetes.default.svc.cluster.local'],
        expirationSeconds: 365 * 86400,
      });
      data.token = b64(token);
      type = 'ServiceAccountToken';
    }
    first = false;
    apply(hub, '', 'v1', 'secrets', SECRET_NAMESPACE, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        labels: {
          [LABEL_CREDENTIAL_TYPE]: type,
          [LABEL_ENDPOINT_TYPE]: name === clusterProxy ? 'ClusterProxy' : 'Const',
        },
      },
      type: 'Opaque',
      data,
    });
  }
  return {
    server,
    ...(ks ? { konnectivity: ks, clusterProxy } : {}),
    async stop() {
      await server.stop();
      await proxy.close();
      await ks?.stop();
    },
  };
}
