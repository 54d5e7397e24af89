// Secret (+ ManagedCluster) → Cluster → ClusterGateway: every label, data key and annotation of
// upstream §2, each malformed variant, the OCM merge, redaction, and the upstream sample Secrets.

import { readFile } from 'node:fs/promises';
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYAML } from 'yaml';
import {
  convertSecret,
  invalidToError,
  invalidToStatusMessage,
  maxResourceVersion,
  parseGoBool,
  toClusterGateway,
  WARNING_NO_CA,
} from './convert.ts';
import type {
  ConvertOptions,
  ConvertResult,
  ManagedClusterCondition,
  ManagedClusterLike,
  SecretLike,
} from './convert.ts';
import type { Cluster } from './types.ts';
import {
  ANNOTATION_CREDENTIALS_REDACTED,
  ANNOTATION_HEALTHY,
  ANNOTATION_HEALTHY_REASON,
  ANNOTATION_PROXY_CONFIG,
  LABEL_CREDENTIAL_TYPE,
  LABEL_ENDPOINT_TYPE,
} from './types.ts';
import { testPKI } from './testdata/pki.ts';
import type { TestPKI } from './testdata/pki.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

let pki: TestPKI;
before(async () => {
  pki = await testPKI();
});

interface SecretSpec {
  name?: string;
  credType?: string | undefined;
  endpointType?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** plain values, base64-encoded by the helper; `undefined` removes a default */
  data?: Record<string, string | undefined>;
  rv?: string;
}

/** An SA-token Const Secret with a CA by default; `spec` overrides. */
function secret(spec: SecretSpec = {}): SecretLike {
  const labels: Record<string, string> = { ...(spec.labels ?? {}) };
  const credType = 'credType' in spec ? spec.credType : 'ServiceAccountToken';
  if (credType !== undefined) labels[LABEL_CREDENTIAL_TYPE] = credType;
  if (spec.endpointType !== undefined) labels[LABEL_ENDPOINT_TYPE] = spec.endpointType;
  const plain: Record<string, string | undefined> = {
    endpoint: 'https://10.0.0.1:6443',
    'ca.crt': pki.caCert,
    token: 'abc.def.ghi',
    ...(spec.data ?? {}),
  };
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(plain)) if (v !== undefined) data[k] = b64(v);
  return {
    metadata: {
      name: spec.name ?? 'c1',
      uid: 'uid-1',
      resourceVersion: spec.rv ?? '42',
      creationTimestamp: '2024-01-02T03:04:05Z',
      labels,
      ...(spec.annotations ? { annotations: spec.annotations } : {}),
    },
    data,
  };
}

const defaults: ConvertOptions = {
  featureGates: { HealthinessCheck: false, ClientIdentityPenetration: false },
  insecureWithoutCA: true,
};

function ok(r: ConvertResult): Cluster {
  if (!r.ok) assert.fail(`expected a cluster, got ${JSON.stringify(r)}`);
  return r.cluster;
}

function invalid(r: ConvertResult): string {
  if (r.ok || !('invalid' in r)) assert.fail(`expected invalid, got ${JSON.stringify(r)}`);
  return r.invalid.reason;
}

interface MCSpec {
  url?: string;
  ca?: string;
  conditions?: ManagedClusterCondition[];
  rv?: string;
  configs?: { url?: string; caBundle?: string }[];
}

function mc(spec: MCSpec): ManagedClusterLike {
  return {
    metadata: { name: 'c1', resourceVersion: spec.rv ?? '40' },
    spec: {
      managedClusterClientConfigs:
        spec.configs ??
        (spec.url === undefined ? [] : [{ url: spec.url, ...(spec.ca ? { caBundle: b64(spec.ca) } : {}) }]),
    },
    status: { conditions: spec.conditions ?? [] },
  };
}

