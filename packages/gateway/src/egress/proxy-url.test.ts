import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import { createCA } from '@cluster-gateway/sandbox';
import { parseCidr } from '../config/cidr.ts';
import { DialError, DirectDialer, EndpointPolicy } from './direct.ts';
import { ProxyURLDialer, redactProxyURL } from './proxy-url.ts';

// the member: answers every connection with a greeting, then echoes
let member: net.Server;
let memberPort: number;
// what the proxies saw
const connects: { authority: string; auth: string | undefined }[] = [];
const socksRequests: { host: string; port: number; user?: string }[] = [];
let httpProxy: http.Server;
let httpsProxy: https.Server;
let socks: net.Server;
let proxyCA: string;
/** every socket the test servers hold, destroyed at the end so the servers can close */
const held = new Set<net.Socket | Duplex>();
function hold<T extends net.Socket | Duplex>(s: T): T {
  held.add(s);
  s.on('close', () => held.delete(s));
  return s;
}

/** proxies resolve `member.test` themselves; the gateway cannot */
function proxyResolve(host: string): string {
  return host === 'member.test' ? '127.0.0.1' : host;
}

function onConnect(req: http.IncomingMessage, client: Duplex, head: Buffer): void {
  hold(client);
  client.on('error', () => undefined);
  const auth = req.headers['proxy-authorization'];
  connects.push({ authority: req.url ?? '', auth });
  if (
    req.headers['x-require-auth'] === undefined &&
    auth !== undefined &&
    auth !== `Basic ${Buffer.from('u:p@ss').toString('base64')}`
  ) {
    client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
    return;
  }
  const m = /^(.*):(\d+)$/.exec(req.url ?? '');
  if (!m || m[1] === 'forbidden.test') {
    client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const up = hold(
    net.connect(Number(m[2]), proxyResolve(m[1]!.replace(/^\[(.*)\]$/, '$1')), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    }),
  );
  up.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
}

/** A SOCKS5 server (RFC 1928/1929) good enough for the tests: CONNECT, optional user/password. */
function socksServer(requireAuth: { user: string; pass: string } | undefined): net.Server {
  return net.createServer((c) => {
    hold(c);
    c.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let stage: 'greet' | 'auth' | 'request' | 'done' = 'greet';
    let user: string | undefined;
    c.on('data', (d: Buffer) => {
      if (stage === 'done') return;
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (stage === 'greet') {
          if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
          const methods = [...buf.subarray(2, 2 + buf[1]!)];
          buf = buf.subarray(2 + buf[1]!);
          const want = requireAuth ? 2 : 0;
          if (!methods.includes(want)) {
            c.end(Buffer.from([5, 0xff]));
            stage = 'done';
            return;
          }
          c.write(Buffer.from([5, want]));
          stage = requireAuth ? 'auth' : 'request';
        } else if (stage === 'auth') {
          if (buf.length < 2) return;
          const ul = buf[1]!;
          if (buf.length < 3 + ul) return;
          const pl = buf[2 + ul]!;
          if (buf.length < 3 + ul + pl) return;
          user = buf.subarray(2, 2 + ul).toString();
          const pass = buf.subarray(3 + ul, 3 + ul + pl).toString();
          buf = buf.subarray(3 + ul + pl);
          const good = user === requireAuth?.user && pass === requireAuth.pass;
          c.write(Buffer.from([1, good ? 0 : 1]));
          if (!good) {
            c.end();
            stage = 'done';
            return;
          }
          stage = 'request';
        } else if (stage === 'request') {
          if (buf.length < 5) return;
          const atyp = buf[3]!;
          const len = atyp === 1 ? 10 : atyp === 4 ? 22 : 7 + buf[4]!;
          if (buf.length < len) return;
          const host =
            atyp === 1
              ? [...buf.subarray(4, 8)].join('.')
              : atyp === 3
                ? buf.subarray(5, 5 + buf[4]!).toString()
                : (buf.subarray(4, 20).toString('hex').match(/.{4}/g) ?? []).join(':');
          const port = buf.readUInt16BE(len - 2);
          buf = buf.subarray(len);
          socksRequests.push({ host, port, ...(user ? { user } : {}) });
          stage = 'done';
          const reply = (code: number): Buffer => Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
          const up = hold(
            net.connect(port, proxyResolve(host), () => {
              c.write(reply(0));
              up.pipe(c);
              c.pipe(up);
            }),
          );
          up.on('error', () => c.end(reply(5)));
          return;
        } else return;
      }
    });
  });
}

