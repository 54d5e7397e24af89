// Test-only: a plain-HTTP stand-in for "hub + gateway + member" that records every request line
// (method, path, Authorization) and answers member calls only under the proxy prefix, so the unit
// suites can check exactly which URL each client-node helper produced. Never imported by index.ts.

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { KubeConfig } from '@kubernetes/client-node';

export interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  upgrade: boolean;
}

export const TOKEN = 'hub-token';
const PROXY = /^\/apis\/cluster\.core\.oam\.dev\/v1alpha1\/clustergateways\/([^/]+)\/proxy(\/.*)?$/;

function json(res: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function status(res: http.ServerResponse, code: number, message: string, reason = 'NotFound'): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
}

export class FakeGateway {
  readonly subPath: string;
  readonly requests: Recorded[] = [];
  readonly #server: http.Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  /** cluster → health */
  readonly health = new Map<string, { healthy: boolean; healthyReason: string }>([
    ['cluster-1', { healthy: false, healthyReason: '' }],
  ]);
  port = 0;

  constructor(subPath = '') {
    this.subPath = subPath;
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res);
    });
    this.#server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      this.#upgrade(req, socket, head);
    });
  }

  get server(): string {
    return `http://127.0.0.1:${this.port}${this.subPath}`;
  }

  /** A hub KubeConfig pointing here (`server` overrides the URL, e.g. with a trailing slash). */
  kubeconfig(server = this.server, namespace?: string): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'hub', server, skipTLSVerify: true }],
      users: [{ name: 'admin', token: TOKEN }],
      contexts: [{ name: 'hub-ctx', cluster: 'hub', user: 'admin', ...(namespace ? { namespace } : {}) }],
      currentContext: 'hub-ctx',
    });
    return kc;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    for (const c of this.#wss.clients) c.terminate();
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
  }

  /** path relative to the sub-path, split into (cluster | undefined for the hub itself, member path) */
  #route(url: string): { cluster: string | undefined; path: string; query: URLSearchParams } | undefined {
    const u = new URL(url, 'http://x');
    if (!u.pathname.startsWith(this.subPath + '/')) return undefined;
    const rel = u.pathname.slice(this.subPath.length);
    const m = PROXY.exec(rel);
    if (m) return { cluster: m[1]!, path: m[2] ?? '', query: u.searchParams };
    return { cluster: undefined, path: rel, query: u.searchParams };
  }

  #record(req: http.IncomingMessage, upgrade: boolean): void {
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      upgrade,
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.#record(req, false);
    const r = this.#route(req.url ?? '/');
    if (!r) {
      status(res, 404, 'outside the hub sub-path');
      return;
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      status(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    if (r.cluster === undefined) {
      this.#hub(req, res, r.path);
      return;
    }
    this.#member(req, res, r.cluster, r.path, r.query);
  }

  #gateway(name: string): unknown {
    const h = this.health.get(name)!;
    return {
      apiVersion: 'cluster.core.oam.dev/v1alpha1',
      kind: 'ClusterGateway',
      metadata: { name, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {
        provider: '',
        access: {
          endpoint: { type: 'Const', const: { address: 'https://member:6443' } },
          credential: { type: 'ServiceAccountToken', serviceAccountToken: '<redacted>' },
        },
      },
      status: { healthy: h.healthy, ...(h.healthyReason ? { healthyReason: h.healthyReason } : {}) },
    };
  }

  #hub(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    const GW = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways';
    if (path === '/api/v1/namespaces') {
      json(res, 200, {
        kind: 'NamespaceList',
        apiVersion: 'v1',
        metadata: {},
        items: [{ metadata: { name: 'hub-ns' } }],
      });
      return;
    }
    if (path === GW && req.method === 'GET') {
      json(res, 200, {
        apiVersion: 'cluster.core.oam.dev/v1alpha1',
        kind: 'ClusterGatewayList',
        metadata: { resourceVersion: '1' },
        items: [...this.health.keys()].map((n) => this.#gateway(n)),
      });
      return;
    }
    const m = /^\/apis\/cluster\.core\.oam\.dev\/v1alpha1\/clustergateways\/([^/]+)(\/health)?$/.exec(path);
    if (m) {
      const name = m[1]!;
      if (!this.health.has(name)) {
        status(res, 404, `no such cluster ${name}`);
        return;
      }
      if (req.method === 'GET') {
        json(res, 200, this.#gateway(name));
        return;
      }
      if (req.method === 'PUT' && m[2]) {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (body += c));
        req.on('end', () => {
          const gw = JSON.parse(body) as { kind?: string; status?: { healthy: boolean; healthyReason?: string } };
          if (gw.kind !== 'ClusterGateway' || req.headers['content-type'] !== 'application/json') {
            status(res, 400, 'bad body', 'BadRequest');
            return;
          }
          this.health.set(name, { healthy: gw.status!.healthy, healthyReason: gw.status!.healthyReason ?? '' });
          json(res, 200, this.#gateway(name));
        });
        return;
      }
    }
    status(res, 404, 'the server could not find the requested resource');
  }

  #member(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    cluster: string,
    path: string,
    query: URLSearchParams,
  ): void {
    if (path === '/api/v1/namespaces') {
      json(res, 200, {
        kind: 'NamespaceList',
        apiVersion: 'v1',
        metadata: {},
        items: [{ metadata: { name: `${cluster}-ns` } }],
      });
      return;
    }
    if (path === '/api/v1') {
      json(res, 200, {
        kind: 'APIResourceList',
        groupVersion: 'v1',
        resources: [
          { name: 'configmaps', singularName: 'configmap', namespaced: true, kind: 'ConfigMap', verbs: ['get'] },
        ],
      });
      return;
    }
    const cm = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(path);
    if (cm) {
      json(res, 200, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: cm[2], namespace: cm[1] },
        data: { cluster },
      });
      return;
    }
    if (path === '/api/v1/namespaces/default/configmaps' && query.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(
        JSON.stringify({
          type: 'ADDED',
          object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `from-${cluster}` } },
        }) + '\n',
      );
      setTimeout(() => res.end(), 50).unref();
      return;
    }
    if (path === '/api/v1/namespaces/default/pods/p/log') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`log line from ${cluster} (${query.get('container') ?? ''})\n`);
      return;
    }
    if (path === '/version') {
      json(res, 200, { major: '1', minor: '31', gitVersion: `v1.31.0-${cluster}` });
      return;
    }
    status(res, 404, `member ${cluster}: the server could not find the requested resource`);
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.#record(req, true);
    const r = this.#route(req.url ?? '/');
    const sub = r?.cluster ? /^\/api\/v1\/namespaces\/default\/pods\/p\/(exec|attach|portforward)$/.exec(r.path) : null;
    if (!r?.cluster || !sub || req.headers.authorization !== `Bearer ${TOKEN}`) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const cluster = r.cluster;
    const kind = sub[1]!;
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (kind === 'portforward') {
        // v4 port-forward: each channel starts with the port number (little endian), then data
        const port = Buffer.alloc(3);
        port.writeUInt8(0, 0);
        port.writeUInt16LE(Number(r.query.get('ports')), 1);
        ws.send(port);
        const errPort = Buffer.from(port);
        errPort.writeUInt8(1, 0);
        ws.send(errPort);
        ws.on('message', (data: Buffer) => {
          if (data[0] === 0) ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(`${cluster}:`), data.subarray(1)]));
        });
        return;
      }
      ws.send(
        Buffer.concat([Buffer.from([1]), Buffer.from(`${kind} on ${cluster}: ${r.query.getAll('command').join(' ')}`)]),
      );
      ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify({ status: 'Success', metadata: {} }))]));
      ws.close();
    });
  }
}
