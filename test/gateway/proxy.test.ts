// End to end: the proxy subresource through the sandbox hub (kubectl → hub aggregation layer →
// gateway → member), with the real kubectl pointed at `…/clustergateways/{cluster}/proxy` as users
// do (issue "The proxy subresource"). Both credential kinds are covered: cluster-1 (X509 client
// certificate) and cluster-2 (ServiceAccount token). What reaches the members is captured with a
// request recorder installed in the member (sandbox interceptors).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import * as http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'undici';
import { startSandbox, type RequestInterceptor, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';
import { lines, kill, until } from '../support/process.ts';

const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const LONG = process.env.LONG_TESTS === '1';

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let gw: SandboxGateway;
let hubAgent: Agent;
let baseline: number;
let stopped = false;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kubeconfigFor(cluster: string): string {
  return join(dir, `${cluster}.via-gateway.kubeconfig`);
}

function kubectl(cluster: string, args: string[], input?: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn('kubectl', ['--kubeconfig', kubeconfigFor(cluster), '--cache-dir', join(dir, 'cache'), ...args], {
      env: { ...process.env, HOME: dir, KUBECONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    const t = setTimeout(() => p.kill(), timeoutMs);
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input);
  });
}

async function ok(cluster: string, args: string[], input?: string): Promise<string> {
  const r = await kubectl(cluster, args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} via ${cluster}: ${r.stderr}`);
  return r.stdout;
}

function spawnKubectl(cluster: string, args: string[]): ChildProcess {
  return spawn('kubectl', ['--kubeconfig', kubeconfigFor(cluster), '--cache-dir', join(dir, 'cache'), ...args], {
    env: { ...process.env, HOME: dir, KUBECONFIG: '' },
  });
}

function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TLSWrap' || r === 'TCPSocketWrap').length;
}

/** A raw request to the hub as its admin (client certificate), path sent exactly as given. */
async function hubRaw(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const r = await request(`${hub.url}${path}`, { dispatcher: hubAgent, headers });
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
}

/** Record what members receive (headers and authenticated user) while a test runs. */
interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  user: string;
}

function record(member: SandboxCluster, match: (url: string) => boolean): { seen: Seen[]; stop(): void } {
  const seen: Seen[] = [];
  const rec: RequestInterceptor = {
    handle(ctx, req) {
      if (match(req.url ?? '')) {
        seen.push({
          url: req.url ?? '',
          headers: { ...req.headers },
          rawHeaders: [...req.rawHeaders],
          user: ctx.user.username,
        });
      }
      return false;
    },
    upgrade(ctx, req) {
      if (match(req.url ?? '')) {
        seen.push({
          url: req.url ?? '',
          headers: { ...req.headers },
          rawHeaders: [...req.rawHeaders],
          user: ctx.user.username,
        });
      }
      return false;
    },
  };
  member.interceptors.unshift(rec);
  return {
    seen,
    stop() {
      const i = member.interceptors.indexOf(rec);
      if (i >= 0) member.interceptors.splice(i, 1);
    },
  };
}

async function hubSecret(name: string): Promise<{ data: Record<string, string> }> {
  const r = await hubRaw(`/api/v1/namespaces/vela-system/secrets/${name}`);
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as { data: Record<string, string> };
}

async function createHubSecret(name: string, type: string, data: Record<string, string>): Promise<void> {
  const body = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      labels: {
        'cluster.core.oam.dev/cluster-credential-type': type,
        'cluster.core.oam.dev/cluster-endpoint-type': 'Const',
      },
    },
    data,
  });
  const r = await request(`${hub.url}/api/v1/namespaces/vela-system/secrets`, {
    dispatcher: hubAgent,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  assert.equal(r.statusCode, 201, await r.body.text());
  await r.body.dump();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-proxy-e2e-'));
  baseline = handles();
  sb = await startSandbox({ clusters: ['hub', 'cluster-1', 'cluster-2'], dir });
  hub = sb.clusters.get('hub')!;
  hubAgent = new Agent({ connect: { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key } });
  gw = await startSandboxGateway(sb, 'hub', dir);
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  // a cluster without CA (insecure + Warning) and one that refuses connections
  const c1 = await hubSecret('cluster-1');
  await createHubSecret('insecure-1', 'X509Certificate', {
    endpoint: c1.data.endpoint!,
    'tls.crt': c1.data['tls.crt']!,
    'tls.key': c1.data['tls.key']!,
  });
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await createHubSecret('dead', 'ServiceAccountToken', {
    endpoint: b64(`https://127.0.0.1:${String(deadPort)}`),
    'ca.crt': c1.data['ca.crt']!,
    token: b64('unused'),
  });
  for (const c of ['cluster-1', 'cluster-2', 'insecure-1', 'dead']) {
    await writeFile(
      kubeconfigFor(c),
      hub.kubeconfig().replace(`server: ${hub.url}`, `server: ${hub.url}${GV}/clustergateways/${c}/proxy`),
    );
  }
  await until(() => gw.server.ready && gw.server.cache.size === 4);
  // the hub routes to the gateway once the APIService is available
  await until(
    async () =>
      (
        await kubectl('cluster-1', [
          'get',
          '--raw',
          '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/cluster-1/proxy/version',
        ])
      ).code === 0,
    20_000,
  );
  await Promise.all(
    ['cluster-1', 'cluster-2'].map(async (c) => {
      await ok(c, ['run', 'web', '--image=nginx']);
      await ok(c, ['wait', '--for=condition=Ready', 'pod/web', '--timeout=20s']);
    }),
  );
});

