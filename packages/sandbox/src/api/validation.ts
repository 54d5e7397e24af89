// Create/update validation of builtin objects as kube-apiserver's registry strategies run it: ObjectMeta
// (apimachinery/pkg/api/validation), name formats (apimachinery/pkg/util/validation), and the essential
// per-kind rules (pkg/apis/{core,apps,rbac,coordination}/validation, kube-aggregator's APIService).
// It also owns the field.Error model every validator in the sandbox renders through, so that causes and
// the `Kind "name" is invalid: ...` message read exactly like a real cluster's (field/errors.go
// ErrorBody: Go value formatting included). Pure functions: no I/O, nothing thrown for bad input.

import type { KubeObject, ObjectMeta } from './types.ts';
import { errors, type ApiError, type StatusCause } from '../errors/status.ts';
import { validateCrd, validateCrdUpdate } from '../crd/crd-validation.ts';

// ---------------------------------------------------------------------------------------------
// field.Error: types, Go value formatting, constructors
// ---------------------------------------------------------------------------------------------

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

const typeText: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** A value already rendered the way Go's `%#v` / `String()` would print it (structs, typed maps). */
export class GoRepr {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** Go's field.omitValue: the body shows only the error type. */
export const OMIT: unique symbol = Symbol('omitValue');

/** strconv.Quote: JSON escaping, with Go's spelling of control characters. */
export function goQuote(s: string): string {
  return JSON.stringify(s)
    .replace(/\\u00([0-1][0-9a-f])/g, (_m, h: string) => {
      const c = parseInt(h, 16);
      const named: Record<number, string> = { 7: '\\a', 11: '\\v' };
      return named[c] ?? `\\x${h}`;
    })
    .replace(/\u007f/g, '\\x7f');
}

/** fmt `%v` of a float64: shortest repr, exponent form outside [1e-4, 1e21) like strconv 'g' with eprec 6. */
export function goFloat(f: number): string {
  if (!Number.isFinite(f)) return Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant = '0', expStr = '0'] = f.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  return String(f);
}

/** A JSON number as Go holds it after decoding into interface{}: int64 when integral, else float64. */
function goNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 2 ** 63 ? BigInt(n).toString() : goFloat(n);
}

/** `%#v` of a decoded JSON value (interface{} content): map[string]interface {}{...}, []interface {}{...}. */
export function goSharpV(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}(nil)';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number') {
    return goNumber(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[]interface {}{${v.map((x) => goSharpV(x)).join(', ')}}`;
  if (v instanceof GoRepr) return v.text;
  if (typeof v === 'object') {
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec).sort();
    return `map[string]interface {}{${keys.map((k) => `${goQuote(k)}:${goSharpV(rec[k])}`).join(', ')}}`;
  }
  return typeof v === 'bigint' ? v.toString() : '';
}

/** `%#v` of a []string. */
export function goStringSlice(a: readonly string[] | undefined): GoRepr {
  if (a === undefined) return new GoRepr('[]string(nil)');
  return new GoRepr(`[]string{${a.map(goQuote).join(', ')}}`);
}

/** `%#v` of a map[string]string (Go prints maps with sorted keys). */
export function goStringMap(m: Record<string, string> | undefined): GoRepr {
  if (m === undefined) return new GoRepr('map[string]string(nil)');
  const keys = Object.keys(m).sort();
  return new GoRepr(`map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`).join(', ')}}`);
}

/** ErrorBody's rendering of the bad value. */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof GoRepr) return v.text;
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number') return goNumber(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return v.toString();
  return goSharpV(v);
}

/** The text after `field: ` in kube's messages (field.Error.ErrorBody). */
export function errorBody(type: FieldErrorType, value: unknown, detail: string): string {
  let s: string;
  if (
    type === 'FieldValueRequired' ||
    type === 'FieldValueForbidden' ||
    type === 'FieldValueTooLong' ||
    type === 'InternalError' ||
    value === OMIT
  ) {
    s = typeText[type];
  } else {
    s = `${typeText[type]}: ${goValue(value)}`;
  }
  if (detail) s += `: ${detail}`;
  return s;
}

function cause(type: FieldErrorType, fieldPath: string, value: unknown, detail: string): StatusCause {
  return { type, message: errorBody(type, value, detail), field: fieldPath };
}

/** Constructors mirroring k8s.io/apimachinery/pkg/util/validation/field. */
export const field = {
  required: (path: string, detail = ''): StatusCause => cause('FieldValueRequired', path, '', detail),
  invalid: (path: string, value: unknown, detail: string): StatusCause =>
    cause('FieldValueInvalid', path, value, detail),
  typeInvalid: (path: string, value: unknown, detail: string): StatusCause =>
    cause('FieldValueTypeInvalid', path, value, detail),
  duplicate: (path: string, value: unknown): StatusCause => cause('FieldValueDuplicate', path, value, ''),
  notFound: (path: string, value: unknown): StatusCause => cause('FieldValueNotFound', path, value, ''),
  forbidden: (path: string, detail: string): StatusCause => cause('FieldValueForbidden', path, '', detail),
  notSupported: (path: string, value: unknown, valid: readonly string[]): StatusCause =>
    cause(
      'FieldValueNotSupported',
      path,
      value,
      valid.length ? `supported values: ${valid.map(goQuote).join(', ')}` : '',
    ),
  /** 1.32+ wording: `Too long: may not be more than 262144 bytes` (negative max: `value is too long`). */
  tooLong: (path: string, max: number): StatusCause =>
    cause(
      'FieldValueTooLong',
      path,
      '',
      max >= 0 ? `may not be more than ${max} ${max === 1 ? 'byte' : 'bytes'}` : 'value is too long',
    ),
  tooMany: (path: string, actual: number, max: number): StatusCause =>
    cause(
      'FieldValueTooMany',
      path,
      actual >= 0 ? actual : OMIT,
      max >= 0 ? `must have at most ${max} items` : 'has too many items',
    ),
  internal: (path: string, detail: string): StatusCause => cause('InternalError', path, null, detail),
};

/** field.Path helpers: `a.b`, `a[0]`, `a[key]`. */
export const fpath = {
  child: (base: string, ...names: string[]): string => [base, ...names].filter((s) => s !== '').join('.'),
  index: (base: string, i: number): string => `${base}[${i}]`,
  key: (base: string, k: string): string => `${base}[${k}]`,
};

/** Renders causes as the 422 kube-apiserver would return (errors.NewInvalid). */
export function invalidError(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  return errors.invalid(kind, group, name, causes);
}

// ---------------------------------------------------------------------------------------------
// Name and key formats (apimachinery/pkg/util/validation, api/validate/content)
// ---------------------------------------------------------------------------------------------

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1035LabelFmt = '[a-z]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const dns1035LabelRe = new RegExp(`^${dns1035LabelFmt}$`);
const labelKeyFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const labelKeyRe = new RegExp(`^${labelKeyFmt}$`);
const labelValueFmt = `(${labelKeyFmt})?`;
const labelValueRe = new RegExp(`^${labelValueFmt}$`);
const configMapKeyFmt = '[-._a-zA-Z0-9]+';
const configMapKeyRe = new RegExp(`^${configMapKeyFmt}$`);

export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

export function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let out = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) out += ' or ';
    out += `'${e}', `;
  });
  return `${out}regex used for validation is '${fmt}')`;
}

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!dns1123LabelRe.test(v)) {
    if (dns1123SubdomainRe.test(v)) errs.push('must not contain dots');
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          dns1123LabelFmt,
          'my-name',
          '123-abc',
        ),
      );
  }
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!dns1123SubdomainRe.test(v))
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        dns1123SubdomainFmt,
        'example.com',
      ),
    );
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!dns1035LabelRe.test(v))
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        dns1035LabelFmt,
        'my-name',
        'abc-123',
      ),
    );
  return errs;
}

/** IsQualifiedName / IsLabelKey. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split('/');
  let name: string;
  const keyMsg =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a valid label key ${regexError(keyMsg, labelKeyFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!labelKeyRe.test(name)) errs.push(`name part ${regexError(keyMsg, labelKeyFmt, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!labelValueRe.test(v))
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        labelValueFmt,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  return errs;
}

