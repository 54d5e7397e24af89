// The Helm chart rendered with the values operators use: defaults, generated certificates, an
// existing Secret, upstream's own values file, and the mistakes the chart must refuse. Also checks
// that the generated files (values.schema.json, deploy/) are current.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadChart,
  renderChart,
  coalesceValues,
  findManifest,
  ChartError,
  type LoadedChart,
  type KubeManifest,
} from './chart.ts';
import { CHART_DIR, staleFiles } from './generate.ts';
import { checkValues, valuesSchema } from './values.ts';
import { parseApiserverFlags } from '../config/index.ts';
import { generateCerts } from '../cli/certs.ts';

let chart: LoadedChart;
let tls: { crt: string; key: string; caBundle: string };
const release = { name: 'cluster-gateway', namespace: 'vela-system' };

before(async () => {
  chart = await loadChart(CHART_DIR);
  const c = await generateCerts({ namespace: 'vela-system', service: 'cluster-gateway' });
  tls = { crt: c.cert, key: c.key, caBundle: c.caCert };
});

function render(values: Record<string, unknown>, rel = release): KubeManifest[] {
  return renderChart(chart, { release: rel, values }).manifests;
}

type Obj = Record<string, any>;
const deployment = (ms: KubeManifest[]): Obj => findManifest(ms, 'Deployment');
const container = (ms: KubeManifest[]): Obj => deployment(ms).spec.template.spec.containers[0];

describe('chart values', () => {
  test('values.yaml satisfies the schema; upstream defaults are kept', () => {
    assert.deepEqual(checkValues(chart.defaults), []);
    const v = valuesSchema.parse(chart.defaults);
    assert.equal(v.secretNamespace, 'open-cluster-management-credentials');
    assert.equal(v.replicas, 1);
    assert.equal(v.ocmIntegration.clusterProxy.endpoint.host, 'proxy-entrypoint.open-cluster-management-cluster-proxy');
    assert.equal(v.ocmIntegration.clusterProxy.endpoint.port, 8090);
    assert.equal(v.featureGate.healthiness, false);
    assert.equal(v.apiService.insecureSkipTLSVerify, false);
  });

  test('coalescing merges maps, replaces lists and deletes on null', () => {
    assert.deepEqual(coalesceValues({ a: { b: 1, c: 2 }, l: [1], d: 1 }, { a: { c: 3 }, l: [2], d: null }), {
      a: { b: 1, c: 3 },
      l: [2],
    });
  });

  const bad: { name: string; values: Record<string, unknown>; want: RegExp }[] = [
    { name: 'unknown key', values: { replica: 2 }, want: /Unrecognized key: "replica"/ },
    { name: 'wrong type', values: { replicas: 'two' }, want: /replicas: Invalid input/ },
    { name: 'bad namespace', values: { secretNamespace: 'Bad_NS' }, want: /secretNamespace/ },
    { name: 'bad pull policy', values: { imagePullPolicy: 'Sometimes' }, want: /imagePullPolicy/ },
    { name: 'non-PEM certificate', values: { tls: { crt: 'hello' } }, want: /tls\.crt/ },
    { name: 'port out of range', values: { service: { port: 70000 } }, want: /service\.port/ },
  ];
  for (const c of bad)
    test(`schema rejects: ${c.name}`, () => {
      assert.throws(
        () => render(c.values),
        (e: unknown) => e instanceof ChartError && c.want.test(e.message),
      );
    });
});

