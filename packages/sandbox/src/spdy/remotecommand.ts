// pods/exec and pods/attach over `Upgrade: SPDY/3.1` (`X-Stream-Protocol-Version`
// v4.channel.k8s.io … channel.k8s.io), the transport kubectl used before WebSockets and which
// KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false still selects. The client opens one SPDY stream per
// `streamType` (error, stdin, stdout, stderr, resize); once all expected streams are there the
// command runs on the kubelet's runner, and the result goes to the error stream: a JSON
// metav1.Status for v4, the bare failure message for older versions, nothing on success before v4.
// Then the connection is closed the way the kubelet does (remaining streams reset, GOAWAY).

import type * as http from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import { errors, isApiError } from '../errors/status.ts';
import type { RequestContext } from '../server/cluster.ts';
import type { CommandIO, CommandResult, TerminalSize } from '../kubelet/commands.ts';
import { containerNotFoundMessage, parseStreamRequest, type StreamRequest } from '../kubelet/exec.ts';
import { kubeletFor } from '../kubelet/kubelet.ts';
import { remoteCommandStatus } from '../kubelet/remotecommand-ws.ts';
import { SpdySession, headerValue, type SpdyStream } from './spdy.ts';

/** In the kubelet's order of preference. */
export const SPDY_REMOTECOMMAND_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];
const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface SpdyExecOptions {
  streamCreationTimeoutMs?: number;
}

function protocolVersion(p: string): number {
  const m = /^v(\d+)\./.exec(p);
  return m ? Number(m[1]) : 1;
}

function headerList(v: string | string[] | undefined): string[] {
  return (Array.isArray(v) ? v : [v ?? ''])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
}

function writeRaw(socket: Duplex, code: number, reason: string, contentType: string, body: string, extra = ''): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: ${contentType}\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function isSpdyUpgrade(req: http.IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase().includes('spdy/3.1');
}

export class SpdyExecService {
  readonly #opts: SpdyExecOptions;
  readonly #sessions = new Set<SpdySession>();
  /** SPDY exec/attach sessions served */
  served = 0;

  constructor(opts: SpdyExecOptions = {}) {
    this.#opts = opts;
  }

  get activeSessions(): number {
    return this.#sessions.size;
  }

