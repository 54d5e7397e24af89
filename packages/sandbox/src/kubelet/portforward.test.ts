// Tests of pods/portforward: the in-memory pod listeners, the SPDY stream-pair protocol driven by our
// own SPDY client, the channel WebSocket protocol, the handshake errors, and the real kubectl 1.32
// (SPDY tunneled over WebSocket by default, plain SPDY with KUBECTL_PORT_FORWARD_WEBSOCKETS=false)
// with no handles left once clients disconnect.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as https from 'node:https';
import * as http from 'node:http';
import * as net from 'node:net';
import { duplexPair, type Duplex } from 'node:stream';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { startSandbox, type Sandbox } from '../host.ts';
import type { SandboxCluster } from '../server/cluster.ts';
import type { KubeObject } from '../api/types.ts';
import { installKubelet, kubeletFor } from './kubelet.ts';
import {
  connectionRefusedMessage,
  podPorts,
  portForwardInterceptor,
  sandboxID,
  servePodConnection,
  type StreamingInterceptor,
} from './portforward.ts';
import { SpdySession, type SpdyStream } from '../spdy/spdy.ts';

let dir: string;
let sb: Sandbox;
let cluster: SandboxCluster;
let uninstall: () => void;
let pf: StreamingInterceptor;

function resources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter(
      (r) =>
        r === 'TLSWrap' || r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout' || r === 'ProcessWrap',
    );
}

async function settle(baseline: string[]): Promise<string[]> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && resources().length > baseline.length) await new Promise((r) => setTimeout(r, 50));
  return resources();
}

function pod(spec: Record<string, unknown>, name = 'p'): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: 'u-1' }, spec };
}

// ---- unit: the pods' listeners ----

const portCases: { name: string; spec: Record<string, unknown>; want: number[] }[] = [
  { name: 'no ports: 8080', spec: { containers: [{ name: 'c' }] }, want: [8080] },
  {
    name: 'declared ports of all containers',
    spec: {
      containers: [
        { name: 'a', ports: [{ containerPort: 80 }, { containerPort: 443, protocol: 'TCP' }] },
        { name: 'b', ports: [{ containerPort: 9090 }] },
      ],
    },
    want: [80, 443, 9090],
  },
  {
    name: 'UDP is not forwarded',
    spec: { containers: [{ name: 'a', ports: [{ containerPort: 53, protocol: 'UDP' }, { containerPort: 8443 }] }] },
    want: [8443],
  },
  {
    name: 'only UDP: the default',
    spec: { containers: [{ name: 'a', ports: [{ containerPort: 53, protocol: 'UDP' }] }] },
    want: [8080],
  },
];
for (const c of portCases) {
  test(`podPorts: ${c.name}`, () => {
    assert.deepEqual(podPorts(pod(c.spec)), c.want);
  });
}

async function talk(chunks: (string | Buffer)[], halfClose = true): Promise<string> {
  const [client, server] = duplexPair();
  servePodConnection(server, { namespace: 'ns', name: 'web' }, 8080);
  const out: Buffer[] = [];
  client.on('data', (c: Buffer) => out.push(c));
  const ended = once(client, 'end');
  for (const c of chunks) {
    client.write(c);
    await new Promise((r) => setImmediate(r));
  }
  if (halfClose) client.end();
  await ended;
  return Buffer.concat(out).toString();
}

test('pod listener: echoes raw bytes until the client half-closes', async () => {
  assert.equal(await talk(['hello', ' ', 'world']), 'hello world');
  assert.equal(await talk(['G']), 'G'); // a prefix of GET that never became a request
  assert.equal(await talk(['GEX']), 'GEX');
  const big = randomBytes(300_000);
  assert.equal(await talk([big]), big.toString());
});

