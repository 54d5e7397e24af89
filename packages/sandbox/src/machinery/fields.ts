// Field selectors as k8s.io/apimachinery/pkg/fields parses and matches them, and the per-resource
// field sets kube-apiserver's registries expose (GetAttrs / field label conversion). A selector
// naming a field the resource does not index is refused with upstream's exact message, because
// kubectl and informers surface it verbatim.

import type { KubeObject } from '../api/types.ts';
import { errors } from '../errors/status.ts';
import { goQuote, isObject } from './json.ts';

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  /** AND of requirements, in upstream's order (terms sorted as strings before parsing) */
  requirements: FieldRequirement[];
}

export interface FieldResourceOptions {
  /** the object kind is namespaced (adds `metadata.namespace` to the field set); default: guessed from the object */
  namespaced?: boolean;
  /** custom resource: unknown fields answer `field label not supported`; default: guessed from the key's group */
  custom?: boolean;
  /** CRD `selectableFields` JSONPaths (`.spec.color`), exposed without the leading dot */
  selectableFields?: string[];
}

function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

// `!=` and `==` are tried before `=` at each position so `a==b` does not leave `=b` as the value.
function splitTerm(term: string): [string, string, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    const rest = term.slice(i);
    for (const op of ['!=', '==', '=']) {
      if (rest.startsWith(op)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

/** fields.UnescapeValue: `\\`, `\,` and `\=` are the only escapes; bare `,`/`=` are errors. */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw errors.badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') {
      // upstream formats the rune with %v, i.e. as its code point number
      throw errors.badRequest(`invalid field selector: unescaped character in value: ${c.codePointAt(0)!}`);
    } else out += c;
  }
  if (inSlash) throw errors.badRequest('invalid field selector: invalid escape sequence: \\');
  return out;
}

export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** fields.ParseSelector. Malformed input → 400 BadRequest with upstream's message. */
export function parseFieldSelector(s: string): FieldSelector {
  const parts = splitTerms(s).sort();
  const requirements: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw errors.badRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    const [field, op, rhs] = t;
    requirements.push({ field, operator: op === '!=' ? '!=' : '=', value: unescapeFieldValue(rhs) });
  }
  return { requirements };
}

export function formatFieldSelector(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
}

/** A missing field reads as "" (fields.Set.Get), so `x!=foo` matches objects without x. */
export function matchesFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  return sel.requirements.every((r) => {
    const v = Object.hasOwn(fields, r.field) ? fields[r.field]! : '';
    return r.operator === '=' ? v === r.value : v !== r.value;
  });
}

export function isEmptyFieldSelector(sel: FieldSelector): boolean {
  return sel.requirements.length === 0;
}

