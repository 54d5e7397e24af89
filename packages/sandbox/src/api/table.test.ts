// Tests for server-side Table printing: kube's age formatting, builtin printers' columns and cells
// (pods, configmaps, secrets, deployments, services, roles, apiservices…), CRD printer columns with
// JSONPath, includeObject modes and list metadata.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject, ResourceInfo } from './types.ts';
import { builtinResources } from './builtin.ts';
import { evalJsonPath, humanDuration, parseJsonPath, toTable } from './table.ts';

const NOW = new Date('2025-01-10T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();
const info = (resource: string, group = ''): ResourceInfo => {
  const r = builtinResources().find((x) => x.resource === resource && x.group === group);
  assert.ok(r, resource);
  return r;
};
const names = (t: { columnDefinitions: { name: string }[] }): string[] => t.columnDefinitions.map((c) => c.name);
const meta = (name: string, extra: Record<string, unknown> = {}): KubeObject['metadata'] => ({
  name,
  namespace: 'default',
  uid: `uid-${name}`,
  resourceVersion: '7',
  creationTimestamp: ago(200),
  ...extra,
});

test('humanDuration matches kube duration.HumanDuration', () => {
  const S = 1000;
  const M = 60 * S;
  const H = 60 * M;
  const D = 24 * H;
  const cases: [number, string][] = [
    [-3 * S, '<invalid>'],
    [-1500, '0s'],
    [0, '0s'],
    [5 * S, '5s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [3 * M + 20 * S, '3m20s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [2 * D, '2d'],
    [2 * D + 3 * H, '2d3h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [2 * 365 * D, '2y'],
    [2 * 365 * D + 10 * D, '2y10d'],
    [9 * 365 * D, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test('configmaps, secrets, namespaces: columns and cells', () => {
  const cm = toTable(
    info('configmaps'),
    [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('c'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }],
    { includeObject: 'None', now: NOW, listMeta: { resourceVersion: '42' } },
  );
  assert.equal(cm.kind, 'Table');
  assert.equal(cm.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(cm.metadata, { resourceVersion: '42' });
  assert.deepEqual(names(cm), ['Name', 'Data', 'Age']);
  assert.deepEqual(cm.columnDefinitions[0], {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: cm.columnDefinitions[0]!.description,
    priority: 0,
  });
  assert.match(cm.columnDefinitions[0].description, /^Name must be unique within a namespace/);
  assert.deepEqual(cm.rows[0]!.cells, ['c', 3, '3m20s']);
  assert.equal(cm.rows[0]!.object, undefined);

  const sec = toTable(
    info('secrets'),
    [{ apiVersion: 'v1', kind: 'Secret', metadata: meta('s'), type: 'Opaque', data: { a: 'eA==' } }],
    { includeObject: 'None', now: NOW },
  );
  assert.deepEqual(names(sec), ['Name', 'Type', 'Data', 'Age']);
  assert.deepEqual(sec.rows[0]!.cells, ['s', 'Opaque', 1, '3m20s']);

  const ns = toTable(
    info('namespaces'),
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: meta('n'), status: { phase: 'Active' } }],
    { includeObject: 'None', now: NOW },
  );
  assert.deepEqual(names(ns), ['Name', 'Status', 'Age']);
  assert.deepEqual(ns.rows[0]!.cells, ['n', 'Active', '3m20s']);
});

test('includeObject modes', () => {
  const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('c'), data: { a: '1' } };
  const md = toTable(info('configmaps'), [obj], { includeObject: 'Metadata', now: NOW });
  assert.deepEqual(md.rows[0]!.object, {
    kind: 'PartialObjectMetadata',
    apiVersion: 'meta.k8s.io/v1',
    metadata: obj.metadata,
  });
  const full = toTable(info('configmaps'), [obj], { includeObject: 'Object', now: NOW });
  assert.deepEqual(full.rows[0]!.object, obj);
  const lm = toTable(info('configmaps'), [], {
    includeObject: 'None',
    listMeta: { resourceVersion: '9', continue: 'abc', remainingItemCount: 4 },
  });
  assert.deepEqual(lm.metadata, { resourceVersion: '9', continue: 'abc', remainingItemCount: 4 });
  assert.deepEqual(lm.rows, []);
});

test('pods: status, readiness, restarts and wide columns', () => {
  const pods = info('pods');
  const base = (status: Record<string, unknown>, spec: Record<string, unknown> = {}, m = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta('p', m),
    spec: {
      containers: [
        { name: 'a', image: 'x' },
        { name: 'b', image: 'y' },
      ],
      ...spec,
    },
    status,
  });
  const running = { running: { startedAt: ago(100) } };
  const cases: [string, KubeObject, unknown[]][] = [
    [
      'pending, nothing reported',
      base({ phase: 'Pending' }),
      ['p', '0/2', 'Pending', '0', '3m20s', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'running, one ready, restarts with last restart age',
      base(
        {
          phase: 'Running',
          podIP: '10.0.0.5',
          podIPs: [{ ip: '10.0.0.5' }],
          containerStatuses: [
            {
              name: 'a',
              ready: true,
              restartCount: 2,
              state: running,
              lastState: { terminated: { exitCode: 1, finishedAt: ago(65) } },
            },
            { name: 'b', ready: false, restartCount: 0, state: { waiting: { reason: 'CrashLoopBackOff' } } },
          ],
        },
        { nodeName: 'node-1' },
      ),
      ['p', '1/2', 'CrashLoopBackOff', '2 (65s ago)', '3m20s', '10.0.0.5', 'node-1', '<none>', '<none>'],
    ],
    [
      'all running and ready',
      base(
        {
          phase: 'Running',
          conditions: [
            { type: 'Ready', status: 'True' },
            { type: 'gate', status: 'True' },
          ],
          containerStatuses: [
            { name: 'a', ready: true, restartCount: 0, state: running },
            { name: 'b', ready: true, restartCount: 0, state: running },
          ],
        },
        { readinessGates: [{ conditionType: 'gate' }, { conditionType: 'other' }] },
      ),
      ['p', '2/2', 'Running', '0', '3m20s', '<none>', '<none>', '<none>', '1/2'],
    ],
    [
      'init container waiting',
      base(
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'i', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
          ],
        },
        { initContainers: [{ name: 'i', image: 'z' }] },
      ),
      ['p', '0/2', 'Init:0/1', '0', '3m20s', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'init container failed with exit code',
      base(
        {
          phase: 'Pending',
          initContainerStatuses: [{ name: 'i', ready: false, restartCount: 1, state: { terminated: { exitCode: 3 } } }],
        },
        { initContainers: [{ name: 'i', image: 'z' }] },
      ),
      ['p', '0/2', 'Init:ExitCode:3', '1', '3m20s', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'terminated without reason',
      base({
        phase: 'Running',
        containerStatuses: [{ name: 'a', restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } }],
      }),
      ['p', '0/2', 'Signal:9', '0', '3m20s', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'deleting',
      base({ phase: 'Running' }, {}, { deletionTimestamp: ago(1) }),
      ['p', '0/2', 'Terminating', '0', '3m20s', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'scheduling gated',
      base({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }),
      ['p', '0/2', 'SchedulingGated', '0', '3m20s', '<none>', '<none>', '<none>', '<none>'],
    ],
    [
      'sidecar (restartable init container) counts toward totals',
      base(
        {
          phase: 'Running',
          initContainerStatuses: [{ name: 's', ready: true, started: true, restartCount: 1, state: running }],
          containerStatuses: [
            { name: 'a', ready: true, restartCount: 0, state: running },
            { name: 'b', ready: true, restartCount: 0, state: running },
          ],
          conditions: [{ type: 'Initialized', status: 'True' }],
        },
        { initContainers: [{ name: 's', image: 'z', restartPolicy: 'Always' }] },
      ),
      ['p', '3/3', 'Running', '1', '3m20s', '<none>', '<none>', '<none>', '<none>'],
    ],
  ];
  for (const [name, pod, want] of cases) {
    const t = toTable(pods, [pod], { includeObject: 'None', now: NOW });
    assert.deepEqual(t.rows[0]!.cells, want, name);
  }
  const t = toTable(pods, [base({ phase: 'Succeeded' })], { includeObject: 'None', now: NOW });
  assert.deepEqual(names(t), [
    'Name',
    'Ready',
    'Status',
    'Restarts',
    'Age',
    'IP',
    'Node',
    'Nominated Node',
    'Readiness Gates',
  ]);
  assert.deepEqual(
    t.columnDefinitions.map((c) => c.priority),
    [0, 0, 0, 0, 0, 1, 1, 1, 1],
  );
  assert.equal(t.rows[0]!.conditions?.[0]?.type, 'Completed');
});

test('deployments, replicasets: ready counts, containers, selector', () => {
  const dep: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('d'),
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'x' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['b', 'a'] }] },
      template: {
        spec: {
          containers: [
            { name: 'web', image: 'nginx' },
            { name: 'side', image: 'busybox' },
          ],
        },
      },
    },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  };
  const t = toTable(info('deployments', 'apps'), [dep], { includeObject: 'None', now: NOW });
  assert.deepEqual(names(t), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(t.rows[0]!.cells, ['d', '2/3', 3, 2, '3m20s', 'web,side', 'nginx,busybox', 'app=x,tier in (a,b)']);
  const rs = toTable(
    info('replicasets', 'apps'),
    [{ ...dep, kind: 'ReplicaSet', status: { replicas: 3, readyReplicas: 1 } }],
    {
      includeObject: 'None',
      now: NOW,
    },
  );
  assert.deepEqual(names(rs), ['Name', 'Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector']);
  assert.equal(rs.columnDefinitions[1]!.type, 'integer');
  assert.deepEqual(rs.rows[0]!.cells.slice(0, 4), ['d', 3, 3, 1]);
});

test('services, endpoints, serviceaccounts, events, nodes', () => {
  const svc = toTable(
    info('services'),
    [
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('s'),
        spec: {
          type: 'NodePort',
          clusterIP: '10.96.0.10',
          clusterIPs: ['10.96.0.10'],
          ports: [
            { port: 80, nodePort: 30080, protocol: 'TCP' },
            { port: 53, protocol: 'UDP' },
          ],
          selector: { app: 'x' },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta('lb'),
        spec: { type: 'LoadBalancer', clusterIP: '10.96.0.11', ports: [{ port: 443 }] },
      },
    ],
    { includeObject: 'None', now: NOW },
  );
  assert.deepEqual(names(svc), ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age', 'Selector']);
  assert.deepEqual(svc.rows[0]!.cells, [
    's',
    'NodePort',
    '10.96.0.10',
    '<none>',
    '80:30080/TCP,53/UDP',
    '3m20s',
    'app=x',
  ]);
  assert.deepEqual(svc.rows[1]!.cells, ['lb', 'LoadBalancer', '10.96.0.11', '<pending>', '443/TCP', '3m20s', '<none>']);

  const ep = toTable(
    info('endpoints'),
    [
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: meta('e'),
        subsets: [
          {
            addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.3' }, { ip: '10.0.0.4' }],
            ports: [{ port: 8080 }],
          },
        ],
      },
      { apiVersion: 'v1', kind: 'Endpoints', metadata: meta('none') },
    ],
    { includeObject: 'None', now: NOW },
  );
  assert.deepEqual(ep.rows[0]!.cells, ['e', '10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080 + 1 more...', '3m20s']);
  assert.deepEqual(ep.rows[1]!.cells, ['none', '<none>', '3m20s']);

  const sa = toTable(
    info('serviceaccounts'),
    [{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('default') }],
    {
      includeObject: 'None',
      now: NOW,
    },
  );
  assert.deepEqual(sa.rows[0]!.cells, ['default', 0, '3m20s']);

  const ev = toTable(
    info('events'),
    [
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: meta('p.123'),
        involvedObject: { kind: 'Pod', name: 'p', fieldPath: 'spec.containers{a}' },
        reason: 'Pulled',
        message: ' pulled image \n',
        type: 'Normal',
        source: { component: 'kubelet', host: 'node-1' },
        firstTimestamp: ago(600),
        lastTimestamp: ago(30),
        count: 4,
      },
    ],
    { includeObject: 'None', now: NOW },
  );
  assert.deepEqual(names(ev), [
    'Last Seen',
    'Type',
    'Reason',
    'Object',
    'Subobject',
    'Source',
    'Message',
    'First Seen',
    'Count',
    'Name',
  ]);
  assert.deepEqual(ev.rows[0]!.cells, [
    '30s',
    'Normal',
    'Pulled',
    'pod/p',
    'spec.containers{a}',
    'kubelet, node-1',
    'pulled image',
    '10m',
    4,
    'p.123',
  ]);

  const node = toTable(
    info('nodes'),
    [
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: meta('n1', { namespace: undefined, labels: { 'node-role.kubernetes.io/control-plane': '' } }),
        spec: { unschedulable: true },
        status: {
          conditions: [{ type: 'Ready', status: 'True' }],
          addresses: [{ type: 'InternalIP', address: '172.18.0.2' }],
          nodeInfo: {
            kubeletVersion: 'v1.32.0',
            osImage: 'Debian',
            kernelVersion: '6.1',
            containerRuntimeVersion: 'containerd://1.7',
          },
        },
      },
    ],
    { includeObject: 'None', now: NOW },
  );
  assert.deepEqual(node.rows[0]!.cells, [
    'n1',
    'Ready,SchedulingDisabled',
    'control-plane',
    '3m20s',
    'v1.32.0',
    '172.18.0.2',
    '<none>',
    'Debian',
    '6.1',
    'containerd://1.7',
  ]);
});

