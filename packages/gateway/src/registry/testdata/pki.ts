// Test-only certificates for the registry tests: a CA, a client certificate it signs, and a second key
// that does not match (for the mismatch cases). ECDSA P-256 keeps generation fast.

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface TestPKI {
  caCert: string;
  clientCert: string;
  clientKey: string;
  /** a valid key that does not belong to clientCert */
  otherKey: string;
  /** a client certificate that expired yesterday, with its key */
  expiredCert: string;
  expiredKey: string;
}

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
}

let cached: Promise<TestPKI> | undefined;

export function testPKI(): Promise<TestPKI> {
  cached ??= (async () => {
    const caKeys = await keyPair();
    const now = Date.now();
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=test-ca',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86400_000),
      keys: caKeys,
      signingAlgorithm: alg,
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const leaf = async (serial: string, notBefore: number, notAfter: number): Promise<[string, string]> => {
      const k = await keyPair();
      const c = await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: 'CN=admin, O=system:masters',
        issuer: ca.subject,
        notBefore: new Date(notBefore),
        notAfter: new Date(notAfter),
        signingKey: caKeys.privateKey,
        publicKey: k.publicKey,
        signingAlgorithm: alg,
      });
      return [c.toString('pem') + '\n', pemKey(await webcrypto.subtle.exportKey('pkcs8', k.privateKey))];
    };
    const [clientCert, clientKey] = await leaf('02', now - 60_000, now + 86400_000);
    const [expiredCert, expiredKey] = await leaf('03', now - 3 * 86400_000, now - 86400_000);
    const other = await keyPair();
    return {
      caCert: ca.toString('pem') + '\n',
      clientCert,
      clientKey,
      otherKey: pemKey(await webcrypto.subtle.exportKey('pkcs8', other.privateKey)),
      expiredCert,
      expiredKey,
    };
  })();
  return cached;
}
