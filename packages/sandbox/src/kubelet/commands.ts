// The sandbox containers' command runner: what `kubectl exec` and `kubectl cp` reach. There are no
// host processes, ever: a small set of built-in commands (echo, cat, env, sh -c, ls, tar, …) run
// against the container's in-memory filesystem. `runCommand` is transport-neutral so WebSocket and
// SPDY exec share it; a missing executable fails to *start* exactly like a real runtime reports it.

import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import { FS_MESSAGES, FsError, MAX_FS_BYTES, resolvePath, type FsNode, type MemFS } from './fs.ts';
import {
  expandWord,
  parse,
  ShellSyntaxError,
  type Redirect,
  type Script,
  type SimpleCommand,
  type Word,
} from './shell.ts';
import { readTar, TarError, writeTar, type TarEntry } from './tar.ts';
import { BufferOutput, discard, Input, streamOutput, TtyDiscipline, type Output } from './stdio.ts';

export interface TerminalSize {
  width: number;
  height: number;
}

/** One running container as commands see it. */
export interface ContainerContext {
  namespace: string;
  podName: string;
  containerName: string;
  hostname: string;
  /** the process environment, in the order `env` prints it */
  env: [string, string][];
  fs: MemFS;
  workingDir: string;
  /** aborted when the container stops (pod deleted) */
  stopped: AbortSignal;
}

export interface CommandIO {
  stdin: Readable | null;
  stdout: Writable | null;
  stderr: Writable | null;
  tty: boolean;
  /** subscribe to terminal size changes (TTY sessions) */
  onResize?: (listener: (size: TerminalSize) => void) => void;
  /** aborted when the client goes away */
  signal?: AbortSignal;
}

/**
 * `exitCode` of the process; `startError` when the process could not be started at all (the
 * runtime's message, e.g. executable not found) — transports report that as an InternalError.
 */
export interface CommandResult {
  exitCode: number;
  startError?: string;
}

interface Shell {
  vars: Map<string, string>;
  exported: Set<string>;
  cwd: string;
  status: number;
  positional: string[];
}

interface Proc {
  argv: string[];
  ctx: ContainerContext;
  sh: Shell;
  stdin: Input;
  stdout: Output;
  stderr: Output;
  signal: AbortSignal;
  tty: TtyDiscipline | undefined;
  size: TerminalSize;
}

type Builtin = (p: Proc) => Promise<number> | number;

class ExitSignal extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

const BIN_DIRS = ['/bin', '/usr/bin', '/sbin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'];

/** Resolve `argv[0]` to a built-in name, as a PATH lookup in the image would. */
export function lookupCommand(name: string): string | undefined {
  let base = name;
  if (name.includes('/')) {
    const i = name.lastIndexOf('/');
    const dir = resolvePath('/', name.slice(0, i) || '/');
    if (!BIN_DIRS.includes(dir)) return undefined;
    base = name.slice(i + 1);
  }
  return Object.hasOwn(BUILTINS, base) ? base : undefined;
}

/** Run `argv` in a container with the given streams; resolves when the process exits. */
export async function runCommand(ctx: ContainerContext, argv: string[], io: CommandIO): Promise<CommandResult> {
  const name = argv[0] ?? '';
  const found = lookupCommand(name);
  if (!found) {
    const why = name.includes('/')
      ? `exec: "${name}": stat ${name}: no such file or directory`
      : `exec: "${name}": executable file not found in $PATH`;
    const execId = randomBytes(32).toString('hex');
    return {
      exitCode: 126,
      startError: `failed to exec in container: failed to start exec "${execId}": OCI runtime exec failed: exec failed: unable to start container process: ${why}: unknown`,
    };
  }
  const signal = io.signal ? AbortSignal.any([ctx.stopped, io.signal]) : ctx.stopped;
  const stdout = streamOutput(io.stdout, io.tty);
  // a TTY merges stderr into the terminal
  const stderr = io.tty ? stdout : streamOutput(io.stderr, false);
  const raw = io.stdin ? Input.fromReadable(io.stdin) : Input.empty();
  const tty = io.tty ? new TtyDiscipline(raw, stdout) : undefined;
  const size: TerminalSize = { width: 80, height: 24 };
  io.onResize?.((s) => {
    size.width = s.width;
    size.height = s.height;
  });
  const sh = newShell(ctx);
  const p: Proc = {
    argv: [found, ...argv.slice(1)],
    ctx,
    sh,
    stdin: tty ? tty.cooked : raw,
    stdout,
    stderr,
    signal,
    tty,
    size,
  };
  try {
    const code = await BUILTINS[found]!(p);
    return { exitCode: code };
  } catch (e) {
    if (e instanceof ExitSignal) return { exitCode: e.code };
    stderr.write(`${found}: ${(e as Error).message}\n`);
    return { exitCode: 1 };
  } finally {
    if (tty) tty.onInterrupt = undefined;
  }
}

