// Structural-schema operations kube-apiserver applies to custom resources
// (k8s.io/apiextensions-apiserver/pkg/apiserver/schema/{pruning,defaulting,listtype} and the
// kube-openapi validator behind apiserver/validation): pruning of unknown fields, `default:` values,
// and OpenAPI v3 validation whose causes carry kube's exact paths, types and wording, including the
// conversion kubeOpenAPIResultToFieldErrors does (TypeInvalid for type errors, NotSupported for enums,
// TooLong/TooMany, `<nil>` as the field of anyOf/oneOf/allOf/not failures, which run with a nil root
// path for custom resources).
//
// Not supported: `x-kubernetes-validations` (CEL rules) are skipped silently: a sandbox accepts
// objects a real cluster's CEL rules would reject. Validation ratcheting on update is not modelled.

import type { StatusCause } from '../errors/status.ts';
import { base64ErrorOffset, field, goFloat, goQuote, isDNS1123Label, isDNS1123Subdomain } from '../api/validation.ts';
import { isIP } from 'node:net';

export type Schema = Record<string, unknown>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function properties(s: Schema | undefined): Record<string, unknown> | undefined {
  return s && isRecord(s.properties) ? s.properties : undefined;
}

function propSchema(s: Schema | undefined, k: string): Schema | undefined {
  const p = properties(s)?.[k];
  return isRecord(p) ? p : undefined;
}

function itemsSchema(s: Schema | undefined): Schema | undefined {
  return s && isRecord(s.items) ? s.items : undefined;
}

function deepClone<T>(v: T): T {
  return structuredClone(v);
}

// ---------------------------------------------------------------------------------------------
// Pruning
// ---------------------------------------------------------------------------------------------

const metaFields = new Set(['apiVersion', 'kind', 'metadata']);

function childPath(path: string, k: string): string {
  return path ? `${path}.${k}` : k;
}

/**
 * Drops fields the schema does not specify (pruning.Prune with ReturnPruned). apiVersion, kind and
 * metadata survive at the root and under `x-kubernetes-embedded-resource`; everything below
 * `x-kubernetes-preserve-unknown-fields: true` survives except what a nested schema specifies.
 * `additionalProperties` keeps every key (with a schema, or none: then nested objects are emptied, as
 * kube does). The input is not modified; `removed` lists paths like `spec.foo` and `spec.list[0].bar`.
 */
export function pruneUnknown(obj: unknown, schema: Schema | undefined): { pruned: unknown; removed: string[] } {
  const pruned = deepClone(obj);
  const removed: string[] = [];
  const root: Schema = { ...(schema ?? {}), 'x-kubernetes-embedded-resource': true };
  prune(pruned, root, '', removed);
  return { pruned, removed };
}

function prune(x: unknown, s: Schema | undefined, path: string, removed: string[]): void {
  if (s && s['x-kubernetes-preserve-unknown-fields'] === true) {
    skipPrune(x, s, path, removed);
    return;
  }
  if (Array.isArray(x)) {
    x.forEach((v, i) => {
      prune(v, itemsSchema(s), `${path}[${i}]`, removed);
    });
    return;
  }
  if (!isRecord(x)) return;
  if (!s) {
    for (const k of Object.keys(x)) {
      removed.push(childPath(path, k));
      delete x[k];
    }
    return;
  }
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  for (const k of Object.keys(x)) {
    if (embedded && metaFields.has(k)) continue;
    const prop = propSchema(s, k);
    if (prop) prune(x[k], prop, childPath(path, k), removed);
    else if (s.additionalProperties !== undefined && s.additionalProperties !== null) {
      prune(x[k], isRecord(s.additionalProperties) ? s.additionalProperties : undefined, childPath(path, k), removed);
    } else {
      removed.push(childPath(path, k));
      delete x[k];
    }
  }
}

