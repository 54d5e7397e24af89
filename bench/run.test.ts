// Smoke test of `npm run bench`: one scenario with tiny counts must produce a well-formed JSON
// report and SVG. It asserts shape only, never timings (wall-clock limits belong to the bench).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from './run.ts';
import { percentile, summarize } from './stats.ts';
import { renderSvg } from './svg.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

test('percentile and summarize use nearest rank', () => {
  const cases: [number[], number, number][] = [
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 99, 4],
    [[5], 1, 5],
    [[], 50, NaN],
  ];
  for (const [xs, p, want] of cases) assert.deepEqual(percentile(xs, p), want, `${xs.join(',')} p${p}`);
  const s = summarize([3, 1, 2]);
  assert.equal(s.meanMs, 2);
  assert.equal(s.minMs, 1);
  assert.equal(s.maxMs, 3);
  assert.equal(s.sdMs, 1);
  assert.equal(summarize([]).count, 0);
});

test('renderSvg draws one box per mode and escapes labels', () => {
  const s = summarize([1, 2, 3]);
  const svg = renderSvg('a<b', [
    { group: 'g', mode: 'direct', s },
    { group: 'g', mode: 'gateway', s },
  ]);
  assert.match(svg, /^<svg /);
  assert.equal(svg.match(/<rect x=/g)?.length, 2);
  assert.match(svg, /a&lt;b/);
});

test('bench run --scenarios flow --samples 2 writes a well-formed report', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
  try {
    const json = join(dir, 'r.json');
    const svg = join(dir, 'r.svg');
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        [join(HERE, 'run.ts'), '--quick', '--scenarios', 'flow', '--samples', '2', '--json', json, '--svg', svg],
        { timeout: 120_000 },
        (err, _stdout, stderr) => {
          if (err) reject(new Error(`${err.message}\n${stderr}`));
          else resolve();
        },
      );
    });
    const rep = JSON.parse(await readFile(json, 'utf8')) as BenchReport;
    assert.deepEqual(Object.keys(rep.scenarios).sort(), ['flow-cud', 'flow-get', 'flow-list']);
    for (const sc of Object.values(rep.scenarios)) {
      assert.deepEqual(
        sc.modes.map((m) => m.mode),
        ['direct', 'gateway', 'hub', 'konnectivity', 'kubectl-proxy'],
      );
      for (const m of sc.modes) {
        assert.equal(m.count, 2);
        for (const k of ['meanMs', 'p50Ms', 'p99Ms', 'rps', 'ratioToDirect'] as const)
          assert.ok(typeof m[k] === 'number' && m[k] > 0, `${m.mode}.${k}`);
      }
    }
    assert.ok(rep.targets.length >= 5);
    for (const t of rep.targets) assert.equal(typeof t.pass, 'boolean');
    assert.match(await readFile(svg, 'utf8'), /^<svg [^]*<\/svg>\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
