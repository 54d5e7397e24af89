// The per-cluster kubeconfig: proxy server URLs, hub CA and credentials copied (file references
// inlined), and refused input. The end-to-end use with kubectl is in test/deploy/kubectl-plugin.test.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { buildGatewayKubeconfig, proxyServer, runKubeconfig, summarize } from './kubeconfig.ts';

const P = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways';

test('proxyServer appends the proxy path, keeping any hub path prefix', () => {
  const cases: [string, string, string][] = [
    ['https://hub:6443', 'c1', `https://hub:6443${P}/c1/proxy`],
    ['https://hub:6443/', 'c1', `https://hub:6443${P}/c1/proxy`],
    ['https://rancher/k8s/clusters/local', 'c1', `https://rancher/k8s/clusters/local${P}/c1/proxy`],
  ];
  for (const [hub, c, want] of cases) assert.equal(proxyServer(hub, c), want);
});

function hubConfig(user: Record<string, unknown>, cluster: Record<string, unknown>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'hub', cluster: { server: 'https://hub.example:6443', ...cluster } }],
      users: [{ name: 'admin', user }],
      contexts: [{ name: 'hub', context: { cluster: 'hub', user: 'admin' } }],
      'current-context': 'hub',
    }),
  );
  return kc;
}

test('contexts per cluster share the hub user; CA and client cert files are inlined', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kc-'));
  try {
    await writeFile(join(dir, 'ca.crt'), 'CA');
    await writeFile(join(dir, 'c.crt'), 'CERT');
    await writeFile(join(dir, 'c.key'), 'KEY');
    const kc = hubConfig(
      { 'client-certificate': join(dir, 'c.crt'), 'client-key': join(dir, 'c.key') },
      { 'certificate-authority': join(dir, 'ca.crt'), 'tls-server-name': 'hub' },
    );
    const doc = (await buildGatewayKubeconfig(kc, ['c1', 'c2'])) as any;
    assert.deepEqual(doc.contexts, [
      { name: 'c1', context: { cluster: 'c1', user: 'admin' } },
      { name: 'c2', context: { cluster: 'c2', user: 'admin' } },
    ]);
    assert.equal(doc['current-context'], 'c1');
    const c1 = doc.clusters[0].cluster;
    assert.equal(c1.server, `https://hub.example:6443${P}/c1/proxy`);
    assert.equal(c1['certificate-authority-data'], Buffer.from('CA').toString('base64'));
    assert.equal(c1['certificate-authority'], undefined);
    assert.equal(c1['tls-server-name'], 'hub');
    const u = doc.users[0];
    assert.equal(u.name, 'admin');
    assert.equal(u.user['client-certificate-data'], Buffer.from('CERT').toString('base64'));
    assert.equal(u.user['client-key-data'], Buffer.from('KEY').toString('base64'));
    assert.equal(u.user['client-certificate'], undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('token and exec users are copied as they are', async () => {
  const tok = (await buildGatewayKubeconfig(hubConfig({ token: 't0k' }, { 'insecure-skip-tls-verify': true }), [
    'c',
  ])) as any;
  assert.equal(tok.users[0].user.token, 't0k');
  assert.equal(tok.clusters[0].cluster['insecure-skip-tls-verify'], true);
  const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws', args: ['eks', 'get-token'] };
  const ex = (await buildGatewayKubeconfig(hubConfig({ exec }, {}), ['c'])) as any;
  assert.equal(ex.users[0].user.exec.command, 'aws');
  assert.deepEqual(ex.users[0].user.exec.args, ['eks', 'get-token']);
});

test('refused: no clusters, bad names, unknown current context', async () => {
  const kc = hubConfig({ token: 't' }, {});
  await assert.rejects(buildGatewayKubeconfig(kc, []), /no managed clusters/);
  await assert.rejects(buildGatewayKubeconfig(kc, ['Bad Name']), /not a cluster name/);
  await assert.rejects(buildGatewayKubeconfig(kc, ['a'], 'b'), /not one of the clusters/);
});

test('runKubeconfig wants exactly one of --cluster and --all', async () => {
  await assert.rejects(runKubeconfig({ all: false }), /either --cluster NAME/);
  await assert.rejects(runKubeconfig({ all: true, cluster: ['a'] }), /either --cluster NAME/);
  await assert.rejects(runKubeconfig({ all: false, cluster: ['a'], kubeconfig: '/nonexistent/kubeconfig' }), /ENOENT/);
});

test('summarize reads the ClusterGateway fields the plugin shows', () => {
  assert.deepEqual(
    summarize({
      metadata: { name: 'c1' },
      spec: {
        access: {
          endpoint: { type: 'Const', const: { address: 'https://c1' } },
          credential: { type: 'X509Certificate' },
        },
      },
      status: { healthy: true, healthyReason: 'ok' },
    }),
    {
      name: 'c1',
      endpointType: 'Const',
      endpoint: 'https://c1',
      credentialType: 'X509Certificate',
      healthy: true,
      healthyReason: 'ok',
    },
  );
  assert.deepEqual(summarize({}), {
    name: '',
    endpointType: '',
    endpoint: '',
    credentialType: '',
    healthy: false,
    healthyReason: '',
  });
});