test('pod listener: answers HTTP requests, even split across writes', async () => {
  const res = await talk(['GE', 'T /healthz HTTP/1.1\r\nHost: x\r\n', '\r\n'], false);
  assert.match(res, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(res, /Connection: close/);
  assert.match(res, /\r\n\r\nHello from sandbox pod ns\/web, port 8080 \(GET \/healthz\)\n$/);
  const head = await talk(['HEAD / HTTP/1.0\n\n'], false);
  assert.match(head, /Content-Length: \d+\r\n/);
  assert.ok(head.endsWith('\r\n\r\n'));
});

test('the refused-port message has containerd’s shape', () => {
  const p = pod({ containers: [] });
  assert.match(sandboxID(p), /^[0-9a-f]{64}$/);
  assert.match(
    connectionRefusedMessage(p, 9999),
    /^error forwarding port 9999 to pod [0-9a-f]{64}, uid : failed to execute portforward in network namespace "\/var\/run\/netns\/cni-[0-9a-f-]{36}": failed to connect to localhost:9999 inside namespace "[0-9a-f]{64}", IPv4: dial tcp4 127\.0\.0\.1:9999: connect: connection refused IPv6 dial tcp6: address localhost: no suitable address found $/,
  );
});

// ---- against a sandbox ----

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'portforward-test-'));
  sb = await startSandbox({ clusters: ['c1'], dir });
  cluster = sb.clusters.get('c1')!;
  // clusters come with a kubelet now; install one only where the sandbox did not
  uninstall = kubeletFor(cluster) ? () => undefined : installKubelet(cluster, { maxStopDelayMs: 100 });
  // replace the cluster's own streaming interceptor by one with a short stream-creation timeout
  const own = cluster.interceptors.findIndex((i) => 'portForward' in i);
  if (own >= 0) (cluster.interceptors.splice(own, 1)[0] as unknown as { closeAll(): void }).closeAll();
  pf = portForwardInterceptor({ streamCreationTimeoutMs: 500 });
  cluster.interceptors.push(pf);
  const manifest = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web' },
    spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 8080 }, { containerPort: 9090 }] }] },
  });
  const create = spawn('kubectl', ['--cache-dir', join(dir, 'cache'), 'create', '-f', '-'], {
    env: { ...process.env, KUBECONFIG: sb.kubeconfigPath('c1') },
  });
  create.stdin.end(manifest);
  const [code] = (await once(create, 'exit')) as [number];
  assert.equal(code, 0);
  const deadline = Date.now() + 10_000;
  while ((cluster.store.get('pods', 'default', 'web')?.status as { phase?: string } | undefined)?.phase !== 'Running') {
    assert.ok(Date.now() < deadline, 'pod never ran');
    await new Promise((r) => setTimeout(r, 20));
  }
});

after(async () => {
  pf.closeAll();
  uninstall();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Upgraded {
  status: number;
  headers: http.IncomingHttpHeaders;
  socket?: Duplex;
  body: string;
}

function upgradeRequest(path: string, headers: Record<string, string>, method = 'POST'): Promise<Upgraded> {
  const url = new URL(cluster.url);
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: url.hostname,
      port: url.port,
      path,
      method,
      ca: cluster.ca.cert,
      cert: cluster.admin.cert,
      key: cluster.admin.key,
      headers: { connection: 'Upgrade', ...headers },
      agent: false,
    });
    req.on('upgrade', (res, socket, head) => {
      if (head.length) socket.unshift(head);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, socket, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const PF_PATH = '/api/v1/namespaces/default/pods/web/portforward';

async function spdyClient(): Promise<SpdySession> {
  const r = await upgradeRequest(PF_PATH, { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'portforward.k8s.io' });
  assert.equal(r.status, 101);
  assert.equal(r.headers['x-stream-protocol-version'], 'portforward.k8s.io');
  assert.equal(r.headers.upgrade, 'SPDY/3.1');
  return new SpdySession(r.socket!, { server: false });
}

function readAll(s: Duplex): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('end', () => {
      resolve(out);
    });
    s.on('close', () => {
      resolve(out);
    });
  });
}

async function forwardOnce(
  session: SpdySession,
  port: number,
  requestID: string,
  send: string,
): Promise<{ data: string; error: string }> {
  const error = session.openStream({ streamtype: 'error', port: String(port), requestid: requestID });
  await error.waitReply();
  error.end();
  const data = session.openStream({ streamtype: 'data', port: String(port), requestid: requestID });
  await data.waitReply();
  const gotData = readAll(data);
  const gotError = readAll(error);
  data.end(send);
  return { data: await gotData, error: await gotError };
}

