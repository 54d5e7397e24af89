// KonnectivityDialer end to end against the sandbox proxy-server (real gRPC over mTLS, real TCP
// agents), plus a scripted proxy-server for protocol edges the sandbox server never produces
// (DRAIN, DIAL_CLS, Go-style EOF after CLOSE_REQ, errors in CLOSE_RSP/DATA, extreme int64 ids).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import {
  createCA,
  startKonnectivityServer,
  startSandbox,
  tcpAgent,
  type KonnectivityServer,
  type Sandbox,
} from '@cluster-gateway/sandbox';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import {
  KonnectivityDialer,
  KonnectivityError,
  MIN_KEEPALIVE_TIME_MS,
  createKonnectivityDialer,
  type KonnectivitySocket,
} from './konnectivity.ts';
import { loadKonnectivityProtocol, type OutPacket, type Packet } from './konnectivity-proto.ts';
import type { GatewayConfig } from '../config/index.ts';
import { DialError } from './direct.ts';

const target = (cluster: string) => ({ cluster, host: cluster, port: 443, proxyURL: undefined });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TRACKED = new Set(['TCPSocketWrap', 'TCPServerWrap', 'TLSWrap', 'Http2Session', 'Timeout']);

function handles(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (TRACKED.has(r)) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}
const baseline = handles();

function readN(s: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (b: Buffer) => {
      parts.push(b);
      got += b.length;
      if (got >= n) {
        s.off('data', onData);
        s.off('error', reject);
        s.pause();
        resolve(Buffer.concat(parts));
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.resume();
  });
}

/** resolves when the stream closes, with the error it was destroyed with (if any) */
function closed(s: Duplex): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let err: Error | undefined;
    s.on('error', (e: Error) => (err = e));
    // a paused stream never reaches 'end', and so never closes
    s.resume();
    if (s.destroyed) resolve(s.errored ?? undefined);
    else
      s.once('close', () => {
        resolve(err);
      });
  });
}

async function listen(
  handler: (s: net.Socket) => void,
): Promise<{ server: net.Server; port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    handler(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          r();
        });
      }),
  };
}

function rejectsWith(p: Promise<unknown>, reason: string, message: RegExp): Promise<void> {
  return assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KonnectivityError, `expected KonnectivityError, got ${String(e)}`);
    assert.ok(e instanceof DialError);
    assert.equal(e.reason, reason, e.message);
    assert.equal(e.kind, reason === 'timeout' ? 'timeout' : reason === 'aborted' ? 'aborted' : 'unreachable');
    assert.match(e.message, message);
    return true;
  });
}

