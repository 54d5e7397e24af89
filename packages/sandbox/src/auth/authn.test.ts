import 'reflect-metadata';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, webcrypto } from 'node:crypto';
import { before, describe, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { isApiError } from '../errors/status.ts';
import { Store } from '../store/store.ts';
import { Authenticator } from './authn.ts';
import type { AuthnRequest } from './authn.ts';
import { ServiceAccountTokens } from './serviceaccount-tokens.ts';
import { put } from './testing.ts';

x509.cryptoProvider.set(webcrypto);
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;

interface Issuer {
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

async function makeCA(name: string): Promise<Issuer> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  return { cert, keys };
}

async function makeCert(
  issuer: Issuer,
  subject: string,
  opts: { ca?: boolean; eku?: string[]; notAfter?: Date } = {},
): Promise<Issuer> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const extensions: x509.Extension[] = [];
  if (opts.ca) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  extensions.push(new x509.ExtendedKeyUsageExtension(opts.eku ?? ['1.3.6.1.5.5.7.3.2']));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Math.floor(Math.random() * 1e9).toString(16),
    subject,
    issuer: issuer.cert.subject,
    notBefore: new Date(Date.now() - DAY),
    notAfter: opts.notAfter ?? new Date(Date.now() + DAY),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return { cert, keys };
}

const node = (c: Issuer) => new X509Certificate(c.cert.toString('pem'));