describe('chart TLS', () => {
  test('no certificate: rendering fails and says how to make one', () => {
    assert.throws(
      () => render({}),
      (e: unknown) => e instanceof ChartError && /cluster-gateway certs --namespace/.test(e.message),
    );
  });

  const contradictions: { name: string; values: (t: typeof tls) => Record<string, unknown>; want: RegExp }[] = [
    {
      name: 'crt without key',
      values: (t) => ({ tls: { crt: t.crt, caBundle: t.caBundle } }),
      want: /tls.key is empty/,
    },
    {
      name: 'key without crt',
      values: (t) => ({ tls: { key: t.key, caBundle: t.caBundle } }),
      want: /tls.crt is empty/,
    },
    {
      name: 'both pair and existing Secret',
      values: (t) => ({ tls: { ...t, existingSecret: 'x' } }),
      want: /not both/,
    },
    {
      name: 'APIService without caBundle',
      values: (t) => ({ tls: { crt: t.crt, key: t.key } }),
      want: /needs tls.caBundle/,
    },
  ];
  for (const c of contradictions)
    test(`refused: ${c.name}`, () => {
      assert.throws(
        () => render(c.values(tls)),
        (e: unknown) => e instanceof ChartError && c.want.test(e.message),
      );
    });

  test('generated certificates: TLS Secret, mounted files, APIService with the CA and no insecureSkipTLSVerify', () => {
    const ms = render({ tls });
    const secret = findManifest(ms, 'Secret', 'cluster-gateway-tls') as Obj;
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.equal(Buffer.from(secret.data['tls.crt'], 'base64').toString(), tls.crt);
    assert.equal(Buffer.from(secret.data['ca.crt'], 'base64').toString(), tls.caBundle);
    const api = findManifest(ms, 'APIService', 'v1alpha1.cluster.core.oam.dev') as Obj;
    assert.equal(Buffer.from(api.spec.caBundle, 'base64').toString(), tls.caBundle);
    assert.equal(api.spec.insecureSkipTLSVerify, undefined);
    assert.deepEqual(api.spec.service, { name: 'cluster-gateway', namespace: 'vela-system', port: 443 });
    const c = container(ms);
    assert.ok(c.args.includes('--tls-cert-file=/etc/cluster-gateway/tls/tls.crt'));
    assert.ok(c.args.includes('--tls-private-key-file=/etc/cluster-gateway/tls/tls.key'));
    assert.deepEqual(
      c.volumeMounts.find((m: Obj) => m.name === 'serving-cert'),
      { name: 'serving-cert', mountPath: '/etc/cluster-gateway/tls', readOnly: true },
    );
    const vol = deployment(ms).spec.template.spec.volumes.find((v: Obj) => v.name === 'serving-cert');
    assert.equal(vol.secret.secretName, 'cluster-gateway-tls');
  });

  test('existing Secret: mounted by name, not rendered', () => {
    const ms = render({ tls: { existingSecret: 'my-tls', caBundle: tls.caBundle } });
    assert.equal(ms.filter((m) => m.kind === 'Secret').length, 0);
    const vol = deployment(ms).spec.template.spec.volumes.find((v: Obj) => v.name === 'serving-cert');
    assert.equal(vol.secret.secretName, 'my-tls');
  });

  test('insecureSkipTLSVerify (upstream behaviour, opt-in): self-signed in the writable /tmp', () => {
    const ms = render({ apiService: { insecureSkipTLSVerify: true } });
    const api = findManifest(ms, 'APIService') as Obj;
    assert.equal(api.spec.insecureSkipTLSVerify, true);
    assert.equal(api.spec.caBundle, undefined);
    assert.ok(container(ms).args.includes('--cert-dir=/tmp/cluster-gateway/certs'));
  });
});

