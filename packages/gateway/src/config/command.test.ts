// The `apiserver` subcommand inside a program shaped like cli/main.ts: raw pflag argv reaches
// the pipeline untouched, errors are printed together, exit codes are 2 (usage) and 1 (invalid).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { createApiserverCommand } from './command.ts';
import type { CompleteEnv, Config } from './options.ts';

const env: CompleteEnv = {
  env: { KUBECONFIG: '/k' },
  homedir: '/h',
  cwd: '/w',
  readFile: () => Promise.reject(new Error('ENOENT')),
  exists: (p) => Promise.resolve(p === '/k'),
};

async function run(argv: string[]): Promise<{ code: number; out: string; err: string; config?: Config }> {
  let out = '';
  let err = '';
  let config: Config | undefined;
  const program = new Command('cluster-gateway').exitOverride();
  program.command('sandbox').option('--dir <dir>');
  program.addCommand(
    createApiserverCommand(
      (c) => {
        config = c;
        return Promise.resolve();
      },
      { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, env },
    ),
  );
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { code: 0, out, err, ...(config ? { config } : {}) };
  } catch (e) {
    if (e instanceof CommanderError) return { code: e.exitCode, out, err };
    throw e;
  }
}

test('pflag argv reaches the pipeline through commander', async () => {
  const r = await run([
    'apiserver',
    '-v=4',
    '--secure-port',
    '9443',
    '--ocm-integration',
    '--feature-gates=HealthinessCheck=true',
  ]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.config?.serving.securePort, 9443);
  assert.equal(r.config?.logging.level, 'trace');
  assert.equal(r.config?.ocm.integration, true);
  assert.equal(r.config?.featureGates.HealthinessCheck, true);
});

test('unknown flags: exit 2, all listed', async () => {
  const r = await run(['apiserver', '--nope', '--secret-namespace=', '--also-nope=1']);
  assert.equal(r.code, 2);
  assert.equal(r.config, undefined);
  assert.match(r.err, /error: unknown flags: --nope, --also-nope\n/);
  assert.match(r.err, /error: must specify --secret-namespace\n/);
  assert.match(r.err, /--help/);
});

test('validation failure: exit 1', async () => {
  const r = await run(['apiserver', '--standalone-debug-mode']);
  assert.equal(r.code, 1);
  assert.match(r.err, /error: --standalone-debug-mode requires --bind-address=127.0.0.1/);
  assert.match(r.err, /warning: --standalone-debug-mode: authorization is disabled/);
});

test('--help prints the flag list and runs nothing', async () => {
  const r = await run(['apiserver', '--help']);
  assert.equal(r.code, 0);
  assert.equal(r.config, undefined);
  assert.match(r.out, /^Usage: cluster-gateway apiserver \[flags\]/);
  assert.match(r.out, /--secure-port int/);
});
