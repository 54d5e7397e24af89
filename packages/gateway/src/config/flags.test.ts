// pflag-compatible argv handling: normalisation, typed parsing, unknown and malformed flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAGS, apiserverHelp, normalizePflagArgs, parseApiserverFlags } from './flags.ts';

test('normalizePflagArgs canonicalises pflag syntax', () => {
  const cases: [string[], string[]][] = [
    [['--secure-port=9443'], ['--secure-port=9443']],
    [['--secure-port', '9443'], ['--secure-port=9443']],
    [['-v=4'], ['--v=4']],
    [['-v', '4'], ['--v=4']],
    [['-v4'], ['--v=4']],
    [['--v=4'], ['--v=4']],
    [['--ocm-integration'], ['--ocm-integration=true']],
    [['--ocm-integration=false'], ['--ocm-integration=false']],
    [['--log_dir=/tmp'], ['--log-dir=/tmp']],
    // pflag: a non-boolean flag takes the next argument whatever it looks like
    [['--user-agent', '--weird'], ['--user-agent=--weird']],
    [['--secret-namespace='], ['--secret-namespace=']],
  ];
  for (const [argv, args] of cases) {
    const n = normalizePflagArgs(argv);
    assert.deepEqual(n.args, args, argv.join(' '));
    assert.deepEqual(n.unknown, []);
    assert.deepEqual(n.errors, []);
  }
});

test('normalizePflagArgs: a boolean does not take the next argument', () => {
  const n = normalizePflagArgs(['--ocm-integration', 'false']);
  assert.deepEqual(n.args, ['--ocm-integration=true']);
  assert.deepEqual(n.positionals, ['false']);
});

test('normalizePflagArgs: unknown flags, help, --, missing argument', () => {
  const n = normalizePflagArgs(['--nope', 'value', '-x', '--other=1', '-h', '--secure-port']);
  assert.deepEqual(n.unknown, ['--nope', '-x', '--other']);
  assert.equal(n.help, true);
  assert.deepEqual(n.errors, ['flag needs an argument: --secure-port']);
  assert.deepEqual(n.positionals, []);
  const m = normalizePflagArgs(['--profiling', '--', '--secure-port=1']);
  assert.deepEqual(m.args, ['--profiling=true']);
  assert.deepEqual(m.positionals, ['--secure-port=1']);
});

test('parseApiserverFlags: the chart command line', () => {
  const r = parseApiserverFlags([
    '--secure-port=9443',
    '--secret-namespace=open-cluster-management-credentials',
    '--ocm-integration=true',
    '--proxy-host=proxy-entrypoint.open-cluster-management-cluster-proxy',
    '--proxy-port=8090',
    '--proxy-ca-cert=/etc/ca/ca.crt',
    '--proxy-cert=/etc/tls/tls.crt',
    '--proxy-key=/etc/tls/tls.key',
    '--feature-gates=HealthinessCheck=true,SecretCache=true,',
  ]);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
  const o = r.options;
  assert.equal(o.securePort, 9443);
  assert.equal(o.secretNamespace, 'open-cluster-management-credentials');
  assert.equal(o.ocmIntegration, true);
  assert.equal(o.proxyHost, 'proxy-entrypoint.open-cluster-management-cluster-proxy');
  assert.equal(o.proxyPort, 8090);
  assert.equal(o.proxyKey, '/etc/tls/tls.key');
  assert.deepEqual(
    [...o.featureGates!],
    [
      ['HealthinessCheck', true],
      ['SecretCache', true],
    ],
  );
  assert.ok(r.given.has('proxy-port'));
  assert.ok(!r.given.has('bind-address'));
  assert.equal(o.bindAddress, undefined);
});