describe('KonnectivityDialer with the sandbox proxy-server', () => {
  let ks: KonnectivityServer;
  let dialer: KonnectivityDialer;
  let metrics: Metrics;
  let echo: Awaited<ReturnType<typeof listen>>;
  let sink: Awaited<ReturnType<typeof listen>>;
  let source: Awaited<ReturnType<typeof listen>>;
  let bye: Awaited<ReturnType<typeof listen>>;
  const sinkSockets: net.Socket[] = [];
  const sourceSockets: net.Socket[] = [];
  let tunnel: string;
  const FIRST = 2n ** 53n + 1n;

  before(async () => {
    echo = await listen((s) => s.pipe(s));
    sink = await listen((s) => {
      s.pause();
      sinkSockets.push(s);
    });
    source = await listen((s) => sourceSockets.push(s));
    bye = await listen((s) => s.end('bye'));
    ks = await startKonnectivityServer({ firstConnectID: FIRST });
    ks.registerAgent('echo', tcpAgent('127.0.0.1', echo.port));
    ks.registerAgent('sink', tcpAgent('127.0.0.1', sink.port));
    ks.registerAgent('source', tcpAgent('127.0.0.1', source.port));
    ks.registerAgent('bye', tcpAgent('127.0.0.1', bye.port));
    const closedPort = await listen(() => undefined);
    await closedPort.close();
    ks.registerAgent('refused', tcpAgent('127.0.0.1', closedPort.port));
    metrics = createMetrics({ processMetrics: false });
    dialer = new KonnectivityDialer({
      host: '127.0.0.1',
      port: ks.port,
      ca: ks.ca,
      cert: ks.clientCert,
      key: ks.clientKey,
      metrics,
    });
    tunnel = `konnectivity tunnel to 127.0.0.1:${ks.port}`;
  });

  after(async () => {
    dialer.close();
    await ks.stop();
    await Promise.all([echo.close(), sink.close(), source.close(), bye.close()]);
  });

  test('echoes bytes; connectIDs above 2^53 stay exact', async () => {
    const a = (await dialer.dial(target('echo'))) as KonnectivitySocket;
    const b = (await dialer.dial(target('echo'))) as KonnectivitySocket;
    assert.equal(a.cluster, 'echo');
    assert.ok(BigInt(a.connectID) >= FIRST);
    // rounding to a double would make neighbouring ids above 2^53 equal or 2 apart
    assert.equal(BigInt(b.connectID) - BigInt(a.connectID), 1n);
    a.write('hello ');
    a.write('tunnel');
    assert.equal((await readN(a, 12)).toString(), 'hello tunnel');
    a.end();
    b.destroy();
    assert.equal(await closed(a), undefined);
    assert.equal(await closed(b), undefined);
  });

  test('the remote end closing ends the Duplex cleanly', async () => {
    const s = await dialer.dial(target('bye'));
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise((r) => s.once('end', r));
    assert.equal(await closed(s), undefined);
    await ended;
    assert.equal(Buffer.concat(chunks).toString(), 'bye');
  });

  test('50 concurrent dials each get their own connection', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, () => dialer.dial(target('echo'))));
    assert.equal(new Set(sockets.map((s) => (s as KonnectivitySocket).connectID)).size, 50);
    const replies = await Promise.all(
      sockets.map((s, i) => {
        s.write(`conn-${i};`);
        return readN(s, `conn-${i};`.length);
      }),
    );
    replies.forEach((r, i) => {
      assert.equal(r.toString(), `conn-${i};`);
    });
    await Promise.all(
      sockets.map((s) => {
        s.end();
        return closed(s);
      }),
    );
  });

  test('8 MiB round trip through an echo', async () => {
    const s = await dialer.dial(target('echo'));
    const payload = randomBytes(8 * 1024 * 1024);
    const reading = readN(s, payload.length);
    for (let off = 0; off < payload.length; off += 100_000) {
      if (!s.write(payload.subarray(off, off + 100_000))) await new Promise((r) => s.once('drain', r));
    }
    const back = await reading;
    assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(payload).digest('hex'));
    s.destroy();
    await closed(s);
  });

  test('writes see backpressure when the member does not read, then all 8 MiB arrive', async () => {
    const s = await dialer.dial(target('sink'));
    const payload = randomBytes(8 * 1024 * 1024);
    let off = 0;
    // write until write() asks us to wait and no drain comes: the remote's window is full
    for (;;) {
      const ok = s.write(payload.subarray(off, off + 65536));
      off += 65536;
      if (off >= payload.length) break;
      if (!ok) {
        const drained = await Promise.race([
          new Promise((r) =>
            s.once('drain', () => {
              r(true);
            }),
          ),
          sleep(300).then(() => false),
        ]);
        if (!drained) break;
      }
    }
    assert.ok(off < payload.length, `all ${off} bytes were accepted without the member reading`);
    const member = sinkSockets.at(-1)!;
    const received = readN(member, payload.length);
    member.resume();
    for (; off < payload.length; off += 65536)
      if (!s.write(payload.subarray(off, off + 65536))) await new Promise((r) => s.once('drain', r));
    const got = await received;
    assert.ok(got.equals(payload));
    s.destroy();
    await closed(s);
  });

  test('a reader that does not read pushes back to the member', async () => {
    const s = await dialer.dial(target('source'));
    s.pause();
    await sleep(20);
    const member = sourceSockets.at(-1)!;
    const payload = randomBytes(8 * 1024 * 1024);
    member.write(payload);
    await sleep(500);
    assert.ok(member.writableLength > 0, 'the member flushed 8 MiB into a paused tunnel: no backpressure');
    const got = await readN(s, payload.length);
    assert.ok(got.equals(payload));
    s.destroy();
    await closed(s);
  });

  test('TLS to a sandbox cluster through the tunnel: GET /version', async () => {
    const sb: Sandbox = await startSandbox({ clusters: ['member'], kubelet: false });
    try {
      const member = sb.clusters.get('member')!;
      const unregister = ks.registerAgent('member', tcpAgent('127.0.0.1', Number(new URL(member.url).port)));
      const raw = await dialer.dial(target('member'));
      const t = tls.connect({
        socket: raw,
        ca: member.ca.cert,
        cert: member.admin.cert,
        key: member.admin.key,
        servername: 'localhost',
        ALPNProtocols: ['http/1.1'],
      });
      await new Promise<void>((resolve, reject) => {
        t.once('secureConnect', resolve);
        t.once('error', reject);
      });
      t.write('GET /version HTTP/1.1\r\nHost: member\r\nConnection: close\r\n\r\n');
      const chunks: Buffer[] = [];
      t.on('data', (c: Buffer) => chunks.push(c));
      await new Promise((r) => t.once('end', r));
      const res = Buffer.concat(chunks).toString();
      assert.match(res, /^HTTP\/1\.1 200/);
      assert.match(res, /"gitVersion"/);
      t.destroy();
      assert.equal(await closed(raw), undefined);
      unregister();
    } finally {
      await sb.stop();
    }
  });

  test('dial to a host no agent serves: clean error from the proxy-server', async () => {
    const before = ks.stats.activeStreams;
    await rejectsWith(
      dialer.dial(target('nowhere')),
      'dial_error',
      new RegExp(`^${tunnel}: dial nowhere:443 failed: No backend available$`),
    );
    await sleep(50);
    assert.equal(ks.stats.activeStreams, before, 'the stream of a failed dial is left open');
  });

  test("the agent's dial error is reported", async () => {
    await rejectsWith(dialer.dial(target('refused')), 'dial_error', /dial refused:443 failed: .*ECONNREFUSED/);
  });

  test('DIAL timeout sends DIAL_CLS and the late connection is dropped', async () => {
    let release!: (s: Duplex) => void;
    ks.registerAgent('slow', () => new Promise<Duplex>((r) => (release = r)));
    const d = new KonnectivityDialer({
      host: '127.0.0.1',
      port: ks.port,
      ca: ks.ca,
      cert: ks.clientCert,
      key: ks.clientKey,
      dialTimeoutMs: 300,
    });
    const t0 = Date.now();
    await rejectsWith(d.dial(target('slow')), 'timeout', /dial slow:443 timed out after 300 ms$/);
    assert.ok(Date.now() - t0 < 2000);
    const late = await new Promise<net.Socket>((r) => {
      const s = net.connect(echo.port, '127.0.0.1', () => {
        r(s);
      });
    });
    release(late);
    await closed(late);
    assert.ok(late.destroyed);
    d.close();
  });

  test('abort during the dial rejects at once; an aborted signal never dials', async () => {
    ks.registerAgent('never', () => new Promise<Duplex>(() => undefined));
    const ac = new AbortController();
    const p = dialer.dial(target('never'), ac.signal);
    setTimeout(() => {
      ac.abort(new Error('client went away'));
    }, 50);
    await rejectsWith(p, 'aborted', /dial never:443 aborted$/);
    const streams = ks.stats.streams;
    await rejectsWith(dialer.dial(target('echo'), AbortSignal.abort()), 'aborted', /aborted$/);
    assert.equal(ks.stats.streams, streams);
  });

  test('metrics count dials, failures by reason, active tunnels and latency', async () => {
    const s = await dialer.dial(target('echo'));
    assert.equal((await metrics.tunnelsActive.get()).values[0]?.value, 1);
    s.destroy();
    await closed(s);
    const text = await metrics.render();
    assert.match(text, /cluster_gateway_konnectivity_tunnels_active 0/);
    const dialed = (await metrics.tunnelsDialed.get()).values[0]?.value ?? 0;
    assert.ok(dialed >= 56, `dialed ${dialed}`);
    const failed = new Map((await metrics.tunnelsFailed.get()).values.map((v) => [v.labels.reason, v.value]));
    assert.equal(failed.get('dial_error'), 2);
    assert.equal(failed.get('aborted'), 2);
    assert.match(text, /cluster_gateway_konnectivity_tunnels_dial_duration_seconds_count \d+/);
  });

  test('nothing is left open on either side', async () => {
    await sleep(100);
    assert.equal(dialer.activeTunnels, 0);
    assert.equal(ks.stats.activeStreams, 0);
    assert.equal(ks.stats.openConnections, 0);
  });
});

