// A TCP fault injector for the reliability suite (issue 9): a loopback listener that forwards every
// connection to one target and misbehaves on demand: latency, a bandwidth cap, a reset after N bytes,
// a black hole, a half-close, or refusing connections outright. It works below TLS, so a gateway can
// be pointed at it with the member's own CA and certificate (valid for 127.0.0.1) and still verify.
// The mode is read for every chunk, so switching it at run time affects open connections too (a
// keep-alive pool or a running watch), which is what "the member dies mid-stream" needs.

import * as net from 'node:net';

export interface FaultMode {
  /** delay added to every chunk, both directions (order is kept) */
  latencyMs?: number;
  /** cap per direction per connection, bytes per second */
  bytesPerSecond?: number;
  /** reset (RST) a connection once this many target→client bytes went through it */
  resetAfterBytes?: number;
  /** swallow every byte both ways; connections stay open and silent */
  blackHole?: boolean;
  /** end (FIN) the client side once this many target→client bytes went through; reads go on */
  halfCloseAfterBytes?: number;
  /** stop listening: new connections are refused by the kernel (the port is kept for later) */
  refuse?: boolean;
}

export interface FaultProxyStats {
  /** connections accepted since start */
  connections: number;
  /** connections currently open */
  active: number;
  resets: number;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  /** `host:port` */
  readonly address: string;
  readonly stats: FaultProxyStats;
  readonly mode: Readonly<FaultMode>;
  /** replace the mode; resolves once a refuse/listen change took effect */
  set(mode: FaultMode): Promise<void>;
  /** reset (RST) every open connection now */
  resetAll(): void;
  close(): Promise<void>;
}

interface Pipe {
  client: net.Socket;
  upstream: net.Socket;
  /** target→client bytes forwarded */
  down: number;
  halfClosed: boolean;
  reset: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startFaultProxy(
  target: { host: string; port: number },
  initial: FaultMode = {},
): Promise<FaultProxy> {
  let mode: FaultMode = { ...initial };
  const stats: FaultProxyStats = { connections: 0, active: 0, resets: 0 };
  const pipes = new Set<Pipe>();
  let port = 0;
  let server: net.Server | undefined;
  let closed = false;

  const reset = (p: Pipe): void => {
    if (p.reset) return;
    p.reset = true;
    stats.resets++;
    p.client.resetAndDestroy();
    p.upstream.resetAndDestroy();
  };

  /** One direction: a queue drained in order, with latency and pacing applied per chunk. */
  const relay = (p: Pipe, from: net.Socket, to: net.Socket, down: boolean): { idle(): Promise<void> } => {
    const queue: { at: number; chunk: Buffer }[] = [];
    let queued = 0;
    let pumping = false;
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        while (queue.length > 0) {
          const item = queue[0]!;
          const wait = item.at + (mode.latencyMs ?? 0) - Date.now();
          if (wait > 0) await sleep(wait);
          queue.shift();
          queued -= item.chunk.length;
          if (queued < 1 << 20 && from.isPaused()) from.resume();
          if (to.destroyed || from.destroyed || p.reset) return;
          if (mode.blackHole) continue;
          let chunk = item.chunk;
          while (chunk.length > 0) {
            const bps = mode.bytesPerSecond;
            const slice = bps ? Math.max(1, Math.floor(bps / 20)) : chunk.length;
            let piece = chunk.subarray(0, slice);
            chunk = chunk.subarray(piece.length);
            if (down) {
              const limit = mode.resetAfterBytes;
              if (limit !== undefined && p.down + piece.length >= limit) {
                const keep = Math.max(0, limit - p.down);
                if (keep > 0) to.write(piece.subarray(0, keep));
                p.down += keep;
                // let the partial bytes leave before the RST
                setImmediate(() => {
                  reset(p);
                });
                return;
              }
              const half = mode.halfCloseAfterBytes;
              if (half !== undefined && p.down + piece.length >= half) {
                piece = piece.subarray(0, Math.max(0, half - p.down));
                if (piece.length) to.write(piece);
                p.down += piece.length;
                p.halfClosed = true;
                to.end();
                return;
              }
              p.down += piece.length;
            }
            if (!to.writable) return;
            to.write(piece);
            if (bps) await sleep((piece.length / bps) * 1000);
          }
        }
      } finally {
        pumping = false;
      }
    };
    from.on('data', (chunk: Buffer) => {
      if (down && p.halfClosed) return;
      queue.push({ at: Date.now(), chunk });
      queued += chunk.length;
      if (queued >= 1 << 20) from.pause();
      void pump();
    });
    from.on('end', () => {
      // forward the FIN once everything queued has left (black hole: never)
      const fin = async (): Promise<void> => {
        while (queue.length > 0 || pumping) await sleep(5);
        if (!mode.blackHole && !to.destroyed) to.end();
      };
      void fin();
    });
    return {
      async idle() {
        while (queue.length > 0 || pumping) await sleep(5);
      },
    };
  };

  const onConnection = (client: net.Socket): void => {
    stats.connections++;
    stats.active++;
    const upstream = net.connect({ host: target.host, port: target.port });
    const p: Pipe = { client, upstream, down: 0, halfClosed: false, reset: false };
    pipes.add(p);
    let gone = false;
    const done = (): void => {
      if (gone) return;
      gone = true;
      stats.active--;
      pipes.delete(p);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done);
    upstream.on('error', () => {
      // the target refused or died: the client sees a reset, as it would without us
      if (!client.destroyed) client.resetAndDestroy();
      done();
    });
    client.on('close', done);
    relay(p, client, upstream, false);
    const downward = relay(p, upstream, client, true);
    upstream.on('close', () => {
      // deliver what is still queued (latency, pacing) before the client learns the target is gone
      void downward.idle().then(() => {
        if (mode.blackHole || gone) return;
        client.end();
        setTimeout(done, 1000).unref();
      });
    });
  };

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = net.createServer(onConnection);
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        port = (s.address() as net.AddressInfo).port;
        server = s;
        resolve();
      });
    });

  const unlisten = (): void => {
    // stop accepting now; open connections live on (close()'s callback would wait for them)
    server?.close();
    server = undefined;
  };

  await listen();
  if (mode.refuse) unlisten();

  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    get address() {
      return `127.0.0.1:${String(port)}`;
    },
    stats,
    get mode() {
      return mode;
    },
    async set(next) {
      mode = { ...next };
      if (closed) return;
      if (mode.refuse && server) unlisten();
      else if (!mode.refuse && !server) await listen();
    },
    resetAll() {
      for (const p of [...pipes]) reset(p);
    },
    async close() {
      closed = true;
      unlisten();
      for (const p of [...pipes]) {
        p.client.destroy();
        p.upstream.destroy();
      }
      while (stats.active > 0) await sleep(5);
    },
  };
}