describe('chart objects', () => {
  test('Deployment: args parse as apiserver flags, probes, non-root, read-only root fs', () => {
    const ms = render({ tls });
    const c = container(ms);
    assert.deepEqual(c.args.slice(0, 2), [
      '--secure-port=9443',
      '--secret-namespace=open-cluster-management-credentials',
    ]);
    const parsed = parseApiserverFlags(c.args);
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.options.securePort, 9443);
    assert.deepEqual(c.ports, [{ name: 'https', containerPort: 9443, protocol: 'TCP' }]);
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/livez', port: 'https', scheme: 'HTTPS' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'https', scheme: 'HTTPS' });
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    const pod = deployment(ms).spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.serviceAccountName, 'cluster-gateway');
    assert.equal(c.image, 'ghcr.io/cluster-gateway-ts/cluster-gateway:0.1.0');
  });

  test('upstream values file: image, tag, OCM and cluster-proxy flags and mounts, feature gates', () => {
    const ms = render({
      image: 'oamdev/cluster-gateway',
      tag: 'v1.1.11',
      replicas: 2,
      secretNamespace: 'open-cluster-management-credentials',
      ocmIntegration: {
        enabled: true,
        clusterProxy: { enabled: true, endpoint: { host: 'proxy.example', port: 8091 } },
      },
      featureGate: { healthiness: true, secretCache: true },
      tls,
    });
    const c = container(ms);
    assert.equal(c.image, 'oamdev/cluster-gateway:v1.1.11');
    assert.equal(deployment(ms).spec.replicas, 2);
    for (const a of [
      '--ocm-integration=true',
      '--proxy-host=proxy.example',
      '--proxy-port=8091',
      '--proxy-ca-cert=/etc/ca/ca.crt',
      '--proxy-cert=/etc/tls/tls.crt',
      '--proxy-key=/etc/tls/tls.key',
      '--feature-gates=HealthinessCheck=true,ClientIdentityPenetration=false,SecretCache=true',
    ])
      assert.ok(c.args.includes(a), `${a} in ${c.args.join(' ')}`);
    const parsed = parseApiserverFlags(c.args);
    assert.deepEqual(parsed.errors, []);
    assert.equal(parsed.options.featureGates?.get('HealthinessCheck'), true);
    assert.deepEqual(
      c.volumeMounts.map((m: Obj) => m.mountPath),
      ['/tmp', '/etc/cluster-gateway/tls', '/etc/tls', '/etc/ca'],
    );
  });

  test('extraArgs are appended as given', () => {
    const c = container(render({ tls, extraArgs: ['--authorize-proxy-subpath=true', '-v=2'] }));
    assert.deepEqual(c.args.slice(-2), ['--authorize-proxy-subpath=true', '-v=2']);
    assert.deepEqual(parseApiserverFlags(c.args).errors, []);
  });

  test('Service 443 → https (9443), PodDisruptionBudget, optional objects', () => {
    const ms = render({ tls });
    const svc = findManifest(ms, 'Service') as Obj;
    assert.deepEqual(svc.spec.ports, [{ name: 'https', port: 443, targetPort: 'https', protocol: 'TCP' }]);
    assert.deepEqual(svc.spec.selector, deployment(ms).spec.selector.matchLabels);
    const pdb = findManifest(ms, 'PodDisruptionBudget') as Obj;
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, svc.spec.selector);
    const fewer = render({
      tls,
      podDisruptionBudget: { enabled: false },
      rbac: { proxyAccessRole: { create: false } },
    });
    assert.equal(fewer.filter((m) => m.kind === 'PodDisruptionBudget').length, 0);
    assert.equal(fewer.filter((m) => m.metadata.name === 'cluster-gateway-proxy-access').length, 0);
  });

  test('RBAC: Secrets only in the secret namespace, ManagedClusters, auth-delegator, authentication reader', () => {
    const ms = render({ tls });
    const role = findManifest(ms, 'Role') as Obj;
    assert.equal(role.metadata.namespace, 'open-cluster-management-credentials');
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'update'] },
    ]);
    const sa = { kind: 'ServiceAccount', name: 'cluster-gateway', namespace: 'vela-system' };
    const bindings = ms.filter((m) => m.kind === 'RoleBinding' || m.kind === 'ClusterRoleBinding') as Obj[];
    for (const b of bindings) assert.deepEqual(b.subjects, [sa]);
    const refs = bindings.map((b) => `${b.metadata.namespace ?? ''}/${b.roleRef.kind}/${b.roleRef.name}`).sort();
    assert.deepEqual(refs, [
      '/ClusterRole/cluster-gateway:managedcluster-reader',
      '/ClusterRole/system:auth-delegator',
      'kube-system/Role/extension-apiserver-authentication-reader',
      'open-cluster-management-credentials/Role/cluster-gateway:secrets',
    ]);
    const reader = findManifest(ms, 'ClusterRole', 'cluster-gateway:managedcluster-reader') as Obj;
    assert.deepEqual(reader.rules[0].resources, ['managedclusters']);
    const access = findManifest(ms, 'ClusterRole', 'cluster-gateway-proxy-access') as Obj;
    assert.deepEqual(
      access.rules.map((r: Obj) => `${r.resources[0]}:${r.verbs.join(',')}`),
      [
        'clustergateways:get,list,watch',
        'clustergateways/proxy:get,list,watch,create,update,patch,delete',
        'clustergateways/health:get,update,patch',
      ],
    );
    // no wildcard anywhere
    for (const m of ms.filter((x) => x.kind === 'Role' || x.kind === 'ClusterRole') as Obj[])
      for (const r of m.rules) assert.ok(!r.verbs.includes('*') && !r.resources.includes('*'), m.metadata.name);
  });

  test('secret namespace: rendered and kept when separate, never when it is the release namespace', () => {
    const ns = findManifest(render({ tls }), 'Namespace') as Obj;
    assert.equal(ns.metadata.name, 'open-cluster-management-credentials');
    assert.equal(ns.metadata.annotations['helm.sh/resource-policy'], 'keep');
    assert.equal(render({ tls, secretNamespace: 'vela-system' }).filter((m) => m.kind === 'Namespace').length, 0);
    assert.equal(render({ tls, createSecretNamespace: false }).filter((m) => m.kind === 'Namespace').length, 0);
  });

  test('objects come out in Helm install order (Namespace first, APIService last)', () => {
    const kinds = render({ tls }).map((m) => m.kind);
    assert.equal(kinds[0], 'Namespace');
    assert.equal(kinds[kinds.length - 1], 'APIService');
    assert.ok(kinds.indexOf('ServiceAccount') < kinds.indexOf('Deployment'));
  });
});

test('generated files (values.schema.json, deploy/cluster-gateway.yaml) are current', async () => {
  assert.deepEqual(await staleFiles(), [], 'run: node packages/gateway/src/chart/generate.ts');
});