after(async () => {
  if (!stopped) {
    await gw.stop();
    await sb.stop();
    await hubAgent.close();
  }
  await rm(dir, { recursive: true, force: true });
});

for (const cluster of ['cluster-1', 'cluster-2']) {
  describe(`kubectl through the gateway to ${cluster}`, () => {
    test('get ns, apply, server-side apply, server dry-run, delete', async () => {
      const ns = await ok(cluster, ['get', 'ns', '-o', 'name']);
      assert.match(ns, /namespace\/kube-system/);
      const cm = (name: string, v: string): string =>
        JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { v } });
      assert.match(await ok(cluster, ['apply', '-f', '-'], cm('via-gw', '1')), /configmap\/via-gw created/);
      assert.match(await ok(cluster, ['apply', '-f', '-'], cm('via-gw', '2')), /configmap\/via-gw configured/);
      assert.match(
        await ok(cluster, ['apply', '--server-side', '-f', '-'], cm('via-gw-ssa', 's')),
        /serverside-applied/,
      );
      const ssa = JSON.parse(await ok(cluster, ['get', 'cm', 'via-gw-ssa', '-o', 'json', '--show-managed-fields'])) as {
        metadata: { managedFields: { manager: string; operation: string }[] };
      };
      assert.ok(ssa.metadata.managedFields.some((f) => f.operation === 'Apply' && f.manager === 'kubectl'));
      const dry = await ok(cluster, ['apply', '--dry-run=server', '-f', '-'], cm('dry-only', 'x'));
      assert.match(dry, /configmap\/dry-only created \(server dry run\)/);
      const missing = await kubectl(cluster, ['get', 'cm', 'dry-only']);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /configmaps "dry-only" not found/);
      assert.equal(JSON.parse(await ok(cluster, ['get', 'cm', 'via-gw', '-o', 'json'])).data.v, '2');
      assert.match(await ok(cluster, ['delete', 'cm', 'via-gw', 'via-gw-ssa']), /deleted/);
      assert.notEqual((await kubectl(cluster, ['get', 'cm', 'via-gw'])).code, 0);
    });

    test('get -w streams events as they happen', async () => {
      const w = spawnKubectl(cluster, ['get', 'configmaps', '-w', '--output-watch-events', '--no-headers']);
      try {
        await lines(w, (ls) => ls.some((l) => l.line.includes('kube-root-ca.crt')));
        const added = lines(w, (ls) => ls.some((l) => /^ADDED\s+watched/.test(l.line)));
        await ok(cluster, ['create', 'configmap', 'watched', '--from-literal=a=b']);
        const t0 = Date.now();
        await added;
        assert.ok(Date.now() - t0 < 3000, 'the event arrived promptly');
        const deleted = lines(w, (ls) => ls.some((l) => /^DELETED\s+watched/.test(l.line)));
        await ok(cluster, ['delete', 'configmap', 'watched']);
        await deleted;
      } finally {
        await kill(w);
      }
    });

    test('logs -f delivers lines incrementally', async () => {
      const l = spawnKubectl(cluster, ['logs', '-f', 'web', '--tail=0']);
      try {
        const got = await lines(l, (ls) => ls.length >= 2, 10_000);
        assert.match(got[0]!.line, /web\/web: line \d+$/);
        assert.ok(got[1]!.at - got[0]!.at >= 700, `lines ${String(got[1]!.at - got[0]!.at)}ms apart`);
      } finally {
        await kill(l);
      }
    });

    test('exec: stdin round trip and exit codes', async () => {
      assert.equal(
        await ok(cluster, ['exec', '-i', 'web', '--', 'cat'], 'through the gateway\n'),
        'through the gateway\n',
      );
      const big = `${'x'.repeat(1023)}\n`.repeat(512);
      assert.equal((await ok(cluster, ['exec', '-i', 'web', '--', 'cat'], big)).length, big.length);
      const exit3 = await kubectl(cluster, ['exec', 'web', '--', 'sh', '-c', 'exit 3']);
      assert.equal(exit3.code, 3, exit3.stderr);
    });

    test('cp to and from the pod', async () => {
      const local = join(dir, `${cluster}-cp.txt`);
      await writeFile(local, `copied to ${cluster}\n`);
      await ok(cluster, ['cp', local, 'web:/tmp/cp.txt']);
      assert.equal(await ok(cluster, ['exec', 'web', '--', 'cat', '/tmp/cp.txt']), `copied to ${cluster}\n`);
      const back = join(dir, `${cluster}-back.txt`);
      await ok(cluster, ['cp', 'web:/tmp/cp.txt', back]);
      assert.equal(await readFile(back, 'utf8'), `copied to ${cluster}\n`);
    });

    test('port-forward carries bytes both ways', async () => {
      const pf = spawnKubectl(cluster, ['port-forward', 'pod/web', ':8080']);
      try {
        const [first] = await lines(pf, (ls) => ls.some((l) => /Forwarding from 127\.0\.0\.1:\d+/.test(l.line)));
        const port = Number(/127\.0\.0\.1:(\d+)/.exec(first!.line)![1]);
        const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: '/hello', agent: false }, (r) => {
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
      } finally {
        await kill(pf);
      }
    });
  });
}

