import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCA } from '@cluster-gateway/sandbox';
import { GatewayError } from '../apiserver/errors.ts';
import type { UserInfo } from '../auth/types.ts';
import type { ExternalExchangeRequest } from './identity.ts';
import { displayURL, webhookURLProblem, WebhookIdentityExchanger } from './identity-webhook.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
const received: { method: string; url: string; headers: IncomingMessage['headers']; body: unknown }[] = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        // keep text
      }
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: parsed });
      handler(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const alice: UserInfo = {
  username: 'alice',
  uid: 'a-1',
  groups: ['dev', 'system:authenticated'],
  extra: { 'example.org/team': ['blue'] },
};

function req(over: Partial<ExternalExchangeRequest> = {}): ExternalExchangeRequest {
  return { url: `${base}/exchange`, rule: 'ext', cluster: 'c1', user: alice, ...over };
}

function answer(status: object, over: object = {}): Handler {
  return (_req, _body, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        apiVersion: 'cluster.core.oam.dev/v1alpha1',
        kind: 'ClusterGatewayIdentityExchange',
        status,
        ...over,
      }),
    );
  };
}

function fresh(o: ConstructorParameters<typeof WebhookIdentityExchanger>[0] = {}): WebhookIdentityExchanger {
  received.length = 0;
  return new WebhookIdentityExchanger({ timeoutMs: 500, ...o });
}

function is503(pattern: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof GatewayError, String(e));
    assert.equal(e.code, 503);
    assert.equal(e.reason, 'ServiceUnavailable');
    assert.match(
      e.message,
      /^identity exchange webhook of rule "ext" \(http:\/\/127\.0\.0\.1:\d+\/exchange\) failed for cluster "c1": /,
    );
    assert.match(e.message, pattern);
    return true;
  };
}

test('success: the request document and the mapped identity', async () => {
  const x = fresh();
  handler = answer({ user: 'ops', groups: ['ops', 'viewers'], uid: '42', extra: { reason: ['oncall'] } });
  const r = await x.exchange(req());
  assert.deepEqual(r, {
    privileged: false,
    identity: { user: 'ops', groups: ['ops', 'viewers'], uid: '42', extra: { reason: ['oncall'] } },
  });
  assert.equal(received.length, 1);
  const got = received[0]!;
  assert.equal(got.method, 'POST');
  assert.equal(got.url, '/exchange');
  assert.equal(got.headers['content-type'], 'application/json');
  assert.equal(got.headers.authorization, undefined);
  assert.deepEqual(got.body, {
    apiVersion: 'cluster.core.oam.dev/v1alpha1',
    kind: 'ClusterGatewayIdentityExchange',
    spec: {
      cluster: 'c1',
      rule: 'ext',
      user: {
        username: 'alice',
        uid: 'a-1',
        groups: ['dev', 'system:authenticated'],
        extra: { 'example.org/team': ['blue'] },
      },
    },
  });
  await x.close();
});

test('success: minimal identity, privileged, denied', async () => {
  const x = fresh({ cacheTTLMs: 0 });
  handler = answer({ user: 'ops' });
  assert.deepEqual(await x.exchange(req()), { privileged: false, identity: { user: 'ops', groups: [], extra: {} } });
  handler = answer({ privileged: true });
  assert.deepEqual(await x.exchange(req()), { privileged: true });
  handler = answer({ denied: true, reason: 'not on call' });
  await assert.rejects(x.exchange(req()), (e) => {
    assert.ok(e instanceof GatewayError);
    assert.equal(e.code, 403);
    assert.equal(e.reason, 'Forbidden');
    assert.equal(e.message, 'identity exchange rule "ext" denied user "alice" access to cluster "c1": not on call');
    return true;
  });
  await x.close();
});

test('cache: answers are reused per (url, rule, cluster, caller) until the TTL passes', async () => {
  let now = 1_000;
  const x = fresh({ cacheTTLMs: 30_000, now: () => now });
  handler = answer({ user: 'ops' });
  await x.exchange(req());
  await x.exchange(req());
  // group order does not make a different caller
  await x.exchange(req({ user: { ...alice, groups: [...alice.groups].reverse() } }));
  assert.equal(x.calls, 1);
  await x.exchange(req({ cluster: 'c2' }));
  await x.exchange(req({ user: { ...alice, groups: ['other'] } }));
  await x.exchange(req({ url: `${base}/exchange?v=2` }));
  await x.exchange(req({ rule: 'other-rule' }));
  assert.equal(x.calls, 5);
  now += 29_999;
  await x.exchange(req());
  assert.equal(x.calls, 5);
  now += 2;
  await x.exchange(req());
  assert.equal(x.calls, 6);
  await x.close();
});

