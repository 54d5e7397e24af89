// Security tests (issue 9): who may use the gateway, what reaches a member, what the gateway refuses
// before any member sees it, what it survives, what it never writes to its log, and where it may
// dial. One sandbox (hub, cluster-1 X509, cluster-2 token) and one gateway at trace verbosity
// (--v=6) whose whole log is scanned for secrets at the end. Requests go straight at the gateway
// unless the case is about the hub's aggregation layer.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { Agent, request } from 'undici';
import { startSandbox, type RequestInterceptor, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';
import { until } from '../support/process.ts';

const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const CALLER_TOKEN = 'caller-secret-token-5f0c9d';

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let gw: SandboxGateway;
let hubAgent: Agent;
/** the hub admin's client certificate, straight at the gateway */
let adminAgent: Agent;
/** no client certificate */
let anonAgent: Agent;
/** a hub ServiceAccount token with no RBAC at all */
let nobodyToken: string;
/** every secret the log must never contain */
const secrets: string[] = [CALLER_TOKEN];

async function call(
  dispatcher: Agent,
  path: string,
  headers: Record<string, string> | string[] = {},
  opts: { method?: 'GET' | 'PUT' | 'POST'; body?: Buffer | string; origin?: string } = {},
): Promise<{ status: number; body: string }> {
  const r = await dispatcher.request({
    origin: opts.origin ?? `https://127.0.0.1:${String(gw.server.port)}`,
    path,
    method: opts.method ?? 'GET',
    headers,
    ...(opts.body === undefined ? {} : { body: opts.body }),
  });
  return { status: r.statusCode, body: await r.body.text() };
}

async function hubPost(path: string, body: unknown): Promise<void> {
  const r = await request(`${hub.url}${path}`, {
    dispatcher: hubAgent,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(r.statusCode < 300, await r.body.text());
  await r.body.dump();
}

function recordAll(member: SandboxCluster): {
  seen: { url: string; headers: Record<string, unknown> }[];
  stop(): void;
} {
  const seen: { url: string; headers: Record<string, unknown> }[] = [];
  const rec: RequestInterceptor = {
    handle(_ctx, req) {
      seen.push({ url: req.url ?? '', headers: { ...req.headers } });
      return false;
    },
    upgrade(_ctx, req) {
      seen.push({ url: req.url ?? '', headers: { ...req.headers } });
      return false;
    },
  };
  member.interceptors.unshift(rec);
  return {
    seen,
    stop() {
      member.interceptors.splice(member.interceptors.indexOf(rec), 1);
    },
  };
}

/** One raw HTTP/1.1 request over TLS, bytes exactly as given; resolves with what came back. */
function raw(head: string): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: gw.server.port,
      ca: gw.server.servingCertificate,
      cert: hub.admin.cert,
      key: hub.admin.key,
      ALPNProtocols: ['http/1.1'],
    });
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
    }, 5000);
    s.on('secureConnect', () => s.write(head));
    s.on('data', (b: Buffer) => (got += b.toString()));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-security-'));
  sb = await startSandbox({ clusters: ['hub', 'cluster-1', 'cluster-2'], dir });
  hub = sb.clusters.get('hub')!;
  hubAgent = new Agent({ connect: { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key } });
  gw = await startSandboxGateway(sb, 'hub', dir, { extraArgs: ['--v=6'] });
  adminAgent = new Agent({ connect: { ca: gw.server.servingCertificate, cert: hub.admin.cert, key: hub.admin.key } });
  anonAgent = new Agent({ connect: { ca: gw.server.servingCertificate } });
  await hubPost('/api/v1/namespaces/default/serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'nobody' },
  });
  const sa = hub.store.get('serviceaccounts', 'default', 'nobody')!;
  nobodyToken = hub.saTokens.issue({
    namespace: 'default',
    name: 'nobody',
    uid: sa.metadata.uid!,
    audiences: ['https://kubernetes.default.svc.cluster.local'],
    expirationSeconds: 3600,
  }).token;
  secrets.push(nobodyToken, hub.admin.key);
  // the metadata endpoint, behind the default --denied-endpoint-cidrs
  const c1 = await request(`${hub.url}/api/v1/namespaces/vela-system/secrets/cluster-1`, { dispatcher: hubAgent });
  const c1data = ((await c1.body.json()) as { data: Record<string, string> }).data;
  const c2 = await request(`${hub.url}/api/v1/namespaces/vela-system/secrets/cluster-2`, { dispatcher: hubAgent });
  const c2data = ((await c2.body.json()) as { data: Record<string, string> }).data;
  for (const v of [c1data['tls.key']!, c2data.token!]) secrets.push(Buffer.from(v, 'base64').toString());
  await hubPost('/api/v1/namespaces/vela-system/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'metadata',
      labels: {
        'cluster.core.oam.dev/cluster-credential-type': 'ServiceAccountToken',
        'cluster.core.oam.dev/cluster-endpoint-type': 'Const',
      },
    },
    data: { endpoint: b64('https://169.254.169.254'), token: b64('metadata-token-7a1e') },
  });
  secrets.push('metadata-token-7a1e');
  await until(() => gw.server.ready && gw.server.cache.size === 3);
});

