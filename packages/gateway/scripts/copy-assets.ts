// Build step after `tsc -b`: copies the runtime files tsc does not emit (`.proto` definitions,
// JSON data read with `readFile`) from each package's `src/` into `dist/` at the same relative
// path, because the code finds them next to itself through `import.meta.url`. Test data stays out.
// Usage: node packages/gateway/scripts/copy-assets.ts <package dir>...

import { cp, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

const ASSET = /\.(proto|json)$/;
const SKIP_DIR = new Set(['testdata', 'node_modules']);

async function assets(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIR.has(e.name)) out.push(...(await assets(p)));
    } else if (ASSET.test(e.name)) out.push(p);
  }
  return out;
}

export async function copyAssets(pkgDir: string): Promise<number> {
  const src = join(pkgDir, 'src');
  const files = await assets(src);
  await Promise.all(files.map((f) => cp(f, join(pkgDir, 'dist', relative(src, f)))));
  return files.length;
}

if (import.meta.main) {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    process.stderr.write('usage: copy-assets.ts <package dir>...\n');
    process.exitCode = 2;
  } else {
    for (const d of dirs) process.stdout.write(`${d}: ${await copyAssets(d)} asset file(s) copied to dist/\n`);
  }
}
