import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyConfigFile, type ProxyConfigFileOptions } from './proxy-config-file.ts';

const SAMPLE = new URL('../../../../../shared/samples/upstream/client-identity-exchanger-config.yaml', import.meta.url);

function doc(rules: string): string {
  return `apiVersion: cluster.core.oam.dev/v1alpha1
kind: ClusterGatewayProxyConfiguration
spec:
  clientIdentityExchanger:
    rules:
${rules}`;
}

const PRIVILEGED = doc(`      - name: super-user
        type: PrivilegedIdentityExchanger
        source: { group: sudoer }
`);
const MAPPING = doc(`      - name: mapping
        type: StaticMappingIdentityExchanger
        source: { user: alice }
        target: { user: ops, groups: [team-a], uid: "7" }
`);
const INVALID = doc(`      - name: broken
        type: StaticMappingIdentityExchanger
        source: { userPattern: "(" }
      - name: typo
        type: PrivilegedIdentityExchangr
        source: { user: bob }
`);

class Log {
  lines: { level: 'info' | 'warn'; obj: object; msg: string }[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  warnings(): string[] {
    return this.lines.filter((l) => l.level === 'warn').map((l) => `${l.msg} ${JSON.stringify(l.obj)}`);
  }
}

const open: ProxyConfigFile[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const f of open.splice(0)) f.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function setup(
  content: string,
  opts: ProxyConfigFileOptions = {},
): Promise<{ file: ProxyConfigFile; path: string; dir: string; log: Log }> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-proxy-config-'));
  dirs.push(dir);
  const path = join(dir, 'config.yaml');
  await writeFile(path, content);
  const log = new Log();
  const file = await ProxyConfigFile.load(path, log, { debounceMs: 20, pollIntervalMs: 100, ...opts });
  open.push(file);
  return { file, path, dir, log };
}

async function until(what: string, cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const names = (f: ProxyConfigFile): string[] => f.rules().map((r) => r.name);

test('load: the upstream sample', async () => {
  const { file, log } = await setup(await readFile(SAMPLE, 'utf8'), { watch: false });
  assert.deepEqual(file.rules(), [
    { name: 'super-user', type: 'PrivilegedIdentityExchanger', source: { group: 'sudoer' } },
    {
      name: 'mapping',
      type: 'StaticMappingIdentityExchanger',
      source: { user: 'user-12345', cluster: 'cluster-34567' },
      target: { user: 'user-34567' },
    },
  ]);
  assert.deepEqual(log.warnings(), []);
  assert.equal(log.lines.filter((l) => l.level === 'info').length, 1);
});

test('load: a missing file is an error', async () => {
  await assert.rejects(
    ProxyConfigFile.load(join(tmpdir(), 'does-not-exist', 'config.yaml'), new Log()),
    /--cluster-gateway-proxy-config: cannot read .*config\.yaml: .*ENOENT/,
  );
});

test('load: an invalid file is an error listing every problem', async () => {
  await assert.rejects(setup(INVALID), (e) => {
    assert.ok(e instanceof Error);
    assert.match(e.message, /is invalid: /);
    assert.match(e.message, /rules\[0\] \(broken\)\.source\.userPattern: invalid regular expression/);
    assert.match(e.message, /rules\[1\] \(typo\)\.type: unknown exchanger type/);
    return true;
  });
  await assert.rejects(setup('spec: ['), /not valid YAML or JSON/);
});

test('load: an External rule with a refused url is kept with a warning', async () => {
  const { file, log } = await setup(
    doc(`      - name: future
        type: ExternalIdentityExchanger
        source: { user: bob }
        url: http://1.2.3.4:5000
`),
    { watch: false },
  );
  assert.deepEqual(names(file), ['future']);
  assert.match(log.warnings().join('\n'), /rules\[0\] \(future\)\.url: http is allowed only for loopback/);
});

test('hot reload: an in-place edit replaces the rules', async () => {
  const reloaded: string[][] = [];
  const { file, path, log } = await setup(PRIVILEGED, { onReload: (r) => reloaded.push(r.map((x) => x.name)) });
  assert.deepEqual(names(file), ['super-user']);
  await writeFile(path, MAPPING);
  await until('the mapping rule', () => names(file)[0] === 'mapping');
  assert.deepEqual(file.rules()[0]?.target, { user: 'ops', groups: ['team-a'], uid: '7' });
  assert.ok(log.lines.some((l) => l.msg === 'reloaded the global identity exchange rules'));
  // polling finds identical content: no further reloads
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(reloaded, [['mapping']]);
});

test('hot reload: an atomic replace (rename over the file) is picked up', async () => {
  const { file, path, dir } = await setup(PRIVILEGED);
  const tmp = join(dir, '.config.yaml.tmp');
  await writeFile(tmp, MAPPING);
  await rename(tmp, path);
  await until('the mapping rule', () => names(file)[0] === 'mapping');
});

test('hot reload: polling alone notices a change (fs.watch unavailable)', async () => {
  const { file, path } = await setup(PRIVILEGED, { fsWatch: false });
  await writeFile(path, MAPPING);
  await until('the mapping rule', () => names(file)[0] === 'mapping');
});

test('hot reload: an invalid change keeps the last good rules and logs why, once', async () => {
  const { file, path, log } = await setup(PRIVILEGED);
  await writeFile(path, INVALID);
  await until('a warning', () => log.warnings().length > 0);
  // several polls later: still the old rules, still one warning
  await new Promise((r) => setTimeout(r, 350));
  assert.deepEqual(names(file), ['super-user']);
  const w = log.warnings();
  assert.equal(w.length, 1, w.join('\n'));
  assert.match(w[0]!, /the changed proxy config is invalid; keeping the last good rules/);
  assert.match(w[0]!, /\(broken\)\.source\.userPattern: invalid regular expression/);
  assert.match(w[0]!, /\(typo\)\.type: unknown exchanger type/);
  // a later valid version is taken
  await writeFile(path, MAPPING);
  await until('the mapping rule', () => names(file)[0] === 'mapping');
});

test('hot reload: a deleted file keeps the last good rules and logs it', async () => {
  const { file, path, log } = await setup(PRIVILEGED);
  await rm(path);
  await until('a warning', () => log.warnings().some((w) => w.includes('cannot read the proxy config')));
  assert.deepEqual(names(file), ['super-user']);
  await writeFile(path, MAPPING);
  await until('the mapping rule', () => names(file)[0] === 'mapping');
});

test('close stops reloading', async () => {
  const { file, path } = await setup(PRIVILEGED);
  file.close();
  await writeFile(path, MAPPING);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(names(file), ['super-user']);
});

test('hot reload: an empty file keeps the rules (mid-write); `spec: {}` clears them', async () => {
  const { file, path, log } = await setup(PRIVILEGED);
  await writeFile(path, '');
  await until('a warning', () => log.warnings().some((w) => w.includes('the proxy config is empty')));
  assert.deepEqual(names(file), ['super-user']);
  await writeFile(path, 'spec: {}\n');
  await until('no rules', () => file.rules().length === 0);
});
