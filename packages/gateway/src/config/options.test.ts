// The whole options pipeline, argv → Config or the complete list of errors, against an in-memory
// file system so every file case (missing, unreadable, not PEM, mismatched pair) is reproducible.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createCA } from '@cluster-gateway/sandbox';
import { type CompleteEnv, type Config, levelForVerbosity, loadApiserverConfig } from './options.ts';

const files = new Map<string, string>();

function env(over: { env?: Record<string, string>; extra?: Record<string, string> } = {}): CompleteEnv {
  const all = new Map([...files, ...Object.entries(over.extra ?? {})]);
  return {
    env: over.env ?? {},
    homedir: '/home/op',
    cwd: '/work',
    readFile: (p) => {
      const c = all.get(p);
      return c === undefined
        ? Promise.reject(new Error(`ENOENT: no such file or directory, open '${p}'`))
        : Promise.resolve(c);
    },
    exists: (p) => Promise.resolve(all.has(p)),
  };
}

before(async () => {
  const ca = await createCA('test-ca');
  const other = await createCA('other-ca');
  const serving = await ca.issue({ commonName: 'gateway', usage: 'server', dnsNames: ['localhost'] });
  const client = await ca.issue({ commonName: 'proxy-client', usage: 'client' });
  files.set('/pki/ca.crt', ca.cert);
  files.set('/pki/other-ca.crt', other.cert);
  files.set('/pki/tls.crt', serving.cert);
  files.set('/pki/tls.key', serving.key);
  files.set('/pki/client.crt', client.cert);
  files.set('/pki/client.key', client.key);
  files.set('/pki/other.key', other.key);
  files.set('/pki/garbage', 'hello');
  files.set('/kube/hub.kubeconfig', 'apiVersion: v1\nkind: Config\n');
  files.set('/home/op/.kube/config', 'apiVersion: v1\nkind: Config\n');
  files.set(
    '/work/proxy-config.yaml',
    'apiVersion: cluster.core.oam.dev/v1alpha1\nkind: ClusterGatewayProxyConfiguration\nspec:\n  clientIdentityExchanger:\n    rules: []\n',
  );
  files.set('/work/bad-proxy-config.yaml', 'spec: [unclosed\n');
});

async function ok(argv: string[], e = env()): Promise<Config> {
  const r = await loadApiserverConfig(argv, e);
  if (r.kind !== 'config') assert.fail(`expected a config, got ${JSON.stringify(r)}`);
  return r.config;
}

async function fails(argv: string[], e = env()): Promise<{ errors: readonly string[]; exitCode: number }> {
  const r = await loadApiserverConfig(argv, e);
  if (r.kind !== 'error') assert.fail(`expected errors, got ${r.kind}`);
  return r;
}

test('defaults (hub kubeconfig from ~/.kube/config)', async () => {
  const c = await ok([]);
  assert.equal(c.secretNamespace, 'vela-system');
  assert.deepEqual(c.featureGates, {
    HealthinessCheck: false,
    SecretCache: true,
    ClientIdentityPenetration: false,
    OCMClusterCache: true,
  });
  assert.equal(c.serving.securePort, 443);
  assert.equal(c.serving.bindAddress, '0.0.0.0');
  assert.deepEqual(c.serving.tls, {
    source: 'cert-dir',
    certFile: '/work/apiserver.local.config/certificates/apiserver.crt',
    keyFile: '/work/apiserver.local.config/certificates/apiserver.key',
  });
  assert.equal(c.serving.minVersion, 'TLSv1.2');
  assert.equal(c.serving.ciphers, undefined);
  assert.deepEqual(c.hub.kubeconfig, { source: 'home', paths: ['/home/op/.kube/config'] });
  assert.deepEqual(c.authentication.kubeconfig, c.hub.kubeconfig);
  assert.equal(c.authentication.tokenCacheTtlMs, 10_000);
  assert.equal(c.authentication.requestHeader, undefined);
  assert.equal(c.authentication.clientCA, undefined);
  assert.deepEqual(c.authorization.alwaysAllowPaths, ['/healthz', '/readyz', '/livez']);
  assert.equal(c.authorization.authorizedTtlMs, 10_000);
  assert.equal(c.authorization.unauthorizedTtlMs, 10_000);
  assert.equal(c.authorization.disabled, false);
  assert.equal(c.konnectivity, undefined);
  assert.equal(c.proxy.exposeCredentials, false);
  assert.equal(c.proxy.insecureWithoutCa, true);
  assert.equal(c.proxy.timeoutMs, 0);
  assert.deepEqual(
    c.proxy.deniedEndpointCidrs.map((x) => x.text),
    ['169.254.0.0/16'],
  );
  assert.deepEqual(c.proxy.allowedEndpointCidrs, []);
  assert.equal(c.shutdownDrainTimeoutMs, 60_000);
  assert.deepEqual(c.logging, { verbosity: 0, level: 'info', format: 'json' });
  assert.ok(Object.isFrozen(c.serving), 'config is immutable');
});

