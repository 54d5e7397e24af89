// The parser of the sandbox containers' tiny POSIX-ish shell (`sh -c '...'`): quoting, `$VAR`
// expansion, `;`/`&&`/`||`/`|` lists and pipelines and simple redirections. Anything beyond that
// (compound commands, substitutions) is reported as unsupported rather than misinterpreted.

export interface WordPart {
  text: string;
  /** `var` parts are expanded at run time; `quoted` controls field splitting */
  kind: 'lit' | 'var';
  quoted: boolean;
}

export type Word = WordPart[];

export interface Redirect {
  fd: number;
  op: '>' | '>>' | '<' | '>&';
  target: Word;
}

export interface SimpleCommand {
  assigns: { name: string; value: Word }[];
  words: Word[];
  redirects: Redirect[];
}

export interface Pipeline {
  negate: boolean;
  commands: SimpleCommand[];
}

export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

export type Script = AndOr[];

export class ShellSyntaxError extends Error {}

type Token = { t: 'word'; word: Word } | { t: 'op'; op: string } | { t: 'redir'; fd: number; op: Redirect['op'] };

const KEYWORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'for',
  'while',
  'until',
  'do',
  'done',
  'case',
  'esac',
  'function',
  '{',
  '}',
]);

function isNameStart(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z_]/.test(c);
}

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let word: Word | null = null;
  let i = 0;
  const lit = (text: string, quoted: boolean): void => {
    word ??= [];
    const last = word[word.length - 1];
    if (last?.kind === 'lit' && last.quoted === quoted) last.text += text;
    else word.push({ text, kind: 'lit', quoted });
  };
  const endWord = (): void => {
    if (word) out.push({ t: 'word', word });
    word = null;
  };
  // `$name`, `${name}`, `$?`…: returns the new index
  const dollar = (j: number, quoted: boolean): number => {
    const c = src[j + 1];
    if (c === '{') {
      const close = src.indexOf('}', j + 2);
      if (close === -1) throw new ShellSyntaxError('bad substitution');
      const name = src.slice(j + 2, close);
      if (!/^([A-Za-z_][A-Za-z0-9_]*|[0-9?#$@*])$/.test(name))
        throw new ShellSyntaxError(`\${${name}}: bad substitution`);
      word ??= [];
      word.push({ text: name, kind: 'var', quoted });
      return close + 1;
    }
    if (c === '(') throw new ShellSyntaxError('command substitution is not supported in this sandbox shell');
    if (c !== undefined && /[0-9?#$@*]/.test(c)) {
      word ??= [];
      word.push({ text: c, kind: 'var', quoted });
      return j + 2;
    }
    if (isNameStart(c)) {
      let k = j + 1;
      while (k < src.length && /[A-Za-z0-9_]/.test(src[k]!)) k++;
      word ??= [];
      word.push({ text: src.slice(j + 1, k), kind: 'var', quoted });
      return k;
    }
    lit('$', quoted);
    return j + 1;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
    } else if (c === '\n') {
      endWord();
      out.push({ t: 'op', op: ';' });
      i++;
    } else if (c === '#' && word === null) {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '\\') {
      if (src[i + 1] === '\n') i += 2;
      else {
        lit(src[i + 1] ?? '', true);
        i += 2;
      }
    } else if (c === "'") {
      const close = src.indexOf("'", i + 1);
      if (close === -1) throw new ShellSyntaxError('unterminated quoted string');
      lit(src.slice(i + 1, close), true);
      i = close + 1;
    } else if (c === '"') {
      let j = i + 1;
      word ??= [];
      for (;;) {
        if (j >= src.length) throw new ShellSyntaxError('unterminated quoted string');
        const d = src[j]!;
        if (d === '"') break;
        if (d === '\\' && j + 1 < src.length && '\\"$`\n'.includes(src[j + 1]!)) {
          if (src[j + 1] !== '\n') lit(src[j + 1]!, true);
          j += 2;
        } else if (d === '$') {
          j = dollar(j, true);
        } else if (d === '`') {
          throw new ShellSyntaxError('command substitution is not supported in this sandbox shell');
        } else {
          lit(d, true);
          j++;
        }
      }
      i = j + 1;
    } else if (c === '$') {
      i = dollar(i, false);
    } else if (c === '`' || c === '(' || c === ')') {
      throw new ShellSyntaxError(
        c === '`' ? 'command substitution is not supported in this sandbox shell' : `syntax error: unexpected "${c}"`,
      );
    } else if (c === ';' || c === '&' || c === '|') {
      endWord();
      const two = src.slice(i, i + 2);
      if (two === '&&' || two === '||' || two === ';;') {
        if (two === ';;') throw new ShellSyntaxError('syntax error: unexpected ";;"');
        out.push({ t: 'op', op: two });
        i += 2;
      } else {
        // a trailing `&` (background) runs in the foreground here
        out.push({ t: 'op', op: c === '&' ? ';' : c });
        i++;
      }
    } else if (c === '>' || c === '<') {
      let fd = c === '>' ? 1 : 0;
      const w = word;
      const single = w?.length === 1 ? w[0] : undefined;
      if (single && single.kind === 'lit' && !single.quoted && /^[0-9]$/.test(single.text)) {
        fd = Number(single.text);
        word = null;
      } else endWord();
      let op: Redirect['op'] = c === '<' ? '<' : '>';
      i++;
      if (c === '>' && src[i] === '>') {
        op = '>>';
        i++;
      } else if (c === '>' && src[i] === '&') {
        op = '>&';
        i++;
      }
      out.push({ t: 'redir', fd, op });
    } else {
      lit(c, false);
      i++;
    }
  }
  endWord();
  return out;
}

function literalText(w: Word): string | undefined {
  if (w.some((p) => p.kind !== 'lit' || p.quoted)) return undefined;
  return w.map((p) => p.text).join('');
}

export function parse(src: string): Script {
  const toks = tokenize(src);
  let i = 0;
  const script: Script = [];
  const command = (): SimpleCommand => {
    const cmd: SimpleCommand = { assigns: [], words: [], redirects: [] };
    for (;;) {
      const t = toks[i];
      if (!t || t.t === 'op') break;
      i++;
      if (t.t === 'redir') {
        const target = toks[i];
        if (!target || target.t !== 'word') throw new ShellSyntaxError('syntax error: unexpected redirection');
        i++;
        cmd.redirects.push({ fd: t.fd, op: t.op, target: target.word });
        continue;
      }
      const first = t.word[0];
      if (cmd.words.length === 0 && first?.kind === 'lit' && !first.quoted) {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(first.text);
        if (m) {
          const rest: Word = [{ ...first, text: first.text.slice(m[0].length) }, ...t.word.slice(1)].filter(
            (p) => p.text !== '' || p.kind === 'var',
          );
          cmd.assigns.push({ name: m[1]!, value: rest });
          continue;
        }
        const kw = literalText(t.word);
        if (kw !== undefined && KEYWORDS.has(kw))
          throw new ShellSyntaxError(`"${kw}" is not supported in this sandbox shell`);
      }
      cmd.words.push(t.word);
    }
    return cmd;
  };
  const pipeline = (): Pipeline => {
    const p: Pipeline = { negate: false, commands: [] };
    const t = toks[i];
    if (t?.t === 'word' && literalText(t.word) === '!') {
      p.negate = true;
      i++;
    }
    p.commands.push(command());
    while (toks[i]?.t === 'op' && (toks[i] as { op: string }).op === '|') {
      i++;
      while (toks[i]?.t === 'op' && (toks[i] as { op: string }).op === ';') i++;
      p.commands.push(command());
    }
    for (const c of p.commands) {
      if (c.words.length === 0 && c.assigns.length === 0 && c.redirects.length === 0)
        throw new ShellSyntaxError('syntax error: unexpected "|"');
    }
    return p;
  };
  while (i < toks.length) {
    const t = toks[i]!;
    if (t.t === 'op' && t.op === ';') {
      i++;
      continue;
    }
    if (t.t === 'op') throw new ShellSyntaxError(`syntax error: unexpected "${t.op}"`);
    const ao: AndOr = { first: pipeline(), rest: [] };
    for (;;) {
      const n = toks[i];
      if (n?.t !== 'op' || (n.op !== '&&' && n.op !== '||')) break;
      i++;
      while (toks[i]?.t === 'op' && (toks[i] as { op: string }).op === ';') i++;
      if (i >= toks.length) throw new ShellSyntaxError(`syntax error: unexpected end of file`);
      ao.rest.push({ op: n.op, pipeline: pipeline() });
    }
    script.push(ao);
    const n = toks[i];
    if (n && !(n.t === 'op' && n.op === ';'))
      throw new ShellSyntaxError(`syntax error: unexpected "${n.t === 'op' ? n.op : 'word'}"`);
  }
  return script;
}

/** Expand a word to fields: unquoted variable values split on whitespace, quoted ones do not. */
export function expandWord(w: Word, lookup: (name: string) => string): string[] {
  const fields: string[] = [];
  let cur = '';
  let has = false;
  for (const p of w) {
    if (p.kind === 'lit') {
      cur += p.text;
      has = true;
      continue;
    }
    const v = lookup(p.text);
    if (p.quoted) {
      cur += v;
      has = true;
      continue;
    }
    const parts = v.split(/[ \t\n]+/);
    for (let k = 0; k < parts.length; k++) {
      const s = parts[k]!;
      if (k > 0) {
        if (has || cur !== '') fields.push(cur);
        cur = '';
        has = false;
      }
      if (s !== '') {
        cur += s;
        has = true;
      }
    }
  }
  if (has || cur !== '') fields.push(cur);
  return fields;
}
