import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRequestInfo } from './requestinfo.ts';

const cases: [string, string, string, Partial<ReturnType<typeof parseRequestInfo>>][] = [
  ['GET', '/api/v1/namespaces', '', { verb: 'list', resource: 'namespaces', namespace: '', name: '' }],
  [
    'GET',
    '/api/v1/namespaces/default',
    '',
    { verb: 'get', resource: 'namespaces', namespace: 'default', name: 'default' },
  ],
  [
    'PUT',
    '/api/v1/namespaces/default/status',
    '',
    { verb: 'update', resource: 'namespaces', name: 'default', subresource: 'status' },
  ],
  ['GET', '/api/v1/namespaces/ns/configmaps', 'watch=true', { verb: 'watch', namespace: 'ns', resource: 'configmaps' }],
  ['GET', '/api/v1/watch/namespaces/ns/configmaps/x', '', { verb: 'watch', name: 'x' }],
  ['DELETE', '/api/v1/namespaces/ns/configmaps', '', { verb: 'deletecollection' }],
  ['POST', '/api/v1/namespaces/ns/pods/p/exec', '', { verb: 'create', subresource: 'exec', name: 'p' }],
  ['GET', '/api/v1/namespaces/ns/services/s/proxy/a/b', '', { subresource: 'proxy', parts: ['a', 'b'] }],
  [
    'PATCH',
    '/apis/apps/v1/namespaces/ns/deployments/d/scale',
    '',
    { apiGroup: 'apps', apiVersion: 'v1', verb: 'patch', subresource: 'scale' },
  ],
  [
    'GET',
    '/apis/cluster.open-cluster-management.io/v1/managedclusters',
    '',
    { apiGroup: 'cluster.open-cluster-management.io', verb: 'list', namespace: '' },
  ],
  ['GET', '/apis/apps', '', { isResourceRequest: false }],
  ['GET', '/apis/apps/v1', '', { isResourceRequest: false }],
  ['GET', '/healthz', '', { isResourceRequest: false, verb: 'get' }],
];

for (const [method, path, q, want] of cases) {
  test(`${method} ${path}?${q}`, () => {
    const got = parseRequestInfo(method, path, new URLSearchParams(q));
    for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof typeof got], v, k);
  });
}