test('single-flight: concurrent identical exchanges share one call', async () => {
  const x = fresh();
  handler = (_r, _b, res) => {
    setTimeout(() => {
      answer({ user: 'ops' })(_r, _b, res);
    }, 50);
  };
  const all = await Promise.all(Array.from({ length: 8 }, () => x.exchange(req())));
  assert.equal(x.calls, 1);
  for (const r of all) assert.deepEqual(r, { privileged: false, identity: { user: 'ops', groups: [], extra: {} } });
  await x.close();
});

test('single-flight: one caller giving up does not fail the others', async () => {
  const x = fresh();
  handler = (_r, _b, res) => {
    setTimeout(() => {
      answer({ user: 'ops' })(_r, _b, res);
    }, 80);
  };
  const ac = new AbortController();
  const leaving = x.exchange(req(), ac.signal);
  const staying = x.exchange(req());
  setTimeout(() => {
    ac.abort(new Error('client went away'));
  }, 10);
  await assert.rejects(leaving, /client went away/);
  assert.equal((await staying).privileged, false);
  assert.equal(x.calls, 1);
  await x.close();
});

const failures: { name: string; handler: Handler; want: RegExp; opts?: { maxResponseBytes?: number } }[] = [
  {
    name: 'timeout',
    handler: () => {
      // never answers
    },
    want: /no answer within 200ms$/,
  },
  {
    name: 'HTTP 500 with a Status body',
    handler: (_r, _b, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', message: 'database down' }));
    },
    want: /webhook answered HTTP 500: database down$/,
  },
  {
    name: 'HTTP 502 with an HTML body (not shown)',
    handler: (_r, _b, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    },
    want: /webhook answered HTTP 502$/,
  },
  {
    name: 'redirects are not followed',
    handler: (_r, _b, res) => {
      res.writeHead(307, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    },
    want: /webhook answered HTTP 307$/,
  },
  {
    name: 'bad JSON',
    handler: (_r, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status": ');
    },
    want: /answer is not JSON: /,
  },
  {
    name: 'schema: wrong kind',
    handler: answer({ user: 'ops' }, { kind: 'TokenReview' }),
    want: /answer is not a valid ClusterGatewayIdentityExchange: kind: /,
  },
  {
    name: 'schema: no status',
    handler: (_r, _b, res) => {
      res.end(JSON.stringify({ apiVersion: 'cluster.core.oam.dev/v1alpha1', kind: 'ClusterGatewayIdentityExchange' }));
    },
    want: /status: /,
  },
  {
    name: 'schema: no user',
    handler: answer({ groups: ['g'] }),
    want: /status\.user: required unless privileged or denied/,
  },
  { name: 'schema: groups of the wrong type', handler: answer({ user: 'u', groups: 'g' }), want: /status\.groups: / },
  {
    name: 'schema: privileged with an identity',
    handler: answer({ privileged: true, user: 'u' }),
    want: /a privileged answer must not carry an identity/,
  },
  {
    name: 'schema: header injection',
    handler: answer({ user: 'ops', groups: ['a\r\nImpersonate-User: root'] }),
    want: /status\.groups\.0: must not contain control characters/,
  },
  {
    name: 'oversized answer (streamed)',
    handler: (_r, _b, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":{"user":"');
      res.end(`${'x'.repeat(4096)}"}}`);
    },
    want: /answer exceeds the limit of 1024 bytes$/,
    opts: { maxResponseBytes: 1024 },
  },
  {
    name: 'oversized answer (declared)',
    handler: (_r, _b, res) => {
      const body = JSON.stringify({ status: { user: 'x'.repeat(4096) } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
    want: /answer of \d+ bytes exceeds the limit of 1024 bytes$/,
    opts: { maxResponseBytes: 1024 },
  },
];

for (const f of failures) {
  test(`failure → 503: ${f.name}`, async () => {
    const warned: object[] = [];
    const x = fresh({ timeoutMs: 200, ...f.opts, logger: { warn: (o) => warned.push(o) } });
    handler = f.handler;
    await assert.rejects(x.exchange(req()), is503(f.want));
    assert.equal(warned.length, 1);
    await x.close();
  });
}

test('failures are not cached', async () => {
  const x = fresh();
  handler = (_r, _b, res) => {
    res.writeHead(500);
    res.end();
  };
  await assert.rejects(x.exchange(req()), is503(/HTTP 500/));
  handler = answer({ user: 'ops' });
  assert.equal((await x.exchange(req())).privileged, false);
  assert.equal(x.calls, 2);
  await x.close();
});

test('connection refused → 503 naming the cause', async () => {
  const x = fresh();
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  await assert.rejects(x.exchange(req({ url: `http://127.0.0.1:${String(port)}/x` })), (e) => {
    assert.ok(e instanceof GatewayError);
    assert.equal(e.code, 503);
    assert.match(e.message, /request failed: ECONNREFUSED/);
    return true;
  });
  await x.close();
});

test('URLs: query and user info never appear in messages or logs', async () => {
  const warned: object[] = [];
  const x = fresh({ logger: { warn: (o) => warned.push(o) } });
  handler = (_r, _b, res) => {
    res.writeHead(500);
    res.end();
  };
  await assert.rejects(x.exchange(req({ url: `${base}/exchange?token=s3cr3t` })), (e) => {
    assert.ok(e instanceof GatewayError);
    assert.doesNotMatch(e.message, /s3cr3t/);
    return true;
  });
  assert.doesNotMatch(JSON.stringify(warned), /s3cr3t/);
  assert.equal(displayURL('https://u:p@h.example:8443/a/b?x=1#f'), 'https://h.example:8443/a/b');
  await x.close();
});

const urls: { url: string; ok: boolean; why?: RegExp }[] = [
  { url: 'https://exchanger.example/map', ok: true },
  { url: 'https://10.0.0.1:8443', ok: true },
  { url: 'http://127.0.0.1:5000/map', ok: true },
  { url: 'http://127.9.9.9', ok: true },
  { url: 'http://[::1]:5000', ok: true },
  { url: 'http://1.2.3.4:5000', ok: false, why: /http is allowed only for loopback/ },
  { url: 'http://localhost:5000', ok: false, why: /http is allowed only for loopback/ },
  { url: 'http://[::ffff:127.0.0.1]', ok: false, why: /loopback/ },
  { url: 'https://user:pw@exchanger.example', ok: false, why: /user info/ },
  { url: 'ftp://exchanger.example', ok: false, why: /scheme ftp is not supported/ },
  { url: 'exchanger.example/map', ok: false, why: /not a valid absolute URL/ },
];

for (const u of urls) {
  test(`url policy: ${u.url}`, () => {
    const p = webhookURLProblem(u.url);
    if (u.ok) assert.equal(p, undefined);
    else assert.match(p ?? '', u.why!);
  });
}

test('a refused URL answers 503 without calling anything', async () => {
  const x = fresh();
  await assert.rejects(x.exchange(req({ url: 'http://1.2.3.4:5000' })), (e) => {
    assert.ok(e instanceof GatewayError);
    assert.equal(e.code, 503);
    assert.match(e.message, /url refused: http is allowed only for loopback/);
    return true;
  });
  assert.equal(x.calls, 0);
  await x.close();
});

test('https: verified against the trusted roots (an unknown CA fails, an added CA works)', async () => {
  const ca = await createCA('webhook-ca');
  const pair = await ca.issue({
    commonName: 'webhook',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const https = createHttpsServer({ cert: pair.cert, key: pair.key }, (r, res) => {
    r.resume();
    r.on('end', () => {
      answer({ user: 'ops' })(r, '', res);
    });
  });
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  const url = `https://localhost:${String((https.address() as AddressInfo).port)}/map`;
  try {
    const untrusting = fresh();
    await assert.rejects(untrusting.exchange(req({ url })), (e) => {
      assert.ok(e instanceof GatewayError);
      assert.equal(e.code, 503);
      assert.match(e.message, /request failed: .*(certificate|CERT|SELF_SIGNED|UNABLE)/i);
      return true;
    });
    await untrusting.close();
    const trusting = fresh({ ca: [ca.cert] });
    assert.equal((await trusting.exchange(req({ url }))).privileged, false);
    await trusting.close();
  } finally {
    https.closeAllConnections();
    await new Promise((r) => https.close(r));
  }
});
