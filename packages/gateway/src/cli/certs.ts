// `cluster-gateway certs`: the serving certificate of a deployed gateway. The hub's aggregator
// dials `<service>.<namespace>.svc` and verifies it against the APIService `caBundle`, so this
// writes a CA (`ca.crt`, `ca.key`) and a serving pair signed by it (`tls.crt`, `tls.key`) whose
// SANs are the Service's DNS names, and on request the `kubernetes.io/tls` Secret and the
// APIService (with the real `caBundle`, no insecureSkipTLSVerify) as manifests. Passing the
// existing CA (`--ca-cert`/`--ca-key`) renews the serving pair without touching the caBundle.
// Keys are ECDSA P-256, written with mode 0600; nothing secret is printed.

import 'reflect-metadata';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { Command } from 'commander';
import { stringify } from 'yaml';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const APISERVICE_NAME = 'v1alpha1.cluster.core.oam.dev';

export interface CertsOptions {
  namespace: string;
  service: string;
  /** validity of the serving certificate (the CA gets ten times as long) */
  days?: number;
  /** sign with this CA instead of generating one (PEM) */
  ca?: { cert: string; key: string };
  /** more SANs (DNS names or IP addresses) */
  extraHosts?: string[];
}

export interface GeneratedCerts {
  caCert: string;
  /** undefined when an existing CA was passed in (its key is not re-written) */
  caKey?: string;
  cert: string;
  key: string;
  hosts: string[];
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function serial(): string {
  // positive, 16 bytes: RFC 5280 caps serials at 20 octets and forbids negative ones
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

/** The DNS names a Service answers to inside the cluster, the ones the aggregator may dial. */
export function serviceHosts(service: string, namespace: string): string[] {
  return [
    service,
    `${service}.${namespace}`,
    `${service}.${namespace}.svc`,
    `${service}.${namespace}.svc.cluster.local`,
  ];
}

/** Problems with the options, all at once (empty when fine). */
export function checkCertsOptions(o: CertsOptions): string[] {
  const errs: string[] = [];
  if (!DNS_LABEL.test(o.namespace) || o.namespace.length > 63)
    errs.push(`--namespace ${JSON.stringify(o.namespace)} is not a valid namespace name (RFC 1123 label)`);
  if (!DNS_LABEL.test(o.service) || o.service.length > 63)
    errs.push(`--service ${JSON.stringify(o.service)} is not a valid Service name (RFC 1123 label)`);
  if (o.days !== undefined && (!Number.isInteger(o.days) || o.days < 1 || o.days > 3650))
    errs.push(`--days must be a whole number of days between 1 and 3650`);
  return errs;
}

async function importKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
}

export async function generateCerts(o: CertsOptions): Promise<GeneratedCerts> {
  const problems = checkCertsOptions(o);
  if (problems.length > 0) throw new Error(problems.join('; '));
  const days = o.days ?? 365;
  const notBefore = new Date(Date.now() - 5 * 60_000);
  let caCert: x509.X509Certificate;
  let caSigningKey: webcrypto.CryptoKey;
  let caKeyPem: string | undefined;
  if (o.ca) {
    caCert = new x509.X509Certificate(o.ca.cert);
    const native = new X509Certificate(o.ca.cert);
    if (!native.ca) throw new Error('--ca-cert is not a CA certificate (basicConstraints CA:FALSE)');
    if (!native.checkPrivateKey(createPrivateKey(o.ca.key))) throw new Error('--ca-key does not match --ca-cert');
    caSigningKey = await importKey(o.ca.key);
  } else {
    const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=cluster-gateway-ca@${Math.floor(Date.now() / 1000)}`,
      notBefore,
      notAfter: new Date(notBefore.getTime() + days * 10 * 86400_000),
      keys: caKeys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    caSigningKey = caKeys.privateKey;
    caKeyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', caKeys.privateKey));
  }
  const hosts = [...serviceHosts(o.service, o.namespace), ...(o.extraHosts ?? [])];
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${o.service}.${o.namespace}.svc`,
    issuer: caCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * 86400_000),
    publicKey: keys.publicKey,
    signingKey: caSigningKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((h): x509.JsonGeneralName =>
          /^[\d.]+$|:/.test(h) ? { type: 'ip', value: h } : { type: 'dns', value: h },
        ),
        false,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return {
    caCert: o.ca ? o.ca.cert : caCert.toString('pem') + '\n',
    ...(caKeyPem !== undefined ? { caKey: caKeyPem } : {}),
    cert: cert.toString('pem') + '\n',
    key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    hosts,
  };
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

/** The `kubernetes.io/tls` Secret the chart mounts (`tls.existingSecret`; default name `<service>-tls`). */
export function tlsSecretManifest(c: GeneratedCerts, namespace: string, name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'cluster-gateway' } },
    data: { 'tls.crt': b64(c.cert), 'tls.key': b64(c.key), 'ca.crt': b64(c.caCert) },
  };
}