// --- per-resource field sets ---

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function get(obj: unknown, ...path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function itoa(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(Math.trunc(v)) : '0';
}

type FieldFn = (obj: KubeObject) => Record<string, string>;

interface ResourceFields {
  /** labels accepted by the field-label conversion besides the object-meta ones */
  fields: FieldFn;
  /** aliases rewritten by the conversion (pods: spec.host → spec.nodeName) */
  aliases?: Record<string, string>;
  namespaced: boolean;
}

// Resources with their own field label conversion in kube-apiserver (pkg/apis/*/v1/conversion.go)
// and matching GetAttrs in pkg/registry. Everything else gets metadata.name/metadata.namespace only.
const builtin: Record<string, ResourceFields> = {
  pods: {
    namespaced: true,
    aliases: { 'spec.host': 'spec.nodeName' },
    fields: (o) => {
      const podIPs = get(o, 'status', 'podIPs');
      const firstIP = Array.isArray(podIPs) ? str(get(podIPs[0], 'ip')) : '';
      return {
        'spec.nodeName': str(get(o, 'spec', 'nodeName')),
        'spec.restartPolicy': str(get(o, 'spec', 'restartPolicy')),
        'spec.schedulerName': str(get(o, 'spec', 'schedulerName')),
        'spec.serviceAccountName': str(get(o, 'spec', 'serviceAccountName')),
        'spec.hostNetwork': get(o, 'spec', 'hostNetwork') === true ? 'true' : 'false',
        'status.phase': str(get(o, 'status', 'phase')),
        'status.podIP': firstIP || str(get(o, 'status', 'podIP')),
        'status.nominatedNodeName': str(get(o, 'status', 'nominatedNodeName')),
      };
    },
  },
  events: {
    namespaced: true,
    fields: (o) => {
      const io = (f: string): string => str(get(o, 'involvedObject', f));
      const reportingController = str(o.reportingComponent);
      const source = str(get(o, 'source', 'component')) || reportingController;
      return {
        'involvedObject.kind': io('kind'),
        'involvedObject.namespace': io('namespace'),
        'involvedObject.name': io('name'),
        'involvedObject.uid': io('uid'),
        'involvedObject.apiVersion': io('apiVersion'),
        'involvedObject.resourceVersion': io('resourceVersion'),
        'involvedObject.fieldPath': io('fieldPath'),
        reason: str(o.reason),
        reportingComponent: reportingController,
        source,
        type: str(o.type),
      };
    },
  },
  secrets: { namespaced: true, fields: (o) => ({ type: str(o.type) }) },
  namespaces: {
    namespaced: false,
    // `name` is a legacy field upstream still indexes but does not accept in selectors
    fields: (o) => ({ 'status.phase': str(get(o, 'status', 'phase')) }),
  },
  nodes: {
    namespaced: false,
    fields: (o) => ({ 'spec.unschedulable': get(o, 'spec', 'unschedulable') === true ? 'true' : 'false' }),
  },
  replicationcontrollers: {
    namespaced: true,
    fields: (o) => ({ 'status.replicas': itoa(get(o, 'status', 'replicas')) }),
  },
  'replicasets.apps': {
    namespaced: true,
    fields: (o) => ({ 'status.replicas': itoa(get(o, 'status', 'replicas')) }),
  },
  'jobs.batch': {
    namespaced: true,
    fields: (o) => ({ 'status.successful': itoa(get(o, 'status', 'succeeded')) }),
  },
  'certificatesigningrequests.certificates.k8s.io': {
    namespaced: false,
    fields: (o) => ({ 'spec.signerName': str(get(o, 'spec', 'signerName')) }),
  },
};

/** CRD groups always contain a dot; built-in ones are dot-less (`apps`) or end in `.k8s.io`. */
export function isBuiltinResourceKey(resourceKey: string): boolean {
  const dot = resourceKey.indexOf('.');
  if (dot < 0) return true;
  const group = resourceKey.slice(dot + 1);
  return !group.includes('.') || group.endsWith('.k8s.io');
}

function jsonPathValue(obj: unknown, path: string): string {
  const v = get(obj, ...path.replace(/^\./, '').split('.'));
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return '';
}

/** The fields kube-apiserver indexes for an object of this resource (the GetAttrs field set). */
export function fieldSetFor(
  resourceKey: string,
  obj: KubeObject,
  opts: FieldResourceOptions = {},
): Record<string, string> {
  const spec = builtin[resourceKey];
  const namespaced = opts.namespaced ?? spec?.namespaced ?? obj.metadata.namespace !== undefined;
  const out: Record<string, string> = spec ? spec.fields(obj) : {};
  for (const f of opts.selectableFields ?? []) out[f.replace(/^\./, '')] = jsonPathValue(obj, f);
  out['metadata.name'] = obj.metadata.name ?? '';
  if (namespaced) out['metadata.namespace'] = obj.metadata.namespace ?? '';
  return out;
}

/**
 * The field label conversion kube-apiserver runs before listing: unsupported labels → 400 with
 * upstream's message; aliases rewritten. Returns the selector to match with.
 */
export function validateFieldSelector(
  resourceKey: string,
  sel: FieldSelector,
  opts: FieldResourceOptions = {},
): FieldSelector {
  const spec = builtin[resourceKey];
  const custom = opts.custom ?? !isBuiltinResourceKey(resourceKey);
  const requirements = sel.requirements.map((r) => {
    const field = convertLabel(spec, custom, r.field, opts);
    return field === r.field ? r : { ...r, field };
  });
  return { requirements };
}

function convertLabel(
  spec: ResourceFields | undefined,
  custom: boolean,
  label: string,
  opts: FieldResourceOptions,
): string {
  if (custom) {
    const selectable = (opts.selectableFields ?? []).map((f) => f.replace(/^\./, ''));
    if (selectable.includes(label) || label === 'metadata.name') return label;
    if (label === 'metadata.namespace' && opts.namespaced !== false) return label;
    throw errors.badRequest(`field label not supported: ${label}`);
  }
  if (!spec) {
    if (label === 'metadata.name' || label === 'metadata.namespace') return label;
    throw errors.badRequest(
      `${goQuote(label)} is not a known field selector: only ${goQuote('metadata.name')}, ${goQuote('metadata.namespace')}`,
    );
  }
  const alias = spec.aliases?.[label];
  if (alias) return alias;
  if (label === 'metadata.name') return label;
  if (label === 'metadata.namespace' && spec.namespaced) return label;
  // Field sets are computed from a placeholder object only to learn which labels exist.
  const known = Object.keys(spec.fields({ apiVersion: '', kind: '', metadata: {} }));
  if (known.includes(label)) return label;
  throw errors.badRequest(`field label not supported: ${label}`);
}
