// Sandbox scale benchmark: 10,000 Secrets in one cluster, then timed LISTs over HTTPS (h2), as
// kubectl and informers do them. Prints p50/p99 list latency, body size and process RSS.
// Run: node_modules/.bin/node bench/sandbox-scale.ts [--count 10000] [--lists 20]

import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { startSandbox } from '@cluster-gateway/sandbox';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '10000' }, lists: { type: 'string', default: '20' } },
});
const count = Number(values.count);
const lists = Number(values.lists);

const sandbox = await startSandbox({ clusters: ['scale'] });
const c = sandbox.clusters.get('scale')!;
const agent = new Agent({
  connect: { ca: c.ca.cert, cert: c.admin.cert, key: c.admin.key },
  allowH2: true,
  connections: 8,
});
const base = c.url;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const r = await request(base + path, {
    method: method as 'GET',
    dispatcher: agent,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.statusCode, text: await r.body.text() };
}

await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'scale' } });
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (next < count) {
      const i = next++;
      const r = await call('POST', '/api/v1/namespaces/scale/secrets', {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: `cluster-${i}`,
          labels: { 'cluster.core.oam.dev/cluster-credential-type': 'ServiceAccountToken' },
        },
        data: {
          endpoint: Buffer.from(`https://10.0.${i >> 8}.${i & 255}:6443`).toString('base64'),
          token: Buffer.from('x'.repeat(64)).toString('base64'),
        },
      });
      if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${r.text}`);
    }
  }),
);
const createMs = performance.now() - t0;

const times: number[] = [];
let bytes = 0;
for (let i = 0; i < lists; i++) {
  const s = performance.now();
  const r = await call('GET', '/api/v1/namespaces/scale/secrets');
  times.push(performance.now() - s);
  bytes = r.text.length;
  if (r.status !== 200) throw new Error(`list: ${r.status}`);
}
times.sort((a, b) => a - b);
const pct = (p: number): number => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!;
const sel = performance.now();
await call(
  'GET',
  '/api/v1/namespaces/scale/secrets?labelSelector=cluster.core.oam.dev%2Fcluster-credential-type&limit=500',
);
const pageMs = performance.now() - sel;

process.stdout.write(
  JSON.stringify(
    {
      secrets: count,
      createSeconds: +(createMs / 1000).toFixed(2),
      listP50Ms: +pct(50).toFixed(1),
      listP99Ms: +pct(99).toFixed(1),
      listBodyMiB: +(bytes / 1048576).toFixed(2),
      firstPageOf500Ms: +pageMs.toFixed(1),
      rssMiB: +(process.memoryUsage().rss / 1048576).toFixed(0),
    },
    null,
    2,
  ) + '\n',
);
await agent.close();
await sandbox.stop();