function skipPrune(x: unknown, s: Schema, path: string, removed: string[]): void {
  if (Array.isArray(x)) {
    const items = itemsSchema(s);
    if (!items) return;
    x.forEach((v, i) => {
      skipPrune(v, items, `${path}[${i}]`, removed);
    });
    return;
  }
  if (!isRecord(x)) return;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  for (const k of Object.keys(x)) {
    if (embedded && metaFields.has(k)) continue;
    const prop = propSchema(s, k);
    if (prop) prune(x[k], prop, childPath(path, k), removed);
    else if (s.additionalProperties !== undefined && s.additionalProperties !== null) {
      prune(x[k], isRecord(s.additionalProperties) ? s.additionalProperties : undefined, childPath(path, k), removed);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Defaulting
// ---------------------------------------------------------------------------------------------

function additionalSchema(s: Schema | undefined): Schema | undefined {
  return s && isRecord(s.additionalProperties) ? s.additionalProperties : undefined;
}

function hasDefault(s: Schema | undefined): s is Schema {
  return s !== undefined && s.default !== undefined && s.default !== null;
}

function isNonNullableNull(x: unknown, s: Schema | undefined): boolean {
  return x === null && s !== undefined && s.nullable !== true;
}

/** PruneNonNullableNullsWithoutDefaults: a JSON null where the schema neither allows nor defaults it is dropped. */
function pruneNulls(x: unknown, s: Schema | undefined): void {
  if (Array.isArray(x)) {
    for (const v of x) pruneNulls(v, itemsSchema(s));
    return;
  }
  if (!isRecord(x)) return;
  for (const k of Object.keys(x)) {
    const sub = propSchema(s, k) ?? additionalSchema(s);
    if (isNonNullableNull(x[k], sub) && !hasDefault(sub)) delete x[k];
    else pruneNulls(x[k], sub);
  }
}

function defaultWalk(x: unknown, s: Schema | undefined): void {
  if (!s) return;
  if (Array.isArray(x)) {
    const items = itemsSchema(s);
    for (let i = 0; i < x.length; i++) {
      if (isNonNullableNull(x[i], items) && hasDefault(items)) x[i] = deepClone(items.default);
      defaultWalk(x[i], items);
    }
    return;
  }
  if (!isRecord(x)) return;
  const props = properties(s) ?? {};
  for (const [k, raw] of Object.entries(props)) {
    const prop = isRecord(raw) ? raw : undefined;
    if (!hasDefault(prop)) continue;
    if (!(k in x) || isNonNullableNull(x[k], prop)) x[k] = deepClone(prop.default);
  }
  const ap = additionalSchema(s);
  for (const k of Object.keys(x)) {
    const prop = propSchema(s, k);
    if (prop) defaultWalk(x[k], prop);
    else if (ap) {
      if (isNonNullableNull(x[k], ap) && hasDefault(ap)) x[k] = deepClone(ap.default);
      defaultWalk(x[k], ap);
    }
  }
}

/**
 * Applies `default:` values in place and returns the same object, as kube does when decoding a
 * custom resource (on write and on read from storage): non-nullable nulls without a default are
 * removed first, then missing (or non-nullable null) fields get a deep copy of their default.
 */
export function applyDefaults<T>(obj: T, schema: Schema | undefined): T {
  if (!schema) return obj;
  pruneNulls(obj, schema);
  defaultWalk(obj, schema);
  return obj;
}

// ---------------------------------------------------------------------------------------------
// Validation (kube-openapi validate.SchemaValidator)
// ---------------------------------------------------------------------------------------------

type Code =
  | 'invalidType'
  | 'required'
  | 'tooLong'
  | 'enum'
  | 'maxItems'
  | 'tooManyProperties'
  /** any other *errors.Validation: field.Invalid(path, value, message) */
  | 'other'
  /** errors.New(...) (composite schemas, range checks): field.Invalid(<root>, "", message) */
  | 'plain';

interface KErr {
  code: Code;
  name: string;
  message: string;
  value?: unknown;
  valid?: number;
  values?: unknown[];
}

type Kind = 'string' | 'bool' | 'int' | 'float' | 'slice' | 'map' | 'null';

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (Array.isArray(v)) return 'slice';
  return 'map';
}

const IN = 'body';

function typeFailMsg(name: string, typeName: string, value: unknown): string {
  return typeof value === 'string'
    ? `${name} in ${IN} must be of type ${typeName}: ${goQuote(value)}`
    : `${name} in ${IN} must be of type ${typeName}`;
}

function invalidType(name: string, typeName: string, value: unknown): KErr {
  return { code: 'invalidType', name, message: typeFailMsg(name, typeName, value), value };
}

/** Formats kube keeps on string (or type-less) schemas; others are stripped before validation. */
const supportedStringFormats = new Set([
  'bsonobjectid',
  'uri',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'cidr',
  'mac',
  'uuid',
  'uuid3',
  'uuid4',
  'uuid5',
  'isbn',
  'isbn10',
  'isbn13',
  'creditcard',
  'ssn',
  'hexcolor',
  'rgbcolor',
  'byte',
  'password',
  'date',
  'duration',
  'datetime',
  'quantity',
  'k8sshortname',
  'k8slongname',
]);

function schemaTypes(s: Schema): string[] {
  if (s['x-kubernetes-int-or-string'] === true) return ['integer', 'string'];
  return typeof s.type === 'string' && s.type ? [s.type] : [];
}

/** StripUnsupportedFormatsPostProcess. */
function effectiveFormat(s: Schema): string {
  const f = typeof s.format === 'string' ? s.format : '';
  if (!f) return '';
  const types = schemaTypes(s);
  const t = types.length === 1 ? types[0]! : '';
  switch (t) {
    case '':
    case 'string':
      return supportedStringFormats.has(f.replaceAll('-', '')) ? f : '';
    case 'integer':
      return f === 'int32' || f === 'int64' ? f : '';
    case 'number':
      return f === 'float' || f === 'double' ? f : '';
    default:
      return '';
  }
}

const rgbPart = '(0|[1-9]\\d?|1\\d\\d?|2[0-4]\\d|25[0-5])';
const rgbRe = new RegExp(`^rgb\\(\\s*${rgbPart}\\s*,\\s*${rgbPart}\\s*,\\s*${rgbPart}\\s*\\)$`);
const hostnameRe =
  /^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$/u;
const quantityRe =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

function isGoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days;
}

function isDateTime(str: string): boolean {
  if (str.length < 4) return false;
  const s = str.toLowerCase().split('t');
  if (s.length < 2 || !isGoDate(s[0]!)) return false;
  const m = /^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$/.exec(s[1]!);
  if (!m) return false;
  return m[1]! <= '23' && m[2]! <= '59' && m[3]! <= '59';
}

const goDurationRe = /^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;
const durationUnits = [
  ['ns', 'nano'],
  ['us', 'µs', 'micro'],
  ['ms', 'milli'],
  ['s', 'sec'],
  ['m', 'min'],
  ['h', 'hr', 'hour'],
  ['d', 'day'],
  ['w', 'wk', 'week'],
];

function isDuration(s: string): boolean {
  if (goDurationRe.test(s)) return true;
  for (const m of s.matchAll(/((\d+)\s*([A-Za-zµ]+))/g)) {
    const unit = (m[3] ?? '').trim().toLowerCase();
    for (const variants of durationUnits) {
      const last = variants.length - 1;
      if (variants.some((v, i) => (i === last && unit.startsWith(v)) || v === unit)) return true;
    }
  }
  return false;
}

function isMAC(s: string): boolean {
  const groups = (sep: string, width: number): string[] | undefined => {
    const parts = s.split(sep);
    return parts.every((p) => new RegExp(`^[0-9a-fA-F]{${width}}$`).test(p)) ? parts : undefined;
  };
  for (const sep of [':', '-']) {
    const g = groups(sep, 2);
    if (g && [6, 8, 20].includes(g.length)) return true;
  }
  const d = groups('.', 4);
  return d !== undefined && [3, 4, 10].includes(d.length);
}

function luhn(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let n = Number(digits[i]);
    if (dbl) {
      n *= 2;
      if (n > 9) n -= 9;
    }
    sum += n;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

function isISBN(s: string, version: 10 | 13): boolean {
  const clean = s.replace(/[\s-]/g, '');
  if (version === 10) {
    if (!/^(?:[0-9]{9}X|[0-9]{10})$/.test(clean)) return false;
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += (i + 1) * Number(clean[i]);
    sum += clean[9] === 'X' ? 100 : 10 * Number(clean[9]);
    return sum % 11 === 0;
  }
  if (!/^(?:[0-9]{13})$/.test(clean)) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(clean[i]) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === Number(clean[12]);
}

function isCIDR(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  const fam = isIP(ip);
  if (fam === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (fam === 4 ? 32 : 128);
}

function hasControlOrSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return true;
  }
  return false;
}

const formatCheckers: Record<string, (s: string) => boolean> = {
  bsonobjectid: (s) => /^[0-9a-fA-F]{24}$/.test(s),
  uri: (s) => !hasControlOrSpace(s) && (s === '*' || s.startsWith('/') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s)),
  email: (s) => /^[^@\s<>]+@[^@\s<>]+$/.test(s) || /^[^<>]*<[^@\s<>]+@[^@\s<>]+>$/.test(s),
  hostname: (s) => hostnameRe.test(s) && s.length <= 255 && s.split('.').every((p) => Buffer.byteLength(p) <= 63),
  ipv4: (s) => isIP(s) !== 0 && s.includes('.'),
  ipv6: (s) => isIP(s) !== 0 && s.includes(':'),
  cidr: isCIDR,
  mac: isMAC,
  uuid: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s),
  uuid3: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(s),
  uuid4: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i.test(s),
  uuid5: (s) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$/i.test(s),
  isbn: (s) => isISBN(s, 10) || isISBN(s, 13),
  isbn10: (s) => isISBN(s, 10),
  isbn13: (s) => isISBN(s, 13),
  creditcard: (s) => {
    const d = s.replace(/[^0-9]/g, '');
    return (
      /^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|(222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)[0-9]{12}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11}|6[27][0-9]{14})$/.test(
        d,
      ) && luhn(d)
    );
  },
  ssn: (s) => s.length === 11 && /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(s),
  hexcolor: (s) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(s),
  rgbcolor: (s) => rgbRe.test(s),
  byte: (s) =>
    /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(s) &&
    base64ErrorOffset(s) < 0,
  password: () => true,
  date: isGoDate,
  duration: isDuration,
  datetime: isDateTime,
  quantity: (s) => quantityRe.test(s),
  k8sshortname: (s) => isDNS1123Label(s).length === 0,
  k8slongname: (s) => isDNS1123Subdomain(s).length === 0,
};

