// Helpers shared by the end-to-end suites that drive child processes (kubectl): collect output
// lines with their arrival times, stop a child and wait for it, poll a condition with a deadline.

import type { ChildProcess } from 'node:child_process';

/** Lines of a child's stdout with their arrival times, until `done(lines)` or the timeout. */
export function lines(
  child: ChildProcess,
  done: (ls: { at: number; line: string }[]) => boolean,
  timeoutMs = 15_000,
): Promise<{ at: number; line: string }[]> {
  return new Promise((resolve, reject) => {
    const got: { at: number; line: string }[] = [];
    let buf = '';
    let err = '';
    const onData = (b: Buffer): void => {
      buf += b.toString();
      let i;
      while ((i = buf.indexOf('\n')) !== -1) {
        got.push({ at: Date.now(), line: buf.slice(0, i) });
        buf = buf.slice(i + 1);
      }
      if (done(got)) {
        cleanup();
        resolve(got);
      }
    };
    const onErr = (b: Buffer): void => {
      err += b.toString();
    };
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out; got ${JSON.stringify(got)}; stderr ${err}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(t);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
  });
}

export async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((r) => child.once('close', r));
  child.kill();
  await closed;
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
