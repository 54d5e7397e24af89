// End to end over Konnectivity with the real kubectl (issue "Konnectivity egress", acceptance): the
// proxy issue's kubectl list (get, apply, server-side apply, server dry-run, delete, get -w, logs -f,
// exec, port-forward, cp) against cluster-2, a ClusterProxy cluster reached only through the sandbox
// proxy-server, and the connection-reuse count. The proxy-server-killed-mid-watch case lives in
// konnectivity.test.ts and is not repeated here.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'undici';
import { startSandbox, type RequestInterceptor, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';
import { lines, kill, until } from '../support/process.ts';

const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const CLUSTER = 'cluster-2';

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let gw: SandboxGateway;
let hubAgent: Agent;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kubeconfig(): string {
  return join(dir, `${CLUSTER}.via-gateway.kubeconfig`);
}

function spawnKubectl(args: string[]): ChildProcess {
  return spawn('kubectl', ['--kubeconfig', kubeconfig(), '--cache-dir', join(dir, 'cache'), ...args], {
    env: { ...process.env, HOME: dir, KUBECONFIG: '' },
  });
}

function kubectl(args: string[], input?: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawnKubectl(args);
    let stdout = '';
    let stderr = '';
    const t = setTimeout(() => p.kill(), timeoutMs);
    p.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin?.end(input);
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-clusterproxy-e2e-'));
  sb = await startSandbox({ clusters: ['hub', 'cluster-1', CLUSTER], dir });
  hub = sb.clusters.get('hub')!;
  hubAgent = new Agent({ connect: { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key } });
  gw = await startSandboxGateway(sb, 'hub', dir, { konnectivity: true });
  assert.equal(gw.clusterProxy, CLUSTER);
  await writeFile(
    kubeconfig(),
    hub.kubeconfig().replace(`server: ${hub.url}`, `server: ${hub.url}${GV}/clustergateways/${CLUSTER}/proxy`),
  );
  await until(() => gw.server.ready && gw.server.cache.size === 2, 20_000);
  await until(async () => (await kubectl(['get', '--raw', '/version'])).code === 0, 20_000);
  await ok(['run', 'web', '--image=nginx']);
  await ok(['wait', '--for=condition=Ready', 'pod/web', '--timeout=20s']);
});