const patternCache = new Map<string, RegExp | Error>();

/** Go RE2 patterns, compiled as JS regular expressions (Unicode mode when the pattern allows it). */
function compilePattern(p: string): RegExp | Error {
  let re = patternCache.get(p);
  if (re) return re;
  try {
    re = new RegExp(p, 'u');
  } catch {
    try {
      re = new RegExp(p);
    } catch (e) {
      re = e instanceof Error ? e : new Error(String(e));
    }
  }
  patternCache.set(p, re);
  return re;
}

function jsonDeepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => jsonDeepEqual(v, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && jsonDeepEqual(a[k], b[k]));
  }
  return false;
}

/** fmt `%v` of a number held as float64 by the validator (schema bounds, float data). */
function vFloat(n: number): string {
  return goFloat(n);
}

/** `%v` of a []interface{} enum list. */
function goVList(values: unknown[]): string {
  const one = (v: unknown): string => {
    if (v === null || v === undefined) return '<nil>';
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : goFloat(v);
    if (typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) return `[${v.map(one).join(' ')}]`;
    if (isRecord(v))
      return `map[${Object.keys(v)
        .sort()
        .map((k) => `${k}:${one(v[k])}`)
        .join(' ')}]`;
    return typeof v === 'bigint' ? v.toString() : '';
  };
  return `[${values.map(one).join(' ')}]`;
}

