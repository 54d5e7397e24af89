// End-to-end tests of the sandbox kubelet with the real kubectl (v1.32, WebSocket exec by default)
// and a raw `ws` client: pods run, logs stream, exec/cp work, the v5 close signal half-closes stdin,
// graceful deletion removes pods, and no sockets or handles are left behind.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startSandbox, type Sandbox } from '../host.ts';
import type { SandboxCluster } from '../server/cluster.ts';
import type { KubeObject } from '../api/types.ts';
import { installKubelet, kubeletFor } from './kubelet.ts';

let dir: string;
let sb: Sandbox;
let cluster: SandboxCluster;
let uninstall: () => void;
let initialHandles: number;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn('kubectl', ['--cache-dir', join(dir, 'cache'), ...args], {
      env: { ...process.env, KUBECONFIG: sb.kubeconfigPath('c1') },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) p.stdin.end(input);
    else p.stdin.end();
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TLSWrap' || r === 'TCPSocketWrap' || r === 'Timeout')
    .length;
}

async function settle(baseline: number): Promise<number> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && sockets() > baseline) await new Promise((r) => setTimeout(r, 50));
  return sockets();
}

async function getPod(name: string): Promise<KubeObject> {
  return JSON.parse(await ok(['get', 'pod', name, '-o', 'json'])) as KubeObject;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubelet-test-'));
  sb = await startSandbox({ clusters: ['c1'], dir, kubelet: false });
  cluster = sb.clusters.get('c1')!;
  uninstall = installKubelet(cluster, { maxStopDelayMs: 200 });
  initialHandles = sockets();
  await ok(['run', 'p', '--image=nginx']);
  await ok(['wait', '--for=condition=Ready', 'pod/p', '--timeout=20s']);
});

after(async () => {
  uninstall();
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

test('a pod is bound to the node and runs with a kubelet-shaped status', async () => {
  assert.throws(() => installKubelet(cluster), /already installed/);
  const pod = await getPod('p');
  const spec = pod.spec as { nodeName: string };
  const st = pod.status as Record<string, unknown> & {
    containerStatuses: Record<string, unknown>[];
    conditions: { type: string; status: string }[];
  };
  assert.equal(spec.nodeName, 'c1-node');
  assert.equal(st.phase, 'Running');
  assert.match(String(st.podIP), /^10\.244\.\d+\.\d+$/);
  assert.equal(st.hostIP, '127.0.0.1');
  assert.equal(st.qosClass, 'BestEffort');
  for (const t of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'])
    assert.equal(st.conditions.find((c) => c.type === t)?.status, 'True', t);
  const cs = st.containerStatuses[0]!;
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.equal(cs.restartCount, 0);
  assert.equal(cs.image, 'docker.io/library/nginx:latest');
  assert.match(String(cs.imageID), /^docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/);
  assert.match(String(cs.containerID), /^containerd:\/\/[0-9a-f]{64}$/);
  assert.ok((cs.state as { running?: { startedAt?: string } }).running?.startedAt);
  const node = JSON.parse(await ok(['get', 'node', 'c1-node', '-o', 'json'])) as KubeObject;
  assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], 'c1-node');
  assert.equal(
    (node.status as { conditions: { type: string; status: string }[] }).conditions.find((c) => c.type === 'Ready')
      ?.status,
    'True',
  );
  const lease = cluster.store.get('leases.coordination.k8s.io', 'kube-node-lease', 'c1-node');
  assert.equal((lease?.spec as { holderIdentity?: string }).holderIdentity, 'c1-node');
});

test('logs: follow delivers lines as they are produced', async () => {
  const p = spawn('kubectl', ['--cache-dir', join(dir, 'cache'), 'logs', '-f', 'p', '--tail=0'], {
    env: { ...process.env, KUBECONFIG: sb.kubeconfigPath('c1') },
  });
  const arrivals: { at: number; line: string }[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      reject(new Error(`timed out; got ${JSON.stringify(arrivals)}`));
    }, 8000);
    p.stdout.on('data', (b: Buffer) => {
      buf += b.toString();
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        arrivals.push({ at: Date.now(), line: buf.slice(0, i) });
        buf = buf.slice(i + 1);
      }
      if (arrivals.length >= 2) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  p.kill();
  await new Promise((r) => p.on('close', r));
  assert.match(arrivals[0]!.line, /^\S+Z p\/p: line \d+$/);
  assert.ok(arrivals[1]!.at - arrivals[0]!.at >= 800, `lines ${arrivals[1]!.at - arrivals[0]!.at}ms apart`);
  const n0 = Number(/line (\d+)/.exec(arrivals[0]!.line)![1]);
  assert.equal(arrivals[1]!.line.endsWith(`line ${n0 + 1}`), true);
});

test('logs: tail, timestamps, limitBytes and errors', async () => {
  const tail = (await ok(['logs', 'p', '--tail=2'])).trimEnd().split('\n');
  assert.equal(tail.length, 2);
  const ts = (await ok(['logs', 'p', '--tail=1', '--timestamps'])).trimEnd();
  assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ p\/p: line \d+$/);
  assert.equal((await ok(['get', '--raw', '/api/v1/namespaces/default/pods/p/log?limitBytes=7'])).length, 7);
  const prev = await kubectl(['logs', 'p', '--previous']);
  assert.notEqual(prev.code, 0);
  assert.match(prev.stderr, /previous terminated container "p" in pod "p" not found/);
  const missing = await kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/nope/log']);
  assert.match(missing.stderr, /pods "nope" not found/);
  await ok(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'two' },
      spec: {
        containers: [
          { name: 'a', image: 'busybox' },
          { name: 'b', image: 'busybox' },
        ],
      },
    }),
  );
  const two = await kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/two/log']);
  assert.match(two.stderr, /a container name must be specified for pod two, choose one of: \[a b\]/);
  const bad = await kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/two/log?container=x']);
  assert.match(bad.stderr, /container x is not valid for pod two/);
  const plain = await kubectl(['get', '--raw', '/api/v1/namespaces/default/pods/p/exec?command=ls']);
  assert.match(plain.stderr, /Upgrade request required/);
});