function newShell(ctx: ContainerContext): Shell {
  const vars = new Map(ctx.env);
  return { vars, exported: new Set(vars.keys()), cwd: ctx.workingDir || '/', status: 0, positional: ['sh'] };
}

function lookupVar(sh: Shell, name: string): string {
  switch (name) {
    case '?':
      return String(sh.status);
    case '$':
      return '1';
    case '#':
      return String(sh.positional.length - 1);
    case '@':
    case '*':
      return sh.positional.slice(1).join(' ');
  }
  if (/^[0-9]$/.test(name)) return sh.positional[Number(name)] ?? '';
  return sh.vars.get(name) ?? '';
}

function fsMessage(e: unknown): string {
  return e instanceof FsError ? FS_MESSAGES[e.code] : (e as Error).message;
}

// ----- the shell -----

async function runScript(script: Script, p: Proc): Promise<number> {
  for (const ao of script) {
    let status = await runPipeline(ao.first, p);
    for (const r of ao.rest) {
      if ((r.op === '&&' && status === 0) || (r.op === '||' && status !== 0)) status = await runPipeline(r.pipeline, p);
    }
    p.sh.status = status;
    if (p.signal.aborted) return 130;
  }
  return p.sh.status;
}

async function runPipeline(pl: Script[number]['first'], p: Proc): Promise<number> {
  let input = p.stdin;
  let status = 0;
  for (let i = 0; i < pl.commands.length; i++) {
    const last = i === pl.commands.length - 1;
    const pipe = last ? undefined : new BufferOutput();
    status = await runSimple(pl.commands[i]!, { ...p, stdin: input, stdout: pipe ?? p.stdout });
    if (pipe) input = Input.fromBuffer(pipe.buffer);
  }
  return pl.negate ? (status === 0 ? 1 : 0) : status;
}

async function runSimple(cmd: SimpleCommand, p: Proc): Promise<number> {
  const sh = p.sh;
  const look = (n: string): string => lookupVar(sh, n);
  const words = cmd.words.flatMap((w) => expandWord(w, look));
  const assigns = cmd.assigns.map((a) => [a.name, expandWord(a.value, look).join(' ')] as const);
  if (words.length === 0) {
    for (const [k, v] of assigns) sh.vars.set(k, v);
    return 0;
  }
  let stdin = p.stdin;
  let stdout = p.stdout;
  let stderr = p.stderr;
  const files: { path: string; out: BufferOutput; append: boolean }[] = [];
  for (const r of cmd.redirects) {
    const target = expandWord(r.target, look).join(' ');
    const res = redirect(r, target, p, files);
    if (typeof res === 'string') {
      p.stderr.write(`sh: ${res}\n`);
      return 1;
    }
    if (r.fd === 0) stdin = res.input ?? stdin;
    else if (r.fd === 1) stdout = res.output ?? stdout;
    else if (r.fd === 2) stderr = res.output ?? stderr;
    if (r.op === '>&') {
      if (target === '1' && r.fd === 2) stderr = stdout;
      else if (target === '2' && r.fd === 1) stdout = stderr;
    }
  }
  const name = words[0]!;
  let status: number;
  const special = SHELL_BUILTINS[name];
  if (special) {
    status = await special({ ...p, argv: words, stdin, stdout, stderr });
  } else {
    const found = lookupCommand(name);
    if (!found) {
      stderr.write(`sh: ${name}: not found\n`);
      status = 127;
    } else {
      const env = new Map(sh.vars);
      for (const [k, v] of assigns) env.set(k, v);
      const child: Shell = {
        vars: env,
        exported: new Set(env.keys()),
        cwd: sh.cwd,
        status: sh.status,
        positional: ['sh'],
      };
      const ctrl = new AbortController();
      const signal = AbortSignal.any([p.signal, ctrl.signal]);
      if (p.tty)
        p.tty.onInterrupt = () => {
          ctrl.abort();
        };
      try {
        status = await BUILTINS[found]!({
          ...p,
          argv: [found, ...words.slice(1)],
          sh: child,
          stdin,
          stdout,
          stderr,
          signal,
        });
      } catch (e) {
        if (!(e instanceof ExitSignal)) throw e;
        status = e.code;
      } finally {
        if (p.tty) p.tty.onInterrupt = undefined;
      }
      if (ctrl.signal.aborted && !p.signal.aborted) status = 130;
    }
  }
  for (const f of files) {
    try {
      p.ctx.fs.writeFile(resolvePath(sh.cwd, f.path), f.out.buffer, { append: f.append });
    } catch (e) {
      p.stderr.write(`sh: can't create ${f.path}: ${fsMessage(e)}\n`);
      status = 1;
    }
  }
  return status;
}