test('rbac, leases, apiservices, crds and default printer', () => {
  const role = toTable(
    info('roles', 'rbac.authorization.k8s.io'),
    [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta('r', { creationTimestamp: '2025-01-10T11:56:40.123Z' }),
      },
    ],
    {
      includeObject: 'None',
      now: NOW,
    },
  );
  assert.deepEqual(names(role), ['Name', 'Created At']);
  assert.equal(role.columnDefinitions[1]!.type, 'date');
  assert.deepEqual(role.rows[0]!.cells, ['r', '2025-01-10T11:56:40Z']);

  const rb = toTable(
    info('rolebindings', 'rbac.authorization.k8s.io'),
    [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: meta('rb'),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [
          { kind: 'User', name: 'alice' },
          { kind: 'User', name: 'bob' },
          { kind: 'Group', name: 'devs' },
          { kind: 'ServiceAccount', name: 'sa', namespace: 'ns' },
        ],
      },
    ],
    { includeObject: 'None', now: NOW },
  );
  assert.deepEqual(names(rb), ['Name', 'Role', 'Age', 'Users', 'Groups', 'ServiceAccounts']);
  assert.deepEqual(rb.rows[0]!.cells, ['rb', 'ClusterRole/view', '3m20s', 'alice, bob', 'devs', 'ns:sa']);

  const lease = toTable(
    info('leases', 'coordination.k8s.io'),
    [{ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: meta('l'), spec: { holderIdentity: 'me' } }],
    {
      includeObject: 'None',
      now: NOW,
    },
  );
  assert.deepEqual(lease.rows[0]!.cells, ['l', 'me', '3m20s']);

  const apis = toTable(
    info('apiservices', 'apiregistration.k8s.io'),
    [
      {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: meta('v1.apps'),
        spec: {},
        status: { conditions: [{ type: 'Available', status: 'True' }] },
      },
      {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: meta('v1beta1.cluster.core.oam.dev'),
        spec: { service: { namespace: 'vela-system', name: 'cluster-gateway' } },
        status: { conditions: [{ type: 'Available', status: 'False', reason: 'MissingEndpoints' }] },
      },
      {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: meta('v1.x'),
        spec: { service: { namespace: 'a', name: 'b' } },
      },
    ],
    { includeObject: 'None', now: NOW },
  );
  assert.deepEqual(names(apis), ['Name', 'Service', 'Available', 'Age']);
  assert.deepEqual(
    apis.rows.map((r) => r.cells.slice(1, 3)),
    [
      ['Local', 'True'],
      ['vela-system/cluster-gateway', 'False (MissingEndpoints)'],
      ['a/b', 'Unknown'],
    ],
  );

  const crds = toTable(
    info('customresourcedefinitions', 'apiextensions.k8s.io'),
    [{ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: meta('a.b.c') }],
    {
      includeObject: 'None',
      now: NOW,
    },
  );
  assert.deepEqual(names(crds), ['Name', 'Created At']);
  assert.deepEqual(crds.rows[0]!.cells, ['a.b.c', '2025-01-10T11:56:40Z']);

  const tr = toTable(
    info('tokenreviews', 'authentication.k8s.io'),
    [{ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: { name: '' } }],
    {
      includeObject: 'None',
      now: NOW,
    },
  );
  assert.deepEqual(tr.rows[0]!.cells, ['', '0001-01-01T00:00:00Z']);
});