/** The APIService of the chart's `templates/apiservice.yaml`, with the CA as caBundle. */
export function apiServiceManifest(
  caCert: string,
  namespace: string,
  service: string,
  port = 443,
): Record<string, unknown> {
  return {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: {
      name: APISERVICE_NAME,
      labels: {
        'app.kubernetes.io/name': 'cluster-gateway',
        'app.kubernetes.io/part-of': 'cluster-gateway',
        api: 'cluster-extension-apiserver',
        apiserver: 'true',
      },
    },
    spec: {
      group: 'cluster.core.oam.dev',
      version: 'v1alpha1',
      groupPriorityMinimum: 2000,
      versionPriority: 10,
      service: { name: service, namespace, port },
      caBundle: b64(caCert),
    },
  };
}

async function writeAtomic(path: string, content: string, mode: number): Promise<void> {
  await writeFile(`${path}.tmp`, content, { mode });
  await rename(`${path}.tmp`, path);
}

export interface CertsCommandOptions {
  namespace: string;
  service: string;
  outDir: string;
  days: string;
  caCert?: string;
  caKey?: string;
  host?: string[];
  manifests: boolean;
  secretName?: string;
  servicePort: string;
}

/** Runs the command; returns the files written (relative names). */
export async function runCerts(
  o: CertsCommandOptions,
  out: { write(s: string): unknown } = process.stdout,
): Promise<string[]> {
  if ((o.caCert === undefined) !== (o.caKey === undefined)) throw new Error('--ca-cert and --ca-key go together');
  const ca =
    o.caCert !== undefined && o.caKey !== undefined
      ? { cert: await readFile(o.caCert, 'utf8'), key: await readFile(o.caKey, 'utf8') }
      : undefined;
  const port = Number(o.servicePort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--service-port must be a port number');
  const certs = await generateCerts({
    namespace: o.namespace,
    service: o.service,
    days: Number(o.days),
    ...(ca ? { ca } : {}),
    ...(o.host ? { extraHosts: o.host } : {}),
  });
  await mkdir(o.outDir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  const put = async (name: string, content: string, mode: number): Promise<void> => {
    await writeAtomic(join(o.outDir, name), content, mode);
    written.push(name);
  };
  await put('ca.crt', certs.caCert, 0o644);
  if (certs.caKey !== undefined) await put('ca.key', certs.caKey, 0o600);
  await put('tls.crt', certs.cert, 0o644);
  await put('tls.key', certs.key, 0o600);
  if (o.manifests) {
    await put(
      'secret.yaml',
      stringify(tlsSecretManifest(certs, o.namespace, o.secretName ?? `${o.service}-tls`)),
      0o600,
    );
    await put('apiservice.yaml', stringify(apiServiceManifest(certs.caCert, o.namespace, o.service, port)), 0o644);
  }
  out.write(
    `wrote ${written.map((f) => join(o.outDir, f)).join(', ')}\n` +
      `serving certificate for ${certs.hosts.join(', ')}, valid ${o.days} days` +
      (certs.caKey !== undefined ? `; keep ca.key to renew it later with --ca-cert/--ca-key\n` : '\n'),
  );
  return written;
}

export function certsCommand(): Command {
  return new Command('certs')
    .description(
      'generate a CA and a serving certificate for the gateway Service (and, with --manifests, its TLS Secret and APIService)',
    )
    .requiredOption('--namespace <ns>', 'namespace of the gateway Service')
    .requiredOption('--service <name>', 'name of the gateway Service (the Helm release name)')
    .requiredOption('--out-dir <dir>', 'directory for ca.crt, ca.key, tls.crt, tls.key')
    .option('--days <n>', 'validity of the serving certificate in days (the CA: ten times as long)', '365')
    .option('--ca-cert <file>', 'sign with this CA certificate instead of a new one (renewal keeps the caBundle)')
    .option('--ca-key <file>', 'private key of --ca-cert')
    .option('--host <name>', 'an extra SAN (DNS name or IP); repeatable', (v: string, acc: string[] | undefined) => [
      ...(acc ?? []),
      v,
    ])
    .option('--manifests', 'also write secret.yaml (kubernetes.io/tls) and apiservice.yaml', false)
    .option('--secret-name <name>', 'name of the TLS Secret in secret.yaml (default <service>-tls)')
    .option('--service-port <port>', 'Service port in apiservice.yaml', '443')
    .action(async (opts: CertsCommandOptions) => {
      await runCerts(opts);
    });
}
