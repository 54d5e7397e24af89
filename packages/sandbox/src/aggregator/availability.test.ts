// Tests of the Available condition: kube's reasons and messages for each failure, and transitions.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Store } from '../store/store.ts';
import type { KubeObject } from '../api/types.ts';
import { checkAvailability, LOCAL_CONDITION, setCondition } from './availability.ts';
import { createFrontProxyPKI, type FrontProxyPKI } from './frontproxy.ts';
import type { APIServiceSpec } from './resolve.ts';
import { startTestBackend, type TestBackend } from './test-backend.ts';

let fp: FrontProxyPKI;
let backend: TestBackend;
let deadPort: number;

before(async () => {
  fp = await createFrontProxyPKI('t');
  backend = await startTestBackend({ clientCA: fp.ca.cert });
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  deadPort = (s.address() as AddressInfo).port;
  await new Promise<void>((r) =>
    s.close(() => {
      r();
    }),
  );
});

after(async () => {
  await backend.close();
});

function spec(over: Partial<APIServiceSpec> = {}, port?: number): APIServiceSpec {
  return {
    name: 'v1.example.test',
    group: 'example.test',
    version: 'v1',
    groupPriorityMinimum: 100,
    versionPriority: 10,
    service: { namespace: 'default', name: 'example-api', port: port ?? backend.port },
    caBundle: '',
    insecureSkipTLSVerify: false,
    ...over,
  };
}

function withObjects(...objs: [string, Record<string, unknown>][]): Store {
  const s = new Store();
  for (const [gr, o] of objs) s.put(gr, structuredClone(o) as KubeObject, 'ADDED');
  return s;
}

const externalName = (host: string): [string, Record<string, unknown>] => [
  'services',
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'example-api', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: host },
  },
];
const clusterIP = (ports: unknown[]): [string, Record<string, unknown>] => [
  'services',
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'example-api', namespace: 'default' },
    spec: { type: 'ClusterIP', ports },
  },
];
const endpoints = (subsets: unknown[]): [string, Record<string, unknown>] => [
  'endpoints',
  { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'example-api', namespace: 'default' }, subsets },
];

test('checkAvailability reasons and messages', async (t) => {
  const cases: {
    name: string;
    store: () => Store;
    spec: () => APIServiceSpec;
    status: string;
    reason: string;
    message: string | RegExp;
  }[] = [
    {
      name: 'local',
      store: () => withObjects(),
      spec: () => spec({ service: undefined }),
      status: 'True',
      reason: 'Local',
      message: 'Local APIServices are always available',
    },
    {
      name: 'missing Service',
      store: () => withObjects(),
      spec: () => spec(),
      status: 'False',
      reason: 'ServiceNotFound',
      message: 'service/example-api in "default" is not present',
    },
    {
      name: 'ClusterIP without the port',
      store: () => withObjects(clusterIP([{ name: 'https', port: 8443 }])),
      spec: () => spec({}, 443),
      status: 'False',
      reason: 'ServicePortError',
      message: 'service/example-api in "default" is not listening on port 443',
    },
    {
      name: 'ClusterIP without endpoints',
      store: () => withObjects(clusterIP([{ name: 'https', port: 443 }])),
      spec: () => spec({}, 443),
      status: 'False',
      reason: 'EndpointsNotFound',
      message: 'cannot find endpointslices for service/example-api in "default"',
    },
    {
      name: 'ClusterIP with endpoints for another port name',
      store: () =>
        withObjects(
          clusterIP([{ name: 'https', port: 443 }]),
          endpoints([{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'web', port: 80 }] }]),
        ),
      spec: () => spec({}, 443),
      status: 'False',
      reason: 'MissingEndpoints',
      message: 'endpointslices for service/example-api in "default" have no addresses with port name "https"',
    },
    {
      name: 'ClusterIP routed through endpoints',
      store: () =>
        withObjects(
          clusterIP([{ name: 'https', port: 443 }]),
          endpoints([{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: backend.port }] }]),
        ),
      spec: () => spec({}, 443),
      status: 'True',
      reason: 'Passed',
      message: 'all checks passed',
    },
    {
      name: 'ExternalName up',
      store: () => withObjects(externalName('localhost')),
      spec: () => spec(),
      status: 'True',
      reason: 'Passed',
      message: 'all checks passed',
    },
    {
      name: 'probe does not verify the serving certificate (as kube)',
      store: () => withObjects(externalName('127.0.0.1')),
      spec: () => spec({ caBundle: fp.ca.cert }),
      status: 'True',
      reason: 'Passed',
      message: 'all checks passed',
    },
    {
      name: 'backend down',
      store: () => withObjects(externalName('127.0.0.1')),
      spec: () => spec({}, deadPort),
      status: 'False',
      reason: 'FailedDiscoveryCheck',
      message: `failing or missing response from https://127.0.0.1:${deadPort}/apis/example.test/v1: Get "https://127.0.0.1:${deadPort}/apis/example.test/v1": dial tcp 127.0.0.1:${deadPort}: connect: connection refused`,
    },
    {
      name: 'bad status',
      store: () => withObjects(externalName('127.0.0.1')),
      spec: () => spec({ name: 'v1.other.test', group: 'other.test' }),
      status: 'False',
      reason: 'FailedDiscoveryCheck',
      message: new RegExp(
        `^failing or missing response from https://127\\.0\\.0\\.1:\\d+/apis/other\\.test/v1: bad status from https://127\\.0\\.0\\.1:\\d+/apis/other\\.test/v1: 404$`,
      ),
    },
  ];
  for (const c of cases) {
    await t.test(c.name, async () => {
      const got = await checkAvailability(c.store(), c.spec(), { client: fp.client, timeoutMs: 3000 });
      assert.equal(got.status, c.status);
      assert.equal(got.reason, c.reason);
      if (c.message instanceof RegExp) assert.match(got.message, c.message);
      else assert.equal(got.message, c.message);
    });
  }
  // the probe authenticates as the aggregator itself
  const s = backend.seen.find((x) => x.headers['x-remote-user'] === 'system:kube-aggregator');
  assert.ok(s);
  assert.equal(s.headers['x-remote-group'], 'system:masters');
  assert.equal(s.clientCN, 'front-proxy-client');
});

test('setCondition keeps lastTransitionTime while the status holds', () => {
  const o: KubeObject = { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService', metadata: { name: 'x' } };
  setCondition(o, { type: 'Available', status: 'False', reason: 'ServiceNotFound', message: 'a' });
  const c0 = (o.status as { conditions: Record<string, string>[] }).conditions[0]!;
  c0.lastTransitionTime = '2020-01-01T00:00:00Z';
  setCondition(o, { type: 'Available', status: 'False', reason: 'FailedDiscoveryCheck', message: 'b' });
  let c = (o.status as { conditions: Record<string, string>[] }).conditions;
  assert.equal(c.length, 1);
  assert.deepEqual(c[0], {
    type: 'Available',
    status: 'False',
    lastTransitionTime: '2020-01-01T00:00:00Z',
    reason: 'FailedDiscoveryCheck',
    message: 'b',
  });
  setCondition(o, LOCAL_CONDITION);
  c = (o.status as { conditions: Record<string, string>[] }).conditions;
  assert.notEqual(c[0]!.lastTransitionTime, '2020-01-01T00:00:00Z');
  assert.deepEqual(Object.keys(c[0]!), ['type', 'status', 'lastTransitionTime', 'reason', 'message']);
});
