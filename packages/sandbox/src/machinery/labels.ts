// Label selectors exactly as k8s.io/apimachinery/pkg/labels parses, validates, matches and prints
// them, plus metav1.LabelSelector conversion. List/watch `labelSelector` parameters and every
// workload selector go through here, so the grammar, the canonical string form and the error
// messages (which kubectl prints verbatim after `Error from server (BadRequest):`) follow upstream.

import { errors } from '../errors/status.ts';
import { byteLength, goQuote, goStringSlice } from './json.ts';

/** selection.Operator values, spelled as upstream spells them. */
export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: LabelOperator;
  /** sorted and de-duplicated for set operators, as upstream's sets.String yields them */
  values: string[];
}

export interface LabelSelector {
  /** AND of requirements, sorted by key */
  requirements: Requirement[];
  /** labels.Nothing(): matches no object (a nil metav1.LabelSelector) */
  nothing?: boolean;
}

export interface MetaLabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key: string; operator: string; values?: string[] | null }[] | null;
}

export const everything: LabelSelector = Object.freeze({ requirements: [] });

// --- validation (k8s.io/apimachinery/pkg/util/validation) ---

const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qualifiedNameRe = new RegExp(`^${qualifiedNameFmt}$`);
const qualifiedNameErrMsg =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labelValueFmt = `(${qualifiedNameFmt})?`;
const labelValueRe = new RegExp(`^${labelValueFmt}$`);
const labelValueErrMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1123SubdomainErrMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  // upstream appends "', " after every example and joins with " or ", hence the double space
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

export function validateDNS1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 253) errs.push(maxLenError(253));
  if (!dns1123SubdomainRe.test(value))
    errs.push(regexError(dns1123SubdomainErrMsg, dns1123SubdomainFmt, 'example.com'));
  return errs;
}

/** validation.IsQualifiedName: label keys, annotation keys, finalizers. Empty list = valid. */
export function validateQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of validateDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a qualified name ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (byteLength(name) > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!qualifiedNameRe.test(name)) {
    errs.push(`name part ${regexError(qualifiedNameErrMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

/** validation.IsValidLabelValue. Empty list = valid. */
export function validateLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (byteLength(value) > 63) errs.push(maxLenError(63));
  if (!labelValueRe.test(value)) errs.push(regexError(labelValueErrMsg, labelValueFmt, 'MyValue', 'my_value', '12345'));
  return errs;
}

// field.Error rendering: `<path>: Invalid value: "x": detail`; a nil path prints as `<nil>`.
function invalid(path: string, badValue: string, detail: string): string {
  return `${path}: Invalid value: ${badValue}: ${detail}`;
}

function aggregate(errs: string[]): string | undefined {
  const uniq = [...new Set(errs)];
  if (uniq.length === 0) return undefined;
  return uniq.length === 1 ? uniq[0] : `[${uniq.join(', ')}]`;
}

/** labels.NewRequirement: returns the aggregated field errors, or the requirement. */
function newRequirement(
  key: string,
  operator: LabelOperator,
  values: string[] | undefined,
  root: string | undefined,
): Requirement | string {
  const p = (child: string): string => (root ? `${root}.${child}` : child);
  const errs: string[] = [];
  const keyErrs = validateQualifiedName(key);
  if (keyErrs.length) errs.push(invalid(p('key'), goQuote(key), keyErrs.join('; ')));
  const vals = values ?? [];
  const valuePath = p('values');
  switch (operator) {
    case 'in':
    case 'notin':
      if (vals.length === 0) {
        errs.push(invalid(valuePath, goStringSlice(values), "for 'in', 'notin' operators, values set can't be empty"));
      }
      break;
    case '=':
    case '==':
    case '!=':
      if (vals.length !== 1) {
        errs.push(invalid(valuePath, goStringSlice(values), 'exact-match compatibility requires one single value'));
      }
      break;
    case 'exists':
    case '!':
      if (vals.length !== 0) {
        errs.push(invalid(valuePath, goStringSlice(values), 'values set must be empty for exists and does not exist'));
      }
      break;
    case 'gt':
    case 'lt':
      if (vals.length !== 1) {
        errs.push(invalid(valuePath, goStringSlice(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      }
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(
            invalid(`${valuePath}[${i}]`, goQuote(v), "for 'Gt', 'Lt' operators, the value must be an integer"),
          );
        }
      });
      break;
  }
  vals.forEach((v, i) => {
    const vErrs = validateLabelValue(v);
    if (vErrs.length) errs.push(invalid(`${valuePath}[${i}][${key}]`, goQuote(v), vErrs.join('; ')));
  });
  const agg = aggregate(errs);
  if (agg !== undefined) return agg;
  return { key, operator, values: [...vals] };
}

function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return n;
}

// --- lexer/parser (same grammar and messages as labels.Parse) ---

type Tok = 'error' | 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'id' | 'in' | '<' | '!=' | 'notin' | '(';

const literalTokens: Record<string, Tok> = {
  ')': ')',
  ',': ',',
  '!': '!',
  '==': '==',
  '=': '=',
  '>': '>',
  in: 'in',
  '<': '<',
  '!=': '!=',
  notin: 'notin',
  '(': '(',
};

interface Item {
  tok: Tok;
  lit: string;
}

const isWhitespace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string): boolean => '=!(),><'.includes(c) && c !== '';

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos]!)) pos++;
    if (pos >= s.length) {
      items.push({ tok: 'eos', lit: '' });
      return items;
    }
    if (isSpecial(s[pos]!)) {
      let buf = '';
      let last: Item | undefined;
      while (pos < s.length && isSpecial(s[pos]!)) {
        buf += s[pos]!;
        const t = literalTokens[buf];
        if (t) {
          last = { tok: t, lit: buf };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` });
    } else {
      let buf = '';
      while (pos < s.length && !isSpecial(s[pos]!) && !isWhitespace(s[pos]!)) buf += s[pos++]!;
      const t = literalTokens[buf];
      items.push({ tok: t ?? 'id', lit: buf });
    }
  }
}

