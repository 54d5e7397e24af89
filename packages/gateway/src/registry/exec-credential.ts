// Dynamic (exec plugin) credentials, upstream §2.5: the Secret's `exec` key holds a kubeconfig
// ExecConfig; running it yields an `ExecCredential` (token or client cert/key). Upstream runs the
// command inside every get/list conversion, caches by cluster name only (editing the config keeps
// the old credential) and only caches credentials that expire. Here the command runs lazily (when a
// request needs the credential), single-flight per cluster, with a global concurrency bound; the
// result is cached by cluster + a hash of the config until one minute before it expires, or, without
// an expiry, until the config changes or the proxy calls `invalidate` after a 401 from the cluster
// (client-go's exec authenticator does the same refresh on 401). Failures are cached for a few
// seconds so a broken plugin is not run for every request. The error strings are upstream's.

import { spawn } from 'node:child_process';
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { z } from 'zod';
import type { ExecConfig } from './types.ts';

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;

/** An exec-credential failure; the message is upstream's wording, `stderr` is for debugging only. */
export class ExecCredentialError extends Error {
  /** the tail of the plugin's stderr (may be empty); never put it in client-visible messages unreviewed */
  readonly stderr: string;
  constructor(message: string, opts: { stderr?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ExecCredentialError';
    this.stderr = opts.stderr ?? '';
  }
}

const execConfigSchema = z.object({
  apiVersion: z.string().optional(),
  command: z.string().optional(),
  args: z.array(z.string()).nullish(),
  env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
  // upstream ignores interactiveMode (the gateway never has a terminal); kept for the hash only
  interactiveMode: z.string().optional(),
  provideClusterInfo: z.boolean().optional(),
});

function issuePath(path: readonly PropertyKey[]): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
}

/** Validate an already-decoded exec config; throws ExecCredentialError with upstream's wording. */
export function validateExecConfig(value: unknown): ExecConfig {
  if (value === undefined || value === null) throw new ExecCredentialError('exec config not provided');
  const r = execConfigSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ExecCredentialError(
      `failed to decode exec config JSON from secret data: ${issuePath(i.path) || '<root>'}: ${i.message}`,
      { cause: r.error },
    );
  }
  const c = r.data;
  if (!c.command) throw new ExecCredentialError('missing "command" property on exec config object');
  const apiVersion = c.apiVersion ?? '';
  if (!(EXEC_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new ExecCredentialError(`exec plugin: invalid apiVersion ${JSON.stringify(apiVersion)}`);
  }
  const out: ExecConfig = { apiVersion, command: c.command };
  if (c.args) out.args = [...c.args];
  if (c.env) out.env = c.env.map((e) => ({ name: e.name, value: e.value }));
  if (c.interactiveMode !== undefined) out.interactiveMode = c.interactiveMode;
  if (c.provideClusterInfo !== undefined) out.provideClusterInfo = c.provideClusterInfo;
  return out;
}

