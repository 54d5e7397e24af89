// Generates the trimmed Kubernetes `.proto` files under packages/sandbox/src/protobuf/proto/ that the
// sandbox uses to decode `application/vnd.kubernetes.protobuf` request bodies. There is no network
// here, and the wire contract that matters is the one kubectl actually speaks, so the source is the
// kubectl binary itself: Go protobuf code registers every generated.proto as a gzipped
// FileDescriptorProto, and those descriptors still carry the `(gogoproto.nullable) = false` option
// that go-to-protobuf puts on fields that are plain Go values rather than pointers. The decoder needs
// that bit (a pointer scalar that is present with its zero value, like `replicas: 0`, must survive;
// a plain value that Go always writes, like `namespace: ""`, must not), and the published
// generated.proto files strip it. Package names, message names, field names, numbers and labels are
// copied exactly; comments and messages the sandbox does not decode are dropped.
//
// apiextensions-apiserver and kube-aggregator are not compiled into kubectl: their two files are
// trimmed by hand from upstream and are not touched here.
//
// Regenerate (deterministic output; commit the .proto files):
//   cd /work/main && node_modules/.bin/node packages/sandbox/scripts/gen-kube-protos.ts [path/to/kubectl]
// The default binary is the kubectl on PATH (resolved through symlinks); the committed files came from
// kubectl v1.32.5 (/usr/lib/google-cloud-sdk/bin/kubectl.1.32 on the development machine), to match
// the kubectl the sandbox is held against; v1.33.1 works the same way and adds two messages.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync, constants as zlibConstants } from 'node:zlib';
import protobuf from 'protobufjs';
import { KUBE_PROTOBUF_KINDS, META_V1_PKG, OPTIONS_KINDS } from '../src/protobuf/kinds.ts';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'src', 'protobuf', 'proto');

/**
 * The messages to keep: the kinds the decoder accepts (src/protobuf/kinds.ts) that kubectl's
 * descriptors define, the options kinds, the envelope, and what the hand-trimmed apiextensions and
 * apiregistration files import. Everything they reference comes along.
 */
function roots(known: Set<string>): string[] {
  const out = [`.${META_V1_PKG}.ObjectMeta`, `.${META_V1_PKG}.Time`, '.k8s.io.apimachinery.pkg.runtime.Unknown'];
  for (const k of OPTIONS_KINDS) out.push(`.${META_V1_PKG}.${k}`);
  for (const gv of KUBE_PROTOBUF_KINDS) {
    if (HAND_TRIMMED.has(gv.pkg)) continue;
    for (const k of gv.kinds) out.push(`.${gv.pkg}.${k}`);
  }
  for (const r of out) if (!known.has(r)) throw new Error(`message ${r} is not in the binary's descriptors`);
  return out;
}

/** Packages whose .proto file is trimmed by hand because kubectl does not compile them in. */
const HAND_TRIMMED = new Set([
  'k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1',
  'k8s.io.kube_aggregator.pkg.apis.apiregistration.v1',
]);

interface FieldDesc {
  name: string;
  number: number;
  label: number;
  type: number;
  typeName: string;
  /** false when the descriptor says `(gogoproto.nullable) = false` (a Go value, not a pointer). */
  nullable: boolean;
  /** The Go field name (`(gogoproto.customname)`). */
  goName: string;
  inline?: boolean;
  jsonName?: string;
}

interface MessageDesc {
  fullName: string;
  name: string;
  file: string;
  mapEntry: boolean;
  fields: FieldDesc[];
}

interface FileDesc {
  name: string;
  pkg: string;
  messages: MessageDesc[];
}

const SCALARS: Record<number, string> = {
  1: 'double',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  6: 'fixed64',
  7: 'fixed32',
  8: 'bool',
  9: 'string',
  12: 'bytes',
  13: 'uint32',
  15: 'sfixed32',
  16: 'sfixed64',
  17: 'sint32',
  18: 'sint64',
};
const TYPE_MESSAGE = 11;
const LABEL_REPEATED = 3;
const LABELS: Record<number, string> = { 1: 'optional', 2: 'required', 3: 'repeated' };

