// Tests of the proxy's header rewriting: caller credentials stripped, requestheader identity set.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalHeaderKey,
  escapeExtraKey,
  h2RequestHeaders,
  headersFromRaw,
  invalidHeaderError,
  proxyRequestHeaders,
  proxyResponseHeaders,
  requestHead,
} from './headers.ts';

test('escapeExtraKey escapes like client-go headerKeyEscape', () => {
  const cases: [string, string][] = [
    ['scopes', 'scopes'],
    ['authentication.kubernetes.io/credential-id', 'authentication.kubernetes.io%2Fcredential-id'],
    ['a b', 'a%20b'],
    ['100%', '100%25'],
    ['key:x', 'key%3Ax'],
    ['ünï', '%C3%BCn%C3%AF'],
    ["tok!#$&'*+-.^_`|~", "tok!#$&'*+-.^_`|~"],
  ];
  for (const [key, want] of cases) assert.equal(escapeExtraKey(key), want, key);
});

test('proxyRequestHeaders strips caller credentials and asserts the user', () => {
  const incoming = {
    ':method': 'GET',
    ':path': '/apis/x/v1',
    host: 'hub:6443',
    authorization: 'Bearer secret',
    'impersonate-user': 'bob',
    'impersonate-group': ['g1'],
    'impersonate-extra-scopes': 'x',
    'x-remote-user': 'mallory',
    'x-remote-group': 'system:masters',
    'x-remote-extra-evil': 'yes',
    'x-remote-uid': '1',
    connection: 'keep-alive, x-hop',
    'x-hop': 'drop me',
    'keep-alive': 'timeout=5',
    'transfer-encoding': 'chunked',
    upgrade: 'websocket',
    te: 'trailers',
    accept: 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json',
    'content-type': 'application/json',
    'user-agent': 'kubectl/v1.32.4',
    'x-forwarded-for': '10.0.0.9',
  };
  const out = proxyRequestHeaders(
    incoming,
    {
      username: 'jane',
      uid: 'u-1',
      groups: ['devs', 'system:authenticated'],
      extra: { scopes: ['view', 'edit'], 'example.com/team': ['a'], empty: [] },
    },
    { clientAddress: '127.0.0.1' },
  );
  assert.deepEqual(out, {
    accept: 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json',
    'content-type': 'application/json',
    'user-agent': 'kubectl/v1.32.4',
    'x-forwarded-for': '10.0.0.9, 127.0.0.1',
    'x-remote-user': 'jane',
    'x-remote-group': ['devs', 'system:authenticated'],
    'x-remote-extra-scopes': ['view', 'edit'],
    'x-remote-extra-example.com%2fteam': ['a'],
  });
});

test('proxyRequestHeaders: uid only with the gate; upgrades keep Connection/Upgrade; ws bearer protocol dropped', () => {
  const user = { username: 'u', uid: 'abc', groups: [] };
  assert.equal(Object.hasOwn(proxyRequestHeaders({}, user), 'x-remote-uid'), false);
  assert.equal(proxyRequestHeaders({}, user, { sendUID: true })['x-remote-uid'], 'abc');
  assert.equal(proxyRequestHeaders({}, user)['x-remote-group'], undefined);
  const up = proxyRequestHeaders(
    {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-protocol': 'base64url.bearer.authorization.k8s.io.dG9rZW4, v5.channel.k8s.io',
    },
    user,
    { upgrade: true },
  );
  assert.equal(up.connection, 'Upgrade');
  assert.equal(up.upgrade, 'websocket');
  assert.equal(up['sec-websocket-protocol'], 'v5.channel.k8s.io');
  const onlyBearer = proxyRequestHeaders(
    { 'sec-websocket-protocol': 'base64url.bearer.authorization.k8s.io.dG9rZW4' },
    user,
    { upgrade: true },
  );
  assert.equal(onlyBearer['sec-websocket-protocol'], undefined);
});

test('proxyResponseHeaders drops hop-by-hop headers', () => {
  assert.deepEqual(
    proxyResponseHeaders({
      connection: 'close, x-a',
      'x-a': '1',
      'keep-alive': 'x',
      'transfer-encoding': 'chunked',
      'content-type': 'application/json',
      warning: ['299 - "a"', '299 - "b"'],
      ':status': '200',
    }),
    {
      'content-type': 'application/json',
      warning: ['299 - "a"', '299 - "b"'],
    },
  );
});

test('requestHead serializes repeated headers and refuses CR/LF in values', () => {
  const head = requestHead('POST', '/x?y=1', '127.0.0.1:8443', {
    'x-remote-group': ['a', 'b'],
    'x-remote-extra-k': ['ok', 'bad\r\nInjected: 1'],
  });
  assert.equal(
    head,
    'POST /x?y=1 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nx-remote-group: a\r\nx-remote-group: b\r\nx-remote-extra-k: ok\r\n\r\n',
  );
});

test('h2RequestHeaders drops connection-specific fields and keeps repeated values apart', () => {
  const groups = ['a', 'b', 'c'];
  const out = h2RequestHeaders({
    connection: 'keep-alive',
    'keep-alive': 'timeout=5',
    'proxy-connection': 'x',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    Host: 'x:1',
    ':path': '/smuggled',
    te: 'gzip, trailers',
    'X-Remote-Group': groups,
    accept: 'application/json',
  });
  assert.deepEqual(out, { te: 'trailers', 'x-remote-group': ['a', 'b', 'c'], accept: 'application/json' });
  assert.notEqual(out['x-remote-group'], groups, "a copy, not the caller's array");
  assert.deepEqual(h2RequestHeaders({ te: 'gzip' }), {});
});

test('headersFromRaw keeps repeated fields as arrays and drops pseudo-headers', () => {
  const cases: [string[], Record<string, string | string[]>][] = [
    [[], {}],
    [[':status', '200', 'Content-Type', 'application/json'], { 'content-type': 'application/json' }],
    [
      ['warning', 'a', 'Warning', 'b', 'warning', 'c', 'set-cookie', 'x=1'],
      { warning: ['a', 'b', 'c'], 'set-cookie': 'x=1' },
    ],
    [['dangling'], {}],
  ];
  for (const [raw, want] of cases) assert.deepEqual(headersFromRaw(raw), want, JSON.stringify(raw));
});

test('invalidHeaderError refuses control characters as the Go transport does', () => {
  const cases: [Record<string, string | string[]>, string | undefined][] = [
    [{ 'x-remote-user': 'jane', 'x-remote-group': ['a', 'b'] }, undefined],
    [{ 'x-remote-extra-k': 'tab\tok, ünïcode ok' }, undefined],
    [{ 'x-remote-extra-k': ['ok', 'bad\nvalue'] }, 'net/http: invalid header field value for "X-Remote-Extra-K"'],
    [{ 'x-remote-user': 'nul\0' }, 'net/http: invalid header field value for "X-Remote-User"'],
    [{ 'x-remote-extra-a.b%2fc': 'del\x7f' }, 'net/http: invalid header field value for "X-Remote-Extra-A.b%2fc"'],
  ];
  for (const [h, want] of cases) assert.equal(invalidHeaderError(h), want, JSON.stringify(h));
});

test('canonicalHeaderKey', () => {
  const cases: [string, string][] = [
    ['x-remote-group', 'X-Remote-Group'],
    ['X-REMOTE-USER', 'X-Remote-User'],
    ['content-type', 'Content-Type'],
    ['x-remote-extra-example.com%2fteam', 'X-Remote-Extra-Example.com%2fteam'],
  ];
  for (const [k, want] of cases) assert.equal(canonicalHeaderKey(k), want);
});
