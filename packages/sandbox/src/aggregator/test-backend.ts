// Test support: a tiny aggregated apiserver for group example.test/v1 (discovery, a `widgets` list,
// a streaming watch and an echoing upgrade endpoint) on 127.0.0.1 with h2 + HTTP/1.1, that records
// what arrives (headers, protocol, the presented client certificate) so tests can check the proxy.

import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { createCA, type KeyPair } from '../pki/pki.ts';
import { listen, tlsSocketOf, type Listener, type Req, type Res } from '../server/listener.ts';

export interface Seen {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  httpVersion: string;
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
  const record = (req: Req | http.IncomingMessage): void => {
    const s = tlsSocketOf(req);
    const cert = s?.authorized ? s.getPeerX509Certificate() : undefined;
    const cn = cert ? /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] : undefined;
    seen.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: { ...req.headers },
      httpVersion: req.httpVersion,
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
  const l: Listener = await listen({
    cert: serving.cert,
    key: serving.key,
    clientCA: [opts.clientCA],
    host: '127.0.0.1',
    port: 0,
    onRequest,
    onUpgrade,
  });
  return {
    port: l.port,
    ca: serving.ca,
    seen,
    openWatches: () => watches.size,
    close: () => l.close(),
  };
}
