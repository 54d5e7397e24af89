import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGatewayError } from '../apiserver/errors.ts';
import { drainMode, forwardQuery, innerRequest, joinTargetPath, parseProxyTarget } from './path.ts';

const P = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/c1/proxy';

test('the member path: endpoint sub-path joined like path.Join (upstream cases included)', () => {
  const cases: [string, string, string][] = [
    // [endpoint path, raw request path after the prefix, member path]
    ['/extra', '/foo', '/extra/foo'], // upstream TestProxyHandler
    ['', '/api/v1/pods', '/api/v1/pods'],
    ['/k8s/clusters/c-x', '/api/v1/pods', '/k8s/clusters/c-x/api/v1/pods'],
    ['/k8s/clusters/c-x/', '/api/v1/pods', '/k8s/clusters/c-x/api/v1/pods'],
    ['', '', '/'],
    ['', '/', '/'],
    ['/extra', '', '/extra'],
    ['', '/api/v1/', '/api/v1'], // path.Join drops the trailing slash
    ['', '//api//v1///pods', '/api/v1/pods'], // double slashes collapse (upstream PR #18)
    ['', '/api/v1/namespaces/default/pods/a%3Ab', '/api/v1/namespaces/default/pods/a%3Ab'], // encoding kept
    [
      '',
      '/api/v1/namespaces/default/services/https:web:443/proxy',
      '/api/v1/namespaces/default/services/https:web:443/proxy',
    ],
  ];
  for (const [base, sub, want] of cases) {
    const t = parseProxyTarget(`${P}${sub}`, 'c1');
    assert.equal(joinTargetPath(base, t.segments), want, `${base} + ${sub}`);
  }
});

test('the raw query is split off and kept as is', () => {
  const t = parseProxyTarget(`${P}/api/v1/pods?watch=1&labelSelector=a%3Db`, 'c1');
  assert.equal(t.rawQuery, 'watch=1&labelSelector=a%3Db');
  assert.equal(parseProxyTarget(`${P}/api`, 'c1').rawQuery, '');
  // repeated slashes in the outer prefix are tolerated
  assert.deepEqual(
    parseProxyTarget(`/apis/cluster.core.oam.dev/v1alpha1/clustergateways//c1/proxy/api`, 'c1').segments,
    ['api'],
  );
});

test('escape attempts are refused with 400', () => {
  const bad = [
    '/..',
    '/api/../secrets',
    '/api/v1/%2e%2e/x',
    '/api/v1/%2E%2E/x',
    '/api/v1/%2E./x',
    '/api/v1/.%2e/x',
    '/api/./v1',
    '/api/%2e/v1',
    '/api%2Fv1',
    '/api%2fv1',
    '/api%5Cv1',
    '/api\\v1',
    '/api/v1/a%00b',
    '/api/v1/a%0d%0aX-Injected:%201',
    '/api/v1/a\r\nb',
    '/https://evil.example/api',
    '/http://evil.example',
    '//evil.example/api',
    '//evil.example:443/api',
    '//user@evil/api',
    '/api/%zz',
  ];
  for (const sub of bad) {
    assert.throws(
      () => parseProxyTarget(`${P}${sub}`, 'c1'),
      (e: unknown) => isGatewayError(e) && e.code === 400 && /invalid proxy path/.test(e.message),
      sub,
    );
  }
});

test('a target that does not address the named cluster is refused', () => {
  for (const t of [
    '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/c2/proxy/api',
    '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/c1/health',
    '/api/v1/namespaces',
    '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/c1/proxyx/api',
  ]) {
    assert.throws(
      () => parseProxyTarget(t, 'c1'),
      (e: unknown) => isGatewayError(e) && e.code === 400,
      t,
    );
  }
  // an encoded cluster name is compared decoded
  assert.deepEqual(
    parseProxyTarget('/apis/cluster.core.oam.dev/v1alpha1/clustergateways/c%31/proxy/x', 'c1').segments,
    ['x'],
  );
});

test('forwardQuery: dryRun intact, __dryRun renamed back, impersonate consumed', () => {
  const cases: [string, string, boolean][] = [
    ['', '', false],
    ['__dryRun=All&fieldValidation=Strict', '?dryRun=All&fieldValidation=Strict', false], // upstream TestProxyHandler
    ['dryRun=All', '?dryRun=All', false],
    ['fieldManager=kubectl&dryRun=All&force=true', '?fieldManager=kubectl&dryRun=All&force=true', false],
    ['impersonate=true&watch=1', '?watch=1', true],
    ['impersonate=1', '', true],
    ['impersonate=false&x=1', '?x=1', false],
    ['impersonate=yes', '', false],
    ['labelSelector=a%3Db&&limit=5', '?labelSelector=a%3Db&limit=5', false],
    ['%5F%5FdryRun=All', '?dryRun=All', false],
    ['__dryRun', '?dryRun', false],
  ];
  for (const [raw, search, imp] of cases) {
    assert.deepEqual(forwardQuery(raw), { search, impersonate: imp }, raw);
  }
});

test('innerRequest: resource for metrics and which requests are streams', () => {
  const cases: [string, string, string, string, boolean][] = [
    ['GET', '/api/v1/namespaces/default/pods', '', 'pods', false],
    ['GET', '/api/v1/namespaces/default/pods', '?watch=true', 'pods', true],
    ['GET', '/api/v1/watch/pods', '', 'pods', true],
    ['GET', '/api/v1/namespaces/d/pods/p/log', '?follow=true', 'pods', true],
    ['GET', '/api/v1/namespaces/d/pods/p/log', '', 'pods', false],
    ['POST', '/api/v1/namespaces/d/pods/p/exec', '?command=ls', 'pods', true],
    ['GET', '/api/v1/namespaces/d/pods/p/portforward', '', 'pods', true],
    ['GET', '/apis/apps/v1/deployments', '', 'deployments', false],
    ['GET', '/healthz', '', '', false],
    ['GET', '/', '', '', false],
    ['GET', '/apis/apps/v1/watch', '', '', false],
  ];
  for (const [m, p, q, resource, streaming] of cases) {
    assert.deepEqual(innerRequest(m, p, q), { resource, streaming }, `${m} ${p}${q}`);
  }
});

test('drainMode: watches end at a line boundary, logs -f anywhere, other streams are not ended', () => {
  const cases: [string, string, string, 'lines' | 'any' | undefined][] = [
    ['GET', '/api/v1/namespaces/default/pods', '?watch=true', 'lines'],
    ['GET', '/api/v1/watch/pods', '', 'lines'],
    ['GET', '/apis/apps/v1/namespaces/d/deployments', '?watch=1', 'lines'],
    ['GET', '/api/v1/namespaces/d/pods/p/log', '?follow=true', 'any'],
    ['GET', '/api/v1/namespaces/d/pods/p/log', '?follow=false', undefined],
    ['GET', '/api/v1/namespaces/d/pods/p/log', '', undefined],
    ['GET', '/api/v1/namespaces/d/services/s/proxy/stream', '', undefined],
    ['POST', '/api/v1/namespaces/d/pods/p/exec', '?command=ls', undefined],
    ['GET', '/api/v1/namespaces/default/pods', '', undefined],
    ['GET', '/healthz', '', undefined],
    ['GET', '/%zz', '', undefined],
  ];
  for (const [m, p, q, mode] of cases) {
    assert.equal(drainMode(m, p, q), mode, `${m} ${p}${q}`);
  }
});
