// Tests of the front-proxy PKI and the extension-apiserver-authentication ConfigMap content.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCA } from '../pki/pki.ts';
import { authenticationConfigMapData, createFrontProxyPKI, requiredAuthenticationInfo } from './frontproxy.ts';

function certs(bundle: string | undefined): X509Certificate[] {
  return (bundle?.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? []).map(
    (p) => new X509Certificate(p),
  );
}

test('front-proxy client certificate: CN front-proxy-client, signed by its own CA, client auth only', async () => {
  const fp = await createFrontProxyPKI('hub');
  const ca = new X509Certificate(fp.ca.cert);
  const leaf = new X509Certificate(fp.client.cert);
  assert.match(leaf.subject, /^CN=front-proxy-client$/m);
  assert.ok(leaf.verify(ca.publicKey));
  assert.ok(leaf.checkIssued(ca));
  assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.match(ca.subject, /hub-front-proxy-ca/);
});

test('ConfigMap data: kube-apiserver keys and JSON-array encoding', async () => {
  const clusterCA = await createCA('hub-ca');
  const fp = await createFrontProxyPKI('hub');
  const data = authenticationConfigMapData(requiredAuthenticationInfo(clusterCA.cert, fp.ca.cert, false));
  assert.deepEqual(Object.keys(data), [
    'client-ca-file',
    'requestheader-allowed-names',
    'requestheader-client-ca-file',
    'requestheader-extra-headers-prefix',
    'requestheader-group-headers',
    'requestheader-uid-headers',
    'requestheader-username-headers',
  ]);
  assert.equal(data['requestheader-allowed-names'], '["front-proxy-client"]');
  assert.equal(data['requestheader-username-headers'], '["X-Remote-User"]');
  assert.equal(data['requestheader-group-headers'], '["X-Remote-Group"]');
  assert.equal(data['requestheader-extra-headers-prefix'], '["X-Remote-Extra-"]');
  assert.equal(data['requestheader-uid-headers'], '[]');
  assert.equal(certs(data['client-ca-file'])[0]!.fingerprint256, new X509Certificate(clusterCA.cert).fingerprint256);
  assert.equal(
    certs(data['requestheader-client-ca-file'])[0]!.fingerprint256,
    new X509Certificate(fp.ca.cert).fingerprint256,
  );
  const withUID = authenticationConfigMapData(requiredAuthenticationInfo(clusterCA.cert, fp.ca.cert, true));
  assert.equal(withUID['requestheader-uid-headers'], '["X-Remote-Uid"]');
});

test('ConfigMap data merges what is already there and repairs garbage', async () => {
  const a = await createCA('a');
  const b = await createCA('b');
  const fp = await createFrontProxyPKI('hub');
  const existing = {
    'client-ca-file': b.cert + a.cert,
    'requestheader-client-ca-file': 'not a pem',
    'requestheader-allowed-names': '["aggregator"]',
    'requestheader-username-headers': '{broken',
    'requestheader-group-headers': '["X-Remote-Group"]',
  };
  const data = authenticationConfigMapData(requiredAuthenticationInfo(a.cert, fp.ca.cert, false), existing);
  // existing first, duplicates dropped
  assert.deepEqual(
    certs(data['client-ca-file']).map((c) => c.subject),
    ['CN=b', 'CN=a'],
  );
  assert.equal(certs(data['requestheader-client-ca-file']).length, 1);
  assert.equal(data['requestheader-allowed-names'], '["aggregator","front-proxy-client"]');
  assert.equal(data['requestheader-username-headers'], '["X-Remote-User"]');
  assert.equal(data['requestheader-group-headers'], '["X-Remote-Group"]');
  // idempotent
  assert.deepEqual(authenticationConfigMapData(requiredAuthenticationInfo(a.cert, fp.ca.cert, false), data), data);
});
