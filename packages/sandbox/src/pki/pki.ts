// Certificates for the sandbox: one CA per cluster (plus its serving and client certificates),
// created with @peculiar/x509 on WebCrypto. ECDSA P-256 keeps generation fast enough to create several
// clusters at start-up; every client we care about (kubectl, Node TLS, Go) accepts it.

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const alg: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface KeyPair {
  /** PEM certificate */
  cert: string;
  /** PEM PKCS#8 private key */
  key: string;
}

export interface CertificateAuthority extends KeyPair {
  readonly name: string;
  issue(opts: IssueOptions): Promise<KeyPair>;
}

export interface IssueOptions {
  commonName: string;
  organizations?: string[];
  /** DNS names and IP addresses for serving certificates */
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client' | 'both';
  validDays?: number;
}

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

function subject(cn: string, orgs: string[] = []): string {
  // RFC 4514 string; escape the characters that would break parsing
  const esc = (v: string): string => v.replace(/([,+"\\<>;=])/g, '\\$1');
  return [`CN=${esc(cn)}`, ...orgs.map((o) => `O=${esc(o)}`)].join(', ');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

export async function createCA(name: string, validDays = 3650): Promise<CertificateAuthority> {
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subject(name),
    notBefore,
    notAfter: new Date(notBefore.getTime() + validDays * 86400_000),
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const caKey = pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const ca: CertificateAuthority = {
    name,
    cert: cert.toString('pem') + '\n',
    key: caKey,
    async issue(opts: IssueOptions): Promise<KeyPair> {
      const leafKeys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
      const eku: string[] = [];
      if (opts.usage !== 'client') eku.push(x509.ExtendedKeyUsage.serverAuth);
      if (opts.usage !== 'server') eku.push(x509.ExtendedKeyUsage.clientAuth);
      const sans: x509.JsonGeneralName[] = [
        ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
        ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
      ];
      const nb = new Date(Date.now() - 60_000);
      const extensions: x509.Extension[] = [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension(eku, false),
        await x509.AuthorityKeyIdentifierExtension.create(cert, false),
      ];
      if (sans.length) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: subject(opts.commonName, opts.organizations),
        issuer: cert.subject,
        notBefore: nb,
        notAfter: new Date(nb.getTime() + (opts.validDays ?? 365) * 86400_000),
        signingKey: keys.privateKey,
        publicKey: leafKeys.publicKey,
        signingAlgorithm: alg,
        extensions,
      });
      return {
        cert: leaf.toString('pem') + '\n',
        key: pemKey(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)),
      };
    },
  };
  return ca;
}