/** Parse the Secret's `exec` data value (JSON text). */
export function parseExecConfig(text: string | undefined): ExecConfig {
  if (text === undefined) throw new ExecCredentialError('missing secret data key: exec');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ExecCredentialError(
      `failed to decode exec config JSON from secret data: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ExecCredentialError('failed to decode exec config JSON from secret data: not a JSON object');
  }
  return validateExecConfig(value);
}

/** What the cluster looks like to a plugin with `provideClusterInfo: true` (ExecCredentialSpec.cluster). */
export interface ExecClusterInfo {
  server: string;
  tlsServerName?: string;
  insecureSkipTLSVerify?: boolean;
  certificateAuthorityData?: Buffer;
  proxyURL?: string;
}

export interface IssuedCredential {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  expiresAt?: Date;
}

/** The `KUBERNETES_EXEC_INFO` value client-go passes (kind, apiVersion, spec{cluster?, interactive}). */
export function execInfo(exec: ExecConfig, cluster?: ExecClusterInfo): string {
  const spec: Record<string, unknown> = {};
  if (exec.provideClusterInfo && cluster) {
    const c: Record<string, unknown> = { server: cluster.server };
    if (cluster.tlsServerName) c['tls-server-name'] = cluster.tlsServerName;
    if (cluster.insecureSkipTLSVerify) c['insecure-skip-tls-verify'] = true;
    if (cluster.certificateAuthorityData?.length) {
      c['certificate-authority-data'] = cluster.certificateAuthorityData.toString('base64');
    }
    if (cluster.proxyURL) c['proxy-url'] = cluster.proxyURL;
    spec.cluster = c;
  }
  spec.interactive = false;
  return JSON.stringify({ kind: 'ExecCredential', apiVersion: exec.apiVersion, spec }) + '\n';
}

const execCredentialSchema = z.object({
  kind: z.string().optional(),
  apiVersion: z.string().optional(),
  status: z
    .object({
      token: z.string().optional(),
      clientCertificateData: z.string().optional(),
      clientKeyData: z.string().optional(),
      expirationTimestamp: z.string().nullish(),
    })
    .nullish(),
});

/** Decode and check a plugin's stdout, as client-go's exec authenticator does. */
export function decodeExecCredential(stdout: string, exec: ExecConfig): IssuedCredential {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch (e) {
    // the parser's message can quote stdout, which may hold a token: keep only its first words
    throw new ExecCredentialError('decoding stdout: output is not valid JSON', { cause: e });
  }
  const r = execCredentialSchema.safeParse(value);
  if (!r.success || typeof value !== 'object' || value === null || Array.isArray(value)) {
    const i = r.success ? undefined : r.error.issues[0];
    throw new ExecCredentialError(
      `decoding stdout: ${i ? `${issuePath(i.path) || '<root>'}: ${i.message}` : 'not a JSON object'}`,
    );
  }
  const cred = r.data;
  if (!cred.kind) throw new ExecCredentialError(`decoding stdout: Object 'Kind' is missing`);
  if (!cred.apiVersion || !(EXEC_API_VERSIONS as readonly string[]).includes(cred.apiVersion)) {
    throw new ExecCredentialError(
      `decoding stdout: no kind ${JSON.stringify(cred.kind)} is registered for version ${JSON.stringify(cred.apiVersion ?? '')}`,
    );
  }
  if (cred.kind !== 'ExecCredential') {
    throw new ExecCredentialError(
      `decoding stdout: no kind ${JSON.stringify(cred.kind)} is registered for version ${JSON.stringify(cred.apiVersion)}`,
    );
  }
  if (cred.apiVersion !== exec.apiVersion) {
    throw new ExecCredentialError(
      `exec plugin is configured to use API version ${exec.apiVersion}, plugin returned version ${cred.apiVersion}`,
    );
  }
  const st = cred.status;
  if (!st) throw new ExecCredentialError("exec plugin didn't return a status field");
  const token = st.token ?? '';
  const certPEM = st.clientCertificateData ?? '';
  const keyPEM = st.clientKeyData ?? '';
  if (!token && !certPEM && !keyPEM) {
    throw new ExecCredentialError("exec plugin didn't return a token or cert/key pair");
  }
  if (!certPEM !== !keyPEM) throw new ExecCredentialError('exec plugin returned only certificate or key, not both');
  const out: IssuedCredential = {};
  if (token) out.token = token;
  if (certPEM) {
    try {
      const cert = new X509Certificate(certPEM);
      const key = createPrivateKey(keyPEM);
      if (!cert.checkPrivateKey(key)) throw new Error('private key does not match public key');
    } catch (e) {
      throw new ExecCredentialError(
        `failed parsing client key/certificate: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    out.cert = Buffer.from(certPEM);
    out.key = Buffer.from(keyPEM);
  }
  if (st.expirationTimestamp) {
    const t = Date.parse(st.expirationTimestamp);
    if (Number.isNaN(t)) {
      throw new ExecCredentialError(
        `decoding stdout: status.expirationTimestamp: invalid RFC3339 time ${JSON.stringify(st.expirationTimestamp)}`,
      );
    }
    out.expiresAt = new Date(t);
  }
  return out;
}

