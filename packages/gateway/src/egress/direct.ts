// Direct egress: a plain TCP connection from the gateway to a member's API server, and the endpoint
// address policy (`--denied-endpoint-cidrs`, `--allowed-endpoint-cidrs`) every egress applies. The
// policy is checked against the addresses the host RESOLVES to, at dial time, and the socket then
// connects to exactly the address that was checked, so a Secret cannot reach the cloud metadata
// service (169.254.169.254) by name, and DNS rebinding between check and connect is impossible.
// Failures are DialErrors worded like Go's net.Dialer (`dial tcp 127.0.0.1:1234: connect: connection
// refused`), the text kube users know from kube-aggregator and client-go.

import * as net from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Duplex } from 'node:stream';
import type { Cidr } from '../config/cidr.ts';
import type { Dialer, DialTarget } from './types.ts';

export type DialErrorKind =
  /** the host name does not resolve */
  | 'dns'
  /** nothing listens (RST) */
  | 'refused'
  /** no route, network down, host down */
  | 'unreachable'
  /** the connection (or the proxy handshake) did not complete in time */
  | 'timeout'
  /** the endpoint address is outside the allowed ranges */
  | 'policy'
  /** a proxy-url proxy refused or botched the tunnel */
  | 'proxy'
  /** the caller gave up */
  | 'aborted'
  | 'other';

/** An egress failure; `message` is client-visible (never contains credentials). */
export class DialError extends Error {
  readonly kind: DialErrorKind;
  constructor(kind: DialErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DialError';
    this.kind = kind;
  }
}

export function isDialError(e: unknown): e is DialError {
  return e instanceof DialError;
}

/** `host:port` as Go prints it (IPv6 in brackets). */
export function joinHostPort(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${String(port)}` : `${host}:${String(port)}`;
}

interface Range {
  cidr: Cidr;
  list: net.BlockList;
}

function ranges(cidrs: readonly Cidr[]): Range[] {
  return cidrs.map((cidr) => {
    const list = new net.BlockList();
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    return { cidr, list };
  });
}

function contains(r: Range, ip: string): boolean {
  const family = net.isIPv6(ip) ? 'ipv6' : 'ipv4';
  if (r.list.check(ip, family)) return true;
  // an IPv4-mapped IPv6 address is the IPv4 address (::ffff:169.254.169.254)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? r.list.check(mapped[1]!, 'ipv4') : false;
}

/** Which endpoint addresses the gateway may connect to. Denied ranges win over allowed ones. */
export class EndpointPolicy {
  readonly #denied: Range[];
  readonly #allowed: Range[];

  constructor(opts: { denied?: readonly Cidr[]; allowed?: readonly Cidr[] } = {}) {
    this.#denied = ranges(opts.denied ?? []);
    this.#allowed = ranges(opts.allowed ?? []);
  }

  /** undefined when `ip` may be dialled, else why not (client-visible) */
  check(ip: string): string | undefined {
    const denied = this.#denied.find((r) => contains(r, ip));
    if (denied) return `address ${ip} is in the denied endpoint range ${denied.cidr.text} (--denied-endpoint-cidrs)`;
    if (this.#allowed.length > 0 && !this.#allowed.some((r) => contains(r, ip))) {
      return `address ${ip} is not in any allowed endpoint range (--allowed-endpoint-cidrs ${this.#allowed.map((r) => r.cidr.text).join(',')})`;
    }
    return undefined;
  }
}

export type Lookup = (host: string, signal?: AbortSignal) => Promise<string[]>;

/** dns.lookup (getaddrinfo, so /etc/hosts applies), all addresses in the resolver's order. */
export const systemLookup: Lookup = async (host) => {
  const addrs = await dnsLookup(host, { all: true, order: 'verbatim' });
  return addrs.map((a) => a.address);
};