/** Top-level fields of one encoded message: varints as numbers (all we read fit 32 bits), length-delimited as bytes. */
function* entries(buf: Uint8Array): Generator<[number, number | Uint8Array]> {
  const r = protobuf.Reader.create(buf);
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wire = tag & 7;
    if (wire === 0) yield [tag >>> 3, r.uint32()];
    else if (wire === 2) yield [tag >>> 3, r.bytes()];
    else r.skipType(wire);
  }
}

const text = (v: number | Uint8Array): string => (typeof v === 'number' ? String(v) : Buffer.from(v).toString('utf8'));
const num = (v: number | Uint8Array): number => (typeof v === 'number' ? v : NaN);
const bytes = (v: number | Uint8Array): Uint8Array => (typeof v === 'number' ? new Uint8Array() : v);

function parseField(buf: Uint8Array): FieldDesc {
  const f: FieldDesc = { name: '', number: 0, label: 1, type: 0, typeName: '', nullable: true, goName: '' };
  for (const [k, v] of entries(buf)) {
    if (k === 1) f.name = text(v);
    else if (k === 3) f.number = num(v);
    else if (k === 4) f.label = num(v);
    else if (k === 5) f.type = num(v);
    else if (k === 6) f.typeName = text(v);
    else if (k === 8) {
      for (const [o, ov] of entries(bytes(v))) {
        if (o === 65001) f.nullable = num(ov) !== 0;
        else if (o === 65004) f.goName = text(ov);
      }
    }
  }
  return f;
}

function parseMessage(buf: Uint8Array, scope: string, file: string, out: MessageDesc[]): void {
  const m: MessageDesc = { fullName: '', name: '', file, mapEntry: false, fields: [] };
  const nested: Uint8Array[] = [];
  for (const [k, v] of entries(buf)) {
    if (k === 1) m.name = text(v);
    else if (k === 2) m.fields.push(parseField(bytes(v)));
    else if (k === 3) nested.push(bytes(v));
    else if (k === 7) {
      for (const [o, ov] of entries(bytes(v))) if (o === 7) m.mapEntry = num(ov) !== 0;
    }
  }
  m.fullName = `${scope}.${m.name}`;
  out.push(m);
  for (const n of nested) parseMessage(n, m.fullName, file, out);
}

function parseFile(buf: Uint8Array): FileDesc {
  const f: FileDesc = { name: '', pkg: '', messages: [] };
  const raw: Uint8Array[] = [];
  for (const [k, v] of entries(buf)) {
    if (k === 1) f.name = text(v);
    else if (k === 2) f.pkg = text(v);
    else if (k === 4) raw.push(bytes(v));
  }
  for (const m of raw) parseMessage(m, `.${f.pkg}`, f.name, f.messages);
  return f;
}

