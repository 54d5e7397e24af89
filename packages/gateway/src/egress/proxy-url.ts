// Egress through a cluster's `proxy-url` (Secret key `proxy-url`): an HTTP CONNECT tunnel through an
// http:// or https:// proxy, or a SOCKS5 tunnel (socks5:// resolves the member's name locally,
// socks5h:// lets the proxy resolve it). Credentials in the URL become `Proxy-Authorization: Basic`
// or SOCKS5 username/password (RFC 1929) and never appear in errors or logs. Upstream applies the
// proxy to normal requests only; every request goes through it here, upgrades included.
// The endpoint policy applies to the proxy's own address and, as far as the gateway can know it, to
// the member's: a literal IP or what the name resolves to locally. A name only the proxy can resolve
// is left to the proxy (documented limitation: restrict such proxies on their side).
// SOCKS5 is a few dozen lines, so it is spoken here rather than through a library that puts the
// socket in flowing mode before TLS takes it over.

import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { DialError, joinHostPort, resolveHost, type DirectDialer } from './direct.ts';
import type { Dialer, DialTarget } from './types.ts';

export interface ProxyURLDialerOptions {
  /** reaches the proxy itself (the endpoint policy applies to the proxy address too) */
  direct: DirectDialer;
  /** TLS settings for https:// proxies (e.g. an extra CA); default: the system trust store */
  proxyTls?: tls.ConnectionOptions;
  /** proxy handshake (TLS to the proxy, CONNECT or SOCKS5 exchange); default 30 s */
  handshakeTimeoutMs?: number;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = {
  'http:': 80,
  'https:': 443,
  'socks5:': 1080,
  'socks5h:': 1080,
};
const MAX_HEAD = 16 * 1024;

/** The proxy URL without credentials, for messages. */
export function redactProxyURL(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid proxy-url>';
  }
}

/**
 * Read from `sock` until `complete(buf)` says how many bytes form the message (≥ 0); bytes beyond it
 * are unshifted for the next reader. Rejects on EOF, error, abort or when `limit` is exceeded.
 */
function readMessage(
  sock: Duplex,
  complete: (buf: Buffer) => number,
  what: string,
  signal: AbortSignal,
  limit = MAX_HEAD,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const cleanup = (): void => {
      sock.off('readable', onReadable);
      sock.off('end', onEnd);
      sock.off('close', onEnd);
      sock.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const onReadable = (): void => {
      let chunk: unknown;
      while ((chunk = sock.read()) !== null) {
        buf = Buffer.concat([buf, chunk as Buffer]);
        const n = complete(buf);
        if (n >= 0) {
          cleanup();
          if (n < buf.length) sock.unshift(buf.subarray(n));
          resolve(buf.subarray(0, n));
          return;
        }
        if (buf.length > limit) {
          fail(new DialError('proxy', `${what}: response too large`));
          return;
        }
      }
    };
    const onEnd = (): void => {
      fail(new DialError('proxy', `${what}: unexpected EOF`));
    };
    const onError = (e: Error): void => {
      fail(new DialError('proxy', `${what}: ${e.message}`, { cause: e }));
    };
    const onAbort = (): void => {
      fail(
        signal.reason instanceof DialError
          ? signal.reason
          : new DialError('aborted', `${what}: operation was canceled`),
      );
    };
    sock.on('readable', onReadable);
    sock.once('end', onEnd);
    sock.once('close', onEnd);
    sock.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    onReadable();
  });
}

function write(sock: Duplex, data: Buffer | string): void {
  sock.write(data);
}

/** HTTP CONNECT through an already-open connection to the proxy. */
export async function httpConnect(
  sock: Duplex,
  authority: string,
  proxyAuthorization: string | undefined,
  label: string,
  signal: AbortSignal,
): Promise<void> {
  const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
  if (proxyAuthorization) lines.push(`Proxy-Authorization: ${proxyAuthorization}`);
  write(sock, `${lines.join('\r\n')}\r\n\r\n`);
  const head = await readMessage(
    sock,
    (b) => {
      const i = b.indexOf('\r\n\r\n');
      return i < 0 ? -1 : i + 4;
    },
    `proxyconnect tcp ${label}`,
    signal,
  );
  const statusLine = head.toString('latin1').split('\r\n', 1)[0] ?? '';
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m) throw new DialError('proxy', `proxyconnect tcp ${label}: malformed response ${JSON.stringify(statusLine)}`);
  if (m[1] !== '200') {
    throw new DialError(
      'proxy',
      `proxyconnect tcp ${label}: proxy refused the tunnel to ${authority}: ${m[1]!} ${m[2] ?? ''}`.trimEnd(),
    );
  }
}

