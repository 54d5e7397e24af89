// Load generator for the throughput scenario, run as a SEPARATE process so its CPU is not charged
// to the process hosting the gateway. Fixed-rate (open loop: latency counts from the intended send
// time, so queueing shows instead of being hidden) or closed loop (`rate: 0`: every connection
// sends its next request as soon as the previous answer arrived, i.e. the ceiling).
// Usage: node bench/loadgen.ts CONFIG.json  → one JSON line on stdout.

import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

export interface LoadgenConfig {
  origin: string;
  path: string;
  ca?: string;
  cert?: string;
  key?: string;
  /** requests per second; 0 = closed loop */
  rate: number;
  connections: number;
  durationMs: number;
}

export interface LoadgenResult {
  sent: number;
  ok: number;
  errors: number;
  firstError?: string;
  elapsedS: number;
  latencies: number[];
}

async function run(cfg: LoadgenConfig): Promise<LoadgenResult> {
  const pool = new Pool(cfg.origin, {
    connections: cfg.connections,
    pipelining: 1,
    connect: cfg.ca ? { ca: cfg.ca, cert: cfg.cert, key: cfg.key } : undefined,
  });
  const latencies: number[] = [];
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const one = async (intended: number): Promise<void> => {
    sent++;
    try {
      const res = await pool.request({ path: cfg.path, method: 'GET', headers: { accept: 'application/json' } });
      await res.body.dump({ limit: Infinity });
      if (res.statusCode === 200) {
        ok++;
        latencies.push(performance.now() - intended);
      } else {
        errors++;
        firstError ??= `HTTP ${res.statusCode}`;
      }
    } catch (e) {
      errors++;
      firstError ??= (e as Error).message;
    }
  };
  const start = performance.now();
  const end = start + cfg.durationMs;
  if (cfg.rate > 0) {
    const inflight = new Set<Promise<void>>();
    const interval = 1000 / cfg.rate;
    let next = start;
    while (next < end) {
      const now = performance.now();
      while (next <= now && next < end) {
        const p = one(next);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        next += interval;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(inflight);
  } else {
    await Promise.all(
      Array.from({ length: cfg.connections }, async () => {
        while (performance.now() < end) await one(performance.now());
      }),
    );
  }
  const elapsedS = (performance.now() - start) / 1000;
  await pool.close();
  return { sent, ok, errors, ...(firstError ? { firstError } : {}), elapsedS, latencies };
}

const file = process.argv[2];
if (file) {
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as LoadgenConfig;
  const res = await run(cfg);
  process.stdout.write(JSON.stringify(res) + '\n');
}
