// End to end: the gateway's lifecycle (issue "Gateway apiserver", scopes 1, 8 and 9). Readiness
// follows the cache sync (the hub is held back by a TCP gate we control) while liveness never fails;
// the serving certificate rotates from its files without a restart (and a broken pair is refused);
// shutdown fails /readyz, drains in-flight requests, ends open watches cleanly and closes; the
// `cluster-gateway apiserver` CLI exits 0 on SIGTERM and 2 on an unknown flag; /metrics is served.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as http2 from 'node:http2';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Agent, request } from 'undici';
import { startSandbox, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { loadApiserverConfig, nodeCompleteEnv } from '../../packages/gateway/src/config/index.ts';
import { createLogger } from '../../packages/gateway/src/observability/logger.ts';
import { GatewayServer } from '../../packages/gateway/src/apiserver/server.ts';

const NS = 'vela-system';
const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const DRAIN_TIMEOUT_MS = 5000;
const SLOW = 18;
const NODE = join(process.cwd(), 'node_modules/.bin/node');
const MAIN = join(process.cwd(), 'packages/gateway/src/cli/main.ts');

/** A TCP relay to the hub that can hold new connections back (the hub looks slow) and let them go. */
class Gate {
  readonly #target: number;
  readonly #server = net.createServer((c) => {
    this.#onConnection(c);
  });
  readonly #pending: net.Socket[] = [];
  readonly #open = new Set<net.Socket>();
  held = true;
  port = 0;

  constructor(targetPort: number) {
    this.#target = targetPort;
  }

  async start(): Promise<void> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  #onConnection(c: net.Socket): void {
    this.#open.add(c);
    c.on('close', () => this.#open.delete(c));
    c.on('error', () => c.destroy());
    if (this.held) {
      c.pause();
      this.#pending.push(c);
    } else this.#relay(c);
  }

  #relay(c: net.Socket): void {
    const up = net.connect(this.#target, '127.0.0.1');
    this.#open.add(up);
    up.on('close', () => {
      this.#open.delete(up);
      c.destroy();
    });
    up.on('error', () => up.destroy());
    c.on('close', () => up.destroy());
    c.pipe(up);
    up.pipe(c);
    c.resume();
  }

  release(): void {
    this.held = false;
    for (const c of this.#pending.splice(0)) if (!c.destroyed) this.#relay(c);
  }

  async stop(): Promise<void> {
    for (const s of this.#open) s.destroy();
    await new Promise<void>((r) =>
      this.#server.close(() => {
        r();
      }),
    );
  }
}

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let gate: Gate;
let gw: GatewayServer;
let admin: Agent;
let logFile: string;
const tlsFiles = { cert: '', key: '' };
let firstCert: string;

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

async function gwCall(path: string, agent = admin): Promise<{ status: number; text: string; headers: object }> {
  const r = await request(`https://127.0.0.1:${gw.port}${path}`, { dispatcher: agent });
  return { status: r.statusCode, text: await r.body.text(), headers: r.headers };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The certificate a brand-new TLS connection to the gateway is served (PEM-independent fingerprint). */
function servedFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: gw.port, ca: hub.ca.cert, servername: 'localhost' }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

