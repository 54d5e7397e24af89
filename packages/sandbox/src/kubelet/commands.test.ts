// Tests of the built-in command runner: shell parsing and execution, exit codes, stdin handling,
// the TTY line discipline and the start failure of unknown executables.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { runCommand, lookupCommand, formatDate, type ContainerContext, type CommandIO } from './commands.ts';
import { imageFilesystem } from './fs.ts';
import { parse, ShellSyntaxError } from './shell.ts';

function container(): ContainerContext {
  return {
    namespace: 'default',
    podName: 'p',
    containerName: 'c',
    hostname: 'p',
    env: [
      ['PATH', '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      ['HOSTNAME', 'p'],
      ['GREETING', 'hello world'],
      ['HOME', '/root'],
    ],
    fs: imageFilesystem({ hostname: 'p', podIP: '10.244.0.2', namespace: 'default' }),
    workingDir: '/',
    stopped: new AbortController().signal,
  };
}

async function run(
  argv: string[],
  opts: { stdin?: string | Buffer; tty?: boolean; ctx?: ContainerContext; signal?: AbortSignal } = {},
): Promise<{ code: number; out: string; err: string; startError?: string; raw: Buffer }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const outChunks: Buffer[] = [];
  const errChunks: Buffer[] = [];
  stdout.on('data', (b: Buffer) => outChunks.push(b));
  stderr.on('data', (b: Buffer) => errChunks.push(b));
  let stdin: PassThrough | null = null;
  if (opts.stdin !== undefined) {
    stdin = new PassThrough();
    stdin.end(opts.stdin);
  }
  const io: CommandIO = { stdin, stdout, stderr, tty: opts.tty ?? false, signal: opts.signal };
  const r = await runCommand(opts.ctx ?? container(), argv, io);
  await new Promise((resolve) => setImmediate(resolve));
  const raw = Buffer.concat(outChunks);
  return {
    code: r.exitCode,
    out: raw.toString(),
    err: Buffer.concat(errChunks).toString(),
    startError: r.startError,
    raw,
  };
}

test('shell scripts: sequences, exit codes, variables, quoting', async () => {
  const cases: { argv: string[]; code: number; out?: string; err?: RegExp }[] = [
    { argv: ['sh', '-c', 'exit 3'], code: 3 },
    { argv: ['sh', '-c', 'echo a; echo b && echo c || echo d'], code: 0, out: 'a\nb\nc\n' },
    { argv: ['sh', '-c', 'false && echo no; echo $?'], code: 0, out: '1\n' },
    { argv: ['sh', '-c', 'false || exit 7; echo unreachable'], code: 7, out: '' },
    {
      argv: ['sh', '-c', 'echo "$GREETING" $GREETING \'$GREETING\''],
      code: 0,
      out: 'hello world hello world $GREETING\n',
    },
    { argv: ['sh', '-c', 'X=1; echo ${X}2'], code: 0, out: '12\n' },
    { argv: ['sh', '-c', 'echo one two | cat'], code: 0, out: 'one two\n' },
    { argv: ['sh', '-c', 'nope'], code: 127, err: /sh: nope: not found/ },
    { argv: ['sh', '-c', 'if true; then echo; fi'], code: 2, err: /not supported/ },
    { argv: ['sh', '-c', 'echo "unterminated'], code: 2, err: /unterminated/ },
    {
      argv: ['sh', '-c', 'echo hi > /tmp/f; cat /tmp/f; echo more >> /tmp/f; cat < /tmp/f'],
      code: 0,
      out: 'hi\nhi\nmore\n',
    },
    { argv: ['sh', '-c', 'cat /nope 2>&1'], code: 1, out: 'cat: /nope: No such file or directory\n' },
    { argv: ['sh', '-c', 'cd /tmp && pwd'], code: 0, out: '/tmp\n' },
    { argv: ['sh', '-c', 'test -d /tmp && [ -f /etc/hostname ] && [ 3 -gt 2 ] && echo yes'], code: 0, out: 'yes\n' },
    { argv: ['sh', '-c', '! false'], code: 0 },
    { argv: ['sh', '-c', 'exit 300'], code: 44 },
    { argv: ['/bin/sh', '-c', 'echo $0 $1', 'name', 'arg'], code: 0, out: 'name arg\n' },
    { argv: ['true'], code: 0 },
    { argv: ['false'], code: 1 },
    { argv: ['echo', '-n', 'x'], code: 0, out: 'x' },
    { argv: ['hostname'], code: 0, out: 'p\n' },
    { argv: ['printenv', 'HOSTNAME'], code: 0, out: 'p\n' },
    { argv: ['printenv', 'MISSING'], code: 1, out: '' },
    { argv: ['whoami'], code: 0, out: 'root\n' },
    { argv: ['ls', '/etc'], code: 0, out: 'group\nhostname\nhosts\nos-release\npasswd\nresolv.conf\n' },
    { argv: ['ls', '/missing'], code: 2, err: /cannot access/ },
    { argv: ['/usr/bin/env', 'A=1', 'printenv', 'A'], code: 0, out: '1\n' },
    { argv: ['sh', '-c', 'echo a b c | wc -w'], code: 0, out: '3\n' },
    { argv: ['sh', '-c', 'printf x'], code: 127 },
  ];
  for (const c of cases) {
    const r = await run(c.argv);
    assert.equal(r.code, c.code, `${JSON.stringify(c.argv)}: ${r.err}`);
    if (c.out !== undefined) assert.equal(r.out, c.out, JSON.stringify(c.argv));
    if (c.err) assert.match(r.err, c.err, JSON.stringify(c.argv));
  }
});

