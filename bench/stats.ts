// Latency statistics shared by the bench runner and its child processes: one place that decides
// how percentiles are taken (nearest rank on sorted samples), so every table and chart agrees.

export interface Summary {
  count: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  sdMs: number;
  p25Ms: number;
  p50Ms: number;
  p75Ms: number;
  p99Ms: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const n = s.length;
  const mean = n ? s.reduce((a, b) => a + b, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return {
    count: n,
    minMs: n ? s[0]! : NaN,
    maxMs: n ? s[n - 1]! : NaN,
    meanMs: mean,
    sdMs: sd,
    p25Ms: percentile(s, 25),
    p50Ms: percentile(s, 50),
    p75Ms: percentile(s, 75),
    p99Ms: percentile(s, 99),
  };
}

/** Round for JSON and tables: 3 decimals below 10, 1 above. */
export function r(x: number): number {
  if (!Number.isFinite(x)) return x;
  return Math.abs(x) < 10 ? Math.round(x * 1000) / 1000 : Math.round(x * 10) / 10;
}
