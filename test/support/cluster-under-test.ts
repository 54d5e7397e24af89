// The cluster a shared suite runs against: the in-repo sandbox by default (started in-process on
// loopback), or any real cluster when KUBECONFIG_UNDER_TEST points at a kubeconfig. Gives the suite
// a kubeconfig path, a `kubectl` runner bound to it (with its own discovery cache) and raw HTTPS.

import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { startSandbox, type Sandbox } from '@cluster-gateway/sandbox';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

export interface ClusterUnderTest {
  /** true when running against the sandbox (kubelet-free real clusters skip nothing else) */
  sandbox: boolean;
  kubeconfig: string;
  kc: KubeConfig;
  kubectl(args: string[], opts?: { stdin?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** kubectl that must succeed: returns stdout */
  k(args: string[], stdin?: string): Promise<string>;
  spawnKubectl(args: string[]): ChildProcessWithoutNullStreams;
  request(
    method: string,
    path: string,
    opts?: { body?: string | Buffer; headers?: Record<string, string>; anonymous?: boolean },
  ): Promise<HttpResult>;
  /** a namespace unique to this run, created on demand */
  namespace(prefix: string): Promise<string>;
  close(): Promise<void>;
  raw: Sandbox | undefined;
}

export async function clusterUnderTest(): Promise<ClusterUnderTest> {
  const tmp = await mkdtemp(join(tmpdir(), 'cut-'));
  let sandbox: Sandbox | undefined;
  let kubeconfig = process.env.KUBECONFIG_UNDER_TEST;
  if (!kubeconfig) {
    // a small watch history so the suite can reach the 410 Expired case cheaply
    sandbox = await startSandbox({ clusters: ['hub'], dir: tmp, bookmarkIntervalMs: 1000, watchHistorySize: 300 });
    kubeconfig = sandbox.kubeconfigPath('hub');
  }
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const cacheDir = join(tmp, 'kube-cache');
  const env = { ...process.env, KUBECONFIG: kubeconfig, HOME: tmp };
  const created: string[] = [];

  const kubectl = (args: string[], opts: { stdin?: string; timeoutMs?: number } = {}): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const child = execFile(
        'kubectl',
        ['--cache-dir', cacheDir, ...args],
        { env, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === 'number'
              ? (err as { code: number }).code
              : 1
            : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (opts.stdin !== undefined) child.stdin?.end(opts.stdin);
      else child.stdin?.end();
    });

  const cut: ClusterUnderTest = {
    sandbox: !!sandbox,
    kubeconfig,
    kc,
    raw: sandbox,
    kubectl,
    async k(args, stdin) {
      const r = await kubectl(args, stdin === undefined ? {} : { stdin });
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    spawnKubectl(args) {
      return spawn('kubectl', ['--cache-dir', cacheDir, ...args], { env });
    },
    async request(method, path, opts = {}) {
      const cluster = kc.getCurrentCluster()!;
      const u = new URL(path, cluster.server);
      const reqOpts: https.RequestOptions = { method, headers: { ...(opts.headers ?? {}) } };
      if (!opts.anonymous) await kc.applyToHTTPSOptions(reqOpts);
      else reqOpts.ca = Buffer.from(cluster.caData ?? '', 'base64');
      if (opts.headers) Object.assign(reqOpts.headers!, opts.headers);
      return new Promise((resolve, reject) => {
        const req = https.request(u, { ...reqOpts, timeout: 30_000 }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.on('timeout', () => req.destroy(new Error('request timed out')));
        req.end(opts.body);
      });
    },
    async namespace(prefix) {
      const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
      await cut.k(['create', 'namespace', name]);
      created.push(name);
      return name;
    },
    async close() {
      for (const ns of created) await kubectl(['delete', 'namespace', ns, '--wait=false']);
      await sandbox?.stop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
  return cut;
}

export async function writeTemp(dir: string, name: string, data: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, data);
  return p;
}

/** Read lines from a child's stdout until `pred` holds for the collected lines (bounded in time). */
export function collectLines(
  child: ChildProcessWithoutNullStreams,
  pred: (lines: string[]) => boolean,
  timeoutMs = 20_000,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buf = '';
    let stderr = '';
    const timer = setTimeout(() => {
      reject(new Error(`timed out waiting for output; got:\n${lines.join('\n')}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts.filter((l) => l.trim() !== ''));
      if (pred(lines)) {
        clearTimeout(timer);
        resolve(lines);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (!pred(lines)) reject(new Error(`kubectl exited early; got:\n${lines.join('\n')}\nstderr: ${stderr}`));
    });
  });
}
