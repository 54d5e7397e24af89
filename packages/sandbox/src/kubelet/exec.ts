// pods/exec and pods/attach: request validation as kube-apiserver does it (pod, container, stream
// options, `create` permission for WebSocket GETs), the "Upgrade request required" answer to plain
// requests, and WebSocket sessions (remotecommand-ws.ts) driving the built-in command runner. SPDY
// transports reuse `parseStreamRequest` + `ExecService.run` so both protocols behave the same.

import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { KubeObject } from '../api/types.ts';
import { errors, isApiError } from '../errors/status.ts';
import { forbiddenMessage } from '../auth/rbac.ts';
import type { RequestContext } from '../server/cluster.ts';
import type { Req, Res } from '../server/listener.ts';
import type { CommandIO, CommandResult } from './commands.ts';
import type { Kubelet } from './kubelet.ts';
import { parseBool, selectContainer } from './logs.ts';
import { parseProtocolHeader, selectProtocol, SUPPORTED_PROTOCOLS, V5, WsRemoteCommand } from './remotecommand-ws.ts';

export interface StreamRequest {
  kind: 'exec' | 'attach';
  pod: KubeObject;
  container: string;
  /** exec only */
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** The kubelet's answer when the container is not running (yet, or any more). */
export function containerNotFoundMessage(container: string): string {
  return `container not found ("${container}")`;
}

function isStreamSubresource(ctx: RequestContext): 'exec' | 'attach' | undefined {
  const ri = ctx.info;
  if (!ri.isResourceRequest || ri.apiGroup !== '' || ri.apiVersion !== 'v1' || ri.resource !== 'pods' || !ri.name)
    return undefined;
  return ri.subresource === 'exec' || ri.subresource === 'attach' ? ri.subresource : undefined;
}

/**
 * Decode PodExecOptions/PodAttachOptions from the query and resolve pod and container; throws the
 * ApiErrors kube-apiserver answers with (404 pod, 400 container or options).
 */
export function parseStreamRequest(k: Kubelet, ctx: RequestContext): StreamRequest {
  const kind = isStreamSubresource(ctx);
  if (!kind) throw errors.badRequest('not an exec or attach request');
  const q = ctx.url.searchParams;
  const flag = (name: string, dflt: boolean): boolean => {
    const v = q.get(name);
    return v === null ? dflt : parseBool(name, v);
  };
  // v1 defaulting: stdout and stderr are on unless turned off
  const opts = {
    stdin: flag('stdin', false),
    stdout: flag('stdout', true),
    stderr: flag('stderr', true),
    tty: flag('tty', false),
  };
  const pod = k.cluster.store.get('pods', ctx.info.namespace, ctx.info.name);
  if (!pod) throw errors.notFound({ group: '', resource: 'pods' }, ctx.info.name);
  const container = selectContainer(pod, q.get('container') || undefined);
  if (!(pod.spec as { nodeName?: string } | undefined)?.nodeName)
    throw errors.badRequest(`pod ${ctx.info.name} does not have a host assigned`);
  // the kubelet ignores stderr on a TTY
  if (opts.tty) opts.stderr = false;
  if (!opts.stdin && !opts.stdout && !opts.stderr)
    throw errors.badRequest('you must specify at least 1 of stdin, stdout, stderr');
  return { kind, pod, container, command: kind === 'exec' ? q.getAll('command') : [], ...opts };
}

function writeSocketResponse(socket: Duplex, code: number, reason: string, contentType: string, body: string): void {
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function writeSocketError(socket: Duplex, e: unknown): void {
  const err = isApiError(e) ? e : errors.internal(e instanceof Error ? e.message : String(e));
  writeSocketResponse(socket, err.code, err.reason, 'application/json', JSON.stringify(err.toStatus()));
}

export class ExecService {
  readonly #k: Kubelet;
  readonly #wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: 32 * 1024 * 1024,
    handleProtocols: (offered) => selectProtocol([...offered]) ?? false,
  });
  readonly #sessions = new Set<WsRemoteCommand>();

  constructor(k: Kubelet) {
    this.#k = k;
  }

  /** Plain (non-upgrade) requests to exec/attach: validated, then refused as kube-apiserver does. */
  handle(ctx: RequestContext, _req: Req, _res: Res): boolean {
    if (!isStreamSubresource(ctx)) return false;
    if (ctx.info.verb !== 'create' && ctx.info.verb !== 'get')
      throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
    parseStreamRequest(this.#k, ctx);
    throw errors.badRequest('Upgrade request required');
  }

  upgrade(ctx: RequestContext, req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if (!isStreamSubresource(ctx)) return false;
    // SPDY upgrades belong to another transport
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return false;
    let r: StreamRequest;
    try {
      this.#authorizeCreate(ctx);
      r = parseStreamRequest(this.#k, ctx);
    } catch (e) {
      writeSocketError(socket, e);
      return true;
    }
    const offered = parseProtocolHeader(req.headers['sec-websocket-protocol']);
    const protocol = selectProtocol(offered);
    if (protocol === undefined) {
      writeSocketError(
        socket,
        errors.badRequest(
          `websocket server finished before becoming ready: requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${SUPPORTED_PROTOCOLS.join(' ')}]`,
        ),
      );
      return true;
    }
    const container = this.#k.container(r.pod, r.container);
    // without the v5 stream translator the upgrade is proxied to the kubelet, which refuses it
    if (!container && protocol !== V5) {
      writeSocketResponse(
        socket,
        500,
        'Internal Server Error',
        'text/plain; charset=utf-8',
        containerNotFoundMessage(r.container),
      );
      return true;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new WsRemoteCommand(ws, ws.protocol, r);
      this.#sessions.add(session);
      const done = container
        ? this.run(r, session.io)
            .catch((e: unknown): CommandResult => ({
              exitCode: 1,
              startError: e instanceof Error ? e.message : String(e),
            }))
            .then((result) => session.finish(result, r.command))
        : session.finishWithError(`unable to upgrade connection: ${containerNotFoundMessage(r.container)}`);
      void done.finally(() => this.#sessions.delete(session));
    });
    return true;
  }

  /**
   * Run a validated exec/attach request with the given streams (any transport). A container that is
   * not running resolves as a start failure carrying the kubelet's message.
   */
  run(r: StreamRequest, io: CommandIO): Promise<CommandResult> {
    const container = this.#k.container(r.pod, r.container);
    if (!container) return Promise.resolve({ exitCode: 1, startError: containerNotFoundMessage(r.container) });
    return r.kind === 'exec' ? this.#k.runCommand(container, r.command, io) : this.#k.attach(container, io);
  }

  /** WebSocket exec/attach uses GET; kube also requires `create` on the subresource for it. */
  #authorizeCreate(ctx: RequestContext): void {
    const ri = ctx.info;
    if (ri.verb === 'create') return;
    const attrs = {
      user: ctx.user,
      verb: 'create',
      resourceRequest: true,
      path: ctx.url.pathname,
      apiGroup: ri.apiGroup,
      apiVersion: ri.apiVersion,
      resource: ri.resource,
      subresource: ri.subresource,
      namespace: ri.namespace,
      name: ri.name,
    };
    const d = ctx.cluster.authorizer.authorize(attrs);
    if (!d.allowed)
      throw errors.forbidden(
        { group: '', resource: 'pods' },
        ri.name,
        forbiddenMessage(attrs) + (d.reason ? `: ${d.reason}` : ''),
      );
  }

  closeAll(): void {
    for (const s of this.#sessions) s.destroy();
    this.#sessions.clear();
    this.#wss.close();
  }
}
