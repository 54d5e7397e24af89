// End-to-end tests of the aggregation layer in a sandbox hub with kubectl: an extension apiserver
// registered through an ExternalName Service and an APIService is reached with the front-proxy
// certificate and the caller's identity in X-Remote-* (never its credentials), its resources are
// discoverable and listable, upgrades pass through, and failures look like kube-aggregator's.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as https from 'node:https';
import * as tls from 'node:tls';
import * as http2 from 'node:http2';
import { X509Certificate } from 'node:crypto';
import { startSandbox, type Sandbox } from '../host.ts';
import type { SandboxCluster } from '../server/cluster.ts';
import type { KubeObject } from '../api/types.ts';
import { createCA } from '../pki/pki.ts';
import { type Aggregator } from './aggregator.ts';
import { startTestBackend, RESOURCE_LIST, type TestBackend } from './test-backend.ts';
import { APISERVICE_KEY } from './resolve.ts';

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let agg: Aggregator;
let backend: TestBackend;
let calls = 0;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'kubectl',
      ['--kubeconfig', sb.kubeconfigPath('hub'), '--cache-dir', join(dir, `cache-${calls++}`), ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

async function kubectlOK(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function apply(obj: unknown): Promise<void> {
  const file = join(dir, `obj-${calls++}.json`);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, JSON.stringify(obj));
  await kubectlOK('apply', '-f', file);
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function condition(name = 'v1.example.test'): Record<string, string> | undefined {
  const o = hub.store.get(APISERVICE_KEY, undefined, name);
  return (o?.status as { conditions?: Record<string, string>[] } | undefined)?.conditions?.find(
    (c) => c.type === 'Available',
  );
}

/** The last request the backend saw from a client (not from the availability prober). */
function lastCall(): (typeof backend.seen)[number] {
  return backend.seen.filter((x) => x.headers['x-remote-user'] !== 'system:kube-aggregator').at(-1)!;
}

interface Raw {
  status: number;
  type: string;
  body: string;
}

/** A request to the hub with explicit credentials (kubectl cannot send arbitrary headers). */
function hubRequest(path: string, headers: Record<string, string | string[]>, withCert = true): Promise<Raw> {
  const u = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path,
        method: 'GET',
        ca: hub.ca.cert,
        ...(withCert ? { cert: hub.admin.cert, key: hub.admin.key } : {}),
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const APISERVICE = (caBundle: string): Record<string, unknown> => ({
  apiVersion: 'apiregistration.k8s.io/v1',
  kind: 'APIService',
  metadata: { name: 'v1.example.test' },
  spec: {
    group: 'example.test',
    version: 'v1',
    groupPriorityMinimum: 1000,
    versionPriority: 15,
    service: { namespace: 'default', name: 'example-api', port: backend.port },
    caBundle: Buffer.from(caBundle).toString('base64'),
  },
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aggregator-'));
  sb = await startSandbox({
    clusters: ['hub'],
    dir,
    tokens: { 'tok-123': { username: 'token-user', groups: ['team-a'] } },
    aggregator: { probeIntervalMs: 200, probeTimeoutMs: 2000 },
  });
  hub = sb.clusters.get('hub')!;
  agg = hub.aggregator;
  const cm = hub.store.get('configmaps', 'kube-system', 'extension-apiserver-authentication')!;
  backend = await startTestBackend({ clientCA: (cm.data as Record<string, string>)['requestheader-client-ca-file']! });
  await apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'example-api', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: 'localhost' },
  });
  await apply(APISERVICE(backend.ca));
  await waitFor('v1.example.test Available', () => condition()?.status === 'True');
});

