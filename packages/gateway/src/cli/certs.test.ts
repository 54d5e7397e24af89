// `cluster-gateway certs`: the chain the aggregator verifies (CA → serving cert for the Service's
// DNS names), renewal with an existing CA, file modes, manifests, and refused input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { apiServiceManifest, checkCertsOptions, generateCerts, runCerts, serviceHosts } from './certs.ts';

test('the serving certificate is signed by the CA and names every Service DNS name', async () => {
  const c = await generateCerts({ namespace: 'vela-system', service: 'cluster-gateway', extraHosts: ['10.0.0.1'] });
  const ca = new X509Certificate(c.caCert);
  const leaf = new X509Certificate(c.cert);
  assert.ok(ca.ca);
  assert.ok(!leaf.ca);
  assert.ok(leaf.checkIssued(ca));
  assert.ok(leaf.verify(ca.publicKey));
  assert.ok(leaf.checkPrivateKey(createPrivateKey(c.key)));
  for (const h of serviceHosts('cluster-gateway', 'vela-system')) assert.equal(leaf.checkHost(h), h);
  assert.equal(leaf.checkHost('cluster-gateway.other.svc'), undefined);
  assert.equal(leaf.checkIP('10.0.0.1'), '10.0.0.1');
  const days = (Date.parse(leaf.validTo) - Date.now()) / 86400_000;
  assert.ok(days > 364 && days < 366, String(days));
  assert.ok(Date.parse(ca.validTo) > Date.parse(leaf.validTo));
});

test('renewal with the existing CA keeps the caBundle valid', async () => {
  const first = await generateCerts({ namespace: 'ns', service: 'svc' });
  const renewed = await generateCerts({
    namespace: 'ns',
    service: 'svc',
    days: 30,
    ca: { cert: first.caCert, key: first.caKey! },
  });
  assert.equal(renewed.caCert, first.caCert);
  assert.equal(renewed.caKey, undefined);
  assert.ok(new X509Certificate(renewed.cert).verify(new X509Certificate(first.caCert).publicKey));
  const other = await generateCerts({ namespace: 'ns', service: 'svc' });
  await assert.rejects(
    generateCerts({ namespace: 'ns', service: 'svc', ca: { cert: first.caCert, key: other.caKey! } }),
    /does not match/,
  );
  await assert.rejects(
    generateCerts({ namespace: 'ns', service: 'svc', ca: { cert: first.cert, key: first.key } }),
    /not a CA/,
  );
});

const badOptions = [
  { o: { namespace: 'Vela', service: 'gw' }, want: /--namespace "Vela"/ },
  { o: { namespace: 'ns', service: 'gw_1' }, want: /--service "gw_1"/ },
  { o: { namespace: 'ns', service: 'gw', days: 0 }, want: /--days/ },
  { o: { namespace: 'ns', service: 'gw', days: 1.5 }, want: /--days/ },
  { o: { namespace: '', service: '' }, want: /--namespace ""/ },
];
for (const c of badOptions)
  test(`refused: ${JSON.stringify(c.o)}`, async () => {
    assert.match(checkCertsOptions(c.o).join('; '), c.want);
    await assert.rejects(generateCerts(c.o), c.want);
  });

test('runCerts writes keys 0600 and manifests the hub accepts as they are', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'certs-'));
  try {
    const out: string[] = [];
    const files = await runCerts(
      {
        namespace: 'vela-system',
        service: 'cluster-gateway',
        outDir: dir,
        days: '365',
        manifests: true,
        servicePort: '443',
      },
      { write: (s: string) => out.push(s) },
    );
    assert.deepEqual(files, ['ca.crt', 'ca.key', 'tls.crt', 'tls.key', 'secret.yaml', 'apiservice.yaml']);
    for (const f of ['ca.key', 'tls.key', 'secret.yaml'])
      assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, f);
    assert.doesNotMatch(out.join(''), /PRIVATE KEY/);
    const secret = parse(await readFile(join(dir, 'secret.yaml'), 'utf8'));
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.equal(secret.metadata.name, 'cluster-gateway-tls');
    assert.equal(
      Buffer.from(secret.data['tls.key'], 'base64').toString(),
      await readFile(join(dir, 'tls.key'), 'utf8'),
    );
    const api = parse(await readFile(join(dir, 'apiservice.yaml'), 'utf8'));
    const ca = await readFile(join(dir, 'ca.crt'), 'utf8');
    assert.equal(api.spec.insecureSkipTLSVerify, undefined);
    assert.deepEqual(api, apiServiceManifest(ca, 'vela-system', 'cluster-gateway', 443));

    // renewal from the files just written
    const renewDir = join(dir, 'renew');
    await runCerts(
      {
        namespace: 'vela-system',
        service: 'cluster-gateway',
        outDir: renewDir,
        days: '30',
        manifests: false,
        servicePort: '443',
        caCert: join(dir, 'ca.crt'),
        caKey: join(dir, 'ca.key'),
      },
      { write: () => true },
    );
    assert.equal(await readFile(join(renewDir, 'ca.crt'), 'utf8'), ca);
    await assert.rejects(stat(join(renewDir, 'ca.key')), /ENOENT/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('runCerts refuses half a CA and a bad port', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'certs-'));
  try {
    await writeFile(join(dir, 'x'), '');
    const base = { namespace: 'ns', service: 'gw', outDir: dir, days: '1', manifests: false, servicePort: '443' };
    await assert.rejects(runCerts({ ...base, caCert: join(dir, 'x') }), /go together/);
    await assert.rejects(runCerts({ ...base, servicePort: '0' }), /--service-port/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
