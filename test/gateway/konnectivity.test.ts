// End to end over Konnectivity: `startSandboxGateway(..., { konnectivity: true })` (what
// `cluster-gateway sandbox --gateway --konnectivity` runs) makes cluster-2 a ClusterProxy cluster
// reached only through the sandbox proxy-server. Requests go through the hub's aggregation layer
// as kubectl's would; the proxy-server's stream count shows whether tunnels are reused.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startSandbox, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';

const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ClusterProxy cluster through the sandbox Konnectivity proxy-server', () => {
  let dir: string;
  let sb: Sandbox;
  let hub: SandboxCluster;
  let gw: SandboxGateway;
  let agent: Agent;

  const get = async (path: string) => {
    const r = await request(`${hub.url}${path}`, { dispatcher: agent });
    return { status: r.statusCode, body: await r.body.text() };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-konnectivity-'));
    sb = await startSandbox({ clusters: ['hub', 'cluster-1', 'cluster-2'], dir });
    hub = sb.clusters.get('hub')!;
    gw = await startSandboxGateway(sb, 'hub', dir, { konnectivity: true });
    agent = new Agent({ connect: { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key } });
    const end = Date.now() + 20_000;
    while (!(gw.server.ready && gw.server.cache.size === 2)) {
      if (Date.now() > end) throw new Error('gateway not ready');
      await sleep(50);
    }
    while ((await get(`${GV}/clustergateways/cluster-2`)).status !== 200) {
      if (Date.now() > end) throw new Error('APIService not available');
      await sleep(100);
    }
  });

  after(async () => {
    await agent.close();
    await gw.stop();
    await sb.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('cluster-2 is a ClusterProxy cluster without an endpoint', async () => {
    assert.equal(gw.clusterProxy, 'cluster-2');
    const cg = JSON.parse((await get(`${GV}/clustergateways/cluster-2`)).body) as {
      spec: { access: { endpoint: { type: string; const?: unknown } } };
    };
    assert.equal(cg.spec.access.endpoint.type, 'ClusterProxy');
    assert.equal(cg.spec.access.endpoint.const, undefined);
  });

  test('proxied GETs go through the tunnel and reuse it', async () => {
    const before = gw.konnectivity!.stats.streams;
    for (let i = 0; i < 200; i++) {
      const r = await get(`${GV}/clustergateways/cluster-2/proxy/version`);
      assert.equal(r.status, 200, r.body);
      assert.match(r.body, /"gitVersion"/);
    }
    const opened = gw.konnectivity!.stats.streams - before;
    assert.ok(opened >= 0 && opened <= 5, `${opened} tunnels for 200 sequential requests`);
  });

  test('killing the proxy-server ends a watch; requests fail with the tunnel named, then recover', async () => {
    const ks = gw.konnectivity!;
    const w = await request(`${hub.url}${GV}/clustergateways/cluster-2/proxy/api/v1/namespaces?watch=true`, {
      dispatcher: agent,
    });
    assert.equal(w.statusCode, 200);
    const ended = (async () => {
      try {
        let bytes = 0;
        for await (const chunk of w.body) bytes += (chunk as Buffer).length;
        assert.ok(bytes >= 0);
        return 'ended';
      } catch {
        return 'errored';
      }
    })();
    await sleep(200);
    const t0 = Date.now();
    ks.kill();
    const how = await Promise.race([ended, sleep(10_000).then(() => 'still open')]);
    assert.notEqual(how, 'still open');
    assert.ok(Date.now() - t0 < 10_000);

    const down = await get(`${GV}/clustergateways/cluster-2/proxy/version`);
    assert.equal(down.status, 503, down.body);
    assert.match(down.body, /konnectivity tunnel to 127\.0\.0\.1:\d+/);

    await ks.restart();
    const end = Date.now() + 10_000;
    for (;;) {
      const r = await get(`${GV}/clustergateways/cluster-2/proxy/version`);
      if (r.status === 200) break;
      if (Date.now() > end) assert.fail(`no recovery: ${r.status} ${r.body}`);
      await sleep(200);
    }
  });
});