const binaryOperators = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];

class Parser {
  readonly #items: Item[];
  #pos = 0;
  constructor(items: Item[]) {
    this.#items = items;
  }
  // In "values" context the keywords in/notin are plain identifiers (`x in (in)`).
  lookahead(values: boolean): Item {
    const it = this.#items[this.#pos]!;
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'id', lit: it.lit } : it;
  }
  consume(values: boolean): Item {
    const it = this.lookahead(values);
    this.#pos++;
    return it;
  }
}

class ParseError extends Error {}

function parseRequirement(p: Parser): Requirement {
  let op: LabelOperator | undefined;
  let t = p.consume(true);
  if (t.tok === '!') {
    op = '!';
    t = p.consume(true);
  }
  if (t.tok !== 'id') throw new ParseError(`found '${t.lit}', expected: identifier`);
  const key = t.lit;
  const keyErrs = validateQualifiedName(key);
  if (keyErrs.length) throw new ParseError(invalid('<nil>', goQuote(key), keyErrs.join('; ')));
  const next = p.lookahead(true).tok;
  if (next === 'eos' || next === ',') op ??= 'exists';
  if (op === 'exists' || op === '!') return req(key, op, []);
  const ot = p.consume(false);
  const operators: Partial<Record<Tok, LabelOperator>> = {
    in: 'in',
    '=': '=',
    '==': '==',
    '>': 'gt',
    '<': 'lt',
    notin: 'notin',
    '!=': '!=',
  };
  const operator = operators[ot.tok];
  if (!operator) throw new ParseError(`found '${ot.lit}', expected: ${binaryOperators.join(', ')}`);
  const values = operator === 'in' || operator === 'notin' ? parseValues(p) : parseExactValue(p);
  return req(key, operator, values);
}

function req(key: string, op: LabelOperator, values: string[]): Requirement {
  const r = newRequirement(key, op, values, undefined);
  if (typeof r === 'string') throw new ParseError(r);
  return r;
}

function parseValues(p: Parser): string[] {
  const t = p.consume(true);
  if (t.tok !== '(') throw new ParseError(`found '${t.lit}' expected: '('`);
  const la = p.lookahead(true);
  switch (la.tok) {
    case 'id':
    case ',': {
      const s = parseIdentifiersList(p);
      if (p.consume(true).tok !== ')') throw new ParseError(`found '${la.lit}', expected: ')'`);
      return s;
    }
    case ')':
      p.consume(true);
      return [''];
    default:
      throw new ParseError(`found '${la.lit}', expected: ',', ')' or identifier`);
  }
}

function parseIdentifiersList(p: Parser): string[] {
  const s = new Set<string>();
  for (;;) {
    const t = p.consume(true);
    if (t.tok === 'id') {
      s.add(t.lit);
      const t2 = p.lookahead(true);
      if (t2.tok === ',') continue;
      if (t2.tok === ')') return [...s].sort();
      throw new ParseError(`found '${t2.lit}', expected: ',' or ')'`);
    } else if (t.tok === ',') {
      if (s.size === 0) s.add('');
      const t2 = p.lookahead(true);
      if (t2.tok === ')') {
        s.add('');
        return [...s].sort();
      }
      if (t2.tok === ',') {
        p.consume(true);
        s.add('');
      }
    } else {
      throw new ParseError(`found '${t.lit}', expected: ',', or identifier`);
    }
  }
}