function validateNode(data: unknown, s: Schema, path: string, out: KErr[]): void {
  const types = schemaTypes(s);
  const nullable = s.nullable === true;
  const format = effectiveFormat(s);
  const kind = kindOf(data);

  if (kind === 'null') {
    if (types.length > 0 && !types.includes('null') && !nullable) out.push(invalidType(path, types.join(','), 'null'));
    validateEnum(data, s, path, out);
    return;
  }

  // typeValidator
  if (types.length > 0 || format !== '') {
    const [schType, dataFormat] = ((): [string, string] => {
      switch (kind) {
        case 'bool':
          return ['boolean', ''];
        case 'string':
          return ['string', ''];
        case 'int':
          return ['integer', 'int64'];
        case 'float':
          return ['number', 'float64'];
        case 'slice':
          return ['array', ''];
        default:
          return ['object', ''];
      }
    })();
    const isIntFloat = schType === 'integer' && types.includes('number');
    const isLowerInt = format === 'int64' && dataFormat === 'int32';
    if (
      kind !== 'string' &&
      kind !== 'slice' &&
      format !== '' &&
      !(types.includes(schType) || dataFormat === format || isIntFloat || isLowerInt)
    ) {
      out.push(invalidType(path, format, dataFormat));
    } else if (!(
      !(types.includes('number') || types.includes('integer')) &&
      format !== '' &&
      (kind === 'string' || kind === 'slice')
    )) {
      if (!(types.includes(schType) || isIntFloat)) out.push(invalidType(path, types.join(','), schType));
    }
  }

  validateComposite(data, s, path, out);

  if (kind === 'string') {
    const str = data as string;
    validateString(str, s, path, out);
    const normalized = format.replaceAll('-', '');
    const check = formatCheckers[normalized];
    if (format && check && !check(str)) out.push(invalidType(path, format, str));
  }
  if (kind === 'int' || kind === 'float') validateNumber(data as number, kind === 'int', s, path, out);
  if (kind === 'slice') validateSlice(data as unknown[], s, path, out);
  validateEnum(data, s, path, out);
  if (kind === 'map') validateObject(data as Record<string, unknown>, s, path, out);
}