function redirect(
  r: Redirect,
  target: string,
  p: Proc,
  files: { path: string; out: BufferOutput; append: boolean }[],
): string | { input?: Input; output?: Output } {
  if (r.op === '>&') {
    if (target === '1' || target === '2') return {};
    return `${target}: bad file descriptor`;
  }
  if (r.op === '<') {
    try {
      return { input: Input.fromBuffer(p.ctx.fs.readFile(resolvePath(p.sh.cwd, target))) };
    } catch (e) {
      return `can't open ${target}: ${fsMessage(e)}`;
    }
  }
  if (target === '/dev/null') return { output: discard };
  const abs = resolvePath(p.sh.cwd, target);
  if (p.ctx.fs.lookup(abs)?.type === 'dir') return `can't create ${target}: Is a directory`;
  const out = new BufferOutput();
  // truncate now so the file exists even when the command writes nothing
  if (r.op === '>') {
    try {
      p.ctx.fs.writeFile(abs, Buffer.alloc(0));
    } catch (e) {
      return `can't create ${target}: ${fsMessage(e)}`;
    }
  }
  files.push({ path: target, out, append: true });
  return { output: out };
}

async function interactive(p: Proc): Promise<number> {
  const prompt = (): void => {
    if (p.tty) p.stdout.write(`${p.sh.cwd === '/root' ? '~' : p.sh.cwd} # `);
  };
  if (p.tty)
    p.tty.onInterrupt = () => {
      prompt();
    };
  prompt();
  for (;;) {
    const line = await p.stdin.readLine(p.signal);
    if (line === null) {
      if (p.tty) p.stdout.write('exit\n');
      return p.sh.status;
    }
    const status = await runSource(line, p);
    p.sh.status = status;
    if (p.signal.aborted) return 130;
    if (p.tty)
      p.tty.onInterrupt = () => {
        prompt();
      };
    prompt();
  }
}

async function runSource(src: string, p: Proc): Promise<number> {
  let script: Script;
  try {
    script = parse(src);
  } catch (e) {
    if (!(e instanceof ShellSyntaxError)) throw e;
    p.stderr.write(`sh: ${e.message}\n`);
    return 2;
  }
  return runScript(script, p);
}

const sh: Builtin = async (p) => {
  const args = p.argv.slice(1);
  let script: string | undefined;
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c') {
      script = args[i + 1];
      if (script === undefined) {
        p.stderr.write('sh: -c requires an argument\n');
        return 2;
      }
      i += 2;
      break;
    }
    if (/^-[eixlsu]+$/.test(a) || a === '--login') continue;
    if (a === '--') {
      i++;
      break;
    }
    break;
  }
  try {
    if (script !== undefined) {
      p.sh.positional = args.length > i ? args.slice(i) : ['sh'];
      return await runSource(script, p);
    }
    if (i < args.length) {
      const file = args[i]!;
      let src: string;
      try {
        src = p.ctx.fs.readFile(resolvePath(p.sh.cwd, file)).toString('utf8');
      } catch (e) {
        p.stderr.write(`sh: can't open '${file}': ${fsMessage(e)}\n`);
        return 2;
      }
      p.sh.positional = args.slice(i);
      return await runSource(src, p);
    }
    return await interactive(p);
  } catch (e) {
    if (e instanceof ExitSignal) return e.code;
    throw e;
  }
};

/** Builtins that act on the shell itself. */
const SHELL_BUILTINS: Record<string, Builtin> = {
  exit: (p) => {
    const a = p.argv[1];
    const code = a === undefined ? p.sh.status : Number.parseInt(a, 10);
    if (!Number.isFinite(code)) {
      p.stderr.write(`sh: exit: Illegal number: ${a}\n`);
      throw new ExitSignal(2);
    }
    throw new ExitSignal(((code % 256) + 256) % 256);
  },
  cd: (p) => {
    const target = p.argv[1] ?? p.sh.vars.get('HOME') ?? '/';
    const abs = resolvePath(p.sh.cwd, target);
    const n = p.ctx.fs.lookup(abs);
    if (!n) {
      p.stderr.write(`sh: cd: can't cd to ${target}: No such file or directory\n`);
      return 2;
    }
    if (n.type !== 'dir') {
      p.stderr.write(`sh: cd: can't cd to ${target}: Not a directory\n`);
      return 2;
    }
    p.sh.cwd = abs;
    p.sh.vars.set('PWD', abs);
    return 0;
  },
  export: (p) => {
    for (const a of p.argv.slice(1)) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a : a.slice(0, eq);
      if (eq !== -1) p.sh.vars.set(name, a.slice(eq + 1));
      p.sh.exported.add(name);
    }
    return 0;
  },
  unset: (p) => {
    for (const a of p.argv.slice(1)) {
      p.sh.vars.delete(a);
      p.sh.exported.delete(a);
    }
    return 0;
  },
};

// ----- commands -----

