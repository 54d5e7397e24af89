// The proxy handler against real TLS members on port 0 (node https servers with a test CA), driven
// through a plain HTTP front that builds the RequestContext the gateway server would. Covers the
// upstream TestProxyHandler cases, credentials, identity headers, streaming and aborts, errors with
// their status codes, pools and eviction, upgrades, proxy-url egress and the audit line.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Writable, type Duplex } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createCA, type CertificateAuthority, type KeyPair } from '@cluster-gateway/sandbox';
import { parseRequestInfo } from '../auth/request-attributes.ts';
import type { UserInfo } from '../auth/types.ts';
import { createMetrics, type Metrics } from '../observability/metrics.ts';
import type { ClusterEvent } from '../registry/cache.ts';
import type { Cluster, Credential, InvalidCluster } from '../registry/types.ts';
import type { IssuedCredential } from '../registry/exec-credential.ts';
import { parseCidr } from '../config/cidr.ts';
import { DirectDialer } from '../egress/direct.ts';
import type { Dialer } from '../egress/types.ts';
import type { RequestContext } from '../apiserver/server.ts';
import type { IdentityResolver, Impersonation } from './identity-types.ts';
import {
  createProxyHandler,
  noImpersonation,
  type ClusterLookup,
  type GatewayProxyHandler,
  type ProxyHandlerConfig,
} from './handler.ts';

const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const USER: UserInfo = { username: 'alice', groups: ['dev', 'system:authenticated'] };

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  cn: string | undefined;
}

let ca: CertificateAuthority;
let otherCA: CertificateAuthority;
let client: KeyPair;
let member: https.Server;
let memberPort: number;
let ipOnlyMember: https.Server;
let ipOnlyPort: number;
const seen: Seen[] = [];
const memberSockets = new Set<net.Socket>();
let route: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => {
  res.end('{}');
};

function recordReq(req: http.IncomingMessage): void {
  const peer = (req.socket as tls.TLSSocket).getPeerCertificate();
  seen.push({
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    cn: peer.subject?.CN as string | undefined,
  });
}

