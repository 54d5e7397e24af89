import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeExtraKey, forwardHeaders, impersonationHeaders, responseHeaders, warningHeader } from './headers.ts';

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

const base = {
  host: 'member.example',
  clientAddress: '10.0.0.7',
  upgrade: false,
  bearer: undefined,
  impersonate: undefined,
};

test("the caller's credentials and identity headers never pass", () => {
  const raw = [
    'Authorization',
    'Bearer caller-token',
    'Proxy-Authorization',
    'Basic eDp5',
    'Impersonate-User',
    'mallory',
    'Impersonate-Group',
    'system:masters',
    'Impersonate-Uid',
    'u',
    'Impersonate-Extra-Scopes',
    'all',
    'X-Remote-User',
    'mallory',
    'X-Remote-Group',
    'system:masters',
    'X-Remote-Extra-Foo',
    'bar',
    'X-Auth-User',
    'custom-front-proxy',
    'X-Auth-Extra-A',
    'b',
    'Accept',
    'application/json',
    'User-Agent',
    'kubectl/v1.32',
    'Cookie',
    'a=b',
  ];
  const out = pairs(forwardHeaders(raw, { ...base, identityHeaders: ['x-auth-user', 'x-auth-extra-'] }));
  assert.deepEqual(out, [
    ['Host', 'member.example'],
    ['Accept', 'application/json'],
    ['User-Agent', 'kubectl/v1.32'],
    ['Cookie', 'a=b'],
    ['X-Forwarded-For', '10.0.0.7'],
  ]);
});

test('hop-by-hop headers and those named in Connection are removed; h2 pseudo-headers skipped', () => {
  const raw = [
    ':method',
    'GET',
    ':path',
    '/x',
    ':authority',
    'gw',
    'Connection',
    'keep-alive, X-Hop',
    'Keep-Alive',
    'timeout=5',
    'Proxy-Connection',
    'keep-alive',
    'TE',
    'trailers',
    'Trailer',
    'X-T',
    'Transfer-Encoding',
    'chunked',
    'Upgrade',
    'websocket',
    'X-Hop',
    'secret-for-next-hop',
    'Expect',
    '100-continue',
    'Host',
    'gateway.example',
    'Content-Type',
    'application/json',
    'Content-Length',
    '12',
  ];
  assert.deepEqual(pairs(forwardHeaders(raw, { ...base, clientAddress: undefined })), [
    ['Host', 'member.example'],
    ['Content-Type', 'application/json'],
    ['Content-Length', '12'],
  ]);
});

test('upgrades keep Connection: Upgrade and Upgrade, and the WebSocket handshake headers', () => {
  const raw = [
    'Connection',
    'Upgrade',
    'Upgrade',
    'websocket',
    'Sec-WebSocket-Key',
    'abc',
    'Sec-WebSocket-Version',
    '13',
    'Sec-WebSocket-Protocol',
    'v5.channel.k8s.io',
    'X-Stream-Protocol-Version',
    'portforward.k8s.io',
  ];
  const out = pairs(forwardHeaders(raw, { ...base, upgrade: true, clientAddress: undefined }));
  assert.deepEqual(out, [
    ['Host', 'member.example'],
    ['Sec-WebSocket-Key', 'abc'],
    ['Sec-WebSocket-Version', '13'],
    ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io'],
    ['X-Stream-Protocol-Version', 'portforward.k8s.io'],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'websocket'],
  ]);
  // a non-upgrade request never forwards Upgrade
  assert.equal(
    pairs(forwardHeaders(raw, { ...base, clientAddress: undefined })).some(([k]) => k === 'Upgrade'),
    false,
  );
});

test('X-Forwarded-For is appended to, the bearer token and identity are ours', () => {
  const raw = ['X-Forwarded-For', '1.2.3.4', 'x-forwarded-for', '5.6.7.8'];
  const out = pairs(
    forwardHeaders(raw, {
      ...base,
      bearer: 'cluster-token',
      impersonate: { user: 'alice', groups: ['dev', 'ops'], uid: '42', extra: { 'example.com/team': ['a', 'b'] } },
    }),
  );
  assert.deepEqual(out, [
    ['Host', 'member.example'],
    ['X-Forwarded-For', '1.2.3.4, 5.6.7.8, 10.0.0.7'],
    ['Authorization', 'Bearer cluster-token'],
    ['Impersonate-User', 'alice'],
    ['Impersonate-Uid', '42'],
    ['Impersonate-Group', 'dev'],
    ['Impersonate-Group', 'ops'],
    ['Impersonate-Extra-example.com%2Fteam', 'a'],
    ['Impersonate-Extra-example.com%2Fteam', 'b'],
  ]);
});

test('extra keys are escaped as client-go does', () => {
  const cases: [string, string][] = [
    ['scopes', 'scopes'],
    ['example.com/team', 'example.com%2Fteam'],
    ['a b', 'a%20b'],
    ['100%', '100%25'],
    ["tok!#$&'*+-.^_`|~en", "tok!#$&'*+-.^_`|~en"],
    ['ünï', '%C3%BCn%C3%AF'],
    ['a:b', 'a%3Ab'],
  ];
  for (const [k, want] of cases) assert.equal(escapeExtraKey(k), want, k);
  assert.deepEqual(impersonationHeaders({ user: 'u', groups: [], extra: {} }), [['Impersonate-User', 'u']]);
});

test('response headers: hop-by-hop removed, everything else (gzip, warnings) passed through', () => {
  const out = responseHeaders(
    {
      connection: 'keep-alive, x-private',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      'x-private': 'p',
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      'set-cookie': ['a=1', 'b=2'],
      warning: '299 - "deprecated"',
      'audit-id': 'x',
    },
    [warningHeader('cluster c has no CA bundle: TLS verification is disabled')],
  );
  assert.deepEqual(out, {
    'content-type': 'application/json',
    'content-encoding': 'gzip',
    'set-cookie': ['a=1', 'b=2'],
    warning: ['299 - "deprecated"', '299 - "cluster c has no CA bundle: TLS verification is disabled"'],
    'audit-id': 'x',
  });
  assert.deepEqual(responseHeaders({ 'content-length': '3' }), { 'content-length': '3' });
});