after(async () => {
  await adminAgent.close();
  await anonAgent.close();
  await hubAgent.close();
  await gw.stop();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('authentication and authorization', () => {
  test('anonymous at the gateway: 403 for system:anonymous, as kube answers with anonymous auth on', async () => {
    const r = await call(anonAgent, `${GV}/clustergateways/cluster-1/proxy/api`);
    assert.ok(r.status === 401 || r.status === 403, `${String(r.status)} ${r.body}`);
    assert.match(r.body, /"kind":"Status"/);
    if (r.status === 403) assert.match(r.body, /system:anonymous/);
  });

  test('an invalid bearer token: 401 Unauthorized', async () => {
    const r = await call(anonAgent, `${GV}/clustergateways/cluster-1/proxy/api`, {
      authorization: `Bearer ${CALLER_TOKEN}`,
    });
    assert.equal(r.status, 401, r.body);
    assert.match(r.body, /"reason":"Unauthorized"/);
  });

  test('an authenticated caller without RBAC: 403 naming the user, at the gateway and through the hub', async () => {
    const r = await call(anonAgent, `${GV}/clustergateways/cluster-1/proxy/api`, {
      authorization: `Bearer ${nobodyToken}`,
    });
    assert.equal(r.status, 403, r.body);
    assert.match(r.body, /system:serviceaccount:default:nobody/);
    const viaHub = await request(`${hub.url}${GV}/clustergateways/cluster-1/proxy/api`, {
      headers: { authorization: `Bearer ${nobodyToken}` },
      dispatcher: new Agent({ connect: { ca: hub.ca.cert } }),
    });
    const body = await viaHub.body.text();
    assert.equal(viaHub.statusCode, 403, body);
    assert.match(body, /system:serviceaccount:default:nobody/);
  });

  test('spoofed X-Remote-* without a front-proxy certificate are ignored', async () => {
    const r = await call(anonAgent, `${GV}/clustergateways/cluster-1/proxy/api`, {
      authorization: `Bearer ${nobodyToken}`,
      'x-remote-user': 'system:admin',
      'x-remote-group': 'system:masters',
    });
    assert.equal(r.status, 403, r.body);
    assert.match(r.body, /system:serviceaccount:default:nobody/);
    // the hub admin's certificate is a client certificate, not a front-proxy one: still itself
    const anon = await call(anonAgent, `${GV}/clustergateways/cluster-1/proxy/api`, {
      'x-remote-user': 'system:admin',
      'x-remote-group': 'system:masters',
    });
    assert.ok(anon.status === 401 || anon.status === 403, anon.body);
  });

  test('spoofed Impersonate-* from an unprivileged caller: 403', async () => {
    const r = await call(anonAgent, `${GV}/clustergateways/cluster-1/proxy/api`, {
      authorization: `Bearer ${nobodyToken}`,
      'impersonate-user': 'system:admin',
      'impersonate-group': 'system:masters',
    });
    assert.equal(r.status, 403, r.body);
    assert.match(r.body, /cannot impersonate/);
  });
});

describe('what reaches a member', () => {
  test("the caller's Authorization never reaches a member", async () => {
    for (const name of ['cluster-1', 'cluster-2']) {
      const rec = recordAll(sb.clusters.get(name)!);
      try {
        const r = await call(adminAgent, `${GV}/clustergateways/${name}/proxy/api/v1/namespaces/default/configmaps`, {
          authorization: `Bearer ${CALLER_TOKEN}`,
        });
        assert.equal(r.status, 200, r.body);
      } finally {
        rec.stop();
      }
      assert.equal(rec.seen.length, 1);
      assert.doesNotMatch(JSON.stringify(rec.seen), new RegExp(CALLER_TOKEN));
    }
  });

  const escapes = [
    '/api/v1/..',
    '/api/v1/namespaces/%2e%2e/secrets',
    '/api/v1/namespaces/%2E%2E/secrets',
    '/api%2Fv1/namespaces',
    '/api%2fv1',
    '//example.com/api',
    '/https://example.com/api',
    '/http:%2F%2Fexample.com',
    '/api/v1/namespaces/a%0d%0aInjected:%20yes',
    '/api/v1/namespaces/%0a',
  ];
  test(`path escapes are 400 and never reach the member (${String(escapes.length)} paths)`, async () => {
    const member = sb.clusters.get('cluster-1')!;
    const rec = recordAll(member);
    try {
      for (const p of escapes) {
        const r = await call(adminAgent, `${GV}/clustergateways/cluster-1/proxy${p}`);
        assert.equal(r.status, 400, `${p}: ${r.body}`);
        assert.match(r.body, /"kind":"Status"/, p);
      }
      // climbing out of the proxy subresource leaves it: the gateway's own 404, nothing forwarded
      const out = await call(adminAgent, `${GV}/clustergateways/cluster-1/proxy/api/v1/../../../apis`);
      assert.equal(out.status, 404, out.body);
      // an absolute URL as the request target
      const abs = await raw(
        `GET https://evil.example${GV}/clustergateways/cluster-1/proxy/api HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(abs, /^HTTP\/1\.1 (400|404)/, abs.slice(0, 200));
    } finally {
      rec.stop();
    }
    assert.deepEqual(
      rec.seen.map((s) => s.url),
      [],
    );
  });

  test('literal CR/LF in the request line or a cluster name: refused, no header injected, gateway alive', async () => {
    const member = sb.clusters.get('cluster-1')!;
    const rec = recordAll(member);
    try {
      const a = await raw(
        `GET ${GV}/clustergateways/cluster-1/proxy/api\rInjected: yes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.match(a, /^HTTP\/1\.1 400/, a.slice(0, 200));
      const b = await call(adminAgent, `${GV}/clustergateways/cluster-1%0d%0aInjected:%20yes/proxy/api`);
      assert.ok(b.status === 400 || b.status === 404, `${String(b.status)} ${b.body}`);
    } finally {
      rec.stop();
    }
    assert.equal(rec.seen.length, 0);
    assert.equal((await call(adminAgent, '/healthz')).status, 200);
  });
});

describe('oversized input', () => {
  test('request headers over the limit: 431 or a closed connection, never a crash', async () => {
    const r = await raw(
      `GET ${GV}/clustergateways/cluster-1/proxy/api HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(200_000)}\r\nConnection: close\r\n\r\n`,
    );
    assert.ok(r === '' || r.startsWith('HTTP/1.1 431 Request Header Fields Too Large'), r.slice(0, 200));
    assert.equal((await call(adminAgent, '/healthz')).status, 200);
  });

  test('a body over 3 MiB to a gateway-handled endpoint (health): 413', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 1024, 32);
    const r = await call(
      adminAgent,
      `${GV}/clustergateways/cluster-1/health`,
      { 'content-type': 'application/json' },
      { method: 'PUT', body: big },
    ).catch((e: unknown) => ({ status: -1, body: String(e) }));
    assert.equal(r.status, 413, r.body);
    assert.equal((await call(adminAgent, '/healthz')).status, 200);
  });
});

describe('endpoint policy', () => {
  test('169.254.169.254 (default --denied-endpoint-cidrs): 403 at dial time', async () => {
    const t0 = Date.now();
    const r = await call(adminAgent, `${GV}/clustergateways/metadata/proxy/api`);
    assert.equal(r.status, 403, r.body);
    assert.ok(Date.now() - t0 < 2000);
    assert.match(r.body, /169\.254\.169\.254.*denied endpoint range 169\.254\.0\.0\/16/);
    // the cluster object itself is listed: the policy is about dialling, not about reading
    assert.equal((await call(adminAgent, `${GV}/clustergateways/metadata`)).status, 200);
  });

  test('--allowed-endpoint-cidrs: only endpoints inside the ranges are dialled', async () => {
    const gw2 = await startSandboxGateway(sb, 'hub', join(dir, 'gw2'), {
      extraArgs: ['--allowed-endpoint-cidrs=10.0.0.0/8'],
    });
    const a2 = new Agent({ connect: { ca: gw2.server.servingCertificate, cert: hub.admin.cert, key: hub.admin.key } });
    try {
      await until(() => gw2.server.ready && gw2.server.cache.size === 3);
      const r = await call(
        a2,
        `${GV}/clustergateways/cluster-1/proxy/api`,
        {},
        {
          origin: `https://127.0.0.1:${String(gw2.server.port)}`,
        },
      );
      assert.equal(r.status, 403, r.body);
      assert.match(r.body, /127\.0\.0\.1/);
    } finally {
      await a2.close();
      await gw2.stop();
    }
  });
});

test('the gateway log (trace level, the whole suite) holds no secret', async () => {
  await sleep(300); // the log destination is asynchronous
  const log = await readFile(join(dir, 'gateway.log'), 'utf8');
  // every proxied request of the suite left an audit line: the scan covers real traffic
  assert.ok((log.match(/"msg":"proxy"/g) ?? []).length >= 15, `too few proxy lines in the log: ${log.slice(0, 500)}`);
  for (const s of secrets) {
    assert.ok(!log.includes(s), `a secret (${s.slice(0, 12)}…) is in the log`);
    const body = s.split('\n').find((l) => l.length > 40 && !l.startsWith('-----'));
    if (body) assert.ok(!log.includes(body), 'a key body line is in the log');
  }
  assert.doesNotMatch(log, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  assert.doesNotMatch(log, /Bearer [A-Za-z0-9._-]{20,}/);
});
