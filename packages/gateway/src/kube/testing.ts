// Test-only helpers for the kube/ suites: a sandbox hub with its kubeconfig on disk, a TCP proxy that
// can be cut and restored in front of it (to simulate the hub going away without changing its port
// or CA), and small polling utilities. Never imported by production code.

import * as net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { HubClient, type HubClientOptions } from './hub-client.ts';

export interface TestHub {
  sandbox: Sandbox;
  cluster: SandboxCluster;
  dir: string;
  /** write a kubeconfig (optionally pointing at another server URL) and return its path */
  kubeconfig(server?: string, name?: string): Promise<string>;
  client(server?: string, opts?: HubClientOptions): Promise<HubClient>;
  stop(): Promise<void>;
}

export async function startTestHub(opts: { bookmarkIntervalMs?: number } = {}): Promise<TestHub> {
  const sandbox = await startSandbox({ clusters: ['hub'], bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000 });
  const cluster = sandbox.clusters.get('hub')!;
  const dir = await mkdtemp(join(tmpdir(), 'gw-kube-'));
  const clients: HubClient[] = [];
  let n = 0;
  const kubeconfig = async (server?: string, name?: string): Promise<string> => {
    let text = cluster.kubeconfig();
    if (server) text = text.replace(/server: .*/, `server: ${server}`);
    const p = join(dir, name ?? `hub-${n++}.kubeconfig`);
    await writeFile(p, text, { mode: 0o600 });
    return p;
  };
  return {
    sandbox,
    cluster,
    dir,
    kubeconfig,
    async client(server, o) {
      const c = await HubClient.load({ ...o, kubeconfig: await kubeconfig(server) });
      clients.push(c);
      return c;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy to `target` that can be cut (listener closed, every connection reset) and restored on the same port. */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();
  port = 0;
  /** connections accepted so far */
  accepted = 0;

  constructor(target: string) {
    const u = new URL(target);
    this.#target = { host: u.hostname, port: Number(u.port) };
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      this.accepted++;
      const upstream = net.connect(this.#target);
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.#server = server;
  }

  /** Stop accepting and reset every open connection. */
  async cut(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    for (const sock of this.#sockets) sock.resetAndDestroy();
    this.#sockets.clear();
    if (s)
      await new Promise<void>((resolve) =>
        s.close(() => {
          resolve();
        }),
      );
  }
}

/** Poll `fn` until it returns a truthy value, failing after `timeoutMs`. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`, { cause: last });
    await new Promise((r) => setTimeout(r, 20));
  }
}
