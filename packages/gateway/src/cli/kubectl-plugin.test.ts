// Output formats of `kubectl gateway list` and argument errors of the plugin. Runs against a hub
// with real kubectl are in test/deploy/kubectl-plugin.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatList, formatTable, pluginMain } from './kubectl-plugin.ts';

const items = [
  {
    name: 'cluster-1',
    endpointType: 'Const',
    endpoint: 'https://a',
    credentialType: 'X509Certificate',
    healthy: true,
    healthyReason: '',
  },
  {
    name: 'c2',
    endpointType: 'ClusterProxy',
    endpoint: '',
    credentialType: 'ServiceAccountToken',
    healthy: false,
    healthyReason: 'Timeout',
  },
];

test('table columns are aligned like kubectl', () => {
  assert.equal(
    formatTable(
      ['NAME', 'X'],
      [
        ['a', '1'],
        ['long-name', '2'],
      ],
    ),
    'NAME        X\na           1\nlong-name   2\n',
  );
  assert.equal(
    formatList(items, ''),
    'NAME        ENDPOINT-TYPE   CREDENTIAL-TYPE       HEALTHY\n' +
      'cluster-1   Const           X509Certificate       true\n' +
      'c2          ClusterProxy    ServiceAccountToken   false\n',
  );
});

test('list output formats', () => {
  assert.deepEqual(JSON.parse(formatList(items, 'json')), items);
  assert.equal(
    formatList(items, 'name'),
    'clustergateway.cluster.core.oam.dev/cluster-1\nclustergateway.cluster.core.oam.dev/c2\n',
  );
  assert.match(formatList(items, 'wide'), /c2\s+ClusterProxy\s+ServiceAccountToken\s+false\s+Timeout/);
  assert.match(formatList(items, 'yaml'), /- name: cluster-1/);
  assert.throws(() => formatList(items, 'table'), /unsupported output format "table"/);
});

test('argument errors exit non-zero without touching a hub', async () => {
  const silence = { write: () => true };
  const origErr = process.stderr.write.bind(process.stderr);
  const errs: string[] = [];
  process.stderr.write = (s: string) => errs.push(s) > 0;
  try {
    assert.notEqual(await pluginMain(['health'], silence), 0);
    assert.notEqual(await pluginMain(['nope'], silence), 0);
    assert.equal(await pluginMain(['health', 'c1', '--reason', 'x', '--kubeconfig', '/nonexistent'], silence), 1);
    assert.match(errs.join(''), /--reason needs --set/);
  } finally {
    process.stderr.write = origErr;
  }
});
