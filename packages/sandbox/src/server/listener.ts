// One TLS listener that speaks HTTP/1.1 and h2 (chosen by ALPN) on the same port. Node's
// http2.createSecureServer({allowHTTP1}) does not deliver HTTP/1.1 `upgrade` requests (exec, attach,
// port-forward over SPDY/WebSocket), so TLS is terminated here and each connection is handed to a
// plain http or http2 server according to the negotiated protocol.

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
  /** CAs whose client certificates are accepted (verified, not required) */
  clientCA: string[];
  host?: string;
  port?: number;
  onRequest(req: Req, res: Res): void;
  onUpgrade?(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

export interface Listener {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
  setSecureContext(opts: { cert: string; key: string; clientCA: string[] }): void;
}

/** The TLS socket under a request, whichever protocol carried it. */
export function tlsSocketOf(req: Req): tls.TLSSocket | undefined {
  const s = (req as http2.Http2ServerRequest).stream
    ? ((req as http2.Http2ServerRequest).stream.session?.socket as unknown)
    : (req.socket as unknown);
  return s instanceof tls.TLSSocket ? s : undefined;
}

export async function listen(opts: ListenerOptions): Promise<Listener> {
  const h1 = http.createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    opts.onRequest(req, res);
  });
  h1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (opts.onUpgrade) opts.onUpgrade(req, socket, head);
    else socket.destroy();
  });
  h1.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 }, maxSessionMemory: 64 }, (req, res) => {
    opts.onRequest(req, res as unknown as http.ServerResponse);
  });
  h2.on('sessionError', () => undefined);

  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({
    cert: opts.cert,
    key: opts.key,
    ca: opts.clientCA,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ['h2', 'http/1.1'],
    minVersion: 'TLSv1.2',
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (socket.alpnProtocol === 'h2') h2.emit('connection', socket);
    else h1.emit('connection', socket as unknown as Socket);
  });
  server.on('tlsClientError', () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    host: addr.address,
    setSecureContext(c) {
      server.setSecureContext({ cert: c.cert, key: c.key, ca: c.clientCA });
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        h1.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}