export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!configMapKeyRe.test(v))
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        configMapKeyFmt,
        'key.name',
        'KEY_NAME',
        'key-name',
      ),
    );
  if (v === '.') errs.push(`must not be '.'`);
  else if (v === '..') errs.push(`must not be '..'`);
  else if (v.startsWith('..')) errs.push(`must not start with '..'`);
  return errs;
}

export function isPathSegmentName(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return isPathSegmentPrefix(name);
}

export function isPathSegmentPrefix(name: string): string[] {
  const errs: string[] = [];
  for (const bad of ['/', '%']) if (name.includes(bad)) errs.push(`may not contain '${bad}'`);
  return errs;
}

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

export function isValidPortNum(p: number): string[] {
  return Number.isInteger(p) && p >= 1 && p <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

export function isValidPortName(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(port)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(port)) errs.push('must contain at least one letter (a-z)');
  if (port.includes('--')) errs.push('must not contain consecutive hyphens');
  if (port.length > 0 && (port.startsWith('-') || port.endsWith('-'))) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** generateName prefixes may end in '-': kube masks a trailing dash before checking. */
function maskTrailingDash(name: string): string {
  return name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}

export type NameValidatorName = 'dns1123subdomain' | 'dns1123label' | 'dns1035label' | 'path';
/** apimachinery ValidateNameFunc: (name, prefix) → messages. */
export type NameValidatorFn = (name: string, prefix: boolean) => string[];

export const nameValidators: Record<NameValidatorName, NameValidatorFn> = {
  dns1123subdomain: (n, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(n) : n),
  dns1123label: (n, prefix) => isDNS1123Label(prefix ? maskTrailingDash(n) : n),
  dns1035label: (n, prefix) => isDNS1035Label(prefix ? maskTrailingDash(n) : n),
  path: (n, prefix) => (prefix ? isPathSegmentPrefix(n) : isPathSegmentName(n)),
};

// ---------------------------------------------------------------------------------------------
// ObjectMeta
// ---------------------------------------------------------------------------------------------

export const totalAnnotationSizeLimit = 256 * 1024;
const standardFinalizers = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export interface ObjectMetaOptions {
  namespaced: boolean;
  nameValidator: NameValidatorName | NameValidatorFn;
  /**
   * core's ValidateObjectMeta (used by every kind kube-apiserver itself serves) also requires
   * finalizers without a '/' to be standard names; custom resources, CRDs and APIServices use
   * apimachinery's plain version. Defaults to false; see objectMetaOptionsForKind.
   */
  kubeFinalizers?: boolean;
}

export function validateLabels(labels: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!isRecord(labels)) return out;
  for (const [k, v] of Object.entries(labels)) {
    for (const m of isQualifiedName(k)) out.push(field.invalid(path, k, m));
    for (const m of isValidLabelValue(typeof v === 'string' ? v : String(v))) out.push(field.invalid(path, v, m));
  }
  return out;
}

export function validateAnnotations(annotations: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!isRecord(annotations)) return out;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const m of isQualifiedName(k.toLowerCase())) out.push(field.invalid(path, k, m));
    size += Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : '');
  }
  if (size > totalAnnotationSizeLimit) out.push(field.tooLong(path, totalAnnotationSizeLimit));
  return out;
}

