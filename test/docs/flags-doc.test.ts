// docs/flags.md is generated from the flag table (packages/gateway/scripts/gen-flags-doc.ts): this
// regenerates it in memory and fails when the committed file is stale, and checks that the
// hand-kept parts of the generator (upstream list, effect notes) only name flags that exist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { FLAGS, apiserverHelp } from '../../packages/gateway/src/config/flags.ts';
import { GATE_NAMES } from '../../packages/gateway/src/config/featuregates.ts';
import {
  EFFECT_NOTES,
  FLAGS_DOC,
  UPSTREAM_FLAGS,
  effectHere,
  isUpstreamFlag,
  renderFlagsDoc,
} from '../../packages/gateway/scripts/gen-flags-doc.ts';

const names = new Set(FLAGS.map((f) => f.name));

test('docs/flags.md is current (run npm run docs:flags after changing a flag)', async () => {
  const committed = await readFile(FLAGS_DOC, 'utf8');
  assert.equal(committed, renderFlagsDoc(), `${FLAGS_DOC} is stale: run npm run docs:flags`);
});

test('every flag and every gate has a row', () => {
  const doc = renderFlagsDoc();
  for (const f of FLAGS) {
    const cell = f.name === 'v' ? '| `-v`, `--v` |' : `| \`--${f.name}\` |`;
    assert.ok(doc.includes(cell), `no row for ${f.name}`);
  }
  for (const g of GATE_NAMES) assert.ok(doc.includes(`| \`${g}\` |`), `no row for gate ${g}`);
});

test('every flag --help lists is documented', () => {
  const doc = renderFlagsDoc();
  const helped = [...apiserverHelp().matchAll(/^ {6}--([a-z0-9-]+)/gm)].map((m) => m[1]!);
  assert.ok(helped.length > 50);
  for (const h of helped) assert.ok(doc.includes(`\`--${h}\``), `--${h} is in --help but not in the doc`);
});

test('hand-kept lists name only existing flags', () => {
  for (const n of UPSTREAM_FLAGS) assert.ok(names.has(n), `UPSTREAM_FLAGS names unknown flag ${n}`);
  for (const n of Object.keys(EFFECT_NOTES)) assert.ok(names.has(n), `EFFECT_NOTES names unknown flag ${n}`);
});

test('upstream column and effect cells', () => {
  const byName = (n: string) => {
    const f = FLAGS.find((s) => s.name === n);
    assert.ok(f, n);
    return f;
  };
  const cases: [string, boolean, RegExp][] = [
    ['secret-namespace', true, /as upstream/],
    ['expose-credentials', false, /^new/],
    ['log-format', false, /^new/],
    ['etcd-servers', true, /no effect/],
    ['vmodule', true, /ignored/],
    ['virtual-clutser-with-control-plane', true, /no effect/],
    ['profiling', true, /no profiling endpoints/],
  ];
  for (const [n, upstream, effect] of cases) {
    const f = byName(n);
    assert.equal(isUpstreamFlag(f), upstream, n);
    assert.match(effectHere(f), effect, n);
  }
});

test('table cells cannot break the markdown table', () => {
  for (const line of renderFlagsDoc().split('\n')) {
    if (!line.startsWith('| `')) continue;
    // unescaped pipes only as column separators
    const cols = line.replaceAll('\\|', '').split('|').length - 2;
    assert.ok(cols === 6 || cols === 4, `bad row: ${line}`);
  }
});