test('SPDY: stream pairs forward to declared ports, errors for others', async () => {
  const session = await spdyClient();
  assert.deepEqual(await forwardOnce(session, 8080, '0', 'ping'), { data: 'ping', error: '' });
  const http9090 = await forwardOnce(session, 9090, '1', 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n');
  assert.match(http9090.data, /^HTTP\/1\.1 200 OK[\s\S]*Hello from sandbox pod default\/web, port 9090 \(GET \/x\)\n$/);
  const refused = await forwardOnce(session, 9999, '2', 'x');
  assert.equal(refused.data, '');
  assert.equal(refused.error, connectionRefusedMessage(cluster.store.get('pods', 'default', 'web')!, 9999));
  // two connections at once, interleaved
  const [a, b] = await Promise.all([
    forwardOnce(session, 8080, '3', 'A'.repeat(100_000)),
    forwardOnce(session, 8080, '4', 'B'.repeat(70_000)),
  ]);
  assert.equal(a.data, 'A'.repeat(100_000));
  assert.equal(b.data, 'B'.repeat(70_000));
  session.close();
  await once(session, 'close');
});

test('SPDY: invalid stream headers are refused with RST_STREAM, the session goes on', async () => {
  const session = await spdyClient();
  const cases: Record<string, string>[] = [
    { streamtype: 'data' },
    { streamtype: 'data', port: 'abc' },
    { streamtype: 'data', port: '0' },
    { streamtype: 'data', port: '70000' },
    { port: '8080' },
    { streamtype: 'bogus', port: '8080' },
  ];
  for (const h of cases) {
    const s = session.openStream(h);
    await assert.rejects(s.waitReply(), /RST_STREAM status 5/, JSON.stringify(h));
  }
  assert.deepEqual(await forwardOnce(session, 8080, 'r', 'still alive'), { data: 'still alive', error: '' });
  session.destroy();
});

test('SPDY: a pair whose second stream never comes times out with the kubelet’s message', async () => {
  const session = await spdyClient();
  const error: SpdyStream = session.openStream({ streamtype: 'error', port: '8080', requestid: 'lonely' });
  await error.waitReply();
  assert.match(await readAll(error), /^\(conn=server, request=lonely\) timed out waiting for streams$/);
  session.destroy();
});

test('SPDY handshake errors', async () => {
  const missing = await upgradeRequest(PF_PATH, { upgrade: 'SPDY/3.1' });
  assert.equal(missing.status, 400);
  assert.equal(missing.body, 'unable to upgrade: X-Stream-Protocol-Version is required\n');
  const wrong = await upgradeRequest(PF_PATH, {
    upgrade: 'SPDY/3.1',
    'x-stream-protocol-version': 'v4.channel.k8s.io',
  });
  assert.equal(wrong.status, 403);
  assert.equal(wrong.headers['x-accepted-stream-protocol-versions'], 'portforward.k8s.io');
  const nopod = await upgradeRequest('/api/v1/namespaces/default/pods/nope/portforward', {
    upgrade: 'SPDY/3.1',
    'x-stream-protocol-version': 'portforward.k8s.io',
  });
  assert.equal(nopod.status, 404);
  assert.equal((JSON.parse(nopod.body) as { message: string }).message, 'pods "nope" not found');
  // a plain request is not an upgrade
  const plain = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(cluster.url);
    https
      .request(
        {
          host: url.hostname,
          port: url.port,
          path: PF_PATH,
          method: 'POST',
          ca: cluster.ca.cert,
          cert: cluster.admin.cert,
          key: cluster.admin.key,
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      )
      .on('error', reject)
      .end();
  });
  assert.equal(plain.status, 400);
  assert.equal((JSON.parse(plain.body) as { message: string }).message, 'Upgrade request required');
});

function wsConnect(path: string, protocols: string[]): Promise<WebSocket> {
  const url = new URL(cluster.url);
  const ws = new WebSocket(`wss://${url.host}${path}`, protocols, {
    ca: cluster.ca.cert,
    cert: cluster.admin.cert,
    key: cluster.admin.key,
  });
  return new Promise((resolve, reject) => {
    ws.on('open', () => {
      resolve(ws);
    });
    ws.on('unexpected-response', (_req, res) => {
      reject(new Error(`unexpected ${res.statusCode}`));
    });
    ws.on('error', reject);
  });
}

