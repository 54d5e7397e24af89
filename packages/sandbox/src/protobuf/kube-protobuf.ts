// Decodes `application/vnd.kubernetes.protobuf` request bodies into the JSON form the rest of the
// sandbox works on, so kubectl's typed commands (create configmap/secret/deployment/token, auth
// can-i/whoami, drain, ...) are accepted as kube-apiserver accepts them. The wire format is
// k8s.io/apimachinery's protobuf serializer: the magic `k8s\0`, then a runtime.Unknown whose typeMeta
// names the kind and whose raw holds that kind's message. Messages come from the trimmed
// generated.proto files beside this file; the conversion then reproduces what Go's encoding/json
// writes for the decoded struct: Time/MicroTime/Quantity/IntOrString/RawExtension/FieldsV1 in their
// JSON shapes, bytes as base64, inline structs flattened, pointers kept even when zero, and plain Go
// values dropped when zero (the `omitempty` they almost all carry).
// The inverse (encodeKubeProtobuf) exists for tests and for a future protobuf response path.

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Field, Root, Type } from 'protobufjs';
import { ApiError, errors } from '../errors/status.ts';
import { KUBE_PROTOBUF_KINDS, META_V1_PKG, OPTIONS_KINDS } from './kinds.ts';

export const KUBE_PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** `k8s\0`: protoEncodingPrefix in k8s.io/apimachinery/pkg/runtime/serializer/protobuf. */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Nesting deeper than this is refused rather than risked on the stack (CRD schemas nest ~10-20 deep). */
const MAX_DEPTH = 200;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface KubeProtobufObject {
  apiVersion: string;
  kind: string;
  /** The object in Kubernetes JSON form, `apiVersion` and `kind` first. */
  object: Record<string, Json>;
}

/** What the request URL implies; used like kube's default GVK to fill an empty typeMeta and in messages. */
export interface ExpectedKind {
  apiVersion?: string;
  kind?: string;
}

interface Schema {
  unknown: Type;
  kinds: Map<string, Type>;
  options: Map<string, Type>;
}

let schema: Schema | undefined;