const SOCKS_REPLIES: Readonly<Record<number, string>> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

/** SOCKS5 CONNECT (RFC 1928) with optional username/password (RFC 1929). */
export async function socks5Connect(
  sock: Duplex,
  host: string,
  port: number,
  auth: { username: string; password: string } | undefined,
  label: string,
  signal: AbortSignal,
): Promise<void> {
  const what = `socks connect tcp ${label}->${joinHostPort(host, port)}`;
  write(sock, Buffer.from(auth ? [5, 2, 0, 2] : [5, 1, 0]));
  const greeting = await readMessage(sock, (b) => (b.length >= 2 ? 2 : -1), what, signal);
  if (greeting[0] !== 5) throw new DialError('proxy', `${what}: unexpected protocol version ${String(greeting[0])}`);
  const method = greeting[1];
  if (method === 2 && auth) {
    const u = Buffer.from(auth.username);
    const p = Buffer.from(auth.password);
    if (u.length > 255 || p.length > 255) throw new DialError('proxy', `${what}: username or password too long`);
    write(sock, Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]));
    const r = await readMessage(sock, (b) => (b.length >= 2 ? 2 : -1), what, signal);
    if (r[1] !== 0) throw new DialError('proxy', `${what}: username/password authentication failed`);
  } else if (method !== 0) {
    throw new DialError('proxy', `${what}: no acceptable authentication methods`);
  }
  let addr: Buffer;
  if (net.isIPv4(host)) addr = Buffer.from([1, ...host.split('.').map(Number)]);
  else if (net.isIPv6(host)) addr = Buffer.concat([Buffer.from([4]), ipv6Bytes(host)]);
  else {
    const name = Buffer.from(host);
    if (name.length > 255) throw new DialError('proxy', `${what}: host name too long`);
    addr = Buffer.concat([Buffer.from([3, name.length]), name]);
  }
  const portBuf = Buffer.alloc(2);
  portBuf.writeUInt16BE(port);
  write(sock, Buffer.concat([Buffer.from([5, 1, 0]), addr, portBuf]));
  const reply = await readMessage(
    sock,
    (b) => {
      if (b.length < 5) return -1;
      const len = b[3] === 1 ? 10 : b[3] === 4 ? 22 : b[3] === 3 ? 7 + b[4]! : 0;
      if (len === 0) return b.length;
      return b.length >= len ? len : -1;
    },
    what,
    signal,
  );
  if (reply[0] !== 5) throw new DialError('proxy', `${what}: unexpected protocol version ${String(reply[0])}`);
  const code = reply[1]!;
  if (code !== 0) {
    const text = SOCKS_REPLIES[code] ?? `unknown error code ${String(code)}`;
    throw new DialError(
      code === 5 ? 'refused' : code === 3 || code === 4 ? 'unreachable' : 'proxy',
      `${what}: ${text}`,
    );
  }
}