function validateString(data: string, s: Schema, path: string, out: KErr[]): void {
  let len = 0;
  for (const _ of data) len++;
  if (typeof s.maxLength === 'number' && len > s.maxLength) {
    out.push({
      code: 'tooLong',
      name: path,
      value: data,
      valid: s.maxLength,
      message: `${path} in ${IN} should be at most ${s.maxLength} chars long`,
    });
    return;
  }
  if (typeof s.minLength === 'number' && len < s.minLength) {
    out.push({
      code: 'other',
      name: path,
      value: data,
      message: `${path} in ${IN} should be at least ${s.minLength} chars long`,
    });
    return;
  }
  if (typeof s.pattern === 'string' && s.pattern) {
    const re = compilePattern(s.pattern);
    if (re instanceof Error) {
      out.push({
        code: 'other',
        name: path,
        value: data,
        message: `${path} in ${IN} should match '${s.pattern}, but pattern is invalid: ${re.message}'`,
      });
    } else if (!re.test(data)) {
      out.push({ code: 'other', name: path, value: data, message: `${path} in ${IN} should match '${s.pattern}'` });
    }
  }
}

function validateNumber(data: number, isInt: boolean, s: Schema, path: string, out: KErr[]): void {
  const mo = s.multipleOf;
  if (typeof mo === 'number') {
    if (isInt) {
      const factor = Math.trunc(mo);
      if (factor < 0)
        out.push({
          code: 'other',
          name: path,
          value: factor,
          message: `factor MultipleOf declared for ${path} must be positive: ${factor}`,
        });
      else if (factor === 0 || data % factor !== 0) {
        out.push({
          code: 'other',
          name: path,
          value: data,
          message: `${path} in ${IN} should be a multiple of ${factor}`,
        });
      }
    } else if (mo < 0) {
      out.push({
        code: 'other',
        name: path,
        value: mo,
        message: `factor MultipleOf declared for ${path} must be positive: ${vFloat(mo)}`,
      });
    } else {
      const mult = mo < 1 ? (1 / mo) * data : data / mo;
      if (!Number.isInteger(mult))
        out.push({
          code: 'other',
          name: path,
          value: data,
          message: `${path} in ${IN} should be a multiple of ${vFloat(mo)}`,
        });
    }
  }
  const bound = (limit: unknown, exclusive: boolean, isMax: boolean): void => {
    if (typeof limit !== 'number') return;
    const l = isInt ? Math.trunc(limit) : limit;
    const fails = isMax ? (exclusive ? data >= l : data > l) : exclusive ? data <= l : data < l;
    if (!fails) return;
    const rendered = isInt ? String(l) : vFloat(l);
    const rel = isMax
      ? exclusive
        ? 'less than'
        : 'less than or equal to'
      : exclusive
        ? 'greater than'
        : 'greater than or equal to';
    out.push({ code: 'other', name: path, value: data, message: `${path} in ${IN} should be ${rel} ${rendered}` });
  };
  bound(s.minimum, s.exclusiveMinimum === true, false);
  bound(s.maximum, s.exclusiveMaximum === true, true);
}

