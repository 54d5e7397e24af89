// Hand-written SVG chart of latency distributions: one horizontal box plot per (group, mode) on a
// shared log-scale axis (min–max whiskers, p25–p75 box, p50 line, p99 tick), no dependencies.

import type { Summary } from './stats.ts';

export interface Box {
  group: string;
  mode: string;
  s: Summary;
}

const COLORS: Record<string, string> = {
  direct: '#4c78a8',
  gateway: '#f58518',
  hub: '#54a24b',
  konnectivity: '#e45756',
  'kubectl-proxy': '#b279a2',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderSvg(title: string, boxes: readonly Box[]): string {
  const rowH = 18;
  const gap = 14;
  const left = 260;
  const width = 980;
  const plotW = width - left - 30;
  const valid = boxes.filter((b) => b.s.count > 0 && b.s.minMs > 0);
  const lo = Math.min(...valid.map((b) => b.s.minMs), 1);
  const hi = Math.max(...valid.map((b) => b.s.maxMs), 10);
  const l0 = Math.floor(Math.log10(lo));
  const l1 = Math.ceil(Math.log10(hi));
  const x = (v: number): number => left + ((Math.log10(Math.max(v, 10 ** l0)) - l0) / (l1 - l0)) * plotW;
  const out: string[] = [];
  let y = 50;
  let prev = '';
  for (const b of valid) {
    if (b.group !== prev) {
      if (prev) y += gap;
      out.push(`<text x="8" y="${y + 12}" font-weight="bold">${esc(b.group)}</text>`);
      y += rowH;
      prev = b.group;
    }
    const c = COLORS[b.mode] ?? '#888';
    const mid = y + rowH / 2;
    const s = b.s;
    out.push(
      `<text x="24" y="${mid + 4}">${esc(b.mode)} (p50 ${s.p50Ms.toFixed(2)} ms, p99 ${s.p99Ms.toFixed(2)} ms)</text>`,
      `<line x1="${x(s.minMs)}" x2="${x(s.maxMs)}" y1="${mid}" y2="${mid}" stroke="${c}"/>`,
      `<rect x="${x(s.p25Ms)}" y="${y + 3}" width="${Math.max(1, x(s.p75Ms) - x(s.p25Ms))}" height="${rowH - 6}" fill="${c}" fill-opacity="0.35" stroke="${c}"/>`,
      `<line x1="${x(s.p50Ms)}" x2="${x(s.p50Ms)}" y1="${y + 2}" y2="${y + rowH - 2}" stroke="${c}" stroke-width="2"/>`,
      `<line x1="${x(s.p99Ms)}" x2="${x(s.p99Ms)}" y1="${y + 5}" y2="${y + rowH - 5}" stroke="#000"/>`,
    );
    y += rowH;
  }
  const axis: string[] = [];
  for (let e = l0; e <= l1; e++) {
    const v = 10 ** e;
    axis.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="40" y2="${y + 4}" stroke="#ddd"/>`,
      `<text x="${x(v)}" y="${y + 18}" text-anchor="middle">${v >= 1 ? String(v) : v.toFixed(-e)} ms</text>`,
    );
  }
  const h = y + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${left}" y="34" fill="#555">log scale; whiskers min–max, box p25–p75, thick line p50, black tick p99</text>`,
    ...axis,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
