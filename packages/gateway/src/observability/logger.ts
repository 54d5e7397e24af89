// The gateway's logger: pino, JSON by default or a small human-readable `text` format (no
// pino-pretty dependency), child loggers carrying `cluster`/`requestId`/`user`, and redaction.
// The gateway handles bearer tokens, client keys and kubeconfigs on every request, so redaction is
// two-layered: pino `redact` paths for the known field names, plus a scan of every logged value
// (message, bindings, nested objects, errors) that masks sensitive keys at any depth and anything
// that looks like a bearer/basic credential, a JWT or a PEM (or base64-encoded PEM) private key.

import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export const REDACTED = '[REDACTED]';

/** pino `redact` paths: the field names we know carry credentials. */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers["proxy-authorization"]',
  'req.headers["proxy-authorization"]',
  'token',
  '*.token',
  'bearerToken',
  '*.bearerToken',
  'password',
  '*.password',
  'privateKey',
  '*.privateKey',
  'tls.key',
  '*.tls.key',
  '["tls.key"]',
  '*["tls.key"]',
  '["client-key-data"]',
  '*["client-key-data"]',
  'cookie',
  '*.cookie',
  'headers.cookie',
  'req.headers.cookie',
  '["set-cookie"]',
  '*["set-cookie"]',
  'headers["set-cookie"]',
];

// Key names (lower-cased, separators removed) whose values are always masked, at any depth.
const SENSITIVE_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'token',
  'bearertoken',
  'accesstoken',
  'idtoken',
  'refreshtoken',
  'password',
  'privatekey',
  'clientkeydata',
  'keydata',
  'tlskey',
  'cookie',
  'setcookie',
  'clientsecret',
  'apikey',
  'xapikey',
]);

