// HTTP/1.1 upgrades through the proxy (exec, attach, port-forward, cp; SPDY/3.1 and WebSocket, and
// SPDY tunnelled over WebSocket): the upgrade request is written on a dedicated member connection
// (same Dialer and TLS as the pools, ALPN http/1.1), and on `101 Switching Protocols` the two
// sockets are joined byte for byte, the bytes that arrived with either head included. Any other
// answer (a kube `Status`: 400 "Upgrade request required", 403, 404…) is relayed to the client as
// the member's status, headers and body, then the connection closes. Nothing here interprets the
// streams, so every sub-protocol kubectl and client libraries negotiate works unchanged.

import * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatewayError } from '../apiserver/errors.ts';
import { HOP_BY_HOP } from './headers.ts';

export type UpgradeAnswer =
  | { kind: 'upgraded'; status: number; statusMessage: string; rawHeaders: string[]; socket: Duplex; head: Buffer }
  | { kind: 'response'; status: number; statusMessage: string; rawHeaders: string[]; body: Buffer };

const MAX_ERROR_BODY = 1024 * 1024;

/**
 * Send the upgrade request on `conn` and wait for the member's answer (at most `timeoutMs` for the
 * response head). Rejects with the socket error, or `timeoutError()` on timeout.
 */
export function requestUpgrade(
  conn: net.Socket,
  method: string,
  path: string,
  headers: string[],
  timeoutMs: number,
  timeoutError: () => Error,
  signal?: AbortSignal,
): Promise<UpgradeAnswer> {
  return new Promise<UpgradeAnswer>((resolve, reject) => {
    let settled = false;
    const creq = http.request({
      method,
      path,
      headers,
      setHost: false,
      createConnection: () => conn,
    });
    const finish = (err: Error | undefined, answer?: UpgradeAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) {
        creq.destroy();
        conn.destroy();
        reject(err);
      } else resolve(answer!);
    };
    const timer = setTimeout(() => {
      finish(timeoutError());
    }, timeoutMs);
    const onAbort = (): void => {
      finish(signal?.reason instanceof Error ? signal.reason : new Error('the client went away'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    creq.on('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      finish(undefined, {
        kind: 'upgraded',
        status: res.statusCode ?? 101,
        statusMessage: res.statusMessage ?? 'Switching Protocols',
        rawHeaders: res.rawHeaders,
        socket,
        head,
      });
    });
    creq.on('response', (res: http.IncomingMessage) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_ERROR_BODY) chunks.push(c);
      });
      res.on('end', () => {
        finish(undefined, {
          kind: 'response',
          status: res.statusCode ?? 502,
          statusMessage: res.statusMessage ?? '',
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        });
        conn.destroy();
      });
      res.on('error', (e) => {
        finish(e);
      });
    });
    creq.on('error', (e) => {
      finish(e);
    });
    creq.end();
  });
}

function sanitize(v: string): string {
  // eslint-disable-next-line no-control-regex
  return v.replace(/[\r\n\u0000]/g, ' ');
}

/** The head of the 101 answer for the client: the member's headers as they are, plus ours. */
export function switchingHead(
  a: { status: number; statusMessage: string; rawHeaders: string[] },
  extra: [string, string][],
): string {
  const lines = [`HTTP/1.1 ${String(a.status)} ${sanitize(a.statusMessage || 'Switching Protocols')}`];
  for (let i = 0; i + 1 < a.rawHeaders.length; i += 2)
    lines.push(`${a.rawHeaders[i]!}: ${sanitize(a.rawHeaders[i + 1]!)}`);
  for (const [k, v] of extra) lines.push(`${k}: ${sanitize(v)}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A complete non-101 answer relayed to the client (framing headers recomputed, then close). */
export function relayedResponse(
  a: { status: number; statusMessage: string; rawHeaders: string[]; body: Buffer },
  extra: [string, string][],
): Buffer {
  const lines = [`HTTP/1.1 ${String(a.status)} ${sanitize(a.statusMessage || http.STATUS_CODES[a.status] || '')}`];
  for (let i = 0; i + 1 < a.rawHeaders.length; i += 2) {
    const n = a.rawHeaders[i]!.toLowerCase();
    if (HOP_BY_HOP.has(n) || n === 'content-length') continue;
    lines.push(`${a.rawHeaders[i]!}: ${sanitize(a.rawHeaders[i + 1]!)}`);
  }
  for (const [k, v] of extra) lines.push(`${k}: ${sanitize(v)}`);
  lines.push(`Content-Length: ${String(a.body.length)}`, 'Connection: close');
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), a.body]);
}

/** A gateway error as a complete HTTP/1.1 response on a raw socket. */
export function errorResponse(err: GatewayError): string {
  const body = JSON.stringify(err.toStatus());
  return (
    `HTTP/1.1 ${String(err.code)} ${http.STATUS_CODES[err.code] ?? 'Error'}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${String(Buffer.byteLength(body))}\r\nConnection: close\r\n\r\n${body}`
  );
}

/**
 * Join client and member byte for byte until both sides are closed; resolves with the byte counts
 * (client → member, member → client). A side that ends cleanly half-closes the other (its last
 * bytes are flushed first: `kubectl cp` from a pod relies on the tail of the tar stream), which then
 * gets `graceMs` to close on its own; a side that fails or is reset takes the other down at once.
 */
export function splice(
  client: Duplex,
  member: Duplex,
  graceMs = 10_000,
): Promise<{ bytesIn: number; bytesOut: number }> {
  return new Promise((resolve) => {
    let bytesIn = 0;
    let bytesOut = 0;
    let closed = 0;
    let grace: NodeJS.Timeout | undefined;
    const closer = (self: Duplex, other: Duplex) => (): void => {
      if (!self.readableEnded || self.errored) other.destroy();
      else if (!other.destroyed) {
        grace ??= setTimeout(() => {
          other.destroy();
        }, graceMs);
        grace.unref();
      }
      if (++closed === 2) {
        clearTimeout(grace);
        resolve({ bytesIn, bytesOut });
      }
    };
    client.on('data', (c: Buffer) => {
      bytesIn += c.length;
    });
    member.on('data', (c: Buffer) => {
      bytesOut += c.length;
    });
    client.on('error', () => undefined);
    member.on('error', () => undefined);
    client.once('close', closer(client, member));
    member.once('close', closer(member, client));
    client.pipe(member);
    member.pipe(client);
  });
}