function loadSchema(): Schema {
  if (schema) return schema;
  const root: Root = new protobuf.Root();
  const dir = fileURLToPath(new URL('./proto/k8s.io/', import.meta.url));
  // Parsed one by one into one root: imports are satisfied by the set itself, and the gogoproto
  // options need no declaration to be kept as plain field options.
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.proto'));
  for (const f of files.sort()) protobuf.parse(readFileSync(`${dir}${f}`, 'utf8'), root, { keepCase: true });
  root.resolveAll();
  const kinds = new Map<string, Type>();
  for (const gv of KUBE_PROTOBUF_KINDS) {
    for (const k of gv.kinds) kinds.set(`${gv.apiVersion}\0${k}`, root.lookupType(`${gv.pkg}.${k}`));
  }
  const options = new Map<string, Type>();
  for (const k of OPTIONS_KINDS) options.set(k, root.lookupType(`${META_V1_PKG}.${k}`));
  schema = { unknown: root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown'), kinds, options };
  return schema;
}

function typeFor(s: Schema, apiVersion: string, kind: string): Type | undefined {
  return s.options.get(kind) ?? s.kinds.get(`${apiVersion}\0${kind}`);
}

/** The parsed .proto set (for tests and tooling that need a message type). */
export function kubeProtobufRoot(): Root {
  return loadSchema().unknown.root;
}

/** Whether decodeKubeProtobuf knows the kind (DeleteOptions under any apiVersion). */
export function isKubeProtobufKind(apiVersion: string, kind: string): boolean {
  return typeFor(loadSchema(), apiVersion, kind) !== undefined;
}

/** A conversion failure inside one object; becomes kube's "cannot be handled as a" BadRequest. */
class ConversionError extends Error {}

/**
 * Decode a protobuf request body. Throws only ApiErrors: BadRequest for a body that is not a
 * Kubernetes protobuf message, names no or an unknown kind, does not parse as that kind, or holds
 * values JSON cannot carry (integers beyond ±2^53-1, NaN, times outside years 0-9999).
 */
export function decodeKubeProtobuf(buf: Uint8Array, expected: ExpectedKind = {}): KubeProtobufObject {
  try {
    return decode(buf, expected, 0);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw errors.badRequest(`the object provided is unrecognized: ${(e as Error).message}`);
  }
}

function decode(buf: Uint8Array, expected: ExpectedKind, depth: number): KubeProtobufObject {
  const s = loadSchema();
  const data = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw unrecognized(
      expected,
      'provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    );
  }
  let unk: Record<string, unknown>;
  try {
    unk = s.unknown.decode(data.subarray(MAGIC.length));
  } catch (e) {
    throw unrecognized(expected, wireMessage(e));
  }
  const typeMeta = (own(unk, 'typeMeta') ? unk.typeMeta : {}) as Record<string, unknown>;
  const sentVersion = own(typeMeta, 'apiVersion') ? String(typeMeta.apiVersion) : '';
  const sentKind = own(typeMeta, 'kind') ? String(typeMeta.kind) : '';
  // copyKindDefaults: an empty typeMeta field is taken from what the URL implies.
  const apiVersion = sentVersion || expected.apiVersion || '';
  const kind = sentKind || expected.kind || '';
  const goTypeMeta = `runtime.TypeMeta{APIVersion:${JSON.stringify(sentVersion)}, Kind:${JSON.stringify(sentKind)}}`;
  if (!kind) throw unrecognized(expected, `Object 'Kind' is missing in '${goTypeMeta}'`);
  if (!apiVersion) throw unrecognized(expected, `Object 'apiVersion' is missing in '${goTypeMeta}'`);
  const type = typeFor(s, apiVersion, kind);
  const version = apiVersion.slice(apiVersion.indexOf('/') + 1);
  const cannotHandle = (why: string): ApiError =>
    errors.badRequest(
      `${kind} in version ${JSON.stringify(version)} cannot be handled as a ${expected.kind ?? kind}: ${why}`,
    );
  if (!type) {
    throw cannotHandle(
      `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)} in scheme "pkg/runtime/scheme.go:100"`,
    );
  }
  const raw = own(unk, 'raw') ? (unk.raw as Uint8Array) : new Uint8Array();
  let msg: Record<string, unknown>;
  try {
    msg = type.decode(raw);
  } catch (e) {
    throw cannotHandle(wireMessage(e));
  }
  const object: Record<string, Json> = { apiVersion, kind };
  try {
    fieldsToJson(type, msg, object, depth + 1);
  } catch (e) {
    if (e instanceof ConversionError) throw cannotHandle(e.message);
    if (e instanceof RangeError) throw cannotHandle('object nesting too deep');
    throw e;
  }
  return { apiVersion, kind, object };
}

function unrecognized(expected: ExpectedKind, why: string): ApiError {
  const must = expected.kind ? ` (must be of type ${expected.kind})` : '';
  return errors.badRequest(`the object provided is unrecognized${must}: ${why}`);
}

/** protobufjs's reader errors, worded like Go's proto errors where they mean the same thing. */
function wireMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return /index out of range/.test(m) ? 'unexpected EOF' : `proto: ${m}`;
}

const own = (o: object, k: string): boolean => Object.hasOwn(o, k);

function option(field: Field, name: string): unknown {
  const options: Record<string, unknown> | undefined = field.options;
  return options?.[name];
}

function jsonName(field: Field): string {
  const n = option(field, 'json_name');
  return typeof n === 'string' ? n : field.name;
}

/** A Go value rather than a pointer: Go's marshaller always writes it, so zero means unset. */
function isValueField(field: Field): boolean {
  return option(field, '(gogoproto.nullable)') === false;
}

function isEmbedded(field: Field): boolean {
  return option(field, '(gogoproto.embed)') === true;
}

function messageType(field: Field): Type | undefined {
  return field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
}

/** A JSON object whose own `__proto__` key (possible in a map) stays data, as JSON.parse leaves it. */
function put(obj: Record<string, Json>, key: string, value: Json): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

// ---- proto → JSON ----