describe('convertSecret: labels', () => {
  test('no credential-type label: not a cluster', () => {
    assert.deepEqual(convertSecret(secret({ credType: undefined }), defaults), { ok: false, notACluster: true });
  });
  test('unknown credential type uses upstream wording', () => {
    assert.equal(
      invalid(convertSecret(secret({ credType: 'X509' }), defaults)),
      'unrecognized secret credential type X509',
    );
  });
  test('empty credential type is unrecognized', () => {
    assert.match(invalid(convertSecret(secret({ credType: '' }), defaults)), /unrecognized secret credential type $/);
  });
  const endpointTypes: [string | undefined, string][] = [
    [undefined, 'Const'],
    ['', 'Const'],
    ['Const', 'Const'],
    ['ClusterProxy', 'ClusterProxy'],
    ['Direct', 'Direct'],
  ];
  for (const [label, want] of endpointTypes) {
    test(`endpoint-type label ${JSON.stringify(label)} → ${want}`, () => {
      const c = ok(convertSecret(secret(label === undefined ? {} : { endpointType: label }), defaults));
      assert.equal(c.endpoint.type, want);
      assert.equal(
        c.warnings.some((w) => w.includes('unsupported cluster gateway endpoint type')),
        want === 'Direct',
      );
    });
  }
  test('unknown endpoint type still needs an endpoint (Const branch)', () => {
    assert.match(
      invalid(convertSecret(secret({ endpointType: 'Direct', data: { endpoint: undefined } }), defaults)),
      /missing secret data key: endpoint/,
    );
  });
  test('labels, annotations and metadata are copied', () => {
    const c = ok(convertSecret(secret({ labels: { env: 'prod' }, annotations: { note: 'x' } }), defaults));
    assert.equal(c.name, 'c1');
    assert.equal(c.uid, 'uid-1');
    assert.equal(c.creationTimestamp, '2024-01-02T03:04:05Z');
    assert.equal(c.resourceVersion, '42');
    assert.deepEqual(c.source, { secretResourceVersion: '42' });
    assert.equal(c.labels.env, 'prod');
    assert.equal(c.labels[LABEL_CREDENTIAL_TYPE], 'ServiceAccountToken');
    assert.deepEqual(c.annotations, { note: 'x' });
  });
  test('a Date creationTimestamp (client-node V1Secret) is rendered as RFC3339', () => {
    const s = secret();
    s.metadata!.creationTimestamp = new Date('2024-05-06T07:08:09.123Z');
    assert.equal(ok(convertSecret(s, defaults)).creationTimestamp, '2024-05-06T07:08:09Z');
  });
  test('a Secret without data reports every missing key', () => {
    const s = secret();
    delete s.data;
    const reason = invalid(convertSecret(s, defaults));
    assert.match(reason, /missing secret data key: endpoint/);
    assert.match(reason, /missing secret data key: token/);
  });
});

describe('convertSecret: endpoint', () => {
  const cases: { name: string; endpoint: string | undefined; address?: string; error?: RegExp; warning?: RegExp }[] = [
    { name: 'plain https', endpoint: 'https://10.0.0.1:6443', address: 'https://10.0.0.1:6443' },
    { name: 'one trailing newline trimmed', endpoint: 'https://10.0.0.1:6443\n', address: 'https://10.0.0.1:6443' },
    { name: 'sub-path kept', endpoint: 'https://lb.example.com/k8s/c1', address: 'https://lb.example.com/k8s/c1' },
    { name: 'http accepted', endpoint: 'http://10.0.0.1:8080', address: 'http://10.0.0.1:8080' },
    { name: 'IPv6', endpoint: 'https://[::1]:6443', address: 'https://[::1]:6443' },
    {
      name: 'bare host:port gets https (client-go DefaultServerURL)',
      endpoint: '10.0.0.1:6443',
      address: 'https://10.0.0.1:6443',
      warning: /no scheme; https:\/\/ assumed/,
    },
    { name: 'missing', endpoint: undefined, error: /^missing secret data key: endpoint/ },
    { name: 'empty', endpoint: '', error: /^missing secret data key: endpoint/ },
    { name: 'only a newline', endpoint: '\n', error: /^missing secret data key: endpoint/ },
    { name: 'two trailing newlines', endpoint: 'https://a\n\n', error: /whitespace or control/ },
    { name: 'inner space', endpoint: 'https://a b', error: /whitespace or control/ },
    { name: 'not a URL', endpoint: 'https://', error: /is not a valid URL/ },
    { name: 'ftp scheme', endpoint: 'ftp://10.0.0.1', error: /must be an https:\/\/ \(or http:\/\/\) URL, not ftp:/ },
    { name: 'query', endpoint: 'https://10.0.0.1?x=1', error: /must not have a query or fragment/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = convertSecret(secret({ data: { endpoint: c.endpoint } }), defaults);
      if (c.error) assert.match(invalid(r), c.error);
      else {
        const cl = ok(r);
        assert.equal(cl.endpoint.address, c.address);
        if (c.warning)
          assert.ok(
            cl.warnings.some((w) => c.warning!.test(w)),
            cl.warnings.join('|'),
          );
        else assert.deepEqual(cl.warnings, []);
      }
    });
  }
  test('ClusterProxy needs no endpoint: address is https://{name}', () => {
    const c = ok(convertSecret(secret({ endpointType: 'ClusterProxy', data: { endpoint: undefined } }), defaults));
    assert.equal(c.endpoint.address, 'https://c1');
    assert.equal(c.endpoint.type, 'ClusterProxy');
  });
  test('ClusterProxy ignores a given endpoint', () => {
    const c = ok(convertSecret(secret({ endpointType: 'ClusterProxy', data: { endpoint: 'not a url' } }), defaults));
    assert.equal(c.endpoint.address, 'https://c1');
  });
});

