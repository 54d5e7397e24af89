// Sets of field paths in the managedFields `FieldsV1` encoding (structured-merge-diff's fieldpath):
// a trie whose edges are path elements spelled `f:<field>`, `k:<json key object>`, `v:<json value>`
// or `i:<index>`, and whose nodes may themselves be members (`".": {}` when they also have
// children). Server-side apply computes ownership and conflicts with these sets; conflicts are
// reported with structured-merge-diff's path syntax (`.spec.containers[name="c"].image`).

import { isObject } from './json.ts';

export interface FieldSet {
  member: boolean;
  children: Map<string, FieldSet>;
}

export function emptySet(): FieldSet {
  return { member: false, children: new Map() };
}

export function isEmpty(s: FieldSet): boolean {
  return !s.member && s.children.size === 0;
}

export function insert(s: FieldSet, path: readonly string[]): void {
  let cur = s;
  for (const pe of path) {
    let next = cur.children.get(pe);
    if (!next) {
      next = emptySet();
      cur.children.set(pe, next);
    }
    cur = next;
  }
  cur.member = true;
}

export function has(s: FieldSet, path: readonly string[]): boolean {
  let cur: FieldSet | undefined = s;
  for (const pe of path) {
    cur = cur.children.get(pe);
    if (!cur) return false;
  }
  return cur.member;
}

/** The node at `path` (members below it), or undefined. */
export function subtree(s: FieldSet, path: readonly string[]): FieldSet | undefined {
  let cur: FieldSet | undefined = s;
  for (const pe of path) {
    cur = cur.children.get(pe);
    if (!cur) return undefined;
  }
  return cur;
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { member: a.member || b.member, children: new Map() };
  for (const [k, v] of a.children) out.children.set(k, clone(v));
  for (const [k, v] of b.children) {
    const existing = out.children.get(k);
    out.children.set(k, existing ? union(existing, v) : clone(v));
  }
  return out;
}

export function difference(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { member: a.member && !b.member, children: new Map() };
  for (const [k, v] of a.children) {
    const other = b.children.get(k);
    const d = other ? difference(v, other) : clone(v);
    if (!isEmpty(d)) out.children.set(k, d);
  }
  return out;
}

export function intersection(a: FieldSet, b: FieldSet): FieldSet {
  const out: FieldSet = { member: a.member && b.member, children: new Map() };
  for (const [k, v] of a.children) {
    const other = b.children.get(k);
    if (!other) continue;
    const i = intersection(v, other);
    if (!isEmpty(i)) out.children.set(k, i);
  }
  return out;
}

export function clone(s: FieldSet): FieldSet {
  const out: FieldSet = { member: s.member, children: new Map() };
  for (const [k, v] of s.children) out.children.set(k, clone(v));
  return out;
}

/** All member paths, depth first, in FieldsV1 key order. */
export function members(s: FieldSet, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  if (s.member && prefix.length > 0) out.push(prefix);
  for (const k of sortedKeys(s)) out.push(...members(s.children.get(k)!, [...prefix, k]));
  return out;
}

// structured-merge-diff orders path elements: field names, then keys, then values, then indexes.
const kindRank: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function compareElements(a: string, b: string): number {
  const ra = kindRank[a[0]!] ?? 4;
  const rb = kindRank[b[0]!] ?? 4;
  if (ra !== rb) return ra - rb;
  if (a[0] === 'i' && b[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}

function sortedKeys(s: FieldSet): string[] {
  return [...s.children.keys()].sort(compareElements);
}

export function toFieldsV1(s: FieldSet): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.member && s.children.size > 0) out['.'] = {};
  for (const k of sortedKeys(s)) out[k] = toFieldsV1(s.children.get(k)!);
  return out;
}

/** Decodes a FieldsV1 object; undefined when it is not one. */
export function fromFieldsV1(v: unknown): FieldSet | undefined {
  if (!isObject(v)) return undefined;
  const out = emptySet();
  for (const [k, child] of Object.entries(v)) {
    if (k === '.') {
      out.member = true;
      continue;
    }
    if (!/^[fkvi]:/.test(k)) return undefined;
    const c = fromFieldsV1(child);
    if (!c) return undefined;
    if (c.children.size === 0) c.member = true;
    out.children.set(k, c);
  }
  return out;
}

// --- path elements ---

export function fieldElement(name: string): string {
  return `f:${name}`;
}

/** Go's encoding/json orders map keys; key objects are compared by this string. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

export function keyElement(key: Record<string, unknown>): string {
  return `k:${stableJson(key)}`;
}

export function valueElement(v: unknown): string {
  return `v:${stableJson(v)}`;
}

/** value.ToString as structured-merge-diff prints values in paths. */
function valueString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueString).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${k}=${valueString(v[k])}`)
      .join(',')}}`;
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v) ?? 'null';
}

/** fieldpath.Path.String(): `.spec.containers[name="c"].image`, `[="x"]`, `[0]`. */
export function pathString(path: readonly string[]): string {
  return path
    .map((pe) => {
      const kind = pe[0];
      const body = pe.slice(2);
      if (kind === 'f') return `.${body}`;
      if (kind === 'i') return `[${body}]`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return '{{invalid path element}}';
      }
      if (kind === 'v') return `[=${valueString(parsed)}]`;
      if (kind === 'k' && isObject(parsed)) {
        return `[${Object.keys(parsed)
          .sort()
          .map((k) => `${k}=${valueString(parsed[k])}`)
          .join(',')}]`;
      }
      return '{{invalid path element}}';
    })
    .join('');
}
