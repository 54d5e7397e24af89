import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCA } from '@cluster-gateway/sandbox';
import { GatewayError } from '../apiserver/errors.ts';
import { DynamicAuthConfig } from './auth-config.ts';
import { DelegatingAuthenticator, type AuthnRequest, type DelegatingAuthenticatorOptions } from './authn.ts';
import type { HubAuthApi, TokenReviewResult } from './types.ts';

const clientCA = await createCA('client-ca');
const frontProxyCA = await createCA('front-proxy-ca');
const strangerCA = await createCA('stranger-ca');
const cert = async (ca: typeof clientCA, cn: string, o: string[] = []) =>
  new X509Certificate((await ca.issue({ commonName: cn, organizations: o, usage: 'client' })).cert);
const frontProxy = await cert(frontProxyCA, 'front-proxy-client');
const otherProxy = await cert(frontProxyCA, 'someone-else');
const aliceCert = await cert(clientCA, 'alice', ['dev', 'ops']);
const noCN = await cert(clientCA, '');
const stranger = await cert(strangerCA, 'mallory', ['system:masters']);

function cmData(allowed = '["front-proxy-client"]'): Record<string, string> {
  return {
    'client-ca-file': clientCA.cert,
    'requestheader-client-ca-file': frontProxyCA.cert,
    'requestheader-allowed-names': allowed,
    'requestheader-username-headers': '["X-Remote-User"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    'requestheader-uid-headers': '["X-Remote-Uid"]',
  };
}

class FakeHub implements HubAuthApi {
  tokens = new Map<string, TokenReviewResult['status']>();
  reviews: { token: string; audiences: string[] | undefined }[] = [];
  error: (Error & { code?: number }) | undefined;
  delayMs = 0;
  async createTokenReview(token: string, audiences: string[] | undefined): Promise<TokenReviewResult> {
    this.reviews.push({ token, audiences });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.error) throw this.error;
    return { status: this.tokens.get(token) ?? { authenticated: false, error: 'invalid bearer token' } };
  }
  createSubjectAccessReview(): Promise<never> {
    return Promise.reject(new Error('unused'));
  }
  getConfigMap(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}

function setup(over: Partial<DelegatingAuthenticatorOptions> = {}, data = cmData()) {
  const cfg = new DynamicAuthConfig();
  cfg.reload(data);
  const hub = new FakeHub();
  hub.tokens.set('good-token', {
    authenticated: true,
    user: {
      username: 'system:serviceaccount:ns:sa',
      uid: 'u1',
      groups: ['system:serviceaccounts'],
      extra: { k: ['v'] },
    },
  });
  const authn = new DelegatingAuthenticator({
    config: () => cfg.current,
    hub,
    retryBackoff: { initialMs: 1, factor: 1, jitter: 0, steps: 2 },
    ...over,
  });
  return { authn, hub, cfg };
}

const req = (peerCertificate: X509Certificate | undefined, rawHeaders: string[] = []): AuthnRequest => ({
  headers: {},
  rawHeaders,
  peerCertificate,
});

test('front-proxy identity from a certificate of the requestheader CA with an allowed CN', async () => {
  const { authn } = setup();
  const r = await authn.authenticateRequest(
    req(frontProxy, [
      'X-Remote-User',
      'alice',
      'X-Remote-Group',
      'dev',
      'x-remote-group',
      'ops, with comma',
      'X-Remote-Group',
      '',
      'X-Remote-Uid',
      'uid-1',
      'X-Remote-Extra-Scopes',
      'a',
      'X-Remote-Extra-Scopes',
      'b',
      'X-Remote-Extra-Example.com%2Fkey',
      'v',
      'X-Remote-Extra-Bad%zz',
      'w',
      'Authorization',
      'Bearer good-token',
    ]),
  );
  assert.equal(r.method, 'requestheader');
  assert.deepEqual(r.user, {
    username: 'alice',
    uid: 'uid-1',
    // repeated headers stay distinct (a comma inside one value is not a separator) and empty ones are dropped
    groups: ['dev', 'ops, with comma', 'system:authenticated'],
    extra: { scopes: ['a', 'b'], 'example.com/key': ['v'], 'bad%zz': ['w'] },
  });
  assert.ok(r.deleteHeaders.includes('x-remote-user'));
  assert.ok(r.deleteHeaders.includes('x-remote-extra-scopes'));
});

test('headersDistinct-style input works like rawHeaders', async () => {
  const { authn } = setup();
  const user = await authn.authenticate({
    headers: { 'x-remote-user': ['bob'], 'x-remote-group': ['g1', 'g2'] },
    peerCertificate: frontProxy,
  });
  assert.deepEqual(user.groups, ['g1', 'g2', 'system:authenticated']);
});