describe('convertSecret: CA bundle', () => {
  test('ca.crt is used', () => {
    const c = ok(convertSecret(secret(), defaults));
    assert.equal(c.endpoint.caBundle?.toString(), pki.caCert);
    assert.equal(c.endpoint.insecure, false);
  });
  test('ca is the fallback', () => {
    const c = ok(convertSecret(secret({ data: { 'ca.crt': undefined, ca: pki.caCert } }), defaults));
    assert.equal(c.endpoint.caBundle?.toString(), pki.caCert);
  });
  test('ca.crt wins over ca', () => {
    const c = ok(convertSecret(secret({ data: { ca: 'garbage' } }), defaults));
    assert.equal(c.endpoint.caBundle?.toString(), pki.caCert);
  });
  test('a bundle of two certificates with text around them is accepted', () => {
    const bundle = `subject=CN=test\n${pki.caCert}\n# comment\n${pki.caCert}`;
    assert.ok(ok(convertSecret(secret({ data: { 'ca.crt': bundle } }), defaults)).endpoint.caBundle);
  });
  test('no CA: insecure with a warning (upstream default)', () => {
    const c = ok(convertSecret(secret({ data: { 'ca.crt': undefined } }), defaults));
    assert.equal(c.endpoint.insecure, true);
    assert.equal(c.endpoint.caBundle, undefined);
    assert.deepEqual(c.warnings, [WARNING_NO_CA]);
  });
  test('no CA with --insecure-without-ca=false: invalid', () => {
    assert.equal(
      invalid(convertSecret(secret({ data: { 'ca.crt': undefined } }), { ...defaults, insecureWithoutCA: false })),
      'no CA bundle and --insecure-without-ca=false',
    );
  });
  test('an empty ca.crt means the system trust store, not insecure (as upstream)', () => {
    const c = ok(convertSecret(secret({ data: { 'ca.crt': '' } }), defaults));
    assert.equal(c.endpoint.insecure, false);
    assert.equal(c.endpoint.caBundle, undefined);
    assert.match(c.warnings.join('|'), /system trust store/);
  });
  test('garbage CA: invalid, not silently insecure', () => {
    assert.match(
      invalid(convertSecret(secret({ data: { 'ca.crt': 'hello' } }), defaults)),
      /does not contain a PEM certificate/,
    );
  });
  test('corrupted PEM block: invalid', () => {
    const bad = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    assert.match(
      invalid(convertSecret(secret({ data: { 'ca.crt': bad } }), defaults)),
      /certificate #1 is not a valid PEM/,
    );
  });
});

describe('convertSecret: proxy-url', () => {
  const cases: [string, string | RegExp][] = [
    ['http://proxy:3128', 'http://proxy:3128'],
    ['https://proxy:3129', 'https://proxy:3129'],
    ['socks5://127.0.0.1:1080', 'socks5://127.0.0.1:1080'],
    ['socks5h://user:pw@proxy:1080', 'socks5h://user:pw@proxy:1080'],
    ['http://proxy:3128\n', 'http://proxy:3128'],
    ['ftp://proxy', /unsupported scheme ftp:/],
    ['proxy:3128', /unsupported scheme proxy:/],
    ['::', /is not a valid URL/],
  ];
  for (const [value, want] of cases) {
    test(JSON.stringify(value), () => {
      const r = convertSecret(secret({ data: { 'proxy-url': value } }), defaults);
      if (typeof want === 'string') assert.equal(ok(r).endpoint.proxyURL, want);
      else assert.match(invalid(r), want);
    });
  }
  test('empty proxy-url is ignored', () => {
    assert.equal(ok(convertSecret(secret({ data: { 'proxy-url': '' } }), defaults)).endpoint.proxyURL, undefined);
  });
});

describe('convertSecret: ServiceAccountToken', () => {
  const cases: [string | undefined, string | RegExp][] = [
    ['abc.def.ghi', 'abc.def.ghi'],
    ['abc.def.ghi\n', 'abc.def.ghi'],
    ['abc.def.ghi\r\n', 'abc.def.ghi'],
    [undefined, /^missing secret data key: token$/],
    ['', /^secret data key token is empty$/],
    ['\n', /^secret data key token is empty$/],
    ['abc def', /whitespace or control characters/],
  ];
  for (const [token, want] of cases) {
    test(JSON.stringify(token), () => {
      const r = convertSecret(secret({ data: { token } }), defaults);
      if (typeof want === 'string') assert.deepEqual(ok(r).credential, { type: 'ServiceAccountToken', token: want });
      else assert.match(invalid(r), want);
    });
  }
});