function validateSlice(data: unknown[], s: Schema, path: string, out: KErr[]): void {
  const items = itemsSchema(s);
  if (items)
    data.forEach((v, i) => {
      validateNode(v, items, `${path}[${i}]`, out);
    });
  const size = data.length;
  if (typeof s.minItems === 'number' && size < s.minItems) {
    out.push({
      code: 'other',
      name: path,
      value: size,
      message: `${path} in ${IN} should have at least ${s.minItems} items`,
    });
  }
  if (typeof s.maxItems === 'number' && size > s.maxItems) {
    out.push({
      code: 'maxItems',
      name: path,
      value: size,
      valid: s.maxItems,
      message: `${path} in ${IN} should have at most ${s.maxItems} items`,
    });
  }
  if (s.uniqueItems === true) {
    const dup = data.some((v, i) => data.slice(0, i).some((u) => jsonDeepEqual(u, v)));
    if (dup) out.push({ code: 'other', name: path, message: `${path} in ${IN} shouldn't contain duplicates` });
  }
}

function validateEnum(data: unknown, s: Schema, path: string, out: KErr[]): void {
  const en = s.enum;
  if (!Array.isArray(en) || en.length === 0) return;
  if (data !== null && data !== undefined && en.some((v) => jsonDeepEqual(v, data))) return;
  out.push({
    code: 'enum',
    name: path,
    value: data,
    values: en,
    message: `${path} in ${IN} should be one of ${goVList(en)}`,
  });
}

function validateObject(data: Record<string, unknown>, s: Schema, path: string, out: KErr[]): void {
  const n = Object.keys(data).length;
  if (typeof s.minProperties === 'number' && n < s.minProperties) {
    out.push({
      code: 'other',
      name: path,
      value: n,
      message: `${path} in ${IN} should have at least ${s.minProperties} properties`,
    });
    return;
  }
  if (typeof s.maxProperties === 'number' && n > s.maxProperties) {
    out.push({
      code: 'tooManyProperties',
      name: path,
      value: n,
      valid: s.maxProperties,
      message: `${path} in ${IN} should have at most ${s.maxProperties} properties`,
    });
    return;
  }
  const props = properties(s) ?? {};
  const ap = s.additionalProperties;
  if (ap === false) {
    for (const k of Object.keys(data)) {
      if (!(k in props))
        out.push({ code: 'other', name: path, value: k, message: `${path}.${k} in ${IN} is a forbidden property` });
    }
  } else if (isRecord(ap)) {
    for (const [k, v] of Object.entries(data)) if (!(k in props)) validateNode(v, ap, `${path}.${k}`, out);
  }
  for (const [k, raw] of Object.entries(props)) {
    if (!(k in data) || !isRecord(raw)) continue;
    validateNode(data[k], raw, path ? `${path}.${k}` : k, out);
  }
  if (Array.isArray(s.required)) {
    for (const k of s.required) {
      if (typeof k === 'string' && !(k in data))
        out.push({ code: 'required', name: `${path}.${k}`, message: `${path}.${k} in ${IN} is required` });
    }
  }
}

