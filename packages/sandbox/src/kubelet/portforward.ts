// pods/portforward: the kube-apiserver endpoint and the kubelet behind it, for the three transports
// kubectl and client libraries use:
//   1. WebSocket with subprotocol `SPDY/3.1+portforward.k8s.io`: the SPDY byte stream tunneled in
//      binary messages (KEP-4006; kubectl ≥ 1.31 tries this first),
//   2. `Upgrade: SPDY/3.1` + `X-Stream-Protocol-Version: portforward.k8s.io` (older kubectl, and the
//      fallback when the WebSocket upgrade fails),
//   3. the channel WebSocket protocol (`v4.channel.k8s.io`, `v4.base64.channel.k8s.io` or none):
//      one data/error channel pair per `ports` query value, each opened with its 2-byte
//      little-endian port number (what @kubernetes/client-node's PortForward speaks).
// Over SPDY each forwarded connection is an `error` + `data` stream pair joined by `requestID`, as
// the kubelet's httpstream handler does. Pods run no processes, so every pod "listens" in memory on
// each TCP containerPort of its spec (8080 when none is declared) with a server that answers HTTP
// requests with a short text naming pod and port and echoes any other bytes; no host port is
// opened. Other ports fail with the message containerd gives for a closed port.

import type * as http from 'node:http';
import { createHash } from 'node:crypto';
import { duplexPair, type Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import type { KubeObject } from '../api/types.ts';
import { errors, isApiError } from '../errors/status.ts';
import type { RequestContext, RequestInterceptor } from '../server/cluster.ts';
import type { Req, Res } from '../server/listener.ts';
import { SpdySession, headerValue, type SpdyStream } from '../spdy/spdy.ts';
import { SpdyExecService } from '../spdy/remotecommand.ts';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
export const SPDY_TUNNEL_PORT_FORWARD = SPDY_TUNNEL_PREFIX + PORT_FORWARD_PROTOCOL;
const CHANNEL_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io'];
/** the kubelet's default for --streaming-connection... stream pair creation */
const STREAM_CREATION_TIMEOUT_MS = 30_000;
const DEFAULT_POD_PORT = 8080;

export interface PortForwardOptions {
  /** how long the second stream of a pair may take to arrive (kubelet: 30s) */
  streamCreationTimeoutMs?: number;
}

// ---- the pods' in-memory listeners ----

/** TCP ports a sandbox pod accepts connections on. */
export function podPorts(pod: KubeObject): number[] {
  const spec = (pod.spec ?? {}) as { containers?: { ports?: { containerPort?: unknown; protocol?: unknown }[] }[] };
  const ports = new Set<number>();
  for (const c of spec.containers ?? [])
    for (const p of c.ports ?? []) {
      if (typeof p.containerPort === 'number' && (p.protocol === undefined || p.protocol === 'TCP'))
        ports.add(p.containerPort);
    }
  if (ports.size === 0) ports.add(DEFAULT_POD_PORT);
  return [...ports].sort((a, b) => a - b);
}

/** The pod sandbox id the CRI would report: a stable 64-hex-digit id derived from the pod uid. */
export function sandboxID(pod: KubeObject): string {
  return createHash('sha256')
    .update(`sandbox/${pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`}`)
    .digest('hex');
}

/** The kubelet's error for a port nothing listens on (containerd's CRI port forwarder wording). */
export function connectionRefusedMessage(pod: KubeObject, port: number): string {
  const id = sandboxID(pod);
  const h = createHash('sha256').update(`netns/${id}`).digest('hex');
  const netns = `cni-${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return (
    `error forwarding port ${port} to pod ${id}, uid : failed to execute portforward in network namespace "/var/run/netns/${netns}": ` +
    `failed to connect to localhost:${port} inside namespace "${id}", IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused ` +
    `IPv6 dial tcp6: address localhost: no suitable address found `
  );
}

const HTTP_METHODS = ['GET ', 'HEAD '];

/**
 * Serve one connection to a pod port: HTTP requests (`GET `/`HEAD `) get a 200 naming the pod and
 * port and the connection closes; anything else is echoed until the client half-closes.
 */
export function servePodConnection(sock: Duplex, pod: { namespace: string; name: string }, port: number): void {
  let mode: 'detect' | 'echo' | 'http' | 'done' = 'detect';
  let buf = Buffer.alloc(0);
  const respond = (): void => {
    const head = buf.toString('latin1');
    const end = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
    if (end < 0) return;
    mode = 'done';
    const [method = 'GET', path = '/'] = head.split(/\r?\n/, 1)[0]!.split(' ');
    const body = `Hello from sandbox pod ${pod.namespace}/${pod.name}, port ${port} (${method} ${path})\n`;
    sock.end(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n` +
        (method === 'HEAD' ? '' : body),
    );
  };
  sock.on('data', (chunk: Buffer) => {
    if (mode === 'echo') {
      sock.write(chunk);
      return;
    }
    if (mode === 'done') return;
    buf = Buffer.concat([buf, chunk]);
    if (mode === 'http') {
      respond();
      return;
    }
    const text = buf.toString('latin1');
    if (HTTP_METHODS.some((m) => text.startsWith(m))) {
      mode = 'http';
      respond();
    } else if (!HTTP_METHODS.some((m) => m.startsWith(text))) {
      mode = 'echo';
      sock.write(buf);
      buf = Buffer.alloc(0);
    }
  });
  sock.on('end', () => {
    if (mode === 'detect' && buf.length) sock.write(buf);
    if (mode !== 'done') sock.end();
    mode = 'done';
  });
  sock.on('error', () => sock.destroy());
}

/** Open an in-memory connection to a pod port, or undefined when the pod does not listen there. */
export function connectPod(pod: KubeObject, port: number): Duplex | undefined {
  if (!podPorts(pod).includes(port)) return undefined;
  const [client, server] = duplexPair();
  servePodConnection(server, { namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' }, port);
  return client;
}

/**
 * Join a forwarded stream with a pod connection, both directions, half-closes carried over; calls
 * `done` once when the pod side has finished (or either side is gone), like the kubelet's forwarder
 * returning.
 */
function splice(stream: Duplex, conn: Duplex, done: () => void): void {
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    done();
  };
  stream.on('data', (c: Buffer) => {
    if (!conn.write(c)) stream.pause();
  });
  conn.on('drain', () => stream.resume());
  stream.on('end', () => conn.end());
  conn.on('data', (c: Buffer) => {
    if (!stream.write(c)) conn.pause();
  });
  stream.on('drain', () => conn.resume());
  conn.on('end', () => {
    stream.end();
    finish();
  });
  stream.on('close', () => {
    if (!stream.readableEnded) conn.destroy();
    finish();
  });
  conn.on('close', finish);
  stream.on('error', () => conn.destroy());
  conn.on('error', () => stream.destroy());
}

// ---- the SPDY port-forward protocol ----

interface StreamPair {
  requestID: string;
  data?: SpdyStream;
  error?: SpdyStream;
  timer?: NodeJS.Timeout;
}

/** Accept port-forward streams on a server SPDY session, as kubelet's httpStreamHandler does. */
export function servePortForwardSession(
  session: SpdySession,
  lookup: () => KubeObject | undefined,
  opts: PortForwardOptions = {},
): void {
  const pairs = new Map<string, StreamPair>();
  const timeoutMs = opts.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS;
  const printError = (p: StreamPair, msg: string): void => {
    if (p.error && !p.error.destroyed && !p.error.writableEnded) p.error.write(msg);
  };
  const remove = (p: StreamPair): void => {
    if (p.timer) clearTimeout(p.timer);
    pairs.delete(p.requestID);
  };
  session.on('close', () => {
    for (const p of pairs.values()) if (p.timer) clearTimeout(p.timer);
    pairs.clear();
  });
  session.on('stream', (st) => {
    const rejection = validateStream(st);
    if (rejection !== undefined) {
      st.reset();
      return;
    }
    st.reply();
    const streamType = headerValue(st.headers, 'streamtype')!;
    let requestID = headerValue(st.headers, 'requestid') ?? '';
    // clients that predate requestID: error and data streams of one connection have consecutive odd ids
    if (requestID === '') requestID = String(streamType === 'error' ? st.id : st.id - 2);
    let p = pairs.get(requestID);
    if (!p) {
      const created: StreamPair = { requestID };
      p = created;
      pairs.set(requestID, created);
      created.timer = setTimeout(() => {
        printError(
          created,
          `(conn=${session.server ? 'server' : 'client'}, request=${requestID}) timed out waiting for streams`,
        );
        created.error?.end();
        created.data?.end();
        remove(created);
      }, timeoutMs);
      created.timer.unref();
    }
    if (streamType === 'error') {
      if (p.error) {
        printError(p, `error processing stream for request ${requestID}: error stream already assigned`);
        st.end();
        return;
      }
      p.error = st;
      // nothing is ever sent on it by the client; read it so it can finish
      st.resume();
    } else {
      if (p.data) {
        printError(p, `error processing stream for request ${requestID}: data stream already assigned`);
        st.end();
        return;
      }
      p.data = st;
    }
    if (p.error && p.data) {
      remove(p);
      forward(p.data, p.error, lookup());
    }
  });
}

/** httpStreamReceived's checks; a refused stream is reset. */
function validateStream(st: SpdyStream): string | undefined {
  const portString = headerValue(st.headers, 'port');
  if (!portString) return '"port" header is required';
  if (!/^\d+$/.test(portString) || Number(portString) > 65535) return `unable to parse "${portString}" as a port`;
  if (Number(portString) < 1) return `port "${portString}" must be > 0`;
  const streamType = headerValue(st.headers, 'streamtype');
  if (!streamType) return '"streamType" header is required';
  if (streamType !== 'error' && streamType !== 'data') return `invalid stream type "${streamType}"`;
  return undefined;
}

function forward(data: SpdyStream, error: SpdyStream, pod: KubeObject | undefined): void {
  const port = Number(headerValue(data.headers, 'port'));
  const finish = (): void => {
    if (!data.writableEnded && !data.destroyed) data.end();
    if (!error.writableEnded && !error.destroyed) error.end();
  };
  if (!pod) {
    error.write(`error forwarding port ${port} to pod, uid : pod not found`);
    finish();
    return;
  }
  const conn = connectPod(pod, port);
  if (!conn) {
    error.write(connectionRefusedMessage(pod, port));
    finish();
    return;
  }
  splice(data, conn, finish);
}

// ---- the channel WebSocket protocol ----

function parsePortsQuery(q: URLSearchParams): number[] {
  const values = [...q.getAll('ports'), ...q.getAll('port')];
  if (values.length === 0) throw errors.badRequest('query parameter "port" is required');
  const ports: number[] = [];
  for (const v of values) {
    if (v === '') throw errors.badRequest('query parameter "port" cannot be empty');
    for (const p of v.split(',')) {
      if (!/^\d+$/.test(p) || Number(p) > 65535) throw errors.badRequest(`unable to parse "${v}" as a port`);
      if (Number(p) < 1) throw errors.badRequest(`port "${v}" must be > 0`);
      ports.push(Number(p));
    }
  }
  return ports;
}

function serveChannels(ws: WebSocket, protocol: string, pod: KubeObject, ports: number[]): void {
  const base64 = protocol.includes('base64');
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (base64) ws.send(String.fromCharCode(0x30 + channel) + data.toString('base64'));
    else ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  const conns: (Duplex | undefined)[] = [];
  let open = ports.length;
  const oneDone = (): void => {
    if (--open === 0) ws.close(1000);
  };
  ports.forEach((port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
    const conn = connectPod(pod, port);
    conns.push(conn);
    if (!conn) {
      send(2 * i + 1, Buffer.from(connectionRefusedMessage(pod, port)));
      oneDone();
      return;
    }
    conn.on('data', (c: Buffer) => {
      send(2 * i, c);
    });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      oneDone();
    };
    conn.on('end', finish);
    conn.on('close', finish);
  });
  ws.on('message', (msg: Buffer, isBinary: boolean) => {
    if (msg.length === 0) return;
    let channel: number;
    let data: Buffer;
    if (base64 && !isBinary) {
      channel = msg[0]! - 0x30;
      data = Buffer.from(msg.subarray(1).toString('ascii'), 'base64');
    } else {
      channel = msg[0]!;
      data = msg.subarray(1);
    }
    // only data channels are readable
    if (channel % 2 !== 0) return;
    const conn = conns[channel / 2];
    if (conn && !conn.writableEnded) conn.write(data);
  });
  ws.on('close', () => {
    for (const c of conns) c?.end();
  });
  ws.on('error', () => {
    ws.terminate();
  });
}

// ---- the endpoint ----

function isPortForward(ctx: RequestContext): boolean {
  const ri = ctx.info;
  return (
    ri.isResourceRequest &&
    ri.apiGroup === '' &&
    ri.apiVersion === 'v1' &&
    ri.resource === 'pods' &&
    ri.subresource === 'portforward' &&
    !!ri.name
  );
}

function headerList(v: string | string[] | undefined): string[] {
  return (Array.isArray(v) ? v : [v ?? ''])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

function writeRaw(
  socket: Duplex,
  code: number,
  reason: string,
  headers: Record<string, string | string[]>,
  body: string,
): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${code} ${reason}`];
  for (const [k, v] of Object.entries({
    ...headers,
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  }))
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function writeStatus(socket: Duplex, e: unknown): void {
  const err = isApiError(e) ? e : errors.internal(e instanceof Error ? e.message : String(e));
  writeRaw(socket, err.code, err.reason, { 'Content-Type': 'application/json' }, JSON.stringify(err.toStatus()));
}

/** Go's http.Error, which the kubelet uses for handshake failures. */
function writePlain(
  socket: Duplex,
  code: number,
  reason: string,
  message: string,
  extra: Record<string, string | string[]> = {},
): void {
  writeRaw(
    socket,
    code,
    reason,
    { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...extra },
    `${message}\n`,
  );
}

export class PortForwardService implements RequestInterceptor {
  readonly #opts: PortForwardOptions;
  /** upgrades served, by transport */
  readonly stats = { spdyTunnel: 0, spdy: 0, channels: 0 };
  readonly #sessions = new Set<SpdySession>();
  readonly #sockets = new Set<WebSocket>();
  readonly #wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: 32 * 1024 * 1024,
    handleProtocols: (offered) => chooseWsProtocol([...offered]) ?? false,
  });
  /** protocols ws cannot negotiate itself, answered through the 'headers' hook */
  readonly #rawProtocol = new WeakMap<http.IncomingMessage, string>();

  constructor(opts: PortForwardOptions = {}) {
    this.#opts = opts;
    this.#wss.on('headers', (headers: string[], req: http.IncomingMessage) => {
      const p = this.#rawProtocol.get(req);
      if (p) headers.push(`Sec-WebSocket-Protocol: ${p}`);
    });
  }

  /** Plain requests to pods/portforward: the apiserver requires an upgrade. */
  handle(ctx: RequestContext, _req: Req, _res: Res): boolean {
    if (!isPortForward(ctx)) return false;
    if (ctx.info.verb !== 'create' && ctx.info.verb !== 'get')
      throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
    this.#lookup(ctx);
    throw errors.badRequest('Upgrade request required');
  }

  upgrade(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!isPortForward(ctx)) return false;
    try {
      if (ctx.info.verb !== 'create' && ctx.info.verb !== 'get')
        throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
      const pod = this.#lookup(ctx);
      const upgrade = (req.headers.upgrade ?? '').toLowerCase();
      if (upgrade === 'websocket') this.#websocket(ctx, req, socket, head, pod);
      else this.#spdy(ctx, req, socket, head, pod);
    } catch (e) {
      writeStatus(socket, e);
    }
    return true;
  }

  /** Close every forwarding session (cluster shutdown). */
  closeAll(): void {
    for (const s of this.#sessions) s.destroy();
    this.#sessions.clear();
    for (const ws of this.#sockets) ws.terminate();
    this.#sockets.clear();
    this.#wss.close();
  }

  get activeSessions(): number {
    return this.#sessions.size + this.#sockets.size;
  }

  /** kube-apiserver's PortForwardLocation checks: the pod exists and is bound to a node. */
  #lookup(ctx: RequestContext): KubeObject {
    const pod = ctx.cluster.store.get('pods', ctx.info.namespace, ctx.info.name);
    if (!pod) throw errors.notFound({ group: '', resource: 'pods' }, ctx.info.name);
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (!nodeName && phase !== 'Running') throw errors.badRequest(`pod ${ctx.info.name} does not have a host assigned`);
    return pod;
  }

  #podGetter(ctx: RequestContext, uid: string | undefined): () => KubeObject | undefined {
    return () => {
      const p = ctx.cluster.store.get('pods', ctx.info.namespace, ctx.info.name);
      return p && p.metadata.uid === uid ? p : undefined;
    };
  }

  #serveSpdy(transport: Duplex, ctx: RequestContext, pod: KubeObject): void {
    const session = new SpdySession(transport, { server: true });
    this.#sessions.add(session);
    session.on('close', () => this.#sessions.delete(session));
    servePortForwardSession(session, this.#podGetter(ctx, pod.metadata.uid), this.#opts);
  }

  #spdy(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer, pod: KubeObject): void {
    const connection = headerList(req.headers.connection).map((s) => s.toLowerCase());
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (!connection.includes('upgrade') || !upgrade.includes('spdy/3.1')) {
      writePlain(
        socket,
        400,
        'Bad Request',
        `unable to upgrade: missing upgrade headers in request: connection=${JSON.stringify(req.headers.connection ?? '')} upgrade=${JSON.stringify(req.headers.upgrade ?? '')}`,
      );
      return;
    }
    const offered = headerList(req.headers['x-stream-protocol-version']);
    if (offered.length === 0) {
      writePlain(socket, 400, 'Bad Request', 'unable to upgrade: X-Stream-Protocol-Version is required');
      return;
    }
    if (!offered.includes(PORT_FORWARD_PROTOCOL)) {
      writePlain(
        socket,
        403,
        'Forbidden',
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${PORT_FORWARD_PROTOCOL}]`,
        {
          'X-Accepted-Stream-Protocol-Versions': PORT_FORWARD_PROTOCOL,
        },
      );
      return;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\nDate: ${new Date().toUTCString()}\r\n\r\n`,
    );
    if (head.length) socket.unshift(head);
    this.stats.spdy++;
    this.#serveSpdy(socket, ctx, pod);
  }

  #websocket(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer, pod: KubeObject): void {
    const offered = headerList(req.headers['sec-websocket-protocol']);
    const tunneled = offered.filter((p) => p.startsWith(SPDY_TUNNEL_PREFIX));
    if (tunneled.length && !tunneled.includes(SPDY_TUNNEL_PORT_FORWARD)) {
      const protos = tunneled.map((p) => p.slice(SPDY_TUNNEL_PREFIX.length));
      writePlain(
        socket,
        403,
        'Forbidden',
        `unable to upgrade: unable to negotiate protocol: client supports [${protos.join(' ')}], server accepts [${PORT_FORWARD_PROTOCOL}]`,
        {
          'X-Accepted-Stream-Protocol-Versions': PORT_FORWARD_PROTOCOL,
        },
      );
      return;
    }
    const protocol = chooseWsProtocol(offered);
    if (protocol === undefined) {
      writeStatus(
        socket,
        errors.badRequest(
          `unable to upgrade websocket connection: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${[SPDY_TUNNEL_PORT_FORWARD, ...CHANNEL_PROTOCOLS].join(' ')}]`,
        ),
      );
      return;
    }
    const ports = protocol === SPDY_TUNNEL_PORT_FORWARD ? [] : parsePortsQuery(ctx.url.searchParams);
    if (protocol === SPDY_TUNNEL_PORT_FORWARD) {
      // '/' and '+' are not RFC 6455 token characters, so ws refuses the header: negotiate it here
      delete req.headers['sec-websocket-protocol'];
      this.#rawProtocol.set(req, protocol);
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#sockets.add(ws);
      ws.on('close', () => this.#sockets.delete(ws));
      if (protocol === SPDY_TUNNEL_PORT_FORWARD) {
        this.stats.spdyTunnel++;
        this.#serveSpdy(createWebSocketStream(ws), ctx, pod);
      } else {
        this.stats.channels++;
        serveChannels(ws, protocol, pod, ports);
      }
    });
  }
}

