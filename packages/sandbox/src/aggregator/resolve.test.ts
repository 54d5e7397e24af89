// Tests of APIService spec reading and Service → endpoint resolution.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../store/store.ts';
import type { KubeObject } from '../api/types.ts';
import { apiServiceSpec, backendServerName, joinHostPort, resolveEndpoint, ResolveError } from './resolve.ts';

function svc(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns' }, spec };
}

function store(...objs: [string, KubeObject][]): Store {
  const s = new Store();
  for (const [gr, o] of objs) s.put(gr, structuredClone(o), 'ADDED');
  return s;
}

test('apiServiceSpec reads and defaults the spec', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n';
  const s = apiServiceSpec({
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1.example.test' },
    spec: {
      group: 'example.test',
      version: 'v1',
      service: { namespace: 'ns', name: 'api' },
      caBundle: Buffer.from(ca).toString('base64'),
      groupPriorityMinimum: 100,
      versionPriority: 10,
    },
  });
  assert.deepEqual(s, {
    name: 'v1.example.test',
    group: 'example.test',
    version: 'v1',
    groupPriorityMinimum: 100,
    versionPriority: 10,
    service: { namespace: 'ns', name: 'api', port: 443 },
    caBundle: ca,
    insecureSkipTLSVerify: false,
  });
  assert.equal(
    apiServiceSpec({
      apiVersion: 'x',
      kind: 'APIService',
      metadata: { name: 'v1.apps' },
      spec: { group: 'apps', version: 'v1', service: null },
    }).service,
    undefined,
  );
  assert.equal(backendServerName({ namespace: 'ns', name: 'api', port: 443 }), 'api.ns.svc');
  assert.equal(joinHostPort('::1', 443), '[::1]:443');
});

test('resolveEndpoint', () => {
  const eps: KubeObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'api', namespace: 'ns' },
    subsets: [
      { addresses: [], ports: [{ name: 'https', port: 1 }] },
      {
        addresses: [{ ip: '127.0.0.1' }],
        ports: [
          { name: 'metrics', port: 9090 },
          { name: 'https', port: 8443 },
        ],
      },
    ],
  };
  const cases: { name: string; store: Store; port?: number; want: { host: string; port: number } | RegExp }[] = [
    {
      name: 'ExternalName uses the APIService port',
      store: store(['services', svc('api', { type: 'ExternalName', externalName: 'localhost' })]),
      port: 9443,
      want: { host: 'localhost', port: 9443 },
    },
    { name: 'missing Service', store: store(), want: /^service "api" not found$/ },
    {
      name: 'ClusterIP routes through Endpoints by port name',
      store: store(
        ['services', svc('api', { type: 'ClusterIP', ports: [{ name: 'https', port: 443, targetPort: 8443 }] })],
        ['endpoints', eps],
      ),
      want: { host: '127.0.0.1', port: 8443 },
    },
    {
      name: 'no such service port',
      store: store(['services', svc('api', { ports: [{ name: 'https', port: 8080 }] })]),
      want: /^no service port 443 found for service "api"$/,
    },
    {
      name: 'no Endpoints',
      store: store(['services', svc('api', { ports: [{ name: 'https', port: 443 }] })]),
      want: /^endpoints "api" not found$/,
    },
    {
      name: 'Endpoints without a matching ready address',
      store: store(['services', svc('api', { ports: [{ name: 'web', port: 443 }] })], ['endpoints', eps]),
      want: /^no endpoints available for service "api"$/,
    },
    {
      name: 'headless',
      store: store(['services', svc('api', { clusterIP: 'None', ports: [{ port: 443 }] })]),
      want: /^cannot route to service with ClusterIP "None"$/,
    },
    {
      name: 'unknown type',
      store: store(['services', svc('api', { type: 'Weird' })]),
      want: /^unsupported service type "Weird"$/,
    },
  ];
  for (const c of cases) {
    const ref = { namespace: 'ns', name: 'api', port: c.port ?? 443 };
    if (c.want instanceof RegExp) {
      assert.throws(
        () => resolveEndpoint(c.store, ref),
        (e: unknown) => e instanceof ResolveError && (c.want as RegExp).test(e.message),
        c.name,
      );
    } else {
      assert.deepEqual(resolveEndpoint(c.store, ref), c.want, c.name);
    }
  }
});