async function listen(s: net.Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

before(async () => {
  ca = await createCA('member-ca');
  otherCA = await createCA('other-ca');
  client = await ca.issue({ commonName: 'gateway-client', organizations: ['system:masters'], usage: 'client' });
  const serving = await ca.issue({
    commonName: 'member',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  member = https.createServer(
    { cert: serving.cert, key: serving.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      recordReq(req);
      route(req, res);
    },
  );
  member.on('connection', (s: net.Socket) => {
    memberSockets.add(s);
    s.on('close', () => memberSockets.delete(s));
  });
  member.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    recordReq(req);
    socket.on('error', () => undefined);
    if (req.headers.upgrade !== 'test-echo') {
      const body = JSON.stringify({ kind: 'Status', code: 400, message: 'Upgrade request required' });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${String(body.length)}\r\n\r\n${body}`,
      );
      return;
    }
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test-echo\r\n\r\nwelcome;');
    if (head.length) socket.write(head);
    socket.pipe(socket);
  });
  memberPort = await listen(member);
  const ipOnly = await ca.issue({ commonName: 'ip-only', ipAddresses: ['127.0.0.1'], usage: 'server' });
  ipOnlyMember = https.createServer({ cert: ipOnly.cert, key: ipOnly.key }, (_req, res) => res.end('ip'));
  ipOnlyPort = await listen(ipOnlyMember);
});

after(async () => {
  for (const s of memberSockets) s.destroy();
  member.closeAllConnections();
  ipOnlyMember.closeAllConnections();
  await new Promise((r) => member.close(r));
  await new Promise((r) => ipOnlyMember.close(r));
});

function cluster(name: string, over: Partial<Cluster['endpoint']> = {}, credential?: Credential | null): Cluster {
  return {
    name,
    uid: randomUUID(),
    creationTimestamp: '2026-01-01T00:00:00Z',
    resourceVersion: '1',
    labels: {},
    annotations: {},
    endpoint: {
      type: 'Const',
      address: `https://127.0.0.1:${String(memberPort)}`,
      caBundle: Buffer.from(ca.cert),
      insecure: false,
      proxyURL: undefined,
      ...over,
    },
    credential:
      credential === null
        ? undefined
        : (credential ?? {
            type: 'X509Certificate',
            certificate: Buffer.from(client.cert),
            privateKey: Buffer.from(client.key),
          }),
    healthy: true,
    healthyReason: undefined,
    exchangeRules: [],
    warnings: [],
    source: { secretResourceVersion: '1' },
  };
}

class FakeCache implements ClusterLookup {
  readonly clusters = new Map<string, Cluster>();
  readonly invalids = new Map<string, InvalidCluster>();
  readonly listeners = new Set<(ev: ClusterEvent) => void>();
  resourceVersion = 1;
  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }
  invalid(name: string): InvalidCluster | undefined {
    return this.invalids.get(name);
  }
  hasSynced(): boolean {
    return true;
  }
  watch(_rv: number, l: (ev: ClusterEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  set(c: Cluster): void {
    const previous = this.clusters.get(c.name);
    this.clusters.set(c.name, c);
    for (const l of this.listeners)
      l({ type: previous ? 'MODIFIED' : 'ADDED', cluster: c, previous, rv: ++this.resourceVersion });
  }
}

class FakeExec {
  issued: IssuedCredential = { token: 'exec-token-1' };
  invalidated: string[] = [];
  fail: Error | undefined;
  runs = 0;
  get(): Promise<IssuedCredential> {
    this.runs++;
    return this.fail ? Promise.reject(this.fail) : Promise.resolve(this.issued);
  }
  invalidate(name: string): void {
    this.invalidated.push(name);
  }
}

interface Front {
  url: string;
  port: number;
  proxy: GatewayProxyHandler;
  cache: FakeCache;
  exec: FakeExec;
  metrics: Metrics;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

async function front(
  opts: {
    config?: Partial<ProxyHandlerConfig>;
    identity?: IdentityResolver;
    konnectivity?: Dialer;
    dialers?: { direct?: Dialer; proxyURL?: Dialer };
  } = {},
): Promise<Front> {
  const cache = new FakeCache();
  const exec = new FakeExec();
  const metrics = createMetrics({ processMetrics: false });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const proxy = createProxyHandler({
    cache,
    identity: opts.identity ?? noImpersonation,
    metrics,
    logger,
    config: { timeoutMs: 0, ...opts.config },
    execCredentials: exec,
    konnectivity: opts.konnectivity,
    ...(opts.dialers ? { dialers: opts.dialers } : {}),
  });
  const ctxOf = (req: http.IncomingMessage, signal: AbortSignal): RequestContext => {
    const url = new URL(req.url ?? '/', 'https://gateway.invalid');
    const requestId = randomUUID();
    return {
      requestId,
      url,
      info: parseRequestInfo(req.method ?? 'GET', url),
      user: USER,
      log: logger.child({ requestId, user: USER.username }),
      signal,
    };
  };
  const sockets = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    const ac = new AbortController();
    res.on('close', () => {
      ac.abort();
    });
    void proxy.handle(ctxOf(req, ac.signal), req, res);
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const ac = new AbortController();
    socket.on('close', () => {
      ac.abort();
    });
    void proxy.upgrade(ctxOf(req, ac.signal), req, socket, head);
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${String(port)}`,
    port,
    proxy,
    cache,
    exec,
    metrics,
    logs,
    async close() {
      await proxy.close();
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(
  f: Front,
  path: string,
  o: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${f.url}${path}`,
      { method: o.method ?? 'GET', headers: o.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const P = (c: string, rest = ''): string => `${GV}/clustergateways/${c}/proxy${rest}`;

test('upstream TestProxyHandler: normal proxy, sub-path, __dryRun round trip, unknown cluster', async () => {
  const f = await front();
  try {
    f.cache.set(cluster('c1'));
    f.cache.set(cluster('sub', { address: `https://127.0.0.1:${String(memberPort)}/extra` }));
    route = (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url }));
    };
    seen.length = 0;
    const normal = await get(f, P('c1', '/api/v1/namespaces'));
    assert.equal(normal.status, 200);
    assert.deepEqual(JSON.parse(normal.body), { path: '/api/v1/namespaces' });
    const sub = await get(f, P('sub', '/foo'));
    assert.deepEqual(JSON.parse(sub.body), { path: '/extra/foo' });
    const dry = await get(f, P('c1', '/api/v1/namespaces/default/configmaps?__dryRun=All&fieldValidation=Strict'), {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.deepEqual(JSON.parse(dry.body), {
      path: '/api/v1/namespaces/default/configmaps?dryRun=All&fieldValidation=Strict',
    });
    assert.equal(seen.at(-1)?.method, 'POST');
    const unknown = await get(f, P('nope', '/api'));
    assert.equal(unknown.status, 404);
    const st = JSON.parse(unknown.body) as { kind: string; reason: string; message: string };
    assert.equal(st.kind, 'Status');
    assert.equal(st.reason, 'NotFound');
    assert.match(st.message, /no such cluster nope/);
  } finally {
    await f.close();
  }
});

test('credentials: client certificate, bearer token, Dynamic exec (401 invalidates it); caller token never passes', async () => {
  const f = await front();
  try {
    route = (req, res) => {
      res.statusCode = req.headers.authorization === 'Bearer exec-token-1' ? 401 : 200;
      res.end('ok');
    };
    f.cache.set(cluster('x509'));
    f.cache.set(cluster('token', {}, { type: 'ServiceAccountToken', token: 'sa-token' }));
    f.cache.set(
      cluster('dyn', {}, { type: 'Dynamic', exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x' } }),
    );
    f.cache.set(cluster('none', {}, null));
    seen.length = 0;
    const h = { authorization: 'Bearer caller-token', 'x-remote-user': 'mallory', 'impersonate-user': 'root' };
    assert.equal((await get(f, P('x509', '/api'), { headers: h })).status, 200);
    assert.equal((await get(f, P('token', '/api'), { headers: h })).status, 200);
    assert.equal((await get(f, P('dyn', '/api'), { headers: h })).status, 401);
    assert.deepEqual(f.exec.invalidated, ['dyn']);
    assert.deepEqual(
      seen.map((s) => [
        s.cn ?? '',
        s.headers.authorization ?? '',
        s.headers['x-remote-user'] ?? '',
        s.headers['impersonate-user'] ?? '',
      ]),
      [
        ['gateway-client', '', '', ''],
        ['', 'Bearer sa-token', '', ''],
        ['', 'Bearer exec-token-1', '', ''],
      ],
    );
    const none = await get(f, P('none', '/api'));
    assert.equal(none.status, 500);
    assert.match(none.body, /proxying cluster none not support due to lacking credentials/);
    f.exec.fail = new Error('exec: executable kubelogin not found');
    const failed = await get(f, P('dyn', '/api'));
    assert.equal(failed.status, 503);
    assert.match(
      failed.body,
      /cannot get credentials for cluster \\"dyn\\": getting credentials: exec: executable kubelogin not found/,
    );
    assert.ok(!JSON.stringify(f.logs).includes('sa-token'), 'tokens are never logged');
    assert.ok(!JSON.stringify(f.logs).includes('caller-token'));
  } finally {
    await f.close();
  }
});

test('identity from the resolver: one Impersonate-Group line per group, escaped extra keys; ?impersonate passed in', async () => {
  const asked: boolean[] = [];
  const imp: Impersonation = { user: 'alice', groups: ['dev', 'ops'], extra: { 'example.com/scope': ['a', 'b'] } };
  const identity: IdentityResolver = {
    resolve(_u, _c, requested) {
      asked.push(requested);
      return Promise.resolve({ impersonate: imp, rule: 'default', source: 'default' });
    },
  };
  const f = await front({ identity });
  try {
    route = (_req, res) => res.end('ok');
    f.cache.set(cluster('c1'));
    seen.length = 0;
    await get(f, P('c1', '/api/v1/pods?impersonate=true&limit=1'));
    await get(f, P('c1', '/api/v1/pods'));
    assert.deepEqual(asked, [true, false]);
    assert.equal(seen[0]!.url, '/api/v1/pods?limit=1');
    const pairs: string[] = [];
    for (let i = 0; i < seen[0]!.rawHeaders.length; i += 2) {
      const n = seen[0]!.rawHeaders[i]!;
      if (n.toLowerCase().startsWith('impersonate-')) pairs.push(`${n}: ${seen[0]!.rawHeaders[i + 1]!}`);
    }
    assert.deepEqual(pairs, [
      'Impersonate-User: alice',
      'Impersonate-Group: dev',
      'Impersonate-Group: ops',
      'Impersonate-Extra-example.com%2Fscope: a',
      'Impersonate-Extra-example.com%2Fscope: b',
    ]);
    const line = f.logs.find((l) => l.msg === 'proxy');
    assert.deepEqual(line?.impersonated, { user: 'alice', groups: ['dev', 'ops'] });
    assert.equal(line?.user, 'alice');
  } finally {
    await f.close();
  }
});

test('streams: chunks are flushed as they come, the client abort reaches the member, no timeout for watches', async () => {
  const f = await front({ config: { timeoutMs: 300 } });
  try {
    f.cache.set(cluster('c1'));
    let memberReqClosed!: () => void;
    const closed = new Promise<void>((r) => (memberReqClosed = r));
    let writeSecond!: () => void;
    route = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
      writeSecond = () => res.write('{"type":"MODIFIED"}\n');
      res.on('close', () => {
        memberReqClosed();
      });
      req.resume();
    };
    const chunks: string[] = [];
    const req = http.get(`${f.url}${P('c1', '/api/v1/pods?watch=1')}`, { agent: false });
    const res = await new Promise<http.IncomingMessage>((r) => req.on('response', r));
    assert.equal(res.statusCode, 200);
    await new Promise<void>((resolve) => {
      res.on('data', (c: Buffer) => {
        chunks.push(c.toString());
        if (chunks.length === 1) {
          // past --proxy-timeout: a watch is never cut
          setTimeout(() => {
            writeSecond();
          }, 500);
        } else resolve();
      });
    });
    assert.deepEqual(chunks, ['{"type":"ADDED"}\n', '{"type":"MODIFIED"}\n']);
    req.destroy();
    await closed;
    await until(() => f.logs.some((l) => l.msg === 'proxy'));
    const line = f.logs.find((l) => l.msg === 'proxy')!;
    assert.equal(line.status, 200);
    assert.equal(line.outcome, 'client closed');
    assert.equal(line.bytesOut, 37);
  } finally {
    await f.close();
  }
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('drain(): watches end cleanly at the next event boundary, logs -f at once, other streams go on', async () => {
  const cases: {
    name: string;
    path: string;
    /** what the member sends before the drain, and after it */
    before: string;
    after?: string;
    /** drain before the request is made */
    early?: boolean;
    /** what the client receives, or 'still open' */
    want: string;
  }[] = [
    { name: 'idle watch', path: '/api/v1/pods?watch=1', before: '{"type":"ADDED"}\n', want: '{"type":"ADDED"}\n' },
    {
      name: 'watch in the middle of an event',
      path: '/api/v1/pods?watch=1',
      before: '{"type":"ADDED"}\n{"type":"MOD',
      after: 'IFIED"}\n{"type":"DELETED"}\n',
      want: '{"type":"ADDED"}\n{"type":"MODIFIED"}\n',
    },
    {
      name: 'logs -f mid-line',
      path: '/api/v1/namespaces/d/pods/p/log?follow=true',
      before: 'half a li',
      want: 'half a li',
    },
    { name: 'watch opened after the drain started', path: '/api/v1/pods?watch=1', before: '', early: true, want: '' },
    {
      name: 'service proxy stream',
      path: '/api/v1/namespaces/d/services/s/proxy/x',
      before: 'data',
      want: 'still open',
    },
  ];
  for (const c of cases) {
    const f = await front();
    try {
      f.cache.set(cluster('c1'));
      let memberClosed = false;
      let sendAfter!: () => void;
      route = (req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(c.before);
        sendAfter = () => res.write(c.after ?? '');
        res.on('close', () => (memberClosed = true));
        req.resume();
      };
      if (c.early) f.proxy.drain?.();
      let body = '';
      let ended: 'clean' | 'error' | undefined;
      const req = http.get(`${f.url}${P('c1', c.path)}`, { agent: false }, (res) => {
        res.setEncoding('latin1');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (ended ??= 'clean'));
        res.on('error', () => (ended ??= 'error'));
        res.on('aborted', () => (ended ??= 'error'));
      });
      req.on('error', () => (ended ??= 'error'));
      if (!c.early) {
        await until(() => body.length >= c.before.length && c.before.length > 0);
        f.proxy.drain?.();
        await sleep(50);
        sendAfter();
      }
      if (c.want === 'still open') {
        await sleep(300);
        assert.equal(ended, undefined, c.name);
        assert.equal(memberClosed, false, c.name);
        req.destroy();
        continue;
      }
      await until(() => ended !== undefined);
      assert.equal(ended, 'clean', c.name);
      assert.equal(body, c.want, c.name);
      // the member request is aborted, and the audit line records a normal end
      await until(() => memberClosed);
      await until(() => f.logs.some((l) => l.msg === 'proxy'));
      const line = f.logs.find((l) => l.msg === 'proxy')!;
      assert.equal(line.status, 200, c.name);
      assert.equal(line.outcome, 'drained', c.name);
      assert.equal(line.bytesOut, c.want.length, c.name);
    } finally {
      await f.close();
    }
  }
});

test('a member failing mid-stream ends the client response abnormally', async () => {
  const f = await front();
  try {
    f.cache.set(cluster('c1'));
    route = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items":[');
      setTimeout(() => res.socket?.destroy(), 50);
    };
    const outcome = await new Promise<string>((resolve) => {
      http
        .get(`${f.url}${P('c1', '/api/v1/pods')}`, { agent: false }, (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            resolve('clean end');
          });
          res.on('error', () => {
            resolve('error');
          });
          res.on('aborted', () => {
            resolve('aborted');
          });
        })
        .on('error', () => {
          resolve('error');
        });
    });
    assert.notEqual(outcome, 'clean end');
  } finally {
    await f.close();
  }
});

test('gzip, status and headers pass through untouched; redirects are not followed; bodies stream up', async () => {
  const f = await front();
  try {
    f.cache.set(cluster('c1'));
    const gz = gzipSync(Buffer.from('{"kind":"PodList"}'));
    route = (req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'https://elsewhere.example/' });
        res.end();
        return;
      }
      if (req.method === 'PUT') {
        let n = 0;
        req.on('data', (c: Buffer) => (n += c.length));
        req.on('end', () => res.end(String(n)));
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'x-custom': 'v',
        'audit-id': 'a1',
      });
      res.end(gz);
    };
    const r = await get(f, P('c1', '/api/v1/pods'), { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['x-custom'], 'v');
    assert.deepEqual(Buffer.from(r.body, 'latin1'), gz);
    assert.equal(seen.at(-1)?.headers['accept-encoding'], 'gzip');
    const redirect = await get(f, P('c1', '/redirect'));
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.location, 'https://elsewhere.example/');
    const big = 'x'.repeat(5 * 1024 * 1024);
    const put = await get(f, P('c1', '/api/v1/namespaces/d/configmaps/x'), { method: 'PUT', body: big });
    assert.equal(put.body, String(big.length));
    const line = f.logs.filter((l) => l.msg === 'proxy').at(-1)!;
    assert.equal(line.bytesIn, big.length);
  } finally {
    await f.close();
  }
});

test('backend failures: refused 503, unknown CA and wrong name 502, timeout 504, policy 403, endpoint problems', async () => {
  const closed = net.createServer();
  const deadPort = await listen(closed);
  await new Promise((r) => closed.close(r));
  const denied = parseCidr('10.99.0.0/16');
  if (!denied.ok) throw new Error(denied.error);
  const f = await front({ config: { timeoutMs: 300, deniedEndpointCidrs: [denied.cidr] } });
  try {
    route = (req, res) => {
      if (req.url === '/hang') return;
      res.end('ok');
    };
    f.cache.set(cluster('dead', { address: `https://127.0.0.1:${String(deadPort)}` }));
    f.cache.set(cluster('wrong-ca', { caBundle: Buffer.from(otherCA.cert) }));
    f.cache.set(cluster('wrong-name', { address: `https://localhost:${String(ipOnlyPort)}` }));
    f.cache.set(cluster('ip-ok', { address: `https://127.0.0.1:${String(ipOnlyPort)}` }));
    f.cache.set(cluster('meta', { address: 'https://10.99.1.1:443' }));
    f.cache.set(cluster('cp', { type: 'ClusterProxy', address: 'https://cp' }));
    f.cache.set(cluster('odd', { type: 'Carrier-Pigeon' }));
    f.cache.invalids.set('broken', {
      name: 'broken',
      reason: 'missing secret data key: endpoint',
      secretResourceVersion: '1',
    });
    const cases: [string, string, number, RegExp][] = [
      [
        'dead',
        '/api',
        503,
        /error trying to reach cluster \\"dead\\": dial tcp 127\.0\.0\.1:\d+: connect: connection refused/,
      ],
      ['wrong-ca', '/api', 502, /x509: certificate signed by unknown authority/],
      ['wrong-name', '/api', 502, /x509: certificate is not valid for localhost/],
      ['c-timeout', '/hang', 504, /did not answer in time/],
      ['meta', '/api', 403, /address 10\.99\.1\.1 is in the denied endpoint range 10\.99\.0\.0\/16/],
      ['cp', '/api', 503, /Konnectivity \(ClusterProxy\), which is not configured on this gateway \(--proxy-host\)/],
      ['odd', '/api', 501, /unsupported endpoint type \\"Carrier-Pigeon\\"/],
      ['broken', '/api', 500, /cluster \\"broken\\" is misconfigured: missing secret data key: endpoint/],
    ];
    f.cache.set(cluster('c-timeout'));
    for (const [name, path, code, re] of cases) {
      const t0 = Date.now();
      const r = await get(f, P(name, path));
      assert.equal(r.status, code, `${name}: ${r.body}`);
      assert.match(r.body, re, name);
      assert.equal((JSON.parse(r.body) as { kind: string }).kind, 'Status');
      assert.ok(Date.now() - t0 < 5000, `${name} answered fast`);
    }
    assert.equal((await get(f, P('ip-ok', '/'))).body, 'ip');
    const text = await f.metrics.render();
    assert.match(text, /ocm_proxy_proxied_requests_by_cluster_total\{cluster="dead",code="503"\} 1/);
    assert.match(text, /ocm_proxy_proxied_requests_by_cluster_total\{cluster="wrong-ca",code="502"\} 1/);
    assert.match(text, /ocm_proxy_proxied_requests_by_cluster_total\{cluster="c-timeout",code="504"\} 1/);
    const warn = f.logs.find((l) => l.msg === 'proxy' && l.cluster === 'dead');
    assert.equal(warn?.level, 40);
  } finally {
    await f.close();
  }
});

test('an insecure cluster works and carries the Warning header', async () => {
  const f = await front();
  try {
    route = (_req, res) => {
      res.setHeader('warning', '299 - "member warning"');
      res.end('ok');
    };
    f.cache.set(cluster('insecure', { caBundle: undefined, insecure: true }));
    const r = await get(f, P('insecure', '/api'));
    assert.equal(r.status, 200);
    assert.equal(
      r.headers.warning,
      '299 - "member warning", 299 - "cluster insecure has no CA bundle: TLS verification is disabled"',
    );
  } finally {
    await f.close();
  }
});

test('one keep-alive pool per cluster and credential; a Secret change replaces it', async () => {
  const f = await front();
  try {
    route = (_req, res) => res.end('ok');
    const c1 = cluster('c1');
    f.cache.set(c1);
    for (let i = 0; i < 3; i++) assert.equal((await get(f, P('c1', '/api'))).status, 200);
    let text = await f.metrics.render();
    assert.match(text, /cluster_gateway_proxy_connections_opened_total\{cluster="c1"\} 1/);
    assert.match(text, /cluster_gateway_proxy_connections_reused_total\{cluster="c1"\} 2/);
    assert.equal(f.proxy.transports.size, 1);
    // the Secret changes (new credential): the pool goes, the next request dials again
    f.cache.set(cluster('c1', {}, { type: 'ServiceAccountToken', token: 'rotated' }));
    assert.equal(f.proxy.transports.size, 0);
    assert.equal((await get(f, P('c1', '/api'))).status, 200);
    text = await f.metrics.render();
    assert.match(text, /cluster_gateway_proxy_connections_opened_total\{cluster="c1"\} 2/);
    assert.equal(seen.at(-1)?.headers.authorization, 'Bearer rotated');
  } finally {
    await f.close();
  }
});

/** A raw upgrade request to the front; resolves with the head and whatever follows. */
function upgrade(f: Front, path: string, protocol: string, send: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(f.port, '127.0.0.1', () => {
      s.write(
        `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\nAuthorization: Bearer caller\r\n\r\n${send}`,
      );
    });
    let got = '';
    s.on('data', (b: Buffer) => {
      got += b.toString();
      if (got.endsWith(send) && got.includes('101')) {
        s.end();
      }
    });
    s.on('close', () => {
      resolve(got);
    });
    s.on('error', reject);
  });
}

