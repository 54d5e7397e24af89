// End to end: whose identity a proxied request carries to the member (issue "The proxy subresource",
// impersonation acceptance). kubectl → hub (impersonating alice) → aggregation layer → gateway →
// cluster-1, whose RBAC grants alice only `list pods` in ns-a. Covered: ClientIdentityPenetration,
// hot-reloaded `--cluster-gateway-proxy-config` rules (StaticMapping alice → ops, Privileged by
// group), `?impersonate=true` with the gate off, `--authorize-proxy-subpath`, and that neither the
// caller's credentials nor its own Impersonate-*/X-Remote-* headers reach the member (a recording
// interceptor installed in the member sees exactly what arrives).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { Agent, request } from 'undici';
import { startSandbox, type RequestInterceptor, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { startSandboxGateway, type SandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';

const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const MEMBER = 'cluster-1';

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let member: SandboxCluster;
let gw: SandboxGateway | undefined;
let hubAgent: Agent;
let proxyConfig: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(kubeconfig: string, args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args], {
      env: { ...process.env, HOME: dir, KUBECONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    const t = setTimeout(() => p.kill(), 30_000);
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

/** kubectl as the cluster's own admin (setup). */
async function admin(cluster: string, args: string[], input?: string): Promise<void> {
  const r = await run(sb.kubeconfigPath(cluster), args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} on ${cluster}: ${r.stderr}`);
}

/** kubectl through the gateway to the member, as `as` (the hub admin impersonates at the hub). */
function viaGateway(as: { user: string; groups?: string[] }, args: string[]): Promise<Run> {
  const who = ['--as', as.user, ...(as.groups ?? []).flatMap((g) => ['--as-group', g])];
  return run(join(dir, 'via-gateway.kubeconfig'), [...who, ...args]);
}

const alice = { user: 'alice' };

async function until(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Seen {
  url: string;
  rawHeaders: string[];
  user: string;
  requester: string;
}

/** Record what the member receives (after its authentication, impersonation and RBAC). */
function record(match: (url: string) => boolean): { seen: Seen[]; stop(): void } {
  const seen: Seen[] = [];
  const rec: RequestInterceptor = {
    handle(ctx, req) {
      if (match(req.url ?? '')) {
        seen.push({
          url: req.url ?? '',
          rawHeaders: [...req.rawHeaders],
          user: ctx.user.username,
          requester: ctx.requester.username,
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

/** Values of every field named `name` (case-insensitive), one per header line. */
function fields(raw: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) out.push(raw[i + 1]!);
  return out;
}

function identityFields(raw: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!.toLowerCase();
    if (n.startsWith('impersonate-') || n.startsWith('x-remote-')) out.push(`${n}: ${raw[i + 1]!}`);
  }
  return out;
}

const rulesFile = (rules: unknown[]): string =>
  JSON.stringify({
    apiVersion: 'cluster.core.oam.dev/v1alpha1',
    kind: 'ClusterGatewayProxyConfiguration',
    spec: { clientIdentityExchanger: { rules } },
  });

/** Replace the file atomically, as editors and ConfigMap mounts do. */
async function writeRules(rules: unknown[]): Promise<void> {
  const tmp = `${proxyConfig}.tmp`;
  await writeFile(tmp, rulesFile(rules));
  await rename(tmp, proxyConfig);
}

const TO_OPS = {
  name: 'alice-is-ops',
  type: 'StaticMappingIdentityExchanger',
  source: { user: 'alice' },
  target: { user: 'ops' },
};
const SUDO = { name: 'sudoers', type: 'PrivilegedIdentityExchanger', source: { group: 'sudoer' } };

async function startGateway(extraArgs: string[]): Promise<void> {
  gw = await startSandboxGateway(sb, 'hub', dir, { extraArgs });
  const g = gw;
  await until(() => g.server.ready && g.server.cache.size === 2, 20_000);
  // the hub routes to this gateway once the APIService points at it
  await until(async () => {
    const r = await request(`${hub.url}${GV}/clustergateways/${MEMBER}/proxy/version`, { dispatcher: hubAgent });
    await r.body.dump();
    return r.statusCode === 200;
  }, 20_000);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-impersonation-e2e-'));
  sb = await startSandbox({ clusters: ['hub', MEMBER, 'cluster-2'], dir });
  hub = sb.clusters.get('hub')!;
  member = sb.clusters.get(MEMBER)!;
  hubAgent = new Agent({ connect: { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key } });
  await writeFile(
    join(dir, 'via-gateway.kubeconfig'),
    hub.kubeconfig().replace(`server: ${hub.url}`, `server: ${hub.url}${GV}/clustergateways/${MEMBER}/proxy`),
  );
  // the member: alice may list pods in ns-a only, ops in ns-b only
  await admin(MEMBER, ['create', 'namespace', 'ns-a']);
  await admin(MEMBER, ['create', 'namespace', 'ns-b']);
  await admin(MEMBER, ['-n', 'ns-a', 'create', 'role', 'pod-lister', '--verb=list', '--resource=pods']);
  await admin(MEMBER, ['-n', 'ns-a', 'create', 'rolebinding', 'alice', '--role=pod-lister', '--user=alice']);
  await admin(MEMBER, ['-n', 'ns-b', 'create', 'role', 'pod-lister', '--verb=list', '--resource=pods']);
  await admin(MEMBER, ['-n', 'ns-b', 'create', 'rolebinding', 'ops', '--role=pod-lister', '--user=ops']);
  // the hub: alice may use the proxy subresource
  // (applied as an object: `kubectl create clusterrole` checks the resource against discovery, and
  // the gateway's API is not served yet)
  await admin(
    'hub',
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRole',
          metadata: { name: 'gateway-proxy' },
          rules: [
            { apiGroups: ['cluster.core.oam.dev'], resources: ['clustergateways/proxy'], verbs: ['get', 'list'] },
          ],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'alice-gateway-proxy' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'gateway-proxy' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
        },
      ],
    }),
  );

  proxyConfig = join(dir, 'proxy-config.json');
  await writeRules([]);
  await startGateway([
    '--feature-gates=HealthinessCheck=true,ClientIdentityPenetration=true',
    `--cluster-gateway-proxy-config=${proxyConfig}`,
  ]);
});

after(async () => {
  await gw?.stop();
  await sb.stop();
  await hubAgent.close();
  await rm(dir, { recursive: true, force: true });
});

test('ClientIdentityPenetration: alice acts as herself at the member', async () => {
  const rec = record((u) => u.startsWith('/api/v1/namespaces/ns-a/pods'));
  try {
    const a = await viaGateway(alice, ['get', 'pods', '-n', 'ns-a']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stderr, /No resources found in ns-a namespace/);
  } finally {
    rec.stop();
  }
  assert.ok(rec.seen.length >= 1);
  for (const s of rec.seen) {
    assert.equal(s.user, 'alice');
    assert.equal(s.requester, 'cluster-gateway', 'the X509 credential of the cluster Secret authenticates');
    assert.deepEqual(fields(s.rawHeaders, 'impersonate-user'), ['alice']);
    assert.deepEqual(fields(s.rawHeaders, 'impersonate-group'), ['system:authenticated']);
  }

  const b = await viaGateway(alice, ['get', 'pods', '-n', 'ns-b']);
  assert.notEqual(b.code, 0);
  // the member's own 403, relayed unchanged
  assert.match(
    b.stderr,
    /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "ns-b"/,
  );
});

test("the caller's credentials and its own Impersonate-*/X-Remote-* headers never reach the member", async () => {
  const rec = record((u) => u.startsWith('/api/v1/namespaces/ns-a/pods'));
  try {
    // the hub admin (client certificate) impersonates alice at the hub, and sends junk besides
    const r = await request(`${hub.url}${GV}/clustergateways/${MEMBER}/proxy/api/v1/namespaces/ns-a/pods`, {
      dispatcher: hubAgent,
      headers: [
        'Impersonate-User',
        'alice',
        'Authorization',
        'Bearer caller-secret-token',
        'X-Remote-User',
        'mallory',
        'X-Remote-Group',
        'system:masters',
        'X-Remote-Extra-Scopes',
        'all',
      ],
    });
    assert.equal(r.statusCode, 200, await r.body.text());
    // straight at the gateway, with the hub admin's certificate and a forged front-proxy identity
    const direct = new Agent({
      connect: { ca: gw!.server.servingCertificate, cert: hub.admin.cert, key: hub.admin.key },
    });
    try {
      const d = await request(
        `https://127.0.0.1:${String(gw!.server.port)}${GV}/clustergateways/${MEMBER}/proxy/api/v1/namespaces/ns-a/pods`,
        {
          dispatcher: direct,
          headers: [
            'Impersonate-User',
            'alice',
            'X-Remote-User',
            'mallory',
            'X-Remote-Group',
            'system:masters',
            'Authorization',
            'Bearer caller-secret-token',
          ],
        },
      );
      assert.equal(d.statusCode, 200, await d.body.text());
    } finally {
      await direct.close();
    }
  } finally {
    rec.stop();
  }
  assert.equal(rec.seen.length, 2);
  for (const s of rec.seen) {
    assert.equal(s.user, 'alice');
    assert.equal(s.requester, 'cluster-gateway');
    assert.deepEqual(identityFields(s.rawHeaders), [
      'impersonate-user: alice',
      'impersonate-group: system:authenticated',
    ]);
    assert.deepEqual(fields(s.rawHeaders, 'authorization'), [], 'X509 cluster: no bearer token at all');
    const all = s.rawHeaders.join('\n');
    for (const leak of ['caller-secret-token', 'mallory', 'kubernetes-admin', 'system:masters']) {
      assert.ok(!all.includes(leak), `${leak} reached the member`);
    }
  }
});

