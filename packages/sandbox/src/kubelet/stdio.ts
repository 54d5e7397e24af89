// Byte plumbing between a remote client and the sandbox's built-in commands: an `Input` queue that
// several readers can share (an interactive shell and the command it runs), outputs that apply the
// terminal's newline translation, and the TTY line discipline (echo, erase, ^C, ^D) that a real
// container's pseudo-terminal provides for `kubectl exec -it`.

import type { Readable, Writable } from 'node:stream';

const EOF_MARK = Symbol('eof');

/** A readable byte queue; `read()` resolves null at end of input (or a transient ^D on a TTY). */
export class Input {
  readonly #queue: (Buffer | typeof EOF_MARK)[] = [];
  #ended = false;
  #waiter: (() => void) | undefined;

  static fromBuffer(b: Buffer): Input {
    const i = new Input();
    if (b.length) i.push(b);
    i.end();
    return i;
  }

  static empty(): Input {
    const i = new Input();
    i.end();
    return i;
  }

  /** Feed a Node stream into a new Input (ends when the stream ends, errors or closes). */
  static fromReadable(r: Readable): Input {
    const i = new Input();
    r.on('data', (b: Buffer | string) => {
      i.push(typeof b === 'string' ? Buffer.from(b) : b);
    });
    const done = (): void => {
      i.end();
    };
    r.once('end', done);
    r.once('close', done);
    r.once('error', done);
    return i;
  }

  push(b: Buffer): void {
    if (this.#ended || b.length === 0) return;
    this.#queue.push(b);
    this.#wake();
  }

  /** A one-shot end of input for the current reader (TTY ^D on an empty line). */
  pushEof(): void {
    if (this.#ended) return;
    this.#queue.push(EOF_MARK);
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** Give back bytes a reader took but did not consume. */
  unshift(b: Buffer): void {
    if (b.length) this.#queue.unshift(b);
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  async read(signal?: AbortSignal): Promise<Buffer | null> {
    for (;;) {
      const next = this.#queue.shift();
      if (next === EOF_MARK) return null;
      if (next) return next;
      if (this.#ended || signal?.aborted) return null;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => {
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#waiter = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
      });
    }
  }

  /** Everything until end of input, refusing more than `limit` bytes. */
  async readAll(signal: AbortSignal | undefined, limit: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const b = await this.read(signal);
      if (!b) return Buffer.concat(chunks);
      size += b.length;
      if (size > limit) throw new Error('input too large');
      chunks.push(b);
    }
  }

  /** One line including its `\n` (or the partial last line at end of input); null at end. */
  async readLine(signal?: AbortSignal): Promise<string | null> {
    const parts: Buffer[] = [];
    for (;;) {
      const b = await this.read(signal);
      if (!b) return parts.length ? Buffer.concat(parts).toString('utf8') : null;
      const nl = b.indexOf(0x0a);
      if (nl === -1) {
        parts.push(b);
        continue;
      }
      parts.push(b.subarray(0, nl + 1));
      this.unshift(b.subarray(nl + 1));
      return Buffer.concat(parts).toString('utf8');
    }
  }
}

export interface Output {
  write(data: string | Buffer): void;
}

/** An output that collects bytes (pipes, redirections, tests). */
export class BufferOutput implements Output {
  readonly chunks: Buffer[] = [];
  size = 0;
  write(data: string | Buffer): void {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.size += b.length;
    this.chunks.push(b);
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
  toString(): string {
    return this.buffer.toString('utf8');
  }
}

export const discard: Output = { write: () => undefined };

/** Writes to a Node stream; on a TTY `\n` becomes `\r\n` as the terminal's ONLCR would do. */
export function streamOutput(w: Writable | null, tty: boolean): Output {
  if (!w) return discard;
  return {
    write(data) {
      if (w.destroyed || w.writableEnded) return;
      let b = typeof data === 'string' ? Buffer.from(data) : data;
      if (tty) b = onlcr(b);
      if (b.length) w.write(b);
    },
  };
}

export function onlcr(b: Buffer): Buffer {
  if (!b.includes(0x0a)) return b;
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x0a && (i === 0 || b[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(c);
  }
  return Buffer.from(out);
}

/**
 * The canonical-mode line discipline of a pseudo-terminal: raw keystrokes in, edited lines out, with
 * echo. ^C calls `onInterrupt`, ^D on an empty line is a one-shot end of input, ^\ is ignored.
 */
export class TtyDiscipline {
  readonly cooked = new Input();
  onInterrupt: (() => void) | undefined;
  readonly #echo: Output;
  #line: number[] = [];
  #esc = 0;

  constructor(raw: Input, echo: Output) {
    this.#echo = echo;
    void this.#pump(raw);
  }

  async #pump(raw: Input): Promise<void> {
    for (;;) {
      const b = await raw.read();
      if (!b) {
        this.cooked.end();
        return;
      }
      for (const c of b) this.#byte(c);
    }
  }

  #byte(c: number): void {
    if (this.#esc > 0) {
      // swallow escape sequences (arrows, function keys): ESC [ params final
      if (this.#esc === 1) this.#esc = c === 0x5b || c === 0x4f ? 2 : 0;
      else if (c >= 0x40 && c <= 0x7e) this.#esc = 0;
      return;
    }
    switch (c) {
      case 0x1b:
        this.#esc = 1;
        return;
      case 0x0d:
      case 0x0a: {
        this.#echo.write('\r\n');
        this.#line.push(0x0a);
        this.cooked.push(Buffer.from(this.#line));
        this.#line = [];
        return;
      }
      case 0x7f:
      case 0x08:
        if (this.#line.length) {
          // erase a whole UTF-8 character
          let n = 1;
          while (n < this.#line.length && (this.#line[this.#line.length - n]! & 0xc0) === 0x80) n++;
          this.#line.splice(this.#line.length - n, n);
          this.#echo.write('\b \b');
        }
        return;
      case 0x03:
        this.#echo.write('^C\r\n');
        this.#line = [];
        this.onInterrupt?.();
        return;
      case 0x04:
        if (this.#line.length === 0) this.cooked.pushEof();
        else {
          this.cooked.push(Buffer.from(this.#line));
          this.#line = [];
        }
        return;
      case 0x15:
        this.#echo.write('\b \b'.repeat(this.#line.length));
        this.#line = [];
        return;
      default:
        if (c < 0x20 && c !== 0x09) return;
        this.#line.push(c);
        this.#echo.write(Buffer.from([c]));
    }
  }
}