describe('convertSecret: X509Certificate', () => {
  const x509 = (data: Record<string, string | undefined>): SecretLike =>
    secret({ credType: 'X509Certificate', data: { token: undefined, ...data } });
  test('valid pair', () => {
    const c = ok(convertSecret(x509({ 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey }), defaults));
    assert.equal(c.credential?.type, 'X509Certificate');
    if (c.credential?.type !== 'X509Certificate') return;
    assert.equal(c.credential.certificate.toString(), pki.clientCert);
    assert.equal(c.credential.privateKey.toString(), pki.clientKey);
    assert.deepEqual(c.warnings, []);
  });
  const bad: [string, () => Record<string, string>, RegExp][] = [
    ['missing tls.key', () => ({ 'tls.crt': pki.clientCert }), /^missing secret data key: tls\.key$/],
    ['missing tls.crt', () => ({ 'tls.key': pki.clientKey }), /^missing secret data key: tls\.crt$/],
    ['missing both', () => ({}), /^missing secret data key: tls\.crt; missing secret data key: tls\.key$/],
    ['empty key', () => ({ 'tls.crt': pki.clientCert, 'tls.key': '' }), /^missing secret data key: tls\.key$/],
    [
      'cert not PEM',
      () => ({ 'tls.crt': 'nope', 'tls.key': pki.clientKey }),
      /tls\.crt does not contain a PEM certificate/,
    ],
    [
      'key not PEM',
      () => ({ 'tls.crt': pki.clientCert, 'tls.key': 'nope' }),
      /tls\.key is not a valid PEM private key/,
    ],
    [
      'cert and key swapped',
      () => ({ 'tls.crt': pki.clientKey, 'tls.key': pki.clientCert }),
      /tls\.crt does not contain/,
    ],
    [
      'key does not match',
      () => ({ 'tls.crt': pki.clientCert, 'tls.key': pki.otherKey }),
      /^tls\.key does not match the certificate in tls\.crt$/,
    ],
  ];
  for (const [name, data, want] of bad) {
    test(name, () => {
      assert.match(invalid(convertSecret(x509(data()), defaults)), want);
    });
  }
  test('an expired certificate is served with a warning', () => {
    const c = ok(convertSecret(x509({ 'tls.crt': pki.expiredCert, 'tls.key': pki.expiredKey }), defaults));
    assert.match(c.warnings.join('|'), /client certificate expired/);
  });
});

describe('convertSecret: Dynamic', () => {
  const dyn = (exec: string | undefined): SecretLike =>
    secret({ credType: 'Dynamic', data: { token: undefined, exec } });
  test('valid exec config', () => {
    const exec = {
      apiVersion: 'client.authentication.k8s.io/v1',
      command: 'get-token',
      args: ['--x'],
      env: [{ name: 'A', value: 'b' }],
    };
    const c = ok(convertSecret(dyn(JSON.stringify(exec)), defaults));
    assert.deepEqual(c.credential, { type: 'Dynamic', exec });
  });
  test('v1beta1 accepted', () => {
    const c = ok(convertSecret(dyn('{"apiVersion":"client.authentication.k8s.io/v1beta1","command":"x"}'), defaults));
    assert.equal(c.credential?.type, 'Dynamic');
  });
  const bad: [string, string | undefined, RegExp][] = [
    ['missing exec', undefined, /^missing secret data key: exec$/],
    ['not JSON', '{', /^failed to decode exec config JSON from secret data: /],
    ['JSON array', '[]', /^failed to decode exec config JSON from secret data: not a JSON object$/],
    [
      'missing command',
      '{"apiVersion":"client.authentication.k8s.io/v1"}',
      /^missing "command" property on exec config object$/,
    ],
    [
      'wrong apiVersion',
      '{"apiVersion":"client.authentication.k8s.io/v1alpha1","command":"x"}',
      /^exec plugin: invalid apiVersion "client\.authentication\.k8s\.io\/v1alpha1"$/,
    ],
    ['no apiVersion', '{"command":"x"}', /^exec plugin: invalid apiVersion ""$/],
    [
      'args not a list',
      '{"apiVersion":"client.authentication.k8s.io/v1","command":"x","args":"a"}',
      /^failed to decode exec config JSON from secret data: args: /,
    ],
    [
      'env entry without value',
      '{"apiVersion":"client.authentication.k8s.io/v1","command":"x","env":[{"name":"a"}]}',
      /env\[0\]\.value/,
    ],
  ];
  for (const [name, exec, want] of bad) {
    test(name, () => {
      assert.match(invalid(convertSecret(dyn(exec), defaults)), want);
    });
  }
});