function validateOwnerReferences(refs: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!Array.isArray(refs)) return out;
  let firstController = '';
  for (const raw of refs) {
    const ref = isRecord(raw) ? raw : {};
    const apiVersion = str(ref.apiVersion);
    const kind = str(ref.kind);
    const name = str(ref.name);
    const uid = str(ref.uid);
    const slash = apiVersion.lastIndexOf('/');
    const version = slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion;
    const group = slash >= 0 ? apiVersion.slice(0, slash) : '';
    if (!version) out.push(field.invalid(`${path}.apiVersion`, apiVersion, 'version must not be empty'));
    if (!kind) out.push(field.invalid(`${path}.kind`, kind, 'must not be empty'));
    if (!name) out.push(field.invalid(`${path}.name`, name, 'must not be empty'));
    if (!uid) out.push(field.invalid(`${path}.uid`, uid, 'must not be empty'));
    if (group === '' && version === 'v1' && kind === 'Event') {
      out.push(field.invalid(path, new GoRepr(goOwnerRef(ref)), `/v1, Kind=Event is disallowed from being an owner`));
    }
    if (ref.controller === true) {
      const cur = `${kind}/${name}`;
      if (firstController)
        out.push(
          field.invalid(
            path,
            new GoRepr(`[]v1.OwnerReference{${refs.map((r) => goOwnerRef(isRecord(r) ? r : {})).join(', ')}}`),
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      else firstController = cur;
    }
  }
  return out;
}

function goBoolPtr(v: unknown): string {
  return typeof v === 'boolean' ? `(*bool)(${v})` : '(*bool)(nil)';
}

function goOwnerRef(r: Record<string, unknown>): string {
  return `v1.OwnerReference{APIVersion:${goQuote(str(r.apiVersion))}, Kind:${goQuote(str(r.kind))}, Name:${goQuote(str(r.name))}, UID:${goQuote(str(r.uid))}, Controller:${goBoolPtr(r.controller)}, BlockOwnerDeletion:${goBoolPtr(r.blockOwnerDeletion)}}`;
}

function validateFinalizers(finalizers: unknown, path: string, kube: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  if (!Array.isArray(finalizers)) return out;
  let orphan = false;
  let foreground = false;
  for (const f of finalizers) {
    const s = str(f);
    for (const m of isQualifiedName(s)) out.push(field.invalid(path, s, m));
    if (kube && !s.includes('/') && !standardFinalizers.has(s)) {
      out.push(field.invalid(path, s, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
    if (s === 'orphan') orphan = true;
    if (s === 'foregroundDeletion') foreground = true;
  }
  if (orphan && foreground) {
    out.push(
      field.invalid(
        path,
        goStringSlice(finalizers.map(str)),
        'finalizer orphan and foregroundDeletion cannot be both set',
      ),
    );
  }
  return out;
}

/**
 * ValidateObjectMeta on create. The caller has already generated `name` from `generateName` when it
 * could (kube runs name generation before validation); a missing name with a generateName is left to
 * that step and not reported here.
 */
export function validateObjectMeta(meta: ObjectMeta | undefined, opts: ObjectMetaOptions): StatusCause[] {
  const m: ObjectMeta = meta ?? {};
  const out: StatusCause[] = [];
  const nameFn = typeof opts.nameValidator === 'function' ? opts.nameValidator : nameValidators[opts.nameValidator];
  const generateName = str(m.generateName);
  const name = str(m.name);
  if (generateName)
    for (const msg of nameFn(generateName, true)) out.push(field.invalid('metadata.generateName', generateName, msg));
  if (!name) {
    if (!generateName) out.push(field.required('metadata.name', 'name or generateName is required'));
  } else {
    for (const msg of nameFn(name, false)) out.push(field.invalid('metadata.name', name, msg));
  }
  const ns = str(m.namespace);
  if (opts.namespaced) {
    if (!ns) out.push(field.required('metadata.namespace'));
    else
      for (const msg of nameValidators.dns1123label(ns, false)) out.push(field.invalid('metadata.namespace', ns, msg));
  } else if (ns) {
    out.push(field.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  if (typeof m.generation === 'number' && m.generation < 0) {
    out.push(field.invalid('metadata.generation', m.generation, 'must be greater than or equal to 0'));
  }
  out.push(...validateLabels(m.labels, 'metadata.labels'));
  out.push(...validateAnnotations(m.annotations, 'metadata.annotations'));
  out.push(...validateOwnerReferences(m.ownerReferences, 'metadata.ownerReferences'));
  out.push(...validateFinalizers(m.finalizers, 'metadata.finalizers', opts.kubeFinalizers ?? false));
  return out;
}

/** Go's time.Time.String() of an RFC 3339 timestamp (the bad value of an immutable timestamp). */
function goTime(ts: unknown): GoRepr {
  if (typeof ts !== 'string' || !ts) return new GoRepr('0001-01-01 00:00:00 +0000 UTC');
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return new GoRepr(ts);
  const iso = d.toISOString();
  return new GoRepr(`${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`);
}

/**
 * ValidateObjectMetaUpdate minus the `resourceVersion must be specified` rule: kube's store fills the
 * stored resourceVersion into unconditional updates before validation runs, so clients never see it.
 */
export function validateUpdateMeta(oldMeta: ObjectMeta | undefined, newMeta: ObjectMeta | undefined): StatusCause[] {
  const o: ObjectMeta = oldMeta ?? {};
  const n: ObjectMeta = newMeta ?? {};
  const out: StatusCause[] = [];
  if (o.deletionTimestamp) {
    const before = new Set(o.finalizers ?? []);
    const extra = [...new Set(n.finalizers ?? [])].filter((f) => !before.has(f)).sort();
    if (extra.length) {
      out.push(
        field.forbidden(
          'metadata.finalizers',
          `no new finalizers can be added if the object is being deleted, found new finalizers ${goStringSlice(extra).text}`,
        ),
      );
    }
  }
  if ((n.generation ?? 0) < (o.generation ?? 0))
    out.push(field.invalid('metadata.generation', n.generation ?? 0, 'must not be decremented'));
  const immutable = (p: string, nv: unknown, ov: unknown, render: (v: unknown) => unknown = (v) => v ?? ''): void => {
    if ((nv ?? '') !== (ov ?? '')) out.push(field.invalid(p, render(nv), 'field is immutable'));
  };
  immutable('metadata.name', n.name, o.name);
  immutable('metadata.namespace', n.namespace, o.namespace);
  immutable('metadata.uid', n.uid, o.uid);
  immutable('metadata.creationTimestamp', n.creationTimestamp, o.creationTimestamp, goTime);
  immutable('metadata.deletionTimestamp', n.deletionTimestamp, o.deletionTimestamp, (v) =>
    v ? goTime(v) : new GoRepr('<nil>'),
  );
  immutable('metadata.deletionGracePeriodSeconds', n.deletionGracePeriodSeconds, o.deletionGracePeriodSeconds, (v) =>
    typeof v === 'number' ? v : null,
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Builtin kinds
// ---------------------------------------------------------------------------------------------

/** core MaxSecretSize: the limit on the summed size of ConfigMap/Secret data. */
const maxDataSize = 1024 * 1024;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rec(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isRecord(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = canonical(v[k]);
    return out;
  }
  return v;
}

/**
 * The offset Go's base64.StdEncoding.DecodeString reports (`illegal base64 data at input byte N`),
 * or -1 when `src` decodes. Mirrors decodeQuantum: \r and \n are skipped, a bad byte reports its own
 * index, a truncated quantum the index where the quantum started, bad padding the first '=' and
 * trailing data after padding its first byte.
 */
export function base64ErrorOffset(src: string): number {
  const alphabet = /^[A-Za-z0-9+/]$/;
  const skipNewlines = (i: number): number => {
    while (i < src.length && (src[i] === '\n' || src[i] === '\r')) i++;
    return i;
  };
  let si = 0;
  for (;;) {
    for (let j = 0; j < 4; j++) {
      if (si === src.length) return j === 0 ? -1 : si - j;
      const c = src[si]!;
      si++;
      if (alphabet.test(c)) continue;
      if (c === '\n' || c === '\r') {
        j--;
        continue;
      }
      if (c !== '=' || j < 2) return si - 1;
      if (j === 2) {
        si = skipNewlines(si);
        if (si === src.length) return src.length;
        if (src[si] !== '=') return si - 1;
        si++;
      }
      si = skipNewlines(si);
      return si < src.length ? si : -1;
    }
  }
}

/**
 * Decoding-time failures kube reports as 400 before any validation: Secret `data` and ConfigMap
 * `binaryData` values are []byte, so a non-base64 string fails JSON decoding
 * (`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 4`).
 */
export function decodeError(gr: string, obj: KubeObject): ApiError | undefined {
  const check = (kind: string, data: unknown): ApiError | undefined => {
    if (data === undefined || data === null) return undefined;
    if (!isRecord(data))
      return errors.badRequest(
        `${kind} in version "v1" cannot be handled as a ${kind}: json: cannot unmarshal ${jsonTypeName(data)} into Go struct field ${kind}.data of type map[string][]uint8`,
      );
    for (const v of Object.values(data)) {
      if (v === null) continue;
      if (typeof v !== 'string')
        return errors.badRequest(
          `${kind} in version "v1" cannot be handled as a ${kind}: json: cannot unmarshal ${jsonTypeName(v)} into Go value of type []uint8`,
        );
      const off = base64ErrorOffset(v);
      if (off >= 0)
        return errors.badRequest(
          `${kind} in version "v1" cannot be handled as a ${kind}: illegal base64 data at input byte ${off}`,
        );
    }
    return undefined;
  };
  if (gr === 'secrets') return check('Secret', obj.data);
  if (gr === 'configmaps') return check('ConfigMap', obj.binaryData);
  return undefined;
}

function jsonTypeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'object' && v !== null) return 'object';
  return 'string';
}

function validateConfigMap(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const data = rec(obj.data);
  const binary = rec(obj.binaryData);
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    total += Buffer.byteLength(str(v));
    for (const m of isConfigMapKey(k)) out.push(field.invalid(fpath.key('data', k), k, m));
    if (k in binary) out.push(field.invalid(fpath.key('data', k), k, 'duplicate of key present in binaryData'));
  }
  for (const [k, v] of Object.entries(binary)) {
    total += Buffer.from(str(v), 'base64').length;
    for (const m of isConfigMapKey(k)) out.push(field.invalid(fpath.key('binaryData', k), k, m));
  }
  if (total > maxDataSize) out.push(field.tooLong('', maxDataSize));
  return out;
}

function validateImmutableData(obj: KubeObject, old: KubeObject, keys: string[]): StatusCause[] {
  const out: StatusCause[] = [];
  if (old.immutable !== true) return out;
  if (obj.immutable !== true) out.push(field.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const k of keys) {
    if (!jsonEqual(obj[k] ?? {}, old[k] ?? {}))
      out.push(field.forbidden(k, 'field is immutable when `immutable` is set'));
  }
  return out;
}

function validateSecret(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const data = rec(obj.data);
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    total += Buffer.from(str(v), 'base64').length;
    for (const m of isConfigMapKey(k)) out.push(field.invalid(fpath.key('data', k), k, m));
  }
  if (total > maxDataSize) out.push(field.tooLong('data', maxDataSize));
  const type = str(obj.type) || 'Opaque';
  const has = (k: string): boolean => k in data;
  switch (type) {
    case 'kubernetes.io/service-account-token': {
      const ann = rec(obj.metadata.annotations);
      if (!str(ann['kubernetes.io/service-account.name'])) {
        out.push(field.required(fpath.key('metadata.annotations', 'kubernetes.io/service-account.name')));
      }
      break;
    }
    case 'kubernetes.io/dockercfg':
      if (!has('.dockercfg')) out.push(field.required(fpath.key('data', '.dockercfg')));
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (!has('.dockerconfigjson')) out.push(field.required(fpath.key('data', '.dockerconfigjson')));
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) {
        out.push(field.required(fpath.key('data', 'username')));
        out.push(field.required(fpath.key('data', 'password')));
      }
      break;
    case 'kubernetes.io/ssh-auth':
      if (!str(data['ssh-privatekey'])) out.push(field.required(fpath.key('data', 'ssh-privatekey')));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) out.push(field.required(fpath.key('data', 'tls.crt')));
      if (!has('tls.key')) out.push(field.required(fpath.key('data', 'tls.key')));
      break;
    default:
      break;
  }
  return out;
}

const serviceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const protocols = ['SCTP', 'TCP', 'UDP'];

function goServicePortKey(protocol: string, port: number): GoRepr {
  return new GoRepr(
    `core.ServicePort{Name:"", Protocol:${goQuote(protocol)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
  );
}

function validateService(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = rec(obj.spec);
  const type = str(spec.type) || 'ClusterIP';
  if (!serviceTypes.includes(type)) out.push(field.notSupported('spec.type', type, serviceTypes));
  const ports = arr(spec.ports);
  const headless = spec.clusterIP === 'None';
  if (type === 'ExternalName') {
    const en = str(spec.externalName);
    if (!en) out.push(field.required('spec.externalName'));
    else for (const m of isDNS1123Subdomain(en.replace(/\.$/, ''))) out.push(field.invalid('spec.externalName', en, m));
  } else if (ports.length === 0 && !headless) {
    out.push(field.required('spec.ports'));
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((raw, i) => {
    const p = rec(raw);
    const base = fpath.index('spec.ports', i);
    const name = str(p.name);
    if (ports.length > 1 && !name) out.push(field.required(`${base}.name`));
    else if (name) {
      for (const m of isDNS1123Label(name)) out.push(field.invalid(`${base}.name`, name, m));
      if (names.has(name)) out.push(field.duplicate(`${base}.name`, name));
    }
    names.add(name);
    const port = num(p.port) ?? 0;
    for (const m of isValidPortNum(port)) out.push(field.invalid(`${base}.port`, port, m));
    const protocol = str(p.protocol) || 'TCP';
    if (!protocols.includes(protocol)) out.push(field.notSupported(`${base}.protocol`, protocol, protocols));
    const tp = p.targetPort;
    if (typeof tp === 'number') {
      if (tp !== 0) for (const m of isValidPortNum(tp)) out.push(field.invalid(`${base}.targetPort`, tp, m));
    } else if (typeof tp === 'string' && tp !== '') {
      for (const m of isValidPortName(tp)) out.push(field.invalid(`${base}.targetPort`, tp, m));
    }
    const key = `${protocol}/${port}`;
    if (seen.has(key)) out.push(field.duplicate(base, goServicePortKey(protocol, port)));
    seen.add(key);
  });
  out.push(...validateLabels(spec.selector, 'spec.selector'));
  return out;
}

const restartPolicies = ['Always', 'OnFailure', 'Never'];

function validateContainers(list: unknown, path: string, required: boolean, names: Set<string>): StatusCause[] {
  const out: StatusCause[] = [];
  const cs = arr(list);
  if (required && cs.length === 0) out.push(field.required(path));
  cs.forEach((raw, i) => {
    const c = rec(raw);
    const base = fpath.index(path, i);
    const name = str(c.name);
    if (!name) out.push(field.required(`${base}.name`));
    else {
      for (const m of isDNS1123Label(name)) out.push(field.invalid(`${base}.name`, name, m));
      if (names.has(name)) out.push(field.duplicate(`${base}.name`, name));
      names.add(name);
    }
    if (!str(c.image).trim()) out.push(field.required(`${base}.image`));
    const ports = arr(c.ports);
    ports.forEach((pr, j) => {
      const port = rec(pr);
      const cp = num(port.containerPort) ?? 0;
      for (const m of isValidPortNum(cp))
        out.push(field.invalid(`${fpath.index(`${base}.ports`, j)}.containerPort`, cp, m));
    });
  });
  return out;
}

function validatePodSpec(specRaw: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = rec(specRaw);
  const names = new Set<string>();
  out.push(...validateContainers(spec.initContainers, `${path}.initContainers`, false, names));
  out.push(...validateContainers(spec.containers, `${path}.containers`, true, names));
  const rp = spec.restartPolicy;
  if (typeof rp === 'string' && !restartPolicies.includes(rp))
    out.push(field.notSupported(`${path}.restartPolicy`, rp, restartPolicies));
  const sa = str(spec.serviceAccountName);
  if (sa) for (const m of isDNS1123Subdomain(sa)) out.push(field.invalid(`${path}.serviceAccountName`, sa, m));
  return out;
}

/** metav1.LabelSelector as Go prints it with %#v. */
function goLabelSelector(sel: Record<string, unknown>): GoRepr {
  const ml = isRecord(sel.matchLabels)
    ? goStringMap(sel.matchLabels as Record<string, string>).text
    : 'map[string]string(nil)';
  const me = Array.isArray(sel.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${sel.matchExpressions
        .map((e) => {
          const r = rec(e);
          return `v1.LabelSelectorRequirement{Key:${goQuote(str(r.key))}, Operator:${goQuote(str(r.operator))}, Values:${goStringSlice(Array.isArray(r.values) ? r.values.map(str) : undefined).text}}`;
        })
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return new GoRepr(`&v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`);
}

/** Whether a metav1.LabelSelector matches a label set (matchLabels + matchExpressions). */
export function selectorMatches(sel: Record<string, unknown>, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(rec(sel.matchLabels))) if (labels[k] !== v) return false;
  for (const raw of arr(sel.matchExpressions)) {
    const e = rec(raw);
    const key = str(e.key);
    const values = arr(e.values).map(str);
    const has = key in labels;
    switch (str(e.operator)) {
      case 'In':
        if (!has || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function validateLabelSelector(selRaw: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const sel = rec(selRaw);
  out.push(...validateLabels(sel.matchLabels, `${path}.matchLabels`));
  arr(sel.matchExpressions).forEach((raw, i) => {
    const e = rec(raw);
    const base = fpath.index(`${path}.matchExpressions`, i);
    const op = str(e.operator);
    const values = arr(e.values);
    switch (op) {
      case 'In':
      case 'NotIn':
        if (values.length === 0)
          out.push(field.required(`${base}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0)
          out.push(
            field.forbidden(`${base}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
          );
        break;
      default:
        out.push(field.invalid(`${base}.operator`, op, 'not a valid selector operator'));
    }
    for (const m of isQualifiedName(str(e.key))) out.push(field.invalid(`${base}.key`, str(e.key), m));
  });
  return out;
}

function validateDeployment(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = rec(obj.spec);
  const replicas = num(spec.replicas);
  if (replicas !== undefined && replicas < 0)
    out.push(field.invalid('spec.replicas', replicas, 'must be greater than or equal to 0'));
  const template = rec(spec.template);
  const tmplMeta = rec(template.metadata);
  const tmplLabels = (isRecord(tmplMeta.labels) ? tmplMeta.labels : {}) as Record<string, string>;
  if (!isRecord(spec.selector)) {
    out.push(field.required('spec.selector'));
  } else {
    out.push(...validateLabelSelector(spec.selector, 'spec.selector'));
    const sel = spec.selector;
    if (Object.keys(rec(sel.matchLabels)).length + arr(sel.matchExpressions).length === 0) {
      out.push(field.invalid('spec.selector', goLabelSelector(sel), 'empty selector is invalid for deployment'));
    } else if (!selectorMatches(sel, tmplLabels)) {
      out.push(
        field.invalid(
          'spec.template.metadata.labels',
          goStringMap(isRecord(tmplMeta.labels) ? tmplLabels : undefined),
          '`selector` does not match template `labels`',
        ),
      );
    }
  }
  out.push(...validateLabels(tmplMeta.labels, 'spec.template.metadata.labels'));
  out.push(...validatePodSpec(template.spec, 'spec.template.spec'));
  const rp = rec(template.spec).restartPolicy;
  if (typeof rp === 'string' && rp !== 'Always' && restartPolicies.includes(rp)) {
    out.push(field.notSupported('spec.template.spec.restartPolicy', rp, ['Always']));
  }
  const strategy = rec(spec.strategy);
  const st = strategy.type;
  if (typeof st === 'string' && st !== 'Recreate' && st !== 'RollingUpdate') {
    out.push(field.notSupported('spec.strategy.type', st, ['Recreate', 'RollingUpdate']));
  }
  if (st === 'Recreate' && strategy.rollingUpdate !== undefined && strategy.rollingUpdate !== null) {
    out.push(field.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  }
  const mrh = num(spec.revisionHistoryLimit);
  if (mrh !== undefined && mrh < 0)
    out.push(field.invalid('spec.revisionHistoryLimit', mrh, 'must be greater than or equal to 0'));
  const mrs = num(spec.minReadySeconds);
  if (mrs !== undefined && mrs < 0)
    out.push(field.invalid('spec.minReadySeconds', mrs, 'must be greater than or equal to 0'));
  return out;
}

function validateDeploymentUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const sel = rec(obj.spec).selector;
  const oldSel = rec(old.spec).selector;
  if (!jsonEqual(sel ?? null, oldSel ?? null)) {
    return [
      field.invalid(
        'spec.selector',
        isRecord(sel) ? goLabelSelector(sel) : new GoRepr('(*v1.LabelSelector)(nil)'),
        'field is immutable',
      ),
    ];
  }
  return [];
}

const rbacGroup = 'rbac.authorization.k8s.io';

function validatePolicyRules(rules: unknown, path: string, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  arr(rules).forEach((raw, i) => {
    const r = rec(raw);
    const base = fpath.index(path, i);
    if (arr(r.verbs).length === 0) out.push(field.required(`${base}.verbs`, 'verbs must contain at least one value'));
    const urls = arr(r.nonResourceURLs).map(str);
    if (urls.length > 0) {
      if (namespaced)
        out.push(
          field.invalid(
            `${base}.nonResourceURLs`,
            goStringSlice(urls),
            'namespaced rules cannot apply to non-resource URLs',
          ),
        );
      if (arr(r.apiGroups).length > 0 || arr(r.resources).length > 0 || arr(r.resourceNames).length > 0) {
        out.push(
          field.invalid(
            `${base}.nonResourceURLs`,
            goStringSlice(urls),
            'rules cannot apply to both regular resources and non-resource URLs',
          ),
        );
      }
      return;
    }
    if (arr(r.apiGroups).length === 0)
      out.push(field.required(`${base}.apiGroups`, 'resource rules must supply at least one api group'));
    if (arr(r.resources).length === 0)
      out.push(field.required(`${base}.resources`, 'resource rules must supply at least one resource'));
  });
  return out;
}

function validateClusterRole(obj: KubeObject): StatusCause[] {
  const out = validatePolicyRules(obj.rules, 'rules', false);
  const agg = obj.aggregationRule;
  if (isRecord(agg)) {
    const sels = arr(agg.clusterRoleSelectors);
    if (sels.length === 0) {
      out.push(
        field.required(
          'aggregationRule.clusterRoleSelectors',
          'at least one clusterRoleSelector required if aggregationRule is non-nil',
        ),
      );
    }
    sels.forEach((s, i) =>
      out.push(...validateLabelSelector(s, fpath.index('aggregationRule.clusterRoleSelectors', i))),
    );
  }
  return out;
}

function validateSubjects(subjects: unknown, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  arr(subjects).forEach((raw, i) => {
    const s = rec(raw);
    const base = fpath.index('subjects', i);
    const name = str(s.name);
    const apiGroup = str(s.apiGroup);
    if (!name) out.push(field.required(`${base}.name`));
    switch (str(s.kind)) {
      case 'ServiceAccount':
        if (name) for (const m of isDNS1123Subdomain(name)) out.push(field.invalid(`${base}.name`, name, m));
        if (apiGroup) out.push(field.notSupported(`${base}.apiGroup`, apiGroup, ['']));
        if (!namespaced && !str(s.namespace)) out.push(field.required(`${base}.namespace`));
        break;
      case 'User':
      case 'Group':
        // v1 defaulting fills an empty apiGroup before validation runs
        if (apiGroup && apiGroup !== rbacGroup) out.push(field.notSupported(`${base}.apiGroup`, apiGroup, [rbacGroup]));
        break;
      default:
        out.push(field.notSupported(`${base}.kind`, str(s.kind), ['ServiceAccount', 'User', 'Group']));
    }
  });
  return out;
}

function validateBinding(obj: KubeObject, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  const ref = rec(obj.roleRef);
  const apiGroup = str(ref.apiGroup);
  if (apiGroup !== rbacGroup) out.push(field.notSupported('roleRef.apiGroup', apiGroup, [rbacGroup]));
  const kind = str(ref.kind);
  if (namespaced) {
    if (kind !== 'Role' && kind !== 'ClusterRole')
      out.push(field.notSupported('roleRef.kind', kind, ['Role', 'ClusterRole']));
  } else if (kind !== 'ClusterRole') {
    out.push(field.notSupported('roleRef.kind', kind, ['ClusterRole']));
  }
  const name = str(ref.name);
  if (!name) out.push(field.required('roleRef.name'));
  else for (const m of isPathSegmentName(name)) out.push(field.invalid('roleRef.name', name, m));
  out.push(...validateSubjects(obj.subjects, namespaced));
  return out;
}

function goRoleRef(ref: Record<string, unknown>): GoRepr {
  return new GoRepr(
    `rbac.RoleRef{APIGroup:${goQuote(str(ref.apiGroup))}, Kind:${goQuote(str(ref.kind))}, Name:${goQuote(str(ref.name))}}`,
  );
}

function validateBindingUpdate(obj: KubeObject, old: KubeObject): StatusCause[] {
  const n = rec(obj.roleRef);
  const o = rec(old.roleRef);
  if (str(n.apiGroup) !== str(o.apiGroup) || str(n.kind) !== str(o.kind) || str(n.name) !== str(o.name)) {
    return [field.invalid('roleRef', goRoleRef(n), 'cannot change roleRef')];
  }
  return [];
}

function validateLease(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = rec(obj.spec);
  const d = num(spec.leaseDurationSeconds);
  if (d !== undefined && d <= 0) out.push(field.invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
  const t = num(spec.leaseTransitions);
  if (t !== undefined && t < 0)
    out.push(field.invalid('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
  return out;
}

function validateAPIService(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = rec(obj.spec);
  const group = str(spec.group);
  const version = str(spec.version);
  const requiredName = `${version}.${group}`;
  // the path-segment part of the name rule is applied by validateObjectMeta (nameValidator 'path')
  for (const [p, v] of [
    ['metadata.generateName', str(obj.metadata.generateName)],
    ['metadata.name', str(obj.metadata.name)],
  ] as const) {
    if (v && isPathSegmentName(v).length === 0 && v !== requiredName) {
      out.push(field.invalid(p, v, `must be \`spec.version+"."+spec.group\`: ${goQuote(requiredName)}`));
    }
  }
  if (!group && version !== 'v1')
    out.push(field.required('spec.group', 'only v1 may have an empty group and it better be legacy kube'));
  if (group) for (const m of isDNS1123Subdomain(group)) out.push(field.invalid('spec.group', group, m));
  for (const m of isDNS1035Label(version)) out.push(field.invalid('spec.version', version, m));
  const gpm = num(spec.groupPriorityMinimum) ?? 0;
  if (gpm <= 0 || gpm > 20000)
    out.push(field.invalid('spec.groupPriorityMinimum', gpm, 'must be positive and less than 20000'));
  const vp = num(spec.versionPriority) ?? 0;
  if (vp <= 0 || vp > 1000) out.push(field.invalid('spec.versionPriority', vp, 'must be positive and less than 1000'));
  const caLen = Buffer.from(str(spec.caBundle), 'base64').length;
  const insecure = spec.insecureSkipTLSVerify === true;
  const svc = spec.service;
  if (!isRecord(svc)) {
    if (caLen) out.push(field.invalid('spec.caBundle', `${caLen} bytes`, 'local APIServices may not have a caBundle'));
    if (insecure)
      out.push(
        field.invalid('spec.insecureSkipTLSVerify', true, 'local APIServices may not have insecureSkipTLSVerify'),
      );
    return out;
  }
  if (!str(svc.namespace)) out.push(field.required('spec.service.namespace'));
  if (!str(svc.name)) out.push(field.required('spec.service.name'));
  // v1 defaulting sets an unset port to 443
  const port = num(svc.port) ?? 443;
  const perrs = isValidPortNum(port);
  if (perrs.length) out.push(field.invalid('spec.service.port', port, `port is not valid: ${perrs.join(', ')}`));
  if (insecure && caLen > 0)
    out.push(field.invalid('spec.insecureSkipTLSVerify', true, 'may not be true if caBundle is present'));
  return out;
}