function fieldsToJson(type: Type, msg: Record<string, unknown>, out: Record<string, Json>, depth: number): void {
  if (depth > MAX_DEPTH) throw new ConversionError('object nesting too deep');
  for (const field of type.fieldsArray) {
    if (!own(msg, field.name)) continue;
    const value = msg[field.name];
    const name = jsonName(field);
    const mt = messageType(field);
    if (field.map) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) continue;
      const obj: Record<string, Json> = {};
      for (const [k, v] of entries) put(obj, k, mt ? messageToJson(mt, v, depth + 1) : scalarToJson(field.type, v));
      put(out, name, obj);
    } else if (field.repeated) {
      const list = value as unknown[];
      if (list.length === 0) continue;
      put(
        out,
        name,
        list.map((v) => (mt ? messageToJson(mt, v, depth + 1) : scalarToJson(field.type, v))),
      );
    } else if (mt && isEmbedded(field)) {
      fieldsToJson(mt, value as Record<string, unknown>, out, depth + 1);
    } else if (mt) {
      put(out, name, messageToJson(mt, value, depth + 1));
    } else {
      const v = scalarToJson(field.type, value);
      if (isValueField(field) && (v === '' || v === 0 || v === false)) continue;
      put(out, name, v);
    }
  }
}

function messageToJson(type: Type, value: unknown, depth: number): Json {
  const msg = value as Record<string, unknown>;
  const special = SPECIAL[type.fullName];
  if (special) return special.toJson(msg, depth);
  const out: Record<string, Json> = {};
  fieldsToJson(type, msg, out, depth);
  return out;
}

function scalarToJson(type: string, v: unknown): Json {
  switch (type) {
    case 'string':
      return String(v);
    case 'bool':
      return Boolean(v);
    case 'bytes':
      return Buffer.from(v as Uint8Array).toString('base64');
    case 'int32':
    case 'uint32':
    case 'sint32':
    case 'fixed32':
    case 'sfixed32':
      return Number(v);
    case 'int64':
    case 'uint64':
    case 'sint64':
    case 'fixed64':
    case 'sfixed64':
      return longToNumber(v);
    case 'double':
    case 'float': {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new ConversionError(`json: unsupported value: ${String(n)}`);
      return n;
    }
    default:
      throw new ConversionError(`unsupported field type ${type}`);
  }
}

/** int64 as a JS number, refusing values a double cannot hold exactly rather than rounding them. */
function longToNumber(v: unknown): number {
  const text = typeof v === 'number' ? String(v) : String(v);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new ConversionError(`integer ${text} is outside the range this server represents exactly (±2^53-1)`);
  }
  return n;
}

function parseJsonBytes(raw: unknown, depth: number): Json {
  const bytes = raw as Uint8Array;
  if (bytes.length >= MAGIC.length && Buffer.from(bytes.subarray(0, MAGIC.length)).equals(MAGIC)) {
    // An embedded object encoded as protobuf (a RawExtension from a protobuf client) nests the envelope.
    return decode(bytes, {}, depth).object;
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Json;
  } catch (e) {
    throw new ConversionError(`invalid embedded JSON: ${(e as Error).message}`);
  }
}

// ---- time ----

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what Go's Time.MarshalJSON can write. */
const MIN_SECONDS = -62167219200;
const MAX_SECONDS = 253402300799;
/** Go's zero time.Time (0001-01-01T00:00:00Z), which metav1.Time marshals as null. */
const ZERO_TIME_SECONDS = -62135596800;

function timeToJson(msg: Record<string, unknown>, micro: boolean): Json {
  if (!own(msg, 'seconds') && !own(msg, 'nanos')) return null;
  let seconds = own(msg, 'seconds') ? longToNumber(msg.seconds) : 0;
  let nanos = own(msg, 'nanos') ? Number(msg.nanos) : 0;
  seconds += Math.floor(nanos / 1e9);
  nanos = ((nanos % 1e9) + 1e9) % 1e9;
  if (seconds === ZERO_TIME_SECONDS && nanos === 0) return null;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new ConversionError('Time.MarshalJSON: year outside of range [0,9999]');
  }
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function timeFromJson(v: unknown, at: string): Record<string, unknown> {
  if (v === null) return {};
  const m = typeof v === 'string' ? RFC3339.exec(v) : null;
  if (!m) throw new ConversionError(`${at}: expected an RFC 3339 time, got ${JSON.stringify(v)}`);
  const [, y, mo, d, h, mi, sec, frac, , sign, oh, om] = m;
  // setUTCFullYear, because Date.UTC reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(sec), 0);
  let seconds = date.getTime() / 1000;
  if (sign) seconds -= (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60);
  const nanos = frac ? Number(frac.padEnd(9, '0')) : 0;
  return { seconds, nanos };
}

// ---- special messages: types whose Go JSON form is not their proto shape ----