test('kubeconfig discovery order: flag, $KUBECONFIG, in-cluster, home', async () => {
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
  const token = { '/var/run/secrets/kubernetes.io/serviceaccount/token': 'x' };
  const cases: [string[], CompleteEnv, unknown][] = [
    [
      ['--kubeconfig=/kube/hub.kubeconfig'],
      env({ env: { KUBECONFIG: '/home/op/.kube/config', ...inCluster }, extra: token }),
      { source: 'flag', paths: ['/kube/hub.kubeconfig'] },
    ],
    [
      [],
      env({ env: { KUBECONFIG: `/kube/hub.kubeconfig:/missing`, ...inCluster }, extra: token }),
      { source: 'env', paths: ['/kube/hub.kubeconfig', '/missing'] },
    ],
    [[], env({ env: inCluster, extra: token }), { source: 'in-cluster' }],
    // The service env without the token file is not in-cluster.
    [[], env({ env: inCluster }), { source: 'home', paths: ['/home/op/.kube/config'] }],
  ];
  for (const [argv, e, want] of cases) assert.deepEqual((await ok(argv, e)).hub.kubeconfig, want);
});

test('no kubeconfig anywhere is an error', async () => {
  const e = env();
  const noHome: CompleteEnv = { ...e, homedir: '/nobody' };
  const r = await fails([], noHome);
  assert.deepEqual(r.errors, [
    'no kubeconfig for the hub cluster: pass --kubeconfig, set $KUBECONFIG, run in a pod, or create ~/.kube/config',
  ]);
  assert.equal(r.exitCode, 1);
});