describe('proxy-server going away', () => {
  let ks: KonnectivityServer;
  let dialer: KonnectivityDialer;
  let echo: Awaited<ReturnType<typeof listen>>;

  before(async () => {
    echo = await listen((s) => s.pipe(s));
    ks = await startKonnectivityServer();
    ks.registerAgent('echo', tcpAgent('127.0.0.1', echo.port));
    dialer = new KonnectivityDialer({
      host: '127.0.0.1',
      port: ks.port,
      ca: ks.ca,
      cert: ks.clientCert,
      key: ks.clientKey,
    });
  });
  after(async () => {
    dialer.close();
    await ks.stop();
    await echo.close();
  });

  test('killed mid-stream: every Duplex fails fast naming the tunnel; dials fail cleanly; back → dials work', async () => {
    const tunnel = `konnectivity tunnel to 127.0.0.1:${ks.port}`;
    const sockets = await Promise.all([dialer.dial(target('echo')), dialer.dial(target('echo'))]);
    sockets[0].write('x');
    await readN(sockets[0], 1);
    const t0 = Date.now();
    ks.kill();
    const errs = await Promise.all(sockets.map(closed));
    assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
    for (const e of errs) {
      assert.ok(e instanceof KonnectivityError);
      assert.ok(e.message.startsWith(`${tunnel}: `), e.message);
    }
    assert.equal(dialer.activeTunnels, 0);

    const t1 = Date.now();
    await rejectsWith(dialer.dial(target('echo')), 'unavailable', /proxy-server unavailable: .*ECONNREFUSED/);
    assert.ok(Date.now() - t1 < 5000);

    await ks.restart();
    const deadline = Date.now() + 5000;
    let s: Duplex | undefined;
    while (!s) {
      s = await dialer.dial(target('echo')).catch(async (e: unknown) => {
        if (Date.now() > deadline) throw e;
        await sleep(100);
        return undefined;
      });
    }
    s.write('again');
    assert.equal((await readN(s, 5)).toString(), 'again');
    s.destroy();
    await closed(s);
  });

  test('graceful stop ends open connections with an error naming the proxy-server', async () => {
    const s = await dialer.dial(target('echo'));
    const done = closed(s);
    await ks.stop();
    const err = await done;
    assert.ok(err instanceof KonnectivityError);
    assert.match(err.message, /proxy-server stopping/);
    await ks.restart();
  });

  test('a closed dialer rejects new dials', async () => {
    const d = new KonnectivityDialer({
      host: '127.0.0.1',
      port: ks.port,
      ca: ks.ca,
      cert: ks.clientCert,
      key: ks.clientKey,
    });
    const s = await d.dial(target('echo'));
    d.close();
    assert.ok((await closed(s)) instanceof KonnectivityError);
    await rejectsWith(d.dial(target('echo')), 'closed', /dialer is closed$/);
  });
});

