// Test support: a tiny aggregated apiserver for group example.test/v1 (discovery, a `widgets` list,
// a streaming watch, a large flow-controlled download and an echoing upgrade endpoint) on 127.0.0.1
// with h2 + HTTP/1.1 (or HTTP/1.1 only), that records what arrives (headers as parsed and as sent,
// protocol, connection, the presented client certificate) so tests can check the proxy.

import type * as http from 'node:http';
import type * as http2 from 'node:http2';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { createCA, type KeyPair } from '../pki/pki.ts';
import { listen, tlsSocketOf, type Listener, type Req, type Res } from '../server/listener.ts';

export interface Seen {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** the header fields exactly as they arrived: name, value, name, value... */
  rawHeaders: string[];
  httpVersion: string;
  /** client port of the connection that carried the request */
  remotePort: number | undefined;
  /** CN of a client certificate that verified against the trusted requestheader CA */
  clientCN: string | undefined;
  authorized: boolean;
}

export interface TestBackend {
  port: number;
  /** PEM CA that signed the serving certificate (for spec.caBundle) */
  ca: string;
  seen: Seen[];
  /** number of currently open watch responses */
  openWatches(): number;
  /** bytes the `big` endpoint has handed to its response so far, and whether it wrote them all */
  big(): { written: number; done: boolean };
  /** GOAWAY and close every h2 session (graceful: open streams finish) */
  goawaySessions(): void;
  /** tear every connection down at once, open streams included */
  destroyConnections(): void;
  close(): Promise<void>;
}

export const RESOURCE_LIST = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'example.test/v1',
  resources: [
    {
      name: 'widgets',
      singularName: 'widget',
      namespaced: true,
      kind: 'Widget',
      verbs: ['get', 'list', 'watch'],
      shortNames: ['wd'],
    },
    { name: 'widgets/exec', singularName: '', namespaced: true, kind: 'WidgetExecOptions', verbs: ['create', 'get'] },
  ],
};

function widget(name: string): Record<string, unknown> {
  return {
    apiVersion: 'example.test/v1',
    kind: 'Widget',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      resourceVersion: '7',
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
  };
}

function json(res: Res, code: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) });
  res.end(data);
}

export async function startTestBackend(opts: {
  clientCA: string;
  dnsNames?: string[];
  serving?: KeyPair & { ca: string };
  /** offer only HTTP/1.1 in ALPN (an apiserver built without h2) */
  http1Only?: boolean;
}): Promise<TestBackend> {
  let serving = opts.serving;
  if (!serving) {
    const ca = await createCA('example-backend-ca');
    const kp = await ca.issue({
      commonName: 'example-api',
      dnsNames: opts.dnsNames ?? ['example-api.default.svc', 'localhost'],
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    serving = { ...kp, ca: ca.cert };
  }
  const seen: Seen[] = [];
  const watches = new Set<Res>();
  const sessions = new Set<http2.Http2Session>();
  const sockets = new Set<Duplex>();
  const big = { written: 0, done: false };
  const record = (req: Req | http.IncomingMessage): void => {
    const s = tlsSocketOf(req);
    if ('stream' in req && req.stream) {
      const session = req.stream.session;
      if (session && !sessions.has(session)) {
        sessions.add(session);
        session.on('close', () => sessions.delete(session));
      }
    }
    const cert = s?.authorized ? s.getPeerX509Certificate() : undefined;
    const cn = cert ? /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] : undefined;
    seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      rawHeaders: [...req.rawHeaders],
      httpVersion: req.httpVersion,
      remotePort: s?.remotePort,
      clientCN: cn,
      authorized: Boolean(s?.authorized),
    });
  };
  const onRequest = (req: Req, res: Res): void => {
    record(req);
    const url = new URL(req.url ?? '/', 'https://backend.invalid');
    const p = url.pathname;
    if (p === '/apis/example.test/v1' || p === '/apis/example.test/v1/') {
      json(res, 200, RESOURCE_LIST);
      return;
    }
    if (/^\/apis\/example\.test\/v1\/(namespaces\/[^/]+\/)?widgets$/.test(p)) {
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
        res.writeHead(200, { 'content-type': 'application/json' });
        (res as { flushHeaders?: () => void }).flushHeaders?.();
        watches.add(res);
        let n = 0;
        const t = setInterval(() => {
          res.write(JSON.stringify({ type: 'ADDED', object: widget(`w${n++}`) }) + '\n');
        }, 20);
        res.on('close', () => {
          clearInterval(t);
          watches.delete(res);
        });
        return;
      }
      json(res, 200, {
        apiVersion: 'example.test/v1',
        kind: 'WidgetList',
        metadata: { resourceVersion: '7' },
        items: [widget('alpha'), widget('beta')],
      });
      return;
    }
    if (p === '/apis/example.test/v1/big') {
      // `mb` MiB in 64 KiB chunks, written only as fast as the reader takes them
      const total = Number(url.searchParams.get('mb') ?? '1') << 20;
      const chunk = Buffer.alloc(64 << 10, 0x61);
      big.written = 0;
      big.done = false;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
      const pump = (): void => {
        while (big.written < total) {
          big.written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        big.done = true;
        res.end();
      };
      pump();
      return;
    }
    if (p === '/apis/example.test/v1/echo' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        json(res, 201, { received: Buffer.concat(chunks).toString('utf8') });
      });
      return;
    }
    json(res, 404, {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: 'the server could not find the requested resource',
      reason: 'NotFound',
      code: 404,
    });
  };
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    record(req);
    socket.on('error', () => socket.destroy());
    if (!/\/exec$/.test(new URL(req.url ?? '/', 'https://x').pathname)) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot found\n');
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${String(req.headers.upgrade)}\r\n\r\n`,
    );
    if (head.length) socket.write(head);
    socket.pipe(socket);
  };
  let l: Pick<Listener, 'port' | 'close'>;
  if (opts.http1Only) {
    const srv = https.createServer(
      {
        cert: serving.cert,
        key: serving.key,
        ca: [opts.clientCA],
        requestCert: true,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      },
      (req, res) => {
        onRequest(req, res);
      },
    );
    srv.on('upgrade', onUpgrade);
    srv.on('secureConnection', (s: Duplex) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    l = {
      port: (srv.address() as AddressInfo).port,
      close: () =>
        new Promise<void>((r) => {
          srv.close(() => {
            r();
          });
          for (const s of sockets) s.destroy();
        }),
    };
  } else {
    l = await listen({
      cert: serving.cert,
      key: serving.key,
      clientCA: [opts.clientCA],
      host: '127.0.0.1',
      port: 0,
      onRequest: (req, res) => {
        const s = tlsSocketOf(req);
        if (s && !sockets.has(s)) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
        }
        onRequest(req, res);
      },
      onUpgrade,
    });
  }
  return {
    port: l.port,
    ca: serving.ca,
    seen,
    openWatches: () => watches.size,
    big: () => ({ ...big }),
    goawaySessions: () => {
      for (const s of sessions) s.close();
    },
    destroyConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => l.close(),
  };
}
