// The `apiserver` subcommand as a commander Command, ready for cli/main.ts to `addCommand`.
// Commander only collects the raw arguments here (unknown options allowed, no help option) because
// pflag syntax (`-v=4`, bare booleans, `_`/`-` equivalence) is parsed by flags.ts; the options
// pipeline then reports every problem at once and maps failures to exit codes (2 usage, 1 invalid).

import { Command, CommanderError } from 'commander';
import { apiserverHelp } from './flags.ts';
import { type CompleteEnv, type Config, loadApiserverConfig, nodeCompleteEnv } from './options.ts';

export interface ApiserverCommandIO {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown };
  readonly env: CompleteEnv;
}

/** Runs the server until it stops; `warnings` should be logged once a logger exists. */
export type ApiserverRun = (config: Config, warnings: readonly string[]) => Promise<void>;

export function createApiserverCommand(run: ApiserverRun, io?: Partial<ApiserverCommandIO>): Command {
  const stdout = io?.stdout ?? process.stdout;
  const stderr = io?.stderr ?? process.stderr;
  return new Command('apiserver')
    .description(
      'serve cluster.core.oam.dev/v1alpha1 ClusterGateways as an aggregated apiserver (see --help for flags)',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[flags...]')
    .action(async (flags: string[]) => {
      const result = await loadApiserverConfig(flags, io?.env ?? nodeCompleteEnv());
      if (result.kind === 'help') {
        stdout.write(apiserverHelp());
        return;
      }
      if (result.kind === 'error') {
        for (const w of result.warnings) stderr.write(`warning: ${w}\n`);
        for (const e of result.errors) stderr.write(`error: ${e}\n`);
        if (result.exitCode === 2) stderr.write("Run 'cluster-gateway apiserver --help' for the list of flags.\n");
        throw new CommanderError(
          result.exitCode,
          'cluster-gateway.apiserver.invalidConfig',
          `${result.errors.length} configuration error(s)`,
        );
      }
      await run(result.config, result.warnings);
    });
}