const crdInfo = (columns: NonNullable<ResourceInfo['crd']>['additionalPrinterColumns']): ResourceInfo => ({
  group: 'cluster.open-cluster-management.io',
  version: 'v1',
  resource: 'managedclusters',
  kind: 'ManagedCluster',
  listKind: 'ManagedClusterList',
  singular: 'managedcluster',
  namespaced: false,
  shortNames: [],
  categories: [],
  verbs: ['get', 'list'],
  subresources: ['status'],
  crd: {
    crdName: 'managedclusters.cluster.open-cluster-management.io',
    schema: undefined,
    additionalPrinterColumns: columns,
    preserveUnknownFields: false,
  },
});

test('CRD additionalPrinterColumns via JSONPath; Age default when none', () => {
  const r = crdInfo([
    { name: 'Hub Accepted', type: 'boolean', jsonPath: '.spec.hubAcceptsClient' },
    { name: 'Managed Cluster URLs', type: 'string', jsonPath: '.spec.managedClusterClientConfigs[*].url' },
    {
      name: 'Joined',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="ManagedClusterJoined")].status',
      priority: 0,
    },
    {
      name: 'Available',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="ManagedClusterConditionAvailable")].status',
    },
    { name: 'Port', type: 'integer', jsonPath: '.spec.port', description: 'the port', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ]);
  const mc: KubeObject = {
    apiVersion: 'cluster.open-cluster-management.io/v1',
    kind: 'ManagedCluster',
    metadata: meta('cluster1', { namespace: undefined }),
    spec: {
      hubAcceptsClient: true,
      managedClusterClientConfigs: [{ url: 'https://a:6443' }, { url: 'https://b' }],
      port: 8443.0,
    },
    status: {
      conditions: [
        { type: 'ManagedClusterJoined', status: 'True' },
        { type: 'ManagedClusterConditionAvailable', status: 'Unknown' },
      ],
    },
  };
  const t = toTable(r, [mc, { ...mc, metadata: meta('bare'), spec: {}, status: {} }], {
    includeObject: 'Metadata',
    now: NOW,
  });
  assert.deepEqual(names(t), ['Name', 'Hub Accepted', 'Managed Cluster URLs', 'Joined', 'Available', 'Port', 'Age']);
  assert.equal(
    t.columnDefinitions[2]!.description,
    'Custom resource definition column (in JSONPath format): .spec.managedClusterClientConfigs[*].url',
  );
  assert.equal(t.columnDefinitions[5]!.description, 'the port');
  assert.equal(t.columnDefinitions[5]!.priority, 1);
  assert.deepEqual(t.rows[0]!.cells, ['cluster1', true, 'https://a:6443', 'True', 'Unknown', 8443, '3m20s']);
  assert.deepEqual(t.rows[1]!.cells, ['bare', null, null, null, null, null, '3m20s']);

  const dflt = toTable(crdInfo([]), [mc], { includeObject: 'None', now: NOW });
  assert.deepEqual(names(dflt), ['Name', 'Age']);
  assert.deepEqual(dflt.rows[0]!.cells, ['cluster1', '3m20s']);

  const bad = toTable(
    crdInfo([
      { name: 'Bad', type: 'string', jsonPath: '.spec[' },
      { name: 'When', type: 'date', jsonPath: '.spec.when' },
    ]),
    [{ ...mc, spec: { when: 'yesterday' } }],
    {
      includeObject: 'None',
      now: NOW,
    },
  );
  assert.deepEqual(bad.rows[0]!.cells, ['cluster1', null, '<invalid>']);
});

test('JSONPath subset: parse and evaluate', () => {
  const doc = {
    a: {
      b: [
        { k: 'x', v: 1 },
        { k: 'y', v: 2 },
      ],
      'dotted.key': 'd',
    },
  };
  const cases: [string, unknown[] | undefined][] = [
    ['.a.b[0].v', [1]],
    ['.a.b[-1].k', ['y']],
    ['{.a.b[*].k}', ['x', 'y']],
    ['.a.b[?(@.k=="y")].v', [2]],
    [".a.b[?(@.k!='y')].v", [1]],
    ['.a.b[?(@.v==2)].k', ['y']],
    [".a['dotted.key']", ['d']],
    ['.a.missing', []],
    ['.a.b[5]', []],
    ['.a.b[', undefined],
    ['a b', undefined],
  ];
  for (const [expr, want] of cases) {
    const steps = parseJsonPath(expr);
    if (want === undefined) assert.equal(steps, undefined, expr);
    else assert.deepEqual(evalJsonPath(steps!, doc), want, expr);
  }
});