describe('protocol edges against a scripted proxy-server', () => {
  type Script = (call: grpc.ServerDuplexStream<Packet, OutPacket>, first: Packet) => void;
  let script: Script;
  let stubborn = false;
  let server: grpc.Server;
  let port: number;
  let creds: { ca: string; cert: string; key: string };
  let dialer: KonnectivityDialer;
  const calls = new Set<grpc.ServerDuplexStream<Packet, OutPacket>>();

  before(async () => {
    const ca = await createCA('scripted-ca');
    const serving = await ca.issue({ commonName: 'scripted-server', ipAddresses: ['127.0.0.1'], usage: 'server' });
    const client = await ca.issue({ commonName: 'gw', usage: 'client' });
    creds = { ca: ca.cert, cert: client.cert, key: client.key };
    server = new grpc.Server();
    server.addService(loadKonnectivityProtocol().service, {
      Proxy: (call: grpc.ServerDuplexStream<Packet, OutPacket>) => {
        calls.add(call);
        call.on('error', () => undefined);
        call.once('close', () => calls.delete(call));
        call.once('finish', () => calls.delete(call));
        call.once('cancelled', () => calls.delete(call));
        // as the Go server: the client's half-close ends the stream (unless a test wants a stubborn server)
        call.on('end', () => {
          if (!stubborn && !call.writableEnded) call.end();
        });
        call.once('data', (p: Packet) => {
          script(call, p);
        });
      },
    });
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(
        '127.0.0.1:0',
        grpc.ServerCredentials.createSsl(
          Buffer.from(ca.cert),
          [{ cert_chain: Buffer.from(serving.cert), private_key: Buffer.from(serving.key) }],
          true,
        ),
        (e, p) => {
          if (e) reject(e);
          else resolve(p);
        },
      );
    });
    dialer = new KonnectivityDialer({ host: '127.0.0.1', port, ...creds, dialTimeoutMs: 2000, closeTimeoutMs: 500 });
  });
  after(() => {
    dialer.close();
    server.forceShutdown();
  });

  const rsp = (first: Packet, connectID: string, error = ''): OutPacket => ({
    type: 'DIAL_RSP',
    dialResponse: { random: first.dialRequest!.random, connectID, error },
  });

  test('DIAL_REQ carries tcp, {cluster}:443 and a positive int63 random', async () => {
    let seen: Packet | undefined;
    script = (call, first) => {
      seen = first;
      call.write(rsp(first, '', 'nope'));
      call.end();
    };
    await assert.rejects(dialer.dial(target('cluster-9')));
    assert.equal(seen?.type, 'DIAL_REQ');
    assert.equal(seen.dialRequest?.protocol, 'tcp');
    assert.equal(seen.dialRequest?.address, 'cluster-9:443');
    const r = BigInt(seen.dialRequest.random);
    assert.ok(r > 0n && r < 2n ** 63n);
  });

  test('DRAIN and DIAL_RSP for other dials are tolerated; extreme connectIDs are exact', async () => {
    const ID = '-9223372036854775808';
    const got: Packet[] = [];
    script = (call, first) => {
      call.write({ type: 'DRAIN', drain: {} });
      call.write({ type: 'DIAL_RSP', dialResponse: { random: '1', connectID: '5', error: '' } });
      call.write(rsp(first, ID));
      call.write({ type: 'DRAIN', drain: {} });
      call.write({ type: 'DATA', data: { connectID: '5', data: Buffer.from('not ours') } });
      call.write({ type: 'DATA', data: { connectID: ID, data: Buffer.from('ours') } });
      call.on('data', (p: Packet) => {
        got.push(p);
        if (p.type === 'CLOSE_REQ') {
          call.write({ type: 'CLOSE_RSP', closeResponse: { connectID: ID } });
          call.end();
        }
      });
    };
    const s = (await dialer.dial(target('x'))) as KonnectivitySocket;
    assert.equal(s.connectID, ID);
    assert.equal((await readN(s, 4)).toString(), 'ours');
    s.end('reply');
    assert.equal(await closed(s), undefined);
    assert.deepEqual(
      got.map((p) => [p.type, p.data?.connectID ?? p.closeRequest?.connectID, p.data?.data.toString()]),
      [
        ['DATA', ID, 'reply'],
        ['CLOSE_REQ', ID, undefined],
      ],
    );
  });

  test('Go-style close: the stream ends after CLOSE_REQ without CLOSE_RSP', async () => {
    script = (call, first) => {
      call.write(rsp(first, '7'));
      call.on('data', (p: Packet) => {
        if (p.type === 'CLOSE_REQ') call.end();
      });
    };
    const s = await dialer.dial(target('x'));
    s.end();
    assert.equal(await closed(s), undefined);
  });

  test('a server that never ends the stream is cancelled after closeTimeoutMs', async () => {
    let cancelled = false;
    stubborn = true;
    script = (call, first) => {
      call.write(rsp(first, '8'));
      call.on('cancelled', () => (cancelled = true));
    };
    const s = await dialer.dial(target('x'));
    s.destroy();
    await closed(s);
    const t0 = Date.now();
    while (!cancelled && Date.now() - t0 < 3000) await sleep(50);
    assert.ok(cancelled);
    assert.equal(dialer.activeTunnels, 0);
    stubborn = false;
  });

  const failures: { name: string; script: Script; reason: string; message: RegExp }[] = [
    {
      name: 'DIAL_CLS for our dial',
      script: (call, first) => {
        call.write({ type: 'DIAL_CLS', closeDial: { random: first.dialRequest!.random } });
      },
      reason: 'dial_closed',
      message: /closed by the proxy-server \(DIAL_CLS\)$/,
    },
    {
      name: 'stream ended before DIAL_RSP',
      script: (call) => call.end(),
      reason: 'stream',
      message: /ended the stream before answering the dial of x:443$/,
    },
    {
      name: 'stream failed before DIAL_RSP',
      script: (call) => {
        call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'go away' });
      },
      reason: 'stream',
      message: /stream failed: PERMISSION_DENIED: go away$/,
    },
  ];
  for (const f of failures) {
    test(`dial failure: ${f.name}`, async () => {
      script = f.script;
      await rejectsWith(dialer.dial(target('x')), f.reason, f.message);
    });
  }

  const broken: { name: string; send: (id: string) => OutPacket; message: RegExp }[] = [
    {
      name: 'CLOSE_RSP with an error',
      send: (id) => ({ type: 'CLOSE_RSP', closeResponse: { connectID: id, error: 'agent lost' } }),
      message: /connection 9 closed: agent lost$/,
    },
    {
      name: 'DATA with an error',
      send: (id) => ({ type: 'DATA', data: { connectID: id, error: 'read failed' } }),
      message: /connection 9: read failed$/,
    },
  ];
  for (const b of broken) {
    test(`open connection fails on ${b.name}`, async () => {
      script = (call, first) => {
        call.write(rsp(first, '9'));
        setTimeout(() => call.write(b.send('9')), 20);
        call.on('data', () => undefined);
      };
      const s = await dialer.dial(target('x'));
      const err = await closed(s);
      assert.ok(err instanceof KonnectivityError);
      assert.match(err.message, b.message);
    });
  }

  test('no streams left on the scripted server', async () => {
    await sleep(100);
    assert.equal(calls.size, 0);
    assert.equal(dialer.activeTunnels, 0);
  });
});