function ipv6Bytes(ip: string): Buffer {
  let s = ip;
  // an embedded IPv4 suffix (::ffff:1.2.3.4) is two more 16-bit groups
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a = 0, b = 0, c = 0, d = 0] = v4.slice(1).map(Number);
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? h : [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

/** Dial the member through the cluster's `proxy-url`. */
export class ProxyURLDialer implements Dialer {
  readonly #direct: DirectDialer;
  readonly #proxyTls: tls.ConnectionOptions;
  readonly #timeoutMs: number;

  constructor(opts: ProxyURLDialerOptions) {
    this.#direct = opts.direct;
    this.#proxyTls = opts.proxyTls ?? {};
    this.#timeoutMs = opts.handshakeTimeoutMs ?? 30_000;
  }

  async dial(target: DialTarget, signal?: AbortSignal): Promise<Duplex> {
    if (!target.proxyURL) return this.#direct.dial(target, signal);
    let u: URL;
    try {
      u = new URL(target.proxyURL);
    } catch (e) {
      throw new DialError('proxy', 'proxy-url is not a valid URL', { cause: e });
    }
    const scheme = u.protocol;
    if (!(scheme in DEFAULT_PORTS)) throw new DialError('proxy', `proxy-url scheme ${scheme} is not supported`);
    const proxyHost = u.hostname.replace(/^\[(.*)\]$/, '$1');
    const proxyPort = u.port ? Number(u.port) : DEFAULT_PORTS[scheme]!;
    const label = joinHostPort(proxyHost, proxyPort);
    const username = decodeURIComponent(u.username);
    const password = decodeURIComponent(u.password);

    // the member address as far as we can know it
    let memberHost = target.host.replace(/^\[(.*)\]$/, '$1');
    const policy = this.#direct.policy;
    if (net.isIP(memberHost)) {
      const why = policy.check(memberHost);
      if (why) throw new DialError('policy', `dial tcp ${joinHostPort(memberHost, target.port)}: ${why}`);
    } else {
      let addrs: string[] | undefined;
      try {
        addrs = await resolveHost(memberHost, this.#direct.lookup, signal);
      } catch (e) {
        // socks5 resolves locally: a name we cannot resolve cannot be dialled; others let the proxy try
        if (scheme === 'socks5:') throw e;
      }
      for (const a of addrs ?? []) {
        const why = policy.check(a);
        if (why) throw new DialError('policy', `dial tcp ${joinHostPort(memberHost, target.port)}: ${why}`);
      }
      if (scheme === 'socks5:' && addrs?.[0]) memberHost = addrs[0];
    }

    const ac = new AbortController();
    const timer = setTimeout(() => {
      ac.abort(new DialError('timeout', `proxyconnect tcp ${label}: i/o timeout`));
    }, this.#timeoutMs);
    const onAbort = (): void => {
      ac.abort(new DialError('aborted', `proxyconnect tcp ${label}: operation was canceled`));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let sock: Duplex | undefined;
    try {
      sock = await this.#direct.dial(
        { cluster: target.cluster, host: proxyHost, port: proxyPort, proxyURL: undefined },
        ac.signal,
      );
      if (scheme === 'https:') sock = await tlsToProxy(sock, proxyHost, this.#proxyTls, label, ac.signal);
      if (scheme === 'http:' || scheme === 'https:') {
        const auth =
          username || password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
        await httpConnect(sock, joinHostPort(memberHost, target.port), auth, label, ac.signal);
      } else {
        await socks5Connect(
          sock,
          memberHost,
          target.port,
          username || password ? { username, password } : undefined,
          label,
          ac.signal,
        );
      }
      return sock;
    } catch (e) {
      sock?.destroy();
      if (e instanceof DialError && e.kind === 'aborted' && ac.signal.reason instanceof DialError)
        throw ac.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function tlsToProxy(
  raw: Duplex,
  host: string,
  extra: tls.ConnectionOptions,
  label: string,
  signal: AbortSignal,
): Promise<tls.TLSSocket> {
  return new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({
      ...extra,
      socket: raw,
      host,
      ...(net.isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ['http/1.1'],
    });
    const done = (err?: Error): void => {
      s.off('secureConnect', onOk);
      s.off('error', onErr);
      signal.removeEventListener('abort', onAbort);
      if (err) {
        s.destroy();
        reject(err);
      } else resolve(s);
    };
    const onOk = (): void => {
      done();
    };
    const onErr = (e: Error): void => {
      done(new DialError('proxy', `proxyconnect tcp ${label}: tls: ${e.message}`, { cause: e }));
    };
    const onAbort = (): void => {
      done(
        signal.reason instanceof DialError
          ? signal.reason
          : new DialError('aborted', `proxyconnect tcp ${label}: operation was canceled`),
      );
    };
    s.once('secureConnect', onOk);
    s.once('error', onErr);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