after(async () => {
  await agg.stop();
  await sb.stop();
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

test('extension-apiserver-authentication is published as kube-apiserver writes it', async () => {
  const cm = JSON.parse(
    await kubectlOK('get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication', '-o', 'json'),
  ) as KubeObject;
  const data = cm.data as Record<string, string>;
  assert.equal(data['requestheader-allowed-names'], '["front-proxy-client"]');
  assert.equal(data['requestheader-username-headers'], '["X-Remote-User"]');
  assert.equal(data['requestheader-group-headers'], '["X-Remote-Group"]');
  assert.equal(data['requestheader-extra-headers-prefix'], '["X-Remote-Extra-"]');
  assert.equal(
    new X509Certificate(data['client-ca-file']!).fingerprint256,
    new X509Certificate(hub.ca.cert).fingerprint256,
  );
  const rhCA = new X509Certificate(data['requestheader-client-ca-file']!);
  assert.notEqual(rhCA.fingerprint256, new X509Certificate(hub.ca.cert).fingerprint256);
  const client = new X509Certificate(agg.frontProxyClient.cert);
  assert.ok(client.checkIssued(rhCA) && client.verify(rhCA.publicKey));
  assert.match(client.subject, /^CN=front-proxy-client$/m);
  // readable by extension apiservers through the bootstrap Role
  await kubectlOK('get', 'role', '-n', 'kube-system', 'extension-apiserver-authentication-reader');
  // a clobbered ConfigMap is repaired
  await kubectlOK(
    'patch',
    'configmap',
    '-n',
    'kube-system',
    'extension-apiserver-authentication',
    '--type=merge',
    '-p',
    '{"data":{"requestheader-allowed-names":"[]"}}',
  );
  await waitFor(
    'repair',
    () =>
      (
        hub.store.get('configmaps', 'kube-system', 'extension-apiserver-authentication')?.data as Record<string, string>
      )['requestheader-allowed-names'] === '["front-proxy-client"]',
  );
});

test('kubectl get --raw reaches the backend with the caller asserted by the front proxy', async () => {
  const out = await kubectlOK('get', '--raw', '/apis/example.test/v1');
  assert.deepEqual(JSON.parse(out), RESOURCE_LIST);
  const s = backend.seen.filter((x) => x.headers['x-remote-user'] === 'kubernetes-admin').at(-1)!;
  assert.equal(s.path, '/apis/example.test/v1');
  assert.deepEqual(s.headers['x-remote-group'], 'system:masters, system:authenticated');
  assert.equal(s.clientCN, 'front-proxy-client');
  assert.equal(s.authorized, true);
  assert.equal(s.httpVersion, '2.0');
  assert.match(String(s.headers['user-agent']), /^kubectl/);
});

test("the caller's credentials never arrive; impersonated identity does", async () => {
  const byToken = await hubRequest(
    '/apis/example.test/v1',
    { authorization: 'Bearer tok-123', 'x-remote-user': 'mallory' },
    false,
  );
  assert.equal(byToken.status, 200);
  let s = lastCall();
  assert.equal(s.headers.authorization, undefined);
  assert.equal(s.headers['x-remote-user'], 'token-user');
  assert.equal(s.headers['x-remote-group'], 'team-a, system:authenticated');

  const imp = await hubRequest('/apis/example.test/v1?b=2&a=1', {
    'impersonate-user': 'jane',
    'impersonate-group': ['devs', 'ops'],
    'impersonate-extra-scopes': 'view',
    'impersonate-extra-example.com%2fteam': 'blue',
  });
  assert.equal(imp.status, 200);
  s = lastCall();
  assert.equal(s.path, '/apis/example.test/v1?a=1&b=2');
  assert.equal(s.headers['x-remote-user'], 'jane');
  assert.equal(s.headers['x-remote-group'], 'devs, ops, system:authenticated');
  assert.equal(s.headers['x-remote-extra-scopes'], 'view');
  assert.equal(s.headers['x-remote-extra-example.com%2fteam'], 'blue');
  assert.equal(Object.keys(s.headers).filter((h) => h.startsWith('impersonate-')).length, 0);
});

test('kubectl get widgets and api-resources see the aggregated group', async () => {
  const out = await kubectlOK('get', 'widgets', '-n', 'default');
  assert.match(out, /^NAME\s+/);
  assert.match(out, /\nalpha\s/);
  assert.match(out, /\nbeta\s/);
  const res = await kubectlOK('api-resources', '--api-group=example.test');
  assert.match(res, /widgets\s+wd\s+example\.test\/v1\s+true\s+Widget/);
  const svc = await kubectlOK('get', 'apiservices');
  assert.match(svc, /v1\.example\.test\s+default\/example-api\s+True/);
  assert.match(svc, /v1\.apps\s+Local\s+True/);
  assert.match(svc, /\nv1\.\s+Local\s+True/);
});

test('a watch over h2 streams through the hub and closing it closes the upstream watch', async () => {
  const session = http2.connect(hub.url, { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key });
  try {
    const stream = session.request({
      ':path': '/apis/example.test/v1/namespaces/default/widgets?watch=true',
      accept: 'application/json',
    });
    const status = await new Promise<number>((r) =>
      stream.once('response', (h) => {
        r(Number(h[':status']));
      }),
    );
    assert.equal(status, 200);
    let text = '';
    await new Promise<void>((resolve) => {
      const onData = (c: Buffer): void => {
        text += c.toString('utf8');
        if (text.split('\n').length > 3) {
          stream.off('data', onData);
          resolve();
        }
      };
      stream.on('data', onData);
    });
    assert.deepEqual(
      text
        .split('\n')
        .slice(0, 3)
        .map((l) => (JSON.parse(l) as { type: string }).type),
      ['ADDED', 'ADDED', 'ADDED'],
    );
    assert.equal(backend.openWatches(), 1);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor('upstream watch closed', () => backend.openWatches() === 0, 2000);
  } finally {
    session.close();
  }
});

test('CRD group versions get automanaged Local APIServices that go away with the CRD', async () => {
  await apply({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'gadgets.stable.example.com' },
    spec: {
      group: 'stable.example.com',
      scope: 'Namespaced',
      names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
      versions: [
        { name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } },
        { name: 'v1beta1', served: true, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
      ],
    },
  });
  const o = await waitFor('v1.stable.example.com', () =>
    hub.store.get(APISERVICE_KEY, undefined, 'v1.stable.example.com'),
  );
  assert.deepEqual(o.spec, {
    group: 'stable.example.com',
    version: 'v1',
    groupPriorityMinimum: 1000,
    versionPriority: 100,
  });
  assert.equal(o.metadata.labels?.['kube-aggregator.kubernetes.io/automanaged'], 'true');
  assert.equal(condition('v1.stable.example.com')?.reason, 'Local');
  await waitFor('v1beta1.stable.example.com', () =>
    hub.store.get(APISERVICE_KEY, undefined, 'v1beta1.stable.example.com'),
  );
  await kubectlOK('delete', 'crd', 'gadgets.stable.example.com');
  await waitFor(
    'CRD APIServices removed',
    () =>
      !hub.store.get(APISERVICE_KEY, undefined, 'v1.stable.example.com') &&
      !hub.store.get(APISERVICE_KEY, undefined, 'v1beta1.stable.example.com'),
  );
  // a user-created local APIService is marked Available too
  await apply({
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1.local.example.com' },
    spec: { group: 'local.example.com', version: 'v1', groupPriorityMinimum: 100, versionPriority: 10 },
  });
  await waitFor('local condition', () => condition('v1.local.example.com')?.reason === 'Local');
  await kubectlOK('delete', 'apiservice', 'v1.local.example.com');
});

test('an upgrade passes through the hub byte for byte', async () => {
  const u = new URL(hub.url);
  const payload = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256));
  const out = await new Promise<Buffer>((resolve, reject) => {
    const s = tls.connect(
      {
        host: u.hostname,
        port: Number(u.port),
        ca: hub.ca.cert,
        cert: hub.admin.cert,
        key: hub.admin.key,
        ALPNProtocols: ['http/1.1'],
      },
      () => {
        s.write(
          'POST /apis/example.test/v1/namespaces/default/widgets/alpha/exec?command=sh HTTP/1.1\r\nHost: hub\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n',
        );
      },
    );
    const chunks: Buffer[] = [];
    let sent = false;
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end !== -1 && !sent) {
        sent = true;
        s.write(payload);
      }
      if (sent && all.length >= end + 4 + payload.length) s.end();
    });
    s.on('close', () => {
      resolve(Buffer.concat(chunks));
    });
    s.on('error', reject);
  });
  const end = out.indexOf('\r\n\r\n');
  assert.match(out.subarray(0, end).toString(), /^HTTP\/1\.1 101 Switching Protocols/);
  assert.deepEqual(out.subarray(end + 4), payload);
  const s = lastCall();
  assert.equal(s.headers['x-remote-user'], 'kubernetes-admin');
  assert.equal(s.clientCN, 'front-proxy-client');
});

