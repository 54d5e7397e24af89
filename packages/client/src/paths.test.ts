// URL building: sub-paths, trailing slashes, IPv6, custom groups, and names or servers that must be
// refused because they would change where a request goes.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidNameError,
  InvalidServerError,
  clusterGatewayPath,
  clusterGatewaysPath,
  gatewayServerURL,
  normalizeServer,
  proxyPath,
  routeURL,
  validateClusterName,
} from './paths.ts';

const P = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways';

describe('gatewayServerURL', () => {
  const cases: [string, string, string][] = [
    ['https://1.2.3.4:6443', 'cluster-1', `https://1.2.3.4:6443${P}/cluster-1/proxy`],
    ['https://1.2.3.4:6443/', 'cluster-1', `https://1.2.3.4:6443${P}/cluster-1/proxy`],
    ['https://host/k8s/clusters/c-x', 'c1', `https://host/k8s/clusters/c-x${P}/c1/proxy`],
    ['https://host/k8s/clusters/c-x///', 'c1', `https://host/k8s/clusters/c-x${P}/c1/proxy`],
    ['https://[::1]:6443', 'a.b', `https://[::1]:6443${P}/a.b/proxy`],
    ['https://HOST.example:443', 'x', `https://host.example${P}/x/proxy`],
    ['http://127.0.0.1:8001/prefix', 'x', `http://127.0.0.1:8001/prefix${P}/x/proxy`],
    ['https://host/a%20b', 'x', `https://host/a%20b${P}/x/proxy`],
  ];
  for (const [server, cluster, want] of cases) {
    test(`${server} + ${cluster}`, () => {
      assert.equal(gatewayServerURL(server, cluster), want);
    });
  }

  test('a custom group moves every path', () => {
    const opts = { group: 'gateway.open-cluster-management.io' };
    assert.equal(
      gatewayServerURL('https://h', 'c', opts),
      'https://h/apis/gateway.open-cluster-management.io/v1alpha1/clustergateways/c/proxy',
    );
    assert.equal(clusterGatewaysPath(opts), '/apis/gateway.open-cluster-management.io/v1alpha1/clustergateways');
    assert.equal(clusterGatewayPath('c', 'health'), `${P}/c/health`);
    assert.equal(clusterGatewayPath('c'), `${P}/c`);
    assert.equal(proxyPath('c'), `${P}/c/proxy`);
  });

  test('bad groups and versions are refused', () => {
    assert.throws(() => proxyPath('c', { group: 'Bad_Group' }), InvalidNameError);
    assert.throws(() => proxyPath('c', { group: 'a/b' }), InvalidNameError);
    assert.throws(() => proxyPath('c', { version: 'v1/../v2' as 'v1alpha1' }), InvalidNameError);
    assert.throws(() => proxyPath('c', { version: '' as 'v1alpha1' }), InvalidNameError);
  });
});

describe('validateClusterName', () => {
  const good = ['a', '0', 'cluster-1', 'a.b.c', 'x'.repeat(253), 'a-b.c-d'];
  const bad = [
    '',
    'A',
    'Cluster',
    'a/b',
    '..',
    '.',
    'a..b',
    '.a',
    'a.',
    '-a',
    'a-',
    '%2F',
    'a%2Fb',
    'a b',
    'a\n',
    'a?b',
    'a#b',
    'é',
    'x'.repeat(254),
  ];
  for (const name of good)
    test(`accepts ${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}…(${name.length})` : name)}`, () => {
      assert.doesNotThrow(() => {
        validateClusterName(name);
      });
    });
  for (const name of bad)
    test(`refuses ${JSON.stringify(name.length > 20 ? `${name.slice(0, 5)}…(${name.length})` : name)}`, () => {
      assert.throws(() => {
        validateClusterName(name);
      }, InvalidNameError);
      assert.throws(() => gatewayServerURL('https://h', name), InvalidNameError);
    });

  test('non-strings are refused (JavaScript callers)', () => {
    assert.throws(() => {
      validateClusterName(undefined as unknown as string);
    }, InvalidNameError);
  });

  test('the message names the rule', () => {
    assert.throws(
      () => {
        validateClusterName('a/b');
      },
      { message: /invalid cluster name "a\/b": a lowercase RFC 1123 subdomain/ },
    );
  });
});

describe('normalizeServer', () => {
  const bad = [
    '',
    'not a url',
    'ftp://host',
    'unix:///var/run/k8s.sock',
    'https://user:pass@host',
    'https://host/?x=1',
    'https://host/path?',
    'https://host/#frag',
  ];
  for (const s of bad)
    test(`refuses ${JSON.stringify(s)}`, () => {
      assert.throws(() => normalizeServer(s), InvalidServerError);
    });
  test('keeps the sub-path and port, drops trailing slashes', () => {
    assert.equal(normalizeServer('https://h:8443/a/b/'), 'https://h:8443/a/b');
    assert.equal(normalizeServer('https://h'), 'https://h');
  });
});

describe('routeURL', () => {
  const base = 'https://h/k8s/c-x';
  const cases: [string, string][] = [
    [`${base}/api/v1/namespaces`, `${base}${P}/c1/proxy/api/v1/namespaces`],
    [`${base}/api/v1/pods?watch=true&dryRun=All`, `${base}${P}/c1/proxy/api/v1/pods?watch=true&dryRun=All`],
    [`${base}?x=1`, `${base}${P}/c1/proxy?x=1`],
    [base, `${base}${P}/c1/proxy`],
  ];
  for (const [url, want] of cases)
    test(url, () => {
      assert.equal(routeURL(url, `${base}/`, 'c1'), want);
    });
  test('URLs outside the hub base are refused', () => {
    assert.throws(() => routeURL('https://other/api/v1', base, 'c1'), InvalidServerError);
    assert.throws(() => routeURL('https://h/k8s/c-xy/api/v1', base, 'c1'), InvalidServerError);
  });
  test('bad cluster names are refused', () => {
    assert.throws(() => routeURL(`${base}/api`, base, '../x'), InvalidNameError);
  });
});
