import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createCA } from './pki.ts';

test('CA issues server and client certificates that verify against it', async () => {
  const ca = await createCA('test-ca');
  const caCert = new X509Certificate(ca.cert);
  assert.equal(caCert.ca, true);
  const server = await ca.issue({
    commonName: 'srv',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const s = new X509Certificate(server.cert);
  assert.ok(s.verify(caCert.publicKey));
  assert.ok(s.checkHost('localhost'));
  assert.ok(s.checkIP('127.0.0.1'));
  const client = await ca.issue({ commonName: 'alice', organizations: ['dev', 'system:masters'], usage: 'client' });
  const c = new X509Certificate(client.cert);
  assert.match(c.subject, /CN=alice/);
  assert.match(c.subject, /O=dev/);
  assert.match(c.subject, /O=system:masters/);
  const other = await createCA('other');
  assert.equal(c.verify(new X509Certificate(other.cert).publicKey), false);
});