/** The subprotocol we answer with: the SPDY tunnel first, then the channel protocols ('' = none offered). */
function chooseWsProtocol(offered: string[]): string | undefined {
  if (offered.includes(SPDY_TUNNEL_PORT_FORWARD)) return SPDY_TUNNEL_PORT_FORWARD;
  if (offered.length === 0) return '';
  return CHANNEL_PROTOCOLS.find((p) => offered.includes(p));
}

export interface StreamingInterceptor extends RequestInterceptor {
  portForward: PortForwardService;
  /** pods/exec and pods/attach over plain SPDY (WebSocket exec is the kubelet's ExecService) */
  exec: SpdyExecService;
  /** end every session (cluster shutdown) */
  closeAll(): void;
}

/** The interceptor to install: pods/portforward on all transports plus SPDY exec/attach. */
export function portForwardInterceptor(opts: PortForwardOptions = {}): StreamingInterceptor {
  const portForward = new PortForwardService(opts);
  const exec = new SpdyExecService({ streamCreationTimeoutMs: opts.streamCreationTimeoutMs });
  return {
    portForward,
    exec,
    handle: (ctx, req, res) => portForward.handle(ctx, req, res),
    upgrade: (ctx, req, socket, head) =>
      exec.upgrade(ctx, req, socket, head) || portForward.upgrade(ctx, req, socket, head),
    closeAll: () => {
      portForward.closeAll();
      exec.closeAll();
    },
  };
}
