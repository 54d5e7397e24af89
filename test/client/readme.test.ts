// The SDK's README example, run as written against a sandbox hub with the gateway: the TypeScript
// block of packages/client/README.md is extracted, written next to the repo's sources (so its
// imports resolve) and executed with KUBECONFIG pointing at the hub.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';

let dir: string;
let sb: Sandbox;
let gw: SandboxGateway;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdk-readme-'));
  sb = await startSandbox({ clusters: ['hub', 'cluster-1', 'cluster-2'], dir });
  gw = await startSandboxGateway(sb, 'hub', dir);
  const deadline = Date.now() + 20_000;
  while (!(gw.server.ready && gw.server.cache.size === 2)) {
    if (Date.now() > deadline) throw new Error('gateway not ready');
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  await gw.stop();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the README example of @cluster-gateway/client runs', { timeout: 60_000 }, async () => {
  const readme = await readFile(new URL('../../packages/client/README.md', import.meta.url), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, 'README has a ts block');
  // the example lives beside the tests so that '@cluster-gateway/client' resolves through the workspace
  const file = new URL(`./readme-example-${process.pid}.tmp.ts`, import.meta.url).pathname;
  await writeFile(file, `${code}\nconsole.log('README example done');\n`);
  try {
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [file],
        { env: { ...process.env, KUBECONFIG: sb.kubeconfigPath('hub') }, timeout: 50_000 },
        (err, stdout, stderr) => {
          resolve({ code: err ? 1 : 0, stdout, stderr });
        },
      );
    });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /README example done/);
  } finally {
    await rm(file, { force: true });
  }
  // the example's updateHealth reached the cluster's Secret
  const secret = sb.clusters.get('hub')!.store.get('secrets', 'vela-system', 'cluster-1')!;
  assert.equal(secret.metadata.annotations?.['status.cluster.core.oam.dev/healthy-reason'], 'ConnectionTimeout');
});

test('watchClusterGateways delivers typed events with label selectors', { timeout: 30_000 }, async () => {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { watchClusterGateways } = await import('@cluster-gateway/client');
  const hubKc = new KubeConfig();
  hubKc.loadFromFile(sb.kubeconfigPath('hub'));
  const events: { type: string; name: string; healthy: boolean }[] = [];
  let ended: unknown = 'open';
  const stop = await watchClusterGateways(
    hubKc,
    (type, gw) => events.push({ type, name: gw.metadata.name, healthy: gw.status.healthy }),
    (err) => (ended = err),
    { labelSelector: 'cluster.core.oam.dev/cluster-credential-type=ServiceAccountToken' },
  );
  try {
    const deadline = Date.now() + 10_000;
    while (!events.some((e) => e.type === 'ADDED' && e.name === 'cluster-2')) {
      if (Date.now() > deadline) throw new Error(`no ADDED event: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(!events.some((e) => e.name === 'cluster-1'), 'the selector filters cluster-1 (X509)');
    const { updateHealth } = await import('@cluster-gateway/client');
    await updateHealth(hubKc, 'cluster-2', true, 'probe');
    while (!events.some((e) => e.type === 'MODIFIED' && e.name === 'cluster-2' && e.healthy)) {
      if (Date.now() > deadline) throw new Error(`no MODIFIED event: ${JSON.stringify(events)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    stop();
  }
  assert.equal(ended, 'open', 'stopping does not report an error');
});