describe('header hygiene and confinement', () => {
  test("the caller's token, Impersonate-* and X-Remote-* never reach the member", async () => {
    for (const [name, expectUser] of [
      ['cluster-1', 'cluster-gateway'],
      ['cluster-2', 'system:serviceaccount:kube-system:cluster-gateway'],
    ] as const) {
      const member = sb.clusters.get(name)!;
      const rec = record(member, (u) => u.includes('header-probe'));
      try {
        // through the hub: the hub authenticates the admin certificate and asserts X-Remote-* to us
        const r = await hubRaw(
          `${GV}/clustergateways/${name}/proxy/api/v1/namespaces/default/configmaps/header-probe`,
          {
            authorization: 'Bearer caller-secret-token',
            'x-remote-user': 'mallory',
            'x-remote-group': 'system:masters',
          },
        );
        assert.equal(r.status, 404, r.body);
        // directly at the gateway with the caller's own impersonation headers
        const direct = new Agent({
          connect: { ca: gw.server.servingCertificate, cert: hub.admin.cert, key: hub.admin.key },
        });
        try {
          const d = await request(
            `https://127.0.0.1:${String(gw.server.port)}${GV}/clustergateways/${name}/proxy/api/v1/namespaces/default/configmaps/header-probe`,
            {
              dispatcher: direct,
              headers: [
                'Impersonate-User',
                'admin-2',
                'Impersonate-Group',
                'system:masters',
                'Impersonate-Extra-Scopes',
                'all',
                'Authorization',
                'Bearer caller-secret-token',
              ],
            },
          );
          assert.equal(d.statusCode, 404, await d.body.text());
        } finally {
          await direct.close();
        }
      } finally {
        rec.stop();
      }
      assert.equal(rec.seen.length, 2);
      for (const s of rec.seen) {
        const names = Object.keys(s.headers);
        assert.deepEqual(
          names.filter((n) => n.startsWith('impersonate-') || n.startsWith('x-remote-')),
          [],
          `${name}: ${names.join(',')}`,
        );
        assert.equal(s.user, expectUser);
        if (name === 'cluster-1') assert.equal(s.headers.authorization, undefined);
        else {
          assert.match(String(s.headers.authorization), /^Bearer ey/);
          assert.doesNotMatch(String(s.headers.authorization), /caller-secret-token/);
        }
        assert.ok(s.headers['x-forwarded-for'], 'X-Forwarded-For is set');
      }
    }
  });

  test('path escape attempts are refused before reaching the member', async () => {
    const member = sb.clusters.get('cluster-1')!;
    const rec = record(member, () => true);
    const base = `${GV}/clustergateways/cluster-1/proxy`;
    // straight at the gateway: the raw paths arrive exactly as written (the hub would normalise some)
    const direct = new Agent({
      connect: { ca: gw.server.servingCertificate, cert: hub.admin.cert, key: hub.admin.key },
    });
    try {
      for (const p of [
        '/api/v1/..',
        '/api/v1/namespaces/%2e%2e/secrets',
        '/api/v1/namespaces/%2E./secrets',
        '/api/./v1',
        '/api%2Fv1/namespaces',
        '/api/v1%5Cnamespaces',
        '/api/v1/namespaces/a%00b',
        '/https://example.com/api',
        '//example.com:443/api',
      ]) {
        // origin + path: a URL string would be normalised (dot segments resolved) by the client
        const r = await direct.request({
          origin: `https://127.0.0.1:${String(gw.server.port)}`,
          path: `${base}${p}`,
          method: 'GET',
        });
        const body = await r.body.text();
        assert.equal(r.statusCode, 400, `${p}: ${body}`);
        assert.match(body, /"kind":"Status".*invalid proxy path/, p);
      }
      // through the hub, an encoded slash survives the hub's own URL handling and is refused here
      const viaHub = await hubRaw(`${base}/api%2Fv1/namespaces`);
      assert.equal(viaHub.status, 400, viaHub.body);
    } finally {
      rec.stop();
      await direct.close();
    }
    assert.deepEqual(
      rec.seen.map((s) => s.url),
      [],
    );
  });

  test('dryRun and __dryRun reach the member as dryRun; impersonate is consumed', async () => {
    const member = sb.clusters.get('cluster-2')!;
    const rec = record(member, (u) => u.includes('dryRun=All'));
    try {
      for (const q of ['dryRun=All&fieldValidation=Strict', '__dryRun=All&fieldValidation=Strict&impersonate=false']) {
        const r = await request(
          `${hub.url}${GV}/clustergateways/cluster-2/proxy/api/v1/namespaces/default/configmaps?${q}`,
          {
            dispatcher: hubAgent,
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dry-probe' } }),
          },
        );
        assert.equal(r.statusCode, 201, await r.body.text());
        await r.body.dump();
      }
    } finally {
      rec.stop();
    }
    assert.equal(member.store.get('configmaps', 'default', 'dry-probe'), undefined);
    assert.deepEqual(
      rec.seen.map((s) => s.url),
      [
        '/api/v1/namespaces/default/configmaps?dryRun=All&fieldValidation=Strict',
        '/api/v1/namespaces/default/configmaps?dryRun=All&fieldValidation=Strict',
      ],
    );
    const rec2 = record(member, (u) => u.includes('fieldValidation=Strict'));
    try {
      const r = await hubRaw(
        `${GV}/clustergateways/cluster-2/proxy/api/v1/namespaces/default/configmaps?__dryRun=All&fieldValidation=Strict&impersonate=true`,
      );
      assert.equal(r.status, 200, r.body);
    } finally {
      rec2.stop();
    }
    assert.deepEqual(
      rec2.seen.map((s) => s.url),
      ['/api/v1/namespaces/default/configmaps?dryRun=All&fieldValidation=Strict'],
    );
  });
});