export interface ExecCredentialProviderOptions {
  /** per-run timeout; default 30 s */
  timeoutMs?: number;
  /** stdout limit; default 1 MiB */
  maxStdoutBytes?: number;
  /** a credential is refreshed this long before it expires; default 60 s (upstream's window) */
  expirySkewMs?: number;
  /** how long a failure is served from cache; default 5 s */
  errorTtlMs?: number;
  /** commands running at once across all clusters; default 8 */
  concurrency?: number;
  /** base environment of the plugin; default process.env */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

interface Entry {
  hash: string;
  inflight: Promise<IssuedCredential> | undefined;
  value: IssuedCredential | undefined;
  /** epoch ms until which `value` is served; Infinity without expiry */
  freshUntil: number;
  error: Error | undefined;
  errorUntil: number;
}

const STDERR_KEEP = 4096;

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** sha256 of the canonical JSON of an exec config: the cache is invalidated when the config changes. */
export function execConfigHash(exec: ExecConfig): string {
  return createHash('sha256').update(canonical(exec)).digest('hex');
}

export class ExecCredentialProvider {
  readonly #timeoutMs: number;
  readonly #maxStdout: number;
  readonly #skewMs: number;
  readonly #errorTtlMs: number;
  readonly #concurrency: number;
  readonly #env: NodeJS.ProcessEnv;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  #running = 0;
  readonly #queue: (() => void)[] = [];

  constructor(opts: ExecCredentialProviderOptions = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#maxStdout = opts.maxStdoutBytes ?? 1024 * 1024;
    this.#skewMs = opts.expirySkewMs ?? 60_000;
    this.#errorTtlMs = opts.errorTtlMs ?? 5_000;
    this.#concurrency = Math.max(1, opts.concurrency ?? 8);
    this.#env = opts.env ?? process.env;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * The credential for `clusterName`, running the plugin if nothing fresh is cached. Concurrent
   * callers share one run; `signal` only abandons this caller's wait (the shared run goes on, bounded
   * by the timeout). Rejects with ExecCredentialError.
   */
  async get(
    clusterName: string,
    exec: ExecConfig | undefined,
    signal?: AbortSignal,
    cluster?: ExecClusterInfo,
  ): Promise<IssuedCredential> {
    if (!clusterName) throw new ExecCredentialError('cluster name not provided');
    if (!exec) throw new ExecCredentialError('exec config not provided');
    signal?.throwIfAborted();
    const hash = execConfigHash(exec);
    let entry = this.#entries.get(clusterName);
    if (entry?.hash !== hash) {
      entry = { hash, inflight: undefined, value: undefined, freshUntil: 0, error: undefined, errorUntil: 0 };
      this.#entries.set(clusterName, entry);
    }
    const now = this.#now();
    if (entry.value && now < entry.freshUntil) return entry.value;
    if (entry.error && now < entry.errorUntil) throw entry.error;
    if (!entry.inflight) {
      const e = entry;
      const p = this.#limited(() => this.#run(validateExecConfig(exec), cluster)).then(
        (cred) => {
          if (this.#entries.get(clusterName) === e) {
            e.value = cred;
            e.freshUntil = cred.expiresAt ? cred.expiresAt.getTime() - this.#skewMs : Infinity;
            e.error = undefined;
          }
          return cred;
        },
        (err: unknown) => {
          const error = err instanceof Error ? err : new ExecCredentialError(String(err));
          if (this.#entries.get(clusterName) === e) {
            e.value = undefined;
            e.error = error;
            e.errorUntil = this.#now() + this.#errorTtlMs;
          }
          throw error;
        },
      );
      e.inflight = p;
      // every waiter may have gone away: the shared run must not become an unhandled rejection
      p.finally(() => {
        if (e.inflight === p) e.inflight = undefined;
      }).catch(() => undefined);
    }
    return signal ? abortable(entry.inflight!, signal) : entry.inflight!;
  }

