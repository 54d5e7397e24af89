// End to end against a real sandbox (hub + cluster-1 with X509 + cluster-2 with a token) and the
// gateway registered in the hub through the aggregation layer: the ClusterGateway helpers, and
// client-node helpers routed through `clustergateways/{name}/proxy` (generated clients, routed
// clients, KubernetesObjectApi, Watch, Log follow, Exec, PortForward). The proxy-routed tests skip
// themselves only while the gateway answers 501 (proxy subresource not built yet).

import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import {
  ApiException,
  CoreV1Api,
  Exec,
  KubeConfig,
  Log,
  PortForward,
  Watch,
  type V1Pod,
  type V1Status,
} from '@kubernetes/client-node';
import { startSandbox, type Sandbox } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../gateway/src/cli/sandbox-gateway.ts';
import { ClusterGatewayClient } from './client.ts';
import { getClusterGateway, getHealth, hubRequest, listClusterGateways, updateHealth } from './clustergateways.ts';
import { gatewayKubeConfig } from './kubeconfig.ts';
import { proxyPath } from './paths.ts';
import { runInCluster } from './routing.ts';

let dir: string;
let sb: Sandbox;
let gw: SandboxGateway;
let hub: KubeConfig;
const members = new Map<string, KubeConfig>();
/** why the proxy-routed tests skip, or undefined when the proxy subresource answers */
let proxySkip: string | undefined;

