// Translation of the Go/k8s TLS flags (`--tls-min-version`, `--tls-cipher-suites`) into Node's
// `tls` options. Go names cipher suites by their IANA names, OpenSSL (hence Node) by its own;
// suites Node cannot offer (RC4, 3DES) or that TLS 1.3 fixes anyway are reported, not fatal,
// because upstream command lines often carry long hardening lists copied from kube-apiserver.

import type { SecureVersion } from 'node:tls';

const VERSIONS: Readonly<Record<string, SecureVersion>> = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};

export type TlsVersionResult = { ok: true; version: SecureVersion } | { ok: false; error: string };

export function tlsMinVersion(name: string): TlsVersionResult {
  const v = VERSIONS[name];
  if (v === undefined) {
    return {
      ok: false,
      error: `--tls-min-version: unknown tls version ${JSON.stringify(name)} (use one of ${Object.keys(VERSIONS).join(', ')})`,
    };
  }
  return { ok: true, version: v };
}

const CIPHERS: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
};

const TLS13 = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

export interface CipherMapping {
  /** OpenSSL cipher list for `tls.createServer({ ciphers })`; undefined keeps Node's default. */
  readonly ciphers: string | undefined;
  readonly warnings: readonly string[];
}

export function mapCipherSuites(names: readonly string[]): CipherMapping {
  const out: string[] = [];
  const warnings: string[] = [];
  for (const n of names) {
    const c = CIPHERS[n];
    if (c !== undefined) {
      if (!out.includes(c)) out.push(c);
    } else if (TLS13.has(n)) {
      warnings.push(
        `--tls-cipher-suites: ${n} is a TLS 1.3 suite; TLS 1.3 suites are not configurable and it is ignored`,
      );
    } else {
      warnings.push(`--tls-cipher-suites: ${n} is not supported by this implementation and is ignored`);
    }
  }
  if (names.length > 0 && out.length === 0) {
    warnings.push('--tls-cipher-suites: no usable TLS 1.2 suite given; using the default cipher list');
  }
  return { ciphers: out.length > 0 ? out.join(':') : undefined, warnings };
}