  /** Forget the cluster's credential (after a 401 from the cluster, or when the cluster is removed). */
  invalidate(clusterName: string): void {
    this.#entries.delete(clusterName);
  }

  /** Number of clusters with a cache entry (for metrics and tests). */
  get size(): number {
    return this.#entries.size;
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrency) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      // hand the slot straight to the next waiter, or release it
      if (next) next();
      else this.#running--;
    }
  }

  #run(exec: ExecConfig, cluster: ExecClusterInfo | undefined): Promise<IssuedCredential> {
    const env: NodeJS.ProcessEnv = { ...this.#env };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = execInfo(exec, cluster);
    const cmd = exec.command;
    return new Promise<IssuedCredential>((resolve, reject) => {
      let child: ChildProcessByStdio<null, Readable, Readable>;
      try {
        // own process group, so that a timeout also kills what the plugin started (a grandchild that
        // keeps stdout open would otherwise hold the run until it exits)
        child = spawn(cmd, exec.args ?? [], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          shell: false,
          detached: process.platform !== 'win32',
          windowsHide: true,
        });
      } catch (e) {
        reject(startError(cmd, e));
        return;
      }
      const out: Buffer[] = [];
      let outLen = 0;
      let errTail = '';
      let failure: ExecCredentialError | undefined;
      let settled = false;
      const finish = (err: ExecCredentialError | undefined, value?: IssuedCredential): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(new ExecCredentialError(err.message, { stderr: errTail, cause: err.cause }));
        else resolve(value!);
      };
      const abort = (err: ExecCredentialError): void => {
        failure ??= err;
        killTree(child);
        child.stdout.destroy();
        child.stderr.destroy();
        finish(failure);
      };
      const timer = setTimeout(() => {
        abort(new ExecCredentialError(`exec: executable ${cmd} timed out after ${this.#timeoutMs / 1000}s`));
      }, this.#timeoutMs);
      child.stdout.on('data', (b: Buffer) => {
        outLen += b.length;
        if (outLen > this.#maxStdout) {
          abort(new ExecCredentialError(`exec: executable ${cmd} wrote more than ${this.#maxStdout} bytes to stdout`));
          return;
        }
        out.push(b);
      });
      child.stderr.on('data', (b: Buffer) => {
        errTail = (errTail + b.toString('utf8')).slice(-STDERR_KEEP);
      });
      child.on('error', (e) => {
        failure ??= startError(cmd, e);
      });
      child.on('close', (code, sig) => {
        if (failure) {
          finish(failure);
          return;
        }
        if (code !== 0) {
          const how = code === null ? `was killed by signal ${sig ?? 'unknown'}` : `failed with exit code ${code}`;
          finish(new ExecCredentialError(`exec: executable ${cmd} ${how}`));
          return;
        }
        try {
          finish(undefined, decodeExecCredential(Buffer.concat(out).toString('utf8'), exec));
        } catch (e) {
          finish(
            e instanceof ExecCredentialError
              ? e
              : new ExecCredentialError(`decoding stdout: ${String(e)}`, { cause: e }),
          );
        }
      });
    });
  }
}

function killTree(child: ChildProcess): void {
  try {
    if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // already gone
    child.kill('SIGKILL');
  }
}

function startError(cmd: string, e: unknown): ExecCredentialError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new ExecCredentialError(`exec: executable ${cmd} not found`, { cause: e });
  if (code === 'EACCES') return new ExecCredentialError(`exec: executable ${cmd} is not executable`, { cause: e });
  return new ExecCredentialError(
    `exec: executable ${cmd} could not be started: ${e instanceof Error ? e.message : String(e)}`,
    { cause: e },
  );
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