describe('convertSecret: health annotations', () => {
  const on: ConvertOptions = {
    ...defaults,
    featureGates: { HealthinessCheck: true, ClientIdentityPenetration: false },
  };
  test('gate off: always unhealthy, annotations ignored', () => {
    const c = ok(
      convertSecret(
        secret({ annotations: { [ANNOTATION_HEALTHY]: 'true', [ANNOTATION_HEALTHY_REASON]: 'r' } }),
        defaults,
      ),
    );
    assert.equal(c.healthy, false);
    assert.equal(c.healthyReason, undefined);
  });
  test('gate on: True + MyReason', () => {
    const c = ok(
      convertSecret(
        secret({ annotations: { [ANNOTATION_HEALTHY]: 'True', [ANNOTATION_HEALTHY_REASON]: 'MyReason' } }),
        on,
      ),
    );
    assert.equal(c.healthy, true);
    assert.equal(c.healthyReason, 'MyReason');
  });
  test('gate on, no annotation: unhealthy', () => {
    const c = ok(convertSecret(secret(), on));
    assert.equal(c.healthy, false);
    assert.equal(c.healthyReason, undefined);
  });
  for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']) {
    test(`Go bool ${v}`, () => {
      const c = ok(convertSecret(secret({ annotations: { [ANNOTATION_HEALTHY]: v } }), on));
      assert.equal(c.healthy, ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v));
    });
  }
  for (const v of ['yes', 'tRUE', '', ' true']) {
    test(`bad value ${JSON.stringify(v)}: unhealthy, named in reason and warning (cluster kept)`, () => {
      const c = ok(
        convertSecret(secret({ annotations: { [ANNOTATION_HEALTHY]: v, [ANNOTATION_HEALTHY_REASON]: 'r' } }), on),
      );
      assert.equal(c.healthy, false);
      assert.match(c.healthyReason ?? '', new RegExp(`invalid annotation ${ANNOTATION_HEALTHY.replace(/\./g, '\\.')}`));
      assert.ok(c.warnings.includes(c.healthyReason!));
    });
  }
  test('parseGoBool', () => {
    assert.equal(parseGoBool('t'), true);
    assert.equal(parseGoBool('F'), false);
    assert.equal(parseGoBool('yes'), undefined);
  });
});

describe('convertSecret: proxy-configuration annotation', () => {
  const on: ConvertOptions = {
    ...defaults,
    featureGates: { HealthinessCheck: false, ClientIdentityPenetration: true },
  };
  const doc = `
spec:
  clientIdentityExchanger:
    rules:
      - name: super-user
        type: PrivilegedIdentityExchanger
        source: { group: sudoer, cluster: other }
      - name: no-source
        type: PrivilegedIdentityExchanger
`;
  test('gate on: rules parsed, source.cluster forced, rule without source dropped with warning', () => {
    const c = ok(convertSecret(secret({ annotations: { [ANNOTATION_PROXY_CONFIG]: doc } }), on));
    assert.deepEqual(c.exchangeRules, [
      { name: 'super-user', type: 'PrivilegedIdentityExchanger', source: { group: 'sudoer', cluster: 'c1' } },
    ]);
    assert.equal(c.warnings.length, 1);
    assert.match(c.warnings[0]!, /no-source.*no source/);
  });
  test('gate off: annotation ignored', () => {
    const c = ok(convertSecret(secret({ annotations: { [ANNOTATION_PROXY_CONFIG]: doc } }), defaults));
    assert.deepEqual(c.exchangeRules, []);
    assert.deepEqual(c.warnings, []);
  });
  test('JSON document', () => {
    const json = JSON.stringify({
      spec: {
        clientIdentityExchanger: {
          rules: [{ name: 'm', type: 'StaticMappingIdentityExchanger', source: { user: 'a' }, target: { user: 'b' } }],
        },
      },
    });
    const c = ok(convertSecret(secret({ annotations: { [ANNOTATION_PROXY_CONFIG]: json } }), on));
    assert.deepEqual(c.exchangeRules[0]?.target, { user: 'b' });
    assert.equal(c.exchangeRules[0]?.source?.cluster, 'c1');
  });
  for (const [name, bad] of [
    ['not YAML', 'spec: [unclosed'],
    ['wrong type', 'spec: { clientIdentityExchanger: { rules: 3 } }'],
  ]) {
    test(`${name}: warning, no rules, cluster kept`, () => {
      const c = ok(convertSecret(secret({ annotations: { [ANNOTATION_PROXY_CONFIG]: bad! } }), on));
      assert.deepEqual(c.exchangeRules, []);
      assert.equal(c.warnings.length, 1);
      assert.match(c.warnings[0]!, new RegExp(`^annotation ${ANNOTATION_PROXY_CONFIG}: `));
    });
  }
});

