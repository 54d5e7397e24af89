// Go `time.ParseDuration` syntax for duration flags (`10s`, `1m30s`, `500ms`, `1.5h`), so the
// flags charts and docs pass to the Go gateway parse identically here. Errors reuse Go's wording
// because operators search for them.

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export type DurationResult = { ok: true; ms: number } | { ok: false; error: string };

/** Parses a Go duration into milliseconds (fractional for sub-millisecond units). */
export function parseGoDuration(input: string): DurationResult {
  const bad = (): DurationResult => ({ ok: false, error: `time: invalid duration ${JSON.stringify(input)}` });
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s.startsWith('-')) sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return { ok: true, ms: 0 };
  if (s === '') return bad();
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?([^\d.]*)/u;
  while (s !== '') {
    const m = part.exec(s);
    if (!m) return bad();
    const [whole, int = '', frac, unit = ''] = m;
    if (int === '' && (frac === undefined || frac === '')) return bad();
    if (unit === '') return { ok: false, error: `time: missing unit in duration ${JSON.stringify(input)}` };
    const scale = UNIT_MS[unit];
    if (scale === undefined) {
      return { ok: false, error: `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(input)}` };
    }
    total += Number(`${int === '' ? '0' : int}.${frac ?? ''}0`) * scale;
    s = s.slice(whole.length);
  }
  // Go caps durations at ~292 years (int64 nanoseconds).
  if (total > 9_223_372_036_854) return bad();
  return { ok: true, ms: sign * total };
}

/** Formats milliseconds the way Go's `Duration.String()` does for the common cases (`1m30s`, `500ms`, `0s`). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${trim(rest)}ms`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    out = `${h > 0 ? `${h}h` : ''}${h > 0 || m > 0 ? `${m}m` : ''}${trim(rest / 1000)}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(n: number): string {
  return String(Number(n.toFixed(6)));
}
