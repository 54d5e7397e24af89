// `npm start`'s tour: start the sandbox with the gateway exactly as `npm start` does, then paste every
// command it prints into a shell, as a new user would. Streaming commands (`-w`, `logs -f`) must
// print output before they are stopped; every other command must succeed. SIGTERM then exits 0.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NODE = process.execPath;
const MAIN = new URL('../../packages/gateway/src/cli/main.ts', import.meta.url).pathname;

function sh(
  command: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { env, timeout: timeoutMs, killSignal: 'SIGTERM' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

test('every command of the npm start tour works when pasted', { timeout: 180_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tour-'));
  const ready = join(dir, 'ready');
  const child = spawn(NODE, [MAIN, 'sandbox', '--gateway', '--konnectivity', '--dir', dir, '--ready-file', ready], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      r(code);
    }),
  );
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await access(ready);
        if (out.includes('Ctrl-C')) break;
      } catch {
        // not ready yet
      }
      if (Date.now() > deadline) throw new Error(`sandbox not ready: ${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const lines = out.split('\n').map((l) => l.trim());
    const kubeconfig = lines.find((l) => l.startsWith('export KUBECONFIG='))!.slice('export KUBECONFIG='.length);
    const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: dir };
    const commands = lines.filter((l) => l.startsWith('kubectl '));
    assert.ok(commands.length >= 10, `the tour prints commands: ${out}`);
    for (const cmd of commands) {
      const streaming = / -w\b|logs -f/.test(cmd);
      const r = await sh(streaming ? `timeout 4 ${cmd}` : cmd, env, 60_000);
      if (streaming) assert.ok(r.stdout.trim().length > 0, `${cmd} printed nothing: ${r.stderr}`);
      else assert.equal(r.code, 0, `${cmd} failed: ${r.stderr}`);
    }
  } finally {
    child.kill('SIGTERM');
    const code = await exited;
    await rm(dir, { recursive: true, force: true });
    assert.equal(code, 0, `sandbox exit code (stderr: ${err})`);
  }
});
