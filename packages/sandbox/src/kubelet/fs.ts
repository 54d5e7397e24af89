// The in-memory filesystem of one sandbox container. Exec'd commands (cat, ls, tar for `kubectl cp`…)
// read and write here instead of the host: nothing a client sends ever reaches the real disk.

export interface FileNode {
  type: 'file';
  data: Buffer;
  mode: number;
  mtimeMs: number;
}

export interface DirNode {
  type: 'dir';
  children: Map<string, FsNode>;
  mode: number;
  mtimeMs: number;
}

export type FsNode = FileNode | DirNode;

/** errno-style failure; `code` is what shells print (`No such file or directory`). */
export class FsError extends Error {
  readonly code: 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'EEXIST' | 'ENOTEMPTY' | 'EFBIG';
  constructor(code: FsError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

export const FS_MESSAGES: Record<FsError['code'], string> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  EFBIG: 'File too large',
};

/** Total bytes one container's filesystem may hold, so a client cannot exhaust the sandbox's memory. */
export const MAX_FS_BYTES = 64 * 1024 * 1024;

/** Normalize `p` against `cwd`: absolute, no `.`/`..`/empty segments. */
export function resolvePath(cwd: string, p: string): string {
  const parts = (p.startsWith('/') ? p : `${cwd}/${p}`).split('/');
  const out: string[] = [];
  for (const s of parts) {
    if (s === '' || s === '.') continue;
    if (s === '..') out.pop();
    else out.push(s);
  }
  return '/' + out.join('/');
}

function segments(abs: string): string[] {
  return abs.split('/').filter(Boolean);
}

export class MemFS {
  readonly root: DirNode = { type: 'dir', children: new Map(), mode: 0o755, mtimeMs: Date.now() };
  #bytes = 0;

  get usedBytes(): number {
    return this.#bytes;
  }

  lookup(abs: string): FsNode | undefined {
    let cur: FsNode = this.root;
    for (const s of segments(abs)) {
      if (cur.type !== 'dir') return undefined;
      const next = cur.children.get(s);
      if (!next) return undefined;
      cur = next;
    }
    return cur;
  }

  #parent(abs: string): { dir: DirNode; name: string } {
    const segs = segments(abs);
    const name = segs.pop();
    if (name === undefined) throw new FsError('EEXIST', 'cannot replace /');
    let cur: FsNode = this.root;
    for (const s of segs) {
      if (cur.type !== 'dir') throw new FsError('ENOTDIR', abs);
      const next: FsNode | undefined = cur.children.get(s);
      if (!next) throw new FsError('ENOENT', abs);
      cur = next;
    }
    if (cur.type !== 'dir') throw new FsError('ENOTDIR', abs);
    return { dir: cur, name };
  }

  mkdir(abs: string, opts: { parents?: boolean; mode?: number } = {}): void {
    const segs = segments(abs);
    let cur: DirNode = this.root;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      const last = i === segs.length - 1;
      const next = cur.children.get(s);
      if (next) {
        if (next.type !== 'dir') throw new FsError(last ? 'EEXIST' : 'ENOTDIR', abs);
        if (last && !opts.parents) throw new FsError('EEXIST', abs);
        cur = next;
        continue;
      }
      if (!last && !opts.parents) throw new FsError('ENOENT', abs);
      const d: DirNode = { type: 'dir', children: new Map(), mode: opts.mode ?? 0o755, mtimeMs: Date.now() };
      cur.children.set(s, d);
      cur.mtimeMs = Date.now();
      cur = d;
    }
  }

  readFile(abs: string): Buffer {
    const n = this.lookup(abs);
    if (!n) throw new FsError('ENOENT', abs);
    if (n.type === 'dir') throw new FsError('EISDIR', abs);
    return n.data;
  }

  writeFile(abs: string, data: Buffer, opts: { append?: boolean; mode?: number; mtimeMs?: number } = {}): void {
    const { dir, name } = this.#parent(abs);
    const existing = dir.children.get(name);
    if (existing?.type === 'dir') throw new FsError('EISDIR', abs);
    const next = opts.append && existing ? Buffer.concat([existing.data, data]) : data;
    const delta = next.length - (existing?.data.length ?? 0);
    if (this.#bytes + delta > MAX_FS_BYTES) throw new FsError('EFBIG', abs);
    this.#bytes += delta;
    dir.children.set(name, {
      type: 'file',
      data: next,
      mode: opts.mode ?? existing?.mode ?? 0o644,
      mtimeMs: opts.mtimeMs ?? Date.now(),
    });
    dir.mtimeMs = Date.now();
  }

  remove(abs: string, opts: { recursive?: boolean } = {}): void {
    const { dir, name } = this.#parent(abs);
    const n = dir.children.get(name);
    if (!n) throw new FsError('ENOENT', abs);
    if (n.type === 'dir' && n.children.size > 0 && !opts.recursive) throw new FsError('ENOTEMPTY', abs);
    this.#bytes -= sizeOf(n);
    dir.children.delete(name);
  }

  readdir(abs: string): string[] {
    const n = this.lookup(abs);
    if (!n) throw new FsError('ENOENT', abs);
    if (n.type !== 'dir') throw new FsError('ENOTDIR', abs);
    return [...n.children.keys()].sort();
  }
}

function sizeOf(n: FsNode): number {
  if (n.type === 'file') return n.data.length;
  let total = 0;
  for (const c of n.children.values()) total += sizeOf(c);
  return total;
}

/** A container's filesystem as a fresh image would have it. */
export function imageFilesystem(opts: { hostname: string; podIP: string; namespace: string }): MemFS {
  const fs = new MemFS();
  for (const d of [
    '/bin',
    '/dev',
    '/etc',
    '/home',
    '/proc',
    '/root',
    '/sys',
    '/tmp',
    '/usr/bin',
    '/usr/local/bin',
    '/usr/sbin',
    '/var/log',
    '/var/run/secrets/kubernetes.io/serviceaccount',
  ]) {
    fs.mkdir(d, { parents: true });
  }
  (fs.lookup('/tmp') as DirNode).mode = 0o1777;
  fs.writeFile('/etc/hostname', Buffer.from(`${opts.hostname}\n`));
  fs.writeFile(
    '/etc/hosts',
    Buffer.from(
      `# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${opts.podIP}\t${opts.hostname}\n`,
    ),
  );
  fs.writeFile(
    '/etc/resolv.conf',
    Buffer.from(
      `search ${opts.namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n`,
    ),
  );
  fs.writeFile(
    '/etc/passwd',
    Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n'),
  );
  fs.writeFile('/etc/group', Buffer.from('root:x:0:\nnobody:x:65534:\n'));
  fs.writeFile('/etc/os-release', Buffer.from('NAME="Sandbox Linux"\nID=sandbox\nPRETTY_NAME="Sandbox Linux"\n'));
  return fs;
}