function subSchemas(v: unknown): Schema[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

function validateComposite(data: unknown, s: Schema, path: string, out: KErr[]): void {
  const anyOf = subSchemas(s.anyOf);
  if (anyOf.length > 0) {
    let best: KErr[] | undefined;
    let ok = false;
    for (const sub of anyOf) {
      const r: KErr[] = [];
      validateNode(data, sub, path, r);
      if (r.length === 0) {
        ok = true;
        best = undefined;
        break;
      }
      best ??= r;
    }
    if (!ok)
      out.push({ code: 'plain', name: path, message: `${goQuote(path)} must validate at least one schema (anyOf)` });
    if (best) out.push(...best);
  }
  const oneOf = subSchemas(s.oneOf);
  if (oneOf.length > 0) {
    let best: KErr[] | undefined;
    let validated = 0;
    for (const sub of oneOf) {
      const r: KErr[] = [];
      validateNode(data, sub, path, r);
      if (r.length === 0) {
        validated++;
        best = undefined;
        continue;
      }
      if (validated === 0) best ??= r;
    }
    if (validated !== 1) {
      const extra = validated === 0 ? 'Found none valid' : `Found ${validated} valid alternatives`;
      out.push({
        code: 'plain',
        name: path,
        message: `${goQuote(path)} must validate one and only one schema (oneOf). ${extra}`,
      });
      if (best) out.push(...best);
    }
  }
  const allOf = subSchemas(s.allOf);
  if (allOf.length > 0) {
    let validated = 0;
    for (const sub of allOf) {
      const r: KErr[] = [];
      validateNode(data, sub, path, r);
      if (r.length === 0) validated++;
      out.push(...r);
    }
    if (validated !== allOf.length) {
      out.push({
        code: 'plain',
        name: path,
        message: `${goQuote(path)} must validate all the schemas (allOf)${validated === 0 ? '. None validated' : ''}`,
      });
    }
  }
  if (isRecord(s.not)) {
    const r: KErr[] = [];
    validateNode(data, s.not, path, r);
    if (r.length === 0)
      out.push({ code: 'plain', name: path, message: `${goQuote(path)} must not validate the schema (not)` });
  }
}

function toCause(e: KErr, rootPath: string): StatusCause {
  const root = rootPath || '<nil>';
  if (e.code === 'plain') return field.invalid(root, '', e.message);
  const p = e.name.length > 0 && e.name !== '.' ? e.name.replace(/^\./, '') : root;
  const value = e.value === undefined ? '' : e.value;
  switch (e.code) {
    case 'required':
      return field.required(p);
    case 'enum': {
      const values = (e.values ?? []).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
      return field.notSupported(p, e.value === undefined ? null : e.value, values);
    }
    case 'tooLong':
      return field.tooLong(p, e.valid ?? -1);
    case 'maxItems':
    case 'tooManyProperties':
      return field.tooMany(p, typeof e.value === 'number' ? e.value : -1, e.valid ?? -1);
    case 'invalidType':
      return field.typeInvalid(p, value, e.message);
    default:
      return field.invalid(p, value, e.message);
  }
}

// x-kubernetes-list-type: set / map uniqueness (listtype.ValidateListSetsAndMaps)

function listTypeErrors(obj: unknown, s: Schema | undefined, path: string, out: StatusCause[]): void {
  if (!s) return;
  if (Array.isArray(obj)) {
    const lt = s['x-kubernetes-list-type'];
    if (lt === 'set') {
      for (const i of nonUnique(obj)) out.push(field.duplicate(`${path}[${i}]`, obj[i]));
    } else if (lt === 'map') {
      out.push(...listMapErrors(obj, s, path));
    }
    const items = itemsSchema(s);
    if (items)
      obj.forEach((v, i) => {
        listTypeErrors(v, items, `${path}[${i}]`, out);
      });
    return;
  }
  if (!isRecord(obj)) return;
  const ap = additionalSchema(s);
  if (ap) for (const [k, v] of Object.entries(obj)) listTypeErrors(v, ap, `${path}[${k}]`, out);
  const props = properties(s);
  if (props) {
    for (const [k, v] of Object.entries(obj)) {
      const sub = props[k];
      if (isRecord(sub)) listTypeErrors(v, sub, path ? `${path}.${k}` : k, out);
    }
  }
}

const unspecified = Symbol('unspecifiedKeyValue');

function scalarKey(v: unknown): string {
  if (v === unspecified) return 'u:';
  if (isRecord(v) || Array.isArray(v)) return `c:${JSON.stringify(canonical(v))}`;
  return `s:${typeof v}:${String(v)}`;
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isRecord(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) o[k] = canonical(v[k]);
    return o;
  }
  return v;
}