test('channel WebSocket protocol (v4.channel.k8s.io): port prefix, data, errors', async () => {
  const ws = await wsConnect(`${PF_PATH}?ports=8080,9999`, ['v4.channel.k8s.io']);
  assert.equal(ws.protocol, 'v4.channel.k8s.io');
  const msgs: Buffer[] = [];
  ws.on('message', (m: Buffer) => msgs.push(m));
  const le = (p: number): string => Buffer.from([p & 0xff, p >> 8]).toString('hex');
  await new Promise((r) => setTimeout(r, 100));
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('echo me')]));
  await new Promise((r) => setTimeout(r, 100));
  ws.close();
  await once(ws, 'close');
  const byChannel = new Map<number, Buffer[]>();
  for (const m of msgs) byChannel.set(m[0]!, [...(byChannel.get(m[0]!) ?? []), m.subarray(1)]);
  assert.equal(byChannel.get(0)![0]!.toString('hex'), le(8080));
  assert.equal(byChannel.get(1)![0]!.toString('hex'), le(8080));
  assert.equal(byChannel.get(2)![0]!.toString('hex'), le(9999));
  assert.equal(Buffer.concat(byChannel.get(0)!.slice(1)).toString(), 'echo me');
  assert.match(
    Buffer.concat(byChannel.get(3)!.slice(1)).toString(),
    /^error forwarding port 9999 to pod [0-9a-f]{64}, uid : /,
  );
  await assert.rejects(wsConnect(PF_PATH, ['v4.channel.k8s.io']), /unexpected 400/);
});

// ---- the real kubectl ----

function startPortForward(
  env: Record<string, string>,
): Promise<{ proc: ChildProcess; port: number; stderr: () => string }> {
  const proc = spawn('kubectl', ['--cache-dir', join(dir, 'cache'), 'port-forward', 'pod/web', ':8080'], {
    env: { ...process.env, KUBECONFIG: sb.kubeconfigPath('c1'), ...env },
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      proc.kill();
      reject(new Error(`kubectl port-forward did not start: ${out} ${err}`));
    }, 15_000);
    proc.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve({ proc, port: Number(m[1]), stderr: () => err });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`kubectl exited ${code}: ${err}`));
    });
  });
}

function echoVia(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.end(payload);
    });
    const out: Buffer[] = [];
    c.on('data', (b: Buffer) => out.push(b));
    c.on('end', () => {
      resolve(Buffer.concat(out));
    });
    c.on('error', reject);
  });
}

function httpVia(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/hello', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      })
      .on('error', reject);
  });
}