function validateNamespace(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  for (const f of arr(rec(obj.spec).finalizers)) {
    const s = str(f);
    for (const m of isQualifiedName(s)) out.push(field.invalid('spec.finalizers', s, m));
    if (!s.includes('/') && !standardFinalizers.has(s)) {
      out.push(
        field.invalid('spec.finalizers', s, 'name is neither a standard finalizer name nor is it fully qualified'),
      );
    }
  }
  return out;
}

function validateServiceAccount(obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  arr(obj.secrets).forEach((raw, i) => {
    const n = str(rec(raw).name);
    if (n) for (const m of isDNS1123Subdomain(n)) out.push(field.invalid(`${fpath.index('secrets', i)}.name`, n, m));
  });
  arr(obj.imagePullSecrets).forEach((raw, i) => {
    const n = str(rec(raw).name);
    if (n)
      for (const m of isDNS1123Subdomain(n))
        out.push(field.invalid(`${fpath.index('imagePullSecrets', i)}.name`, n, m));
  });
  return out;
}

/** The name rule kube applies to each builtin kind (ValidateNameFunc used by its ValidateObjectMeta call). */
export function nameValidatorForKind(gr: string): NameValidatorName {
  switch (gr) {
    case 'namespaces':
      return 'dns1123label';
    case 'services':
      return 'dns1035label';
    case 'roles.rbac.authorization.k8s.io':
    case 'clusterroles.rbac.authorization.k8s.io':
    case 'rolebindings.rbac.authorization.k8s.io':
    case 'clusterrolebindings.rbac.authorization.k8s.io':
    case 'apiservices.apiregistration.k8s.io':
      return 'path';
    default:
      return 'dns1123subdomain';
  }
}