describe('Authenticator', () => {
  let ca: Issuer;
  let otherCa: Issuer;
  let store: Store;
  let tokens: ServiceAccountTokens;
  let authn: Authenticator;
  let saUid: string;

  before(async () => {
    ca = await makeCA('client-ca');
    otherCa = await makeCA('evil-ca');
    store = new Store();
    tokens = new ServiceAccountTokens({ store });
    saUid = put(store, 'serviceaccounts', {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'bot', namespace: 'ci' },
    }).metadata.uid!;
    authn = new Authenticator({
      clientCA: ca.cert.toString('pem'),
      staticTokens: new Map([['s3cret', { username: 'admin', uid: 'u1', groups: ['system:masters'] }]]),
      serviceAccountIssuer: tokens,
      store,
      apiAudiences: tokens.apiAudiences,
    });
  });

  const unauthorized = (fn: () => unknown) => {
    assert.throws(fn, (e: unknown) => {
      assert.ok(isApiError(e));
      assert.equal(e.code, 401);
      assert.equal(e.message, 'Unauthorized');
      return true;
    });
  };

  test('client certificate: CN user, O groups, credential id', async () => {
    const leaf = await makeCert(ca, 'CN=alice, O=dev, O=ops');
    const cert = node(leaf);
    const user = authn.authenticate({ headers: {}, peerCertificate: cert });
    assert.deepEqual(user, {
      username: 'alice',
      groups: ['dev', 'ops', 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/credential-id': [
          `X509SHA256=${createHash('sha256').update(cert.raw).digest('hex')}`,
        ],
      },
    });
  });

  test('client certificate through an intermediate', async () => {
    const mid = await makeCert(ca, 'CN=intermediate', { ca: true, eku: ['1.3.6.1.5.5.7.3.2'] });
    const leaf = await makeCert(mid, 'CN=bob');
    const user = authn.authenticate({ headers: {}, peerCertificate: node(leaf), peerIntermediates: [node(mid)] });
    assert.equal(user.username, 'bob');
    unauthorized(() => authn.authenticate({ headers: {}, peerCertificate: node(leaf) }));
  });

  test('untrusted, expired or server-only certificates are 401, not anonymous', async () => {
    unauthorized(() => authn.authenticate({ headers: {}, peerCertificate: node(otherCa) }));
    const evil = await makeCert(otherCa, 'CN=alice');
    unauthorized(() => authn.authenticate({ headers: {}, peerCertificate: node(evil) }));
    const expired = await makeCert(ca, 'CN=alice', { notAfter: new Date(Date.now() - 1000) });
    unauthorized(() => authn.authenticate({ headers: {}, peerCertificate: node(expired) }));
    const serverOnly = await makeCert(ca, 'CN=alice', { eku: ['1.3.6.1.5.5.7.3.1'] });
    unauthorized(() => authn.authenticate({ headers: {}, peerCertificate: node(serverOnly) }));
  });

  test('an untrusted certificate does not stop a good bearer token', async () => {
    const evil = await makeCert(otherCa, 'CN=alice');
    const user = authn.authenticate({ headers: { authorization: 'Bearer s3cret' }, peerCertificate: node(evil) });
    assert.equal(user.username, 'admin');
  });

  test('certificate without CN carries no identity', async () => {
    const leaf = await makeCert(ca, 'O=dev');
    assert.equal(authn.authenticate({ headers: {}, peerCertificate: node(leaf) }).username, 'system:anonymous');
  });

  const tokenCases: { name: string; req: () => AuthnRequest; want: string | 401 }[] = [
    { name: 'static token', req: () => ({ headers: { authorization: 'Bearer s3cret' } }), want: 'admin' },
    { name: 'scheme is case-insensitive', req: () => ({ headers: { authorization: 'bearer s3cret' } }), want: 'admin' },
    { name: 'unknown token', req: () => ({ headers: { authorization: 'Bearer nope' } }), want: 401 },
    {
      name: 'basic auth is ignored',
      req: () => ({ headers: { authorization: 'Basic YTpi' } }),
      want: 'system:anonymous',
    },
    { name: 'no credentials', req: () => ({ headers: {} }), want: 'system:anonymous' },
    {
      name: 'service account JWT',
      req: () => ({
        headers: {
          authorization: `Bearer ${tokens.issue({ namespace: 'ci', name: 'bot', uid: saUid, audiences: tokens.apiAudiences, expirationSeconds: 600 }).token}`,
        },
      }),
      want: 'system:serviceaccount:ci:bot',
    },
    {
      name: 'service account JWT for another audience',
      req: () => ({
        headers: {
          authorization: `Bearer ${tokens.issue({ namespace: 'ci', name: 'bot', uid: saUid, audiences: ['vault'], expirationSeconds: 600 }).token}`,
        },
      }),
      want: 401,
    },
    {
      name: 'websocket bearer protocol',
      req: () => ({
        headers: {
          'sec-websocket-protocol': `v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.${Buffer.from('s3cret').toString('base64url')}`,
        },
      }),
      want: 'admin',
    },
  ];
  for (const c of tokenCases) {
    test(`token: ${c.name}`, () => {
      if (c.want === 401) unauthorized(() => authn.authenticate(c.req()));
      else assert.equal(authn.authenticate(c.req()).username, c.want);
    });
  }

  test('groups: static user gains system:authenticated, anonymous is unauthenticated', () => {
    assert.deepEqual(authn.authenticate({ headers: { authorization: 'Bearer s3cret' } }), {
      username: 'admin',
      uid: 'u1',
      groups: ['system:masters', 'system:authenticated'],
    });
    assert.deepEqual(authn.authenticate({ headers: {} }), {
      username: 'system:anonymous',
      groups: ['system:unauthenticated'],
    });
  });

  test('client CAs given as a function are re-read (CA added at run time)', async () => {
    const pems = [ca.cert.toString('pem')];
    const dynamic = new Authenticator({ store, clientCA: () => pems });
    const leaf = await makeCert(otherCa, 'CN=late');
    unauthorized(() => dynamic.authenticate({ headers: {}, peerCertificate: node(leaf) }));
    pems.push(otherCa.cert.toString('pem'));
    assert.equal(dynamic.authenticate({ headers: {}, peerCertificate: node(leaf) }).username, 'late');
  });

  test('anonymous disabled → 401', () => {
    const strict = new Authenticator({ store, anonymous: false });
    unauthorized(() => strict.authenticate({ headers: {} }));
  });

  test('authenticateToken reports kube error strings (TokenReview)', () => {
    assert.deepEqual(authn.authenticateToken('nope'), { ok: false, error: 'invalid bearer token' });
    assert.deepEqual(authn.authenticateToken('s3cret', ['vault']), { ok: false, error: 'invalid bearer token' });
    const r = authn.authenticateToken('s3cret');
    assert.ok(r.ok);
    assert.deepEqual(r.audiences, ['https://kubernetes.default.svc.cluster.local']);
  });
});