test('env lists the container environment', async () => {
  const r = await run(['env']);
  assert.equal(r.code, 0);
  assert.match(r.out, /^PATH=/);
  assert.match(r.out, /\nHOSTNAME=p\n/);
});

test('cat echoes stdin until it ends', async () => {
  const r = await run(['cat'], { stdin: 'hi\nthere\n' });
  assert.equal(r.out, 'hi\nthere\n');
  assert.equal(r.code, 0);
});

test('sh without -c runs the script it reads from stdin', async () => {
  const r = await run(['sh'], { stdin: 'echo one\nexit 4\necho two\n' });
  assert.equal(r.out, 'one\n');
  assert.equal(r.code, 4);
});

test('unknown executables fail to start like a real runtime', async () => {
  for (const [argv, why] of [
    [['nope'], 'exec: "nope": executable file not found in $PATH'],
    [['/opt/x'], 'exec: "/opt/x": stat /opt/x: no such file or directory'],
    [[], 'exec: "": executable file not found in $PATH'],
  ] as const) {
    const r = await run([...argv]);
    assert.equal(r.code, 126);
    assert.ok(r.startError?.includes(why), r.startError);
    assert.match(
      r.startError ?? '',
      /^failed to exec in container: failed to start exec "[0-9a-f]{64}": OCI runtime exec failed/,
    );
  }
  assert.equal(lookupCommand('/usr/bin/cat'), 'cat');
  assert.equal(lookupCommand('/opt/cat'), undefined);
});

test('sleep stops when the client goes away', async () => {
  const ac = new AbortController();
  const t0 = Date.now();
  setTimeout(() => {
    ac.abort();
  }, 50);
  const r = await run(['sleep', 'infinity'], { signal: ac.signal });
  assert.ok(Date.now() - t0 < 2000);
  assert.equal(r.code, 130);
  assert.equal((await run(['sleep', 'x'])).code, 1);
});

test('interactive TTY shell: prompt, echo, CRLF, backspace, ^D', async () => {
  const r = await run(['sh'], { stdin: 'echo hix\x7f\r\x04', tty: true });
  assert.equal(r.code, 0);
  assert.equal(r.out, '/ # echo hix\b \b\r\nhi\r\n/ # exit\r\n');
});

test('tar round trip between two containers', async () => {
  const a = container();
  await run(['sh', '-c', 'mkdir -p /data/sub && echo one > /data/a.txt && echo two > /data/sub/b.txt'], { ctx: a });
  const created = await run(['tar', 'cf', '-', '/data'], { ctx: a });
  assert.equal(created.code, 0);
  assert.equal(created.err, "tar: Removing leading `/' from member names\n");
  const b = container();
  const x = await run(['tar', '--no-same-permissions', '--no-same-owner', '-xmf', '-', '-C', '/tmp'], {
    ctx: b,
    stdin: created.raw,
  });
  assert.equal(x.code, 0, x.err);
  assert.equal((await run(['cat', '/tmp/data/a.txt', '/tmp/data/sub/b.txt'], { ctx: b })).out, 'one\ntwo\n');
  const listed = await run(['tar', 'tf', '-'], { ctx: b, stdin: created.raw });
  assert.equal(listed.out, 'data/\ndata/a.txt\ndata/sub/\ndata/sub/b.txt\n');
});

test('tar rejects bad input and bad options', async () => {
  assert.equal((await run(['tar', 'xf', '-'], { stdin: 'not a tar archive'.repeat(40) })).code, 2);
  assert.equal((await run(['tar', 'xf', '-'], { stdin: '' })).code, 2);
  assert.equal((await run(['tar', '-xf', '-', '-C', '/missing'], { stdin: '' })).code, 2);
  assert.equal((await run(['tar', 'cf', '-', '/missing'])).code, 2);
  assert.equal((await run(['tar', '-Q'])).code, 2);
  assert.equal((await run(['tar'])).code, 2);
});

test('parser errors', () => {
  for (const src of ['a && ', '| a', 'echo $(ls)', 'echo `ls`', 'a ;; b', 'echo "x']) {
    assert.throws(() => parse(src), ShellSyntaxError, src);
  }
  assert.deepEqual(parse('a;b').length, 2);
});

test('date formats', () => {
  const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
  assert.equal(formatDate(d, '%a %b %e %H:%M:%S %Z %Y'), 'Fri Jan  2 03:04:05 UTC 2026');
  assert.equal(formatDate(d, '%s'), String(d.getTime() / 1000));
});