describe('convertSecret: OCM ManagedCluster merge', () => {
  const available = (status: string, reason = 'ManagedClusterAvailable', message = 'Managed cluster is available') => ({
    type: 'ManagedClusterConditionAvailable',
    status,
    reason,
    message,
  });
  test('URL and CA come from the ManagedCluster; the Secret ones are ignored', () => {
    const c = ok(
      convertSecret(secret({ data: { endpoint: 'https://ignored:1', 'ca.crt': 'ignored garbage' } }), {
        ...defaults,
        managedCluster: mc({ url: 'https://mc.example:6443', ca: pki.caCert, conditions: [available('True')] }),
      }),
    );
    assert.equal(c.endpoint.address, 'https://mc.example:6443');
    assert.equal(c.endpoint.caBundle?.toString(), pki.caCert);
    assert.equal(c.endpoint.insecure, false);
    assert.equal(c.healthy, true);
    assert.equal(c.healthyReason, 'ManagedClusterAvailable: Managed cluster is available');
    assert.deepEqual(c.source, { secretResourceVersion: '42', managedClusterResourceVersion: '40' });
  });
  test('Secret proxy-url still applies', () => {
    const c = ok(
      convertSecret(secret({ data: { 'proxy-url': 'socks5://p:1080' } }), {
        ...defaults,
        managedCluster: mc({ url: 'https://mc:6443' }),
      }),
    );
    assert.equal(c.endpoint.proxyURL, 'socks5://p:1080');
  });
  test('no CA on the ManagedCluster: system trust store, never insecure', () => {
    const c = ok(
      convertSecret(secret({ data: { 'ca.crt': undefined } }), {
        ...defaults,
        insecureWithoutCA: false,
        managedCluster: mc({ url: 'https://mc:6443' }),
      }),
    );
    assert.equal(c.endpoint.insecure, false);
    assert.equal(c.endpoint.caBundle, undefined);
    assert.deepEqual(c.warnings, []);
  });
  test('bad CA on the ManagedCluster: invalid', () => {
    assert.match(
      invalid(convertSecret(secret(), { ...defaults, managedCluster: mc({ url: 'https://mc:6443', ca: 'junk' }) })),
      /ManagedCluster caBundle does not contain a PEM certificate/,
    );
  });
  test('no client configs: a Const cluster is invalid', () => {
    assert.match(
      invalid(convertSecret(secret(), { ...defaults, managedCluster: mc({}) })),
      /ManagedCluster has no spec\.managedClusterClientConfigs\[0\]\.url/,
    );
  });
  test('no client configs: a ClusterProxy cluster is fine', () => {
    const c = ok(convertSecret(secret({ endpointType: 'ClusterProxy' }), { ...defaults, managedCluster: mc({}) }));
    assert.equal(c.endpoint.address, 'https://c1');
  });
  test('only the first client config is used', () => {
    const c = ok(
      convertSecret(secret(), {
        ...defaults,
        managedCluster: mc({ configs: [{ url: 'https://first:6443' }, { url: 'https://second:6443' }] }),
      }),
    );
    assert.equal(c.endpoint.address, 'https://first:6443');
  });
  const health: [string, ManagedClusterCondition[], boolean, RegExp][] = [
    ['True', [available('True')], true, /^ManagedClusterAvailable: Managed cluster is available$/],
    [
      'False',
      [available('False', 'ManagedClusterLeaseUpdateStopped', 'lease not updated')],
      false,
      /^ManagedClusterConditionAvailable=False: ManagedClusterLeaseUpdateStopped: lease not updated$/,
    ],
    [
      'Unknown',
      [available('Unknown', 'ManagedClusterLeaseUpdateStopped', '')],
      false,
      /^ManagedClusterConditionAvailable=Unknown: ManagedClusterLeaseUpdateStopped$/,
    ],
    ['absent', [{ type: 'ManagedClusterJoined', status: 'True' }], false, /not reported/],
  ];
  for (const [name, conditions, healthy, reason] of health) {
    test(`ManagedClusterConditionAvailable ${name}`, () => {
      const c = ok(
        convertSecret(secret(), { ...defaults, managedCluster: mc({ url: 'https://mc:6443', conditions }) }),
      );
      assert.equal(c.healthy, healthy);
      assert.match(c.healthyReason ?? '', reason);
    });
  }
  test('ManagedCluster health wins over the annotations, with or without HealthinessCheck', () => {
    for (const gate of [true, false]) {
      const c = ok(
        convertSecret(
          secret({ annotations: { [ANNOTATION_HEALTHY]: 'true', [ANNOTATION_HEALTHY_REASON]: 'annotated' } }),
          {
            ...defaults,
            featureGates: { HealthinessCheck: gate, ClientIdentityPenetration: false },
            managedCluster: mc({ url: 'https://mc:6443', conditions: [available('False')] }),
          },
        ),
      );
      assert.equal(c.healthy, false);
      assert.match(c.healthyReason ?? '', /=False/);
    }
  });
  test('resourceVersion is the larger of Secret and ManagedCluster', () => {
    const c = ok(
      convertSecret(secret({ rv: '99' }), { ...defaults, managedCluster: mc({ url: 'https://mc:6443', rv: '100' }) }),
    );
    assert.equal(c.resourceVersion, '100');
    const d = ok(
      convertSecret(secret({ rv: '101' }), { ...defaults, managedCluster: mc({ url: 'https://mc:6443', rv: '100' }) }),
    );
    assert.equal(d.resourceVersion, '101');
  });
  test('maxResourceVersion', () => {
    assert.equal(maxResourceVersion('9', '10'), '10');
    assert.equal(maxResourceVersion('18446744073709551616', '18446744073709551615'), '18446744073709551616');
    assert.equal(maxResourceVersion('a', '10'), 'a');
    assert.equal(maxResourceVersion('5', undefined), '5');
  });
});