test('a full production command line', async () => {
  const c = await ok([
    '--secure-port=9443',
    '--secret-namespace=open-cluster-management-credentials',
    '--ocm-integration=true',
    '--proxy-host=proxy-entrypoint',
    '--proxy-ca-cert=/pki/ca.crt',
    '--proxy-cert=/pki/client.crt',
    '--proxy-key=/pki/client.key',
    '--tls-cert-file=/pki/tls.crt',
    '--tls-private-key-file=/pki/tls.key',
    '--tls-min-version=VersionTLS13',
    '--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_3DES_EDE_CBC_SHA',
    '--kubeconfig=/kube/hub.kubeconfig',
    '--authentication-kubeconfig=/kube/hub.kubeconfig',
    '--client-ca-file=/pki/ca.crt',
    '--requestheader-client-ca-file=/pki/ca.crt',
    '--requestheader-allowed-names=front-proxy-client,aggregator',
    '--cluster-gateway-proxy-config=proxy-config.yaml',
    '--feature-gates=APIPriorityAndFairness=false,ClientIdentityPenetration=true',
    '--denied-endpoint-cidrs=169.254.0.0/16,fd00:ec2::/32',
    '--allowed-endpoint-cidrs=10.0.0.0/8',
    '--proxy-timeout=30s',
    '--log-format=text',
    '-v=4',
    '--expose-credentials',
    '--insecure-without-ca=false',
  ]);
  assert.equal(c.serving.securePort, 9443);
  assert.equal(c.ocm.integration, true);
  assert.equal(c.konnectivity?.host, 'proxy-entrypoint');
  assert.equal(c.konnectivity?.port, 8090);
  assert.equal(c.konnectivity?.ca.content, files.get('/pki/ca.crt'));
  assert.equal(c.serving.tls.source, 'files');
  assert.equal(c.serving.minVersion, 'TLSv1.3');
  assert.equal(c.serving.ciphers, 'ECDHE-RSA-AES128-GCM-SHA256');
  assert.deepEqual(c.authentication.requestHeader?.allowedNames, ['front-proxy-client', 'aggregator']);
  assert.deepEqual(c.authentication.requestHeader?.usernameHeaders, ['X-Remote-User']);
  assert.equal(c.authentication.clientCA?.path, '/pki/ca.crt');
  assert.deepEqual(c.authorization.kubeconfig, { source: 'flag', paths: ['/kube/hub.kubeconfig'] });
  assert.equal(c.proxy.globalConfig?.document.kind, 'ClusterGatewayProxyConfiguration');
  assert.equal(c.proxy.globalConfig?.file.path, '/work/proxy-config.yaml');
  assert.equal(c.featureGates.ClientIdentityPenetration, true);
  assert.deepEqual(
    c.proxy.deniedEndpointCidrs.map((x) => [x.address, x.prefix, x.family]),
    [
      ['169.254.0.0', 16, 'ipv4'],
      ['fd00:ec2::', 32, 'ipv6'],
    ],
  );
  assert.equal(c.proxy.timeoutMs, 30_000);
  assert.deepEqual(c.logging, { verbosity: 4, level: 'trace', format: 'text' });
  assert.equal(c.proxy.exposeCredentials, true);
  assert.equal(c.proxy.insecureWithoutCa, false);
  assert.ok(c.warnings.some((w) => w.includes('APIPriorityAndFairness')));
  assert.ok(c.warnings.some((w) => w.includes('TLS_RSA_WITH_3DES_EDE_CBC_SHA')));
});

test('all validation errors are reported together', async () => {
  const r = await fails([
    '--secret-namespace=',
    '--proxy-host=proxy',
    '--proxy-port=0',
    '--proxy-cert=/pki/client.crt',
    '--standalone-debug-mode',
    '--tls-cert-file=/pki/tls.crt',
    '--client-ca-file=/pki/garbage',
    '--requestheader-client-ca-file=/missing/ca.crt',
    '--denied-endpoint-cidrs=10.0.0.0/33,nonsense',
    '--allowed-endpoint-cidrs=10.1.2.3',
    '--tls-min-version=VersionTLS14',
    '--shutdown-drain-timeout=-5s',
    '--authorization-always-allow-paths=healthz,/ok/*,/a*b',
    '--log-format=xml',
    '--cluster-gateway-proxy-config=/work/bad-proxy-config.yaml',
    '--bind-address=localhost',
    '--secure-port=70000',
    '--requestheader-group-headers=X Bad',
  ]);
  assert.equal(r.exitCode, 1);
  assert.deepEqual(r.errors, [
    "--requestheader-client-ca-file: cannot read /missing/ca.crt: ENOENT: no such file or directory, open '/missing/ca.crt'",
    'must specify --secret-namespace',
    '--proxy-port must be greater than 0 when --proxy-host is set',
    '--proxy-ca-cert must be specified when --proxy-host is set',
    '--proxy-key must be specified when --proxy-host is set',
    '--cluster-gateway-proxy-config: /work/bad-proxy-config.yaml cannot be parsed: ' +
      r.errors[5]!.split('cannot be parsed: ')[1]!,
    '--bind-address "localhost" is not a valid IP address',
    '--secure-port 70000 must be between 0 and 65535, inclusive',
    '--standalone-debug-mode requires --bind-address=127.0.0.1',
    '--tls-cert-file and --tls-private-key-file must be specified together',
    '--tls-min-version: unknown tls version "VersionTLS14" (use one of VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13)',
    '--client-ca-file: /pki/garbage contains no PEM certificate',
    '--requestheader-group-headers: "X Bad" is not a valid HTTP header name',
    '--authorization-always-allow-paths: "healthz" must start with /',
    '--authorization-always-allow-paths: "/a*b": * is only allowed as a trailing /*',
    '--shutdown-drain-timeout must not be negative',
    '--denied-endpoint-cidrs: invalid CIDR address: 10.0.0.0/33',
    '--denied-endpoint-cidrs: invalid CIDR address: nonsense',
    '--allowed-endpoint-cidrs: invalid CIDR address: 10.1.2.3',
    '--log-format "xml" must be json or text',
  ]);
});