function normKey(k: string): string {
  return k.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function isSensitiveKey(key: string, parentKey: string | undefined, siblings: object): boolean {
  const n = normKey(key);
  if (SENSITIVE_KEYS.has(n)) return true;
  // `{ cert, key }` pairs and `tls: { key }` hold private keys.
  return (
    n === 'key' && (parentKey !== undefined && normKey(parentKey) === 'tls' ? true : Object.hasOwn(siblings, 'cert'))
  );
}

const b64Prefix = (label: string): string => {
  const b = Buffer.from(`-----BEGIN ${label}PRIVATE KEY-----`).toString('base64');
  return b.slice(0, Math.floor(b.length / 4) * 4);
};

const STRING_RULES: readonly [RegExp, string][] = [
  // PEM private keys of any flavour (PKCS#8, RSA, EC, ENCRYPTED, OPENSSH), even truncated.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, '[REDACTED PRIVATE KEY]'],
  // The same, base64-encoded, as in kubeconfig `client-key-data` or Secret `data`.
  [
    new RegExp(`(?:${['', 'RSA ', 'EC ', 'ENCRYPTED ', 'OPENSSH '].map(b64Prefix).join('|')})[A-Za-z0-9+/=]*`, 'g'),
    '[REDACTED PRIVATE KEY]',
  ],
  // HTTP credentials.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${REDACTED}`],
  // JWTs (service-account tokens, OIDC id tokens): base64url JSON header and payload.
  [/\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, '[REDACTED JWT]'],
  // Kubernetes bootstrap tokens.
  [/\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g, REDACTED],
];

/** Masks credentials inside free text. */
export function redactString(s: string): string {
  let out = s;
  for (const [re, replacement] of STRING_RULES) out = out.replace(re, replacement);
  return out;
}

const MAX_DEPTH = 8;

/** A copy of `value` with sensitive keys masked and every string scanned. Errors become plain objects. */
export function redactValue(value: unknown): unknown {
  return scrub(value, undefined, 0, new WeakSet());
}

function scrub(value: unknown, parentKey: string | undefined, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactString(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Object]';
  seen.add(value);
  try {
    if (value instanceof Error) return scrub(pino.stdSerializers.err(value), parentKey, depth, seen);
    if (Array.isArray(value)) return value.map((v) => scrub(v, parentKey, depth + 1, seen));
    if (Buffer.isBuffer(value) || ArrayBuffer.isView(value))
      return `[${value.constructor.name} ${value.byteLength} bytes]`;
    if (value instanceof Map) return scrub(Object.fromEntries(value), parentKey, depth, seen);
    if (value instanceof Set) return scrub([...value], parentKey, depth, seen);
    if (value instanceof Date || value instanceof URL) return value;
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      return scrub((value as { toJSON(): unknown }).toJSON(), parentKey, depth, seen);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] =
        isSensitiveKey(k, parentKey, value) && v !== undefined && v !== null && v !== ''
          ? REDACTED
          : scrub(v, k, depth + 1, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

export type LogFormat = 'json' | 'text';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Destination {
  write(line: string): unknown;
}

export interface CreateLoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Where lines go (stdout by default); tests pass a collector. */
  readonly destination?: Destination;
  /** Bound to every line, e.g. `{ component: 'apiserver' }`. */
  readonly base?: Readonly<Record<string, unknown>>;
}

export function createLogger(opts: CreateLoggerOptions = {}): Logger {
  const format = opts.format ?? 'json';
  const sink: Destination = opts.destination ?? pino.destination({ dest: 1, sync: true });
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { pid: process.pid, ...opts.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (b) => redactValue(b) as Record<string, unknown>,
      log: (o) => redactValue(o) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const [first, ...rest] = args as unknown[];
        // `log.error(err)`: pino would take err.message verbatim as msg.
        if (first instanceof Error && typeof rest[0] !== 'string') {
          method.apply(this, [first, redactString(first.message), ...rest] as Parameters<typeof method>);
          return;
        }
        const scrubbed = (args as unknown[]).map((a) => (typeof a === 'string' ? redactString(a) : a));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  return pino(options, format === 'text' ? textDestination(sink) : sink);
}

/** What a request-scoped child logger carries. */
export interface LogContext {
  readonly cluster?: string;
  readonly requestId?: string;
  /** A user name, or a UserInfo-like object of which only the name is logged. */
  readonly user?: string | { readonly username?: string; readonly name?: string };
  readonly [key: string]: unknown;
}

/** A child logger bound to a cluster / request / user. Undefined fields are left out. */
export function withContext(logger: Logger, ctx: LogContext): Logger {
  const bindings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx)) {
    if (v === undefined) continue;
    if (k === 'user' && typeof v === 'object' && v !== null) {
      const u = v as { username?: string; name?: string };
      const name = u.username ?? u.name;
      if (name !== undefined) bindings.user = name;
      continue;
    }
    bindings[k] = v;
  }
  return logger.child(bindings);
}

const TEXT_LEVELS: Readonly<Record<string, string>> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
  fatal: 'FATAL',
};

/** `2026-01-02T03:04:05.678Z INFO  message key=value key2="two words"` plus an error stack below. */
export function formatTextLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const { time, level, msg, pid: _pid, hostname: _hostname, err, ...rest } = o;
  const parts = [
    typeof time === 'string' ? time : new Date(typeof time === 'number' ? time : Date.now()).toISOString(),
    TEXT_LEVELS[String(level)] ?? String(level).toUpperCase(),
  ];
  if (typeof msg === 'string' && msg !== '') parts.push(msg);
  for (const [k, v] of Object.entries(rest)) parts.push(`${k}=${textValue(v)}`);
  let out = parts.join(' ');
  if (err !== undefined && err !== null) {
    const e = err as { message?: unknown; stack?: unknown };
    out += ` error=${textValue(e.message ?? err)}`;
    if (typeof e.stack === 'string') out += `\n${e.stack.replace(/^/gm, '    ')}`;
  }
  return `${out}\n`;
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

function textDestination(sink: Destination): Destination {
  return { write: (line: string) => sink.write(formatTextLine(line)) };
}
