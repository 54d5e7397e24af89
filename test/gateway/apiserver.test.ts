// End to end: the gateway registered in a sandbox hub through the aggregation layer, driven with
// real kubectl and @kubernetes/client-node exactly as users do (issue "Gateway apiserver").

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile, spawn } from 'node:child_process';
import { request } from 'undici';
import { Agent } from 'undici';
import { startSandbox, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';
import { collectLines } from '../support/cluster-under-test.ts';
import { until } from '../support/process.ts';

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let gw: SandboxGateway;
let env: NodeJS.ProcessEnv;
const GV = '/apis/cluster.core.oam.dev/v1alpha1';

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

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-e2e-'));
  sb = await startSandbox({ clusters: ['hub', 'cluster-1', 'cluster-2'], dir });
  hub = sb.clusters.get('hub')!;
  gw = await startSandboxGateway(sb, 'hub', dir);
  env = { ...process.env, KUBECONFIG: sb.kubeconfigPath('hub'), HOME: dir };
  await until(() => gw.server.ready && gw.server.cache.size === 2);
  // the APIService becomes Available once the hub's discovery probe reached the gateway
  await until(
    async () =>
      (
        await kubectl([
          'get',
          'apiservice',
          'v1alpha1.cluster.core.oam.dev',
          '-o',
          'jsonpath={.status.conditions[0].status}',
        ])
      ).stdout === 'True',
  );
});

after(async () => {
  await gw.stop();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ClusterGateway through the hub', () => {
  test('kubectl get clustergateways prints the upstream columns for both clusters', async () => {
    const out = await k(['get', 'clustergateways']);
    const lines = out.trim().split('\n');
    assert.match(lines[0]!, /^NAME\s+PROVIDER\s+CREDENTIAL-TYPE\s+ENDPOINT-TYPE\s+HEALTHY\s+AGE$/);
    assert.match(out, /cluster-1\s+X509Certificate\s+Const\s+false/);
    assert.match(out, /cluster-2\s+ServiceAccountToken\s+Const\s+false/);
  });

  test('-o yaml shows the object with credentials redacted', async () => {
    const one = JSON.parse(await k(['get', 'clustergateway', 'cluster-2', '-o', 'json']));
    assert.equal(one.kind, 'ClusterGateway');
    assert.equal(one.spec.access.endpoint.type, 'Const');
    assert.equal(one.spec.access.endpoint.const.address, sb.clusters.get('cluster-2')!.url);
    assert.equal(one.spec.access.credential.type, 'ServiceAccountToken');
    assert.equal(one.spec.access.credential.serviceAccountToken, '<redacted>');
    const x509 = JSON.parse(await k(['get', 'clustergateway', 'cluster-1', '-o', 'json']));
    assert.equal(x509.spec.access.credential.x509.privateKey, undefined);
    assert.ok(x509.spec.access.credential.x509.certificate);
    const yaml = await k(['get', 'clustergateway', 'cluster-1', '-o', 'yaml']);
    assert.doesNotMatch(yaml, /PRIVATE KEY|privateKey:/);
  });

  test('label selectors and --chunk-size pagination', async () => {
    const sel = await k([
      'get',
      'clustergateways',
      '-l',
      'cluster.core.oam.dev/cluster-credential-type=X509Certificate',
      '-o',
      'name',
    ]);
    assert.deepEqual(sel.trim().split('\n'), ['clustergateway.cluster.core.oam.dev/cluster-1']);
    const chunked = await k(['get', 'clustergateways', '--chunk-size=1', '-o', 'name']);
    assert.equal(chunked.trim().split('\n').length, 2);
    const page = await hubGet(`${GV}/clustergateways?limit=1`);
    assert.equal(page.items.length, 1);
    assert.ok(page.metadata.continue);
    const bad = await kubectl(['get', 'clustergateways', '-l', 'a in (']);
    assert.notEqual(bad.code, 0);
  });

  test('kubectl get clustergateways -w prints an event when a Secret changes', async () => {
    const child = spawn(
      'kubectl',
      ['--cache-dir', join(dir, 'cache'), 'get', 'clustergateways', '-w', '--output-watch-events', '--no-headers'],
      { env },
    );

    try {
      await collectLines(child, (ls) => ls.length >= 2);
      // listen before changing the Secret: the event may arrive before kubectl annotate returns
      const modified = collectLines(child, (ls) => ls.some((l) => l.startsWith('MODIFIED') && l.includes('true')));
      const t0 = Date.now();
      await k([
        '-n',
        'vela-system',
        'annotate',
        'secret',
        'cluster-1',
        'status.cluster.core.oam.dev/healthy=true',
        '--overwrite',
      ]);
      const lines = await modified;
      const ev = lines.find((l) => l.startsWith('MODIFIED'))!;
      assert.match(ev, /cluster-1\s+X509Certificate\s+Const\s+true/);
      process.stdout.write(`# watch event latency: ${Date.now() - t0} ms\n`);
    } finally {
      child.kill();
    }
  });

  test('health subresource: get, update (upstream round-trip case 5)', async () => {
    await k([
      '-n',
      'vela-system',
      'annotate',
      'secret',
      'cluster-2',
      'status.cluster.core.oam.dev/healthy=false',
      '--overwrite',
    ]);
    await until(() => gw.server.cache.get('cluster-2')?.healthy === false);
    const h = await hubGet(`${GV}/clustergateways/cluster-2/health`);
    assert.equal(h.status.healthy, false);
    const put = await hubCall('PUT', `${GV}/clustergateways/cluster-2/health`, {
      ...h,
      status: { healthy: true, healthyReason: 'ConnectionTimeout' },
    });
    assert.equal(put.status, 200, put.text);
    const updated = JSON.parse(put.text);
    assert.equal(updated.status.healthy, true);
    assert.equal(updated.status.healthyReason, 'ConnectionTimeout');
    const secret = JSON.parse(await k(['-n', 'vela-system', 'get', 'secret', 'cluster-2', '-o', 'json']));
    assert.equal(secret.metadata.annotations['status.cluster.core.oam.dev/healthy'], 'true');
    const patched = await k([
      'patch',
      'clustergateway',
      'cluster-2',
      '--subresource=health',
      '--type=merge',
      '-p',
      '{"status":{"healthy":false,"healthyReason":"manual"}}',
      '-o',
      'json',
    ]);
    assert.equal(JSON.parse(patched).status.healthyReason, 'manual');
  });

  test('kubectl explain clustergateway.spec works through the hub (OpenAPI v3 aggregation)', async () => {
    const out = await k(['explain', 'clustergateway.spec.access']);
    assert.match(out, /KIND:\s+ClusterGateway/);
    assert.match(out, /endpoint\s+<ClusterEndpoint> -required-/);
    assert.match(await k(['explain', 'clustergateway.spec']), /FIELD: spec <ClusterGatewaySpec>/);
  });

  test('discovery, GET and LIST (upstream round-trip cases 1, 3, 4)', async () => {
    const rl = await hubGet(GV);
    assert.ok(
      rl.resources.some(
        (r: { kind: string; name: string }) => r.kind === 'ClusterGateway' && r.name === 'clustergateways',
      ),
    );
    const one = await hubGet(`${GV}/clustergateways/cluster-1`);
    assert.equal(one.metadata.name, 'cluster-1');
    const list = await hubGet(`${GV}/clustergateways`);
    assert.ok(list.items.some((i: { metadata: { name: string } }) => i.metadata.name === 'cluster-1'));
    const missing = await hubCall('GET', `${GV}/clustergateways/nope`);
    assert.equal(missing.status, 404);
    assert.match(JSON.parse(missing.text).message, /no such cluster nope/);
  });

  test('a malformed Secret never hides other clusters and GET says what is wrong', async () => {
    await k(['-n', 'vela-system', 'create', 'secret', 'generic', 'broken', '--from-literal=token=x']);
    await k([
      '-n',
      'vela-system',
      'label',
      'secret',
      'broken',
      'cluster.core.oam.dev/cluster-credential-type=ServiceAccountToken',
    ]);
    await until(() => gw.server.cache.invalid('broken') !== undefined);
    const r = await hubCall('GET', `${GV}/clustergateways/broken`);
    assert.equal(r.status, 500);
    assert.match(JSON.parse(r.text).message, /cluster "broken" is misconfigured: .*endpoint/);
    const names = (await k(['get', 'clustergateways', '-o', 'name'])).trim().split('\n');
    assert.deepEqual(names, [
      'clustergateway.cluster.core.oam.dev/cluster-1',
      'clustergateway.cluster.core.oam.dev/cluster-2',
    ]);
    await k(['-n', 'vela-system', 'delete', 'secret', 'broken']);
  });
});