/** Every gzipped FileDescriptorProto for a Kubernetes generated.proto embedded in the binary. */
function extractDescriptors(binary: Buffer): Map<string, FileDesc> {
  const files = new Map<string, FileDesc>();
  const magic = Buffer.from([0x1f, 0x8b, 0x08, 0x00]);
  for (let i = binary.indexOf(magic); i >= 0; i = binary.indexOf(magic, i + 4)) {
    let plain: Buffer;
    try {
      // Inflate the one deflate stream after the fixed 10-byte header (Go writes no optional header
      // fields): gunzip would run on into the next descriptor when two members are adjacent.
      plain = inflateRawSync(binary.subarray(i + 10, i + (1 << 20)), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      continue;
    }
    if (plain[0] !== 0x0a) continue;
    let file: FileDesc;
    try {
      file = parseFile(plain);
    } catch {
      continue;
    }
    if (file.name.startsWith('k8s.io/') && file.name.endsWith('/generated.proto') && !files.has(file.name)) {
      files.set(file.name, file);
    }
  }
  return files;
}

/**
 * What the descriptors do not say about JSON, read from the Go struct tags compiled into the same
 * binary (`json:"..." protobuf:"bytes,2,opt,name=volumeSource"`). Tag strings are shared between
 * structs, so they are keyed by proto field name and number: `inline` holds the keys of embedded
 * structs whose fields JSON flattens into the parent (`json:",inline"`), `jsonName` the few fields
 * whose JSON name is not their proto name (`aPIGroup` is `apiGroup`).
 */
interface GoTags {
  inline: Set<string>;
  /** numbers of inline tags that carry no proto name (`protobuf:"bytes,1,req"`) */
  unnamedInline: Set<number>;
  named: Map<string, Set<string>>;
}

function extractTags(binary: Buffer): GoTags {
  const tags: GoTags = { inline: new Set(), unnamedInline: new Set(), named: new Map() };
  const re = /json:"([^"]*)"(?:\s*(?:patchStrategy|patchMergeKey):"[^"]*")*\s*protobuf:"([^"]*)"/g;
  for (const m of binary.toString('latin1').matchAll(re)) {
    const json = m[1]!.split(',')[0]!;
    const parts = m[2]!.split(',');
    const number = Number(parts[1]);
    const name = parts.find((p) => p.startsWith('name='))?.slice(5);
    if (name === undefined) {
      if (json === '') tags.unnamedInline.add(number);
      continue;
    }
    const key = `${name}=${number}`;
    if (json === '') tags.inline.add(key);
    else {
      const set = tags.named.get(key) ?? new Set<string>();
      set.add(json);
      tags.named.set(key, set);
    }
  }
  return tags;
}

function annotate(index: Map<string, MessageDesc>, keep: Set<string>, tags: GoTags): void {
  for (const name of keep) {
    const m = index.get(name)!;
    for (const f of m.fields) {
      const key = `${f.name}=${f.number}`;
      const named = tags.named.get(key);
      const simpleType = f.typeName.slice(f.typeName.lastIndexOf('.') + 1);
      const embedded = f.type === TYPE_MESSAGE && f.goName === simpleType && !f.nullable;
      if (
        tags.inline.has(key) ||
        (embedded && !named && tags.unnamedInline.has(f.number) && f.name === lowerFirst(simpleType))
      ) {
        if (named) throw new Error(`${m.fullName}.${f.name}: tagged both inline and named`);
        f.inline = true;
        continue;
      }
      if (!named) continue;
      const names = [...named].filter((n) => n !== '-');
      if (names.length === 1 && names[0] !== f.name) f.jsonName = names[0]!;
      if (names.length > 1) throw new Error(`${m.fullName}.${f.name}: ambiguous JSON names ${names.join(', ')}`);
    }
  }
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);

function closure(files: Map<string, FileDesc>): { index: Map<string, MessageDesc>; keep: Set<string> } {
  const index = new Map<string, MessageDesc>();
  for (const f of files.values()) for (const m of f.messages) index.set(m.fullName, m);
  const keep = new Set<string>();
  const queue = roots(new Set(index.keys()));
  for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
    if (keep.has(name)) continue;
    const m = index.get(name);
    if (!m) throw new Error(`message ${name} is not in the binary's descriptors`);
    keep.add(name);
    for (const f of m.fields) if (f.type === TYPE_MESSAGE) queue.push(f.typeName);
  }
  return { index, keep };
}

