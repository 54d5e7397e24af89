// Tests of the proxy wire: forwarding over h2 with the front-proxy certificate, streaming and abort
// propagation, Go-worded failures (refused, unknown CA, wrong name), and byte-for-byte upgrades.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createCA } from '../pki/pki.ts';
import { Backends, goErrorText, type BackendTarget } from './backend.ts';
import { proxyRequestHeaders } from './headers.ts';
import { createFrontProxyPKI, type FrontProxyPKI } from './frontproxy.ts';
import { startTestBackend, RESOURCE_LIST, type TestBackend } from './test-backend.ts';

let fp: FrontProxyPKI;
let backend: TestBackend;
let otherCA: string;

before(async () => {
  fp = await createFrontProxyPKI('t');
  backend = await startTestBackend({ clientCA: fp.ca.cert });
  otherCA = (await createCA('unrelated')).cert;
});

after(async () => {
  await backend.close();
});

const user = { username: 'jane', groups: ['devs', 'system:authenticated'], extra: { scopes: ['a', 'b'] } };

function target(over: Partial<BackendTarget> = {}): BackendTarget {
  return {
    endpoint: { host: '127.0.0.1', port: backend.port },
    servername: 'example-api.default.svc',
    ca: backend.ca,
    insecure: false,
    ...over,
  };
}

/** A plain HTTP front that hands every request to `Backends`, as the cluster's interceptor does. */
async function front(b: Backends, t: () => BackendTarget): Promise<{ url: string; close(): Promise<void> }> {
  const srv = http.createServer((req, res) => {
    void b.forward('v1.example.test', t(), req, res, req.url ?? '/', proxyRequestHeaders(req.headers, user));
  });
  srv.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    b.upgrade(t(), req, socket, head, req.url ?? '/', proxyRequestHeaders(req.headers, user, { upgrade: true }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => {
          r();
        });
      }),
  };
}

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string }> {
  const r = await fetch(url, { headers });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

test('forwards over h2 with the front-proxy certificate and asserted user', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target());
  try {
    const r = await get(`${f.url}/apis/example.test/v1`, {
      authorization: 'Bearer secret',
      'x-remote-user': 'mallory',
    });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), RESOURCE_LIST);
    const s = backend.seen.at(-1)!;
    assert.equal(s.httpVersion, '2.0');
    assert.equal(s.authorized, true);
    assert.equal(s.clientCN, 'front-proxy-client');
    assert.equal(s.headers['x-remote-user'], 'jane');
    assert.equal(s.headers.authorization, undefined);
    assert.equal(s.headers['x-remote-extra-scopes'], 'a, b');
  } finally {
    await f.close();
    await b.close();
  }
});

test('streams request bodies upstream', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target());
  try {
    const r = await fetch(`${f.url}/apis/example.test/v1/echo`, {
      method: 'POST',
      body: 'x'.repeat(100_000),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(r.status, 201);
    assert.equal(((await r.json()) as { received: string }).received.length, 100_000);
  } finally {
    await f.close();
    await b.close();
  }
});

test('watch events are relayed as they come and a client abort closes the upstream watch', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target());
  try {
    const ac = new AbortController();
    const r = await fetch(`${f.url}/apis/example.test/v1/namespaces/default/widgets?watch=true`, { signal: ac.signal });
    assert.equal(r.status, 200);
    const reader = r.body!.getReader();
    let text = '';
    while (text.split('\n').length < 3) {
      const { value, done } = await reader.read();
      assert.equal(done, false);
      text += Buffer.from(value).toString('utf8');
    }
    assert.equal((JSON.parse(text.split('\n')[0]!) as { type: string }).type, 'ADDED');
    assert.equal(backend.openWatches(), 1);
    ac.abort();
    await reader.cancel().catch(() => undefined);
    for (let i = 0; i < 100 && backend.openWatches() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(backend.openWatches(), 0);
  } finally {
    await f.close();
    await b.close();
  }
});

