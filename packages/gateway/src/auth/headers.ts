// Request headers as the auth layer needs them: every value of a repeated header kept separate (node
// joins repeated `X-Remote-Group` / `Impersonate-Group` lines into one comma-separated string in
// `req.headers`, which would turn two groups into one), names lower-cased. Also the list of identity
// headers that must never travel past the gateway (upstream §3.4.1).

export type HeaderInput = Record<string, string | string[] | undefined>;

/** Lower-cased name → values in arrival order. */
export type HeaderValues = Map<string, string[]>;

/**
 * Distinct header values, from node's `rawHeaders` when given (exact), else from a header object
 * whose repeated headers are arrays (`req.headersDistinct`); plain strings count as one value.
 */
export function headerValues(headers: HeaderInput, rawHeaders?: readonly string[]): HeaderValues {
  const out: HeaderValues = new Map();
  if (rawHeaders) {
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!.toLowerCase();
      const list = out.get(name);
      if (list) list.push(rawHeaders[i + 1]!);
      else out.set(name, [rawHeaders[i + 1]!]);
    }
    return out;
  }
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const name = k.toLowerCase();
    const list = out.get(name) ?? [];
    if (Array.isArray(v)) list.push(...v);
    else list.push(v);
    out.set(name, list);
  }
  return out;
}

/** http.Header.Get: the first value, or ''. */
export function firstValue(h: HeaderValues, name: string): string {
  return h.get(name.toLowerCase())?.[0] ?? '';
}

/** url.PathUnescape of an extra key; malformed keys are kept verbatim, as kube records them. */
export function unescapeExtraKey(encoded: string): string {
  if (!/%/.test(encoded)) return encoded;
  if (/%(?![0-9a-fA-F]{2})/.test(encoded)) return encoded;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

/** True for headers that carry caller identity or credentials and must be removed before proxying. */
export function isIdentityHeader(name: string, extraPrefixes: readonly string[] = []): boolean {
  const n = name.toLowerCase();
  return (
    n === 'authorization' ||
    n.startsWith('impersonate-') ||
    n.startsWith('x-remote-') ||
    extraPrefixes.some((p) => n.startsWith(p.toLowerCase()))
  );
}
