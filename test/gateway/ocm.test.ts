// End to end: the gateway with `--ocm-integration=true` on a sandbox hub (issue "Gateway apiserver",
// scope 5). The hub starts WITHOUT the ManagedCluster CRD: the gateway must become ready and serve the
// Secrets (upstream nil-panicked here). The CRD applied later is picked up without a restart; a
// ManagedCluster then supplies the endpoint, CA and health, and a Secret without one is dangling.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { Agent, request } from 'undici';
import { startSandbox, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';

const CRD_FILE = '/work/shared/samples/upstream/crds/managedcluster.yaml';
const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const OCM_URL = 'https://cluster-1.ocm.example:6443';

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let gw: SandboxGateway;
let env: NodeJS.ProcessEnv;
let agent: Agent;

function kubectl(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      ['--cache-dir', join(dir, 'cache'), ...args],
      { env, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

async function k(args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Gw {
  metadata: { name: string };
  spec: { access: { endpoint: { const?: { address: string; caBundle?: string; insecure?: boolean } } } };
  status: { healthy: boolean; healthyReason?: string };
}

/** GET on the gateway itself (not through the hub), as the hub's admin (system:masters) */
async function gwGet(g: SandboxGateway, path: string): Promise<{ status: number; body: any }> {
  const r = await request(`https://127.0.0.1:${g.server.port}${path}`, {
    dispatcher: agent,
    headers: { accept: 'application/json' },
  });
  const text = await r.body.text();
  return { status: r.statusCode, body: JSON.parse(text) };
}

async function names(g: SandboxGateway): Promise<string[]> {
  const r = await gwGet(g, `${GV}/clustergateways`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body.items as Gw[]).map((i) => i.metadata.name);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-ocm-'));
  sb = await startSandbox({ clusters: ['hub', 'cluster-1', 'cluster-2'], dir });
  hub = sb.clusters.get('hub')!;
  env = { ...process.env, KUBECONFIG: sb.kubeconfigPath('hub'), HOME: dir };
  gw = await startSandboxGateway(sb, 'hub', dir, { extraArgs: ['--ocm-integration=true'] });
  agent = new Agent({
    connect: { ca: gw.server.servingCertificate, cert: hub.admin.cert, key: hub.admin.key, servername: 'localhost' },
  });
});

after(async () => {
  await agent.close();
  await gw.stop();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('OCM integration', { timeout: 40_000 }, () => {
  test('without the ManagedCluster CRD: ready, clusters from the Secrets, no stall', async () => {
    await until('ready with both clusters', () => gw.server.ready && gw.server.cache.size === 2, 5000);
    assert.deepEqual(await names(gw), ['cluster-1', 'cluster-2']);
    const one = await gwGet(gw, `${GV}/clustergateways/cluster-1`);
    assert.equal(one.status, 200);
    assert.equal((one.body as Gw).spec.access.endpoint.const?.address, sb.clusters.get('cluster-1')!.url);
    const ready = await request(`https://127.0.0.1:${gw.server.port}/readyz`, { dispatcher: agent });
    assert.equal(ready.statusCode, 200);
    await ready.body.dump();
  });

  test('the CRD applied later: the ManagedCluster informer starts without a restart', async () => {
    await k(['apply', '-f', CRD_FILE]);
    await until('CRD established', async () => (await kubectl(['get', 'managedclusters'])).code === 0, 10_000);
    const ca = Buffer.from(sb.clusters.get('cluster-1')!.ca.cert).toString('base64');
    await k(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'cluster.open-cluster-management.io/v1',
        kind: 'ManagedCluster',
        metadata: { name: 'cluster-1' },
        spec: { hubAcceptsClient: true, managedClusterClientConfigs: [{ url: OCM_URL, caBundle: ca }] },
      }),
    );
    await setAvailable('True');
    // discovery is polled (10 s), so allow for one period plus the list
    await until(
      'the ManagedCluster merged',
      () => gw.server.cache.get('cluster-1')?.endpoint.address === OCM_URL,
      20_000,
    );
    const one = (await gwGet(gw, `${GV}/clustergateways/cluster-1`)).body as Gw;
    assert.equal(one.spec.access.endpoint.const?.address, OCM_URL);
    assert.equal(one.spec.access.endpoint.const?.caBundle, ca);
    assert.notEqual(one.spec.access.endpoint.const?.insecure, true);
    assert.equal(one.status.healthy, true);
  });

  test('cluster-2 has no ManagedCluster: filtered out as dangling', async () => {
    await until('cluster-2 filtered', () => gw.server.cache.get('cluster-2') === undefined, 5000);
    assert.deepEqual(await names(gw), ['cluster-1']);
    const r = await gwGet(gw, `${GV}/clustergateways/cluster-2`);
    assert.equal(r.status, 404);
    assert.match(r.body.message, /no such cluster cluster-2/);
  });

  test('ManagedClusterConditionAvailable drives status.healthy', async () => {
    await setAvailable('False');
    await until('unhealthy', () => gw.server.cache.get('cluster-1')?.healthy === false, 5000);
    const down = (await gwGet(gw, `${GV}/clustergateways/cluster-1`)).body as Gw;
    assert.equal(down.status.healthy, false);
    assert.match(down.status.healthyReason ?? '', /ManagedClusterConditionAvailable=False/);
    await setAvailable('True');
    await until('healthy again', () => gw.server.cache.get('cluster-1')?.healthy === true, 5000);
    assert.equal(((await gwGet(gw, `${GV}/clustergateways/cluster-1`)).body as Gw).status.healthy, true);
  });

  test('--ocm-allow-standalone-secrets=true keeps cluster-2 (from its Secret)', async () => {
    const dir2 = join(dir, 'standalone');
    const gw2 = await startSandboxGateway(sb, 'hub', dir2, {
      extraArgs: ['--ocm-integration=true', '--ocm-allow-standalone-secrets=true'],
    });
    const agent2 = new Agent({
      connect: { ca: gw2.server.servingCertificate, cert: hub.admin.cert, key: hub.admin.key, servername: 'localhost' },
    });
    try {
      await until('second gateway ready', () => gw2.server.ready && gw2.server.cache.size === 2, 10_000);
      const r = await request(`https://127.0.0.1:${gw2.server.port}${GV}/clustergateways`, { dispatcher: agent2 });
      const list = (await r.body.json()) as { items: Gw[] };
      assert.deepEqual(
        list.items.map((i) => [i.metadata.name, i.spec.access.endpoint.const?.address]),
        [
          ['cluster-1', OCM_URL],
          ['cluster-2', sb.clusters.get('cluster-2')!.url],
        ],
      );
    } finally {
      await agent2.close();
      await gw2.stop();
    }
  });

  test('the CRD deleted: the gateway falls back to the Secrets without a restart', async () => {
    await k(['delete', 'crd', 'managedclusters.cluster.open-cluster-management.io']);
    await until(
      'Secret-only clusters',
      () => gw.server.cache.size === 2 && gw.server.cache.get('cluster-1')?.endpoint.address !== OCM_URL,
      20_000,
    );
    assert.deepEqual(await names(gw), ['cluster-1', 'cluster-2']);
  });
});

async function setAvailable(status: 'True' | 'False'): Promise<void> {
  const condition = {
    type: 'ManagedClusterConditionAvailable',
    status,
    reason: status === 'True' ? 'ManagedClusterAvailable' : 'ManagedClusterLeaseUpdateStopped',
    message: status === 'True' ? 'Managed cluster is available' : 'Registration agent stopped updating its lease.',
    lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  await k([
    'patch',
    'managedcluster',
    'cluster-1',
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status: { conditions: [condition] } }),
  ]);
}