test('failures are plain-text 503s in Go words', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) =>
    closed.close(() => {
      r();
    }),
  );
  const cases: { name: string; target: BackendTarget; status: number; body: RegExp }[] = [
    {
      name: 'connection refused',
      target: target({ endpoint: { host: '127.0.0.1', port: deadPort } }),
      status: 503,
      body: new RegExp(`^dial tcp 127\\.0\\.0\\.1:${deadPort}: connect: connection refused\\n$`),
    },
    {
      name: 'caBundle mismatch',
      target: target({ ca: otherCA }),
      status: 503,
      body: /^tls: failed to verify certificate: x509: certificate signed by unknown authority\n$/,
    },
    {
      name: 'wrong service name',
      target: target({ servername: 'other.default.svc' }),
      status: 503,
      body: /^tls: failed to verify certificate: x509: certificate is valid for example-api\.default\.svc, localhost, not other\.default\.svc\n$/,
    },
    {
      name: 'insecureSkipTLSVerify ignores the CA',
      target: target({ ca: '', insecure: true }),
      status: 200,
      body: /APIResourceList/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const b = new Backends(() => fp.client);
      const f = await front(b, () => c.target);
      try {
        const r = await get(`${f.url}/apis/example.test/v1`);
        assert.equal(r.status, c.status);
        assert.match(r.body, c.body);
        if (c.status === 503) assert.equal(r.type, 'text/plain; charset=utf-8');
      } finally {
        await f.close();
        await b.close();
      }
    });
  }
});

function rawUpgrade(url: string, path: string, payload: Buffer): Promise<Buffer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => {
      s.write(
        `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nAuthorization: Bearer nope\r\n\r\n`,
      );
    });
    const chunks: Buffer[] = [];
    let sent = false;
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end !== -1 && !sent) {
        sent = true;
        if (all.subarray(0, 12).toString() === 'HTTP/1.1 101') s.write(payload);
        else s.end();
      }
      if (sent && all.length >= end + 4 + payload.length) s.end();
    });
    s.on('close', () => {
      resolve(Buffer.concat(chunks));
    });
    s.on('error', reject);
  });
}

test('upgrades are relayed byte for byte; error answers are relayed as they are', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target());
  try {
    const payload = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
    const out = await rawUpgrade(
      f.url,
      '/apis/example.test/v1/namespaces/default/widgets/alpha/exec?command=sh',
      payload,
    );
    const end = out.indexOf('\r\n\r\n');
    assert.match(out.subarray(0, end).toString(), /^HTTP\/1\.1 101 Switching Protocols/);
    assert.deepEqual(out.subarray(end + 4), payload);
    const s = backend.seen.at(-1)!;
    assert.equal(s.headers.upgrade, 'SPDY/3.1');
    assert.equal(s.headers['x-remote-user'], 'jane');
    assert.equal(s.headers.authorization, undefined);
    assert.equal(s.clientCN, 'front-proxy-client');

    const notFound = await rawUpgrade(f.url, '/apis/example.test/v1/nothing', Buffer.alloc(0));
    assert.match(notFound.toString(), /^HTTP\/1\.1 404 Not Found/);
  } finally {
    await f.close();
    await b.close();
  }
});

test('an upgrade to an unreachable backend is a 503', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target({ ca: otherCA }));
  try {
    const out = (
      await rawUpgrade(f.url, '/apis/example.test/v1/namespaces/default/widgets/a/exec', Buffer.alloc(0))
    ).toString();
    assert.match(out, /^HTTP\/1\.1 503 Service Unavailable/);
    assert.match(out, /certificate signed by unknown authority\n$/);
  } finally {
    await f.close();
    await b.close();
  }
});

test('goErrorText', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), {
    code: 'ECONNREFUSED',
    address: '10.0.0.1',
    port: 443,
  });
  const cases: [unknown, string][] = [
    [refused, 'dial tcp 10.0.0.1:443: connect: connection refused'],
    [
      new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED', address: '::1', port: 8443 })]),
      'dial tcp [::1]:8443: connect: connection refused',
    ],
    [
      Object.assign(new Error('getaddrinfo ENOTFOUND nope.invalid'), { code: 'ENOTFOUND', hostname: 'nope.invalid' }),
      'dial tcp: lookup nope.invalid: no such host',
    ],
    [
      Object.assign(new Error('wrapped'), { code: 'UND_ERR_X', cause: refused }),
      'dial tcp 10.0.0.1:443: connect: connection refused',
    ],
    [new Error('something else'), 'something else'],
    ['not an error', 'not an error'],
  ];
  for (const [e, want] of cases) assert.equal(goErrorText(e), want);
});

test('no sockets stay open after close', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target());
  await get(`${f.url}/apis/example.test/v1`);
  await f.close();
  await b.close();
  // the backend's side of each connection closes once it sees ours go
  const tlsSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TLSWRAP').length;
  for (let i = 0; i < 50 && tlsSockets() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(tlsSockets(), 0);
});