interface Special {
  toJson(msg: Record<string, unknown>, depth: number): Json;
  fromJson(v: unknown, at: string, depth: number): Record<string, unknown>;
}

const META = `.${META_V1_PKG}`;
const APIEXT = '.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1';

function schemaType(): Type {
  return kubeProtobufRoot().lookupType(`${APIEXT}.JSONSchemaProps`);
}

const bytesOf = (v: unknown, at: string): Buffer => {
  if (v === undefined) throw new ConversionError(`${at}: missing value`);
  return Buffer.from(JSON.stringify(v));
};

const extraValue: Special = {
  toJson: (msg) =>
    own(msg, 'items') && (msg.items as unknown[]).length > 0 ? (msg.items as string[]).map(String) : null,
  fromJson: (v, at) => {
    if (v === null) return {};
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      throw new ConversionError(`${at}: expected a list of strings`);
    return { items: v };
  },
};

const rawJson = (field: string): Special => ({
  toJson: (msg, depth) =>
    own(msg, field) && (msg[field] as Uint8Array).length > 0 ? parseJsonBytes(msg[field], depth) : null,
  fromJson: (v, at) => ({ [field]: bytesOf(v, at) }),
});

const SPECIAL: Record<string, Special> = {
  [`${META}.Time`]: { toJson: (m) => timeToJson(m, false), fromJson: timeFromJson },
  [`${META}.MicroTime`]: { toJson: (m) => timeToJson(m, true), fromJson: timeFromJson },
  [`${META}.FieldsV1`]: rawJson('Raw'),
  '.k8s.io.apimachinery.pkg.runtime.RawExtension': rawJson('raw'),
  [`${APIEXT}.JSON`]: rawJson('raw'),
  '.k8s.io.apimachinery.pkg.api.resource.Quantity': {
    toJson: (m) => (own(m, 'string') && m.string !== '' ? String(m.string) : '0'),
    fromJson: (v, at) => {
      if (typeof v === 'number' && Number.isFinite(v)) return { string: String(v) };
      if (typeof v !== 'string') throw new ConversionError(`${at}: expected a quantity, got ${JSON.stringify(v)}`);
      return { string: v };
    },
  },
  '.k8s.io.apimachinery.pkg.util.intstr.IntOrString': {
    toJson: (m) => {
      const isString = own(m, 'type') && longToNumber(m.type) === 1;
      if (isString) return own(m, 'strVal') ? String(m.strVal) : '';
      return own(m, 'intVal') ? Number(m.intVal) : 0;
    },
    fromJson: (v, at) => {
      if (typeof v === 'string') return { type: 1, strVal: v };
      if (typeof v === 'number' && Number.isInteger(v)) return { type: 0, intVal: v };
      throw new ConversionError(`${at}: expected an integer or a string, got ${JSON.stringify(v)}`);
    },
  },
  '.k8s.io.api.authentication.v1.ExtraValue': extraValue,
  '.k8s.io.api.authorization.v1.ExtraValue': extraValue,
  [`${APIEXT}.JSONSchemaPropsOrArray`]: {
    toJson: (m, depth) => {
      const list = own(m, 'jSONSchemas') ? (m.jSONSchemas as unknown[]) : [];
      if (list.length > 0) return list.map((x) => messageToJson(schemaType(), x, depth + 1));
      return own(m, 'schema') ? messageToJson(schemaType(), m.schema, depth + 1) : null;
    },
    fromJson: (v, at, depth) => {
      if (Array.isArray(v))
        return { jSONSchemas: v.map((x, i) => messageFromJson(schemaType(), x, `${at}[${i}]`, depth + 1)) };
      return { schema: messageFromJson(schemaType(), v, at, depth + 1) };
    },
  },
  [`${APIEXT}.JSONSchemaPropsOrBool`]: {
    toJson: (m, depth) => {
      if (own(m, 'schema')) return messageToJson(schemaType(), m.schema, depth + 1);
      return own(m, 'allows') && m.allows === true;
    },
    fromJson: (v, at, depth) => {
      if (typeof v === 'boolean') return { allows: v };
      return { allows: true, schema: messageFromJson(schemaType(), v, at, depth + 1) };
    },
  },
  [`${APIEXT}.JSONSchemaPropsOrStringArray`]: {
    toJson: (m, depth) => {
      const list = own(m, 'property') ? (m.property as unknown[]) : [];
      if (list.length > 0) return list.map(String);
      return own(m, 'schema') ? messageToJson(schemaType(), m.schema, depth + 1) : null;
    },
    fromJson: (v, at, depth) => {
      if (Array.isArray(v)) {
        if (!v.every((x) => typeof x === 'string')) throw new ConversionError(`${at}: expected a list of strings`);
        return { property: v };
      }
      return { schema: messageFromJson(schemaType(), v, at, depth + 1) };
    },
  },
};

