// Loads YAML manifests (CRDs and the like) the way kubectl's go-yaml does. Generated CRD files often
// continue a quoted scalar on lines indented no deeper than its key: go-yaml and PyYAML accept that,
// the `yaml` package (strict YAML 1.2) rejects it. When a document fails to parse strictly, those
// continuation lines are re-indented under their key and parsing is retried, so the same files
// kubectl applies load here too.

import { parseAllDocuments } from 'yaml';

function closesQuote(s: string, q: string): boolean {
  const t = q === "'" ? s.replaceAll("''", '') : s.replace(/\\./g, '');
  return t.includes(q);
}

/** Re-indents continuation lines of multi-line quoted scalars that sit at or left of their key. */
export function reindentQuotedScalars(src: string): string {
  let open: { q: string; indent: number } | undefined;
  return src
    .split('\n')
    .map((line) => {
      if (open) {
        const stripped = line.trimStart();
        const cur = line.length - stripped.length;
        const out = stripped && cur <= open.indent ? ' '.repeat(open.indent + 2) + stripped : line;
        if (closesQuote(stripped, open.q)) open = undefined;
        return out;
      }
      const m = /^(\s*)(- )?[^\s:#'"][^:#]*: (['"])(.*)$/.exec(line);
      if (m) {
        const indent = (m[1] ?? '').length + (m[2] ? 2 : 0);
        const q = m[3] ?? '"';
        if (!closesQuote(m[4] ?? '', q)) open = { q, indent };
      }
      return line;
    })
    .join('\n');
}

function parseStrict(src: string): { docs: unknown[]; error: string | undefined } {
  const docs = parseAllDocuments(src);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    const e = d.errors[0];
    if (e) return { docs: [], error: e.message };
  }
  return { docs: list.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined), error: undefined };
}

/**
 * Parses every document of a YAML stream (empty documents dropped). Throws an Error with the parser's
 * message when the input is not YAML even under go-yaml's leniency.
 */
export function parseManifests(src: string): unknown[] {
  const first = parseStrict(src);
  if (!first.error) return first.docs;
  const second = parseStrict(reindentQuotedScalars(src));
  if (!second.error) return second.docs;
  throw new Error(first.error);
}
