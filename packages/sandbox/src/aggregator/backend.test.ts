// Tests of the proxy wire: forwarding over h2 (node:http2) or, when the backend does not offer h2,
// HTTP/1.1 with the front-proxy certificate; repeated identity headers kept as separate fields;
// streaming, flow control and abort propagation both ways; reconnecting after GOAWAY or a dropped
// connection; Go-worded failures (refused, unknown CA, wrong name); byte-for-byte upgrades.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createCA } from '../pki/pki.ts';
import { Backends, goErrorText, type BackendTarget } from './backend.ts';
import { proxyRequestHeaders } from './headers.ts';
import type { UserInfo } from '../api/types.ts';
import { createFrontProxyPKI, type FrontProxyPKI } from './frontproxy.ts';
import { startTestBackend, RESOURCE_LIST, type TestBackend } from './test-backend.ts';

let fp: FrontProxyPKI;
let backend: TestBackend;
/** the same apiserver without h2 in ALPN */
let backend1: TestBackend;
let otherCA: string;

before(async () => {
  fp = await createFrontProxyPKI('t');
  backend = await startTestBackend({ clientCA: fp.ca.cert });
  backend1 = await startTestBackend({ clientCA: fp.ca.cert, http1Only: true });
  otherCA = (await createCA('unrelated')).cert;
});

after(async () => {
  await backend.close();
  await backend1.close();
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

function targetOf(be: TestBackend): BackendTarget {
  return target({ endpoint: { host: '127.0.0.1', port: be.port }, ca: be.ca });
}

/** A plain HTTP front that hands every request to `Backends`, as the cluster's interceptor does. */
async function front(
  b: Backends,
  t: () => BackendTarget,
  who: UserInfo = user,
): Promise<{ url: string; close(): Promise<void> }> {
  const srv = http.createServer((req, res) => {
    void b.forward('v1.example.test', t(), req, res, req.url ?? '/', proxyRequestHeaders(req.headers, who));
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

/** Read a streaming response until `lines` newline-terminated lines have arrived. */
async function readLines(reader: ReadableStreamDefaultReader<Uint8Array>, lines: number): Promise<string> {
  let text = '';
  while (text.split('\n').length <= lines) {
    const { value, done } = await reader.read();
    assert.equal(done, false);
    text += Buffer.from(value).toString('utf8');
  }
  return text;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), what);
}

const protocols = (): { name: string; be: TestBackend; version: string }[] => [
  { name: 'h2', be: backend, version: '2.0' },
  { name: 'HTTP/1.1 (no h2 in ALPN)', be: backend1, version: '1.1' },
];

test('a user with several groups and extras arrives as one field per value', async (t) => {
  const many: UserInfo = {
    username: 'ann',
    groups: ['system:masters', 'devs', 'system:authenticated'],
    extra: { scopes: ['view', 'edit'], 'example.com/team': ['blue'] },
  };
  for (const p of protocols()) {
    await t.test(p.name, async () => {
      const b = new Backends(() => fp.client);
      const f = await front(b, () => targetOf(p.be), many);
      try {
        const r = await get(`${f.url}/apis/example.test/v1`, { 'x-remote-group': 'evil' });
        assert.equal(r.status, 200);
        const s = p.be.seen.at(-1)!;
        assert.equal(s.httpVersion, p.version);
        assert.equal(s.clientCN, 'front-proxy-client');
        const fields = (name: string): string[] =>
          s.rawHeaders.filter((_, i) => i % 2 === 1 && s.rawHeaders[i - 1]!.toLowerCase() === name);
        assert.deepEqual(fields('x-remote-user'), ['ann']);
        assert.deepEqual(fields('x-remote-group'), ['system:masters', 'devs', 'system:authenticated']);
        assert.deepEqual(fields('x-remote-extra-scopes'), ['view', 'edit']);
        assert.deepEqual(fields('x-remote-extra-example.com%2fteam'), ['blue']);
      } finally {
        await f.close();
        await b.close();
      }
    });
  }
});

test('watch events are relayed as they come and a client abort closes the upstream watch', async (t) => {
  for (const p of protocols()) {
    await t.test(p.name, async () => {
      const b = new Backends(() => fp.client);
      const f = await front(b, () => targetOf(p.be));
      try {
        const ac = new AbortController();
        const r = await fetch(`${f.url}/apis/example.test/v1/namespaces/default/widgets?watch=true`, {
          signal: ac.signal,
        });
        assert.equal(r.status, 200);
        const reader = r.body!.getReader();
        const text = await readLines(reader, 2);
        assert.equal((JSON.parse(text.split('\n')[0]!) as { type: string }).type, 'ADDED');
        assert.equal(p.be.openWatches(), 1);
        assert.equal(p.be.seen.at(-1)!.httpVersion, p.version);
        ac.abort();
        await reader.cancel().catch(() => undefined);
        await until(() => p.be.openWatches() === 0, 'the upstream watch is closed');
      } finally {
        await f.close();
        await b.close();
      }
    });
  }
});

test('a backend that drops the connection mid-watch ends the response abnormally; the next request reconnects', async (t) => {
  for (const p of protocols()) {
    await t.test(p.name, async () => {
      const b = new Backends(() => fp.client);
      const f = await front(b, () => targetOf(p.be));
      try {
        const r = await fetch(`${f.url}/apis/example.test/v1/namespaces/default/widgets?watch=true`);
        const reader = r.body!.getReader();
        await readLines(reader, 1);
        const before = p.be.seen.at(-1)!.remotePort;
        p.be.destroyConnections();
        await assert.rejects(async () => {
          for (;;) if ((await reader.read()).done) return;
        });
        const again = await get(`${f.url}/apis/example.test/v1`);
        assert.equal(again.status, 200);
        assert.notEqual(p.be.seen.at(-1)!.remotePort, before);
      } finally {
        await f.close();
        await b.close();
      }
    });
  }
});

test('after a GOAWAY open streams finish on the old connection and new requests open a new one', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target());
  try {
    const r = await fetch(`${f.url}/apis/example.test/v1/namespaces/default/widgets?watch=true`);
    const reader = r.body!.getReader();
    await readLines(reader, 1);
    const first = backend.seen.at(-1)!.remotePort;
    backend.goawaySessions();
    // the watch keeps streaming on the draining connection
    await readLines(reader, 3);
    await until(() => {
      void get(`${f.url}/apis/example.test/v1`);
      return backend.seen.at(-1)!.path === '/apis/example.test/v1';
    }, 'a request reached the backend');
    const again = await get(`${f.url}/apis/example.test/v1`);
    assert.equal(again.status, 200);
    assert.notEqual(backend.seen.at(-1)!.remotePort, first);
    await reader.cancel();
    await until(() => backend.openWatches() === 0, 'the watch is closed');
  } finally {
    await f.close();
    await b.close();
  }
});

test('evicting a backend keeps an open watch and sends new requests over a new connection', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target());
  try {
    const r = await fetch(`${f.url}/apis/example.test/v1/namespaces/default/widgets?watch=true`);
    const reader = r.body!.getReader();
    await readLines(reader, 1);
    const first = backend.seen.at(-1)!.remotePort;
    b.evict('v1.example.test');
    assert.equal((await get(`${f.url}/apis/example.test/v1`)).status, 200);
    assert.notEqual(backend.seen.at(-1)!.remotePort, first);
    await readLines(reader, 3);
    assert.equal(backend.openWatches(), 1);
    await reader.cancel();
    await until(() => backend.openWatches() === 0, 'the watch is closed');
  } finally {
    await f.close();
    await b.close();
  }
});

