// The `cluster-gateway` command line: `apiserver` (the aggregated apiserver, upstream's flags) and
// `sandbox` (embedded Kubernetes clusters for the local trial and tests, optionally with the gateway
// registered in the hub). Flags follow pflag syntax (`--flag=value`, `--flag value`).

import { Command, CommanderError } from 'commander';
import { runSandbox } from './sandbox.ts';
import { runApiserver } from './apiserver.ts';
import { createApiserverCommand } from '../config/index.ts';
import { certsCommand } from './certs.ts';
import { kubeconfigCommand } from './kubeconfig.ts';

export function buildProgram(): Command {
  const program = new Command('cluster-gateway')
    .description(
      'Kubernetes multi-cluster API gateway (aggregated apiserver for cluster.core.oam.dev/v1alpha1 ClusterGateway)',
    )
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(
    createApiserverCommand(async (config, warnings) => {
      await runApiserver(config, warnings);
    }),
  );
  program
    .command('sandbox')
    .description('run embedded in-memory Kubernetes API servers (hub and managed clusters) and write their kubeconfigs')
    .option('--clusters <names>', 'comma-separated cluster names', 'hub,cluster-1,cluster-2')
    .option('--dir <dir>', 'directory for <name>.kubeconfig files', '.sandbox')
    .option('--ready-file <file>', 'file written once every cluster serves')
    .option('--bind-address <ip>', 'address the clusters listen on', '127.0.0.1')
    .option('--base-port <port>', 'first port (clusters take consecutive ports); 0 picks free ports', '0')
    .option('--gateway', 'also run cluster-gateway, registered as an APIService in the first cluster (the hub)', false)
    .option(
      '--konnectivity',
      'with --gateway: start a Konnectivity proxy-server and reach the second managed cluster only through it (ClusterProxy)',
      false,
    )
    .action(
      async (opts: {
        clusters: string;
        dir: string;
        readyFile?: string;
        bindAddress: string;
        basePort: string;
        gateway: boolean;
        konnectivity: boolean;
      }) => {
        await runSandbox(opts);
      },
    );
  program.addCommand(certsCommand().exitOverride());
  program.addCommand(kubeconfigCommand().exitOverride());
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  if (code !== 0) process.exitCode = code;
}