test('upgrades: 101 joins the sockets byte for byte; other answers are relayed; failures are Status responses', async () => {
  const f = await front();
  try {
    f.cache.set(cluster('c1', {}, { type: 'ServiceAccountToken', token: 'sa' }));
    f.cache.set(cluster('insecure', { caBundle: undefined, insecure: true }));
    const closed = net.createServer();
    const deadPort = await listen(closed);
    await new Promise((r) => closed.close(r));
    f.cache.set(cluster('dead', { address: `https://127.0.0.1:${String(deadPort)}` }));
    seen.length = 0;
    const ok = await upgrade(f, P('c1', '/api/v1/namespaces/d/pods/p/exec?command=sh'), 'test-echo', 'hello-member');
    assert.match(ok, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(ok, /\r\n\r\nwelcome;hello-member$/);
    assert.equal(seen.at(-1)?.headers.authorization, 'Bearer sa');
    assert.equal(seen.at(-1)?.url, '/api/v1/namespaces/d/pods/p/exec?command=sh');
    const warned = await upgrade(f, P('insecure', '/x'), 'test-echo', 'w');
    assert.match(warned, /\r\nWarning: 299 - "cluster insecure has no CA bundle: TLS verification is disabled"\r\n/);
    const refused = await upgrade(f, P('c1', '/api/v1/namespaces/d/pods/p/exec'), 'SPDY/3.1', '');
    assert.match(refused, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(refused, /Upgrade request required/);
    const dead = await upgrade(f, P('dead', '/x'), 'test-echo', '');
    assert.match(dead, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(dead, /connection refused/);
    const escape = await upgrade(f, P('c1', '/api/v1/..%2F..'), 'test-echo', '');
    assert.match(escape, /^HTTP\/1\.1 400 /);
    await until(() => f.logs.filter((l) => l.msg === 'proxy' && l.upgrade === true).length === 5);
    const lines = f.logs.filter((l) => l.msg === 'proxy' && l.upgrade === true);
    assert.deepEqual(
      lines.map((l) => l.status),
      [101, 101, 400, 503, 400],
    );
  } finally {
    await f.close();
  }
});

test('Konnectivity (ClusterProxy): dialled through the given Dialer, chain verified, name not', async () => {
  const dials: string[] = [];
  const konnectivity: Dialer = {
    dial(target) {
      dials.push(`${target.cluster} ${target.host}:${String(target.port)}`);
      return new DirectDialer().dial({ ...target, host: '127.0.0.1', port: memberPort });
    },
  };
  const f = await front({ konnectivity });
  try {
    route = (req, res) => res.end(String(req.headers.host));
    f.cache.set(cluster('cp-1', { type: 'ClusterProxy', address: 'https://cp-1' }));
    const r = await get(f, P('cp-1', '/api'));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'cp-1');
    assert.deepEqual(dials, ['cp-1 cp-1:443']);
    f.cache.set(
      cluster('cp-2', { type: 'ClusterProxy', address: 'https://cp-2', caBundle: Buffer.from(otherCA.cert) }),
    );
    assert.equal((await get(f, P('cp-2', '/api'))).status, 502);
  } finally {
    await f.close();
  }
});

test('proxy-url egress for normal and upgrade requests', async () => {
  const tunnels: string[] = [];
  const held = new Set<Duplex>();
  const proxy = http.createServer();
  proxy.on('connect', (req: http.IncomingMessage, c: Duplex) => {
    held.add(c);
    tunnels.push(req.url ?? '');
    const up = net.connect(memberPort, '127.0.0.1', () => {
      c.write('HTTP/1.1 200 OK\r\n\r\n');
      up.pipe(c);
      c.pipe(up);
    });
    held.add(up);
    c.on('close', () => up.destroy());
    up.on('close', () => c.destroy());
  });
  const proxyPort = await listen(proxy);
  const f = await front();
  try {
    route = (_req, res) => res.end('via proxy');
    f.cache.set(cluster('px', { proxyURL: `http://127.0.0.1:${String(proxyPort)}` }));
    assert.equal((await get(f, P('px', '/api'))).body, 'via proxy');
    const up = await upgrade(f, P('px', '/exec'), 'test-echo', 'tunnelled');
    assert.match(up, /welcome;tunnelled$/);
    assert.deepEqual(tunnels, [`127.0.0.1:${String(memberPort)}`, `127.0.0.1:${String(memberPort)}`]);
  } finally {
    await f.close();
    for (const h of held) h.destroy();
    await new Promise((r) => proxy.close(r));
  }
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