test('usage errors and validation errors come out together with exit code 2', async () => {
  const r = await fails(['--bogus', '--secret-namespace=Bad_NS', '--feature-gates=SecretCach=false']);
  assert.equal(r.exitCode, 2);
  assert.deepEqual(r.errors, [
    'unknown flag: --bogus',
    'unrecognized feature gate: SecretCach',
    '--secret-namespace "Bad_NS" is not a valid namespace name (a lowercase RFC 1123 label)',
  ]);
});

test('certificate problems: mismatched pairs, bad keys, missing files', async () => {
  const r = await fails([
    '--tls-cert-file=/pki/tls.crt',
    '--tls-private-key-file=/pki/other.key',
    '--proxy-host=p',
    '--proxy-ca-cert=/pki/garbage',
    '--proxy-cert=/pki/client.crt',
    '--proxy-key=/pki/garbage',
    '--kubeconfig=/nope/kubeconfig',
    '--authorization-kubeconfig=/nope/authz',
  ]);
  assert.deepEqual(r.errors, [
    '--kubeconfig: cannot read /nope/kubeconfig: no such file',
    '--authorization-kubeconfig: cannot read /nope/authz: no such file',
    '--proxy-ca-cert: /pki/garbage contains no PEM certificate',
    r.errors[3]!.startsWith('--proxy-key: /pki/garbage does not hold a usable PEM private key (')
      ? r.errors[3]!
      : 'proxy-key error',
    '--tls-cert-file and --tls-private-key-file: the private key /pki/other.key does not match the certificate /pki/tls.crt',
  ]);
});

test('standalone debug mode on loopback disables authorization', async () => {
  const c = await ok(['--standalone-debug-mode=true', '--bind-address=127.0.0.1']);
  assert.equal(c.authorization.disabled, true);
  assert.ok(c.warnings.some((w) => w.includes('authorization is disabled')));
});

test('requestheader flags without the CA file warn (the ConfigMap wins, as in k8s)', async () => {
  const c = await ok(['--requestheader-allowed-names=x']);
  assert.equal(c.authentication.requestHeader, undefined);
  assert.ok(c.warnings.some((w) => w.startsWith('--requestheader-allowed-names only take effect')));
});

test('relative paths resolve against the working directory', async () => {
  const c = await ok(['--cert-dir=certs']);
  assert.deepEqual(c.serving.tls, {
    source: 'cert-dir',
    certFile: join('/work/certs', 'apiserver.crt'),
    keyFile: join('/work/certs', 'apiserver.key'),
  });
});

test('help short-circuits', async () => {
  assert.deepEqual(await loadApiserverConfig(['--bogus', '-h'], env()), { kind: 'help' });
});

test('levelForVerbosity', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 9].map(levelForVerbosity), ['info', 'info', 'debug', 'debug', 'trace', 'trace']);
});