  /** Takes SPDY upgrades of pods/exec and pods/attach when a kubelet is installed in the cluster. */
  upgrade(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const ri = ctx.info;
    if (
      !ri.isResourceRequest ||
      ri.apiGroup !== '' ||
      ri.resource !== 'pods' ||
      (ri.subresource !== 'exec' && ri.subresource !== 'attach')
    )
      return false;
    if (!isSpdyUpgrade(req)) return false;
    const k = kubeletFor(ctx.cluster);
    if (!k) return false;
    let r: StreamRequest;
    try {
      if (ri.verb !== 'create' && ri.verb !== 'get')
        throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
      r = parseStreamRequest(k, ctx);
    } catch (e) {
      const err = isApiError(e) ? e : errors.internal(e instanceof Error ? e.message : String(e));
      writeRaw(socket, err.code, err.reason, 'application/json', JSON.stringify(err.toStatus()));
      return true;
    }
    if (!k.container(r.pod, r.container)) {
      writeRaw(
        socket,
        500,
        'Internal Server Error',
        'text/plain; charset=utf-8',
        containerNotFoundMessage(r.container),
      );
      return true;
    }
    const offered = headerList(req.headers['x-stream-protocol-version']);
    if (offered.length === 0) {
      writeRaw(
        socket,
        400,
        'Bad Request',
        'text/plain; charset=utf-8',
        'unable to upgrade: X-Stream-Protocol-Version is required\n',
      );
      return true;
    }
    const protocol = offered.find((p) => SPDY_REMOTECOMMAND_PROTOCOLS.includes(p));
    if (protocol === undefined) {
      const msg = `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${SPDY_REMOTECOMMAND_PROTOCOLS.join(' ')}]`;
      writeRaw(
        socket,
        403,
        'Forbidden',
        'text/plain; charset=utf-8',
        `${msg}\n`,
        SPDY_REMOTECOMMAND_PROTOCOLS.map((p) => `X-Accepted-Stream-Protocol-Versions: ${p}\r\n`).join(''),
      );
      return true;
    }
    const connection = headerList(req.headers.connection).map((s) => s.toLowerCase());
    if (!connection.includes('upgrade')) {
      writeRaw(
        socket,
        400,
        'Bad Request',
        'text/plain; charset=utf-8',
        'unable to upgrade: missing upgrade headers in request\n',
      );
      return true;
    }
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\nDate: ${new Date().toUTCString()}\r\n\r\n`,
    );
    if (head.length) socket.unshift(head);
    const session = new SpdySession(socket, { server: true });
    this.served++;
    this.#sessions.add(session);
    session.on('close', () => this.#sessions.delete(session));
    void serveRemoteCommand(
      session,
      protocol,
      r,
      (io) => k.exec.run(r, io),
      this.#opts.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS,
    );
    return true;
  }

  closeAll(): void {
    for (const s of this.#sessions) s.destroy();
    this.#sessions.clear();
  }
}

type Runner = (io: CommandIO) => Promise<CommandResult>;

/** Collect the client's streams, run the command, report its status and close the connection. */
export async function serveRemoteCommand(
  session: SpdySession,
  protocol: string,
  r: StreamRequest,
  run: Runner,
  timeoutMs: number,
): Promise<void> {
  const version = protocolVersion(protocol);
  const wanted = new Set<string>(['error']);
  if (r.stdin) wanted.add('stdin');
  if (r.stdout) wanted.add('stdout');
  if (r.stderr && !r.tty) wanted.add('stderr');
  if (r.tty && version >= 3) wanted.add('resize');
  const streams = new Map<string, SpdyStream>();
  const abort = new AbortController();
  session.on('close', () => {
    abort.abort();
  });

  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      const err = streams.get('error');
      if (err) err.end('timed out waiting for client to create streams');
      resolve(false);
    }, timeoutMs);
    timer.unref();
    session.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
    session.on('stream', (st) => {
      st.reply();
      const type = headerValue(st.headers, 'streamtype') ?? '';
      if (!wanted.has(type) || streams.has(type)) {
        // unexpected streams are accepted and left unused, as the kubelet logs and ignores them
        st.resume();
        st.end();
        return;
      }
      streams.set(type, st);
      if (streams.size === wanted.size) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  if (!ready || session.closed) {
    session.shutdown();
    return;
  }

  const resizeListeners = new Set<(s: TerminalSize) => void>();
  const resize = streams.get('resize');
  if (resize) {
    let pending = '';
    resize.on('data', (c: Buffer) => {
      pending += c.toString('utf8');
      // json.Encoder writes one object per line
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line) continue;
        try {
          const s = JSON.parse(line) as { Width?: unknown; Height?: unknown };
          if (typeof s.Width === 'number' && typeof s.Height === 'number')
            for (const fn of resizeListeners) fn({ width: s.Width, height: s.Height });
        } catch {
          // the kubelet drops undecodable resize messages
        }
      }
    });
  }
  const errorStream = streams.get('error')!;
  errorStream.resume();
  let result: CommandResult;
  try {
    result = await run({
      stdin: streams.get('stdin') ?? null,
      stdout: streams.get('stdout') ?? null,
      stderr: streams.get('stderr') ?? null,
      tty: r.tty,
      onResize: (fn) => resizeListeners.add(fn),
      signal: abort.signal,
    });
  } catch (e) {
    result = { exitCode: 1, startError: e instanceof Error ? e.message : String(e) };
  }
  if (session.closed) return;
  await Promise.all(
    [streams.get('stdout'), streams.get('stderr')].filter((s) => s !== undefined).map((s) => endAndFlush(s)),
  );
  const status = remoteCommandStatus(result, r.command, version >= 4 ? 4 : 1);
  let payload: string | undefined;
  if (version >= 4) payload = JSON.stringify(status);
  else if (status.status !== 'Success') payload = String(status.message);
  if (payload !== undefined) errorStream.write(payload);
  await endAndFlush(errorStream);
  // the kubelet's connection.Close(): what is still open is reset, then GOAWAY
  session.shutdown();
}

function endAndFlush(w: Writable): Promise<void> {
  if (w.writableFinished || w.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    w.once('close', () => {
      resolve();
    });
    w.end(() => {
      resolve();
    });
  });
}
