// The Go-template subset: each case is what `helm template` prints for the same input (checked
// against Go text/template + Sprig semantics), plus the errors Helm raises.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TemplateSet, TemplateError, printValue, truthy } from './template.ts';

function render(src: string, data: unknown, partials = ''): string {
  const t = new TemplateSet();
  if (partials !== '') t.add('_helpers.tpl', partials);
  t.add('t.yaml', src);
  return t.execute('t.yaml', data);
}

const V = {
  Values: {
    name: 'gw',
    port: 9443,
    big: 1000000,
    on: true,
    off: false,
    empty: '',
    list: ['a', 'b'],
    map: { b: 2, a: 1 },
    nested: { deep: { x: 'y' } },
    pem: 'line1\nline2',
  },
  Release: { Name: 'rel', Namespace: 'ns' },
};

const cases: { name: string; src: string; want: string; partials?: string }[] = [
  { name: 'plain text', src: 'a: b\n', want: 'a: b\n' },
  { name: 'field', src: 'n: {{ .Values.name }}', want: 'n: gw' },
  { name: 'number prints as Go %v', src: '{{ .Values.port }}', want: '9443' },
  { name: 'large float in exponent form (Helm quirk)', src: '{{ .Values.big }}', want: '1e+06' },
  { name: 'missing key prints nothing', src: '[{{ .Values.nope }}]', want: '[]' },
  { name: 'root variable', src: '{{ $.Release.Name }}', want: 'rel' },
  { name: 'trim left', src: 'a:\n  {{- " b" }}', want: 'a: b' },
  { name: 'trim right', src: '{{ "a" -}}\n\n  b', want: 'ab' },
  { name: '{{-3}} is a number, not a trim', src: 'x {{-3}}', want: 'x -3' },
  { name: 'comment', src: 'a{{/* hidden */}}b{{- /* trimmed */ -}} c', want: 'abc' },
  { name: 'if true', src: '{{ if .Values.on }}yes{{ end }}', want: 'yes' },
  { name: 'if empty string is false', src: '{{ if .Values.empty }}yes{{ else }}no{{ end }}', want: 'no' },
  {
    name: 'else if chain',
    src: '{{ if .Values.off }}1{{ else if .Values.empty }}2{{ else if .Values.on }}3{{ else }}4{{ end }}',
    want: '3',
  },
  { name: 'range list', src: '{{ range .Values.list }}[{{ . }}]{{ end }}', want: '[a][b]' },
  {
    name: 'range map sorted by key',
    src: '{{ range $k, $v := .Values.map }}{{ $k }}={{ $v }};{{ end }}',
    want: 'a=1;b=2;',
  },
  { name: 'range else on empty', src: '{{ range .Values.nope }}x{{ else }}none{{ end }}', want: 'none' },
  { name: 'with rebinds dot', src: '{{ with .Values.nested.deep }}{{ .x }}{{ end }}', want: 'y' },
  { name: 'with else', src: '{{ with .Values.empty }}x{{ else }}{{ .Release.Name }}{{ end }}', want: 'rel' },
  { name: 'variables', src: '{{- $a := .Values.name }}{{ $a }}-{{ $a }}', want: 'gw-gw' },
  { name: 'pipeline quote', src: '{{ .Values.name | quote }}', want: '"gw"' },
  { name: 'default on empty', src: '{{ .Values.empty | default "d" }}', want: 'd' },
  { name: 'default keeps set value', src: '{{ .Values.name | default "d" }}', want: 'gw' },
  { name: 'b64enc', src: '{{ "hi" | b64enc }}', want: 'aGk=' },
  { name: 'nindent', src: 'k:{{ .Values.pem | nindent 2 }}', want: 'k:\n  line1\n  line2' },
  { name: 'toYaml sorts keys', src: '{{ toYaml .Values.map }}', want: 'a: 1\nb: 2' },
  { name: 'and returns an operand', src: '{{ and .Values.on .Values.name }}', want: 'gw' },
  { name: 'or returns the first truthy', src: '{{ or .Values.empty .Values.name }}', want: 'gw' },
  {
    name: 'not / eq / ne',
    src: '{{ not .Values.off }} {{ eq .Values.name "gw" }} {{ ne 1 2 }}',
    want: 'true true true',
  },
  { name: 'parenthesised pipeline', src: '{{ (printf "%s-%d" .Values.name 1) | quote }}', want: '"gw-1"' },
  { name: 'raw string', src: '{{ `a"b` }}', want: 'a"b' },
  {
    name: 'define and include with nindent',
    partials: '{{- define "labels" -}}\napp: {{ .Release.Name }}\n{{- end }}',
    src: 'labels:\n  {{- include "labels" . | nindent 2 }}',
    want: 'labels:\n  app: rel',
  },
];

for (const c of cases) {
  test(`template: ${c.name}`, () => {
    assert.equal(render(c.src, V, c.partials), c.want);
  });
}

const errors: { name: string; src: string; want: RegExp }[] = [
  {
    name: 'field of a missing map (Helm: nil pointer)',
    src: '{{ .Values.nope.x }}',
    want: /nil pointer evaluating interface \{\}\.x/,
  },
  { name: 'unknown function', src: '{{ frobnicate 1 }}', want: /function "frobnicate" not defined/ },
  { name: 'unclosed if', src: '{{ if .Values.on }}x', want: /missing \{\{end\}\}/ },
  { name: 'stray end', src: 'x{{ end }}', want: /unexpected \{\{end\}\}/ },
  { name: 'unclosed action', src: '{{ .Values.name ', want: /unclosed action/ },
  { name: 'fail', src: '{{ fail "boom" }}', want: /^boom$/ },
  { name: 'required on empty', src: '{{ required "need it" .Values.empty }}', want: /need it/ },
  { name: 'unsupported keyword', src: '{{ template "x" . }}', want: /not supported/ },
  { name: 'undefined variable', src: '{{ $nope }}', want: /undefined variable \$nope/ },
  { name: 'missing partial', src: '{{ include "nope" . }}', want: /no template "nope"/ },
  { name: 'printing a map', src: '{{ .Values.map }}', want: /use toYaml/ },
  { name: 'arguments to a field', src: '{{ .Values.name 1 }}', want: /non-function/ },
  { name: 'unterminated string', src: '{{ "abc }}', want: /unclosed action|unterminated string/ },
];

for (const c of errors) {
  test(`template error: ${c.name}`, () => {
    assert.throws(
      () => render(c.src, V),
      (e: unknown) => e instanceof TemplateError && c.want.test(e.message),
    );
  });
}

test('truthiness follows Go', () => {
  for (const v of [false, 0, '', null, undefined, [], {}]) assert.equal(truthy(v), false, JSON.stringify(v));
  for (const v of [true, 1, 'x', [0], { a: 1 }]) assert.equal(truthy(v), true, JSON.stringify(v));
});

test('printValue uses Go float formatting', () => {
  assert.equal(printValue(123456), '123456');
  assert.equal(printValue(1234567), '1.234567e+06');
  assert.equal(printValue(0.5), '0.5');
  assert.equal(printValue(0.00001), '1e-05');
  assert.equal(printValue(undefined), '');
});