test('flow control: a client that stops reading stalls the backend, and everything arrives once it reads', async (t) => {
  for (const p of protocols()) {
    await t.test(p.name, async () => {
      const b = new Backends(() => fp.client);
      const f = await front(b, () => targetOf(p.be));
      const mb = 64;
      try {
        const r = await fetch(`${f.url}/apis/example.test/v1/big?mb=${mb}`);
        assert.equal(r.status, 200);
        const reader: ReadableStreamDefaultReader<Uint8Array> = r.body!.getReader();
        let got = (await reader.read()).value?.length ?? 0;
        // nobody reads: the windows and socket buffers fill up and the backend has to wait
        let last = -1;
        while (p.be.big().written !== last) {
          last = p.be.big().written;
          await new Promise((res) => setTimeout(res, 100));
        }
        assert.equal(p.be.big().done, false);
        assert.ok(p.be.big().written < (mb << 20) / 2, `backend wrote ${p.be.big().written} bytes unread`);
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          got += value.length;
        }
        assert.equal(got, mb << 20);
        assert.equal(p.be.big().done, true);
      } finally {
        await f.close();
        await b.close();
      }
    });
  }
});

test('a header value the Go transport would refuse is a 503, not a request', async () => {
  const b = new Backends(() => fp.client);
  const f = await front(b, () => target(), { username: 'x', groups: [], extra: { k: ['a\nb'] } });
  try {
    const n = backend.seen.length;
    const r = await get(`${f.url}/apis/example.test/v1`);
    assert.equal(r.status, 503);
    assert.equal(r.body, 'net/http: invalid header field value for "X-Remote-Extra-K"\n');
    assert.equal(backend.seen.length, n);
  } finally {
    await f.close();
    await b.close();
  }
});

test('request() returns the status, repeated response fields and a streaming body', async () => {
  const b = new Backends(() => fp.client);
  try {
    for (const p of protocols()) {
      const r = await b.request(`v1.${p.name}`, targetOf(p.be), {
        method: 'GET',
        path: '/apis/example.test/v1/nothing',
        headers: { accept: 'application/json' },
      });
      assert.equal(r.statusCode, 404);
      assert.equal(r.httpVersion, p.version);
      assert.equal(r.headers['content-type'], 'application/json');
      const body = JSON.parse(Buffer.concat((await r.body.toArray()) as Buffer[]).toString()) as { reason: string };
      assert.equal(body.reason, 'NotFound');
    }
    // an aborted signal cancels before anything is sent
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(
      b.request('v1.h2', target(), { method: 'GET', path: '/apis/example.test/v1', headers: {}, signal: ac.signal }),
    );
  } finally {
    await b.close();
  }
  await assert.rejects(b.request('v1.h2', target(), { method: 'GET', path: '/', headers: {} }), /service unavailable/);
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
  const f1 = await front(b, () => targetOf(backend1));
  await get(`${f.url}/apis/example.test/v1`);
  await get(`${f1.url}/apis/example.test/v1`);
  // an evicted (draining) backend is closed too
  b.evict('v1.example.test');
  await get(`${f.url}/apis/example.test/v1`);
  await f.close();
  await f1.close();
  await b.close();
  // the backend's side of each connection closes once it sees ours go
  const tlsSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TLSWRAP').length;
  for (let i = 0; i < 50 && tlsSockets() > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(tlsSockets(), 0);
});
