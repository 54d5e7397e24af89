// The WebSocket flavour of Kubernetes' remote command protocol (exec/attach), as kube-apiserver and the
// kubelet speak it: subprotocols `v5.channel.k8s.io` (KEP-4006: adds the `[255, channel]` close
// signal so stdin can be half-closed), `v4.channel.k8s.io` (JSON Status on the error channel),
// `channel.k8s.io` (plain-text errors) and their base64 text variants. Every message starts with a
// channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 terminal resize.

import { PassThrough, Writable } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import type { CommandIO, CommandResult, TerminalSize } from './commands.ts';

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

export const V5 = 'v5.channel.k8s.io';
export const V4 = 'v4.channel.k8s.io';
export const V4_BASE64 = 'v4.base64.channel.k8s.io';
export const V1 = 'channel.k8s.io';
export const V1_BASE64 = 'base64.channel.k8s.io';

/** Subprotocols served, as kube-apiserver (v5) and the kubelet (v4 and earlier) accept them. */
export const SUPPORTED_PROTOCOLS = [V5, V4, V4_BASE64, V1, V1_BASE64];

/**
 * The subprotocol to use: the first one the client offered that is supported (the client's order
 * wins, as in wsstream's handshake); `''` when the client offered none (binary channel protocol);
 * undefined when none of the offered ones is supported.
 */
export function selectProtocol(offered: string[]): string | undefined {
  if (offered.length === 0) return '';
  return offered.find((p) => SUPPORTED_PROTOCOLS.includes(p));
}