test('a caBundle that does not match the backend is a 503', async () => {
  const other = await createCA('someone-else');
  await apply(APISERVICE(other.cert));
  // the availability probe does not verify certificates (as in kube), so the APIService stays Available
  await waitFor('new caBundle picked up', () => condition()?.status === 'True');
  const r = await hubRequest('/apis/example.test/v1', {});
  assert.equal(r.status, 503);
  assert.equal(r.type, 'text/plain; charset=utf-8');
  assert.equal(r.body, 'tls: failed to verify certificate: x509: certificate signed by unknown authority\n');
  const k = await kubectl('get', '--raw', '/apis/example.test/v1');
  assert.notEqual(k.code, 0);
  assert.match(k.stderr, /ServiceUnavailable|unable to handle the request/);
  await apply(APISERVICE(backend.ca));
  const back = await hubRequest('/apis/example.test/v1', {});
  assert.equal(back.status, 200);
});

test('a missing Service makes the APIService unavailable', async () => {
  await kubectlOK('delete', 'service', 'example-api', '-n', 'default');
  const c = await waitFor('ServiceNotFound', () =>
    condition()?.reason === 'ServiceNotFound' ? condition() : undefined,
  );
  assert.equal(c.status, 'False');
  assert.equal(c.message, 'service/example-api in "default" is not present');
  const r = await hubRequest('/apis/example.test/v1/namespaces/default/widgets', {});
  assert.equal(r.status, 503);
  assert.equal(r.body, 'service unavailable\n');
  await apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'example-api', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: 'localhost' },
  });
  await waitFor('Available again', () => condition()?.status === 'True');
});

