// A minimal tar reader/writer (POSIX ustar, plus the PAX and GNU long-name extensions that real tar
// implementations emit) so `kubectl cp` works against a sandbox container's in-memory filesystem in
// both directions: kubectl sends Go archive/tar streams and reads what `tar cf -` produces.

export interface TarEntry {
  /** path inside the archive; directories may end with `/` */
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  mtimeMs: number;
  data: Buffer;
  linkname?: string;
}

export class TarError extends Error {}

const BLOCK = 512;

function octal(buf: Buffer, off: number, len: number, value: number): void {
  if (value >= 8 ** (len - 1)) {
    // base-256 (GNU) for values that do not fit the octal field
    buf[off] = 0x80;
    let v = BigInt(value);
    for (let i = off + len - 1; i > off; i--) {
      buf[i] = Number(v & 0xffn);
      v >>= 8n;
    }
    return;
  }
  buf.write(value.toString(8).padStart(len - 1, '0') + '\0', off, len, 'ascii');
}

function parseNumber(buf: Buffer, off: number, len: number): number {
  const first = buf[off]!;
  if (first & 0x80) {
    let v = 0n;
    for (let i = off + 1; i < off + len; i++) v = (v << 8n) | BigInt(buf[i]!);
    if (first & 0x40) throw new TarError('negative base-256 number in tar header');
    return Number(v);
  }
  const s = buf
    .subarray(off, off + len)
    .toString('ascii')
    .replace(/[\0 ]+$/, '')
    .replace(/^[\0 ]+/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarError(`invalid octal number ${JSON.stringify(s)} in tar header`);
  return Number.parseInt(s, 8);
}

function cstring(buf: Buffer, off: number, len: number): string {
  const b = buf.subarray(off, off + len);
  const z = b.indexOf(0);
  return (z === -1 ? b : b.subarray(0, z)).toString('utf8');
}

function header(name: string, typeflag: string, size: number, mode: number, mtimeMs: number, linkname = ''): Buffer {
  const h = Buffer.alloc(BLOCK);
  let prefix = '';
  let short = name;
  if (Buffer.byteLength(name) > 100) {
    // ustar splits long paths at a slash into prefix (155) + name (100)
    const idx = name.lastIndexOf('/', name.length - 2);
    if (idx > 0 && Buffer.byteLength(name.slice(0, idx)) <= 155 && Buffer.byteLength(name.slice(idx + 1)) <= 100) {
      prefix = name.slice(0, idx);
      short = name.slice(idx + 1);
    } else {
      short = name.slice(0, 100);
    }
  }
  h.write(short, 0, 100, 'utf8');
  octal(h, 100, 8, mode & 0o7777);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.floor(mtimeMs / 1000));
  h.write('        ', 148, 8, 'ascii');
  h.write(typeflag, 156, 1, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 8, 'binary');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

function pad(len: number): Buffer {
  const r = len % BLOCK;
  return r === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - r);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function needsPax(name: string): boolean {
  if (Buffer.byteLength(name) <= 100) return false;
  const idx = name.lastIndexOf('/', name.length - 2);
  return !(idx > 0 && Buffer.byteLength(name.slice(0, idx)) <= 155 && Buffer.byteLength(name.slice(idx + 1)) <= 100);
}

/** Serialize entries as a ustar archive (PAX headers for paths ustar cannot hold). */
export function writeTar(entries: TarEntry[]): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const name = e.type === 'dir' && !e.name.endsWith('/') ? `${e.name}/` : e.name;
    if (needsPax(name)) {
      const rec = Buffer.from(paxRecord('path', name));
      out.push(header('PaxHeaders/' + name.slice(-80), 'x', rec.length, 0o644, e.mtimeMs), rec, pad(rec.length));
    }
    const typeflag = e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0';
    const size = e.type === 'file' ? e.data.length : 0;
    out.push(header(name, typeflag, size, e.mode, e.mtimeMs, e.linkname ?? ''));
    if (size > 0) out.push(e.data, pad(size));
  }
  out.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(out);
}

function parsePax(data: Buffer): Map<string, string> {
  const m = new Map<string, string>();
  let off = 0;
  while (off < data.length) {
    const sp = data.indexOf(0x20, off);
    if (sp === -1) throw new TarError('malformed PAX record');
    const len = Number.parseInt(data.subarray(off, sp).toString('ascii'), 10);
    if (!Number.isInteger(len) || len <= 0 || off + len > data.length) throw new TarError('malformed PAX record');
    const rec = data.subarray(sp + 1, off + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq === -1) throw new TarError('malformed PAX record');
    m.set(rec.slice(0, eq), rec.slice(eq + 1));
    off += len;
  }
  return m;
}

/** Parse a complete tar archive; truncated or corrupt input is a TarError. */
export function readTar(buf: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let off = 0;
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  let globalPax = new Map<string, string>();
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) return entries;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (parseNumber(h, 148, 8) !== sum) throw new TarError('archive/tar: invalid tar header checksum');
    const size = parseNumber(h, 124, 12);
    const typeflag = String.fromCharCode(h[156]!);
    const dataStart = off + BLOCK;
    const dataEnd = dataStart + size;
    if (dataEnd > buf.length) throw new TarError('unexpected EOF in tar archive');
    const data = buf.subarray(dataStart, dataEnd);
    off = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    switch (typeflag) {
      case 'x':
        pax = parsePax(data);
        continue;
      case 'g':
        globalPax = new Map([...globalPax, ...parsePax(data)]);
        continue;
      case 'L':
        longName = cstring(data, 0, data.length);
        continue;
      case 'K':
        longLink = cstring(data, 0, data.length);
        continue;
    }
    const magic = h.subarray(257, 263).toString('binary');
    const prefix = magic.startsWith('ustar') && magic === 'ustar\0' ? cstring(h, 345, 155) : '';
    let name = cstring(h, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    name = pax.get('path') ?? globalPax.get('path') ?? longName ?? name;
    const linkname = pax.get('linkpath') ?? longLink ?? cstring(h, 157, 100);
    const mtimeRaw = pax.get('mtime');
    const mtimeMs =
      mtimeRaw !== undefined && Number.isFinite(Number(mtimeRaw))
        ? Math.round(Number(mtimeRaw) * 1000)
        : parseNumber(h, 136, 12) * 1000;
    const realSize = pax.get('size') !== undefined ? Number(pax.get('size')) : size;
    const type: TarEntry['type'] =
      typeflag === '0' || typeflag === '\0' || typeflag === '7'
        ? 'file'
        : typeflag === '5'
          ? 'dir'
          : typeflag === '2'
            ? 'symlink'
            : 'other';
    entries.push({
      name,
      type,
      mode: parseNumber(h, 100, 8),
      mtimeMs,
      data: type === 'file' ? Buffer.from(data.subarray(0, realSize)) : Buffer.alloc(0),
      linkname,
    });
    pax = new Map();
    longName = undefined;
    longLink = undefined;
  }
  if (off !== buf.length || entries.length === 0) throw new TarError('unexpected EOF in tar archive');
  // archives without the two zero blocks (some writers stop at the last entry) are accepted
  return entries;
}