test('spoofed X-Remote-* headers are never trusted', async () => {
  const { authn } = setup();
  const spoof = ['X-Remote-User', 'admin', 'X-Remote-Group', 'system:masters'];
  const cases: { name: string; cert: X509Certificate | undefined; want: 'anonymous' | 'alice' | 401 }[] = [
    { name: 'no certificate', cert: undefined, want: 'anonymous' },
    { name: 'client-CA certificate (not the requestheader CA)', cert: aliceCert, want: 'alice' },
    { name: 'requestheader CA but CN not allowed', cert: otherProxy, want: 401 },
    { name: 'certificate of an unknown CA', cert: stranger, want: 401 },
  ];
  for (const c of cases) {
    const p = authn.authenticateRequest(req(c.cert, spoof));
    if (c.want === 401) {
      await assert.rejects(
        p,
        (e: unknown) => e instanceof GatewayError && e.code === 401 && e.message === 'Unauthorized',
        c.name,
      );
      continue;
    }
    const r = await p;
    assert.equal(r.user.username, c.want === 'anonymous' ? 'system:anonymous' : 'alice', c.name);
    assert.ok(!r.user.groups.includes('system:masters'), c.name);
  }
});

test('empty allowed-names list accepts any CN of the requestheader CA (kube)', async () => {
  const { authn } = setup({}, cmData('[]'));
  const u = await authn.authenticate(req(otherProxy, ['X-Remote-User', 'carol']));
  assert.equal(u.username, 'carol');
});

test('a requestheader certificate without a username header falls through', async () => {
  const { authn } = setup();
  // the front-proxy cert is not from the client CA, so the x509 step fails: 401 as kube
  await assert.rejects(
    authn.authenticate(req(frontProxy)),
    (e: unknown) => e instanceof GatewayError && e.code === 401,
  );
  // with a good token it is the token that counts
  const r = await authn.authenticateRequest(req(frontProxy, ['Authorization', 'Bearer good-token']));
  assert.equal(r.method, 'token');
});

test('client certificates: CN user, O groups; no CN carries no identity', async () => {
  const { authn } = setup();
  const r = await authn.authenticateRequest(req(aliceCert));
  assert.equal(r.method, 'x509');
  assert.deepEqual(r.user, { username: 'alice', groups: ['dev', 'ops', 'system:authenticated'] });
  // kube: the requestheader verifier's error stands when nothing else succeeds, so not anonymous but 401
  await assert.rejects(authn.authenticate(req(noCN)), (e: unknown) => e instanceof GatewayError && e.code === 401);
  // without a requestheader configuration, a CN-less client certificate is simply anonymous
  const { authn: plain } = setup({}, { 'client-ca-file': clientCA.cert });
  assert.equal((await plain.authenticate(req(noCN))).username, 'system:anonymous');
});

test('an unknown certificate plus a good token authenticates by the token', async () => {
  const { authn } = setup();
  const u = await authn.authenticate(req(stranger, ['Authorization', 'Bearer good-token']));
  assert.equal(u.username, 'system:serviceaccount:ns:sa');
});

test('bearer tokens via TokenReview', async () => {
  const { authn, hub } = setup();
  const r = await authn.authenticateRequest(req(undefined, ['Authorization', 'bearer good-token']));
  assert.equal(r.method, 'token');
  assert.deepEqual(r.user, {
    username: 'system:serviceaccount:ns:sa',
    uid: 'u1',
    groups: ['system:serviceaccounts', 'system:authenticated'],
    extra: { k: ['v'] },
  });
  assert.deepEqual(r.deleteHeaders, ['authorization']);
  await assert.rejects(
    authn.authenticate(req(undefined, ['Authorization', 'Bearer bad'])),
    (e: unknown) => e instanceof GatewayError && e.code === 401,
  );
  // not a bearer credential: ignored, anonymous
  assert.equal(
    (await authn.authenticate(req(undefined, ['Authorization', 'Basic Zm9vOmJhcg==']))).username,
    'system:anonymous',
  );
  assert.equal((await authn.authenticate(req(undefined, ['Authorization', 'Bearer  x']))).username, 'system:anonymous');
  assert.equal(hub.reviews.length, 2);
});

test('token cache: hits, single flight, negative answers cached shorter, errors not cached', async () => {
  const { authn, hub } = setup({ cacheTTLMs: 300, failureCacheTTLMs: 50 });
  hub.delayMs = 20;
  const h = ['Authorization', 'Bearer good-token'];
  await Promise.all(Array.from({ length: 8 }, () => authn.authenticate(req(undefined, h))));
  assert.equal(hub.reviews.length, 1);
  await authn.authenticate(req(undefined, h));
  assert.equal(hub.reviews.length, 1);
  assert.ok(authn.tokenStats.hits >= 1);
  const bad = ['Authorization', 'Bearer bad'];
  await assert.rejects(authn.authenticate(req(undefined, bad)));
  await assert.rejects(authn.authenticate(req(undefined, bad)));
  assert.equal(hub.reviews.length, 2);
  await new Promise((r) => setTimeout(r, 80));
  await assert.rejects(authn.authenticate(req(undefined, bad)));
  assert.equal(hub.reviews.length, 3, 'negative answer expired');
  await authn.authenticate(req(undefined, h));
  assert.equal(hub.reviews.length, 3, 'positive answer still cached');
  // hub failure: 401 (never anonymous), and not cached
  hub.error = Object.assign(new Error('connection refused'), { code: 0 });
  const other = ['Authorization', 'Bearer other'];
  await assert.rejects(
    authn.authenticate(req(undefined, other)),
    (e: unknown) => e instanceof GatewayError && e.code === 401,
  );
  assert.equal(hub.reviews.length, 5, 'one retry');
  hub.error = undefined;
  hub.tokens.set('other', { authenticated: true, user: { username: 'o' } });
  assert.equal((await authn.authenticate(req(undefined, other))).username, 'o');
});