/** Indices of the second appearance of each repeated element. */
function nonUnique(list: unknown[]): number[] {
  if (list.length <= 1) return [];
  const seen = new Map<string, number>();
  const out: number[] = [];
  list.forEach((x, i) => {
    const k = scalarKey(x);
    const times = seen.get(k) ?? 0;
    if (times === 1) out.push(i);
    seen.set(k, times + 1);
  });
  return out;
}

function listMapErrors(list: unknown[], s: Schema, path: string): StatusCause[] {
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (x !== null && !isRecord(x))
      return [field.invalid(`${path}[${i}]`, x, 'must be an object for an array of list-type map')];
  }
  if (list.length <= 1) return [];
  const keyFields = Array.isArray(s['x-kubernetes-list-map-keys'])
    ? s['x-kubernetes-list-map-keys'].filter((k): k is string => typeof k === 'string')
    : [];
  const out: StatusCause[] = [];
  if (keyFields.length === 1) {
    const kf = keyFields[0]!;
    const keys = list.map((x) => (isRecord(x) && kf in x ? x[kf] : unspecified));
    for (const i of nonUnique(keys)) {
      const k = keys[i];
      out.push(field.duplicate(`${path}[${i}]`, k === unspecified ? {} : { [kf]: k }));
    }
    return out;
  }
  const keys = list.map((x) => {
    const key: Record<string, unknown> = {};
    if (isRecord(x)) for (const kf of keyFields) if (kf in x) key[kf] = x[kf];
    return key;
  });
  for (const i of nonUnique(keys)) out.push(field.duplicate(`${path}[${i}]`, keys[i]));
  return out;
}

/**
 * OpenAPI v3 validation of `obj` against a CRD version's `openAPIV3Schema`, then the list-type
 * invariants, rendered as kube-apiserver renders them for custom resources, e.g.
 * `{type: 'FieldValueRequired', message: 'Required value', field: 'spec.hubAcceptsClient'}` or
 * `{type: 'FieldValueTypeInvalid', message: 'Invalid value: "string": spec.x in body must be of type integer: "string"', field: 'spec.x'}`.
 * `rootPath` prefixes every path (for validating a value nested in a larger document, e.g. a default).
 * Run after pruneUnknown and applyDefaults, as kube does.
 */
export function validateAgainstSchema(obj: unknown, schema: Schema | undefined, rootPath = ''): StatusCause[] {
  if (!schema) return [];
  const errs: KErr[] = [];
  validateNode(obj, schema, rootPath, errs);
  const out = errs.map((e) => toCause(e, rootPath));
  listTypeErrors(obj, schema, rootPath, out);
  return out;
}