test('a stopped backend: Available=False, discovery still answers for the other groups', async () => {
  await backend.close();
  const c = await waitFor('FailedDiscoveryCheck', () => (condition()?.status === 'False' ? condition() : undefined));
  assert.equal(c.reason, 'FailedDiscoveryCheck');
  assert.match(
    c.message ?? '',
    new RegExp(
      `^failing or missing response from https://localhost:${backend.port}/apis/example\\.test/v1: Get "https://localhost:${backend.port}/apis/example\\.test/v1": dial tcp .*:${backend.port}: connect: connection refused$`,
    ),
  );
  const raw = await kubectl('get', '--raw', '/apis/example.test/v1');
  assert.notEqual(raw.code, 0);
  // legacy discovery still lists the group; aggregated discovery marks it stale
  const groups = JSON.parse(await kubectlOK('get', '--raw', '/apis')) as { groups: { name: string }[] };
  assert.ok(groups.groups.some((g) => g.name === 'example.test'));
  assert.ok(groups.groups.some((g) => g.name === 'apps'));
  const v2 = await hubRequest('/apis', {
    accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
  });
  const items = (
    JSON.parse(v2.body) as {
      items: { metadata: { name: string }; versions: { version: string; freshness: string }[] }[];
    }
  ).items;
  assert.equal(items.find((i) => i.metadata.name === 'example.test')?.versions[0]?.freshness, 'Stale');
  // kubectl 1.32 drops a group whose only version is stale (its disk-cached client reads the group
  // list, which omits it), so api-resources still succeeds with everything else, as against kube
  const ar = await kubectl('api-resources');
  assert.equal(ar.code, 0, ar.stderr);
  assert.match(ar.stdout, /\ndeployments\s/);
  assert.doesNotMatch(ar.stdout, /widgets/);
  const w = await kubectl('get', 'widgets');
  assert.notEqual(w.code, 0);
});

test('stop leaves no sockets behind', async () => {
  await agg.stop();
  await sb.stop();
  await backend.close();
  const open = (): string[] =>
    process.getActiveResourcesInfo().filter((r) => r === 'TLSWRAP' || r === 'TCPSERVERWRAP' || r === 'TCPWRAP');
  await waitFor('sockets closed', () => open().length === 0, 2000).catch(() => undefined);
  assert.deepEqual(open(), []);
  assert.equal(hub.interceptors.length, 0);
});