function sourceOf(file: string): string {
  const rest = file.replace(/^k8s\.io\//, '');
  const slash = rest.indexOf('/');
  const repo = rest.slice(0, slash);
  return `kubernetes/${repo}: ${rest.slice(slash + 1)} (kubernetes/kubernetes: staging/src/${file})`;
}

function render(
  file: FileDesc,
  index: Map<string, MessageDesc>,
  keep: Set<string>,
  version: string,
): string | undefined {
  const messages = file.messages.filter((m) => keep.has(m.fullName) && !m.mapEntry);
  if (messages.length === 0) return undefined;
  const imports = new Set<string>();
  let gogo = false;
  const typeRef = (typeName: string): string => {
    const target = index.get(typeName);
    if (!target) throw new Error(`unresolved ${typeName}`);
    if (target.file !== file.name) imports.add(target.file);
    return typeName.startsWith(`.${file.pkg}.`) ? typeName.slice(file.pkg.length + 2) : typeName;
  };
  const typeOf = (f: FieldDesc): string => (f.type === TYPE_MESSAGE ? typeRef(f.typeName) : SCALARS[f.type]!);
  const body: string[] = [];
  for (const m of messages) {
    if (m.name.includes('.')) throw new Error(`nested message ${m.fullName} is not supported`);
    body.push(`message ${m.name} {`);
    for (const f of m.fields) {
      const entry = f.type === TYPE_MESSAGE ? index.get(f.typeName) : undefined;
      if (entry?.mapEntry) {
        const [k, v] = entry.fields;
        body.push(`  map<${typeOf(k!)}, ${typeOf(v!)}> ${f.name} = ${f.number};`);
        continue;
      }
      const options: string[] = [];
      if (f.jsonName !== undefined) options.push(`json_name = ${JSON.stringify(f.jsonName)}`);
      if (f.label !== LABEL_REPEATED && !f.nullable) options.push('(gogoproto.nullable) = false');
      if (f.inline) options.push('(gogoproto.embed) = true');
      if (options.some((o) => o.startsWith('(gogoproto'))) gogo = true;
      const opts = options.length > 0 ? ` [${options.join(', ')}]` : '';
      body.push(`  ${LABELS[f.label]!} ${typeOf(f)} ${f.name} = ${f.number}${opts};`);
    }
    body.push('}', '');
  }
  if (gogo) imports.add('github.com/gogo/protobuf/gogoproto/gogo.proto');
  const head = [
    `// Trimmed copy of the Kubernetes wire contract ${file.name}, as compiled into kubectl ${version}.`,
    '// Only the messages the sandbox decodes and their dependencies; package, message and field names,',
    '// numbers and labels are exact. Options carry what JSON needs from the Go types: `(gogoproto.nullable)',
    '// = false` marks Go values rather than pointers, `(gogoproto.embed) = true` structs that JSON inlines,',
    '// `json_name` a JSON name that differs from the proto name. Generated by',
    '// packages/sandbox/scripts/gen-kube-protos.ts: do not edit by hand.',
    '//',
    '// Copyright The Kubernetes Authors. Licensed under the Apache License, Version 2.0',
    '// (http://www.apache.org/licenses/LICENSE-2.0).',
    `// Source: ${sourceOf(file.name)}`,
    '',
    "syntax = 'proto2';",
    '',
    `package ${file.pkg};`,
    '',
    ...[...imports].sort().map((i) => `import "${i}";`),
    '',
  ];
  return [...head, ...body].join('\n').replace(/\n+$/, '\n');
}

function main(): void {
  const arg = process.argv[2];
  const kubectl = realpathSync(arg ?? execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim());
  const version = /Client Version: (\S+)/.exec(
    execFileSync(kubectl, ['version', '--client'], { encoding: 'utf8' }),
  )?.[1];
  if (!version) throw new Error(`cannot read the version of ${kubectl}`);
  const binary = readFileSync(kubectl);
  const files = extractDescriptors(binary);
  const { index, keep } = closure(files);
  annotate(index, keep, extractTags(binary));
  for (const name of [...keep].sort()) {
    for (const f of index.get(name)!.fields) {
      if (f.inline) console.log(`inline: ${name}.${f.name}`);
      if (f.jsonName !== undefined) console.log(`json name: ${name}.${f.name} -> ${f.jsonName}`);
    }
  }
  let written = 0;
  for (const file of [...files.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const out = render(file, index, keep, version);
    if (out === undefined) continue;
    const path = join(outDir, file.name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, out);
    written++;
    console.log(`wrote ${path}`);
  }
  console.log(`${written} files, ${keep.size} messages, from ${kubectl} (${version})`);
}

main();
