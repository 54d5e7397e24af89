import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GatewayError } from '../apiserver/errors.ts';
import { isLongRunning, parseRequestInfo, requestAttributes, type RequestInfo } from './request-attributes.ts';

const CG = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways';

const cases: { method: string; url: string; want: Partial<RequestInfo> }[] = [
  {
    method: 'GET',
    url: `${CG}/c1/proxy/api/v1/namespaces/default/pods`,
    want: {
      isResourceRequest: true,
      verb: 'get',
      apiGroup: 'cluster.core.oam.dev',
      apiVersion: 'v1alpha1',
      resource: 'clustergateways',
      subresource: 'proxy',
      name: 'c1',
      namespace: '',
    },
  },
  { method: 'HEAD', url: `${CG}/c1/proxy/healthz`, want: { verb: 'get', subresource: 'proxy', name: 'c1' } },
  {
    method: 'POST',
    url: `${CG}/c1/proxy/api/v1/namespaces/x/pods/p/exec?command=ls`,
    want: { verb: 'create', subresource: 'proxy' },
  },
  { method: 'PUT', url: `${CG}/c1/proxy/x`, want: { verb: 'update' } },
  { method: 'PATCH', url: `${CG}/c1/proxy/x`, want: { verb: 'patch' } },
  { method: 'DELETE', url: `${CG}/c1/proxy/x`, want: { verb: 'delete' } },
  { method: 'OPTIONS', url: `${CG}/c1/proxy/x`, want: { verb: '', isResourceRequest: true } },
  // inner watch=true does not turn the outer get into watch: the outer request names an object
  { method: 'GET', url: `${CG}/c1/proxy/api/v1/pods?watch=true`, want: { verb: 'get' } },
  { method: 'GET', url: `${CG}/c1/proxy`, want: { verb: 'get', subresource: 'proxy', name: 'c1' } },
  { method: 'GET', url: `${CG}/c1/health`, want: { verb: 'get', subresource: 'health', name: 'c1' } },
  { method: 'GET', url: `${CG}/c1`, want: { verb: 'get', resource: 'clustergateways', name: 'c1', subresource: '' } },
  { method: 'GET', url: CG, want: { verb: 'list', resource: 'clustergateways', name: '' } },
  { method: 'GET', url: `${CG}?watch=true`, want: { verb: 'watch' } },
  { method: 'GET', url: `${CG}?watch=1`, want: { verb: 'watch' } },
  { method: 'GET', url: `${CG}?watch=false`, want: { verb: 'list' } },
  { method: 'GET', url: `${CG}?watch=bogus&fieldSelector=metadata.name%3Dc1`, want: { verb: 'list', name: '' } },
  { method: 'GET', url: `${CG}?watch=true&fieldSelector=metadata.name%3Dc1`, want: { verb: 'watch', name: 'c1' } },
  { method: 'GET', url: `${CG}?fieldSelector=metadata.name%3D%3Dc1`, want: { verb: 'list', name: 'c1' } },
  { method: 'DELETE', url: CG, want: { verb: 'deletecollection' } },
  { method: 'POST', url: CG, want: { verb: 'create', name: '' } },
  {
    method: 'GET',
    url: '/apis/cluster.core.oam.dev/v1alpha1/watch/clustergateways',
    want: { verb: 'watch', resource: 'clustergateways' },
  },
  {
    method: 'GET',
    url: '/api/v1/namespaces/ns1/pods/p1/log',
    want: { namespace: 'ns1', resource: 'pods', name: 'p1', subresource: 'log', apiGroup: '' },
  },
  { method: 'GET', url: '/api/v1/namespaces/ns1', want: { namespace: 'ns1', resource: 'namespaces', name: 'ns1' } },
  {
    method: 'PUT',
    url: '/api/v1/namespaces/ns1/status',
    want: { namespace: 'ns1', resource: 'namespaces', name: 'ns1', subresource: 'status', verb: 'update' },
  },
  { method: 'GET', url: '/api/v1/namespaces/ns1/pods', want: { namespace: 'ns1', resource: 'pods', verb: 'list' } },
  // non-resource
  { method: 'GET', url: '/healthz', want: { isResourceRequest: false, verb: 'get', path: '/healthz' } },
  { method: 'POST', url: '/metrics', want: { isResourceRequest: false, verb: 'post' } },
  { method: 'GET', url: '/api/v1', want: { isResourceRequest: false } },
  { method: 'GET', url: '/apis/cluster.core.oam.dev/v1alpha1', want: { isResourceRequest: false, verb: 'get' } },
  { method: 'GET', url: '/apis/cluster.core.oam.dev', want: { isResourceRequest: false } },
  { method: 'GET', url: '/openapi/v2', want: { isResourceRequest: false } },
  { method: 'GET', url: '/', want: { isResourceRequest: false, path: '/' } },
  // Go splits the decoded path
  { method: 'GET', url: `${CG}/c1%2Fx/proxy`, want: { name: 'c1', subresource: 'x' } },
];

for (const c of cases) {
  test(`parseRequestInfo ${c.method} ${c.url}`, () => {
    const info = parseRequestInfo(c.method, c.url);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(info[k as keyof RequestInfo], v, k);
  });
}

test('special verb without anything after it is a 500, as kube', () => {
  assert.throws(
    () => parseRequestInfo('GET', '/apis/cluster.core.oam.dev/v1alpha1/watch'),
    (e: unknown) =>
      e instanceof GatewayError && e.code === 500 && /unable to determine kind and namespace/.test(e.message),
  );
});

test('requestAttributes and isLongRunning', () => {
  const info = parseRequestInfo('GET', `${CG}/c1/proxy/api/v1/pods`);
  const attrs = requestAttributes({ username: 'alice', groups: [] }, info);
  assert.deepEqual(attrs, {
    user: { username: 'alice', groups: [] },
    verb: 'get',
    resourceRequest: true,
    path: `${CG}/c1/proxy/api/v1/pods`,
    apiGroup: 'cluster.core.oam.dev',
    apiVersion: 'v1alpha1',
    resource: 'clustergateways',
    subresource: 'proxy',
    namespace: '',
    name: 'c1',
  });
  assert.equal(isLongRunning(info), true);
  assert.equal(isLongRunning(parseRequestInfo('GET', `${CG}?watch=true`)), true);
  assert.equal(isLongRunning(parseRequestInfo('GET', `${CG}/c1`)), false);
  assert.equal(isLongRunning(parseRequestInfo('GET', '/healthz')), false);
});