after(async () => {
  await hubAgent.close();
  await gw.stop();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe(`kubectl through the gateway and the Konnectivity tunnel to ${CLUSTER}`, () => {
  test('the cluster has no endpoint: every byte goes through the proxy-server', async () => {
    const before = gw.konnectivity!.stats.streams;
    await ok(['get', '--raw', '/version']);
    // pooled: a warm tunnel may be reused, but one must have been opened at some point
    assert.ok(gw.konnectivity!.stats.streams >= 1 && gw.konnectivity!.stats.streams >= before);
    assert.ok(gw.konnectivity!.stats.dials >= 1);
  });

  test('get ns, apply, server-side apply, server dry-run, delete', async () => {
    assert.match(await ok(['get', 'ns', '-o', 'name']), /namespace\/kube-system/);
    const cm = (name: string, v: string): string =>
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v } });
    assert.match(await ok(['apply', '-f', '-'], cm('via-tunnel', '1')), /configmap\/via-tunnel created/);
    assert.match(await ok(['apply', '-f', '-'], cm('via-tunnel', '2')), /configmap\/via-tunnel configured/);
    assert.match(await ok(['apply', '--server-side', '-f', '-'], cm('via-tunnel-ssa', 's')), /serverside-applied/);
    const ssa = JSON.parse(await ok(['get', 'cm', 'via-tunnel-ssa', '-o', 'json', '--show-managed-fields'])) as {
      metadata: { managedFields: { manager: string; operation: string }[] };
    };
    assert.ok(ssa.metadata.managedFields.some((f) => f.operation === 'Apply' && f.manager === 'kubectl'));
    assert.match(
      await ok(['apply', '--dry-run=server', '-f', '-'], cm('dry-only', 'x')),
      /configmap\/dry-only created \(server dry run\)/,
    );
    const member = sb.clusters.get(CLUSTER)!;
    assert.equal(member.store.get('configmaps', 'default', 'dry-only'), undefined, 'dry run stored nothing');
    const missing = await kubectl(['get', 'cm', 'dry-only']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /configmaps "dry-only" not found/);
    assert.equal(
      (JSON.parse(await ok(['get', 'cm', 'via-tunnel', '-o', 'json'])) as { data: { v: string } }).data.v,
      '2',
    );
    assert.match(await ok(['delete', 'cm', 'via-tunnel', 'via-tunnel-ssa']), /deleted/);
    assert.equal(member.store.get('configmaps', 'default', 'via-tunnel'), undefined);
    assert.notEqual((await kubectl(['get', 'cm', 'via-tunnel'])).code, 0);
  });

  test('get -w streams events as they happen', async () => {
    const w = spawnKubectl(['get', 'configmaps', '-w', '--output-watch-events', '--no-headers']);
    try {
      await lines(w, (ls) => ls.some((l) => l.line.includes('kube-root-ca.crt')));
      const added = lines(w, (ls) => ls.some((l) => /^ADDED\s+watched/.test(l.line)));
      await ok(['create', 'configmap', 'watched', '--from-literal=a=b']);
      const t0 = Date.now();
      await added;
      assert.ok(Date.now() - t0 < 3000, 'the event arrived promptly');
      const deleted = lines(w, (ls) => ls.some((l) => /^DELETED\s+watched/.test(l.line)));
      await ok(['delete', 'configmap', 'watched']);
      await deleted;
    } finally {
      await kill(w);
    }
  });

  test('logs -f delivers lines incrementally', async () => {
    const l = spawnKubectl(['logs', '-f', 'web', '--tail=0']);
    try {
      const got = await lines(l, (ls) => ls.length >= 2, 10_000);
      assert.match(got[0]!.line, /web\/web: line \d+$/);
      assert.ok(got[1]!.at - got[0]!.at >= 700, `lines ${String(got[1]!.at - got[0]!.at)}ms apart`);
    } finally {
      await kill(l);
    }
  });

  test('exec: stdin round trip and exit codes', async () => {
    assert.equal(await ok(['exec', '-i', 'web', '--', 'cat'], 'through the tunnel\n'), 'through the tunnel\n');
    const big = `${'y'.repeat(1023)}\n`.repeat(512);
    assert.equal((await ok(['exec', '-i', 'web', '--', 'cat'], big)).length, big.length);
    const exit3 = await kubectl(['exec', 'web', '--', 'sh', '-c', 'exit 3']);
    assert.equal(exit3.code, 3, exit3.stderr);
  });

  test('port-forward carries bytes both ways', async () => {
    const pf = spawnKubectl(['port-forward', 'pod/web', ':8080']);
    try {
      const [first] = await lines(pf, (ls) => ls.some((l) => /Forwarding from 127\.0\.0\.1:\d+/.test(l.line)));
      const port = Number(/127\.0\.0\.1:(\d+)/.exec(first!.line)![1]);
      for (const path of ['/one', '/two']) {
        const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path, agent: false }, (r) => {
              let body = '';
              r.on('data', (c: Buffer) => (body += c.toString()));
              r.on('end', () => {
                resolve({ status: r.statusCode ?? 0, body });
              });
            })
            .on('error', reject);
        });
        assert.equal(res.status, 200);
        assert.match(res.body, /web/);
      }
    } finally {
      await kill(pf);
    }
  });

  test('cp to and from the pod', async () => {
    const local = join(dir, 'cp.txt');
    await writeFile(local, 'copied through the tunnel\n');
    await ok(['cp', local, 'web:/tmp/cp.txt']);
    assert.equal(await ok(['exec', 'web', '--', 'cat', '/tmp/cp.txt']), 'copied through the tunnel\n');
    const back = join(dir, 'back.txt');
    await ok(['cp', 'web:/tmp/cp.txt', back]);
    assert.equal(await readFile(back, 'utf8'), 'copied through the tunnel\n');
  });
});

describe('connection reuse through the tunnel', () => {
  test('1,000 sequential proxied GETs open at most a handful of tunnels and member TLS connections', async (t) => {
    const ks = gw.konnectivity!;
    const member = sb.clusters.get(CLUSTER)!;
    // Member side: every TLS connection the member accepts arrives from the in-process agent's own
    // TCP connection, so distinct (remote address, port) pairs on requests reaching the member are
    // distinct TLS connections, i.e. TLS handshakes.
    const peers = new Set<string>();
    let seen = 0;
    const rec: RequestInterceptor = {
      handle(_ctx, req) {
        if (req.url === '/version') {
          seen++;
          peers.add(`${String(req.socket.remoteAddress)}:${String(req.socket.remotePort)}`);
        }
        return false;
      },
    };
    member.interceptors.unshift(rec);
    const streams0 = ks.stats.streams;
    const dials0 = ks.stats.dials;
    // a keep-alive client to the hub, as a controller would have
    const client = new Agent({
      connect: { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key },
      connections: 1,
    });
    try {
      for (let i = 0; i < 1000; i++) {
        const r = await request(`${hub.url}${GV}/clustergateways/${CLUSTER}/proxy/version`, { dispatcher: client });
        const body = await r.body.text();
        assert.equal(r.statusCode, 200, body);
        if (i === 0) assert.match(body, /"gitVersion"/);
      }
    } finally {
      await client.close();
      member.interceptors.splice(member.interceptors.indexOf(rec), 1);
    }
    const streams = ks.stats.streams - streams0;
    const dials = ks.stats.dials - dials0;
    t.diagnostic(
      `gRPC streams ${String(streams)}, tunnel dials ${String(dials)}, member TLS connections ${String(peers.size)}`,
    );
    assert.equal(seen, 1000, 'every request reached the member');
    assert.ok(streams <= 5, `${String(streams)} gRPC streams for 1,000 requests`);
    assert.ok(dials <= 5, `${String(dials)} tunnel dials for 1,000 requests`);
    assert.ok(peers.size >= 1 && peers.size <= 5, `${String(peers.size)} member TLS connections for 1,000 requests`);
  });
});
