// TLS flag translation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getCiphers } from 'node:tls';
import { mapCipherSuites, tlsMinVersion } from './tls.ts';

test('tlsMinVersion', () => {
  assert.deepEqual(tlsMinVersion('VersionTLS12'), { ok: true, version: 'TLSv1.2' });
  assert.deepEqual(tlsMinVersion('VersionTLS13'), { ok: true, version: 'TLSv1.3' });
  assert.equal(tlsMinVersion('TLS12').ok, false);
  assert.equal(tlsMinVersion('').ok, false);
});

test('mapCipherSuites maps Go names to ciphers Node knows', () => {
  const r = mapCipherSuites([
    'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
    'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
    'TLS_AES_128_GCM_SHA256',
    'TLS_RSA_WITH_RC4_128_SHA',
  ]);
  assert.equal(r.ciphers, 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305');
  assert.equal(r.warnings.length, 2);
  const known = new Set(getCiphers().map((c) => c.toUpperCase()));
  for (const c of r.ciphers.split(':')) assert.ok(known.has(c), c);
});

test('mapCipherSuites: nothing usable falls back to the default with a warning', () => {
  const r = mapCipherSuites(['bogus']);
  assert.equal(r.ciphers, undefined);
  assert.equal(r.warnings.length, 2);
  assert.deepEqual(mapCipherSuites([]), { ciphers: undefined, warnings: [] });
});
