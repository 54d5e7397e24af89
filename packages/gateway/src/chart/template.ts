// A small Go text/template engine covering the subset our Helm chart uses, so the chart can be
// rendered and tested without a helm binary. Supported: text with `{{- -}}` trimming, comments,
// `if / else if / else / end`, `range` (lists and maps, `$k, $v :=`), `with`, `define` + `include`,
// `$var :=` declarations, pipelines with `|`, parenthesised sub-pipelines, field chains on `.`
// and `$`, string/number/bool/nil literals, and the Sprig/Helm functions listed in FUNCTIONS.
// Semantics follow Go and Helm where the chart can observe them: Go truthiness, a missing map key
// renders as "" (Helm drops `<no value>`), a field of a nil value is an error, `and`/`or` return
// an operand, `default` treats empty values as unset, `required`/`fail` abort rendering.
// Anything outside the subset is a parse error rather than a silent difference from Helm.

import { stringify } from 'yaml';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

type Value = unknown;

interface Pos {
  template: string;
  line: number;
}

type Term =
  | { t: 'field'; base: 'dot' | 'root' | { variable: string }; path: string[] }
  | { t: 'literal'; value: Value }
  | { t: 'ident'; name: string }
  | { t: 'sub'; pipe: Pipeline };

interface Command {
  terms: Term[];
}

interface Pipeline {
  decl: string[];
  /** `=` re-assigns an existing variable instead of declaring one */
  assign: boolean;
  commands: Command[];
  pos: Pos;
}

type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pipe: Pipeline }
  | { k: 'if'; branches: { cond: Pipeline; body: Node[] }[]; otherwise: Node[] }
  | { k: 'range'; pipe: Pipeline; body: Node[]; otherwise: Node[] }
  | { k: 'with'; pipe: Pipeline; body: Node[]; otherwise: Node[] };

// ---------------------------------------------------------------- lexing of actions

type Tok =
  | { k: 'pipe' | 'lparen' | 'rparen' | 'comma' | 'declare' | 'assign' }
  | { k: 'string' | 'ident'; v: string }
  | { k: 'number'; v: number }
  | { k: 'field'; v: string[] }
  | { k: 'var'; v: string; path: string[] };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;
const FIELDS = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/;

function lexAction(src: string, pos: Pos): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new TemplateError(`${pos.template}:${pos.line}: ${msg}`);
  };
  while (i < src.length) {
    const c = src[i]!;
    const rest = src.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '|') {
      out.push({ k: 'pipe' });
      i++;
    } else if (c === '(') {
      out.push({ k: 'lparen' });
      i++;
    } else if (c === ')') {
      out.push({ k: 'rparen' });
      i++;
    } else if (c === ',') {
      out.push({ k: 'comma' });
      i++;
    } else if (rest.startsWith(':=')) {
      out.push({ k: 'declare' });
      i += 2;
    } else if (c === '=') {
      out.push({ k: 'assign' });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) fail('unterminated string');
      try {
        out.push({ k: 'string', v: JSON.parse(src.slice(i, j + 1)) as string });
      } catch {
        fail(`bad string literal ${src.slice(i, j + 1)}`);
      }
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) fail('unterminated raw string');
      out.push({ k: 'string', v: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?((\.[A-Za-z_][A-Za-z0-9_]*)*)/.exec(rest)!;
      out.push({ k: 'var', v: m[1] ?? '', path: m[2] ? m[2].slice(1).split('.') : [] });
      i += m[0].length;
    } else if (c === '.') {
      const m = FIELDS.exec(rest);
      if (m) {
        out.push({ k: 'field', v: m[0].slice(1).split('.') });
        i += m[0].length;
      } else {
        out.push({ k: 'field', v: [] });
        i++;
      }
    } else if (/[-+\d]/.test(c)) {
      const m = /^[-+]?\d+(\.\d+)?/.exec(rest);
      if (!m) fail(`unexpected ${JSON.stringify(c)}`);
      out.push({ k: 'number', v: Number(m![0]) });
      i += m![0].length;
    } else {
      const m = IDENT.exec(rest);
      if (!m) fail(`unexpected ${JSON.stringify(c)}`);
      out.push({ k: 'ident', v: m![0] });
      i += m![0].length;
    }
  }
  return out;
}