test('a hot-reloaded StaticMapping rule maps alice to ops', async () => {
  await writeRules([TO_OPS]);
  // the file watcher (or its polling fallback) picks the change up without a restart
  await until(async () => (await viaGateway(alice, ['get', 'pods', '-n', 'ns-b'])).code === 0);
  const rec = record((u) => u.startsWith('/api/v1/namespaces/ns-b/pods'));
  try {
    const b = await viaGateway(alice, ['get', 'pods', '-n', 'ns-b']);
    assert.equal(b.code, 0, b.stderr);
  } finally {
    rec.stop();
  }
  assert.ok(rec.seen.length >= 1);
  for (const s of rec.seen) {
    assert.equal(s.user, 'ops');
    assert.deepEqual(identityFields(s.rawHeaders), ['impersonate-user: ops']);
  }
  // ops has no rights in ns-a: the mapping replaced alice's identity, it did not add to it
  const a = await viaGateway(alice, ['get', 'pods', '-n', 'ns-a']);
  assert.notEqual(a.code, 0);
  assert.match(a.stderr, /User "ops" cannot list resource "pods" in API group "" in the namespace "ns-a"/);
});

test('a PrivilegedIdentityExchanger rule sends no impersonation headers', async () => {
  await writeRules([SUDO, TO_OPS]);
  const sudoer = { user: 'alice', groups: ['sudoer'] };
  // ops cannot list ns-a, the gateway's own credential can: success means the new rules are live
  await until(async () => (await viaGateway(sudoer, ['get', 'pods', '-n', 'ns-a'])).code === 0);
  const rec = record((u) => u.startsWith('/api/v1/namespaces/ns-'));
  try {
    for (const ns of ['ns-a', 'ns-b']) {
      const r = await viaGateway(sudoer, ['get', 'pods', '-n', ns]);
      assert.equal(r.code, 0, r.stderr);
    }
  } finally {
    rec.stop();
  }
  assert.ok(rec.seen.length >= 2);
  for (const s of rec.seen) {
    assert.equal(s.user, 'cluster-gateway');
    assert.deepEqual(identityFields(s.rawHeaders), [], s.url);
  }
  // without the group the next rule still applies
  const plain = await viaGateway(alice, ['get', 'pods', '-n', 'ns-a']);
  assert.match(plain.stderr, /User "ops" cannot list/);
});

