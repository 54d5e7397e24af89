// Server-side printing of ClusterGateways (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`):
// upstream's five columns (§1.4) in upstream's order and wording, plus kube's usual `Age` at the end,
// and the row object embedded according to `includeObject` as kube-apiserver does (None: no object,
// Metadata: PartialObjectMetadata, Object: the whole ClusterGateway).

import { humanDuration } from '@cluster-gateway/sandbox/machinery';

import type { ClusterGateway } from './types.ts';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: (string | number | boolean | null)[];
  object?: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export interface ClusterGatewayTableOptions {
  /** kube-apiserver treats an empty `includeObject` as Metadata */
  includeObject: IncludeObject;
  listMeta?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  now?: Date;
}

// ObjectMeta.creationTimestamp's published description, which kube's printers use for Age
const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.  Populated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

export const CLUSTER_GATEWAY_COLUMNS: readonly TableColumnDefinition[] = [
  { name: 'Name', type: 'string', format: 'name', description: 'the name of the cluster', priority: 0 },
  { name: 'Provider', type: 'string', format: '', description: 'the cluster provider type', priority: 0 },
  { name: 'Credential-Type', type: 'string', format: '', description: 'the credential type', priority: 0 },
  { name: 'Endpoint-Type', type: 'string', format: '', description: 'the endpoint type', priority: 0 },
  { name: 'Healthy', type: 'string', format: '', description: 'the healthiness of the gateway', priority: 0 },
  { name: 'Age', type: 'string', format: '', description: AGE_DESCRIPTION, priority: 0 },
];

/** kube's `duration.HumanDuration` (shared with the sandbox's printers). */
export { humanDuration };

/** `translateTimestampSince`: `<unknown>` when there is no timestamp. */
function age(ts: string | undefined, now: number): string {
  const t = ts ? Date.parse(ts) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

function rowObject(gw: ClusterGateway, include: IncludeObject): unknown {
  switch (include) {
    case 'None':
      return undefined;
    case 'Object':
      return gw;
    default:
      return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: gw.metadata };
  }
}

export function clusterGatewayTable(items: ClusterGateway[], opts: ClusterGatewayTableOptions): Table {
  const now = (opts.now ?? new Date()).getTime();
  const metadata: Table['metadata'] = {};
  const lm = opts.listMeta;
  if (lm?.resourceVersion) metadata.resourceVersion = lm.resourceVersion;
  if (lm?.continue) metadata.continue = lm.continue;
  if (lm?.remainingItemCount !== undefined) metadata.remainingItemCount = lm.remainingItemCount;
  const rows = items.map((gw): TableRow => {
    const row: TableRow = {
      cells: [
        gw.metadata.name,
        gw.spec.provider,
        gw.spec.access.credential ? gw.spec.access.credential.type : '<none>',
        gw.spec.access.endpoint.type,
        gw.status.healthy ? 'true' : 'false',
        age(gw.metadata.creationTimestamp, now),
      ],
    };
    const object = rowObject(gw, opts.includeObject);
    if (object !== undefined) row.object = object;
    return row;
  });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: CLUSTER_GATEWAY_COLUMNS.map((c) => ({ ...c })),
    rows,
  };
}