async function until<T>(fn: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what} not reached in time`, { cause: last });
    await new Promise((r) => setTimeout(r, 100));
  }
}

function member(name: string): KubeConfig {
  const kc = members.get(name);
  if (!kc) throw new Error(`no member ${name}`);
  return kc;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-client-e2e-'));
  sb = await startSandbox({ clusters: ['hub', 'cluster-1', 'cluster-2'], dir });
  gw = await startSandboxGateway(sb, 'hub', dir);
  hub = new KubeConfig();
  hub.loadFromFile(sb.kubeconfigPath('hub'));
  for (const name of ['cluster-1', 'cluster-2']) {
    const kc = new KubeConfig();
    kc.loadFromFile(sb.kubeconfigPath(name));
    members.set(name, kc);
    // a pod for logs/exec/port-forward, and a namespace only this member has (proves the routing)
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: `only-on-${name}` } } });
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 8080 }] }] },
      },
    });
    // a second pod whose followed log the test ends by deleting it: aborting a followed
    // client-node Log makes its internal stream emit an unhandled AbortError (client-node issue)
    await core.createNamespacedPod({
      namespace: 'default',
      body: { metadata: { name: 'logger' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    });
    for (const pod of ['p', 'logger'])
      await until(async () => {
        const got: V1Pod = await core.readNamespacedPod({ namespace: 'default', name: pod });
        return got.status?.phase === 'Running' ? true : undefined;
      }, `pod ${pod} Running on ${name}`);
  }
  // the APIService becomes available once the hub's discovery probe reached the gateway
  await until(async () => {
    const list = await listClusterGateways(hub);
    return list.items.length === 2 ? true : undefined;
  }, 'clustergateways listed through the hub');
  try {
    await hubRequest(hub, 'GET', `${proxyPath('cluster-1')}/version`);
  } catch (e) {
    if (e instanceof ApiException && e.code === 501)
      proxySkip = `the gateway answers 501 for the proxy subresource (${(e.body as { message?: string }).message})`;
  }
});

after(async () => {
  await gw.stop();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ClusterGateway helpers through the hub', () => {
  test('list and get', async () => {
    const list = await listClusterGateways(hub);
    assert.deepEqual(list.items.map((i) => i.metadata.name).sort(), ['cluster-1', 'cluster-2']);
    const one = await getClusterGateway(hub, 'cluster-1');
    assert.equal(one.kind, 'ClusterGateway');
    assert.equal(one.spec.access.endpoint.type, 'Const');
    assert.equal(one.spec.access.endpoint.const?.address, sb.clusters.get('cluster-1')!.url);
    assert.equal(one.spec.access.credential?.type, 'X509Certificate');
    assert.equal((await getClusterGateway(hub, 'cluster-2')).spec.access.credential?.type, 'ServiceAccountToken');
    const selected = await listClusterGateways(hub, {
      labelSelector: 'cluster.core.oam.dev/cluster-credential-type=ServiceAccountToken',
    });
    assert.deepEqual(
      selected.items.map((i) => i.metadata.name),
      ['cluster-2'],
    );
  });

  test('health: update then read back (HealthinessCheck is on in the sandbox gateway)', async () => {
    const updated = await updateHealth(hub, 'cluster-2', true, 'e2e probe');
    assert.equal(updated.status.healthy, true);
    assert.equal(updated.status.healthyReason, 'e2e probe');
    const read = await until(async () => {
      const h = await getHealth(hub, 'cluster-2');
      return h.status.healthyReason === 'e2e probe' ? h : undefined;
    }, 'health read back');
    assert.equal(read.status.healthy, true);
    await updateHealth(hub, 'cluster-2', false, HEALTH_RESET);
    const client = new ClusterGatewayClient(hub);
    assert.equal((await client.getHealth('cluster-2')).status.healthy, false);
  });

  test('an unknown cluster is a 404 ApiException', async () => {
    await assert.rejects(getClusterGateway(hub, 'nope'), (e: unknown) => {
      assert.ok(e instanceof ApiException);
      assert.equal(e.code, 404);
      return true;
    });
  });
});

const HEALTH_RESET = 'reset by e2e';

function skipWithoutProxy(t: TestContext): boolean {
  if (proxySkip === undefined) return false;
  t.skip(proxySkip);
  return true;
}

describe('client-node through the proxy subresource', () => {
  test('CoreV1Api.listNamespace reaches the right member (X509 and token clusters)', async (t) => {
    if (skipWithoutProxy(t)) return;
    const client = new ClusterGatewayClient(hub);
    for (const name of ['cluster-1', 'cluster-2']) {
      const list = await client.api(CoreV1Api, name).listNamespace();
      const names = list.items.map((n) => n.metadata?.name);
      assert.ok(names.includes(`only-on-${name}`), `${name}: ${names.join(',')}`);
      assert.ok(!names.some((n) => n?.startsWith('only-on-') && n !== `only-on-${name}`));
    }
    // per-call and context routing reach the same members
    const hubApi = hub.makeApiClient(CoreV1Api);
    const viaOption = await hubApi.listNamespace({}, client.withCluster('cluster-2'));
    assert.ok(viaOption.items.some((n) => n.metadata?.name === 'only-on-cluster-2'));
    const routed = client.routedApi(CoreV1Api);
    const viaContext = await runInCluster('cluster-1', () => routed.listNamespace());
    assert.ok(viaContext.items.some((n) => n.metadata?.name === 'only-on-cluster-1'));
    const hubItself = await routed.listNamespace();
    assert.ok(!hubItself.items.some((n) => n.metadata?.name?.startsWith('only-on-')));
  });

  test('the exported kubeconfig works for kubectl', async (t) => {
    if (skipWithoutProxy(t)) return;
    const file = join(dir, 'cluster-2.kubeconfig');
    await writeFile(file, gatewayKubeConfig(hub, 'cluster-2').exportConfig(), { mode: 0o600 });
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        'kubectl',
        ['--cache-dir', join(dir, 'cache'), 'get', 'ns', '-o', 'name'],
        { env: { ...process.env, KUBECONFIG: file, HOME: dir }, timeout: 30_000 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`kubectl: ${stderr}`, { cause: err }));
          else resolve(stdout);
        },
      );
    });
    assert.match(out, /^namespace\/only-on-cluster-2$/m);
    assert.doesNotMatch(out, /only-on-cluster-1/);
  });

  test('KubernetesObjectApi create (dry run and real), read, delete', async (t) => {
    if (skipWithoutProxy(t)) return;
    const objects = new ClusterGatewayClient(hub).objects('cluster-2');
    const spec = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'via-gw', namespace: 'default' } };
    await objects.create(spec, undefined, 'All');
    const memberCore = member('cluster-2').makeApiClient(CoreV1Api);
    await assert.rejects(memberCore.readNamespacedConfigMap({ namespace: 'default', name: 'via-gw' }), { code: 404 });
    await objects.create({ ...spec, data: { k: 'v' } } as typeof spec);
    const cm = await memberCore.readNamespacedConfigMap({ namespace: 'default', name: 'via-gw' });
    assert.deepEqual(cm.data, { k: 'v' });
    const read = await objects.read(spec);
    assert.equal(read.metadata?.uid, cm.metadata?.uid);
    await objects.delete(spec);
  });

  test('Watch of configmaps delivers events made at the member', async (t) => {
    if (skipWithoutProxy(t)) return;
    const kc = gatewayKubeConfig(hub, 'cluster-1');
    const seen: string[] = [];
    const got = new Promise<void>((resolve) => {
      void new Watch(kc)
        .watch(
          '/api/v1/namespaces/default/configmaps',
          {},
          (type, obj: { metadata: { name: string } }) => {
            seen.push(`${type} ${obj.metadata.name}`);
            if (obj.metadata.name === 'watched') resolve();
          },
          () => undefined,
        )
        .then((ac) => {
          after(() => {
            ac.abort();
          });
          return member('cluster-1')
            .makeApiClient(CoreV1Api)
            .createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'watched' } } });
        });
    });
    await got;
    assert.ok(seen.includes('ADDED watched'), seen.join(','));
  });

  test('Log follow streams lines incrementally and ends with the container', async (t) => {
    if (skipWithoutProxy(t)) return;
    const out = new PassThrough();
    const lines: { at: number; text: string }[] = [];
    let buf = '';
    const ended = new Promise((resolve) => out.on('end', resolve));
    const three = new Promise<void>((resolve) => {
      out.on('data', (c: Buffer) => {
        buf += c.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push({ at: Date.now(), text: buf.slice(0, i) });
          buf = buf.slice(i + 1);
        }
        if (lines.length >= 3) resolve();
      });
    });
    await new Log(gatewayKubeConfig(hub, 'cluster-2')).log('default', 'logger', 'c', out, {
      follow: true,
      tailLines: 1,
    });
    await three;
    assert.match(lines[0]!.text, /logger\/c: line \d+$/);
    // followed lines arrive as they are printed (one per second), not all at the end
    assert.ok(lines[2]!.at - lines[1]!.at >= 500, `${lines[1]!.at} → ${lines[2]!.at}`);
    await member('cluster-2')
      .makeApiClient(CoreV1Api)
      .deleteNamespacedPod({ namespace: 'default', name: 'logger', gracePeriodSeconds: 0 });
    await ended;
  });

  test('Exec: echo and a non-zero exit code', async (t) => {
    if (skipWithoutProxy(t)) return;
    const exec = new Exec(gatewayKubeConfig(hub, 'cluster-1'));
    const run = async (cmd: string[]): Promise<{ out: string; status: V1Status }> => {
      const chunks: Buffer[] = [];
      const stdout = new Writable({
        write(c: Buffer, _e, cb) {
          chunks.push(c);
          cb();
        },
      });
      const status = await new Promise<V1Status>((resolve, reject) => {
        exec.exec('default', 'p', 'c', cmd, stdout, null, null, false, resolve).catch(reject);
      });
      return { out: Buffer.concat(chunks).toString(), status };
    };
    const echo = await run(['echo', 'hello through the gateway']);
    assert.equal(echo.out, 'hello through the gateway\n');
    assert.equal(echo.status.status, 'Success');
    const fail = await run(['sh', '-c', 'exit 3']);
    assert.equal(fail.status.status, 'Failure');
    assert.equal(fail.status.reason, 'NonZeroExitCode');
    assert.equal(fail.status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message, '3');
  });

  test('PortForward echoes through the tunnel', async (t) => {
    if (skipWithoutProxy(t)) return;
    const input = new PassThrough();
    const output = new PassThrough();
    const got = new Promise<string>((resolve) => {
      let s = '';
      output.on('data', (c: Buffer) => {
        s += c.toString();
        if (s.includes('ping')) resolve(s);
      });
    });
    const ws = (await new PortForward(gatewayKubeConfig(hub, 'cluster-2')).portForward(
      'default',
      'p',
      [8080],
      output,
      null,
      input,
    )) as { close(): void };
    try {
      input.write('ping');
      assert.match(await got, /ping/);
    } finally {
      ws.close();
    }
  });
});
