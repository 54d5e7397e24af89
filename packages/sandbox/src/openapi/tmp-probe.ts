import { builtinResources } from '../api/builtin.ts';
import { buildV2 } from './openapi.ts';
import { encodeOpenApiV2Protobuf, openApiV2DocumentType } from './v2-protobuf.ts';
const res = builtinResources();
let t = performance.now();
const doc = buildV2(res);
const json = JSON.stringify(doc);
console.log('build', performance.now() - t, json.length);
t = performance.now();
const pb = encodeOpenApiV2Protobuf(doc);
console.log('encode', performance.now() - t, pb.length);
t = performance.now();
const d = openApiV2DocumentType().toObject(openApiV2DocumentType().decode(pb)) as any;
console.log('decode', performance.now() - t);
const cm = d.definitions.additional_properties.find((x: any) => x.name === 'io.k8s.api.core.v1.ConfigMap');
console.log(JSON.stringify(cm).slice(0, 1500));
const allowed = new Set(['$ref','format','title','description','default','multipleOf','maximum','exclusiveMaximum','minimum','exclusiveMinimum','maxLength','minLength','pattern','maxItems','minItems','uniqueItems','maxProperties','minProperties','required','enum','additionalProperties','type','items','allOf','properties','discriminator','readOnly','xml','externalDocs','example']);
const bad = new Map<string, number>();
function walk(s: any) { if (!s || typeof s !== 'object') return; for (const [k, v] of Object.entries(s)) { if (!allowed.has(k) && !k.startsWith('x-')) bad.set(k, (bad.get(k) ?? 0) + 1); }
  if (s.properties) for (const v of Object.values(s.properties)) walk(v); if (s.items) walk(s.items); if (typeof s.additionalProperties === 'object') walk(s.additionalProperties); for (const a of s.allOf ?? []) walk(a); }
for (const v of Object.values((doc as any).definitions)) walk(v);
console.log('disallowed schema keys', [...bad]);
const p = d.paths.path.find((x: any) => x.name === '/api/v1/namespaces/{namespace}/configmaps/{name}');
console.log(JSON.stringify(p.value.patch).slice(0, 3000));