function parseExactValue(p: Parser): string[] {
  const la = p.lookahead(true);
  if (la.tok === 'eos' || la.tok === ',') return [''];
  const t = p.consume(true);
  if (t.tok === 'id') return [t.lit];
  throw new ParseError(`found '${t.lit}', expected: identifier`);
}

function sortByKey(reqs: Requirement[]): Requirement[] {
  // Go's sort.Sort is not stable; requirements with equal keys keep input order here, which is
  // what upstream yields for the small inputs selectors have (insertion sort below 12 elements).
  return reqs
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.key < b.r.key ? -1 : a.r.key > b.r.key ? 1 : a.i - b.i))
    .map((x) => x.r);
}

/** labels.Parse. Malformed input → 400 BadRequest with upstream's message. */
export function parseLabelSelector(s: string): LabelSelector {
  const p = new Parser(lex(s));
  const reqs: Requirement[] = [];
  try {
    for (;;) {
      const t = p.lookahead(true);
      if (t.tok === 'id' || t.tok === '!') {
        try {
          reqs.push(parseRequirement(p));
        } catch (e) {
          if (e instanceof ParseError) throw new ParseError(`unable to parse requirement: ${e.message}`);
          throw e;
        }
        const n = p.consume(true);
        if (n.tok === 'eos') break;
        if (n.tok === ',') {
          const t2 = p.lookahead(true);
          if (t2.tok !== 'id' && t2.tok !== '!')
            throw new ParseError(`found '${t2.lit}', expected: identifier after ','`);
        } else {
          throw new ParseError(`found '${n.lit}', expected: ',' or 'end of string'`);
        }
      } else if (t.tok === 'eos') {
        break;
      } else {
        throw new ParseError(`found '${t.lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  } catch (e) {
    if (e instanceof ParseError) throw errors.badRequest(e.message);
    throw e;
  }
  return { requirements: sortByKey(reqs) };
}

/** metav1.LabelSelectorAsSelector: nil → nothing, empty → everything. Invalid → 400 BadRequest. */
export function selectorFromLabelSelector(ls: MetaLabelSelector | null | undefined): LabelSelector {
  if (ls === null || ls === undefined) return { requirements: [], nothing: true };
  const matchLabels = ls.matchLabels ?? {};
  const exprs = ls.matchExpressions ?? [];
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(matchLabels)) {
    const r = newRequirement(k, '=', [v], undefined);
    if (typeof r === 'string') throw errors.badRequest(r);
    reqs.push(r);
  }
  const ops: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };
  for (const e of exprs) {
    const op = ops[e.operator];
    if (!op) throw errors.badRequest(`${goQuote(e.operator)} is not a valid label selector operator`);
    const vals = e.values && e.values.length > 0 ? [...e.values] : undefined;
    const r = newRequirement(e.key, op, vals, undefined);
    if (typeof r === 'string') throw errors.badRequest(r);
    reqs.push(r);
  }
  return { requirements: sortByKey(reqs) };
}

/** Upstream's Selector.Empty(): true when it selects everything. */
export function isEverything(sel: LabelSelector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(v!);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(v!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || r.values.length !== 1) return false;
      const lv = parseInt64(v!);
      const rv = parseInt64(r.values[0]!);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

export function matches(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  if (sel.nothing) return false;
  const ls = labels ?? {};
  return sel.requirements.every((r) => requirementMatches(r, ls));
}

function formatRequirement(r: Requirement): string {
  let s = r.operator === '!' ? `!${r.key}` : r.key;
  const vals = r.values.length === 1 ? r.values[0]! : [...r.values].sort().join(',');
  switch (r.operator) {
    case 'exists':
    case '!':
      return s;
    case 'in':
      return `${s} in (${vals})`;
    case 'notin':
      return `${s} notin (${vals})`;
    case 'gt':
      s += '>';
      break;
    case 'lt':
      s += '<';
      break;
    default:
      s += r.operator;
  }
  return s + vals;
}

/** Selector.String(): the canonical form (sorted by key, values sorted). */
export function formatLabelSelector(sel: LabelSelector): string {
  if (sel.nothing) return '';
  return sel.requirements.map(formatRequirement).join(',');
}
