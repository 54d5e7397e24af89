// apiextensions.k8s.io/v1 CustomResourceDefinitions as kube-apiserver handles them: static validation
// (apiextensions/validation: names, scope, versions, v1's required structural schemas, subresources,
// printer columns, conversion), the defaults v1 sets, the status the naming and establishing
// controllers write, and the ResourceInfos an established CRD serves. Pure functions.
//
// Field paths are those kube reports for a v1 object (`spec.versions[0].schema.openAPIV3Schema...`);
// where kube prints a Go struct as the bad value (`spec.versions`), the struct is rendered in Go's
// `%#v` style with pointers shown as nil/non-nil markers, since real addresses are meaningless.

import type { CrdVersionInfo, KubeObject, PrinterColumn, ResourceInfo } from '../api/types.ts';
import type { StatusCause } from '../errors/status.ts';
import {
  GoRepr,
  field,
  fpath,
  goQuote,
  goStringSlice,
  isDNS1035Label,
  isDNS1123Subdomain,
  validateObjectMeta,
} from '../api/validation.ts';
import { validateAgainstSchema, type Schema } from './schema.ts';

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

function strs(v: unknown): string[] {
  return arr(v).filter((x): x is string => typeof x === 'string');
}

// ---------------------------------------------------------------------------------------------
// Go renderings of CRD structs (bad values of version-list errors)
// ---------------------------------------------------------------------------------------------

function goPtr(type: string, v: unknown): string {
  return v === undefined || v === null ? `(*${type})(nil)` : `(*${type})(0xc000000000)`;
}

function goVersion(v: Record<string, unknown>): string {
  const cols = arr(v.additionalPrinterColumns);
  const sel = arr(v.selectableFields);
  return (
    `apiextensions.CustomResourceDefinitionVersion{Name:${goQuote(str(v.name))}, Served:${v.served === true}, Storage:${v.storage === true}, ` +
    `Deprecated:${v.deprecated === true}, DeprecationWarning:${goPtr('string', v.deprecationWarning)}, ` +
    `Schema:${goPtr('apiextensions.CustomResourceValidation', v.schema)}, Subresources:${goPtr('apiextensions.CustomResourceSubresources', v.subresources)}, ` +
    `AdditionalPrinterColumns:[]apiextensions.CustomResourceColumnDefinition${cols.length ? `{/* ${cols.length} */}` : '(nil)'}, ` +
    `SelectableFields:[]apiextensions.SelectableField${sel.length ? `{/* ${sel.length} */}` : '(nil)'}}`
  );
}

