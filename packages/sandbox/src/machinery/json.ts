// Small JSON-value helpers shared by the machinery modules (patching, apply, selectors): type guards,
// structural equality, deep copies and Go-style formatting. kube-apiserver's messages embed values
// printed by Go's fmt (`%q`, `%v` of maps and slices), so clients see those exact shapes.

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

export function deepClone<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x: unknown) => deepClone(x)) as T;
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = deepClone(x);
    return out as T;
  }
  return v;
}

/** Go's strconv.Quote (`%q`) for the characters that matter in API messages. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** Go's `%v` of a decoded JSON value: `map[a:1 b:x]`, `[x y]`, `<nil>`. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** Go's `%#v` of a []string, as field.Invalid prints a bad value list. */
export function goStringSlice(v: readonly string[] | undefined): string {
  if (v === undefined) return '[]string(nil)';
  return `[]string{${v.map(goQuote).join(', ')}}`;
}

/** Byte length as Go's len() counts it. */
export function byteLength(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