for (const [name, env, transport] of [
  ['kubectl port-forward (SPDY over WebSocket, the default)', {}, 'spdyTunnel'],
  [
    'kubectl port-forward (plain SPDY, KUBECTL_PORT_FORWARD_WEBSOCKETS=false)',
    { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' },
    'spdy',
  ],
] as const) {
  test(name, async () => {
    const baseline = resources();
    const usedBefore = pf.portForward.stats[transport];
    const { proc, port, stderr } = await startPortForward(env);
    try {
      assert.equal((await echoVia(port, Buffer.from('hello through kubectl'))).toString(), 'hello through kubectl');
      const big = randomBytes(4 * 1024 * 1024);
      assert.ok((await echoVia(port, big)).equals(big), 'a 4 MiB echo round-trips');
      const res = await httpVia(port);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'Hello from sandbox pod default/web, port 8080 (GET /hello)\n');
      assert.equal((await echoVia(port, Buffer.from('again'))).toString(), 'again');
      assert.ok(pf.portForward.activeSessions >= 1);
      assert.equal(pf.portForward.stats[transport], usedBefore + 1, `kubectl used ${transport}`);
      assert.doesNotMatch(stderr(), /error|E\d{4}/i);
    } finally {
      proc.kill('SIGINT');
      await once(proc, 'exit');
    }
    const deadline = Date.now() + 5000;
    while (pf.portForward.activeSessions > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(pf.portForward.activeSessions, 0, 'the forwarding session ends with kubectl');
    const left = await settle(baseline);
    assert.ok(
      left.length <= baseline.length,
      `handles left: ${JSON.stringify(left)} (before: ${JSON.stringify(baseline)})`,
    );
  });
}

// ---- SPDY exec (kubectl with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false) ----

function kubectlRun(
  args: string[],
  env: Record<string, string>,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('kubectl', ['--cache-dir', join(dir, 'cache'), ...args], {
      env: { ...process.env, KUBECONFIG: sb.kubeconfigPath('c1'), ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

test('kubectl exec over plain SPDY', async () => {
  const env = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
  const baseline = resources();
  const served = pf.exec.served;
  const hi = await kubectlRun(['exec', 'web', '--', 'echo', 'hi'], env);
  assert.deepEqual([hi.code, hi.stdout], [0, 'hi\n'], hi.stderr);
  const cat = await kubectlRun(['exec', '-i', 'web', '--', 'cat'], env, 'from stdin\n');
  assert.deepEqual([cat.code, cat.stdout], [0, 'from stdin\n'], cat.stderr);
  const both = await kubectlRun(['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2'], env);
  assert.deepEqual([both.code, both.stdout, both.stderr], [0, 'out\n', 'err\n']);
  const exit3 = await kubectlRun(['exec', 'web', '--', 'sh', '-c', 'exit 3'], env);
  assert.equal(exit3.code, 3);
  assert.match(exit3.stderr, /command terminated with exit code 3/);
  const nf = await kubectlRun(['exec', 'web', '--', 'nope'], env);
  assert.equal(nf.code, 1);
  assert.match(nf.stderr, /executable file not found in \$PATH/);
  const big = 'x'.repeat(300_000) + '\n';
  const bigCat = await kubectlRun(['exec', '-i', 'web', '--', 'cat'], env, big);
  assert.equal(bigCat.stdout.length, big.length, bigCat.stderr);
  assert.equal(pf.exec.served, served + 6, 'every kubectl exec went through SPDY');
  assert.equal(pf.exec.activeSessions, 0);
  const left = await settle(baseline);
  assert.ok(
    left.length <= baseline.length,
    `handles left: ${JSON.stringify(left)} (before: ${JSON.stringify(baseline)})`,
  );
});

test('SPDY exec: protocol versions before v4 report failures as bare text', async () => {
  const path =
    '/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c&command=echo%20v2%3B%20exit%202&stdout=1&stderr=1';
  const r = await upgradeRequest(path, { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v2.channel.k8s.io' });
  assert.equal(r.status, 101);
  assert.equal(r.headers['x-stream-protocol-version'], 'v2.channel.k8s.io');
  const session = new SpdySession(r.socket!, { server: false });
  const open = async (type: string): Promise<SpdyStream> => {
    const s = session.openStream({ streamtype: type });
    await s.waitReply();
    return s;
  };
  const error = await open('error');
  const stdout = await open('stdout');
  const stderr = await open('stderr');
  const closed = once(session, 'close');
  const [e, o, se] = await Promise.all([readAll(error), readAll(stdout), readAll(stderr)]);
  assert.equal(o, 'v2\n');
  assert.equal(se, '');
  assert.equal(
    e,
    'command terminated with non-zero exit code: error executing command [sh -c echo v2; exit 2], exit code 2',
  );
  await closed;
  const missing = await upgradeRequest(path, { upgrade: 'SPDY/3.1' });
  assert.equal(missing.status, 400);
  const wrong = await upgradeRequest(path, { upgrade: 'SPDY/3.1', 'x-stream-protocol-version': 'v9.channel.k8s.io' });
  assert.equal(wrong.status, 403);
});

test('SPDY exec v4 with a TTY: waits for the resize stream, reports a JSON status', async () => {
  const path = '/api/v1/namespaces/default/pods/web/exec?command=echo&command=tty&stdout=true&tty=true';
  const r = await upgradeRequest(path, {
    upgrade: 'SPDY/3.1',
    'x-stream-protocol-version': 'v4.channel.k8s.io, v3.channel.k8s.io',
  });
  assert.equal(r.status, 101);
  assert.equal(r.headers['x-stream-protocol-version'], 'v4.channel.k8s.io');
  const session = new SpdySession(r.socket!, { server: false });
  const closed = once(session, 'close');
  const error = session.openStream({ streamtype: 'error' });
  const stdout = session.openStream({ streamtype: 'stdout' });
  await Promise.all([error.waitReply(), stdout.waitReply()]);
  let early = '';
  const onEarly = (c: Buffer): void => {
    early += c.toString();
  };
  stdout.on('data', onEarly);
  // nothing runs before the resize stream exists
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(early, '');
  stdout.off('data', onEarly);
  const out = readAll(stdout);
  const err = readAll(error);
  const resize = session.openStream({ streamtype: 'resize' });
  await resize.waitReply();
  resize.write('{"Width":100,"Height":30}\n');
  assert.equal((await out).replace(/\r\n/g, '\n'), 'tty\n');
  assert.deepEqual(JSON.parse(await err), { metadata: {}, status: 'Success' });
  await closed;
});
