// `cluster-gateway sandbox`: starts the embedded clusters, writes their kubeconfigs and the ready
// file, prints what to try, and stops cleanly on SIGINT/SIGTERM.

import { writeFile, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startSandbox, validateClusterNames } from '@cluster-gateway/sandbox';

export interface SandboxFlags {
  clusters: string;
  dir: string;
  readyFile?: string;
  bindAddress: string;
  basePort: string;
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
  if (errs.length) throw new Error(`invalid flags:\n  ${errs.join('\n  ')}`);
  const dir = resolve(flags.dir);
  if (flags.readyFile) await rm(flags.readyFile, { force: true });
  let sandbox;
  try {
    sandbox = await startSandbox({ clusters: names, dir, host: flags.bindAddress, basePort });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new Error(
        `a port is already in use (${(e as Error).message}); choose another --base-port or stop the other process`,
        { cause: e },
      );
    throw e;
  }
  if (flags.readyFile) await writeFile(flags.readyFile, `${new Date().toISOString()}\n`);
  const lines = [`sandbox clusters are serving (kubeconfigs in ${dir}):`];
  for (const [name, c] of sandbox.clusters)
    lines.push(`  ${name.padEnd(12)} ${c.url}   ${sandbox.kubeconfigPath(name)}`);
  const first = names[0]!;
  const kc = sandbox.kubeconfigPath(first);
  lines.push(
    '',
    'try:',
    `  export KUBECONFIG=${kc}`,
    '  kubectl get namespaces',
    '  kubectl create configmap demo --from-literal=hello=world',
    '  kubectl get configmaps -w',
    '  kubectl auth can-i list secrets --as alice',
    '  kubectl auth whoami',
    '',
    'Ctrl-C stops the clusters.',
  );
  process.stdout.write(lines.join('\n') + '\n');

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
  process.stdout.write('stopping sandbox clusters\n');
  await sandbox.stop();
  if (flags.readyFile) await rm(flags.readyFile, { force: true });
}
