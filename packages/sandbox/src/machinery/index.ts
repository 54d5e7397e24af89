// Public surface of the API machinery libraries (selectors, patches), shared with the gateway so
// both servers parse selectors and apply patches exactly alike.
export { parseLabelSelector, matches as labelsMatch, formatLabelSelector, type LabelSelector } from './labels.ts';
export { parseFieldSelector, matchesFields, formatFieldSelector, type FieldSelector } from './fields.ts';
export { applyJsonPatch, applyMergePatch } from './patch.ts';
export { humanDuration } from '../api/table.ts';