// ---- JSON → proto (the inverse, for tests and protobuf responses) ----

/**
 * Encode an object in JSON form as kube's protobuf wire format (`k8s\0` + runtime.Unknown). Throws
 * a BadRequest ApiError for kinds decodeKubeProtobuf does not know or values of the wrong shape.
 */
export function encodeKubeProtobuf(obj: Record<string, unknown>): Buffer {
  const s = loadSchema();
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const type = typeFor(s, apiVersion, kind);
  if (!type)
    throw errors.badRequest(`no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)}`);
  let raw: Uint8Array;
  try {
    raw = type.encode(type.fromObject(messageFromJson(type, obj, '', 0))).finish();
  } catch (e) {
    if (e instanceof ConversionError) throw errors.badRequest(`${kind}: ${e.message}`);
    throw errors.badRequest(`${kind}: ${(e as Error).message}`);
  }
  const unknown = { typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '' };
  return Buffer.concat([MAGIC, s.unknown.encode(s.unknown.fromObject(unknown)).finish()]);
}

function messageFromJson(type: Type, v: unknown, at: string, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new ConversionError(`${at}: object nesting too deep`);
  const special = SPECIAL[type.fullName];
  if (special) return special.fromJson(v, at, depth);
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConversionError(`${at}: expected an object`);
  const out: Record<string, unknown> = {};
  fieldsFromJson(type, v as Record<string, unknown>, out, at, depth);
  return out;
}

function fieldsFromJson(
  type: Type,
  json: Record<string, unknown>,
  out: Record<string, unknown>,
  at: string,
  depth: number,
): void {
  for (const field of type.fieldsArray) {
    const mt = messageType(field);
    if (mt && isEmbedded(field)) {
      const inner: Record<string, unknown> = {};
      fieldsFromJson(mt, json, inner, at, depth + 1);
      out[field.name] = inner;
      continue;
    }
    const name = jsonName(field);
    if (!own(json, name)) continue;
    const v = json[name];
    const here = `${at}.${name}`;
    if (v === null && !(mt && SPECIAL[mt.fullName])) continue;
    if (field.map) {
      if (typeof v !== 'object' || Array.isArray(v)) throw new ConversionError(`${here}: expected an object`);
      const obj: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        obj[k] = mt
          ? messageFromJson(mt, x, `${here}[${k}]`, depth + 1)
          : scalarFromJson(field.type, x, `${here}[${k}]`);
      }
      out[field.name] = obj;
    } else if (field.repeated) {
      if (!Array.isArray(v)) throw new ConversionError(`${here}: expected a list`);
      out[field.name] = v.map((x, i) =>
        mt ? messageFromJson(mt, x, `${here}[${i}]`, depth + 1) : scalarFromJson(field.type, x, `${here}[${i}]`),
      );
    } else if (mt) {
      out[field.name] = messageFromJson(mt, v, here, depth + 1);
    } else {
      out[field.name] = scalarFromJson(field.type, v, here);
    }
  }
}

function scalarFromJson(type: string, v: unknown, at: string): unknown {
  const fail = (what: string): never => {
    throw new ConversionError(`${at}: expected ${what}, got ${JSON.stringify(v)}`);
  };
  switch (type) {
    case 'string':
      return typeof v === 'string' ? v : fail('a string');
    case 'bool':
      return typeof v === 'boolean' ? v : fail('a boolean');
    case 'bytes':
      return typeof v === 'string' ? Buffer.from(v, 'base64') : fail('base64 data');
    case 'double':
    case 'float':
      return typeof v === 'number' ? v : fail('a number');
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return typeof v === 'number' && Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff
        ? v
        : fail('a 32-bit integer');
    case 'uint32':
    case 'fixed32':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff
        ? v
        : fail('an unsigned 32-bit integer');
    default:
      return typeof v === 'number' && Number.isSafeInteger(v) ? v : fail('an integer');
  }
}