test('exec and cp with kubectl', async () => {
  assert.equal(await ok(['exec', '-i', 'p', '--', 'cat'], 'hi\n'), 'hi\n');
  const exit3 = await kubectl(['exec', 'p', '--', 'sh', '-c', 'exit 3']);
  assert.equal(exit3.code, 3);
  assert.match(exit3.stderr, /command terminated with exit code 3/);
  const nf = await kubectl(['exec', 'p', '--', 'nope']);
  assert.equal(nf.code, 1);
  assert.match(nf.stderr, /exec: "nope": executable file not found in \$PATH/);
  assert.match(await ok(['exec', 'p', '--', 'env']), /\nHOSTNAME=p\n/);
  const src = join(dir, 'in.txt');
  await writeFile(src, 'hello from the host\n');
  await ok(['cp', src, 'p:/tmp/in.txt']);
  assert.equal(await ok(['exec', 'p', '--', 'cat', '/tmp/in.txt']), 'hello from the host\n');
  const back = join(dir, 'back.txt');
  await ok(['cp', 'p:/tmp/in.txt', back]);
  assert.equal(await readFile(back, 'utf8'), 'hello from the host\n');
});

test('kubectl run -i --rm attaches to the container shell and reports its exit code', async () => {
  const r = await kubectl(
    ['run', '-i', '--rm', 'shell', '--image=busybox', '--restart=Never', '--', 'sh'],
    'echo hi\nexit 3\n',
  );
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /^hi\n/);
  assert.match(r.stderr, /pod default\/shell terminated \(Error\)/);
});

function wsExec(query: string, protocols: string[]): { ws: WebSocket; frames: Buffer[]; closed: Promise<void> } {
  const url = `${cluster.url.replace('https', 'wss')}/api/v1/namespaces/default/pods/p/exec?${query}`;
  const ws = new WebSocket(url, protocols, { ca: cluster.ca.cert, cert: cluster.admin.cert, key: cluster.admin.key });
  const frames: Buffer[] = [];
  ws.on('message', (d: Buffer) => frames.push(Buffer.from(d)));
  const closed = new Promise<void>((resolve) =>
    ws.on('close', () => {
      resolve();
    }),
  );
  return { ws, frames, closed };
}

test('raw v5 client: stdin data then the close signal ends cat', async () => {
  const baseline = sockets();
  const { ws, frames, closed } = wsExec('command=cat&stdin=true&stdout=true&stderr=true', ['v5.channel.k8s.io']);
  await new Promise((r) => ws.once('open', r));
  assert.equal(ws.protocol, 'v5.channel.k8s.io');
  assert.ok(sockets() > baseline, 'the open session holds sockets');
  ws.send(Buffer.from([0, ...Buffer.from('abc')]));
  ws.send(Buffer.from([255, 0]));
  await closed;
  const stdout = Buffer.concat(frames.filter((f) => f[0] === 1).map((f) => f.subarray(1))).toString();
  assert.equal(stdout, 'abc');
  const status = frames.filter((f) => f[0] === 3).map((f) => JSON.parse(f.subarray(1).toString()) as unknown);
  assert.deepEqual(status, [{ metadata: {}, status: 'Success' }]);
  assert.ok((await settle(baseline)) <= baseline, 'sockets/timers left open after the stream ended');
});

test('raw v4 and base64 clients: exit codes and framing', async () => {
  const v4 = wsExec('command=sh&command=-c&command=exit%204&stdout=true', ['v4.channel.k8s.io']);
  await v4.closed;
  const st = JSON.parse(
    v4.frames
      .find((f) => f[0] === 3)!
      .subarray(1)
      .toString(),
  ) as { reason: string; details: unknown; message: string };
  assert.equal(st.reason, 'NonZeroExitCode');
  assert.deepEqual(st.details, { causes: [{ reason: 'ExitCode', message: '4' }] });
  assert.equal(
    st.message,
    'command terminated with non-zero exit code: error executing command [sh -c exit 4], exit code 4',
  );
  const b64 = wsExec('command=echo&command=hi&stdout=true', ['base64.channel.k8s.io']);
  await b64.closed;
  const texts = b64.frames.map((f) => f.toString());
  assert.ok(texts.includes(`1${Buffer.from('hi\n').toString('base64')}`), JSON.stringify(texts));
  const refused = wsExec('command=true', ['v3.channel.k8s.io']);
  const err = await new Promise<Error>((r) => refused.ws.once('error', r));
  assert.match(err.message, /400/);
});

test('graceful deletion stops containers, ends follow streams and removes the pod', async () => {
  await ok(['run', 'gone', '--image=busybox']);
  await ok(['wait', '--for=condition=Ready', 'pod/gone', '--timeout=20s']);
  const follow = kubectl(['logs', '-f', 'gone']);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  await ok(['delete', 'pod', 'gone']);
  assert.ok(Date.now() - t0 < 5000);
  const r = await follow;
  assert.equal(r.code, 0);
  assert.match(r.stdout, /gone\/gone: line 1\n/);
  assert.equal(cluster.store.get('pods', 'default', 'gone'), undefined);
  const k = kubeletFor(cluster);
  assert.ok(k);
});

test('no sockets or timers are left once every stream has ended', async () => {
  assert.ok(
    (await settle(initialHandles)) <= initialHandles,
    `${sockets()} > ${initialHandles}: ${process.getActiveResourcesInfo().join(',')}`,
  );
});