function goVersions(versions: unknown): GoRepr {
  const list = arr(versions);
  if (!Array.isArray(versions)) return new GoRepr('[]apiextensions.CustomResourceDefinitionVersion(nil)');
  return new GoRepr(
    `[]apiextensions.CustomResourceDefinitionVersion{${list.map((v) => goVersion(rec(v))).join(', ')}}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

function validateNames(namesRaw: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const names = rec(namesRaw);
  const plural = str(names.plural);
  const singular = str(names.singular);
  const kind = str(names.kind);
  const listKind = str(names.listKind);
  if (plural) {
    const e = isDNS1035Label(plural);
    if (e.length) out.push(field.invalid(`${path}.plural`, plural, e.join(',')));
  }
  if (singular) {
    const e = isDNS1035Label(singular);
    if (e.length) out.push(field.invalid(`${path}.singular`, singular, e.join(',')));
  }
  if (kind) {
    const e = isDNS1035Label(kind.toLowerCase());
    if (e.length)
      out.push(field.invalid(`${path}.kind`, kind, `may have mixed case, but should otherwise match: ${e.join(',')}`));
  }
  if (listKind) {
    const e = isDNS1035Label(listKind.toLowerCase());
    if (e.length)
      out.push(
        field.invalid(`${path}.listKind`, listKind, `may have mixed case, but should otherwise match: ${e.join(',')}`),
      );
  }
  strs(names.shortNames).forEach((s, i) => {
    const e = isDNS1035Label(s);
    if (e.length) out.push(field.invalid(fpath.index(`${path}.shortNames`, i), s, e.join(',')));
  });
  if (kind && kind === listKind)
    out.push(field.invalid(`${path}.listKind`, listKind, 'kind and listKind may not be the same'));
  strs(names.categories).forEach((c, i) => {
    const e = isDNS1035Label(c);
    if (e.length) out.push(field.invalid(fpath.index(`${path}.categories`, i), c, e.join(',')));
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Schemas: OpenAPI restrictions, structural invariants, defaults
// ---------------------------------------------------------------------------------------------

/** The JSONSchemaProps Go field names kube lists for a status-enabled root schema, with their JSON keys. */
const rootFields: [string, string][] = [
  ['Description', 'description'],
  ['Type', 'type'],
  ['Format', 'format'],
  ['Title', 'title'],
  ['Maximum', 'maximum'],
  ['ExclusiveMaximum', 'exclusiveMaximum'],
  ['Minimum', 'minimum'],
  ['ExclusiveMinimum', 'exclusiveMinimum'],
  ['MaxLength', 'maxLength'],
  ['MinLength', 'minLength'],
  ['Pattern', 'pattern'],
  ['MaxItems', 'maxItems'],
  ['MinItems', 'minItems'],
  ['UniqueItems', 'uniqueItems'],
  ['MultipleOf', 'multipleOf'],
  ['Required', 'required'],
  ['Items', 'items'],
  ['Properties', 'properties'],
  ['ExternalDocs', 'externalDocs'],
  ['Example', 'example'],
  ['XPreserveUnknownFields', 'x-kubernetes-preserve-unknown-fields'],
  ['XValidations', 'x-kubernetes-validations'],
];

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (isRecord(v)) return Object.keys(v).length === 0;
  return false;
}

function goSchema(s: Schema): GoRepr {
  const keys = Object.keys(s).filter((k) => !isZero(s[k]));
  return new GoRepr(`apiextensions.JSONSchemaProps{/* ${keys.join(', ')} */}`);
}

/** ValidateCustomResourceDefinitionOpenAPISchema + specStandardValidatorV3, recursively. */
function validateOpenAPISchema(s: Schema | undefined, path: string, out: StatusCause[]): void {
  if (!s) return;
  if (s.id !== undefined && s.id !== '') out.push(field.forbidden(`${path}.id`, 'id is not supported'));
  if (s.additionalItems !== undefined)
    out.push(field.forbidden(`${path}.additionalItems`, 'additionalItems is not supported'));
  if (isRecord(s.patternProperties) && Object.keys(s.patternProperties).length) {
    out.push(field.forbidden(`${path}.patternProperties`, 'patternProperties is not supported'));
  }
  if (isRecord(s.definitions) && Object.keys(s.definitions).length)
    out.push(field.forbidden(`${path}.definitions`, 'definitions is not supported'));
  if (s.dependencies !== undefined) out.push(field.forbidden(`${path}.dependencies`, 'dependencies is not supported'));
  if (s.$ref !== undefined) out.push(field.forbidden(`${path}.$ref`, '$ref is not supported'));
  if (s.type === 'null') out.push(field.forbidden(`${path}.type`, 'type cannot be set to null'));
  if (Array.isArray(s.items))
    out.push(field.forbidden(`${path}.items`, 'items must be a schema object and not an array'));
  if (s['x-kubernetes-preserve-unknown-fields'] === false) {
    out.push(field.invalid(`${path}.x-kubernetes-preserve-unknown-fields`, false, 'must be true or undefined'));
  }
  const type = str(s.type);
  const mapType = s['x-kubernetes-map-type'];
  if (typeof mapType === 'string') {
    if (type !== 'object') {
      if (!type) out.push(field.required(`${path}.type`, 'must be object if x-kubernetes-map-type is specified'));
      else out.push(field.invalid(`${path}.type`, type, 'must be object if x-kubernetes-map-type is specified'));
    }
    if (mapType !== 'atomic' && mapType !== 'granular')
      out.push(field.notSupported(`${path}.x-kubernetes-map-type`, mapType, ['atomic', 'granular']));
  }
  const listType = s['x-kubernetes-list-type'];
  const mapKeys = strs(s['x-kubernetes-list-map-keys']);
  const items = isRecord(s.items) ? s.items : undefined;
  if (typeof listType === 'string') {
    if (type !== 'array') {
      if (!type) out.push(field.required(`${path}.type`, 'must be array if x-kubernetes-list-type is specified'));
      else out.push(field.invalid(`${path}.type`, type, 'must be array if x-kubernetes-list-type is specified'));
    } else if (listType === 'set' && items) {
      if (
        items.type === 'array' &&
        typeof items['x-kubernetes-list-type'] === 'string' &&
        items['x-kubernetes-list-type'] !== 'atomic'
      ) {
        out.push(
          field.invalid(
            `${path}.items.x-kubernetes-list-type`,
            items['x-kubernetes-list-type'],
            'must be atomic as item of a list with x-kubernetes-list-type=set',
          ),
        );
      }
      if (items.type === 'object' && items['x-kubernetes-map-type'] !== 'atomic') {
        out.push(
          field.invalid(
            `${path}.items.x-kubernetes-map-type`,
            listType,
            'must be atomic as item of a list with x-kubernetes-list-type=set',
          ),
        );
      }
    }
    if (listType !== 'atomic' && listType !== 'set' && listType !== 'map') {
      out.push(field.notSupported(`${path}.x-kubernetes-list-type`, listType, ['atomic', 'set', 'map']));
    }
  }
  if (mapKeys.length > 0) {
    if (typeof listType !== 'string')
      out.push(
        field.required(`${path}.x-kubernetes-list-type`, 'must be map if x-kubernetes-list-map-keys is non-empty'),
      );
    else if (listType !== 'map')
      out.push(
        field.invalid(
          `${path}.x-kubernetes-list-type`,
          listType,
          'must be map if x-kubernetes-list-map-keys is non-empty',
        ),
      );
  }
  if (listType === 'map') {
    if (mapKeys.length === 0)
      out.push(
        field.required(`${path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'),
      );
    if (s.items === undefined)
      out.push(field.required(`${path}.items`, 'must have a schema if x-kubernetes-list-type is map'));
    if (items && items.type !== 'object') {
      out.push(
        field.invalid(
          `${path}.items.type`,
          str(items.type),
          "must be object if parent array's x-kubernetes-list-type is map",
        ),
      );
    }
    if (items && items.type === 'object') {
      const seen = new Set<string>();
      const props = rec(items.properties);
      for (const k of mapKeys) {
        const p = props[k];
        if (isRecord(p)) {
          if (p.type === 'array' || p.type === 'object') {
            out.push(
              field.invalid(
                `${path}.items.properties[${k}].type`,
                str(items.type),
                "must be a scalar type if parent array's x-kubernetes-list-type is map",
              ),
            );
          }
        } else {
          out.push(
            field.invalid(
              `${path}.x-kubernetes-list-map-keys`,
              goStringSlice(mapKeys),
              'entries must all be names of item properties',
            ),
          );
        }
        if (seen.has(k))
          out.push(
            field.invalid(
              `${path}.x-kubernetes-list-map-keys`,
              goStringSlice(mapKeys),
              'must not contain duplicate entries',
            ),
          );
        seen.add(k);
      }
    }
  }
  if (s.uniqueItems === true) {
    out.push(
      field.forbidden(
        `${path}.uniqueItems`,
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  }
  const ap = s.additionalProperties;
  const props = isRecord(s.properties) ? s.properties : {};
  if (ap !== undefined && ap !== null) {
    if (ap === false)
      out.push(field.forbidden(`${path}.additionalProperties`, 'additionalProperties cannot be set to false'));
    if (Object.keys(props).length && (ap === false || isRecord(ap))) {
      out.push(
        field.forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'),
      );
    }
    if (isRecord(ap)) validateOpenAPISchema(ap, `${path}.additionalProperties`, out);
  }
  for (const [k, v] of Object.entries(props))
    if (isRecord(v)) validateOpenAPISchema(v, `${path}.properties[${k}]`, out);
  if (isRecord(s.not)) validateOpenAPISchema(s.not, `${path}.not`, out);
  for (const key of ['allOf', 'oneOf', 'anyOf'] as const) {
    arr(s[key]).forEach((v, i) => {
      if (isRecord(v)) validateOpenAPISchema(v, `${path}.${key}[${i}]`, out);
    });
  }
  if (items) validateOpenAPISchema(items, `${path}.items`, out);
}

type Level = 'root' | 'item' | 'field';

const intOrStringAnyOf = (v: unknown): boolean => {
  const a = arr(v);
  return (
    a.length === 2 &&
    a.every(isRecord) &&
    JSON.stringify(a[0]) === JSON.stringify({ type: 'integer' }) &&
    JSON.stringify(a[1]) === JSON.stringify({ type: 'string' })
  );
};

/** validateStructuralInvariants (apiserver/schema/validation.go). */
function structural(s: Schema | undefined, lvl: Level, path: string, out: StatusCause[]): void {
  if (!s) return;
  const type = str(s.type);
  const items = isRecord(s.items) ? s.items : undefined;
  if (type === 'array' && !items) out.push(field.required(`${path}.items`, 'must be specified'));
  structural(items, 'item', `${path}.items`, out);
  const props = isRecord(s.properties) ? s.properties : {};
  for (const [k, v] of Object.entries(props)) if (isRecord(v)) structural(v, 'field', `${path}.properties[${k}]`, out);
  const ap = s.additionalProperties;
  if (ap !== undefined && ap !== null) {
    if (lvl === 'root') out.push(field.forbidden(`${path}.additionalProperties`, 'must not be used at the root'));
    if (isRecord(ap)) structural(ap, 'field', `${path}.additionalProperties`, out);
  }
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  if (intOrString && preserve)
    out.push(
      field.invalid(
        `${path}.x-kubernetes-preserve-unknown-fields`,
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  if (intOrString && embedded)
    out.push(
      field.invalid(
        `${path}.x-kubernetes-embedded-resource`,
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );

  const skipAnyOf = intOrStringAnyOf(s.anyOf);
  const skipFirstAllOfAnyOf = isRecord(arr(s.allOf)[0]) && intOrStringAnyOf(rec(arr(s.allOf)[0]).anyOf);
  valueValidation(s, skipAnyOf, skipFirstAllOfAnyOf, path, out);

  if (embedded && type !== 'object') {
    if (!type) out.push(field.required(`${path}.type`, 'must be object if x-kubernetes-embedded-resource is true'));
    else out.push(field.invalid(`${path}.type`, type, 'must be object if x-kubernetes-embedded-resource is true'));
  } else if (!type && !intOrString && !preserve) {
    const detail =
      lvl === 'root'
        ? 'must not be empty at the root'
        : lvl === 'item'
          ? 'must not be empty for specified array items'
          : 'must not be empty for specified object fields';
    out.push(field.required(`${path}.type`, detail));
  }
  if (embedded && ap !== undefined && ap !== null) {
    out.push(
      field.forbidden(`${path}.additionalProperties`, 'must not be used if x-kubernetes-embedded-resource is set'),
    );
  }
  if (lvl === 'root' && type && type !== 'object')
    out.push(field.invalid(`${path}.type`, type, 'must be object at the root'));
  const checkMetadata = lvl === 'root' || embedded;
  if (checkMetadata) {
    const kind = props.kind;
    if (isRecord(kind) && kind.type !== 'string')
      out.push(field.invalid(`${path}.properties[kind].type`, str(kind.type), 'must be string'));
    const apiVersion = props.apiVersion;
    if (isRecord(apiVersion) && apiVersion.type !== 'string') {
      out.push(field.invalid(`${path}.properties[apiVersion].type`, str(apiVersion.type), 'must be string'));
    }
    const metadata = props.metadata;
    if (isRecord(metadata) && metadata.type !== 'object') {
      out.push(field.invalid(`${path}.properties[metadata].type`, str(metadata.type), 'must be object'));
    }
  }
  const metadata = props.metadata;
  if (lvl === 'root' && isRecord(metadata)) {
    const rest = { ...metadata };
    delete rest.type;
    delete rest.default;
    delete rest.description;
    const mp = rec(rest.properties);
    const keys = Object.keys(mp);
    if (keys.every((k) => k === 'name' || k === 'generateName')) delete rest.properties;
    if (Object.keys(rest).some((k) => !isZero(rest[k]))) {
      out.push(
        field.forbidden(
          `${path}.properties[metadata]`,
          'must not specify anything other than name and generateName, but metadata is implicitly specified',
        ),
      );
    }
  }
  if (embedded && !preserve && Object.keys(props).length === 0) {
    out.push(
      field.required(
        `${path}.properties`,
        'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields',
      ),
    );
  }
}

function valueValidation(
  s: Schema,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  path: string,
  out: StatusCause[],
): void {
  if (!skipAnyOf)
    arr(s.anyOf).forEach((v, i) => {
      nested(rec(v), false, `${path}.anyOf[${i}]`, out);
    });
  arr(s.allOf).forEach((v, i) => {
    nested(rec(v), skipFirstAllOfAnyOf && i === 0, `${path}.allOf[${i}]`, out);
  });
  arr(s.oneOf).forEach((v, i) => {
    nested(rec(v), false, `${path}.oneOf[${i}]`, out);
  });
  if (isRecord(s.not)) nested(s.not, false, `${path}.not`, out);
  if (typeof s.pattern === 'string' && s.pattern) {
    try {
      new RegExp(s.pattern, 'u');
    } catch {
      try {
        new RegExp(s.pattern);
      } catch (e) {
        out.push(
          field.invalid(
            `${path}.pattern`,
            s.pattern,
            `must be a valid regular expression, but isn't: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
      }
    }
  }
}

/** validateNestedValueValidation: inside anyOf/allOf/oneOf/not only value validations may appear. */
function nested(v: Schema, skipAnyOf: boolean, path: string, out: StatusCause[]): void {
  valueValidation(v, skipAnyOf, false, path, out);
  if (isRecord(v.items)) nested(v.items, false, `${path}.items`, out);
  for (const [k, p] of Object.entries(rec(v.properties))) nested(rec(p), false, `${path}.properties[${k}]`, out);
  if (typeof v.type === 'string' && v.type) out.push(field.forbidden(`${path}.type`, 'must be empty to be structural'));
  if (v.additionalProperties !== undefined && v.additionalProperties !== null) {
    out.push(field.forbidden(`${path}.additionalProperties`, 'must be undefined to be structural'));
  }
  if (v.default !== undefined && v.default !== null)
    out.push(field.forbidden(`${path}.default`, 'must be undefined to be structural'));
  if (typeof v.title === 'string' && v.title)
    out.push(field.forbidden(`${path}.title`, 'must be empty to be structural'));
  if (typeof v.description === 'string' && v.description)
    out.push(field.forbidden(`${path}.description`, 'must be empty to be structural'));
  if (v.nullable === true) out.push(field.forbidden(`${path}.nullable`, 'must be false to be structural'));
  if (v['x-kubernetes-preserve-unknown-fields'] === true) {
    out.push(field.forbidden(`${path}.x-kubernetes-preserve-unknown-fields`, 'must be false to be structural'));
  }
  if (v['x-kubernetes-embedded-resource'] === true)
    out.push(field.forbidden(`${path}.x-kubernetes-embedded-resource`, 'must be false to be structural'));
  if (v['x-kubernetes-int-or-string'] === true)
    out.push(field.forbidden(`${path}.x-kubernetes-int-or-string`, 'must be false to be structural'));
  if (strs(v['x-kubernetes-list-map-keys']).length)
    out.push(field.forbidden(`${path}.x-kubernetes-list-map-keys`, 'must be empty to be structural'));
  if (typeof v['x-kubernetes-list-type'] === 'string')
    out.push(field.forbidden(`${path}.x-kubernetes-list-type`, 'must be undefined to be structural'));
  if (isRecord(v.properties) && 'metadata' in v.properties) {
    out.push(field.forbidden(`${path}.properties[metadata]`, 'must not be specified in a nested context'));
  }
}

/** Every `default:` must validate against the schema it sits in. */
function validateDefaults(s: Schema | undefined, path: string, out: StatusCause[], root: boolean): void {
  if (!s) return;
  if (!root && s.default !== undefined && s.default !== null) {
    const { default: def, ...rest } = s;
    out.push(...validateAgainstSchema(def, rest, `${path}.default`));
  }
  for (const [k, v] of Object.entries(rec(s.properties)))
    if (isRecord(v)) validateDefaults(v, `${path}.properties[${k}]`, out, false);
  if (isRecord(s.items)) validateDefaults(s.items, `${path}.items`, out, false);
  if (isRecord(s.additionalProperties))
    validateDefaults(s.additionalProperties, `${path}.additionalProperties`, out, false);
}

function validateVersionSchema(
  version: Record<string, unknown>,
  path: string,
  statusEnabled: boolean,
  out: StatusCause[],
): void {
  const schemaHolder = version.schema;
  const schema =
    isRecord(schemaHolder) && isRecord(schemaHolder.openAPIV3Schema) ? schemaHolder.openAPIV3Schema : undefined;
  const sPath = `${path}.schema.openAPIV3Schema`;
  if (!schema) {
    out.push(field.required(sPath, 'schemas are required'));
    return;
  }
  const before = out.length;
  if (statusEnabled) {
    for (const k of Object.keys(schema)) {
      if (isZero(schema[k])) continue;
      if (k === 'type') {
        if (schema.type !== 'object') {
          out.push(
            field.invalid(
              `${sPath}.type`,
              str(schema.type),
              'only "object" is allowed as the type at the root of the schema if the status subresource is enabled',
            ),
          );
          break;
        }
        continue;
      }
      if (!rootFields.some(([, json]) => json === k)) {
        out.push(
          field.invalid(
            sPath,
            goSchema(schema),
            `only [${rootFields.map(([g]) => g).join(' ')}] fields are allowed at the root of the schema if the status subresource is enabled`,
          ),
        );
        break;
      }
    }
  }
  validateOpenAPISchema(schema, sPath, out);
  const st: StatusCause[] = [];
  structural(schema, 'root', sPath, st);
  st.sort((a, b) => {
    const x = `${a.field ?? ''}: ${a.message ?? ''}`;
    const y = `${b.field ?? ''}: ${b.message ?? ''}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  out.push(...st);
  if (out.length === before) validateDefaults(schema, sPath, out, true);
}

// ---------------------------------------------------------------------------------------------
// Subresources, printer columns, conversion
// ---------------------------------------------------------------------------------------------

function validateSimpleJSONPath(s: string, path: string): StatusCause[] {
  if (s.length === 0) return [field.invalid(path, s, 'must not be empty')];
  if (!s.startsWith('.')) return [field.invalid(path, s, 'must be a simple json path starting with .')];
  return [];
}

function validateSubresources(subRaw: unknown, path: string, out: StatusCause[]): void {
  if (!isRecord(subRaw)) return;
  const scale = subRaw.scale;
  if (!isRecord(scale)) return;
  const spec = str(scale.specReplicasPath);
  if (!spec) out.push(field.required(`${path}.scale.specReplicasPath`));
  else {
    const e = validateSimpleJSONPath(spec, `${path}.scale.specReplicasPath`);
    if (e.length) out.push(...e);
    else if (!spec.startsWith('.spec.'))
      out.push(field.invalid(`${path}.scale.specReplicasPath`, spec, 'should be a json path under .spec'));
  }
  const status = str(scale.statusReplicasPath);
  if (!status) out.push(field.required(`${path}.scale.statusReplicasPath`));
  else {
    const e = validateSimpleJSONPath(status, `${path}.scale.statusReplicasPath`);
    if (e.length) out.push(...e);
    else if (!status.startsWith('.status.'))
      out.push(field.invalid(`${path}.scale.statusReplicasPath`, status, 'should be a json path under .status'));
  }
  const sel = str(scale.labelSelectorPath);
  if (sel) {
    const e = validateSimpleJSONPath(sel, `${path}.scale.labelSelectorPath`);
    if (e.length) out.push(...e);
    else if (!sel.startsWith('.status.') && !sel.startsWith('.spec.')) {
      out.push(
        field.invalid(`${path}.scale.labelSelectorPath`, sel, 'should be a json path under either .spec or .status'),
      );
    }
  }
}

const columnTypes = ['boolean', 'date', 'integer', 'number', 'string'];
const columnFormats = ['byte', 'date', 'date-time', 'double', 'float', 'int32', 'int64', 'password'];

function validateColumns(cols: unknown, path: string, out: StatusCause[]): void {
  arr(cols).forEach((raw, i) => {
    const c = rec(raw);
    const base = fpath.index(path, i);
    if (!str(c.name)) out.push(field.required(`${base}.name`));
    const type = str(c.type);
    if (!type) out.push(field.required(`${base}.type`, `must be one of ${columnTypes.join(',')}`));
    else if (!columnTypes.includes(type))
      out.push(field.invalid(`${base}.type`, type, `must be one of ${columnTypes.join(',')}`));
    const format = str(c.format);
    if (format && !columnFormats.includes(format))
      out.push(field.invalid(`${base}.format`, format, `must be one of ${columnFormats.join(',')}`));
    const jp = str(c.jsonPath);
    if (!jp) out.push(field.required(`${base}.jsonPath`));
    else out.push(...validateSimpleJSONPath(jp, `${base}.jsonPath`));
    if (typeof c.priority === 'number' && c.priority < 0)
      out.push(field.invalid(`${base}.priority`, c.priority, 'must be greater than or equal to 0'));
  });
}

function validateWebhookURL(u: string, path: string): StatusCause[] {
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch (e) {
    return [field.invalid(path, u, `url must be a valid URL: ${e instanceof Error ? e.message : String(e)}`)];
  }
  const out: StatusCause[] = [];
  if (parsed.protocol !== 'https:') out.push(field.invalid(path, u, "'https' is the only allowed URL scheme"));
  if (!parsed.host) out.push(field.invalid(path, u, 'host must be specified'));
  if (parsed.username || parsed.password)
    out.push(field.invalid(path, u, 'user information is not permitted in the URL'));
  if (parsed.hash || u.includes('#')) out.push(field.invalid(path, u, 'fragments are not permitted in the URL'));
  if (parsed.search) out.push(field.invalid(path, u, 'query parameters are not permitted in the URL'));
  return out;
}

function validateConversion(specRaw: Record<string, unknown>, out: StatusCause[]): void {
  const conv = specRaw.conversion;
  if (!isRecord(conv)) return;
  const path = 'spec.conversion';
  const strategy = str(conv.strategy);
  if (!strategy) out.push(field.required(`${path}.strategy`));
  else if (strategy !== 'None' && strategy !== 'Webhook')
    out.push(field.notSupported(`${path}.strategy`, strategy, ['None', 'Webhook']));
  const webhook = rec(conv.webhook);
  const cc = webhook.clientConfig;
  if (strategy === 'Webhook') {
    if (!isRecord(cc))
      out.push(field.required(`${path}.webhookClientConfig`, 'required when strategy is set to Webhook'));
    else {
      const hasURL = typeof cc.url === 'string';
      const hasSvc = isRecord(cc.service);
      if (hasURL === hasSvc)
        out.push(field.required(`${path}.webhookClientConfig`, 'exactly one of url or service is required'));
      else if (hasURL) out.push(...validateWebhookURL(str(cc.url), `${path}.webhookClientConfig.url`));
      else {
        const svc = rec(cc.service);
        const sp = `${path}.webhookClientConfig.service`;
        if (!str(svc.name)) out.push(field.required(`${sp}.name`, 'service name is required'));
        if (!str(svc.namespace)) out.push(field.required(`${sp}.namespace`, 'service namespace is required'));
        const p = str(svc.path);
        if (p && !p.startsWith('/')) out.push(field.invalid(`${sp}.path`, p, "must start with a '/'"));
        const port = typeof svc.port === 'number' ? svc.port : 443;
        if (!Number.isInteger(port) || port < 1 || port > 65535)
          out.push(field.invalid(`${sp}.port`, port, 'port is not valid: must be between 1 and 65535, inclusive'));
      }
    }
    const crv = strs(webhook.conversionReviewVersions);
    if (crv.length === 0)
      out.push(field.required(`${path}.conversionReviewVersions`, 'must include at least one of v1, v1beta1'));
    else if (!crv.some((v) => v === 'v1' || v === 'v1beta1')) {
      out.push(
        field.invalid(
          `${path}.conversionReviewVersions`,
          goStringSlice(crv),
          'must include at least one of v1, v1beta1',
        ),
      );
    }
  } else if (isRecord(cc)) {
    out.push(field.forbidden(`${path}.webhookClientConfig`, 'should not be set when strategy is not set to Webhook'));
  }
}

// ---------------------------------------------------------------------------------------------
// Spec and status
// ---------------------------------------------------------------------------------------------

function validateSpec(specRaw: unknown): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = rec(specRaw);
  const group = str(spec.group);
  if (!group) out.push(field.required('spec.group'));
  else {
    const e = isDNS1123Subdomain(group);
    if (e.length) out.push(field.invalid('spec.group', group, e.join(',')));
    else if (group.split('.').length < 2)
      out.push(field.invalid('spec.group', group, 'should be a domain with at least one dot'));
  }
  const scope = str(spec.scope);
  if (!scope) out.push(field.required('spec.scope'));
  else if (scope !== 'Cluster' && scope !== 'Namespaced')
    out.push(field.notSupported('spec.scope', scope, ['Cluster', 'Namespaced']));

  const versions = arr(spec.versions);
  let storage = 0;
  const seen = new Set<string>();
  let unique = true;
  versions.forEach((raw, i) => {
    const v = rec(raw);
    const name = str(v.name);
    const base = fpath.index('spec.versions', i);
    if (v.storage === true) storage++;
    if (seen.has(name)) unique = false;
    seen.add(name);
    const e = isDNS1035Label(name);
    if (e.length) out.push(field.invalid(`${base}.name`, name, e.join(',')));
    if (v.deprecated !== true && v.deprecationWarning !== undefined && v.deprecationWarning !== null) {
      out.push(
        field.invalid(
          `${base}.deprecationWarning`,
          str(v.deprecationWarning),
          'can only be set for deprecated versions',
        ),
      );
    }
    const statusEnabled =
      isRecord(v.subresources) && v.subresources.status !== undefined && v.subresources.status !== null;
    validateVersionSchema(v, base, statusEnabled, out);
    validateSubresources(v.subresources, `${base}.subresources`, out);
    validateColumns(v.additionalPrinterColumns, `${base}.additionalPrinterColumns`, out);
  });
  if (!unique) out.push(field.invalid('spec.versions', goVersions(spec.versions), 'must contain unique version names'));
  if (storage !== 1)
    out.push(
      field.invalid(
        'spec.versions',
        goVersions(spec.versions),
        'must have exactly one version marked as storage version',
      ),
    );

  const names = rec(spec.names);
  if (!str(names.plural)) out.push(field.required('spec.names.plural'));
  if (!str(names.singular)) out.push(field.required('spec.names.singular'));
  if (!str(names.kind)) out.push(field.required('spec.names.kind'));
  if (!str(names.listKind)) out.push(field.required('spec.names.listKind'));
  out.push(...validateNames(spec.names, 'spec.names'));
  validateConversion(spec, out);
  if (spec.preserveUnknownFields === true) out.push(field.invalid('spec.preserveUnknownFields', true, 'must be false'));
  return out;
}

function validateStatus(crd: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  const status = rec(crd.status);
  out.push(...validateNames(status.acceptedNames, 'status.acceptedNames'));
  const stored = strs(status.storedVersions);
  if (stored.length === 0) return out;
  const versions = arr(rec(crd.spec).versions).map(rec);
  const remaining = new Map(stored.map((v, i) => [v, i]));
  for (const v of versions) {
    const name = str(v.name);
    if (v.storage === true && !remaining.has(name)) {
      out.push(
        field.invalid('status.storedVersions', new GoRepr(goVersion(v)), `must have the storage version ${name}`),
      );
    }
    remaining.delete(name);
  }
  for (const [v, i] of remaining)
    out.push(field.invalid(fpath.index('status.storedVersions', i), v, 'must appear in spec.versions'));
  return out;
}

function requiredName(crd: KubeObject): string {
  const spec = rec(crd.spec);
  return `${str(rec(spec.names).plural)}.${str(spec.group)}`;
}

export interface CrdValidationOptions {
  /**
   * Include the generic ObjectMeta checks (default true). The REST layer that validates metadata
   * itself passes false; the CRD-specific `plural.group` name rule is always applied.
   */
  meta?: boolean;
}

/** ValidateCustomResourceDefinition for an apiextensions.k8s.io/v1 object (after defaultCrd). */
export function validateCrd(crd: KubeObject, opts: CrdValidationOptions = {}): StatusCause[] {
  const out: StatusCause[] = [];
  const want = requiredName(crd);
  const mismatch = 'must be spec.names.plural+"."+spec.group';
  if (opts.meta ?? true) {
    out.push(
      ...validateObjectMeta(crd.metadata, {
        namespaced: false,
        nameValidator: (name, prefix) => {
          const masked = prefix && name.length > 1 && name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
          const errs = isDNS1123Subdomain(masked);
          if (name !== want) errs.push(mismatch);
          return errs;
        },
      }),
    );
  } else {
    const gn = str(crd.metadata.generateName);
    const name = str(crd.metadata.name);
    if (gn && gn !== want) out.push(field.invalid('metadata.generateName', gn, mismatch));
    if (name && name !== want) out.push(field.invalid('metadata.name', name, mismatch));
  }
  out.push(...validateSpec(crd.spec));
  out.push(...validateStatus(crd));
  return out;
}

function isEstablished(crd: KubeObject): boolean {
  return arr(rec(crd.status).conditions).some((c) => rec(c).type === 'Established' && rec(c).status === 'True');
}

/** ValidateCustomResourceDefinitionUpdate (ObjectMeta update rules are the caller's, via validateUpdateMeta). */
export function validateCrdUpdate(crd: KubeObject, old: KubeObject, opts: CrdValidationOptions = {}): StatusCause[] {
  const out = validateCrd(crd, opts);
  const n = rec(crd.spec);
  const o = rec(old.spec);
  const nn = rec(n.names);
  const on = rec(o.names);
  if (isEstablished(old)) {
    if (str(n.scope) !== str(o.scope)) out.push(field.invalid('spec.scope', str(n.scope), 'field is immutable'));
    if (str(nn.kind) !== str(on.kind)) out.push(field.invalid('spec.names.kind', str(nn.kind), 'field is immutable'));
  }
  if (str(n.group) !== str(o.group)) out.push(field.invalid('spec.group', str(n.group), 'field is immutable'));
  if (str(nn.plural) !== str(on.plural))
    out.push(field.invalid('spec.names.plural', str(nn.plural), 'field is immutable'));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Defaults, status, served resources
// ---------------------------------------------------------------------------------------------

/** The v1 defaults kube sets on a CRD (SetDefaults_CustomResourceDefinition*); mutates and returns `crd`. */
export function defaultCrd(crd: KubeObject): KubeObject {
  if (!isRecord(crd.spec)) crd.spec = {};
  const spec = crd.spec as Record<string, unknown>;
  if (!isRecord(spec.names)) spec.names = {};
  const names = spec.names as Record<string, unknown>;
  const kind = str(names.kind);
  if (!str(names.singular)) names.singular = kind.toLowerCase();
  if (!str(names.listKind) && kind) names.listKind = `${kind}List`;
  if (!isRecord(spec.conversion)) spec.conversion = { strategy: 'None' };
  const conv = spec.conversion as Record<string, unknown>;
  const webhook = conv.webhook;
  if (isRecord(webhook) && isRecord(webhook.clientConfig) && isRecord(webhook.clientConfig.service)) {
    const svc = webhook.clientConfig.service;
    if (svc.port === undefined || svc.port === null) svc.port = 443;
  }
  return crd;
}

export interface CrdCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface CrdStatus {
  conditions: CrdCondition[];
  acceptedNames: Record<string, unknown>;
  storedVersions: string[];
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function requestedNames(crd: KubeObject): Record<string, unknown> {
  const n = rec(rec(crd.spec).names);
  const kind = str(n.kind);
  const out: Record<string, unknown> = {
    plural: str(n.plural),
    singular: str(n.singular) || kind.toLowerCase(),
  };
  const shortNames = strs(n.shortNames);
  if (shortNames.length) out.shortNames = shortNames;
  out.kind = kind;
  out.listKind = str(n.listKind) || (kind ? `${kind}List` : '');
  const categories = strs(n.categories);
  if (categories.length) out.categories = categories;
  return out;
}

/**
 * The status kube's naming and establishing controllers converge on. Accepted names give
 * NamesAccepted=True (`NoConflicts`) and Established=True (`InitialNamesAccepted`, "the initial names
 * have been accepted"); a plural already served by another CRD gives NamesAccepted=False
 * (`PluralConflict`) and keeps the previous accepted plural. Conditions of other types are preserved,
 * lastTransitionTime only moves when a condition's status changes; storedVersions gains the storage version.
 */
export function crdStatus(crd: KubeObject, accepted: boolean, now: Date = new Date()): CrdStatus {
  const prev = rec(crd.status);
  const prevConds = arr(prev.conditions).map(rec);
  const ts = rfc3339(now);
  const requested = requestedNames(crd);
  const prevAccepted = rec(prev.acceptedNames);
  const acceptedNames = accepted ? requested : { ...requested, plural: str(prevAccepted.plural) };
  if (!accepted && !acceptedNames.plural) delete acceptedNames.plural;

  const conds: CrdCondition[] = [];
  const set = (c: Omit<CrdCondition, 'lastTransitionTime'>): void => {
    const old = prevConds.find((p) => p.type === c.type);
    const lastTransitionTime =
      old && old.status === c.status && typeof old.lastTransitionTime === 'string' ? old.lastTransitionTime : ts;
    conds.push({ type: c.type, status: c.status, lastTransitionTime, reason: c.reason, message: c.message });
  };
  if (accepted) {
    set({ type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found' });
    set({
      type: 'Established',
      status: 'True',
      reason: 'InitialNamesAccepted',
      message: 'the initial names have been accepted',
    });
  } else {
    set({
      type: 'NamesAccepted',
      status: 'False',
      reason: 'PluralConflict',
      message: `${goQuote(str(requested.plural))} is already in use`,
    });
    const est = prevConds.find((p) => p.type === 'Established');
    if (est && est.status === 'True') {
      conds.push({
        type: 'Established',
        status: 'True',
        lastTransitionTime: str(est.lastTransitionTime) || ts,
        reason: str(est.reason),
        message: str(est.message),
      });
    } else {
      set({ type: 'Established', status: 'False', reason: 'NotAccepted', message: 'not all names are accepted' });
    }
  }
  for (const p of prevConds) {
    if (p.type === 'NamesAccepted' || p.type === 'Established') continue;
    conds.push({
      type: str(p.type),
      status: p.status === 'True' || p.status === 'False' ? p.status : 'Unknown',
      lastTransitionTime: str(p.lastTransitionTime) || ts,
      reason: str(p.reason),
      message: str(p.message),
    });
  }

  const storedVersions = strs(prev.storedVersions);
  const storageVersion = arr(rec(crd.spec).versions)
    .map(rec)
    .find((v) => v.storage === true);
  const sv = str(storageVersion?.name);
  if (sv && !storedVersions.includes(sv)) storedVersions.push(sv);
  return { conditions: conds, acceptedNames, storedVersions };
}

const crdVerbs = ['delete', 'deletecollection', 'get', 'list', 'patch', 'create', 'update', 'watch'];

function printerColumns(v: Record<string, unknown>): PrinterColumn[] {
  return arr(v.additionalPrinterColumns).map((raw) => {
    const c = rec(raw);
    const col: PrinterColumn = { name: str(c.name), type: str(c.type), jsonPath: str(c.jsonPath) };
    if (str(c.format)) col.format = str(c.format);
    if (str(c.description)) col.description = str(c.description);
    if (typeof c.priority === 'number') col.priority = c.priority;
    return col;
  });
}

/** One served ResourceInfo per served version of the CRD (names as requested in spec, with defaults). */
export function crdResourceInfos(crd: KubeObject): ResourceInfo[] {
  const spec = rec(crd.spec);
  const names = requestedNames(crd);
  const group = str(spec.group);
  const plural = str(names.plural);
  if (!group || !plural) return [];
  const crdName = str(crd.metadata.name) || `${plural}.${group}`;
  return arr(spec.versions)
    .map(rec)
    .filter((v) => v.served === true && str(v.name))
    .map((v) => {
      const sub = rec(v.subresources);
      const subresources: string[] = [];
      const hasStatus = sub.status !== undefined && sub.status !== null;
      if (hasStatus) subresources.push('status');
      if (isRecord(sub.scale)) subresources.push('scale');
      const schemaHolder = rec(v.schema);
      const crdInfo: CrdVersionInfo = {
        crdName,
        schema: isRecord(schemaHolder.openAPIV3Schema) ? schemaHolder.openAPIV3Schema : undefined,
        additionalPrinterColumns: printerColumns(v),
        preserveUnknownFields: spec.preserveUnknownFields === true,
      };
      const info: ResourceInfo = {
        group,
        version: str(v.name),
        resource: plural,
        kind: str(names.kind),
        listKind: str(names.listKind),
        singular: str(names.singular),
        namespaced: str(spec.scope) !== 'Cluster',
        shortNames: strs(names.shortNames),
        categories: strs(names.categories),
        verbs: [...crdVerbs],
        subresources,
        crd: crdInfo,
        hasGeneration: true,
        statusSubresource: hasStatus,
      };
      return info;
    });
}
