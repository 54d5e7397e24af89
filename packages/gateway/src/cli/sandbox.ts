// `cluster-gateway sandbox`: starts the embedded clusters (and with --gateway the gateway,
// registered in the hub), writes their kubeconfigs and the ready file, prints what to try, and
// stops cleanly on SIGINT/SIGTERM.

import { writeFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { proxyServer } from './kubeconfig.ts';
import { startSandbox, validateClusterNames, type Sandbox } from '@cluster-gateway/sandbox';
import { startSandboxGateway, SECRET_NAMESPACE, type SandboxGateway } from './sandbox-gateway.ts';

export interface SandboxFlags {
  clusters: string;
  dir: string;
  readyFile?: string;
  bindAddress: string;
  basePort: string;
  /** also run the gateway, registered in the first cluster (the hub) */
  gateway?: boolean;
  /** with --gateway: reach the second managed cluster only through a sandbox Konnectivity proxy-server */
  konnectivity?: boolean;
}

export async function runSandbox(flags: SandboxFlags, signal?: AbortSignal): Promise<void> {
  const names = flags.clusters
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const errs = validateClusterNames(names);
  const basePort = Number(flags.basePort);
  if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65535)
    errs.push(`invalid --base-port ${JSON.stringify(flags.basePort)}`);
  if (flags.gateway && names.length < 2)
    errs.push('--gateway needs a hub and at least one managed cluster in --clusters');
  if (flags.konnectivity && !flags.gateway) errs.push('--konnectivity needs --gateway');
  if (flags.konnectivity && names.length < 3)
    errs.push(
      '--konnectivity needs a hub and two managed clusters in --clusters (the second is reached through the tunnel)',
    );
  if (errs.length) throw new Error(`invalid flags:\n  ${errs.join('\n  ')}`);
  const dir = resolve(flags.dir);
  if (flags.readyFile) await rm(flags.readyFile, { force: true });
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({ clusters: names, dir, host: flags.bindAddress, basePort });
  } catch (e) {
    throw portError(e);
  }
  const hub = names[0]!;
  let gateway: SandboxGateway | undefined;
  if (flags.gateway) {
    try {
      gateway = await startSandboxGateway(sandbox, hub, dir, {
        konnectivity: flags.konnectivity ?? false,
        bindAddress: flags.bindAddress,
        ...(basePort ? { port: basePort + names.length } : {}),
      });
      await waitFor(() => gateway!.server.ready, 30_000);
    } catch (e) {
      await gateway?.stop();
      await sandbox.stop();
      throw portError(e);
    }
  }
  if (flags.readyFile) await writeFile(flags.readyFile, `${new Date().toISOString()}\n`);
  if (gateway)
    await writeFile(
      join(dir, 'clusters.kubeconfig'),
      clustersKubeconfig(sandbox.kubeconfigPath(names[0]!), names.slice(1)),
      { mode: 0o600 },
    );
  process.stdout.write(tour(sandbox, names, dir, gateway, flags.bindAddress));

  await new Promise<void>((done) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  process.stdout.write('stopping sandbox\n');
  await gateway?.stop();
  await sandbox.stop();
  if (flags.readyFile) await rm(flags.readyFile, { force: true });
}

function portError(e: unknown): unknown {
  if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return new Error(
      `a port is already in use (${(e as Error).message}); choose another --base-port or stop the other process`,
      { cause: e },
    );
  }
  return e;
}

function tour(
  sandbox: Sandbox,
  names: string[],
  dir: string,
  gateway: SandboxGateway | undefined,
  host: string,
): string {
  const lines = [`sandbox clusters are serving (kubeconfigs in ${dir}):`];
  for (const [name, c] of sandbox.clusters)
    lines.push(`  ${name.padEnd(12)} ${c.url}   ${sandbox.kubeconfigPath(name)}`);
  lines.push('', 'try:', `  export KUBECONFIG=${sandbox.kubeconfigPath(names[0]!)}`);
  if (gateway) {
    const member = names[1]!;
    lines.splice(
      1 + names.length,
      0,
      `  ${'gateway'.padEnd(12)} https://${host}:${gateway.server.port}   (APIService v1alpha1.cluster.core.oam.dev in ${names[0]!}; Secrets in ${SECRET_NAMESPACE}; log ${dir}/gateway.log)`,
    );
    lines.push(
      '  kubectl get clustergateways',
      `  kubectl get clustergateway ${member} -o yaml`,
      '  kubectl get clustergateways -w',
      '  kubectl explain clustergateway.spec.access',
      `  kubectl get --raw /apis/cluster.core.oam.dev/v1alpha1/clustergateways/${member}/health`,
    );
    const gw = join(dir, 'clusters.kubeconfig');
    const second = names[2] ?? member;
    lines.push(
      '',
      `  # through the gateway: one context per managed cluster (${gw}), hub credentials`,
      `  kubectl --kubeconfig ${gw} --context ${member} get ns`,
      `  kubectl --kubeconfig ${gw} --context ${second} get ns`,
      `  kubectl --kubeconfig ${gw} --context ${member} run web --image=nginx`,
      `  kubectl --kubeconfig ${gw} --context ${member} wait --for=condition=Ready pod/web`,
      `  kubectl --kubeconfig ${gw} --context ${member} logs -f web`,
      `  kubectl --kubeconfig ${gw} --context ${member} exec web -- echo hello from ${member}`,
      `  kubectl --kubeconfig ${gw} --context ${second} get configmaps -A -w`,
    );
    if (gateway.konnectivity && gateway.clusterProxy) {
      lines.splice(
        2 + names.length,
        0,
        `  ${'konnectivity'.padEnd(12)} grpcs://127.0.0.1:${gateway.konnectivity.port}   (proxy-server; ${gateway.clusterProxy} is a ClusterProxy cluster reached only through it)`,
      );
      lines.push(
        `  kubectl get --raw /apis/cluster.core.oam.dev/v1alpha1/clustergateways/${gateway.clusterProxy}/proxy/version`,
      );
    }
  } else {
    lines.push(
      '  kubectl get namespaces',
      '  kubectl create configmap demo --from-literal=hello=world',
      '  kubectl get configmaps -w',
      '  kubectl auth can-i list secrets --as alice',
      '  kubectl auth whoami',
    );
  }
  lines.push('', 'Ctrl-C stops everything.', '');
  return lines.join('\n');
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for the gateway to become ready`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A kubeconfig with one context per managed cluster whose server is the gateway proxy path on the hub. */
export function clustersKubeconfig(hubKubeconfig: string, members: string[]): string {
  const hub = new KubeConfig();
  hub.loadFromFile(hubKubeconfig);
  const cluster = hub.getCurrentCluster()!;
  const user = hub.getCurrentUser()!;
  const out = new KubeConfig();
  out.loadFromOptions({ clusters: [], users: [user], contexts: [], currentContext: members[0] ?? '' });
  for (const m of members) {
    out.addCluster({ ...cluster, name: m, server: proxyServer(cluster.server, m) });
    out.addContext({ name: m, cluster: m, user: user.name });
  }
  return out.exportConfig();
}