describe('authentication and authorization', () => {
  test('a user without RBAC on clustergateways gets 403; with it, 200', async () => {
    const denied = await kubectl(['get', 'clustergateways', '--as', 'alice']);
    assert.notEqual(denied.code, 0);
    assert.match(
      denied.stderr,
      /forbidden: User "alice" cannot list resource "clustergateways" in API group "cluster.core.oam.dev"/,
    );
    await k([
      'create',
      'clusterrole',
      'gw-reader',
      '--verb=get,list,watch',
      '--resource=clustergateways.cluster.core.oam.dev',
    ]);
    await k(['create', 'clusterrolebinding', 'alice-gw', '--clusterrole=gw-reader', '--user=alice']);
    // the hub's RBAC and the gateway's SubjectAccessReview (cached up to 10 s for denials) must both allow
    await until(async () => (await kubectl(['get', 'clustergateways', '--as', 'alice'])).code === 0, 20_000);
  });

  test('front-proxy headers from a client without the requestheader CA are ignored', async () => {
    const bob = await hub.ca.issue({ commonName: 'bob', usage: 'client' });
    const agent = new Agent({
      connect: { ca: gw.server.servingCertificate, cert: bob.cert, key: bob.key, servername: 'localhost' },
    });
    try {
      const r = await request(`https://127.0.0.1:${gw.server.port}${GV}/clustergateways`, {
        dispatcher: agent,
        headers: { 'x-remote-user': 'kubernetes-admin', 'x-remote-group': 'system:masters' },
      });
      const body = JSON.parse(await r.body.text());
      assert.equal(r.statusCode, 403);
      assert.match(body.message, /User "bob" cannot list/);
    } finally {
      await agent.close();
    }
  });

  test('healthz is open, the API needs authentication', async () => {
    const agent = new Agent({ connect: { ca: gw.server.servingCertificate, servername: 'localhost' } });
    try {
      const h = await request(`https://127.0.0.1:${gw.server.port}/readyz`, { dispatcher: agent });
      assert.equal(h.statusCode, 200);
      assert.equal(await h.body.text(), 'ok');
      const anon = await request(`https://127.0.0.1:${gw.server.port}${GV}/clustergateways`, { dispatcher: agent });
      await anon.body.text();
      assert.equal(anon.statusCode, 403);
    } finally {
      await agent.close();
    }
  });
});

async function hubCall(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const agent = new Agent({ connect: { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key } });
  try {
    const r = await request(hub.url + path, {
      method: method as 'GET',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.statusCode, text: await r.body.text() };
  } finally {
    await agent.close();
  }
}

async function hubGet(path: string): Promise<any> {
  const r = await hubCall('GET', path);
  assert.equal(r.status, 200, r.text);
  return JSON.parse(r.text);
}