function parsePipeline(toks: Tok[], pos: Pos): Pipeline {
  let i = 0;
  const fail = (msg: string): never => {
    throw new TemplateError(`${pos.template}:${pos.line}: ${msg}`);
  };
  const decl: string[] = [];
  let assign = false;
  // `$a := …`, `$k, $v := …`, `$a = …`
  const declEnd = toks.findIndex((t) => t.k === 'declare' || t.k === 'assign');
  if (declEnd > 0 && toks.slice(0, declEnd).every((t) => t.k === 'var' || t.k === 'comma')) {
    for (const t of toks.slice(0, declEnd)) if (t.k === 'var') decl.push(t.v);
    assign = toks[declEnd]!.k === 'assign';
    i = declEnd + 1;
  }
  const pipeline = (stop: Tok['k'] | undefined): Command[] => {
    const cmds: Command[] = [{ terms: [] }];
    while (i < toks.length) {
      const t = toks[i]!;
      if (stop !== undefined && t.k === stop) return cmds;
      i++;
      const cur = cmds[cmds.length - 1]!;
      switch (t.k) {
        case 'pipe':
          if (cur.terms.length === 0) fail('missing command before |');
          cmds.push({ terms: [] });
          break;
        case 'lparen': {
          const inner = pipeline('rparen');
          if (toks[i]?.k !== 'rparen') fail('unclosed (');
          i++;
          cur.terms.push({ t: 'sub', pipe: { decl: [], assign: false, commands: inner, pos } });
          break;
        }
        case 'string':
          cur.terms.push({ t: 'literal', value: t.v });
          break;
        case 'number':
          cur.terms.push({ t: 'literal', value: t.v });
          break;
        case 'field':
          cur.terms.push({ t: 'field', base: 'dot', path: t.v });
          break;
        case 'var':
          cur.terms.push({ t: 'field', base: t.v === '' ? 'root' : { variable: t.v }, path: t.path });
          break;
        case 'ident':
          if (t.v === 'true' || t.v === 'false') cur.terms.push({ t: 'literal', value: t.v === 'true' });
          else if (t.v === 'nil') cur.terms.push({ t: 'literal', value: undefined });
          else cur.terms.push({ t: 'ident', name: t.v });
          break;
        default:
          fail(`unexpected ${t.k}`);
      }
    }
    if (stop !== undefined) fail('unclosed (');
    return cmds;
  };
  const commands = pipeline(undefined);
  if (commands.some((c) => c.terms.length === 0)) fail('empty command');
  return { decl, assign, commands, pos };
}

// ---------------------------------------------------------------- parsing of template text

interface RawAction {
  /** text before the action (after trimming) */
  text: string;
  body: string;
  line: number;
}

function splitActions(src: string): { actions: RawAction[]; tail: string } {
  const actions: RawAction[] = [];
  let i = 0;
  let text = '';
  let trimNext = false;
  let line = 1;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) break;
    let before = src.slice(i, open);
    if (trimNext) before = before.replace(/^\s+/, '');
    let start = open + 2;
    // `{{-` trims only when followed by whitespace (`{{-3}}` is the number -3)
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      before = before.replace(/\s+$/, '');
      start++;
    }
    line += (src.slice(i, open).match(/\n/g) ?? []).length;
    let close: number;
    let body: string;
    const afterOpen = src.slice(start).trimStart();
    if (afterOpen.startsWith('/*')) {
      const endComment = src.indexOf('*/', start);
      if (endComment < 0) throw new TemplateError(`line ${line}: unclosed comment`);
      close = src.indexOf('}}', endComment);
      body = '';
    } else {
      close = findClose(src, start);
    }
    if (close < 0) throw new TemplateError(`line ${line}: unclosed action`);
    let end = close;
    trimNext = false;
    if (src[close - 1] === '-' && /\s/.test(src[close - 2] ?? '')) {
      trimNext = true;
      end = close - 1;
    }
    body = afterOpen.startsWith('/*') ? '/*' : src.slice(start, end).trim();
    text += before;
    actions.push({ text, body, line });
    text = '';
    line += (src.slice(open, close).match(/\n/g) ?? []).length;
    i = close + 2;
  }
  let tail = src.slice(i);
  if (trimNext) tail = tail.replace(/^\s+/, '');
  return { actions, tail };
}