describe('convertSecret: several problems are reported together', () => {
  test('endpoint, CA and token', () => {
    const reason = invalid(
      convertSecret(secret({ data: { endpoint: 'ftp://x', 'ca.crt': 'junk', token: '' } }), defaults),
    );
    assert.equal(reason.split('; ').length, 3, reason);
    const r = convertSecret(secret({ data: { token: '' } }), defaults);
    assert.ok(!r.ok && 'invalid' in r);
    if (!r.ok && 'invalid' in r) {
      assert.deepEqual(r.invalid, {
        name: 'c1',
        reason: 'secret data key token is empty',
        secretResourceVersion: '42',
      });
      assert.equal(invalidToStatusMessage(r.invalid), 'cluster "c1" is misconfigured: secret data key token is empty');
      const e = invalidToError(r.invalid);
      assert.equal(e.code, 500);
      assert.equal(e.toStatus().details?.name, 'c1');
    }
  });
});

describe('toClusterGateway', () => {
  const conv = (s: SecretLike, o: Partial<ConvertOptions> = {}): Cluster => ok(convertSecret(s, { ...defaults, ...o }));

  test('SA token redacted by default, shape kept', () => {
    const gw = toClusterGateway(conv(secret({ annotations: { note: 'n' } })), { exposeCredentials: false });
    assert.deepEqual(gw.spec, {
      provider: '',
      access: {
        endpoint: { type: 'Const', const: { address: 'https://10.0.0.1:6443', caBundle: b64(pki.caCert) } },
        credential: { type: 'ServiceAccountToken', serviceAccountToken: '<redacted>' },
      },
    });
    assert.equal(gw.apiVersion, 'cluster.core.oam.dev/v1alpha1');
    assert.equal(gw.kind, 'ClusterGateway');
    assert.deepEqual(gw.metadata.annotations, { note: 'n', [ANNOTATION_CREDENTIALS_REDACTED]: 'true' });
    assert.ok(!JSON.stringify(gw).includes('abc.def.ghi'));
  });
  test('SA token exposed with --expose-credentials', () => {
    const gw = toClusterGateway(conv(secret()), { exposeCredentials: true });
    assert.equal(gw.spec.access.credential?.serviceAccountToken, 'abc.def.ghi');
    assert.equal(gw.metadata.annotations, undefined);
  });
  test('X509: certificate kept, key omitted when redacted; both base64 when exposed', () => {
    const c = conv(
      secret({
        credType: 'X509Certificate',
        data: { token: undefined, 'tls.crt': pki.clientCert, 'tls.key': pki.clientKey },
      }),
    );
    const red = toClusterGateway(c, { exposeCredentials: false });
    assert.deepEqual(red.spec.access.credential, {
      type: 'X509Certificate',
      x509: { certificate: b64(pki.clientCert) },
    });
    assert.ok(!JSON.stringify(red).includes(b64(pki.clientKey)));
    const exp = toClusterGateway(c, { exposeCredentials: true });
    assert.deepEqual(exp.spec.access.credential, {
      type: 'X509Certificate',
      x509: { certificate: b64(pki.clientCert), privateKey: b64(pki.clientKey) },
    });
  });
  test('Dynamic: type only', () => {
    const c = conv(
      secret({
        credType: 'Dynamic',
        data: { token: undefined, exec: '{"apiVersion":"client.authentication.k8s.io/v1","command":"x"}' },
      }),
    );
    assert.deepEqual(toClusterGateway(c, { exposeCredentials: true }).spec.access.credential, { type: 'Dynamic' });
  });
  test('ClusterProxy: no const block', () => {
    const gw = toClusterGateway(conv(secret({ endpointType: 'ClusterProxy' })), { exposeCredentials: false });
    assert.deepEqual(gw.spec.access.endpoint, { type: 'ClusterProxy' });
  });
  test('insecure and proxy-url', () => {
    const gw = toClusterGateway(conv(secret({ data: { 'ca.crt': undefined, 'proxy-url': 'http://p:3128' } })), {
      exposeCredentials: false,
    });
    assert.deepEqual(gw.spec.access.endpoint.const, {
      address: 'https://10.0.0.1:6443',
      insecure: true,
      'proxy-url': 'http://p:3128',
    });
    assert.deepEqual(
      gw.status.conditions?.find((c) => c.type === 'TLSVerified'),
      { type: 'TLSVerified', status: 'False', reason: 'NoCABundle', message: WARNING_NO_CA },
    );
  });
  test('metadata: name, uid, resourceVersion, creationTimestamp, labels; last-applied-configuration dropped', () => {
    const gw = toClusterGateway(
      conv(
        secret({
          labels: { env: 'prod' },
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"token":"x"}}' },
        }),
      ),
      { exposeCredentials: true },
    );
    assert.deepEqual(gw.metadata, {
      name: 'c1',
      uid: 'uid-1',
      resourceVersion: '42',
      creationTimestamp: '2024-01-02T03:04:05Z',
      labels: { env: 'prod', [LABEL_CREDENTIAL_TYPE]: 'ServiceAccountToken' },
    });
  });
  test('status: healthy always present, reason only when set, conditions', () => {
    const gw = toClusterGateway(conv(secret()), { exposeCredentials: false });
    assert.equal(gw.status.healthy, false);
    assert.ok(!('healthyReason' in gw.status));
    assert.deepEqual(
      gw.status.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Ready', 'True', 'Valid'],
        ['TLSVerified', 'True', 'CABundle'],
      ],
    );
    const h = toClusterGateway(
      conv(secret({ annotations: { [ANNOTATION_HEALTHY]: 'true', [ANNOTATION_HEALTHY_REASON]: 'ok' } }), {
        featureGates: { HealthinessCheck: true, ClientIdentityPenetration: false },
      }),
      { exposeCredentials: false },
    );
    assert.equal(h.status.healthy, true);
    assert.equal(h.status.healthyReason, 'ok');
  });
  test('unknown endpoint type: Ready=False InvalidEndpointType; system trust store condition', () => {
    const gw = toClusterGateway(conv(secret({ endpointType: 'Direct', data: { 'ca.crt': '' } })), {
      exposeCredentials: false,
    });
    assert.equal(gw.spec.access.endpoint.type, 'Direct');
    assert.ok(gw.spec.access.endpoint.const);
    assert.deepEqual(
      gw.status.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Ready', 'False', 'InvalidEndpointType'],
        ['TLSVerified', 'True', 'SystemTrustStore'],
      ],
    );
  });
});

