// Logger: formats, child context, and above all that secrets never reach the output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REDACTED, createLogger, formatTextLine, redactString, redactValue, withContext } from './logger.ts';

const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic3lzdGVtOnNlcnZpY2VhY2NvdW50OmRlZmF1bHQ6ZGVmYXVsdCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const PEM_KEY =
  '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5ZsG1Fq8l5VzFoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\n';
const PKCS8 =
  '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
const B64_KEY = Buffer.from(PEM_KEY).toString('base64');
const B64_PKCS8 = Buffer.from(PKCS8).toString('base64');
const SECRETS = [
  JWT,
  'MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5ZsG1Fq8l5VzFoAoGCCqGSM49',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg',
  B64_KEY,
  B64_PKCS8,
  's3cr3t-opaque',
  'abcdef.0123456789abcdef',
];

function collect(
  format: 'json' | 'text' = 'json',
  level: 'info' | 'trace' = 'info',
): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const log = createLogger({ format, level, destination: { write: (l: string) => lines.push(l) } });
  return { lines, log };
}

test('redactString masks credentials in free text', () => {
  const cases: [string, string][] = [
    [`Authorization: Bearer ${JWT}`, `Authorization: Bearer ${REDACTED}`],
    ['Authorization: Bearer s3cr3t-opaque', `Authorization: Bearer ${REDACTED}`],
    ['basic dXNlcjpwYXNz', `basic ${REDACTED}`],
    [`token is ${JWT}!`, 'token is [REDACTED JWT]!'],
    [`key:\n${PEM_KEY}done`, 'key:\n[REDACTED PRIVATE KEY]\ndone'],
    [PKCS8, '[REDACTED PRIVATE KEY]'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIEow (truncated', '[REDACTED PRIVATE KEY]'],
    [`client-key-data: ${B64_KEY}`, 'client-key-data: [REDACTED PRIVATE KEY]'],
    [`data ${B64_PKCS8} end`, 'data [REDACTED PRIVATE KEY] end'],
    ['bootstrap abcdef.0123456789abcdef', `bootstrap ${REDACTED}`],
    // Certificates and ordinary text stay.
    [
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
    ],
    ['proxying GET /api/v1/pods to cluster-1', 'proxying GET /api/v1/pods to cluster-1'],
  ];
  for (const [input, want] of cases) assert.equal(redactString(input), want, input);
});

test('redactValue masks sensitive keys at any depth and scans strings', () => {
  const cyclic: Record<string, unknown> = { name: 'c' };
  cyclic.self = cyclic;
  const v = redactValue({
    cluster: 'c1',
    headers: { Authorization: 'Bearer x', 'X-Remote-User': 'alice', Cookie: 'session=1' },
    secret: { data: { token: 'dG9rZW4=', 'ca.crt': 'Y2E=', 'tls.key': 'a2V5' } },
    kubeconfig: { users: [{ user: { 'client-key-data': B64_KEY, 'client-certificate-data': 'Y2VydA==' } }] },
    pair: { cert: 'CERT', key: 'KEY' },
    tls: { key: 'KEY', ca: 'CA' },
    note: `uses ${JWT}`,
    empty: { token: '' },
    cyclic,
    err: new Error(`dial failed with Bearer ${JWT}`),
    map: new Map([['password', 'p']]),
  }) as Record<string, any>;
  assert.equal(v.cluster, 'c1');
  assert.deepEqual(v.headers, { Authorization: REDACTED, 'X-Remote-User': 'alice', Cookie: REDACTED });
  assert.deepEqual(v.secret.data, { token: REDACTED, 'ca.crt': 'Y2E=', 'tls.key': REDACTED });
  assert.deepEqual(v.kubeconfig.users[0].user, { 'client-key-data': REDACTED, 'client-certificate-data': 'Y2VydA==' });
  assert.deepEqual(v.pair, { cert: 'CERT', key: REDACTED });
  assert.deepEqual(v.tls, { key: REDACTED, ca: 'CA' });
  assert.equal(v.note, 'uses [REDACTED JWT]');
  assert.deepEqual(v.empty, { token: '' });
  assert.equal(v.cyclic.self, '[Circular]');
  assert.equal(v.err.message, `dial failed with Bearer ${REDACTED}`);
  assert.ok(!String(v.err.stack).includes(JWT));
  assert.deepEqual(v.map, { password: REDACTED });
});

test('nothing secret reaches a JSON log line, whatever the call shape', () => {
  const { lines, log } = collect();
  log.info(
    { authorization: `Bearer ${JWT}`, req: { headers: { authorization: 'Bearer s3cr3t-opaque', cookie: 'a=b' } } },
    'request',
  );
  log.info(`got token ${JWT}`);
  log.info('interpolated %s', `Bearer ${JWT}`);
  log.warn({ privateKey: PEM_KEY, tls: { key: PEM_KEY } }, 'loaded');
  log.error(new Error(`exec plugin printed ${JWT}`));
  log.error({ err: new Error(`key ${PEM_KEY}`) }, 'failed');
  log.info({ secret: { data: { token: B64_PKCS8, 'client-key-data': B64_KEY } } }, 'secret');
  log.info({ deep: { a: { b: { c: { token: 'abcdef.0123456789abcdef' } } } } }, 'deep');
  withContext(log, { cluster: 'c1', token: 's3cr3t-opaque' }).info('child');
  log.info({ bootstrap: 'token abcdef.0123456789abcdef' }, 'bootstrap');
  assert.equal(lines.length, 10);
  for (const line of lines) {
    JSON.parse(line);
    for (const s of SECRETS) assert.ok(!line.includes(s), `leaked ${s.slice(0, 20)}… in ${line}`);
  }
  const first = JSON.parse(lines[0]!);
  assert.equal(first.authorization, REDACTED);
  assert.equal(first.req.headers.authorization, REDACTED);
  assert.equal(first.msg, 'request');
  assert.equal(first.level, 'info');
  assert.equal(JSON.parse(lines[4]!).msg, 'exec plugin printed [REDACTED JWT]');
});

test('withContext binds cluster, requestId and the user name only', () => {
  const { lines, log } = collect();
  const child = withContext(log, {
    cluster: 'c1',
    requestId: 'r-1',
    user: { username: 'alice', groups: ['system:masters'] } as never,
    extra: undefined,
  });
  child.info('hello');
  withContext(log, { user: 'bob' }).info('plain');
  const a = JSON.parse(lines[0]!);
  assert.equal(a.cluster, 'c1');
  assert.equal(a.requestId, 'r-1');
  assert.equal(a.user, 'alice');
  assert.ok(!('extra' in a));
  assert.equal(JSON.parse(lines[1]!).user, 'bob');
});

test('levels: info hides debug; trace shows it', () => {
  const info = collect('json', 'info');
  info.log.debug('hidden');
  assert.equal(info.lines.length, 0);
  const trace = collect('json', 'trace');
  trace.log.trace('shown');
  assert.equal(trace.lines.length, 1);
});

test('text format', () => {
  const { lines, log } = collect('text');
  withContext(log, { cluster: 'c1' }).info(
    { code: 502, path: '/api/v1/pods', note: 'two words' },
    `proxy failed for Bearer ${JWT}`,
  );
  log.error(new Error('boom'));
  assert.match(
    lines[0]!,
    /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}proxy failed for Bearer \[REDACTED\] cluster=c1 code=502 path=\/api\/v1\/pods note="two words"\n$/,
  );
  assert.match(lines[1]!, /^\S+ ERROR boom error=boom\n {4}Error: boom\n/);
});

test('formatTextLine survives non-JSON input', () => {
  assert.equal(formatTextLine('not json'), 'not json\n');
});