/** The `}}` closing an action, skipping `}}` inside string literals. */
function findClose(src: string, from: number): number {
  let i = from;
  while (i < src.length) {
    const c = src[i];
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '`') {
      i = src.indexOf('`', i + 1) + 1;
      if (i === 0) return -1;
    } else if (c === '}' && src[i + 1] === '}') return i;
    else i++;
  }
  return -1;
}

const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue']);

function parseTemplateText(src: string, name: string, defines: Map<string, Node[]>): Node[] {
  const { actions, tail } = splitActions(src);
  let idx = 0;
  const fail = (line: number, msg: string): never => {
    throw new TemplateError(`${name}:${line}: ${msg}`);
  };
  type Stop = 'end' | 'else';
  const parseList = (stopAt: Set<Stop>): { nodes: Node[]; stop?: { word: Stop; rest: string; line: number } } => {
    const nodes: Node[] = [];
    while (idx < actions.length) {
      const a = actions[idx++]!;
      if (a.text !== '') nodes.push({ k: 'text', text: a.text });
      if (a.body === '/*') continue;
      const word = /^[a-z]+/.exec(a.body)?.[0] ?? '';
      const rest = a.body.slice(word.length).trim();
      const pos = { template: name, line: a.line };
      if (!KEYWORDS.has(word)) {
        nodes.push({ k: 'action', pipe: parsePipeline(lexAction(a.body, pos), pos) });
        continue;
      }
      switch (word) {
        case 'end':
        case 'else':
          if (!stopAt.has(word)) fail(a.line, `unexpected {{${word}}}`);
          return { nodes, stop: { word, rest, line: a.line } };
        case 'if': {
          const branches: { cond: Pipeline; body: Node[] }[] = [];
          let cond = rest;
          let otherwise: Node[] = [];
          for (;;) {
            const r = parseList(new Set<Stop>(['end', 'else']));
            branches.push({ cond: parsePipeline(lexAction(cond, pos), pos), body: r.nodes });
            if (!r.stop) fail(a.line, 'missing {{end}} for {{if}}');
            if (r.stop!.word === 'end') break;
            if (r.stop!.rest.startsWith('if ')) {
              cond = r.stop!.rest.slice(3);
              continue;
            }
            const e = parseList(new Set<Stop>(['end']));
            if (!e.stop) fail(a.line, 'missing {{end}} for {{if}}');
            otherwise = e.nodes;
            break;
          }
          nodes.push({ k: 'if', branches, otherwise });
          break;
        }
        case 'range':
        case 'with': {
          const r = parseList(new Set<Stop>(['end', 'else']));
          if (!r.stop) fail(a.line, `missing {{end}} for {{${word}}}`);
          let otherwise: Node[] = [];
          if (r.stop!.word === 'else') {
            const e = parseList(new Set<Stop>(['end']));
            if (!e.stop) fail(a.line, `missing {{end}} for {{${word}}}`);
            otherwise = e.nodes;
          }
          nodes.push({ k: word, pipe: parsePipeline(lexAction(rest, pos), pos), body: r.nodes, otherwise });
          break;
        }
        case 'define': {
          if (stopAt.size > 0) fail(a.line, '{{define}} must be at top level');
          const m = /^"([^"]+)"$/.exec(rest);
          if (!m) fail(a.line, 'define needs a quoted name');
          const r = parseList(new Set<Stop>(['end']));
          if (!r.stop) fail(a.line, 'missing {{end}} for {{define}}');
          defines.set(m![1]!, r.nodes);
          break;
        }
        default:
          fail(a.line, `{{${word}}} is not supported by this renderer`);
      }
    }
    return { nodes };
  };
  const top = parseList(new Set());
  if (tail !== '') top.nodes.push({ k: 'text', text: tail });
  return top.nodes;
}

// ---------------------------------------------------------------- evaluation

/** Go template truthiness. */
export function truthy(v: Value): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** Go's `%v` for the scalars Helm values hold (YAML numbers are float64 in Helm). */
export function printValue(v: Value): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') {
    // strconv 'g' with shortest precision: exponent form below 1e-4 and from 1e6 (Helm prints a
    // value of 1000000 as 1e+06), at least two exponent digits
    if (v === 0 || !Number.isFinite(v)) return String(v);
    const [mantissa, e] = v.toExponential().split('e') as [string, string];
    const exp = Number(e);
    if (exp < -4 || exp >= 6) return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  throw new TemplateError(`cannot print a ${Array.isArray(v) ? 'list' : 'map'} directly; use toYaml`);
}

