// The gateway's TLS listener: HTTP/1.1 and h2 on one port chosen by ALPN (kube-aggregator speaks h2
// for normal requests and HTTP/1.1 for upgrades). TLS is terminated here and each connection handed
// to a plain http or http2 server, because http2's allowHTTP1 mode drops HTTP/1.1 `upgrade` events.
// Client certificates are requested but not required: the authenticator verifies them against the
// client CA or the front-proxy CA itself. The serving certificate can be swapped without a restart.

import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket } from 'node:net';

export type Req = http.IncomingMessage | http2.Http2ServerRequest;
/** Responses are written through the HTTP/1.1 shape; Http2ServerResponse implements the same calls. */
export type Res = http.ServerResponse;

export interface ListenerOptions {
  cert: string;
  key: string;
  host: string;
  port: number;
  minVersion: tls.SecureVersion;
  ciphers?: string | undefined;
  maxConcurrentStreams?: number;
  onRequest(req: Req, res: Res): void;
  onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface Listener {
  readonly port: number;
  readonly address: string;
  /** replace the serving certificate for new connections */
  setCertificate(cert: string, key: string): void;
  /** stop accepting; let open requests finish (call closeAll to cut them) */
  stopAccepting(): Promise<void>;
  closeAll(): void;
  /** connections currently open */
  readonly connections: number;
}

export function tlsSocketOf(req: Req): tls.TLSSocket | undefined {
  const h2 = req as http2.Http2ServerRequest;
  const s: unknown = h2.stream ? h2.stream.session?.socket : req.socket;
  return s instanceof tls.TLSSocket ? s : undefined;
}

export async function listen(opts: ListenerOptions): Promise<Listener> {
  const h1 = http.createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 65_000 }, (req, res) => {
    opts.onRequest(req, res);
  });
  h1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    opts.onUpgrade(req, socket, head);
  });
  h1.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Go's net/http answers oversized request headers with 431, everything else malformed with 400
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    else socket.destroy();
  });
  const h2 = http2.createServer(
    { settings: { maxConcurrentStreams: opts.maxConcurrentStreams || 1000 }, maxSessionMemory: 64 },
    (req, res) => {
      opts.onRequest(req, res as unknown as http.ServerResponse);
    },
  );
  h2.on('sessionError', () => undefined);
  const context = (cert: string, key: string): tls.SecureContextOptions => ({
    cert,
    key,
    minVersion: opts.minVersion,
    ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
  });
  const sockets = new Set<tls.TLSSocket>();
  // raw connections still in their TLS handshake: closeAll() must reach them too
  const raw = new Set<Socket>();
  let closing = false;
  const server = tls.createServer({
    ...context(opts.cert, opts.key),
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ['h2', 'http/1.1'],
  });
  server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    raw.add(socket);
    socket.on('close', () => raw.delete(socket));
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
    else h1.emit('connection', socket as unknown as Socket);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    address: addr.address,
    get connections() {
      return sockets.size;
    },
    setCertificate(cert, key) {
      server.setSecureContext(context(cert, key));
    },
    stopAccepting() {
      return new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
        h1.closeIdleConnections();
      });
    },
    closeAll() {
      closing = true;
      h1.closeAllConnections();
      for (const s of sockets) s.destroy();
      for (const s of raw) s.destroy();
    },
  };
}
