// The fault proxy itself: each fault does what the reliability suite relies on, against a plain
// TCP target (an echo server that can also stream a payload), and switching modes affects
// connections that are already open.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { startFaultProxy } from './fault-proxy.ts';

let target: net.Server;
let targetPort: number;
/** what the target received, per connection */
const received: Buffer[][] = [];

before(async () => {
  // "send N" makes the target stream N bytes back; anything else is echoed
  target = net.createServer((s) => {
    const got: Buffer[] = [];
    received.push(got);
    s.on('error', () => undefined);
    s.on('data', (b: Buffer) => {
      got.push(b);
      const m = /^send (\d+)$/.exec(b.toString());
      if (m) s.write(Buffer.alloc(Number(m[1]), 120));
      else s.write(b);
    });
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  targetPort = (target.address() as net.AddressInfo).port;
});

after(async () => {
  await new Promise((r) => target.close(r));
});

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Collect until `bytes` arrived, the socket ended/errored, or `ms` passed. */
function collect(
  s: net.Socket,
  bytes: number,
  ms = 3000,
): Promise<{ bytes: number; how: 'enough' | 'end' | 'error' | 'timeout'; error?: string }> {
  return new Promise((resolve) => {
    let n = 0;
    const finish = (how: 'enough' | 'end' | 'error' | 'timeout', error?: string): void => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('error', onError);
      resolve({ bytes: n, how, ...(error ? { error } : {}) });
    };
    const onData = (b: Buffer): void => {
      n += b.length;
      if (n >= bytes) finish('enough');
    };
    const onEnd = (): void => {
      finish('end');
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      finish('error', e.code);
    };
    const t = setTimeout(() => {
      finish('timeout');
    }, ms);
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('error', onError);
  });
}

test('passes bytes through and counts connections', async () => {
  const fp = await startFaultProxy({ host: '127.0.0.1', port: targetPort });
  try {
    const a = await connect(fp.port);
    const b = await connect(fp.port);
    a.write('hello');
    assert.deepEqual(await collect(a, 5), { bytes: 5, how: 'enough' });
    b.write('send 200000');
    assert.equal((await collect(b, 200_000)).how, 'enough');
    assert.equal(fp.stats.connections, 2);
    assert.equal(fp.stats.active, 2);
    a.destroy();
    b.destroy();
  } finally {
    await fp.close();
  }
  assert.equal(fp.stats.active, 0);
});

test('latency delays each direction', async () => {
  const fp = await startFaultProxy({ host: '127.0.0.1', port: targetPort }, { latencyMs: 150 });
  try {
    const s = await connect(fp.port);
    const t0 = Date.now();
    s.write('ping');
    assert.equal((await collect(s, 4)).how, 'enough');
    assert.ok(Date.now() - t0 >= 290, `round trip ${String(Date.now() - t0)}ms`);
    s.destroy();
  } finally {
    await fp.close();
  }
});

test('a bandwidth cap paces the stream', async () => {
  const fp = await startFaultProxy({ host: '127.0.0.1', port: targetPort }, { bytesPerSecond: 40_000 });
  try {
    const s = await connect(fp.port);
    const t0 = Date.now();
    s.write('send 20000');
    assert.equal((await collect(s, 20_000)).how, 'enough');
    assert.ok(Date.now() - t0 >= 400, `20 kB at 40 kB/s took ${String(Date.now() - t0)}ms`);
    s.destroy();
  } finally {
    await fp.close();
  }
});

test('reset after N bytes delivers exactly N then ECONNRESET', async () => {
  const fp = await startFaultProxy({ host: '127.0.0.1', port: targetPort }, { resetAfterBytes: 1000 });
  try {
    const s = await connect(fp.port);
    s.write('send 100000');
    const r = await collect(s, 100_000);
    assert.equal(r.how, 'error');
    assert.equal(r.error, 'ECONNRESET');
    assert.equal(r.bytes, 1000);
    assert.equal(fp.stats.resets, 1);
  } finally {
    await fp.close();
  }
});

test('a black hole keeps the connection open and silent', async () => {
  const fp = await startFaultProxy({ host: '127.0.0.1', port: targetPort }, { blackHole: true });
  try {
    const s = await connect(fp.port);
    s.write('anyone?');
    const r = await collect(s, 1, 400);
    assert.deepEqual(r, { bytes: 0, how: 'timeout' });
    assert.equal(s.destroyed, false);
    s.destroy();
  } finally {
    await fp.close();
  }
});

test('half-close ends the client side after N bytes while writes still reach the target', async () => {
  const fp = await startFaultProxy({ host: '127.0.0.1', port: targetPort }, { halfCloseAfterBytes: 10 });
  try {
    const before = received.length;
    const s = net.connect({ host: '127.0.0.1', port: fp.port, allowHalfOpen: true });
    await new Promise((r) => s.once('connect', r));
    s.write('send 5000');
    const r = await collect(s, 5000);
    assert.deepEqual(r, { bytes: 10, how: 'end' });
    s.write('still here');
    const end = Date.now() + 2000;
    while (!received[before]?.some((b) => b.toString() === 'still here') && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 10));
    }
    assert.ok(received[before]?.some((b) => b.toString() === 'still here'));
    s.destroy();
  } finally {
    await fp.close();
  }
});

test('refuse stops listening on the same port; switching back accepts again', async () => {
  const fp = await startFaultProxy({ host: '127.0.0.1', port: targetPort });
  try {
    const port = fp.port;
    await fp.set({ refuse: true });
    await assert.rejects(connect(port), { code: 'ECONNREFUSED' });
    await fp.set({});
    assert.equal(fp.port, port);
    const s = await connect(port);
    s.write('back');
    assert.equal((await collect(s, 4)).how, 'enough');
    s.destroy();
  } finally {
    await fp.close();
  }
});

test('switching at run time affects open connections; resetAll resets them', async () => {
  const fp = await startFaultProxy({ host: '127.0.0.1', port: targetPort });
  try {
    const s = await connect(fp.port);
    s.write('one');
    assert.equal((await collect(s, 3)).how, 'enough');
    await fp.set({ blackHole: true });
    s.write('two');
    assert.equal((await collect(s, 1, 300)).how, 'timeout');
    await fp.set({});
    const pending = collect(s, 1);
    fp.resetAll();
    const r = await pending;
    assert.equal(r.how, 'error');
    assert.equal(r.error, 'ECONNRESET');
  } finally {
    await fp.close();
  }
});

test('a dead target is a reset for the client', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const dead = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const fp = await startFaultProxy({ host: '127.0.0.1', port: dead });
  try {
    const s = await connect(fp.port);
    const r = await collect(s, 1);
    assert.notEqual(r.how, 'enough');
    assert.notEqual(r.how, 'timeout');
  } finally {
    await fp.close();
  }
});