describe('construction', () => {
  let pem: { ca: string; cert: string; key: string };
  before(async () => {
    const ca = await createCA('construction-ca');
    const pair = await ca.issue({ commonName: 'gw', usage: 'client' });
    pem = { ca: ca.cert, cert: pair.cert, key: pair.key };
  });

  test('keepalive is never below the proxy-server minimum ping interval', () => {
    const common = { host: 'localhost', port: 1, ...pem };
    const cases: [number | undefined, number][] = [
      [undefined, MIN_KEEPALIVE_TIME_MS],
      [20_000, MIN_KEEPALIVE_TIME_MS],
      [10 * 60_000, 10 * 60_000],
    ];
    for (const [asked, used] of cases) {
      const d = new KonnectivityDialer({ ...common, keepaliveTimeMs: asked });
      assert.equal(d.keepaliveTimeMs, used);
      assert.equal(d.tunnel, 'konnectivity tunnel to localhost:1');
      d.close();
    }
  });

  test('bad options are rejected', () => {
    assert.throws(() => new KonnectivityDialer({ host: '', port: 1, ca: '', cert: '', key: '' }), /host is empty/);
    assert.throws(() => new KonnectivityDialer({ host: 'h', port: 0, ca: '', cert: '', key: '' }), /invalid port 0/);
    assert.throws(() => new KonnectivityDialer({ host: 'h', port: 70000, ca: '', cert: '', key: '' }), /invalid port/);
    assert.throws(
      () => new KonnectivityDialer({ host: 'h', port: 1, ca: 'not a pem', cert: pem.cert, key: pem.key }),
      /konnectivity: invalid TLS material for the proxy-server \(CA, client certificate or key\): /,
    );
    assert.throws(
      () => new KonnectivityDialer({ host: 'h', port: 1, ca: pem.ca, cert: pem.cert, key: pem.ca }),
      /invalid TLS material/,
    );
  });

  test('createKonnectivityDialer follows config.konnectivity', () => {
    assert.equal(createKonnectivityDialer({ konnectivity: undefined }), undefined);
    const file = (content: string) => ({ flag: '', path: '', content });
    const konnectivity: GatewayConfig['konnectivity'] = {
      host: '::1',
      port: 8090,
      ca: file(pem.ca),
      cert: file(pem.cert),
      key: file(pem.key),
    };
    const d = createKonnectivityDialer({ konnectivity });
    assert.ok(d instanceof KonnectivityDialer);
    assert.equal(d.tunnel, 'konnectivity tunnel to [::1]:8090');
    d.close();
  });
});

test('no leaked sockets, sessions or timers', async () => {
  await sleep(200);
  const now = handles();
  for (const [k, n] of now) assert.ok(n <= (baseline.get(k) ?? 0), `${n} ${k} left (baseline ${baseline.get(k) ?? 0})`);
});