/** Resolve `host` (a literal IP resolves to itself), worded like Go's resolver on failure. */
export async function resolveHost(host: string, lookup: Lookup, signal?: AbortSignal): Promise<string[]> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(bare)) return [bare];
  try {
    const addrs = await lookup(bare, signal);
    if (addrs.length === 0) throw new DialError('dns', `dial tcp: lookup ${bare}: no such host`);
    return addrs;
  } catch (e) {
    if (e instanceof DialError) throw e;
    const code = (e as { code?: string }).code;
    const why =
      code === 'ENOTFOUND' || code === 'ENODATA'
        ? 'no such host'
        : code === 'EAI_AGAIN'
          ? 'server misbehaving'
          : e instanceof Error
            ? e.message
            : String(e);
    throw new DialError('dns', `dial tcp: lookup ${bare}: ${why}`, { cause: e });
  }
}

const SYSCALL_TEXT: Readonly<Record<string, [DialErrorKind, string]>> = {
  ECONNREFUSED: ['refused', 'connection refused'],
  ECONNRESET: ['refused', 'connection reset by peer'],
  EHOSTUNREACH: ['unreachable', 'no route to host'],
  ENETUNREACH: ['unreachable', 'network is unreachable'],
  EHOSTDOWN: ['unreachable', 'host is down'],
  ETIMEDOUT: ['timeout', 'connection timed out'],
  EADDRNOTAVAIL: ['unreachable', 'cannot assign requested address'],
};

export interface TcpConnectOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** One TCP connection to a literal address; resolves once connected. */
export function tcpConnect(ip: string, port: number, opts: TcpConnectOptions): Promise<net.Socket> {
  const where = `dial tcp ${joinHostPort(ip, port)}`;
  return new Promise<net.Socket>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new DialError('aborted', `${where}: operation was canceled`));
      return;
    }
    const socket = net.connect({ host: ip, port, noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 });
    const done = (err: Error | undefined): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve(socket);
    };
    const onConnect = (): void => {
      done(undefined);
    };
    const onError = (e: NodeJS.ErrnoException): void => {
      const [kind, text] = SYSCALL_TEXT[e.code ?? ''] ?? ['other', e.message];
      done(new DialError(kind, `${where}: connect: ${text}`, { cause: e }));
    };
    const onAbort = (): void => {
      done(new DialError('aborted', `${where}: operation was canceled`));
    };
    const timer = setTimeout(() => {
      done(new DialError('timeout', `${where}: i/o timeout`));
    }, opts.timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface DirectDialerOptions {
  policy?: EndpointPolicy;
  /** per connection attempt, Go's dialer default: 30 s */
  connectTimeoutMs?: number;
  lookup?: Lookup;
}

/**
 * Dial the member itself. Every resolved address the policy allows is tried in order (as Go does)
 * until one connects; when the policy allows none, the dial fails with kind `policy`.
 */
export class DirectDialer implements Dialer {
  readonly #policy: EndpointPolicy;
  readonly #timeoutMs: number;
  readonly #lookup: Lookup;

  constructor(opts: DirectDialerOptions = {}) {
    this.#policy = opts.policy ?? new EndpointPolicy();
    this.#timeoutMs = opts.connectTimeoutMs ?? 30_000;
    this.#lookup = opts.lookup ?? systemLookup;
  }

  get policy(): EndpointPolicy {
    return this.#policy;
  }

  get lookup(): Lookup {
    return this.#lookup;
  }

  get connectTimeoutMs(): number {
    return this.#timeoutMs;
  }

  async dial(target: DialTarget, signal?: AbortSignal): Promise<Duplex> {
    const addrs = await resolveHost(target.host, this.#lookup, signal);
    const allowed: string[] = [];
    let refusal: string | undefined;
    for (const a of addrs) {
      const why = this.#policy.check(a);
      if (why) refusal ??= why;
      else allowed.push(a);
    }
    if (allowed.length === 0) {
      throw new DialError('policy', `dial tcp ${joinHostPort(target.host, target.port)}: ${refusal ?? 'not allowed'}`);
    }
    const deadline = Date.now() + this.#timeoutMs;
    let last: DialError | undefined;
    for (const ip of allowed) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        return await tcpConnect(ip, target.port, { timeoutMs: left, signal });
      } catch (e) {
        if (!(e instanceof DialError)) throw e;
        last = e;
        if (e.kind === 'aborted') throw e;
      }
    }
    throw last ?? new DialError('timeout', `dial tcp ${joinHostPort(target.host, target.port)}: i/o timeout`);
  }
}