export function parseProtocolHeader(h: string | undefined): string[] {
  return (h ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function isBase64(protocol: string): boolean {
  return protocol.includes('base64.');
}

/** v4+ sends a JSON metav1.Status on the error channel; older protocols a bare error message. */
export function statusVersion(protocol: string): 1 | 4 | 5 {
  if (protocol === V5) return 5;
  if (protocol.startsWith('v4.')) return 4;
  return 1;
}

export function encodeFrame(protocol: string, channel: number, data: Buffer): Buffer | string {
  if (isBase64(protocol)) return String.fromCharCode(0x30 + channel) + data.toString('base64');
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

export type Frame =
  | { kind: 'data'; channel: number; data: Buffer }
  | { kind: 'close'; channel: number }
  | { kind: 'invalid'; reason: string };

export function decodeFrame(protocol: string, msg: Buffer, isBinary: boolean): Frame | undefined {
  if (msg.length === 0) return undefined;
  if (protocol === V5 && msg[0] === CLOSE) {
    if (msg.length !== 2)
      return {
        kind: 'invalid',
        reason: `Single channel byte should follow stream close signal. Got ${msg.length - 1} bytes`,
      };
    return { kind: 'close', channel: msg[1]! };
  }
  if (isBase64(protocol) && !isBinary) {
    const channel = msg[0]! - 0x30;
    return { kind: 'data', channel, data: Buffer.from(msg.subarray(1).toString('ascii'), 'base64') };
  }
  return { kind: 'data', channel: msg[0]!, data: msg.subarray(1) };
}

/** The kubelet's status for a finished command (metav1.Status as JSON: no kind/apiVersion). */
export function remoteCommandStatus(
  result: CommandResult,
  argv: string[],
  version: 1 | 4 | 5,
): Record<string, unknown> {
  if (result.startError !== undefined) {
    const err = `error executing command in container: ${result.startError}`;
    return {
      metadata: {},
      status: 'Failure',
      message: `Internal error occurred: ${err}`,
      reason: 'InternalError',
      details: { causes: [{ message: err }] },
      code: 500,
    };
  }
  if (result.exitCode === 0) return { metadata: {}, status: 'Success' };
  // v5 goes through kube-apiserver's stream translator, which re-wraps the kubelet's exit error
  const inner =
    version === 5
      ? `command terminated with exit code ${result.exitCode}`
      : `error executing command [${argv.join(' ')}], exit code ${result.exitCode}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: ${inner}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
  };
}

export interface StreamFlags {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** One exec/attach session over an accepted WebSocket. */
export class WsRemoteCommand {
  readonly protocol: string;
  readonly io: CommandIO;
  readonly #ws: WebSocket;
  readonly #stdin: PassThrough | null;
  readonly #resize = new Set<(s: TerminalSize) => void>();
  readonly #abort = new AbortController();
  #finished = false;

  constructor(ws: WebSocket, protocol: string, flags: StreamFlags) {
    this.#ws = ws;
    this.protocol = protocol;
    this.#stdin = flags.stdin ? new PassThrough() : null;
    const out = (channel: number): Writable =>
      new Writable({
        write: (chunk: Buffer, _enc, cb) => {
          if (ws.readyState !== ws.OPEN) {
            cb();
            return;
          }
          // a send failure means the client is gone; the close handler ends the session
          ws.send(encodeFrame(protocol, channel, chunk), () => {
            cb();
          });
        },
      });
    const tty = flags.tty;
    this.io = {
      stdin: this.#stdin,
      stdout: flags.stdout ? out(STDOUT) : null,
      // a TTY has no separate stderr stream
      stderr: flags.stderr && !tty ? out(STDERR) : null,
      tty,
      onResize: (fn) => this.#resize.add(fn),
      signal: this.#abort.signal,
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      this.#onMessage(toBuffer(data), isBinary);
    });
    ws.on('close', () => {
      this.#stdin?.end();
      this.#abort.abort();
    });
    ws.on('error', () => {
      this.#abort.abort();
    });
    // the kubelet greets on the lowest writable channel so the client knows the streams are up
    const greet = flags.stdout ? STDOUT : flags.stderr && !tty ? STDERR : ERROR;
    ws.send(encodeFrame(protocol, greet, Buffer.alloc(0)));
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  #onMessage(msg: Buffer, isBinary: boolean): void {
    const f = decodeFrame(this.protocol, msg, isBinary);
    if (!f) return;
    if (f.kind === 'invalid') {
      this.#ws.close(1002, f.reason.slice(0, 120));
      return;
    }
    if (f.kind === 'close') {
      if (f.channel === STDIN) this.#stdin?.end();
      return;
    }
    if (f.channel === STDIN) {
      if (this.#stdin && !this.#stdin.writableEnded) this.#stdin.write(f.data);
    } else if (f.channel === RESIZE && this.io.tty) {
      try {
        const s = JSON.parse(f.data.toString('utf8')) as { Width?: unknown; Height?: unknown };
        if (typeof s.Width === 'number' && typeof s.Height === 'number')
          for (const fn of this.#resize) fn({ width: s.Width, height: s.Height });
      } catch {
        // a malformed resize message is ignored, as the kubelet logs and drops it
      }
    }
  }

  /** Report the result on the error channel and close the connection. */
  finish(result: CommandResult, argv: string[]): Promise<void> {
    return this.#finishWith(remoteCommandStatus(result, argv, statusVersion(this.protocol)));
  }

  /** Report a failure that happened before any command ran (an InternalError status). */
  finishWithError(message: string): Promise<void> {
    return this.#finishWith({
      metadata: {},
      status: 'Failure',
      message: `Internal error occurred: ${message}`,
      reason: 'InternalError',
      details: { causes: [{ message }] },
      code: 500,
    });
  }

  async #finishWith(status: Record<string, unknown>): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    const ws = this.#ws;
    // let queued stdout/stderr frames go out first
    const outs = [this.io.stdout, this.io.stderr].filter((w) => w !== null);
    await Promise.all(outs.map((w) => new Promise<void>((r) => w.end(r))));
    if (ws.readyState === ws.OPEN) {
      const v = statusVersion(this.protocol);
      let payload: Buffer | undefined;
      if (v >= 4) payload = Buffer.from(JSON.stringify(status));
      else if (status.status !== 'Success') payload = Buffer.from(String(status.message));
      if (payload)
        await new Promise<void>((r) => {
          ws.send(encodeFrame(this.protocol, ERROR, payload), () => {
            r();
          });
        });
      ws.close(1000);
    }
    this.#stdin?.destroy();
    this.#abort.abort();
  }

  /** Tear down without a status (server shutting down). */
  destroy(): void {
    this.#finished = true;
    this.#ws.terminate();
    this.#stdin?.destroy();
    this.#abort.abort();
  }
}

function toBuffer(d: RawData): Buffer {
  if (Buffer.isBuffer(d)) return d;
  if (Array.isArray(d)) return Buffer.concat(d);
  return Buffer.from(d);
}