function toYaml(v: Value): string {
  if (v === undefined || v === null) return 'null';
  return stringify(v, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
}

function indentLines(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

function num(v: Value, fn: string): number {
  if (typeof v !== 'number') throw new TemplateError(`${fn}: expected a number, got ${typeof v}`);
  return v;
}

function str(v: Value): string {
  return v === undefined || v === null ? '' : typeof v === 'string' ? v : printValue(v);
}

function equal(a: Value, b: Value): boolean {
  return a === b || (a == null && b == null);
}

type Fn = (...args: Value[]) => Value;

/** `include` is bound per execution; the rest are pure. */
const FUNCTIONS: Record<string, Fn> = {
  not: (v) => !truthy(v),
  eq: (a, ...bs) => bs.some((b) => equal(a, b)),
  ne: (a, b) => !equal(a, b),
  lt: (a, b) => num(a, 'lt') < num(b, 'lt'),
  gt: (a, b) => num(a, 'gt') > num(b, 'gt'),
  default: (d, v) => (truthy(v) ? v : d),
  empty: (v) => !truthy(v),
  required: (msg, v) => {
    if (v === undefined || v === null || v === '') throw new TemplateError(str(msg));
    return v;
  },
  fail: (msg) => {
    throw new TemplateError(str(msg));
  },
  quote: (...vs) =>
    vs
      .filter((v) => v !== undefined && v !== null)
      .map((v) => JSON.stringify(str(v)))
      .join(' '),
  squote: (...vs) =>
    vs
      .filter((v) => v !== undefined && v !== null)
      .map((v) => `'${str(v)}'`)
      .join(' '),
  b64enc: (v) => Buffer.from(str(v)).toString('base64'),
  toString: (v: Value) => str(v),
  toYaml,
  indent: (n, s) => indentLines(num(n, 'indent'), str(s)),
  nindent: (n, s) => '\n' + indentLines(num(n, 'nindent'), str(s)),
  trim: (s) => str(s).trim(),
  trimSuffix: (suffix, s) => (str(s).endsWith(str(suffix)) ? str(s).slice(0, -str(suffix).length) : str(s)),
  trunc: (n, s) => str(s).slice(0, num(n, 'trunc')),
  join: (sep, list) => (Array.isArray(list) ? list.map(str).join(str(sep)) : str(list)),
  list: (...vs) => vs,
  hasKey: (m, k) => typeof m === 'object' && m !== null && Object.hasOwn(m, str(k)),
  printf: (fmt, ...args) => {
    let i = 0;
    return str(fmt).replace(/%[vsdq%]/g, (m) => {
      if (m === '%%') return '%';
      const a = args[i++];
      return m === '%q' ? JSON.stringify(str(a)) : str(a);
    });
  },
};

/** The set of templates of one chart: files plus the `define`d partials they share. */
export class TemplateSet {
  readonly #files = new Map<string, Node[]>();
  readonly #defines = new Map<string, Node[]>();

  /** Parses `src`; `define` blocks become available to every template of the set. */
  add(name: string, src: string): void {
    this.#files.set(name, parseTemplateText(src, name, this.#defines));
  }

  names(): string[] {
    return [...this.#files.keys()];
  }

  execute(name: string, data: Value): string {
    const nodes = this.#files.get(name);
    if (!nodes) throw new TemplateError(`no template ${name}`);
    return this.#run(nodes, data, data, new Map(), 0);
  }

  #run(nodes: Node[], dot: Value, root: Value, vars: Map<string, Value>, depth: number): string {
    let out = '';
    for (const n of nodes) {
      switch (n.k) {
        case 'text':
          out += n.text;
          break;
        case 'action': {
          const v = this.#pipe(n.pipe, dot, root, vars, depth);
          // declarations print nothing
          if (n.pipe.decl.length === 0) out += printValue(v);
          break;
        }
        case 'if': {
          const hit = n.branches.find((b) => truthy(this.#pipe(b.cond, dot, root, vars, depth)));
          out += this.#run(hit ? hit.body : n.otherwise, dot, root, vars, depth);
          break;
        }
        case 'with': {
          const v = this.#pipe(n.pipe, dot, root, vars, depth);
          out += truthy(v) ? this.#run(n.body, v, root, vars, depth) : this.#run(n.otherwise, dot, root, vars, depth);
          break;
        }
        case 'range': {
          const decl = n.pipe.decl;
          const v = this.#pipe({ ...n.pipe, decl: [] }, dot, root, vars, depth);
          const entries: [Value, Value][] = Array.isArray(v)
            ? v.map((x, i) => [i, x])
            : typeof v === 'object' && v !== null
              ? Object.keys(v)
                  .sort()
                  .map((k) => [k, (v as Record<string, Value>)[k]])
              : v === undefined || v === null
                ? []
                : typeof v === 'number'
                  ? Array.from({ length: v }, (_, i) => [i, i])
                  : (() => {
                      throw new TemplateError(`range can't iterate over ${printValue(v)}`);
                    })();
          if (entries.length === 0) {
            out += this.#run(n.otherwise, dot, root, vars, depth);
            break;
          }
          for (const [k, x] of entries) {
            const scope = new Map(vars);
            if (decl.length === 1) scope.set(decl[0]!, x);
            if (decl.length === 2) {
              scope.set(decl[0]!, k);
              scope.set(decl[1]!, x);
            }
            out += this.#run(n.body, x, root, scope, depth);
          }
          break;
        }
      }
    }
    return out;
  }

  #pipe(p: Pipeline, dot: Value, root: Value, vars: Map<string, Value>, depth: number): Value {
    let prev: { v: Value } | undefined;
    for (const c of p.commands) prev = { v: this.#command(c, prev, dot, root, vars, depth, p.pos) };
    const v = prev?.v;
    if (p.decl.length === 1) {
      if (p.assign && !vars.has(p.decl[0]!)) throw new TemplateError(`undefined variable $${p.decl[0]!}`);
      vars.set(p.decl[0]!, v);
    }
    return v;
  }

  #command(
    c: Command,
    prev: { v: Value } | undefined,
    dot: Value,
    root: Value,
    vars: Map<string, Value>,
    depth: number,
    pos: Pos,
  ): Value {
    const fail = (msg: string): never => {
      throw new TemplateError(`${pos.template}:${pos.line}: ${msg}`);
    };
    const [head, ...rest] = c.terms;
    const evalTerm = (t: Term): Value => {
      switch (t.t) {
        case 'literal':
          return t.value;
        case 'sub':
          return this.#pipe(t.pipe, dot, root, vars, depth);
        case 'ident':
          return this.#call(t.name, [], root, depth, pos);
        case 'field': {
          let base: Value;
          if (t.base === 'dot') base = dot;
          else if (t.base === 'root') base = root;
          else {
            if (!vars.has(t.base.variable)) fail(`undefined variable $${t.base.variable}`);
            base = vars.get(t.base.variable);
          }
          let v = base;
          for (const [i, key] of t.path.entries()) {
            if (v === undefined || v === null)
              fail(`nil pointer evaluating interface {}.${key} (in .${t.path.slice(0, i + 1).join('.')})`);
            if (typeof v !== 'object' || Array.isArray(v)) fail(`can't evaluate field ${key} in ${typeof v}`);
            v = (v as Record<string, Value>)[key];
          }
          return v;
        }
      }
    };
    if (head?.t === 'ident') {
      const args = rest.map(evalTerm);
      if (prev) args.push(prev.v);
      return this.#call(head.name, args, root, depth, pos);
    }
    if (rest.length > 0 || prev) fail("can't give arguments to a non-function");
    return evalTerm(head!);
  }

  #call(name: string, args: Value[], _root: Value, depth: number, pos: Pos): Value {
    if (name === 'include') {
      const [tpl, ctx] = args;
      const nodes = this.#defines.get(str(tpl));
      if (!nodes) throw new TemplateError(`${pos.template}:${pos.line}: no template "${str(tpl)}" defined`);
      if (depth > 50) throw new TemplateError('include nested too deeply');
      return this.#run(nodes, ctx, ctx, new Map(), depth + 1);
    }
    if (name === 'and') return args.find((a) => !truthy(a)) ?? args[args.length - 1];
    if (name === 'or') return args.find((a) => truthy(a)) ?? args[args.length - 1];
    const fn = FUNCTIONS[name];
    if (!fn) throw new TemplateError(`${pos.template}:${pos.line}: function "${name}" not defined`);
    return fn(...args);
  }
}
