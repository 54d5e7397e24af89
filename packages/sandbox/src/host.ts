// Hosts several sandbox clusters in one process (hub, cluster-1, …), each on its own port with its
// own CA and identity, and writes an admin kubeconfig per cluster so kubectl and the gateway can
// reach them. This is what `cluster-gateway sandbox` and the test suites start.

import { mkdir, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { SandboxCluster, type ClusterOptions } from './server/cluster.ts';

export interface SandboxOptions {
  clusters: string[];
  /** where `<name>.kubeconfig` files are written (optional for in-process tests) */
  dir?: string;
  host?: string;
  /** first port; clusters get consecutive ports. 0 = ephemeral ports */
  basePort?: number;
  bookmarkIntervalMs?: number;
  tokens?: ClusterOptions['tokens'];
  watchHistorySize?: number;
  /** run a kubelet in each cluster (default true) */
  kubelet?: boolean;
  /** aggregation-layer settings (probe intervals) for every cluster */
  aggregator?: ClusterOptions['aggregator'];
}

export interface Sandbox {
  clusters: Map<string, SandboxCluster>;
  kubeconfigPath(name: string): string;
  stop(): Promise<void>;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateClusterNames(names: string[]): string[] {
  const errs: string[] = [];
  if (names.length === 0) errs.push('at least one cluster name is required');
  const seen = new Set<string>();
  for (const n of names) {
    if (!NAME.test(n) || n.length > 63)
      errs.push(`invalid cluster name ${JSON.stringify(n)}: must be a lowercase RFC 1123 label`);
    if (seen.has(n)) errs.push(`duplicate cluster name ${JSON.stringify(n)}`);
    seen.add(n);
  }
  return errs;
}

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const errs = validateClusterNames(opts.clusters);
  if (errs.length) throw new Error(errs.join('; '));
  const clusters = new Map<string, SandboxCluster>();
  try {
    let i = 0;
    for (const name of opts.clusters) {
      const c = await SandboxCluster.create({
        name,
        host: opts.host ?? '127.0.0.1',
        port: opts.basePort ? opts.basePort + i : 0,
        bookmarkIntervalMs: opts.bookmarkIntervalMs,
        tokens: opts.tokens,
        watchHistorySize: opts.watchHistorySize,
        kubelet: opts.kubelet,
        aggregator: opts.aggregator,
      });
      i++;
      clusters.set(name, c);
      await c.start();
    }
  } catch (e) {
    await Promise.allSettled([...clusters.values()].map((c) => c.stop()));
    throw e;
  }
  if (opts.dir) {
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    for (const [name, c] of clusters) await writeFileAtomic(join(opts.dir, `${name}.kubeconfig`), c.kubeconfig());
  }
  return {
    clusters,
    kubeconfigPath(name) {
      if (!opts.dir) throw new Error('sandbox started without a directory');
      return join(opts.dir, `${name}.kubeconfig`);
    },
    async stop() {
      await Promise.allSettled([...clusters.values()].map((c) => c.stop()));
    },
  };
}

export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode: 0o600 });
  await rename(tmp, path);
}
