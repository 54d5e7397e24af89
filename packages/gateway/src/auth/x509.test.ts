import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { createCA } from '@cluster-gateway/sandbox';
import * as x509 from '@peculiar/x509';
import { certificateSubject, parsePemBundle, verifyClientCertificate } from './x509.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** root → intermediate → leaf, built by hand (the sandbox PKI only issues leaves) */
async function chain(leafEku: string[] = [x509.ExtendedKeyUsage.clientAuth], intermediateIsCA = true) {
  const rootKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const nb = new Date(Date.now() - 60_000);
  const na = new Date(Date.now() + 86400_000);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=root',
    notBefore: nb,
    notAfter: na,
    keys: rootKeys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const interKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const inter = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=intermediate',
    issuer: root.subject,
    notBefore: nb,
    notAfter: na,
    signingKey: rootKeys.privateKey,
    publicKey: interKeys.publicKey,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(intermediateIsCA, undefined, true)],
  });
  const leafKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '03',
    subject: 'CN=front-proxy-client, O=team-a, O=team-b',
    issuer: inter.subject,
    notBefore: nb,
    notAfter: na,
    signingKey: interKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: alg,
    extensions: [new x509.ExtendedKeyUsageExtension(leafEku, false)],
  });
  const X = (c: x509.X509Certificate) => new X509Certificate(c.toString('pem'));
  return { root: X(root), inter: X(inter), leaf: X(leaf) };
}

test('a leaf issued by a trusted CA verifies; subject gives CN and O', async () => {
  const ca = await createCA('t-ca');
  const kp = await ca.issue({ commonName: 'alice', organizations: ['dev', 'ops'], usage: 'client' });
  const leaf = new X509Certificate(kp.cert);
  assert.equal(verifyClientCertificate(leaf, { roots: parsePemBundle(ca.cert) }), undefined);
  assert.deepEqual(certificateSubject(leaf), { commonName: 'alice', organizations: ['dev', 'ops'] });
});

test('verification failures', async () => {
  const ca = await createCA('t-ca');
  const other = await createCA('other-ca');
  const good = new X509Certificate((await ca.issue({ commonName: 'a', usage: 'client' })).cert);
  const serverOnly = new X509Certificate((await ca.issue({ commonName: 's', usage: 'server' })).cert);
  const expired = new X509Certificate((await ca.issue({ commonName: 'e', usage: 'client', validDays: -1 })).cert);
  const roots = parsePemBundle(ca.cert);
  const cases: { name: string; leaf: X509Certificate; roots: X509Certificate[]; want: RegExp }[] = [
    {
      name: 'signed by another CA',
      leaf: good,
      roots: parsePemBundle(other.cert),
      want: /x509: certificate signed by unknown authority/,
    },
    { name: 'no roots at all', leaf: good, roots: [], want: /unknown authority/ },
    { name: 'server-only EKU', leaf: serverOnly, roots, want: /incompatible key usage/ },
    {
      name: 'expired',
      leaf: expired,
      roots,
      want: /certificate has expired or is not yet valid: current time .* is after/,
    },
  ];
  for (const c of cases) {
    const err = verifyClientCertificate(c.leaf, { roots: c.roots });
    assert.ok(err, c.name);
    assert.match(err, c.want, c.name);
    assert.match(err, /^verifying certificate SN=\d+ failed: /, c.name);
  }
  // not yet valid
  assert.match(verifyClientCertificate(good, { roots, now: Date.now() - 86400_000 }) ?? '', /is before/);
  // a bundle with several CAs (rotation): either one works
  assert.equal(verifyClientCertificate(good, { roots: [...parsePemBundle(other.cert), ...roots] }), undefined);
});

test('intermediates sent by the client complete the chain', async () => {
  const { root, inter, leaf } = await chain();
  assert.equal(verifyClientCertificate(leaf, { roots: [root], intermediates: [inter] }), undefined);
  assert.match(verifyClientCertificate(leaf, { roots: [root] }) ?? '', /unknown authority/);
  // the intermediate itself trusted as a root is enough
  assert.equal(verifyClientCertificate(leaf, { roots: [inter] }), undefined);
  assert.deepEqual(certificateSubject(leaf), { commonName: 'front-proxy-client', organizations: ['team-a', 'team-b'] });
});

test('an intermediate that is not a CA cannot issue', async () => {
  const { root, inter, leaf } = await chain(undefined, false);
  assert.match(verifyClientCertificate(leaf, { roots: [root], intermediates: [inter] }) ?? '', /unknown authority/);
});

test('EKU checked on the leaf: none or any is fine, serverAuth only is not', async () => {
  const any = await chain([x509.ExtendedKeyUsage.serverAuth, '2.5.29.37.0']);
  assert.equal(verifyClientCertificate(any.leaf, { roots: [any.root], intermediates: [any.inter] }), undefined);
  const server = await chain([x509.ExtendedKeyUsage.serverAuth]);
  assert.match(
    verifyClientCertificate(server.leaf, { roots: [server.root], intermediates: [server.inter] }) ?? '',
    /incompatible key usage/,
  );
});

test('parsePemBundle rejects garbage', () => {
  assert.throws(() => parsePemBundle(''), /does not contain any valid/);
  assert.throws(() => parsePemBundle('hello'), /does not contain any valid/);
  assert.throws(() => parsePemBundle('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'), /does not parse/);
});
