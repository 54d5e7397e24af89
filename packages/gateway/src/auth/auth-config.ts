// Whom the gateway trusts for client certificates and front-proxy headers: the client CA bundle
// (`client-ca-file`) and the requestheader settings, read from the hub's
// kube-system/extension-apiserver-authentication ConfigMap unless flags override them, and kept
// current while the gateway runs so a CA rotation on the hub needs no restart. This mirrors
// DelegatingAuthenticationOptions (lookup, --authentication-skip-lookup,
// --authentication-tolerate-lookup-failure) and kube's ConfigMap CA / requestheader controllers
// (a deleted ConfigMap disables what it provided: fail closed; unreadable content keeps the last good
// value).

import type { X509Certificate } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePemBundle } from './x509.ts';
import { errorMessage, hubErrorCode, type HubAuthApi } from './types.ts';

export const AUTH_CONFIGMAP_NAMESPACE = 'kube-system';
export const AUTH_CONFIGMAP_NAME = 'extension-apiserver-authentication';
const AUTH_READER_ROLE = 'extension-apiserver-authentication-reader';

export interface CABundle {
  pem: string;
  certs: X509Certificate[];
}

export interface RequestHeaderConfig {
  ca: CABundle;
  /** CNs allowed to assert identities; empty = any certificate signed by the CA */
  allowedNames: string[];
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

export interface AuthConfig {
  clientCA: CABundle | undefined;
  requestHeader: RequestHeaderConfig | undefined;
}

/** The --requestheader-* flags (kube's RequestHeaderAuthenticationOptions); `clientCA` is the PEM content. */
export interface RequestHeaderFlags {
  clientCA: string;
  allowedNames?: string[];
  usernameHeaders?: string[];
  uidHeaders?: string[];
  groupHeaders?: string[];
  extraHeaderPrefixes?: string[];
}

/** kube's flag defaults for the requestheader options */
export const REQUESTHEADER_DEFAULTS = {
  usernameHeaders: ['x-remote-user'],
  uidHeaders: [] as string[],
  groupHeaders: ['x-remote-group'],
  extraHeaderPrefixes: ['x-remote-extra-'],
};

export function caBundle(pem: string): CABundle {
  return { pem, certs: parsePemBundle(pem) };
}

/** Header names are matched case-insensitively; blank entries are a configuration error in kube. */
function headerList(list: readonly string[], what: string): string[] {
  return list.map((h) => {
    const t = h.trim();
    if (!t) throw new Error(`empty header ${JSON.stringify(h)} in ${what}`);
    return t.toLowerCase();
  });
}

export function requestHeaderFromFlags(flags: RequestHeaderFlags): RequestHeaderConfig {
  return {
    ca: caBundle(flags.clientCA),
    allowedNames: [...(flags.allowedNames ?? [])],
    usernameHeaders: headerList(flags.usernameHeaders ?? REQUESTHEADER_DEFAULTS.usernameHeaders, 'username headers'),
    uidHeaders: headerList(flags.uidHeaders ?? REQUESTHEADER_DEFAULTS.uidHeaders, 'uid headers'),
    groupHeaders: headerList(flags.groupHeaders ?? REQUESTHEADER_DEFAULTS.groupHeaders, 'group headers'),
    extraHeaderPrefixes: headerList(
      flags.extraHeaderPrefixes ?? REQUESTHEADER_DEFAULTS.extraHeaderPrefixes,
      'extra header prefixes',
    ),
  };
}

/** jsonDeserializeStringSlice: absent = empty; anything but a JSON array of strings is an error. */
function stringSlice(data: Record<string, string>, key: string): string[] {
  const raw = data[key];
  if (raw === undefined || raw === '') return [];
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${key}: not a JSON array of strings`, { cause: e });
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    throw new Error(`${key}: not a JSON array of strings`);
  }
  return v;
}

export interface ParsedConfigMap {
  /** undefined when the key is absent or empty */
  clientCA: CABundle | undefined;
  requestHeader: RequestHeaderConfig | undefined;
  /** parts that could not be read; their previous value should be kept */
  errors: { part: 'clientCA' | 'requestHeader'; message: string }[];
}

/** Reads the extension-apiserver-authentication data as kube's delegated authentication does. */
export function parseAuthConfigMap(data: Record<string, string> | undefined): ParsedConfigMap {
  const out: ParsedConfigMap = { clientCA: undefined, requestHeader: undefined, errors: [] };
  if (!data) return out;
  const clientPem = data['client-ca-file'];
  if (clientPem) {
    try {
      out.clientCA = caBundle(clientPem);
    } catch (e) {
      out.errors.push({ part: 'clientCA', message: `client-ca-file: ${errorMessage(e)}` });
    }
  }
  const rhPem = data['requestheader-client-ca-file'];
  if (rhPem) {
    try {
      out.requestHeader = {
        ca: caBundle(rhPem),
        allowedNames: stringSlice(data, 'requestheader-allowed-names'),
        usernameHeaders: headerList(
          stringSlice(data, 'requestheader-username-headers'),
          'requestheader-username-headers',
        ),
        uidHeaders: headerList(stringSlice(data, 'requestheader-uid-headers'), 'requestheader-uid-headers'),
        groupHeaders: headerList(stringSlice(data, 'requestheader-group-headers'), 'requestheader-group-headers'),
        extraHeaderPrefixes: headerList(
          stringSlice(data, 'requestheader-extra-headers-prefix'),
          'requestheader-extra-headers-prefix',
        ),
      };
    } catch (e) {
      out.errors.push({ part: 'requestHeader', message: `requestheader: ${errorMessage(e)}` });
    }
  }
  return out;
}

export type AuthConfigLogLevel = 'info' | 'warn' | 'error';

export interface DynamicAuthConfigOptions {
  /** the hub (authentication kubeconfig); undefined = no lookup is possible */
  hub?: HubAuthApi;
  /** --client-ca-file content: when set, the ConfigMap's client-ca-file is not used */
  clientCA?: string;
  /** --requestheader-* flags: when set, the ConfigMap's requestheader keys are not used */
  requestHeader?: RequestHeaderFlags;
  /** --authentication-skip-lookup */
  skipLookup?: boolean;
  /** --authentication-tolerate-lookup-failure */
  tolerateLookupFailure?: boolean;
  /** how often the ConfigMap is re-read (default 10s) */
  pollIntervalMs?: number;
  /** deadline of one ConfigMap read (kube: 10s) */
  lookupTimeoutMs?: number;
  log?: (level: AuthConfigLogLevel, message: string, err?: unknown) => void;
}

/**
 * The live AuthConfig. `current` is what authenticators read on every request; `reload` applies new
 * ConfigMap data (the lead may feed it from a watch); `start` does the start-up lookup with kube's
 * skip/tolerate semantics and then polls until the signal aborts.
 */
export class DynamicAuthConfig {
  readonly #opts: DynamicAuthConfigOptions;
  readonly #flagClientCA: CABundle | undefined;
  readonly #flagRequestHeader: RequestHeaderConfig | undefined;
  #fromCluster: { clientCA: CABundle | undefined; requestHeader: RequestHeaderConfig | undefined } = {
    clientCA: undefined,
    requestHeader: undefined,
  };
  #current: AuthConfig;
  #lastResourceVersion: string | undefined;
  readonly #listeners = new Set<(c: AuthConfig) => void>();

  /** Throws when flag-provided CA bundles do not parse (a start-up configuration error). */
  constructor(opts: DynamicAuthConfigOptions = {}) {
    this.#opts = opts;
    this.#flagClientCA = opts.clientCA ? caBundle(opts.clientCA) : undefined;
    this.#flagRequestHeader = opts.requestHeader ? requestHeaderFromFlags(opts.requestHeader) : undefined;
    this.#current = this.#compose();
  }

  get current(): AuthConfig {
    return this.#current;
  }

  /** Called with the new config whenever it changes. Returns an unsubscribe function. */
  onChange(listener: (c: AuthConfig) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #log(level: AuthConfigLogLevel, message: string, err?: unknown): void {
    this.#opts.log?.(level, message, err);
  }

  #compose(): AuthConfig {
    return {
      clientCA: this.#flagClientCA ?? this.#fromCluster.clientCA,
      requestHeader: this.#flagRequestHeader ?? this.#fromCluster.requestHeader,
    };
  }

  /** True when both parts come from flags, so the ConfigMap is never read (as kube). */
  get needsLookup(): boolean {
    return !(this.#flagClientCA && this.#flagRequestHeader) && !this.#opts.skipLookup;
  }

  /**
   * Applies ConfigMap data (undefined = the ConfigMap does not exist: what it provided is dropped).
   * Parts that do not parse keep their previous value; their problems are returned and logged.
   */
  reload(data: Record<string, string> | undefined): { changed: boolean; errors: string[] } {
    const parsed = parseAuthConfigMap(data);
    const next = { ...this.#fromCluster };
    const bad = new Set(parsed.errors.map((e) => e.part));
    if (!bad.has('clientCA')) next.clientCA = parsed.clientCA;
    if (!bad.has('requestHeader')) next.requestHeader = parsed.requestHeader;
    for (const e of parsed.errors)
      this.#log(
        'error',
        `ignoring unreadable ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME} content, keeping the previous value: ${e.message}`,
      );
    const changed = !sameSource(next, this.#fromCluster);
    this.#fromCluster = next;
    if (changed) {
      this.#current = this.#compose();
      for (const l of this.#listeners) l(this.#current);
    }
    return { changed, errors: parsed.errors.map((e) => e.message) };
  }

  /** One read of the ConfigMap; returns false when the hub could not be asked. */
  async refresh(signal?: AbortSignal): Promise<boolean> {
    const hub = this.#opts.hub;
    if (!hub) return false;
    const timeout = AbortSignal.timeout(this.#opts.lookupTimeoutMs ?? 10_000);
    const cm = await hub.getConfigMap(
      AUTH_CONFIGMAP_NAMESPACE,
      AUTH_CONFIGMAP_NAME,
      signal ? AbortSignal.any([signal, timeout]) : timeout,
    );
    const rv = cm?.metadata?.resourceVersion;
    if (cm && rv !== undefined && rv === this.#lastResourceVersion) return true;
    this.#lastResourceVersion = rv;
    this.reload(cm?.data);
    return true;
  }

  /**
   * The start-up lookup (DelegatingAuthenticationOptions.ApplyTo) followed by polling in the
   * background until `signal` aborts. Rejects only when the lookup fails and failures are not
   * tolerated; the message is kube's.
   */
  async start(signal: AbortSignal): Promise<void> {
    if (!this.needsLookup) {
      if (this.#opts.skipLookup) this.#log('info', 'skipping the in-cluster authentication configuration lookup');
      return;
    }
    if (!this.#opts.hub) {
      if (!this.#flagClientCA)
        this.#log(
          'warn',
          `No authentication-kubeconfig provided in order to lookup client-ca-file in configmap/${AUTH_CONFIGMAP_NAME} in ${AUTH_CONFIGMAP_NAMESPACE}, so client certificate authentication won't work.`,
        );
      if (!this.#flagRequestHeader)
        this.#log(
          'warn',
          `No authentication-kubeconfig provided in order to lookup requestheader-client-ca-file in configmap/${AUTH_CONFIGMAP_NAME} in ${AUTH_CONFIGMAP_NAMESPACE}, so request-header client certificate authentication won't work.`,
        );
      return;
    }
    try {
      await this.refresh(signal);
    } catch (e) {
      if (signal.aborted) return;
      if (hubErrorCode(e) === 403) {
        this.#log(
          'warn',
          `Unable to get configmap/${AUTH_CONFIGMAP_NAME} in ${AUTH_CONFIGMAP_NAMESPACE}.  Usually fixed by 'kubectl create rolebinding -n ${AUTH_CONFIGMAP_NAMESPACE} ROLEBINDING_NAME --role=${AUTH_READER_ROLE} --serviceaccount=YOUR_NS:YOUR_SA'`,
        );
      }
      if (!this.#opts.tolerateLookupFailure) {
        throw new Error(`unable to load configmap based request-header-client-ca-file: ${errorMessage(e)}`, {
          cause: e,
        });
      }
      this.#log('warn', `Error looking up in-cluster authentication configuration: ${errorMessage(e)}`, e);
      this.#log('warn', 'Continuing without authentication configuration. This may treat all requests as anonymous.');
      this.#log(
        'warn',
        'To require authentication configuration lookup to succeed, set --authentication-tolerate-lookup-failure=false',
      );
    }
    void this.#poll(signal);
  }

  async #poll(signal: AbortSignal): Promise<void> {
    const every = this.#opts.pollIntervalMs ?? 10_000;
    while (!signal.aborted) {
      try {
        await sleep(every, undefined, { signal });
      } catch {
        return;
      }
      try {
        await this.refresh(signal);
      } catch (e) {
        if (signal.aborted) return;
        this.#log(
          'warn',
          `re-reading ${AUTH_CONFIGMAP_NAMESPACE}/${AUTH_CONFIGMAP_NAME} failed, keeping the last configuration: ${errorMessage(e)}`,
          e,
        );
      }
    }
  }
}

function sameSource(
  a: { clientCA: CABundle | undefined; requestHeader: RequestHeaderConfig | undefined },
  b: { clientCA: CABundle | undefined; requestHeader: RequestHeaderConfig | undefined },
): boolean {
  if (a.clientCA?.pem !== b.clientCA?.pem) return false;
  const x = a.requestHeader;
  const y = b.requestHeader;
  if (!x || !y) return x === y;
  return (
    x.ca.pem === y.ca.pem &&
    JSON.stringify([x.allowedNames, x.usernameHeaders, x.uidHeaders, x.groupHeaders, x.extraHeaderPrefixes]) ===
      JSON.stringify([y.allowedNames, y.usernameHeaders, y.uidHeaders, y.groupHeaders, y.extraHeaderPrefixes])
  );
}