function fingerprintOf(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function secret(name: string): object {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      labels: {
        'cluster.core.oam.dev/cluster-credential-type': 'ServiceAccountToken',
        'cluster.core.oam.dev/cluster-endpoint-type': 'Const',
      },
    },
    data: { endpoint: b64(`https://${name}.example:6443`), 'ca.crt': b64(hub.ca.cert), token: b64('t0ken') },
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-life-'));
  sb = await startSandbox({ clusters: ['hub'], dir });
  hub = sb.clusters.get('hub')!;
  assert.equal((await hubCall('POST', '/api/v1/namespaces', { metadata: { name: NS } })).status, 201);
  for (let i = 0; i < SLOW; i++) {
    const r = await hubCall('POST', `/api/v1/namespaces/${NS}/secrets`, secret(`c${String(i).padStart(2, '0')}`));
    assert.equal(r.status, 201, r.text);
  }
  gate = new Gate(Number(new URL(hub.url).port));
  await gate.start();
  const kubeconfig = join(dir, 'gated.kubeconfig');
  await writeFile(kubeconfig, hub.kubeconfig().replace(/server: .*/, `server: https://127.0.0.1:${gate.port}`));
  const clientCA = join(dir, 'client-ca.crt');
  await writeFile(clientCA, hub.ca.cert);
  const pair = await hub.ca.issue({
    commonName: 'gateway-1',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  firstCert = pair.cert;
  tlsFiles.cert = join(dir, 'tls.crt');
  tlsFiles.key = join(dir, 'tls.key');
  await writeFile(tlsFiles.cert, pair.cert);
  await writeFile(tlsFiles.key, pair.key);
  const loaded = await loadApiserverConfig(
    [
      `--kubeconfig=${kubeconfig}`,
      '--secure-port=0',
      '--bind-address=127.0.0.1',
      `--tls-cert-file=${tlsFiles.cert}`,
      `--tls-private-key-file=${tlsFiles.key}`,
      `--secret-namespace=${NS}`,
      // no hub round-trip at start-up: the authentication trust comes from flags
      '--authentication-skip-lookup=true',
      `--client-ca-file=${clientCA}`,
      '--feature-gates=HealthinessCheck=true',
      `--shutdown-drain-timeout=${DRAIN_TIMEOUT_MS / 1000}s`,
    ],
    nodeCompleteEnv(),
  );
  if (loaded.kind !== 'config') throw new Error(JSON.stringify(loaded));
  logFile = join(dir, 'gateway.log');
  gw = new GatewayServer({
    config: loaded.config,
    logger: createLogger({ level: 'info', destination: pino.destination({ dest: logFile, sync: true }) }),
  });
  admin = new Agent({
    connect: { ca: hub.ca.cert, cert: hub.admin.cert, key: hub.admin.key, servername: 'localhost' },
  });
});

after(async () => {
  await admin.close();
  await gw.stop();
  await gate.stop();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('gateway lifecycle', { timeout: 40_000 }, () => {
  test('/readyz fails until the caches synced, /livez never does', async () => {
    await gw.start(); // listening even though the hub does not answer yet
    const checks = async (path: string): Promise<[number, string]> => {
      const r = await gwCall(path);
      return [r.status, r.text];
    };
    assert.deepEqual(await checks('/livez'), [200, 'ok']);
    assert.deepEqual(await checks('/healthz'), [200, 'ok']);
    const [code, text] = await checks('/readyz');
    assert.equal(code, 500);
    assert.match(text, /\[-\]informer-sync failed: reason withheld/);
    assert.match(text, /readyz check failed\n$/);
    const verbose = await checks('/readyz?verbose');
    assert.equal(verbose[0], 500);
    assert.match(verbose[1], /^\[\+\]ping ok\n\[\+\]log ok\n\[-\]informer-sync failed.*\n\[\+\]shutdown ok\n/);
    assert.deepEqual(await checks('/readyz/ping'), [200, 'ok']);
    assert.equal((await checks('/readyz/informer-sync'))[0], 500);
    assert.equal((await checks('/readyz/no-such-check'))[0], 404);
    // the API says why it cannot answer yet, and when to retry
    const early = await gwCall(`${GV}/clustergateways`);
    assert.equal(early.status, 503);
    assert.equal((early.headers as Record<string, string>)['retry-after'], '1');
    assert.equal(JSON.parse(early.text).reason, 'ServiceUnavailable');

    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await checks('/readyz'))[0], 500, 'still not ready while the hub is held back');
    gate.release();
    await until('ready', async () => (await checks('/readyz'))[0] === 200);
    assert.deepEqual(await checks('/readyz'), [200, 'ok']);
    const ok = await checks('/readyz?verbose');
    assert.match(ok[1], /\[\+\]informer-sync ok\n\[\+\]shutdown ok\nreadyz check passed\n$/);
    assert.deepEqual(await checks('/livez'), [200, 'ok']);
    assert.match(await checks('/livez?verbose').then(([, t]) => t), /livez check passed/);
    assert.equal(gw.cache.size, SLOW);
  });

  test('/metrics: apiserver_request_total after requests, and the upstream ocm_proxy_* metrics', async () => {
    assert.equal((await gwCall(`${GV}/clustergateways`)).status, 200);
    assert.equal((await gwCall(`${GV}/clustergateways/c00`)).status, 200);
    assert.equal((await gwCall(`${GV}/clustergateways/nope`)).status, 404);
    const m = await gwCall('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.text, /^apiserver_request_total\{.*verb="LIST".*resource="clustergateways".*code="200".*\} \d+$/m);
    assert.match(m.text, /^apiserver_request_total\{.*verb="GET".*resource="clustergateways".*code="404".*\} 1$/m);
    for (const name of [
      'ocm_proxy_proxied_resource_requests_by_resource_total',
      'ocm_proxy_proxied_requests_by_cluster_total',
      'ocm_proxy_proxied_request_duration_seconds',
      'ocm_proxy_cluster_escalation_access_review_duration_seconds',
    ]) {
      assert.match(m.text, new RegExp(`^# HELP ${name} \\[ALPHA\\] `, 'm'), name);
    }
    assert.match(m.text, /^process_cpu_user_seconds_total /m);
    // /metrics is authorized like any non-resource path: anonymous callers are refused
    const anon = new Agent({ connect: { ca: hub.ca.cert, servername: 'localhost' } });
    try {
      assert.equal((await gwCall('/metrics', anon)).status, 403);
    } finally {
      await anon.close();
    }
  });

  test('--tls-cert-file/--tls-private-key-file rotate without a restart; a broken pair is refused', async () => {
    assert.equal(await servedFingerprint(), fingerprintOf(firstCert));
    // in-place rewrite (what a simple `cp` does)
    const second = await hub.ca.issue({
      commonName: 'gateway-2',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    await writeFile(tlsFiles.key, second.key);
    await writeFile(tlsFiles.cert, second.cert);
    await until('second certificate served', async () => (await servedFingerprint()) === fingerprintOf(second.cert));
    // replaced by rename, twice (cert-manager / kubelet swap files rather than rewrite them)
    let last = second.cert;
    for (const n of [3, 4]) {
      const next = await hub.ca.issue({
        commonName: `gateway-${n}`,
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        usage: 'server',
      });
      await writeFile(`${tlsFiles.key}.new`, next.key);
      await writeFile(`${tlsFiles.cert}.new`, next.cert);
      await rename(`${tlsFiles.key}.new`, tlsFiles.key);
      await rename(`${tlsFiles.cert}.new`, tlsFiles.cert);
      await until(`certificate ${n} served`, async () => (await servedFingerprint()) === fingerprintOf(next.cert));
      last = next.cert;
    }
    // a certificate whose key does not match: refused, the current pair stays
    const stray = await hub.ca.issue({
      commonName: 'stray',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    await writeFile(tlsFiles.cert, stray.cert);
    await until('refusal logged', async () =>
      (await readFile(logFile, 'utf8')).includes('serving certificate not reloaded'),
    );
    assert.equal(await servedFingerprint(), fingerprintOf(last));
    assert.equal((await gwCall('/livez')).status, 200);
  });

  test('graceful shutdown: /readyz fails, in-flight requests finish, watches end cleanly, then it closes', async () => {
    const session = http2.connect(`https://127.0.0.1:${gw.port}`, {
      ca: hub.ca.cert,
      cert: hub.admin.cert,
      key: hub.admin.key,
      servername: 'localhost',
    });
    session.on('error', () => undefined);
    const call = (
      path: string,
      method = 'GET',
    ): { stream: http2.ClientHttp2Stream; done: Promise<{ status: number; body: string; ended: boolean }> } => {
      const stream = session.request({ ':method': method, ':path': path, 'content-type': 'application/json' });
      const done = new Promise<{ status: number; body: string; ended: boolean }>((resolve) => {
        let status = 0;
        let body = '';
        let ended = false;
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.setEncoding('utf8');
        stream.on('data', (d: string) => (body += d));
        stream.on('end', () => (ended = true));
        stream.on('close', () => {
          resolve({ status, body, ended });
        });
        stream.on('error', () => undefined);
      });
      return { stream, done };
    };
    // two watches (one with a server timeout, one without) and SLOW PUTs whose bodies are still uploading
    const watchA = call(`${GV}/clustergateways?watch=true&timeoutSeconds=2`);
    const watchB = call(`${GV}/clustergateways?watch=true&resourceVersion=0`);
    watchA.stream.end();
    watchB.stream.end();
    const puts = Array.from({ length: SLOW }, (_, i) => {
      const name = `c${String(i).padStart(2, '0')}`;
      const c = call(`${GV}/clustergateways/${name}/health`, 'PUT');
      const body = JSON.stringify({
        apiVersion: 'cluster.core.oam.dev/v1alpha1',
        kind: 'ClusterGateway',
        metadata: { name },
        status: { healthy: true, healthyReason: `drained-${i}` },
      });
      c.stream.write(body.slice(0, 20));
      return { ...c, rest: body.slice(20), name };
    });
    await until('all requests in flight', () => puts.every((p) => p.stream.id !== undefined));
    await new Promise((r) => setTimeout(r, 200));

    const t0 = Date.now();
    let stoppedAt = 0;
    const stopping = gw.stop().then(() => (stoppedAt = Date.now()));
    assert.equal(gw.ready, false);
    // /readyz on the open connection now fails (new connections are no longer accepted)
    const readyz = await call('/readyz').done;
    assert.equal(readyz.status, 500);
    assert.match(readyz.body, /\[-\]shutdown failed/);
    // both watches end at once with a clean end of stream
    const [a, b] = await Promise.all([watchA.done, watchB.done]);
    for (const w of [a, b]) {
      assert.equal(w.status, 200);
      assert.equal(w.ended, true, 'the watch stream ended cleanly');
    }
    assert.equal(b.body.trim().split('\n').length, SLOW, 'watch B got its initial ADDED events');
    assert.ok(Date.now() - t0 < 1500, 'watches do not wait for their timeout');
    // the uploads finish after shutdown started, and must still be served
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stoppedAt, 0, 'stop() waits for the in-flight requests');
    const finishedAt = Date.now();
    for (const p of puts) p.stream.end(p.rest);
    const results = await Promise.all(puts.map((p) => p.done));
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200, r.body);
      assert.equal(JSON.parse(r.body).status.healthyReason, `drained-${i}`);
    }
    await stopping;
    assert.ok(stoppedAt >= finishedAt, 'closed only after the drain');
    assert.ok(stoppedAt - t0 < DRAIN_TIMEOUT_MS, `drained in ${stoppedAt - t0} ms, before the drain timeout`);
    await assert.rejects(
      new Promise((resolve, reject) => {
        const s = net.connect(gw.port, '127.0.0.1', () => {
          s.destroy();
          resolve(undefined);
        });
        s.on('error', reject);
      }),
      /ECONNREFUSED/,
    );
    session.destroy();
    const annotated = JSON.parse((await hubCall('GET', `/api/v1/namespaces/${NS}/secrets/c07`)).text);
    assert.equal(annotated.metadata.annotations['status.cluster.core.oam.dev/healthy-reason'], 'drained-7');
  });
});

describe('cluster-gateway apiserver (CLI, child process)', { timeout: 40_000 }, () => {
  test('serves, warns about generic kube feature gates, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      NODE,
      [
        MAIN,
        'apiserver',
        `--kubeconfig=${sb.kubeconfigPath('hub')}`,
        '--secure-port=0',
        '--bind-address=127.0.0.1',
        `--cert-dir=${join(dir, 'cli-certs')}`,
        `--secret-namespace=${NS}`,
        '--feature-gates=APIPriorityAndFairness=false,HealthinessCheck=true',
        '-v=2',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        resolve(code);
      }),
    );
    try {
      await until('serving', () => /"msg":"serving"/.test(out), 15_000);
      const serving = out
        .split('\n')
        .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg?: string; port?: number }) : {}))
        .find((l) => l.msg === 'serving');
      assert.ok(serving?.port, out);
      assert.match(out + err, /APIPriorityAndFairness/);
      assert.match(out + err, /"level":"warn"/);
      const insecure = new Agent({ connect: { rejectUnauthorized: false } });
      try {
        const r = await request(`https://127.0.0.1:${serving.port}/livez`, { dispatcher: insecure });
        assert.equal(r.statusCode, 200);
        assert.equal(await r.body.text(), 'ok');
      } finally {
        await insecure.close();
      }
      child.kill('SIGTERM');
      let hang: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise(
          (r) =>
            (hang = setTimeout(() => {
              r('hung');
            }, 10_000)),
        ),
      ]);
      clearTimeout(hang);
      assert.equal(code, 0, `exit code (stderr: ${err})`);
      assert.match(out, /"msg":"stopped"/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('an unknown flag: a clear error and exit code 2, nothing started', async () => {
    const child = spawn(NODE, [MAIN, 'apiserver', '--no-such-flag=1', `--kubeconfig=${sb.kubeconfigPath('hub')}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) =>
      child.on('exit', (c) => {
        resolve(c);
      }),
    );
    assert.equal(code, 2);
    assert.match(err, /unknown flag: --no-such-flag/);
    assert.match(err, /cluster-gateway apiserver --help/);
    assert.doesNotMatch(out, /serving/);
  });
});