test('an invalid edit keeps the last good rules', async () => {
  await writeFile(proxyConfig, 'spec: [unclosed\n');
  // the gateway has read the bad version (and said why) ...
  await until(async () =>
    (await readFile(join(dir, 'gateway.log'), 'utf8')).includes(
      'the changed proxy config is invalid; keeping the last good rules',
    ),
  );
  // ... and both rules still apply
  const r = await viaGateway({ user: 'alice', groups: ['sudoer'] }, ['get', 'pods', '-n', 'ns-a']);
  assert.equal(r.code, 0, r.stderr);
  const plain = await viaGateway(alice, ['get', 'pods', '-n', 'ns-a']);
  assert.match(plain.stderr, /User "ops" cannot list/);
});

test('gate off: ?impersonate=true impersonates; --authorize-proxy-subpath checks the inner request at the hub', async () => {
  await gw!.stop();
  gw = undefined;
  // the hub lets alice get pods in ns-a only (the inner request's verb is the outer one: get)
  await admin('hub', ['create', 'namespace', 'ns-a']);
  await admin('hub', ['-n', 'ns-a', 'create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods']);
  await admin('hub', ['-n', 'ns-a', 'create', 'rolebinding', 'alice', '--role=pod-reader', '--user=alice']);
  await startGateway([
    '--feature-gates=HealthinessCheck=true,ClientIdentityPenetration=false',
    '--authorize-proxy-subpath',
  ]);

  // `get --raw` replaces the kubeconfig's server path, so the raw path names the proxy itself
  const PROXY = `${GV}/clustergateways/${MEMBER}/proxy`;
  const rec = record((u) => u.startsWith('/api/v1/namespaces/'));
  let viaImpersonate: Run;
  let plain: Run;
  let denied: Run;
  try {
    viaImpersonate = await viaGateway(alice, ['get', '--raw', `${PROXY}/api/v1/namespaces/ns-a/pods?impersonate=true`]);
    plain = await viaGateway(alice, ['get', '--raw', `${PROXY}/api/v1/namespaces/ns-a/pods`]);
    denied = await viaGateway(alice, ['get', '--raw', `${PROXY}/api/v1/namespaces/ns-b/pods`]);
  } finally {
    rec.stop();
  }
  assert.equal(viaImpersonate.code, 0, viaImpersonate.stderr);
  assert.equal((JSON.parse(viaImpersonate.stdout) as { kind: string }).kind, 'PodList');
  assert.equal(plain.code, 0, plain.stderr);
  assert.notEqual(denied.code, 0);
  // refused by the gateway for the hub's RBAC, before anything is sent to the member
  assert.match(
    denied.stderr,
    /Error from server \(Forbidden\): pods is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "ns-b"/,
  );
  assert.match(denied.stderr, /--authorize-proxy-subpath/);

  assert.deepEqual(
    rec.seen.map((s) => [s.url, s.user, identityFields(s.rawHeaders).join(',')]),
    [
      // the gateway consumes `impersonate`, it is not forwarded
      ['/api/v1/namespaces/ns-a/pods', 'alice', 'impersonate-user: alice,impersonate-group: system:authenticated'],
      ['/api/v1/namespaces/ns-a/pods', 'cluster-gateway', ''],
    ],
  );
});