test('parseApiserverFlags: lists, repeats, durations, verbosity', () => {
  const r = parseApiserverFlags([
    '--requestheader-allowed-names=a,b',
    '--requestheader-allowed-names',
    'c',
    '--feature-gates=HealthinessCheck=true',
    '--feature-gates=HealthinessCheck=false,OCMClusterCache=false',
    '--authentication-token-webhook-cache-ttl=1m30s',
    '--authorization-webhook-cache-unauthorized-ttl',
    '500ms',
    '--denied-endpoint-cidrs=',
    '-v',
    '5',
    '--profiling=false',
    '--standalone-debug-mode',
  ]);
  assert.deepEqual(r.errors, []);
  const o = r.options;
  assert.deepEqual(o.requestheaderAllowedNames, ['a', 'b', 'c']);
  assert.deepEqual(
    [...o.featureGates!],
    [
      ['HealthinessCheck', false],
      ['OCMClusterCache', false],
    ],
  );
  assert.equal(o.authenticationTokenWebhookCacheTtlMs, 90_000);
  assert.equal(o.authorizationWebhookCacheUnauthorizedTtlMs, 500);
  assert.deepEqual(o.deniedEndpointCidrs, []);
  assert.equal(o.verbosity, 5);
  assert.equal(o.profiling, false);
  assert.equal(o.standaloneDebugMode, true);
});

test('parseApiserverFlags: every error is collected', () => {
  const r = parseApiserverFlags([
    '--nope',
    '--secure-port=abc',
    '--ocm-integration=maybe',
    '--proxy-timeout=10',
    '--shutdown-drain-timeout=1d',
    '--feature-gates=A=maybe',
    '--also-unknown=1',
    'stray',
  ]);
  assert.deepEqual(r.errors, [
    'unknown flags: --nope, --also-unknown',
    'unexpected arguments: "stray" (cluster-gateway apiserver takes only flags)',
    'invalid argument "abc" for "--secure-port" flag: strconv.ParseInt: parsing "abc": invalid syntax',
    'invalid argument "maybe" for "--ocm-integration" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
    'invalid argument "10" for "--proxy-timeout" flag: time: missing unit in duration "10"',
    'invalid argument "1d" for "--shutdown-drain-timeout" flag: time: unknown unit "d" in duration "1d"',
    'invalid argument "A=maybe" for "--feature-gates" flag: invalid value of A=maybe, err: strconv.ParseBool: parsing "maybe": invalid syntax',
  ]);
  // A rejected value leaves the option unset (commander would otherwise turn it into true/'').
  assert.equal(r.options.securePort, undefined);
  assert.equal(r.options.ocmIntegration, undefined);
  assert.equal(r.options.proxyTimeoutMs, undefined);
});

test('parseApiserverFlags: a single unknown flag', () => {
  assert.deepEqual(parseApiserverFlags(['--secure-prot=1']).errors, ['unknown flag: --secure-prot']);
});

test('parseApiserverFlags: compatibility flags warn once', () => {
  const r = parseApiserverFlags([
    '--audit-log-path=/x',
    '--audit-log-path=/y',
    '--etcd-servers=http://e:2379',
    '--logtostderr',
    '--log_dir=/var/log',
    '--virtual-clutser-with-control-plane=false',
    '--enable-admission-plugins=A,B',
  ]);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, [
    'flag --audit-log-path has no effect in this implementation',
    'flag --etcd-servers has no effect in this implementation',
    'klog flag --logtostderr is ignored (only -v is honoured; use --log-format)',
    'klog flag --log-dir is ignored (only -v is honoured; use --log-format)',
    'flag --enable-admission-plugins has no effect in this implementation',
  ]);
  assert.equal(r.options.virtualClusterWithControlPlane, false);
});

test('flag table: unique names, every active flag maps to an option key', () => {
  const names = FLAGS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
  for (const f of FLAGS) if (f.effect === 'active' || f.effect === 'silent') assert.ok(f.key, f.name);
});

test('help lists flags with defaults', () => {
  const h = apiserverHelp();
  assert.match(h, /--secret-namespace string +namespace holding the cluster Secrets \(default vela-system\)/);
  assert.match(h, /-v, --v int/);
  assert.match(h, /HealthinessCheck=true\|false \(ALPHA - default=false\)/);
  assert.match(h, /--etcd-servers/);
});
