// `npm run soak` (issue 9): a steady mixed load through the gateway proxy for a while, to catch what
// short tests cannot: slow leaks (RSS growth after warm-up) and rare errors. One process holds the
// sandbox hub, N member clusters, the gateway and the load generator (loopback only), so the RSS
// measured is all of them together. Workers (bounded concurrency) pick a random cluster and one of
// GET / LIST / short watch / create+delete; any unexpected status or stream error counts. RSS is
// sampled (after a forced GC) at the end of a 30 s warm-up and at the end. Exits 1 if errors > 0 or
// RSS grew by more than 10 %. Not a `*.test.ts`: `npm test` does not run it.
// Usage: node --expose-gc test/soak/soak.ts [--minutes N (5)] [--clusters N (10)] [--concurrency N (32)]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { startSandbox } from '@cluster-gateway/sandbox';
import { startSandboxGateway } from '../../packages/gateway/src/cli/sandbox-gateway.ts';

const GV = '/apis/cluster.core.oam.dev/v1alpha1';
const WARMUP_MS = 30_000;
const MAX_GROWTH = 0.1;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function positive(name: string, raw: string | undefined, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
  return n;
}

function rssMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
}

type Op = 'get' | 'list' | 'watch' | 'create-delete';
const OPS: Op[] = ['get', 'get', 'list', 'list', 'watch', 'create-delete'];

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      clusters: { type: 'string' },
      concurrency: { type: 'string' },
    },
  });
  const minutes = positive('minutes', values.minutes, 5);
  const nClusters = Math.floor(positive('clusters', values.clusters, 10));
  const concurrency = Math.floor(positive('concurrency', values.concurrency, 32));
  const durationMs = minutes * 60_000;
  if (durationMs <= WARMUP_MS) throw new Error(`--minutes must leave time after the ${String(WARMUP_MS)} ms warm-up`);

  const dir = await mkdtemp(join(tmpdir(), 'gw-soak-'));
  const members = Array.from({ length: nClusters }, (_, i) => `cluster-${String(i + 1)}`);
  const sb = await startSandbox({ clusters: ['hub', ...members], dir });
  const hub = sb.clusters.get('hub')!;
  const gw = await startSandboxGateway(sb, 'hub', dir);
  const agent = new Agent({
    connect: { ca: gw.server.servingCertificate, cert: hub.admin.cert, key: hub.admin.key },
    connections: concurrency * 2,
  });
  const base = `https://127.0.0.1:${String(gw.server.port)}${GV}/clustergateways`;
  const counts: Record<Op, number> = { get: 0, list: 0, watch: 0, 'create-delete': 0 };
  let errors = 0;
  const samples: string[] = [];
  const error = (what: string): void => {
    errors++;
    if (samples.length < 20) samples.push(what);
  };

  try {
    for (let i = 0; i < 200 && gw.server.cache.size < nClusters; i++) await sleep(100);
    if (gw.server.cache.size < nClusters) throw new Error(`gateway cache has ${String(gw.server.cache.size)} clusters`);
    // a namespace per cluster with a few objects to GET and LIST
    for (const c of members) {
      const u = `${base}/${c}/proxy/api/v1`;
      const ns = await request(`${u}/namespaces`, {
        dispatcher: agent,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'soak' } }),
      });
      await ns.body.dump();
      for (let i = 0; i < 20; i++) {
        const r = await request(`${u}/namespaces/soak/configmaps`, {
          dispatcher: agent,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `fixed-${String(i)}` } }),
        });
        await r.body.dump();
        if (r.statusCode !== 201) throw new Error(`setup ${c}: ${String(r.statusCode)}`);
      }
    }

    const started = Date.now();
    const deadline = started + durationMs;
    let seq = 0;

    const once = async (): Promise<void> => {
      const c = members[Math.floor(Math.random() * members.length)]!;
      const op = OPS[Math.floor(Math.random() * OPS.length)]!;
      const u = `${base}/${c}/proxy/api/v1/namespaces/soak/configmaps`;
      counts[op]++;
      try {
        switch (op) {
          case 'get': {
            const r = await request(`${u}/fixed-${String(Math.floor(Math.random() * 20))}`, { dispatcher: agent });
            await r.body.dump();
            if (r.statusCode !== 200) error(`GET ${c}: ${String(r.statusCode)}`);
            break;
          }
          case 'list': {
            const r = await request(u, { dispatcher: agent });
            const body = (await r.body.json()) as { items?: unknown[] };
            if (r.statusCode !== 200 || !Array.isArray(body.items)) error(`LIST ${c}: ${String(r.statusCode)}`);
            break;
          }
          case 'watch': {
            // a short watch the member ends itself (timeoutSeconds): it must end cleanly
            const r = await request(`${u}?watch=true&timeoutSeconds=1`, { dispatcher: agent });
            const text = await r.body.text();
            if (r.statusCode !== 200) error(`WATCH ${c}: ${String(r.statusCode)}`);
            for (const line of text.split('\n').filter(Boolean)) JSON.parse(line);
            break;
          }
          case 'create-delete': {
            const name = `churn-${String(seq++)}`;
            const cr = await request(u, {
              dispatcher: agent,
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { v: 'x' } }),
            });
            await cr.body.dump();
            if (cr.statusCode !== 201) error(`CREATE ${c}: ${String(cr.statusCode)}`);
            const del = await request(`${u}/${name}`, { dispatcher: agent, method: 'DELETE' });
            await del.body.dump();
            if (del.statusCode !== 200) error(`DELETE ${c}: ${String(del.statusCode)}`);
            break;
          }
        }
      } catch (e) {
        error(`${op} ${c}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };

    let rssWarm: number | undefined;
    const rssSeries: number[] = [];
    const sampler = setInterval(() => {
      rssSeries.push(rssMiB());
    }, 10_000);
    const warm = setTimeout(() => {
      rssWarm = rssMiB();
    }, WARMUP_MS);
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < deadline) await once();
      }),
    );
    clearInterval(sampler);
    clearTimeout(warm);
    const rssEnd = rssMiB();
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const growth = rssWarm === undefined ? 0 : (rssEnd - rssWarm) / rssWarm;
    const summary = {
      minutes,
      clusters: nClusters,
      concurrency,
      requests: total,
      perOp: counts,
      requestsPerSecond: Math.round(total / ((Date.now() - started) / 1000)),
      errors,
      errorSamples: samples,
      rssMiB: { afterWarmup: rssWarm, end: rssEnd, growthPercent: Math.round(growth * 1000) / 10, series: rssSeries },
      pass: errors === 0 && growth <= MAX_GROWTH,
    };
    console.log(JSON.stringify(summary, null, 2));
    return summary.pass ? 0 : 1;
  } finally {
    await agent.close();
    await gw.stop();
    await sb.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 2;
  },
);