// ---- upstream samples ----------------------------------------------------------------------------

const SAMPLES = new URL('../../../../../shared/samples/upstream/', import.meta.url);

/** Load an upstream sample and fill its `<...>` placeholders (and its plain-text endpoint) with real values. */
async function sample(file: string, fill: Record<string, string>): Promise<SecretLike> {
  const doc = parseYAML(await readFile(new URL(file, SAMPLES), 'utf8')) as SecretLike & {
    data: Record<string, string>;
  };
  for (const [k, v] of Object.entries(doc.data)) {
    if (v === '<...>') doc.data[k] = b64(fill[k] ?? assert.fail(`no value for ${k}`));
    // the samples write the endpoint as plain text under `data`; the API would hold it base64
    else if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) doc.data[k] = b64(v);
  }
  return doc;
}

describe('upstream samples', () => {
  test('cluster-gateway-secret-serviceaccount-token.yaml', async () => {
    const s = await sample('cluster-gateway-secret-serviceaccount-token.yaml', { 'ca.crt': pki.caCert, token: 'tok' });
    const c = ok(convertSecret(s, defaults));
    assert.equal(c.name, 'foo1');
    assert.equal(c.endpoint.type, 'Const');
    assert.equal(c.endpoint.address, 'https://127.0.0.1:6443');
    assert.deepEqual(c.credential, { type: 'ServiceAccountToken', token: 'tok' });
    const gw = toClusterGateway(c, { exposeCredentials: true });
    assert.deepEqual(gw.spec.access, {
      endpoint: { type: 'Const', const: { address: 'https://127.0.0.1:6443', caBundle: b64(pki.caCert) } },
      credential: { type: 'ServiceAccountToken', serviceAccountToken: 'tok' },
    });
  });
  test('cluster-gateway-secret-x509.yaml', async () => {
    const s = await sample('cluster-gateway-secret-x509.yaml', {
      'ca.crt': pki.caCert,
      'tls.crt': pki.clientCert,
      'tls.key': pki.clientKey,
    });
    const gw = toClusterGateway(ok(convertSecret(s, defaults)), { exposeCredentials: true });
    assert.deepEqual(gw.spec.access.credential, {
      type: 'X509Certificate',
      x509: { certificate: b64(pki.clientCert), privateKey: b64(pki.clientKey) },
    });
    assert.equal(gw.spec.access.endpoint.const?.address, 'https://127.0.0.1:6443');
  });
  test('clusterproxy-secret.yaml (no endpoint; extra `namespace` key ignored)', async () => {
    const s = await sample('clusterproxy-secret.yaml', { 'ca.crt': pki.caCert, token: 'tok' });
    const c = ok(convertSecret(s, defaults));
    assert.equal(c.endpoint.type, 'ClusterProxy');
    assert.equal(c.endpoint.address, 'https://foo1');
    assert.deepEqual(toClusterGateway(c, { exposeCredentials: true }).spec.access, {
      endpoint: { type: 'ClusterProxy' },
      credential: { type: 'ServiceAccountToken', serviceAccountToken: 'tok' },
    });
  });
  test('ocm-secret.yaml: endpoint from the ManagedCluster; alone it misses the endpoint (as upstream)', async () => {
    const s = await sample('ocm-secret.yaml', { 'ca.crt': pki.caCert, token: 'tok' });
    assert.match(invalid(convertSecret(s, defaults)), /missing secret data key: endpoint/);
    const c = ok(
      convertSecret(s, {
        ...defaults,
        managedCluster: {
          ...mc({ url: 'https://foo1.example:6443', ca: pki.caCert }),
          metadata: { name: 'foo1', resourceVersion: '7' },
        },
      }),
    );
    assert.equal(c.endpoint.address, 'https://foo1.example:6443');
    assert.equal(c.endpoint.caBundle?.toString(), pki.caCert);
  });
});