test('audiences are sent and enforced', async () => {
  const { authn, hub } = setup({ audiences: ['gw'] });
  hub.tokens.set('aud-ok', { authenticated: true, user: { username: 'a' }, audiences: ['gw', 'x'] });
  hub.tokens.set('aud-bad', { authenticated: true, user: { username: 'b' }, audiences: ['api'] });
  hub.tokens.set('aud-none', { authenticated: true, user: { username: 'c' } });
  assert.equal((await authn.authenticate(req(undefined, ['Authorization', 'Bearer aud-ok']))).username, 'a');
  await assert.rejects(authn.authenticate(req(undefined, ['Authorization', 'Bearer aud-bad'])));
  assert.equal((await authn.authenticate(req(undefined, ['Authorization', 'Bearer aud-none']))).username, 'c');
  assert.deepEqual(hub.reviews[0]!.audiences, ['gw']);
});

test('WebSocket bearer subprotocol', async () => {
  const { authn } = setup();
  const enc = Buffer.from('good-token').toString('base64url');
  const ws = ['Connection', 'Upgrade', 'Upgrade', 'websocket'];
  const r = await authn.authenticateRequest(
    req(undefined, [
      ...ws,
      'Sec-WebSocket-Protocol',
      `v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.${enc}`,
    ]),
  );
  assert.equal(r.method, 'websocket-token');
  assert.deepEqual(r.setHeaders, { 'sec-websocket-protocol': 'v5.channel.k8s.io' });
  const bad: [string, RegExp | string][] = [
    [`base64url.bearer.authorization.k8s.io.${enc}`, 'missing additional subprotocol'],
    [`x, base64url.bearer.authorization.k8s.io.${enc}, base64url.bearer.authorization.k8s.io.${enc}`, 'multiple'],
    ['x, base64url.bearer.authorization.k8s.io.!!', 'encoding'],
  ];
  for (const [proto] of bad) {
    await assert.rejects(
      authn.authenticate(req(undefined, [...ws, 'Sec-WebSocket-Protocol', proto])),
      (e: unknown) => e instanceof GatewayError && e.code === 401,
    );
  }
  // not a WebSocket request: the subprotocol is not looked at
  assert.equal(
    (
      await authn.authenticate(
        req(undefined, ['Sec-WebSocket-Protocol', `x, base64url.bearer.authorization.k8s.io.${enc}`]),
      )
    ).username,
    'system:anonymous',
  );
});

test('anonymous: system:unauthenticated, or 401 when disabled', async () => {
  const { authn } = setup();
  assert.deepEqual(await authn.authenticate(req(undefined)), {
    username: 'system:anonymous',
    groups: ['system:unauthenticated'],
  });
  const { authn: strict } = setup({ anonymous: false });
  await assert.rejects(
    strict.authenticate(req(undefined)),
    (e: unknown) => e instanceof GatewayError && e.code === 401,
  );
});

test('without a hub, tokens are ignored; without config, certificates are', async () => {
  const cfg = new DynamicAuthConfig();
  const authn = new DelegatingAuthenticator({ config: () => cfg.current });
  assert.equal(
    (await authn.authenticate(req(frontProxy, ['Authorization', 'Bearer good-token', 'X-Remote-User', 'x']))).username,
    'system:anonymous',
  );
});

test('a CA rotation applies to the next request', async () => {
  const { authn, cfg } = setup();
  assert.equal((await authn.authenticate(req(frontProxy, ['X-Remote-User', 'a']))).username, 'a');
  const newCA = await createCA('rotated');
  cfg.reload({ ...cmData(), 'requestheader-client-ca-file': newCA.cert });
  await assert.rejects(
    authn.authenticate(req(frontProxy, ['X-Remote-User', 'a'])),
    (e: unknown) => e instanceof GatewayError && e.code === 401,
  );
  const fresh = new X509Certificate((await newCA.issue({ commonName: 'front-proxy-client', usage: 'client' })).cert);
  assert.equal((await authn.authenticate(req(fresh, ['X-Remote-User', 'a']))).username, 'a');
});
