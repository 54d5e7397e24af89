// ClusterGateway Table: upstream's columns and cells, Age, includeObject, list metadata, and kube's
// HumanDuration boundaries.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterGatewayTable, humanDuration } from './table.ts';
import type { ClusterGateway } from './types.ts';

function gw(
  name: string,
  over: { credential?: string; endpoint?: string; healthy?: boolean; created?: string } = {},
): ClusterGateway {
  const g: ClusterGateway = {
    apiVersion: 'cluster.core.oam.dev/v1alpha1',
    kind: 'ClusterGateway',
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: '5',
      creationTimestamp: over.created ?? '2024-01-01T00:00:00Z',
    },
    spec: { provider: '', access: { endpoint: { type: over.endpoint ?? 'Const', const: { address: 'https://x' } } } },
    status: { healthy: over.healthy ?? false },
  };
  if (over.credential) g.spec.access.credential = { type: over.credential, serviceAccountToken: '<redacted>' };
  return g;
}

const now = new Date('2024-01-01T01:00:00Z');

describe('clusterGatewayTable', () => {
  test('columns in upstream order plus Age', () => {
    const t = clusterGatewayTable([], { includeObject: 'None', now });
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(
      t.columnDefinitions.map((c) => [c.name, c.type, c.format, c.description, c.priority]),
      [
        ['Name', 'string', 'name', 'the name of the cluster', 0],
        ['Provider', 'string', '', 'the cluster provider type', 0],
        ['Credential-Type', 'string', '', 'the credential type', 0],
        ['Endpoint-Type', 'string', '', 'the endpoint type', 0],
        ['Healthy', 'string', '', 'the healthiness of the gateway', 0],
        ['Age', 'string', '', t.columnDefinitions[5]!.description, 0],
      ],
    );
    assert.match(t.columnDefinitions[5]!.description, /^CreationTimestamp is a timestamp/);
    assert.deepEqual(t.rows, []);
    assert.deepEqual(t.metadata, {});
  });

  test('cells', () => {
    const t = clusterGatewayTable(
      [
        gw('a', { credential: 'ServiceAccountToken', healthy: true }),
        gw('b', { endpoint: 'ClusterProxy', created: '2023-12-31T23:58:30Z' }),
        gw('c', { created: '' }),
      ],
      { includeObject: 'None', now },
    );
    assert.deepEqual(
      t.rows.map((r) => r.cells),
      [
        ['a', '', 'ServiceAccountToken', 'Const', 'true', '60m'],
        ['b', '', '<none>', 'ClusterProxy', 'false', '61m'],
        ['c', '', '<none>', 'Const', 'false', '<unknown>'],
      ],
    );
    assert.ok(t.rows.every((r) => !('object' in r)));
  });

  test('includeObject Metadata embeds PartialObjectMetadata', () => {
    const g = gw('a');
    const t = clusterGatewayTable([g], { includeObject: 'Metadata', now });
    assert.deepEqual(t.rows[0]!.object, {
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: g.metadata,
    });
  });

  test('includeObject Object embeds the ClusterGateway', () => {
    const g = gw('a');
    assert.deepEqual(clusterGatewayTable([g], { includeObject: 'Object', now }).rows[0]!.object, g);
  });

  test('list metadata is carried', () => {
    const t = clusterGatewayTable([], {
      includeObject: 'None',
      listMeta: { resourceVersion: '9', continue: 'tok', remainingItemCount: 3 },
    });
    assert.deepEqual(t.metadata, { resourceVersion: '9', continue: 'tok', remainingItemCount: 3 });
  });
});

describe('humanDuration (kube duration.HumanDuration)', () => {
  const S = 1000;
  const M = 60 * S;
  const H = 60 * M;
  const D = 24 * H;
  const cases: [number, string][] = [
    [-2 * S, '<invalid>'],
    [-1 * S, '0s'],
    [0, '0s'],
    [59 * S, '59s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [3 * M + 20 * S, '3m20s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [2 * H + 5 * M + 3 * H, '5h5m'],
    [8 * H, '8h'],
    [47 * H, '47h'],
    [48 * H, '2d'],
    [2 * D + 3 * H, '2d3h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [730 * D + 10 * D, '2y10d'],
    [8 * 365 * D, '8y'],
    [20 * 365 * D, '20y'],
  ];
  for (const [ms, want] of cases) {
    test(`${ms} ms → ${want}`, () => {
      assert.equal(humanDuration(ms), want);
    });
  }
});
