// `kubectl gateway …`: the kubectl plugin (kubectl runs `kubectl-gateway` from the PATH with the
// arguments after `gateway`). `list` shows the managed clusters with endpoint type, credential
// type and health; `kubeconfig` writes per-cluster contexts routed through the gateway; `health`
// reads or sets a cluster's health through the `clustergateways/<name>/health` subresource.
// kubectl does not hand its global flags to plugins, so `--kubeconfig` and `--context` are
// accepted here too; the default is kubectl's ($KUBECONFIG, then ~/.kube/config).

import { Command, CommanderError } from 'commander';
import { stringify } from 'yaml';
import {
  CLUSTERGATEWAYS_PATH,
  type ClusterGatewaySummary,
  hubRequest,
  kubeconfigCommand,
  listClusterGateways,
  loadHub,
  summarize,
} from './kubeconfig.ts';

type Out = { write(s: string): unknown };

/** Left-aligned columns separated by three spaces, as kubectl prints tables. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatList(items: ClusterGatewaySummary[], output: string): string {
  switch (output) {
    case 'json':
      return JSON.stringify(items, null, 2) + '\n';
    case 'yaml':
      return stringify(items);
    case 'name':
      return items.map((i) => `clustergateway.cluster.core.oam.dev/${i.name}\n`).join('');
    case 'wide':
      return formatTable(
        ['NAME', 'ENDPOINT-TYPE', 'CREDENTIAL-TYPE', 'HEALTHY', 'REASON', 'ENDPOINT'],
        items.map((i) => [i.name, i.endpointType, i.credentialType, String(i.healthy), i.healthyReason, i.endpoint]),
      );
    case '':
      return formatTable(
        ['NAME', 'ENDPOINT-TYPE', 'CREDENTIAL-TYPE', 'HEALTHY'],
        items.map((i) => [i.name, i.endpointType, i.credentialType, String(i.healthy)]),
      );
    default:
      throw new Error(`unsupported output format "${output}" (json, yaml, name, wide)`);
  }
}

function parseBool(v: string): boolean {
  if (/^(true|1|t)$/i.test(v)) return true;
  if (/^(false|0|f)$/i.test(v)) return false;
  throw new Error(`--set takes true or false, not ${JSON.stringify(v)}`);
}

interface HubFlags {
  kubeconfig?: string;
  context?: string;
}

export function buildPluginProgram(out: Out = process.stdout): Command {
  const program = new Command('kubectl-gateway')
    .description('work with cluster-gateway managed clusters (kubectl plugin: kubectl gateway …)')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('list')
    .description('list the managed clusters with their endpoint type, credential type and health')
    .option('--kubeconfig <file>', 'hub kubeconfig')
    .option('--context <name>', 'hub context')
    .option('-o, --output <format>', 'json, yaml, name or wide', '')
    .action(async (opts: HubFlags & { output: string }) => {
      const items = await listClusterGateways(loadHub(opts));
      if (items.length === 0 && opts.output === '') {
        process.stderr.write('No managed clusters found.\n');
        return;
      }
      out.write(formatList(items, opts.output));
    });

  program.addCommand(kubeconfigCommand('--kubeconfig').exitOverride());

  program
    .command('health')
    .description('show a managed cluster health, or set it with --set true|false [--reason R]')
    .argument('<name>', 'managed cluster')
    .option('--kubeconfig <file>', 'hub kubeconfig')
    .option('--context <name>', 'hub context')
    .option('--set <bool>', 'set status.healthy')
    .option('--reason <reason>', 'set status.healthyReason (with --set)')
    .action(async (name: string, opts: HubFlags & { set?: string; reason?: string }) => {
      if (opts.reason !== undefined && opts.set === undefined) throw new Error('--reason needs --set');
      const kc = loadHub(opts);
      const path = `${CLUSTERGATEWAYS_PATH}/${encodeURIComponent(name)}/health`;
      const obj =
        opts.set === undefined
          ? await hubRequest(kc, 'GET', path)
          : await hubRequest(kc, 'PATCH', path, {
              contentType: 'application/merge-patch+json',
              data: { status: { healthy: parseBool(opts.set), healthyReason: opts.reason ?? '' } },
            });
      const s = summarize(obj);
      out.write(formatTable(['NAME', 'HEALTHY', 'REASON'], [[s.name || name, String(s.healthy), s.healthyReason]]));
    });
  return program;
}

export async function pluginMain(argv: string[], out: Out = process.stdout): Promise<number> {
  const program = buildPluginProgram(out);
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
  const code = await pluginMain(process.argv.slice(2));
  if (code !== 0) process.exitCode = code;
}