function flagsAndArgs(argv: string[], valued: string[] = []): { flags: Map<string, string>; args: string[] } {
  const flags = new Map<string, string>();
  const args: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      for (let j = 1; j < a.length; j++) {
        const f = a[j]!;
        if (valued.includes(f)) {
          flags.set(f, a.slice(j + 1) || (argv[++i] ?? ''));
          break;
        }
        flags.set(f, '');
      }
    } else args.push(a);
  }
  return { flags, args };
}

async function pipeInput(p: Proc, out: Output): Promise<void> {
  for (;;) {
    const b = await p.stdin.read(p.signal);
    if (!b) return;
    out.write(b);
  }
}

function envOf(p: Proc): [string, string][] {
  return [...p.sh.vars].filter(([k]) => p.sh.exported.has(k));
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function formatDate(d: Date, fmt: string): string {
  return fmt.replace(/%(.)/g, (_m, c: string) => {
    switch (c) {
      case 'Y':
        return String(d.getUTCFullYear());
      case 'm':
        return pad2(d.getUTCMonth() + 1);
      case 'd':
        return pad2(d.getUTCDate());
      case 'e':
        return String(d.getUTCDate()).padStart(2, ' ');
      case 'H':
        return pad2(d.getUTCHours());
      case 'M':
        return pad2(d.getUTCMinutes());
      case 'S':
        return pad2(d.getUTCSeconds());
      case 's':
        return String(Math.floor(d.getTime() / 1000));
      case 'N':
        return String(d.getUTCMilliseconds() * 1_000_000).padStart(9, '0');
      case 'Z':
        return 'UTC';
      case 'z':
        return '+0000';
      case 'a':
        return DAYS[d.getUTCDay()]!;
      case 'b':
        return MONTHS[d.getUTCMonth()]!;
      case 'F':
        return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
      case 'T':
        return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case '%':
        return '%';
      default:
        return `%${c}`;
    }
  });
}

function modeString(n: FsNode): string {
  const bits = n.mode;
  const rwx = (v: number): string => `${v & 4 ? 'r' : '-'}${v & 2 ? 'w' : '-'}${v & 1 ? 'x' : '-'}`;
  let s = (n.type === 'dir' ? 'd' : '-') + rwx(bits >> 6) + rwx(bits >> 3) + rwx(bits);
  if (bits & 0o1000) s = s.slice(0, 9) + (bits & 1 ? 't' : 'T');
  return s;
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const t = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    function done(): void {
      if (t) clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function testExpr(args: string[], p: Proc): boolean | string {
  const fs = p.ctx.fs;
  const node = (f: string): FsNode | undefined => fs.lookup(resolvePath(p.sh.cwd, f));
  if (args[0] === '!') {
    const r = testExpr(args.slice(1), p);
    return typeof r === 'string' ? r : !r;
  }
  if (args.length === 0) return false;
  if (args.length === 1) return args[0] !== '';
  if (args.length === 2) {
    const [op, v] = args as [string, string];
    switch (op) {
      case '-d':
        return node(v)?.type === 'dir';
      case '-f':
        return node(v)?.type === 'file';
      case '-e':
      case '-r':
      case '-w':
        return node(v) !== undefined;
      case '-x': {
        const n = node(v);
        return n !== undefined && (n.mode & 0o111) !== 0;
      }
      case '-s': {
        const n = node(v);
        return n?.type === 'file' ? n.data.length > 0 : n !== undefined;
      }
      case '-z':
        return v === '';
      case '-n':
        return v !== '';
      case '-L':
      case '-h':
        return false;
    }
    return `${op}: unary operator expected`;
  }
  if (args.length === 3) {
    const [a, op, b] = args as [string, string, string];
    const num = (s: string): number | undefined => (/^\s*-?\d+\s*$/.test(s) ? Number(s) : undefined);
    switch (op) {
      case '=':
      case '==':
        return a === b;
      case '!=':
        return a !== b;
    }
    if (['-eq', '-ne', '-lt', '-le', '-gt', '-ge'].includes(op)) {
      const x = num(a);
      const y = num(b);
      if (x === undefined) return `${a}: integer expression expected`;
      if (y === undefined) return `${b}: integer expression expected`;
      return op === '-eq'
        ? x === y
        : op === '-ne'
          ? x !== y
          : op === '-lt'
            ? x < y
            : op === '-le'
              ? x <= y
              : op === '-gt'
                ? x > y
                : x >= y;
    }
  }
  return 'syntax error';
}

function lsLong(name: string, n: FsNode): string {
  const size = n.type === 'file' ? n.data.length : 4096;
  const d = new Date(n.mtimeMs);
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  const links = n.type === 'dir' ? 2 + [...n.children.values()].filter((c) => c.type === 'dir').length : 1;
  return `${modeString(n)} ${String(links).padStart(4)} root     root     ${String(size).padStart(9)} ${when} ${name}`;
}

const tar: Builtin = async (p) => {
  let mode: 'c' | 'x' | 't' | undefined;
  let file = '-';
  let dir = p.sh.cwd;
  let verbose = false;
  let gzip = false;
  let touch = false;
  let noSamePerms = false;
  const paths: string[] = [];
  const args = p.argv.slice(1);
  const bundle = (s: string, rest: string[]): string | undefined => {
    for (const c of s) {
      switch (c) {
        case 'c':
        case 'x':
        case 't':
          if (mode && mode !== c)
            return "You may not specify more than one '-Acdtrux', '--delete' or  '--test-label' option";
          mode = c;
          break;
        case 'f': {
          const v = rest.shift();
          if (v === undefined) return "option requires an argument -- 'f'";
          file = v;
          break;
        }
        case 'C': {
          const v = rest.shift();
          if (v === undefined) return "option requires an argument -- 'C'";
          dir = resolvePath(p.sh.cwd, v);
          break;
        }
        case 'v':
          verbose = true;
          break;
        case 'z':
          gzip = true;
          break;
        case 'm':
          touch = true;
          break;
        case 'o':
        case 'p':
        case 'h':
          break;
        default:
          return `invalid option -- '${c}'`;
      }
    }
    return undefined;
  };
  const rest = [...args];
  let first = true;
  while (rest.length) {
    const a = rest.shift()!;
    let err: string | undefined;
    if (a.startsWith('--')) {
      const [k, v] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
      switch (k) {
        case '--no-same-permissions':
          noSamePerms = true;
          break;
        case '--no-same-owner':
        case '--same-owner':
        case '--same-permissions':
        case '--preserve-permissions':
        case '--numeric-owner':
          break;
        case '--touch':
          touch = true;
          break;
        case '--verbose':
          verbose = true;
          break;
        case '--gzip':
          gzip = true;
          break;
        case '--create':
          err = bundle('c', rest);
          break;
        case '--extract':
        case '--get':
          err = bundle('x', rest);
          break;
        case '--list':
          err = bundle('t', rest);
          break;
        case '--file':
          file = v ?? rest.shift() ?? '-';
          break;
        case '--directory':
          dir = resolvePath(p.sh.cwd, v ?? rest.shift() ?? '.');
          break;
        default:
          err = `unrecognized option '${a}'`;
      }
    } else if (a.startsWith('-') && a.length > 1) {
      err = bundle(a.slice(1), rest);
    } else if (first) {
      // old-style bundled flags: `tar cf - x`
      err = bundle(a, rest);
    } else paths.push(a);
    first = false;
    if (err) {
      p.stderr.write(`tar: ${err}\nTry 'tar --help' or 'tar --usage' for more information.\n`);
      return 2;
    }
  }
  if (!mode) {
    p.stderr.write(
      "tar: You must specify one of the '-Acdtrux', '--delete' or '--test-label' options\nTry 'tar --help' or 'tar --usage' for more information.\n",
    );
    return 2;
  }
  const fs = p.ctx.fs;
  const dirNode = fs.lookup(dir);
  if (dirNode?.type !== 'dir') {
    p.stderr.write(
      `tar: ${dir}: Cannot open: ${dirNode ? 'Not a directory' : 'No such file or directory'}\ntar: Error is not recoverable: exiting now\n`,
    );
    return 2;
  }
  let failed = false;
  if (mode === 'c') {
    if (paths.length === 0) {
      p.stderr.write(
        "tar: Cowardly refusing to create an empty archive\nTry 'tar --help' or 'tar --usage' for more information.\n",
      );
      return 2;
    }
    const entries: TarEntry[] = [];
    let warned = false;
    const add = (name: string, n: FsNode): void => {
      if (n.type === 'dir') {
        entries.push({
          name: name.endsWith('/') ? name : `${name}/`,
          type: 'dir',
          mode: n.mode,
          mtimeMs: n.mtimeMs,
          data: Buffer.alloc(0),
        });
        for (const [child, c] of [...n.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
          add(`${name.replace(/\/$/, '')}/${child}`, c);
      } else entries.push({ name, type: 'file', mode: n.mode, mtimeMs: n.mtimeMs, data: n.data });
      if (verbose)
        (file === '-' ? p.stderr : p.stdout).write(`${name}${n.type === 'dir' && !name.endsWith('/') ? '/' : ''}\n`);
    };
    for (const path of paths) {
      const n = fs.lookup(resolvePath(dir, path));
      if (!n) {
        p.stderr.write(`tar: ${path}: Cannot stat: No such file or directory\n`);
        failed = true;
        continue;
      }
      let name = resolvePath('/', path).slice(1) || '.';
      if (path.startsWith('/')) {
        if (!warned) p.stderr.write("tar: Removing leading `/' from member names\n");
        warned = true;
      } else name = path.replace(/^(\.\/)+/, '').replace(/\/+$/, '') || '.';
      add(name, n);
    }
    let archive = writeTar(entries);
    if (gzip) archive = gzipSync(archive);
    if (file === '-') p.stdout.write(archive);
    else {
      try {
        fs.writeFile(resolvePath(p.sh.cwd, file), archive);
      } catch (e) {
        p.stderr.write(`tar: ${file}: Cannot open: ${fsMessage(e)}\n`);
        return 2;
      }
    }
  } else {
    let buf: Buffer;
    try {
      buf = file === '-' ? await p.stdin.readAll(p.signal, MAX_FS_BYTES * 2) : fs.readFile(resolvePath(p.sh.cwd, file));
    } catch (e) {
      p.stderr.write(`tar: ${file}: Cannot open: ${fsMessage(e)}\ntar: Error is not recoverable: exiting now\n`);
      return 2;
    }
    let entries: TarEntry[];
    try {
      if (gzip || (buf[0] === 0x1f && buf[1] === 0x8b)) buf = gunzipSync(buf);
      if (buf.length === 0) throw new TarError('empty');
      entries = readTar(buf);
    } catch (e) {
      if (!(e instanceof TarError) && !(e instanceof Error)) throw e;
      p.stderr.write(
        'tar: This does not look like a tar archive\ntar: Exiting with failure status due to previous errors\n',
      );
      return 2;
    }
    const wanted = paths.map((x) => x.replace(/\/+$/, ''));
    for (const e of entries) {
      const clean = e.name.replace(/\/+$/, '');
      if (wanted.length && !wanted.some((w) => clean === w || clean.startsWith(`${w}/`))) continue;
      if (mode === 't') {
        p.stdout.write(
          verbose
            ? `${lsLong(e.name, { type: e.type === 'dir' ? 'dir' : 'file', mode: e.mode, mtimeMs: e.mtimeMs, data: e.data, children: new Map() })}\n`
            : `${e.name}\n`,
        );
        continue;
      }
      if (verbose) p.stdout.write(`${e.name}\n`);
      const target = resolvePath(dir, clean);
      const perm = noSamePerms ? e.mode & ~0o022 : e.mode;
      try {
        if (e.type === 'dir') {
          const existing = fs.lookup(target);
          if (existing?.type !== 'dir') fs.mkdir(target, { parents: true, mode: perm || 0o755 });
        } else if (e.type === 'file') {
          fs.mkdir(resolvePath(target, '..'), { parents: true });
          fs.writeFile(target, e.data, { mode: perm || 0o644, mtimeMs: touch ? Date.now() : e.mtimeMs });
        }
      } catch (err) {
        p.stderr.write(`tar: ${clean}: Cannot open: ${fsMessage(err)}\n`);
        failed = true;
      }
    }
  }
  if (failed) {
    p.stderr.write('tar: Exiting with failure status due to previous errors\n');
    return 2;
  }
  return 0;
};

const BUILTINS: Record<string, Builtin> = {
  sh,
  bash: sh,
  ash: sh,
  tar,
  true: () => 0,
  false: () => 1,
  ':': () => 0,
  echo: (p) => {
    const args = p.argv.slice(1);
    let newline = true;
    let escapes = false;
    while (args[0] && /^-[neE]+$/.test(args[0])) {
      const f = args.shift()!;
      if (f.includes('n')) newline = false;
      if (f.includes('e')) escapes = true;
      if (f.includes('E')) escapes = false;
    }
    let s = args.join(' ');
    if (escapes) {
      const cut = s.indexOf('\\c');
      if (cut !== -1) {
        s = s.slice(0, cut);
        newline = false;
      }
      s = s.replace(
        /\\([nrtab\\0])/g,
        (_m, c: string) => ({ n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '\\': '\\', '0': '\0' })[c] ?? c,
      );
    }
    p.stdout.write(newline ? `${s}\n` : s);
    return 0;
  },
  cat: async (p) => {
    const { args } = flagsAndArgs(p.argv);
    if (args.length === 0) args.push('-');
    let status = 0;
    for (const f of args) {
      if (f === '-') {
        await pipeInput(p, p.stdout);
        continue;
      }
      try {
        p.stdout.write(p.ctx.fs.readFile(resolvePath(p.sh.cwd, f)));
      } catch (e) {
        p.stderr.write(`cat: ${f}: ${fsMessage(e)}\n`);
        status = 1;
      }
    }
    return status;
  },
  env: async (p) => {
    const args = p.argv.slice(1);
    const env = new Map(envOf(p));
    while (args[0]?.includes('=')) {
      const a = args.shift()!;
      env.set(a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1));
    }
    if (args.length === 0) {
      for (const [k, v] of env) p.stdout.write(`${k}=${v}\n`);
      return 0;
    }
    const name = args[0]!;
    const found = lookupCommand(name);
    if (!found) {
      p.stderr.write(`env: '${name}': No such file or directory\n`);
      return 127;
    }
    const child: Shell = { vars: env, exported: new Set(env.keys()), cwd: p.sh.cwd, status: 0, positional: ['sh'] };
    return BUILTINS[found]!({ ...p, argv: [found, ...args.slice(1)], sh: child });
  },
  printenv: (p) => {
    const env = new Map(envOf(p));
    const names = p.argv.slice(1);
    if (names.length === 0) {
      for (const [k, v] of env) p.stdout.write(`${k}=${v}\n`);
      return 0;
    }
    let status = 0;
    for (const n of names) {
      const v = env.get(n);
      if (v === undefined) status = 1;
      else p.stdout.write(`${v}\n`);
    }
    return status;
  },
  hostname: (p) => {
    p.stdout.write(`${p.ctx.hostname}\n`);
    return 0;
  },
  whoami: (p) => {
    p.stdout.write('root\n');
    return 0;
  },
  id: (p) => {
    p.stdout.write('uid=0(root) gid=0(root) groups=0(root)\n');
    return 0;
  },
  pwd: (p) => {
    p.stdout.write(`${p.sh.cwd}\n`);
    return 0;
  },
  uname: (p) => {
    const { flags } = flagsAndArgs(p.argv);
    const parts: string[] = [];
    const all = flags.has('a');
    if (all || flags.has('s') || flags.size === 0) parts.push('Linux');
    if (all || flags.has('n')) parts.push(p.ctx.hostname);
    if (all || flags.has('r')) parts.push('6.8.0-sandbox');
    if (all || flags.has('v')) parts.push('#1 SMP PREEMPT_DYNAMIC');
    if (all || flags.has('m')) parts.push('x86_64');
    if (all || flags.has('o')) parts.push('GNU/Linux');
    p.stdout.write(`${parts.join(' ')}\n`);
    return 0;
  },
  date: (p) => {
    const fmt = p.argv.slice(1).find((a) => a.startsWith('+'));
    p.stdout.write(`${formatDate(new Date(), fmt ? fmt.slice(1) : '%a %b %e %H:%M:%S %Z %Y')}\n`);
    return 0;
  },
  sleep: async (p) => {
    const a = p.argv[1];
    if (a === undefined) {
      p.stderr.write('sleep: missing operand\n');
      return 1;
    }
    let ms: number;
    if (a === 'infinity') ms = Infinity;
    else {
      const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(a);
      if (!m) {
        p.stderr.write(`sleep: invalid time interval '${a}'\n`);
        return 1;
      }
      ms = Number(m[1]) * 1000 * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]!] ?? 1);
    }
    await sleepFor(ms, p.signal);
    return p.signal.aborted ? 130 : 0;
  },
  ls: (p) => {
    const { flags, args } = flagsAndArgs(p.argv);
    const long = flags.has('l');
    const all = flags.has('a') || flags.has('A');
    if (args.length === 0) args.push('.');
    let status = 0;
    const files: string[] = [];
    const dirs: [string, FsNode & { type: 'dir' }][] = [];
    for (const a of args) {
      const n = p.ctx.fs.lookup(resolvePath(p.sh.cwd, a));
      if (!n) {
        p.stderr.write(`ls: cannot access '${a}': No such file or directory\n`);
        status = 2;
      } else if (n.type === 'dir' && !flags.has('d')) dirs.push([a, n]);
      else files.push(long ? lsLong(a, n) : a);
    }
    for (const f of files) p.stdout.write(`${f}\n`);
    dirs.forEach(([name, d], i) => {
      if (args.length > 1) p.stdout.write(`${i > 0 || files.length ? '\n' : ''}${name}:\n`);
      const names = [...d.children.keys()].filter((k) => all || !k.startsWith('.')).sort();
      if (long) p.stdout.write(`total ${names.length * 4}\n`);
      for (const k of names) p.stdout.write(long ? `${lsLong(k, d.children.get(k)!)}\n` : `${k}\n`);
    });
    return status;
  },
  test: (p) => {
    const r = testExpr(p.argv.slice(1), p);
    if (typeof r === 'string') {
      p.stderr.write(`sh: test: ${r}\n`);
      return 2;
    }
    return r ? 0 : 1;
  },
  '[': (p) => {
    const args = p.argv.slice(1);
    if (args[args.length - 1] !== ']') {
      p.stderr.write("sh: [: missing ']'\n");
      return 2;
    }
    const r = testExpr(args.slice(0, -1), p);
    if (typeof r === 'string') {
      p.stderr.write(`sh: [: ${r}\n`);
      return 2;
    }
    return r ? 0 : 1;
  },
  mkdir: (p) => {
    const { flags, args } = flagsAndArgs(p.argv, ['m']);
    let status = 0;
    for (const a of args) {
      try {
        p.ctx.fs.mkdir(resolvePath(p.sh.cwd, a), { parents: flags.has('p') });
      } catch (e) {
        p.stderr.write(`mkdir: cannot create directory '${a}': ${fsMessage(e)}\n`);
        status = 1;
      }
    }
    return status;
  },
  rm: (p) => {
    const { flags, args } = flagsAndArgs(p.argv);
    const force = flags.has('f');
    const recursive = flags.has('r') || flags.has('R');
    let status = 0;
    for (const a of args) {
      const abs = resolvePath(p.sh.cwd, a);
      const n = p.ctx.fs.lookup(abs);
      if (!n) {
        if (!force) {
          p.stderr.write(`rm: cannot remove '${a}': No such file or directory\n`);
          status = 1;
        }
        continue;
      }
      if (n.type === 'dir' && !recursive) {
        p.stderr.write(`rm: cannot remove '${a}': Is a directory\n`);
        status = 1;
        continue;
      }
      p.ctx.fs.remove(abs, { recursive: true });
    }
    return status;
  },
  touch: (p) => {
    const { args } = flagsAndArgs(p.argv);
    let status = 0;
    for (const a of args) {
      const abs = resolvePath(p.sh.cwd, a);
      const n = p.ctx.fs.lookup(abs);
      try {
        if (n) n.mtimeMs = Date.now();
        else p.ctx.fs.writeFile(abs, Buffer.alloc(0));
      } catch (e) {
        p.stderr.write(`touch: cannot touch '${a}': ${fsMessage(e)}\n`);
        status = 1;
      }
    }
    return status;
  },
  head: async (p) => headTail(p, 'head'),
  tail: async (p) => headTail(p, 'tail'),
  wc: async (p) => {
    const { flags, args } = flagsAndArgs(p.argv);
    const count = (b: Buffer): number[] => {
      const s = b.toString('utf8');
      return [b.filter((c) => c === 0x0a).length, s.split(/\s+/).filter(Boolean).length, b.length];
    };
    const pick = (c: number[]): string => {
      const sel =
        flags.size === 0
          ? c
          : c.filter(
              (_v, i) => (i === 0 && flags.has('l')) || (i === 1 && flags.has('w')) || (i === 2 && flags.has('c')),
            );
      return sel.map((v) => String(v).padStart(flags.size === 1 ? 0 : 7)).join(' ');
    };
    if (args.length === 0) {
      p.stdout.write(`${pick(count(await p.stdin.readAll(p.signal, MAX_FS_BYTES)))}\n`);
      return 0;
    }
    let status = 0;
    for (const f of args) {
      try {
        p.stdout.write(`${pick(count(p.ctx.fs.readFile(resolvePath(p.sh.cwd, f))))} ${f}\n`);
      } catch (e) {
        p.stderr.write(`wc: ${f}: ${fsMessage(e)}\n`);
        status = 1;
      }
    }
    return status;
  },
};

async function headTail(p: Proc, which: 'head' | 'tail'): Promise<number> {
  const argv = p.argv.map((a, i) => (i > 0 && /^-\d+$/.test(a) ? `-n${a.slice(1)}` : a));
  const { flags, args } = flagsAndArgs(argv, ['n', 'c']);
  const nRaw = flags.get('n');
  const cRaw = flags.get('c');
  let data: Buffer;
  try {
    data =
      args.length && args[0] !== '-'
        ? p.ctx.fs.readFile(resolvePath(p.sh.cwd, args[0]!))
        : await p.stdin.readAll(p.signal, MAX_FS_BYTES);
  } catch (e) {
    p.stderr.write(`${which}: cannot open '${args[0] ?? ''}' for reading: ${fsMessage(e)}\n`);
    return 1;
  }
  if (cRaw !== undefined) {
    const fromStart = cRaw.startsWith('+');
    const n = Number.parseInt(cRaw.replace(/^[+-]/, ''), 10);
    if (!Number.isFinite(n)) {
      p.stderr.write(`${which}: invalid number of bytes: '${cRaw}'\n`);
      return 1;
    }
    if (which === 'head') p.stdout.write(data.subarray(0, n));
    else p.stdout.write(fromStart ? data.subarray(Math.max(0, n - 1)) : data.subarray(Math.max(0, data.length - n)));
    return 0;
  }
  const n = nRaw === undefined ? 10 : Number.parseInt(nRaw.replace(/^[+-]/, ''), 10);
  if (!Number.isFinite(n)) {
    p.stderr.write(`${which}: invalid number of lines: '${nRaw ?? ''}'\n`);
    return 1;
  }
  const text = data.toString('utf8');
  const lines = text.split(/(?<=\n)/);
  if (which === 'head') p.stdout.write(lines.slice(0, n).join(''));
  else if (nRaw?.startsWith('+')) p.stdout.write(lines.slice(Math.max(0, n - 1)).join(''));
  else p.stdout.write(n === 0 ? '' : lines.slice(-n).join(''));
  return 0;
}

/** The names of the built-in commands (for `kubectl exec` completion and docs). */
export function commandNames(): string[] {
  return Object.keys(BUILTINS).sort();
}

export type { Word };
