import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { parseCidr, type Cidr } from '../config/cidr.ts';
import { DialError, DirectDialer, EndpointPolicy, joinHostPort, resolveHost, tcpConnect } from './direct.ts';

function cidrs(...xs: string[]): Cidr[] {
  return xs.map((x) => {
    const r = parseCidr(x);
    if (!r.ok) throw new Error(r.error);
    return r.cidr;
  });
}

async function listener(): Promise<{ port: number; close(): Promise<void>; accepted: () => number }> {
  let n = 0;
  const s = net.createServer((c) => {
    c.on('error', () => undefined);
    n++;
    c.end('hello');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return {
    port: (s.address() as net.AddressInfo).port,
    accepted: () => n,
    close: () =>
      new Promise<void>((r) =>
        s.close(() => {
          r();
        }),
      ),
  };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('EndpointPolicy: denied ranges win, allowed ranges restrict, IPv4-mapped IPv6 is IPv4', () => {
  const deny = new EndpointPolicy({ denied: cidrs('169.254.0.0/16', 'fd00::/8') });
  const both = new EndpointPolicy({ denied: cidrs('10.1.0.0/16'), allowed: cidrs('10.0.0.0/8') });
  const cases: [EndpointPolicy, string, RegExp | undefined][] = [
    [deny, '169.254.169.254', /denied endpoint range 169\.254\.0\.0\/16/],
    [deny, '::ffff:169.254.169.254', /denied/],
    [deny, 'fd12::1', /denied endpoint range fd00::\/8/],
    [deny, '10.0.0.1', undefined],
    [deny, '127.0.0.1', undefined],
    [both, '10.2.3.4', undefined],
    [both, '10.1.3.4', /denied/],
    [both, '192.168.1.1', /not in any allowed endpoint range \(--allowed-endpoint-cidrs 10\.0\.0\.0\/8\)/],
    [new EndpointPolicy(), '169.254.169.254', undefined],
  ];
  for (const [p, ip, want] of cases) {
    const got = p.check(ip);
    if (want) assert.match(got ?? '', want, ip);
    else assert.equal(got, undefined, ip);
  }
});

test('joinHostPort brackets IPv6', () => {
  assert.equal(joinHostPort('::1', 443), '[::1]:443');
  assert.equal(joinHostPort('a.b', 6443), 'a.b:6443');
});

test('resolveHost: literal IPs, resolver errors worded like Go', async () => {
  assert.deepEqual(await resolveHost('10.0.0.1', () => Promise.reject(new Error('not called'))), ['10.0.0.1']);
  assert.deepEqual(await resolveHost('[::1]', () => Promise.reject(new Error('not called'))), ['::1']);
  await assert.rejects(
    resolveHost('nope.invalid', () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))),
    (e: unknown) =>
      e instanceof DialError && e.kind === 'dns' && e.message === 'dial tcp: lookup nope.invalid: no such host',
  );
  await assert.rejects(
    resolveHost('empty.test', () => Promise.resolve([])),
    (e: unknown) => e instanceof DialError && e.kind === 'dns',
  );
});

test('a refused connection is a DialError worded like Go', async () => {
  const port = await freePort();
  await assert.rejects(
    tcpConnect('127.0.0.1', port, { timeoutMs: 5000 }),
    (e: unknown) =>
      e instanceof DialError &&
      e.kind === 'refused' &&
      e.message === `dial tcp 127.0.0.1:${String(port)}: connect: connection refused`,
  );
});

test('DirectDialer connects to what the name resolves to, and checks the policy against it', async () => {
  const l = await listener();
  try {
    const lookup = (host: string): Promise<string[]> =>
      Promise.resolve(
        host === 'metadata.test'
          ? ['169.254.169.254']
          : host === 'mixed.test'
            ? ['169.254.1.1', '127.0.0.1']
            : ['127.0.0.1'],
      );
    const d = new DirectDialer({ policy: new EndpointPolicy({ denied: cidrs('169.254.0.0/16') }), lookup });
    const s = await d.dial({ cluster: 'c', host: 'member.test', port: l.port, proxyURL: undefined });
    const data = await new Promise<string>((r) =>
      s.once('data', (b: Buffer) => {
        r(b.toString());
      }),
    );
    assert.equal(data, 'hello');
    s.destroy();
    // the allowed address of a mixed answer is used
    (await d.dial({ cluster: 'c', host: 'mixed.test', port: l.port, proxyURL: undefined })).destroy();
    assert.equal(l.accepted(), 2);
    await assert.rejects(
      d.dial({ cluster: 'c', host: 'metadata.test', port: 80, proxyURL: undefined }),
      (e: unknown) =>
        e instanceof DialError &&
        e.kind === 'policy' &&
        /^dial tcp metadata\.test:80: address 169\.254\.169\.254 is in the denied endpoint range/.test(e.message),
    );
    await assert.rejects(
      d.dial({ cluster: 'c', host: '169.254.169.254', port: 80, proxyURL: undefined }),
      (e: unknown) => e instanceof DialError && e.kind === 'policy',
    );
  } finally {
    await l.close();
  }
});

test('a dial gives up at the timeout, and on abort', async () => {
  // a blackholed address (TEST-NET-1 is not routed); some build sandboxes answer it at once instead
  const t0 = Date.now();
  await assert.rejects(
    tcpConnect('192.0.2.1', 443, { timeoutMs: 300 }),
    (e: unknown) =>
      e instanceof DialError &&
      ((e.kind === 'timeout' && e.message === 'dial tcp 192.0.2.1:443: i/o timeout') ||
        e.kind === 'unreachable' ||
        e.kind === 'refused'),
  );
  assert.ok(Date.now() - t0 < 3000);
  const ac = new AbortController();
  const p = tcpConnect('192.0.2.1', 443, { timeoutMs: 10_000, signal: ac.signal });
  ac.abort();
  await assert.rejects(
    p,
    (e: unknown) => e instanceof DialError && ['aborted', 'unreachable', 'refused'].includes(e.kind),
  );
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(
    tcpConnect('127.0.0.1', 1, { timeoutMs: 1000, signal: pre.signal }),
    (e: unknown) => e instanceof DialError && e.kind === 'aborted',
  );
});
