// The global identity-exchange rules of `--cluster-gateway-proxy-config` (upstream §5.1), kept current
// while the gateway runs. Upstream reads the file once and dies on a bad one; here start-up is as
// strict (a missing or invalid file is an error), and afterwards the file is hot-reloaded: a valid new
// version replaces the rules at once, an invalid or unreadable one keeps the last good rules and is
// logged with every problem, so a bad edit never takes identity mapping down.
// Change detection watches the file's directory (editors and kubelet ConfigMap mounts replace the file
// by rename or symlink swap, which a watch on the file itself misses) and polls as a fallback (fs.watch
// is unreliable on network and overlay file systems); both only schedule a debounced re-read, and a
// re-read that finds identical content changes nothing.

import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { parseProxyConfiguration, ProxyConfigurationError } from '../registry/proxy-config.ts';
import type { ExchangeRule } from '../registry/types.ts';
import { webhookURLProblem } from './identity-webhook.ts';

export interface ProxyConfigFileLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ProxyConfigFileOptions {
  /** fallback poll interval (default 5 s; 0 = no polling) */
  pollIntervalMs?: number;
  /** quiet time before a re-read after a change event (default 200 ms) */
  debounceMs?: number;
  /** false = load once, no watching (default true) */
  watch?: boolean;
  /** false = poll only, no fs.watch (default true; tests prove the fallback with it) */
  fsWatch?: boolean;
  /** called after each successful reload with the new rules */
  onReload?: (rules: readonly ExchangeRule[]) => void;
}

interface Parsed {
  rules: ExchangeRule[];
  warnings: string[];
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Parse strictly; problems come back as a list (the whole file is refused when there is any). */
function parse(text: string): { ok: true; parsed: Parsed } | { ok: false; problems: string[] } {
  try {
    const parsed = parseProxyConfiguration(text, { strict: true });
    const warnings = [...parsed.warnings];
    parsed.rules.forEach((r, i) => {
      if (r.type !== 'ExternalIdentityExchanger') return;
      // not fatal: the upstream example carries a plain-http URL; matching requests answer 503
      const problem = r.url ? webhookURLProblem(r.url) : 'no url';
      if (problem) warnings.push(`spec.clientIdentityExchanger.rules[${String(i)}] (${r.name}).url: ${problem}`);
    });
    return { ok: true, parsed: { rules: parsed.rules, warnings } };
  } catch (e) {
    if (e instanceof ProxyConfigurationError) return { ok: false, problems: e.problems };
    return { ok: false, problems: [errorText(e)] };
  }
}

export class ProxyConfigFile {
  readonly path: string;
  readonly #log: ProxyConfigFileLogger;
  readonly #o: ProxyConfigFileOptions;
  #rules: ExchangeRule[];
  #content: string;
  /** the last refused content or read error, so polling does not repeat the same warning */
  #lastProblem: string | undefined;
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;
  #again = false;
  #closed = false;

  private constructor(
    path: string,
    content: string,
    parsed: Parsed,
    log: ProxyConfigFileLogger,
    o: ProxyConfigFileOptions,
  ) {
    this.path = path;
    this.#content = content;
    this.#rules = parsed.rules;
    this.#log = log;
    this.#o = o;
  }

  /** Read and validate the file; throws when it cannot be read or is invalid (fatal at start-up). */
  static async load(
    path: string,
    logger: ProxyConfigFileLogger,
    opts: ProxyConfigFileOptions = {},
  ): Promise<ProxyConfigFile> {
    const abs = resolve(path);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (e) {
      throw new Error(`--cluster-gateway-proxy-config: cannot read ${path}: ${errorText(e)}`, { cause: e });
    }
    const r = parse(text);
    if (!r.ok) {
      throw new Error(`--cluster-gateway-proxy-config: ${path} is invalid: ${r.problems.join('; ')}`);
    }
    for (const w of r.parsed.warnings) logger.warn({ path: abs }, `--cluster-gateway-proxy-config: ${w}`);
    const f = new ProxyConfigFile(abs, text, r.parsed, logger, opts);
    logger.info({ path: abs, rules: r.parsed.rules.length }, 'loaded the global identity exchange rules');
    if (opts.watch ?? true) f.#startWatching();
    return f;
  }

  /** The current global rules (the last valid version of the file). */
  rules(): ExchangeRule[] {
    return this.#rules;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearInterval(this.#poll);
    clearTimeout(this.#debounce);
  }

  #startWatching(): void {
    if (this.#o.fsWatch ?? true) this.#watchDirectory();
    const every = this.#o.pollIntervalMs ?? 5_000;
    if (every > 0) {
      this.#poll = setInterval(() => {
        this.#schedule();
      }, every);
      this.#poll.unref();
    }
  }

  #watchDirectory(): void {
    try {
      const name = basename(this.path);
      // the directory, not the file: renames and symlink swaps replace the file's inode
      this.#watcher = watch(dirname(this.path), { persistent: false }, (_event, changed) => {
        // kubelet mounts swap a `..data` symlink: any entry may concern us, so only skip clear misses
        if (changed && changed !== name && !changed.startsWith('..')) return;
        this.#schedule();
      });
      this.#watcher.on('error', (e) => {
        this.#log.warn({ path: this.path, err: errorText(e) }, 'watching the proxy config failed; polling only');
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (e) {
      this.#log.warn({ path: this.path, err: errorText(e) }, 'cannot watch the proxy config; polling only');
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#reload();
    }, this.#o.debounceMs ?? 200);
    this.#debounce.unref();
  }

  /** One re-read at a time; a trigger during a re-read runs another one after it. */
  #reload(): void {
    if (this.#reloading) {
      this.#again = true;
      return;
    }
    this.#reloading = this.#reloadOnce().finally(() => {
      this.#reloading = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.#reload();
      }
    });
  }

  async #reloadOnce(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      this.#refuse(
        `read:${errorText(e)}`,
        { err: errorText(e) },
        'cannot read the proxy config; keeping the last good rules',
      );
      return;
    }
    if (this.#closed) return;
    if (text === this.#content) {
      // back to the version in use: a later bad edit is worth a new warning
      this.#lastProblem = undefined;
      return;
    }
    if (text.trim() === '') {
      // most likely caught between truncate and write; clearing the rules takes an explicit `spec: {}`
      this.#refuse(
        'empty',
        {},
        'the proxy config is empty; keeping the last good rules (write `spec: {}` to clear them)',
      );
      return;
    }
    const r = parse(text);
    if (!r.ok) {
      this.#refuse(
        `content:${text}`,
        { problems: r.problems },
        'the changed proxy config is invalid; keeping the last good rules',
      );
      return;
    }
    this.#content = text;
    this.#rules = r.parsed.rules;
    this.#lastProblem = undefined;
    for (const w of r.parsed.warnings) this.#log.warn({ path: this.path }, `--cluster-gateway-proxy-config: ${w}`);
    this.#log.info({ path: this.path, rules: r.parsed.rules.length }, 'reloaded the global identity exchange rules');
    this.#o.onReload?.(this.#rules);
  }

  #refuse(key: string, fields: object, msg: string): void {
    if (this.#lastProblem === key) return;
    this.#lastProblem = key;
    this.#log.warn({ path: this.path, ...fields }, msg);
  }
}