async function listen(s: net.Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

let httpPort: number;
let httpsPort: number;
let socksPort: number;
let socksAuth: net.Server;
let socksAuthPort: number;

before(async () => {
  member = net.createServer((c) => {
    hold(c);
    c.on('error', () => undefined);
    c.write('member says hi;');
    c.pipe(c);
  });
  memberPort = await listen(member);
  httpProxy = http.createServer((_req, res) => res.end());
  httpProxy.on('connect', onConnect);
  httpPort = await listen(httpProxy);
  const ca = await createCA('proxy-ca');
  proxyCA = ca.cert;
  const serving = await ca.issue({
    commonName: 'proxy',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  httpsProxy = https.createServer({ cert: serving.cert, key: serving.key }, (_req, res) => res.end());
  httpsProxy.on('connect', onConnect);
  httpsPort = await listen(httpsProxy);
  socks = socksServer(undefined);
  socksPort = await listen(socks);
  socksAuth = socksServer({ user: 'u', pass: 'p@ss' });
  socksAuthPort = await listen(socksAuth);
});

after(async () => {
  for (const s of held) s.destroy();
  for (const s of [member, httpProxy, httpsProxy, socks, socksAuth]) {
    (s as { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

const lookup = (host: string): Promise<string[]> =>
  host === 'member.test'
    ? Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }))
    : host === 'local.test'
      ? Promise.resolve(['127.0.0.1'])
      : host === 'meta.test'
        ? Promise.resolve(['169.254.169.254'])
        : Promise.resolve(['127.0.0.1']);

function dialer(denied: string[] = []): ProxyURLDialer {
  const policy = new EndpointPolicy({
    denied: denied.map((d) => {
      const r = parseCidr(d);
      if (!r.ok) throw new Error(r.error);
      return r.cidr;
    }),
  });
  return new ProxyURLDialer({
    direct: new DirectDialer({ policy, lookup }),
    proxyTls: { ca: proxyCA },
    handshakeTimeoutMs: 3000,
  });
}

async function roundTrip(s: Duplex): Promise<string> {
  const got = new Promise<string>((resolve) => {
    let text = '';
    s.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.endsWith('ping')) resolve(text);
    });
  });
  s.write('ping');
  const text = await got;
  s.destroy();
  return text;
}

test('HTTP CONNECT through http:// and https:// proxies, with and without credentials', async () => {
  const cases: [string, string, string | undefined][] = [
    [`http://127.0.0.1:${String(0)}`, 'member.test', undefined],
    [`http://u:p%40ss@127.0.0.1:${String(0)}`, 'member.test', `Basic ${Buffer.from('u:p@ss').toString('base64')}`],
    [`https://localhost:${String(0)}`, '127.0.0.1', undefined],
  ];
  for (const [tmpl, host, auth] of cases) {
    const proxyURL = tmpl.replace(':0', `:${String(tmpl.startsWith('https') ? httpsPort : httpPort)}`);
    connects.length = 0;
    const s = await dialer().dial({ cluster: 'c', host, port: memberPort, proxyURL });
    assert.equal(await roundTrip(s), 'member says hi;ping', proxyURL);
    assert.deepEqual(connects, [{ authority: `${host}:${String(memberPort)}`, auth }]);
  }
});

test('a proxy that refuses the tunnel is a DialError of kind proxy, without the credentials', async () => {
  await assert.rejects(
    dialer().dial({
      cluster: 'c',
      host: 'forbidden.test',
      port: 443,
      proxyURL: `http://u:p%40ss@127.0.0.1:${String(httpPort)}`,
    }),
    (e: unknown) =>
      e instanceof DialError &&
      e.kind === 'proxy' &&
      /proxy refused the tunnel to forbidden\.test:443: 403 Forbidden/.test(e.message) &&
      !e.message.includes('p@ss'),
  );
  await assert.rejects(
    dialer().dial({
      cluster: 'c',
      host: 'member.test',
      port: memberPort,
      proxyURL: `http://u:wrong@127.0.0.1:${String(httpPort)}`,
    }),
    (e: unknown) => e instanceof DialError && /407/.test(e.message) && !e.message.includes('wrong'),
  );
  assert.equal(redactProxyURL('http://u:secret@proxy:3128'), 'http://proxy:3128');
});

test('SOCKS5: socks5h sends the name, socks5 resolves locally; username/password', async () => {
  socksRequests.length = 0;
  let s = await dialer().dial({
    cluster: 'c',
    host: 'member.test',
    port: memberPort,
    proxyURL: `socks5h://127.0.0.1:${String(socksPort)}`,
  });
  assert.equal(await roundTrip(s), 'member says hi;ping');
  s = await dialer().dial({
    cluster: 'c',
    host: 'local.test',
    port: memberPort,
    proxyURL: `socks5://127.0.0.1:${String(socksPort)}`,
  });
  assert.equal(await roundTrip(s), 'member says hi;ping');
  s = await dialer().dial({
    cluster: 'c',
    host: 'member.test',
    port: memberPort,
    proxyURL: `socks5h://u:p%40ss@127.0.0.1:${String(socksAuthPort)}`,
  });
  assert.equal(await roundTrip(s), 'member says hi;ping');
  assert.deepEqual(socksRequests, [
    { host: 'member.test', port: memberPort },
    { host: '127.0.0.1', port: memberPort },
    { host: 'member.test', port: memberPort, user: 'u' },
  ]);
  // socks5 cannot dial a name only the proxy knows
  await assert.rejects(
    dialer().dial({
      cluster: 'c',
      host: 'member.test',
      port: memberPort,
      proxyURL: `socks5://127.0.0.1:${String(socksPort)}`,
    }),
    (e: unknown) => e instanceof DialError && e.kind === 'dns',
  );
  await assert.rejects(
    dialer().dial({
      cluster: 'c',
      host: 'member.test',
      port: memberPort,
      proxyURL: `socks5h://u:bad@127.0.0.1:${String(socksAuthPort)}`,
    }),
    (e: unknown) => e instanceof DialError && e.kind === 'proxy' && /authentication failed/.test(e.message),
  );
  await assert.rejects(
    dialer().dial({
      cluster: 'c',
      host: 'member.test',
      port: memberPort,
      proxyURL: `socks5h://127.0.0.1:${String(socksAuthPort)}`,
    }),
    (e: unknown) => e instanceof DialError && /no acceptable authentication methods/.test(e.message),
  );
  // the proxy could not reach the target
  const closed = net.createServer();
  const deadPort = await listen(closed);
  await new Promise((r) => closed.close(r));
  await assert.rejects(
    dialer().dial({
      cluster: 'c',
      host: '127.0.0.1',
      port: deadPort,
      proxyURL: `socks5://127.0.0.1:${String(socksPort)}`,
    }),
    (e: unknown) =>
      e instanceof DialError &&
      e.kind === 'refused' &&
      /socks connect tcp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: connection refused/.test(e.message),
  );
});

test('the endpoint policy applies through proxies (target and proxy address)', async () => {
  const d = dialer(['169.254.0.0/16']);
  for (const [host, proxy] of [
    ['169.254.169.254', `http://127.0.0.1:${String(httpPort)}`],
    ['meta.test', `socks5h://127.0.0.1:${String(socksPort)}`],
    ['member.test', 'http://169.254.1.1:3128'],
  ] as const) {
    await assert.rejects(
      d.dial({ cluster: 'c', host, port: 443, proxyURL: proxy }),
      (e: unknown) => e instanceof DialError && e.kind === 'policy',
      `${host} via ${proxy}`,
    );
  }
});

test('an unreachable proxy and a silent proxy fail with clear kinds', async () => {
  const closed = net.createServer();
  const deadPort = await listen(closed);
  await new Promise((r) => closed.close(r));
  await assert.rejects(
    dialer().dial({ cluster: 'c', host: 'member.test', port: 1, proxyURL: `http://127.0.0.1:${String(deadPort)}` }),
    (e: unknown) => e instanceof DialError && e.kind === 'refused',
  );
  const silent = net.createServer((c) => hold(c).on('error', () => undefined));
  const silentPort = await listen(silent);
  try {
    const d = new ProxyURLDialer({ direct: new DirectDialer({ lookup }), handshakeTimeoutMs: 200 });
    await assert.rejects(
      d.dial({ cluster: 'c', host: 'member.test', port: 1, proxyURL: `http://127.0.0.1:${String(silentPort)}` }),
      (e: unknown) =>
        e instanceof DialError &&
        e.kind === 'timeout' &&
        /proxyconnect tcp 127\.0\.0\.1:\d+: i\/o timeout/.test(e.message),
    );
  } finally {
    for (const h of held) h.destroy();
    await new Promise((r) => {
      silent.close(r);
    });
  }
  await assert.rejects(
    dialer().dial({ cluster: 'c', host: 'member.test', port: 1, proxyURL: 'ftp://127.0.0.1:21' }),
    (e: unknown) => e instanceof DialError && /scheme ftp: is not supported/.test(e.message),
  );
});
