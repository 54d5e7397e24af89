// Captures the protobuf request bodies real kubectl commands send and writes them as hex fixtures to
// packages/sandbox/src/protobuf/testdata/kubectl-bodies.json, for kube-protobuf.test.ts to decode.
// The commands are the table in src/protobuf/kubectl-commands.ts; each runs against the throwaway
// recorder in src/protobuf/capture.ts (no cluster needed).
//
//   cd /work/main && node_modules/.bin/node packages/sandbox/scripts/capture-kubectl-protobuf.ts [kubectl]

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { captureKubectl } from '../src/protobuf/capture.ts';
import { KUBECTL_COMMANDS } from '../src/protobuf/kubectl-commands.ts';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'src', 'protobuf', 'testdata', 'kubectl-bodies.json');
const kubectl = process.argv[2] ?? 'kubectl';
const version =
  /Client Version: (\S+)/.exec(execFileSync(kubectl, ['version', '--client'], { encoding: 'utf8' }))?.[1] ?? '';

const fixtures: Record<string, unknown>[] = [];
for (const cmd of KUBECTL_COMMANDS) {
  const { requests, stderr } = await captureKubectl(cmd.args, kubectl);
  const req = requests.find((r) => r.method === cmd.method && r.path.split('?')[0] === cmd.path);
  if (!req)
    throw new Error(
      `${cmd.name}: kubectl sent no ${cmd.method} ${cmd.path}; saw ${requests.map((r) => r.path).join(', ')}\n${stderr}`,
    );
  fixtures.push({
    name: cmd.name,
    kubectl: version,
    args: cmd.args,
    method: req.method,
    path: req.path,
    contentType: req.contentType,
    hex: req.body.toString('hex'),
  });
  console.log(`${cmd.name}: ${req.method} ${req.path} ${req.contentType} ${req.body.length} bytes`);
}
writeFileSync(out, `${JSON.stringify(fixtures, null, 2)}\n`);
console.log(`wrote ${out}`);
