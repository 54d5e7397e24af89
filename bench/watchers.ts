// Watch clients for the fan-out scenario, run as a SEPARATE process so the RSS measured in the
// process hosting the gateway is the server side of the watches only. Opens W watches (one HTTP/1.1
// connection each, as W independent kubectl/informer clients would), prints `{"ready":...}` once all
// are open, then counts ADDED events; each event's latency is now − the wall-clock send time the
// writer put in `data.t` (both processes share the host clock). On stdin `done N` it waits until
// every watch saw N events (or a timeout) and prints a summary line.
// Usage: node bench/watchers.ts CONFIG.json

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Pool } from 'undici';
import { summarize } from './stats.ts';

export interface WatchersConfig {
  origin: string;
  path: string;
  ca?: string;
  cert?: string;
  key?: string;
  watches: number;
  timeoutMs: number;
}

const wall = (): number => performance.timeOrigin + performance.now();

async function main(cfg: WatchersConfig): Promise<void> {
  const pool = new Pool(cfg.origin, {
    connections: cfg.watches,
    pipelining: 1,
    bodyTimeout: 0,
    headersTimeout: 60_000,
    connect: cfg.ca ? { ca: cfg.ca, cert: cfg.cert, key: cfg.key } : undefined,
  });
  const counts = new Array<number>(cfg.watches).fill(0);
  const latencies: number[] = [];
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  const ac = new AbortController();
  const openOne = async (i: number): Promise<void> => {
    try {
      const res = await pool.request({ path: cfg.path, method: 'GET', signal: ac.signal });
      if (res.statusCode !== 200) {
        failed++;
        firstError ??= `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`;
        return;
      }
      opened++;
      if (opened + failed === cfg.watches) process.stdout.write(JSON.stringify({ ready: true, opened, failed }) + '\n');
      let buf = '';
      for await (const chunk of res.body) {
        buf += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line) as { type: string; object?: { data?: { t?: string } } };
          if (ev.type !== 'ADDED' || !ev.object?.data?.t) continue;
          counts[i] = counts[i]! + 1;
          latencies.push(wall() - Number(ev.object.data.t));
        }
      }
    } catch (e) {
      if (ac.signal.aborted) return;
      failed++;
      firstError ??= (e as Error).message;
      if (opened + failed === cfg.watches) process.stdout.write(JSON.stringify({ ready: true, opened, failed }) + '\n');
    }
  };
  for (let i = 0; i < cfg.watches; i++) void openOne(i);
  const rl = createInterface({ input: process.stdin });
  for await (const line of rl) {
    const m = /^done (\d+)$/.exec(line.trim());
    if (!m) continue;
    const n = Number(m[1]);
    const end = Date.now() + cfg.timeoutMs;
    while (counts.some((c) => c < n) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const received = counts.reduce((a, b) => a + b, 0);
    const s = summarize(latencies);
    process.stdout.write(
      JSON.stringify({
        opened,
        failed,
        ...(firstError ? { firstError } : {}),
        received,
        expected: n * cfg.watches,
        p50Ms: s.p50Ms,
        p99Ms: s.p99Ms,
        maxMs: s.maxMs,
      }) + '\n',
    );
    break;
  }
  rl.close();
  ac.abort();
  await pool.destroy();
  process.exit(0);
}

const file = process.argv[2];
if (file) await main(JSON.parse(readFileSync(file, 'utf8')) as WatchersConfig);
