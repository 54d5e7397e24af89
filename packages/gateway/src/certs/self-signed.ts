// Serving certificates of the gateway: load `--tls-cert-file`/`--tls-private-key-file`, or load or
// generate a self-signed pair under `--cert-dir` (as the upstream generic apiserver does:
// `apiserver.crt`/`apiserver.key`, valid for localhost, 127.0.0.1 and the in-cluster Service names).

import 'reflect-metadata';
import { webcrypto, X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const alg: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface ServingPair {
  cert: string;
  key: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A self-signed serving certificate (also its own CA, usable as an APIService caBundle). */
export async function generateSelfSigned(hosts: string[], validDays = 365): Promise<ServingPair> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const sans: x509.JsonGeneralName[] = hosts.map((h) =>
    /^[\d.]+$|:/.test(h) ? { type: 'ip', value: h } : { type: 'dns', value: h },
  );
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: `CN=${hosts[0] ?? 'localhost'}@${Math.floor(Date.now() / 1000)}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + validDays * 86400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(sans, false),
    ],
  });
  return {
    cert: cert.toString('pem') + '\n',
    key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** Throws a clear error unless `cert` parses and `key` is its private key. */
export function checkPair(pair: ServingPair, what: string): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch (e) {
    throw new Error(`${what}: certificate is not valid PEM`, { cause: e });
  }
  let ok = false;
  try {
    ok = cert.checkPrivateKey(createPrivateKey(pair.key));
  } catch (e) {
    throw new Error(`${what}: private key is not valid PEM`, { cause: e });
  }
  if (!ok) throw new Error(`${what}: private key does not match the certificate`);
}

/** Load the cert-dir pair, generating it (atomically, mode 0600 for the key) when absent. */
export async function loadOrGenerate(certFile: string, keyFile: string, hosts: string[]): Promise<ServingPair> {
  try {
    const pair = { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
    checkPair(pair, certFile);
    return pair;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const pair = await generateSelfSigned(hosts);
  await mkdir(dirname(certFile), { recursive: true, mode: 0o700 });
  await mkdir(dirname(keyFile), { recursive: true, mode: 0o700 });
  await writeFile(`${keyFile}.tmp`, pair.key, { mode: 0o600 });
  await rename(`${keyFile}.tmp`, keyFile);
  await writeFile(`${certFile}.tmp`, pair.cert, { mode: 0o644 });
  await rename(`${certFile}.tmp`, certFile);
  return pair;
}