/** The ObjectMeta rules kube applies to a builtin kind (custom resources: `{namespaced, nameValidator: 'dns1123subdomain'}`). */
export function objectMetaOptionsForKind(gr: string, namespaced: boolean): ObjectMetaOptions {
  const generic =
    gr === 'customresourcedefinitions.apiextensions.k8s.io' || gr === 'apiservices.apiregistration.k8s.io';
  return { namespaced, nameValidator: nameValidatorForKind(gr), kubeFinalizers: !generic };
}

/**
 * Kind-specific create/update validation for builtin resources, keyed by storage key (`configmaps`,
 * `deployments.apps`). ObjectMeta is validated separately (validateObjectMeta / validateUpdateMeta)
 * except for rules a kind adds to it (APIService and CRD names). With `old`, the update-only rules
 * (immutability) run as well. Unknown kinds validate nothing.
 */
export function validateBuiltin(gr: string, obj: KubeObject, old?: KubeObject): StatusCause[] {
  switch (gr) {
    case 'configmaps':
      return [...(old ? validateImmutableData(obj, old, ['data', 'binaryData']) : []), ...validateConfigMap(obj)];
    case 'secrets': {
      const out: StatusCause[] = [];
      if (old) {
        const nt = str(obj.type) || 'Opaque';
        const ot = str(old.type) || 'Opaque';
        if (nt !== ot) out.push(field.invalid('type', nt, 'field is immutable'));
        out.push(...validateImmutableData(obj, old, ['data']));
      }
      return [...out, ...validateSecret(obj)];
    }
    case 'services':
      return validateService(obj);
    case 'serviceaccounts':
      return validateServiceAccount(obj);
    case 'pods':
      return validatePodSpec(obj.spec, 'spec');
    case 'namespaces':
      return validateNamespace(obj);
    case 'deployments.apps':
      return [...validateDeployment(obj), ...(old ? validateDeploymentUpdate(obj, old) : [])];
    case 'roles.rbac.authorization.k8s.io':
      return validatePolicyRules(obj.rules, 'rules', true);
    case 'clusterroles.rbac.authorization.k8s.io':
      return validateClusterRole(obj);
    case 'rolebindings.rbac.authorization.k8s.io':
      return [...validateBinding(obj, true), ...(old ? validateBindingUpdate(obj, old) : [])];
    case 'clusterrolebindings.rbac.authorization.k8s.io':
      return [...validateBinding(obj, false), ...(old ? validateBindingUpdate(obj, old) : [])];
    case 'leases.coordination.k8s.io':
      return validateLease(obj);
    case 'apiservices.apiregistration.k8s.io':
      return validateAPIService(obj);
    case 'customresourcedefinitions.apiextensions.k8s.io':
      return old ? validateCrdUpdate(obj, old, { meta: false }) : validateCrd(obj, { meta: false });
    default:
      return [];
  }
}
