// Exec credentials: real plugin processes (tiny /bin/sh scripts in a temp dir) for the protocol
// (KUBERNETES_EXEC_INFO, env, args, stdin), upstream's error strings, caching until one minute before
// expiry, single-flight, invalidation by config change and by `invalidate`, error caching, timeouts,
// the stdout limit and the concurrency bound.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeExecCredential,
  execConfigHash,
  ExecCredentialError,
  ExecCredentialProvider,
  execInfo,
  parseExecConfig,
} from './exec-credential.ts';
import type { ExecConfig } from './types.ts';
import { testPKI } from './testdata/pki.ts';

const V1 = 'client.authentication.k8s.io/v1';
const V1B1 = 'client.authentication.k8s.io/v1beta1';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'exec-cred-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** Write an executable /bin/sh script; returns its path. */
async function script(body: string): Promise<string> {
  const p = join(dir, `plugin-${++n}.sh`);
  await writeFile(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

/** A script that counts its runs in a file and prints `json` (written to a file beside it). */
async function countingPlugin(json: unknown, extra = ''): Promise<{ command: string; runs: () => Promise<number> }> {
  const id = ++n;
  const out = join(dir, `out-${id}.json`);
  const count = join(dir, `count-${id}`);
  await writeFile(out, typeof json === 'string' ? json : JSON.stringify(json));
  await writeFile(count, '');
  const command = await script(`echo run >> '${count}'\n${extra}\ncat '${out}'`);
  return {
    command,
    runs: async () => (await readFile(count, 'utf8')).split('\n').filter(Boolean).length,
  };
}

const tokenCred = (token: string, expirationTimestamp?: string, apiVersion = V1) => ({
  kind: 'ExecCredential',
  apiVersion,
  status: { token, ...(expirationTimestamp ? { expirationTimestamp } : {}) },
});

async function rejects(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ExecCredentialError, `not an ExecCredentialError: ${String(e)}`);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

describe('parseExecConfig', () => {
  test('valid v1 and v1beta1', () => {
    assert.deepEqual(
      parseExecConfig(`{"apiVersion":"${V1}","command":"x","args":["a"],"env":[{"name":"A","value":"b"}]}`),
      {
        apiVersion: V1,
        command: 'x',
        args: ['a'],
        env: [{ name: 'A', value: 'b' }],
      },
    );
    assert.equal(parseExecConfig(`{"apiVersion":"${V1B1}","command":"x","env":null}`).apiVersion, V1B1);
  });
  const bad: [string | undefined, string | RegExp][] = [
    [undefined, 'missing secret data key: exec'],
    ['nope', /^failed to decode exec config JSON from secret data: /],
    ['null', 'failed to decode exec config JSON from secret data: not a JSON object'],
    [`{"apiVersion":"${V1}"}`, 'missing "command" property on exec config object'],
    [`{"apiVersion":"${V1}","command":""}`, 'missing "command" property on exec config object'],
    ['{"apiVersion":"v1","command":"x"}', 'exec plugin: invalid apiVersion "v1"'],
    [`{"apiVersion":"${V1}","command":5}`, /^failed to decode exec config JSON from secret data: command: /],
  ];
  for (const [text, want] of bad) {
    test(`bad: ${String(text)}`, () => {
      assert.throws(
        () => parseExecConfig(text),
        (e: unknown) =>
          e instanceof ExecCredentialError && (typeof want === 'string' ? e.message === want : want.test(e.message)),
      );
    });
  }
  test('config hash ignores key order and changes with content', () => {
    const a: ExecConfig = { apiVersion: V1, command: 'x', args: ['1'] };
    const b = JSON.parse('{"args":["1"],"command":"x","apiVersion":"client.authentication.k8s.io/v1"}') as ExecConfig;
    assert.equal(execConfigHash(a), execConfigHash(b));
    assert.notEqual(execConfigHash(a), execConfigHash({ ...a, args: ['2'] }));
  });
});

describe('execInfo (KUBERNETES_EXEC_INFO)', () => {
  test('as client-go encodes it', () => {
    assert.equal(
      execInfo({ apiVersion: V1, command: 'x' }),
      `{"kind":"ExecCredential","apiVersion":"${V1}","spec":{"interactive":false}}\n`,
    );
  });
  test('cluster info only with provideClusterInfo', () => {
    const info = { server: 'https://a:6443', certificateAuthorityData: Buffer.from('ca'), proxyURL: 'http://p' };
    assert.doesNotMatch(execInfo({ apiVersion: V1, command: 'x' }, info), /cluster/);
    const v = JSON.parse(execInfo({ apiVersion: V1B1, command: 'x', provideClusterInfo: true }, info));
    assert.deepEqual(v.spec, {
      cluster: {
        server: 'https://a:6443',
        'certificate-authority-data': Buffer.from('ca').toString('base64'),
        'proxy-url': 'http://p',
      },
      interactive: false,
    });
    assert.equal(v.apiVersion, V1B1);
  });
});

describe('decodeExecCredential', () => {
  const exec: ExecConfig = { apiVersion: V1, command: 'x' };
  const cases: [string, unknown, string | RegExp][] = [
    ['not JSON', 'token abc', 'decoding stdout: output is not valid JSON'],
    ['no kind', { apiVersion: V1, status: { token: 't' } }, "decoding stdout: Object 'Kind' is missing"],
    [
      'unknown version',
      { kind: 'ExecCredential', apiVersion: 'x/v1', status: { token: 't' } },
      /^decoding stdout: no kind "ExecCredential" is registered for version "x\/v1"$/,
    ],
    ['wrong kind', { kind: 'Pod', apiVersion: V1, status: { token: 't' } }, /^decoding stdout: no kind "Pod"/],
    [
      'version mismatch',
      tokenCred('t', undefined, V1B1),
      `exec plugin is configured to use API version ${V1}, plugin returned version ${V1B1}`,
    ],
    ['no status', { kind: 'ExecCredential', apiVersion: V1 }, "exec plugin didn't return a status field"],
    [
      'empty status',
      { kind: 'ExecCredential', apiVersion: V1, status: {} },
      "exec plugin didn't return a token or cert/key pair",
    ],
    [
      'only cert',
      { kind: 'ExecCredential', apiVersion: V1, status: { clientCertificateData: 'c' } },
      'exec plugin returned only certificate or key, not both',
    ],
    [
      'only key',
      { kind: 'ExecCredential', apiVersion: V1, status: { clientKeyData: 'k' } },
      'exec plugin returned only certificate or key, not both',
    ],
    [
      'bad cert/key',
      { kind: 'ExecCredential', apiVersion: V1, status: { clientCertificateData: 'c', clientKeyData: 'k' } },
      /^failed parsing client key\/certificate: /,
    ],
    ['bad expiry', tokenCred('t', 'tomorrow'), /^decoding stdout: status\.expirationTimestamp: invalid RFC3339 time/],
    [
      'token not a string',
      { kind: 'ExecCredential', apiVersion: V1, status: { token: 5 } },
      /^decoding stdout: status\.token: /,
    ],
  ];
  for (const [name, out, want] of cases) {
    test(name, () => {
      assert.throws(
        () => decodeExecCredential(typeof out === 'string' ? out : JSON.stringify(out), exec),
        (e: unknown) =>
          e instanceof ExecCredentialError && (typeof want === 'string' ? e.message === want : want.test(e.message)),
      );
    });
  }
  test('a token credential never leaks into the JSON error', () => {
    assert.throws(
      () => decodeExecCredential('{"status":{"token":"s3cret"', exec),
      (e: unknown) => e instanceof Error && !e.message.includes('s3cret'),
    );
  });
  test('token with expiry', () => {
    assert.deepEqual(decodeExecCredential(JSON.stringify(tokenCred('t', '2030-01-01T00:00:00Z')), exec), {
      token: 't',
      expiresAt: new Date('2030-01-01T00:00:00Z'),
    });
  });
  test('cert/key pair', async () => {
    const pki = await testPKI();
    const out = {
      kind: 'ExecCredential',
      apiVersion: V1,
      status: { clientCertificateData: pki.clientCert, clientKeyData: pki.clientKey },
    };
    const r = decodeExecCredential(JSON.stringify(out), exec);
    assert.equal(r.cert?.toString(), pki.clientCert);
    assert.equal(r.key?.toString(), pki.clientKey);
    const mismatch = { ...out, status: { ...out.status, clientKeyData: pki.otherKey } };
    assert.throws(() => decodeExecCredential(JSON.stringify(mismatch), exec), /failed parsing client key\/certificate/);
  });
});

describe('ExecCredentialProvider: running the plugin', () => {
  test('token, env, args, KUBERNETES_EXEC_INFO, stdin ignored', async () => {
    const info = join(dir, 'info.json');
    const command = await script(
      `read line || true\nprintf '%s' "$KUBERNETES_EXEC_INFO" > '${info}'\nprintf '{"kind":"ExecCredential","apiVersion":"${V1}","status":{"token":"%s-%s-%s"}}' "$MY_ENV" "$1" "$BASE"`,
    );
    const p = new ExecCredentialProvider({ env: { PATH: process.env.PATH, BASE: 'base' } });
    const cred = await p.get('c1', {
      apiVersion: V1,
      command,
      args: ['arg1'],
      env: [{ name: 'MY_ENV', value: 'env1' }],
    });
    assert.deepEqual(cred, { token: 'env1-arg1-base' });
    assert.equal(
      await readFile(info, 'utf8'),
      `{"kind":"ExecCredential","apiVersion":"${V1}","spec":{"interactive":false}}\n`,
    );
  });

  test('the command is looked up on PATH', async () => {
    const command = await script(`printf '{"kind":"ExecCredential","apiVersion":"${V1}","status":{"token":"p"}}'`);
    const p = new ExecCredentialProvider({ env: { PATH: `${dir}:${process.env.PATH ?? ''}` } });
    assert.equal((await p.get('c1', { apiVersion: V1, command: command.slice(dir.length + 1) })).token, 'p');
  });

  test('cert/key credential from the plugin', async () => {
    const pki = await testPKI();
    const plugin = await countingPlugin({
      kind: 'ExecCredential',
      apiVersion: V1B1,
      status: { clientCertificateData: pki.clientCert, clientKeyData: pki.clientKey },
    });
    const cred = await new ExecCredentialProvider().get('c1', { apiVersion: V1B1, command: plugin.command });
    assert.equal(cred.cert?.toString(), pki.clientCert);
    assert.equal(cred.key?.toString(), pki.clientKey);
    assert.equal(cred.token, undefined);
  });

  test('upstream error strings', async () => {
    const p = new ExecCredentialProvider({ errorTtlMs: 0 });
    await rejects(p.get('', { apiVersion: V1, command: 'x' }), 'cluster name not provided');
    await rejects(p.get('c1', undefined), 'exec config not provided');
    await rejects(p.get('c1', { apiVersion: V1, command: '' }), 'missing "command" property on exec config object');
    await rejects(p.get('c1', { apiVersion: 'v9', command: 'x' }), 'exec plugin: invalid apiVersion "v9"');
    await rejects(
      p.get('c1', { apiVersion: V1, command: join(dir, 'does-not-exist') }),
      `exec: executable ${join(dir, 'does-not-exist')} not found`,
    );
    const failing = await script('echo "boom: bad login" >&2\nexit 3');
    await assert.rejects(p.get('c2', { apiVersion: V1, command: failing }), (e: unknown) => {
      assert.ok(e instanceof ExecCredentialError);
      assert.equal(e.message, `exec: executable ${failing} failed with exit code 3`);
      assert.equal(e.stderr, 'boom: bad login\n');
      return true;
    });
    const garbage = await script('echo not-json');
    await rejects(p.get('c3', { apiVersion: V1, command: garbage }), 'decoding stdout: output is not valid JSON');
    const v1b1 = await countingPlugin(tokenCred('t', undefined, V1B1));
    await rejects(
      p.get('c4', { apiVersion: V1, command: v1b1.command }),
      `exec plugin is configured to use API version ${V1}, plugin returned version ${V1B1}`,
    );
    const nostatus = await countingPlugin({ kind: 'ExecCredential', apiVersion: V1 });
    await rejects(
      p.get('c5', { apiVersion: V1, command: nostatus.command }),
      "exec plugin didn't return a status field",
    );
  });

  test('a file that is not executable', async () => {
    const p = join(dir, 'not-exec.sh');
    await writeFile(p, '#!/bin/sh\n', { mode: 0o644 });
    await rejects(
      new ExecCredentialProvider().get('c1', { apiVersion: V1, command: p }),
      `exec: executable ${p} is not executable`,
    );
  });

  test('timeout kills the plugin', async () => {
    const slow = await script('sleep 5');
    const started = Date.now();
    await rejects(
      new ExecCredentialProvider({ timeoutMs: 200 }).get('c1', { apiVersion: V1, command: slow }),
      `exec: executable ${slow} timed out after 0.2s`,
    );
    assert.ok(Date.now() - started < 3000);
  });

  test('stdout limit', async () => {
    const big = await script('head -c 100000 /dev/zero');
    await rejects(
      new ExecCredentialProvider({ maxStdoutBytes: 1000 }).get('c1', { apiVersion: V1, command: big }),
      `exec: executable ${big} wrote more than 1000 bytes to stdout`,
    );
  });
});

describe('ExecCredentialProvider: caching', () => {
  test('no expiry: cached until the config changes or invalidate()', async () => {
    const plugin = await countingPlugin(tokenCred('t1'));
    const p = new ExecCredentialProvider();
    const exec: ExecConfig = { apiVersion: V1, command: plugin.command };
    assert.equal((await p.get('c1', exec)).token, 't1');
    assert.equal((await p.get('c1', { ...exec })).token, 't1');
    assert.equal(await plugin.runs(), 1);
    await p.get('c1', { ...exec, args: ['changed'] });
    assert.equal(await plugin.runs(), 2);
    p.invalidate('c1');
    assert.equal(p.size, 0);
    await p.get('c1', { ...exec, args: ['changed'] });
    assert.equal(await plugin.runs(), 3);
    // another cluster with the same config has its own entry
    await p.get('c2', { ...exec, args: ['changed'] });
    assert.equal(await plugin.runs(), 4);
  });

  test('with expiry: cached until one minute before it', async () => {
    const expiry = Date.parse('2030-01-01T00:10:00Z');
    const plugin = await countingPlugin(tokenCred('t', '2030-01-01T00:10:00Z'));
    let now = expiry - 10 * 60_000;
    const p = new ExecCredentialProvider({ now: () => now });
    const exec: ExecConfig = { apiVersion: V1, command: plugin.command };
    const c = await p.get('c1', exec);
    assert.deepEqual(c.expiresAt, new Date(expiry));
    now = expiry - 61_000;
    await p.get('c1', exec);
    assert.equal(await plugin.runs(), 1);
    now = expiry - 59_000;
    await p.get('c1', exec);
    assert.equal(await plugin.runs(), 2);
  });

  test('an already-expiring credential is used but not cached', async () => {
    const plugin = await countingPlugin(tokenCred('t', '2000-01-01T00:00:00Z'));
    const p = new ExecCredentialProvider();
    const exec: ExecConfig = { apiVersion: V1, command: plugin.command };
    assert.equal((await p.get('c1', exec)).token, 't');
    await p.get('c1', exec);
    assert.equal(await plugin.runs(), 2);
  });

  test('single-flight: concurrent callers share one run', async () => {
    const plugin = await countingPlugin(tokenCred('t'), 'sleep 0.3');
    const p = new ExecCredentialProvider();
    const exec: ExecConfig = { apiVersion: V1, command: plugin.command };
    const all = await Promise.all(Array.from({ length: 10 }, () => p.get('c1', exec)));
    assert.ok(all.every((c) => c.token === 't'));
    assert.equal(await plugin.runs(), 1);
  });

  test('errors are cached briefly', async () => {
    const id = ++n;
    const count = join(dir, `count-${id}`);
    await writeFile(count, '');
    const failing = await script(`echo run >> '${count}'\nexit 1`);
    let now = 1_000_000;
    const p = new ExecCredentialProvider({ now: () => now, errorTtlMs: 5000 });
    const exec: ExecConfig = { apiVersion: V1, command: failing };
    await rejects(p.get('c1', exec), /failed with exit code 1/);
    await rejects(p.get('c1', exec), /failed with exit code 1/);
    const runs = async (): Promise<number> => (await readFile(count, 'utf8')).split('\n').filter(Boolean).length;
    assert.equal(await runs(), 1);
    now += 5001;
    await rejects(p.get('c1', exec), /failed with exit code 1/);
    assert.equal(await runs(), 2);
  });

  test('an aborted caller stops waiting; the shared run still fills the cache', async () => {
    const plugin = await countingPlugin(tokenCred('t'), 'sleep 0.3');
    const p = new ExecCredentialProvider();
    const exec: ExecConfig = { apiVersion: V1, command: plugin.command };
    const ac = new AbortController();
    const waiting = p.get('c1', exec, ac.signal);
    const other = p.get('c1', exec);
    ac.abort(new Error('client went away'));
    await assert.rejects(waiting, /client went away/);
    assert.equal((await other).token, 't');
    assert.equal((await p.get('c1', exec)).token, 't');
    assert.equal(await plugin.runs(), 1);
    await assert.rejects(p.get('c1', exec, AbortSignal.abort(new Error('already'))), /already/);
  });

  test('a slow cluster does not block another one', async () => {
    const slow = await countingPlugin(tokenCred('slow'), 'sleep 0.5');
    const fast = await countingPlugin(tokenCred('fast'));
    const p = new ExecCredentialProvider();
    const order: string[] = [];
    const a = p.get('a', { apiVersion: V1, command: slow.command }).then(() => order.push('a'));
    const b = p.get('b', { apiVersion: V1, command: fast.command }).then(() => order.push('b'));
    await Promise.all([a, b]);
    assert.deepEqual(order, ['b', 'a']);
  });

  test('concurrency bound: with one slot, runs are serialised', async () => {
    const slow = await countingPlugin(tokenCred('slow'), 'sleep 0.3');
    const fast = await countingPlugin(tokenCred('fast'));
    const p = new ExecCredentialProvider({ concurrency: 1 });
    const order: string[] = [];
    const a = p.get('a', { apiVersion: V1, command: slow.command }).then(() => order.push('a'));
    const b = p.get('b', { apiVersion: V1, command: fast.command }).then(() => order.push('b'));
    await Promise.all([a, b]);
    assert.deepEqual(order, ['a', 'b']);
    // the slot is released after failures too
    await rejects(p.get('c', { apiVersion: V1, command: join(dir, 'missing') }), /not found/);
    assert.equal((await p.get('d', { apiVersion: V1, command: fast.command })).token, 'fast');
  });

  test('invalidate during a run: the stale result is not cached', async () => {
    const plugin = await countingPlugin(tokenCred('t'), 'sleep 0.2');
    const p = new ExecCredentialProvider();
    const exec: ExecConfig = { apiVersion: V1, command: plugin.command };
    const first = p.get('c1', exec);
    p.invalidate('c1');
    await first;
    await p.get('c1', exec);
    assert.equal(await plugin.runs(), 2);
  });
});