describe('failures', () => {
  test('unknown cluster: 404 naming it', async () => {
    const r = await hubRaw(`${GV}/clustergateways/nope/proxy/api`);
    assert.equal(r.status, 404);
    assert.match(r.body, /no such cluster nope/);
  });

  test('a cluster without CA works and says so in a Warning header', async () => {
    const r = await kubectl('insecure-1', ['get', 'ns', 'default', '-o', 'name']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'namespace/default');
    assert.match(r.stderr, /Warning: cluster insecure-1 has no CA bundle: TLS verification is disabled/);
  });

  test('a member that refuses connections is a fast 503 Status naming the cluster and the cause', async () => {
    const t0 = Date.now();
    const r = await hubRaw(`${GV}/clustergateways/dead/proxy/api`);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(r.status, 503, r.body);
    const st = JSON.parse(r.body) as { kind: string; message: string; code: number };
    assert.equal(st.kind, 'Status');
    assert.match(
      st.message,
      /error trying to reach cluster "dead": dial tcp 127\.0\.0\.1:\d+: connect: connection refused/,
    );
    // kubectl's discovery sees the 503 first and words it its own way
    const k = await kubectl('dead', ['get', 'ns']);
    assert.notEqual(k.code, 0);
    assert.match(k.stderr, /ServiceUnavailable/);
  });

  test('metrics count real status codes per cluster', async () => {
    const text = await gw.server.metrics.render();
    assert.match(text, /ocm_proxy_proxied_requests_by_cluster_total\{cluster="cluster-1",code="200"\} \d+/);
    assert.match(text, /ocm_proxy_proxied_requests_by_cluster_total\{cluster="dead",code="503"\} \d+/);
    assert.match(
      text,
      /ocm_proxy_proxied_resource_requests_by_resource_total\{resource="configmaps",verb="create",code="201"\}/,
    );
    assert.match(text, /cluster_gateway_proxy_connections_reused_total\{cluster="cluster-1"\} [1-9]/);
  });
});

test('logs -f stays open for more than two minutes (LONG_TESTS=1)', { skip: !LONG, timeout: 200_000 }, async () => {
  const l = spawnKubectl('cluster-1', ['logs', '-f', 'web', '--tail=0']);
  try {
    const got = await lines(l, (ls) => ls.length > 0 && ls[ls.length - 1]!.at - ls[0]!.at >= 130_000, 180_000);
    for (let i = 1; i < got.length; i++) assert.ok(got[i]!.at - got[i - 1]!.at < 5000, 'no gap in the stream');
  } finally {
    await kill(l);
  }
});

test('stopping leaves no sockets behind', async () => {
  await gw.stop();
  await sb.stop();
  await hubAgent.close();
  stopped = true;
  await until(() => handles() <= baseline, 5000).catch(() => undefined);
  assert.ok(handles() <= baseline, `open sockets: ${process.getActiveResourcesInfo().join(',')}`);
});
