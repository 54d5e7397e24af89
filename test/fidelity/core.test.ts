// Fidelity suite: the same cases run against the sandbox (default) and against a real cluster when
// KUBECONFIG_UNDER_TEST is set. Drives real kubectl and @kubernetes/client-node, asserting only what a
// real kube-apiserver does too.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { clusterUnderTest, collectLines, type ClusterUnderTest } from '../support/cluster-under-test.ts';

const SAMPLES = new URL('../../../shared/samples/upstream/', import.meta.url);

let cut: ClusterUnderTest;
let ns: string;

before(async () => {
  cut = await clusterUnderTest();
  ns = await cut.namespace('fid');
});
after(async () => {
  await cut.close();
});

describe('kubectl CRUD on ConfigMaps', () => {
  test('create, get, apply, patch, label, annotate, delete', async () => {
    await cut.k(['-n', ns, 'create', 'configmap', 'c1', '--from-literal=a=1']);
    const got = JSON.parse(await cut.k(['-n', ns, 'get', 'configmap', 'c1', '-o', 'json']));
    assert.equal(got.data.a, '1');
    assert.match(got.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.ok(Number(got.metadata.resourceVersion) > 0);

    const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c2\n  namespace: ${ns}\n  labels: {app: demo}\ndata:\n  x: "1"\n  y: "2"\n`;
    assert.match(await cut.k(['apply', '-f', '-'], manifest), /configmap\/c2 created/);
    assert.match(await cut.k(['apply', '-f', '-'], manifest), /configmap\/c2 unchanged/);
    const changed = manifest.replace('y: "2"', 'z: "3"');
    assert.match(await cut.k(['apply', '-f', '-'], changed), /configmap\/c2 configured/);
    const c2 = JSON.parse(await cut.k(['-n', ns, 'get', 'cm', 'c2', '-o', 'json']));
    assert.deepEqual(c2.data, { x: '1', z: '3' });
    assert.ok(c2.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);

    await cut.k(['-n', ns, 'patch', 'cm', 'c2', '--type=merge', '-p', '{"data":{"m":"merge"}}']);
    await cut.k(['-n', ns, 'patch', 'cm', 'c2', '--type=json', '-p', '[{"op":"add","path":"/data/j","value":"json"}]']);
    await cut.k(['-n', ns, 'patch', 'cm', 'c2', '-p', '{"data":{"s":"strategic"}}']);
    await cut.k(['-n', ns, 'label', 'cm', 'c2', 'tier=web']);
    await cut.k(['-n', ns, 'annotate', 'cm', 'c2', 'note=hi']);
    const after2 = JSON.parse(await cut.k(['-n', ns, 'get', 'cm', 'c2', '-o', 'json']));
    assert.equal(after2.data.m, 'merge');
    assert.equal(after2.data.j, 'json');
    assert.equal(after2.data.s, 'strategic');
    assert.equal(after2.metadata.labels.tier, 'web');
    assert.equal(after2.metadata.annotations.note, 'hi');

    assert.match(await cut.k(['-n', ns, 'delete', 'cm', 'c1', 'c2']), /deleted/);
    const gone = await cut.kubectl(['-n', ns, 'get', 'cm', 'c1']);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /configmaps "c1" not found/);
  });

  test('server-side apply and its conflicts', async () => {
    const m = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: ${ns}\ndata:\n  k: v1\n`;
    assert.match(await cut.k(['apply', '--server-side', '-f', '-'], m), /serverside-applied/);
    const live = JSON.parse(await cut.k(['-n', ns, 'get', 'cm', 'ssa', '-o', 'json', '--show-managed-fields']));
    const entry = live.metadata.managedFields.find((f: { manager: string }) => f.manager === 'kubectl');
    assert.equal(entry.operation, 'Apply');
    assert.ok(entry.fieldsV1['f:data']['f:k']);
    const other = await cut.kubectl(['apply', '--server-side', '--field-manager=other', '-f', '-'], {
      stdin: m.replace('k: v1', 'k: v2'),
    });
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /conflict/i);
    await cut.k(
      ['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'],
      m.replace('k: v1', 'k: v2'),
    );
    assert.equal(JSON.parse(await cut.k(['-n', ns, 'get', 'cm', 'ssa', '-o', 'json'])).data.k, 'v2');
  });

  test('dry-run=server stores nothing', async () => {
    await cut.k(['-n', ns, 'create', 'configmap', 'dry', '--from-literal=a=1', '--dry-run=server']);
    const r = await cut.kubectl(['-n', ns, 'get', 'cm', 'dry']);
    assert.notEqual(r.code, 0);
  });

  test('generateName gives a unique suffix', async () => {
    const out = await cut.k(
      ['create', '-o', 'name', '-f', '-'],
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  generateName: gen-\n  namespace: ${ns}\n`,
    );
    assert.match(out.trim(), /^configmap\/gen-[a-z0-9]{5}$/);
  });
});

describe('watch', () => {
  test('kubectl get -w sees ADDED, MODIFIED and DELETED', async () => {
    const child = cut.spawnKubectl([
      '-n',
      ns,
      'get',
      'configmaps',
      '-w',
      '--output-watch-events',
      '-l',
      'watched=yes',
      '-o',
      'custom-columns=EVENT:.type,NAME:.object.metadata.name,V:.object.data.v',
      '--no-headers',
    ]);
    try {
      // the watch is established once the initial (empty) list was printed; give it a moment
      await new Promise((r) => setTimeout(r, 1000));
      await cut.k(['-n', ns, 'create', 'configmap', 'w1', '--from-literal=v=1']);
      await cut.k(['-n', ns, 'label', 'cm', 'w1', 'watched=yes']);
      await cut.k(['-n', ns, 'patch', 'cm', 'w1', '-p', '{"data":{"v":"2"}}']);
      await cut.k(['-n', ns, 'delete', 'cm', 'w1']);
      const lines = await collectLines(child, (ls) => ls.some((l) => l.startsWith('DELETED')));
      const events = lines.map((l) => l.split(/\s+/));
      assert.deepEqual(
        events.map((e) => e[0]),
        ['ADDED', 'MODIFIED', 'DELETED'],
      );
      assert.equal(events[1]![2], '2');
    } finally {
      child.kill();
    }
  });

  test('client-node watch resumes from a resourceVersion and gets 410 when too old', async () => {
    const core = cut.kc.makeApiClient(CoreV1Api);
    const list = await core.listNamespacedConfigMap({ namespace: ns });
    const rv = list.metadata!.resourceVersion!;
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'resume' }, data: { a: '1' } } });
    const r = await cut.request(
      'GET',
      `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=${rv}&timeoutSeconds=1`,
    );
    assert.equal(r.status, 200);
    const events = r.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(
      events.some(
        (e: { type: string; object: { metadata: { name: string } } }) =>
          e.type === 'ADDED' && e.object.metadata.name === 'resume',
      ),
    );
    // push resourceVersion 1 out of the sandbox's (small) watch history; real clusters compact it anyway
    if (cut.sandbox) {
      for (let i = 0; i < 320; i++)
        await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `fill-${i}` } } });
    }
    const old = await cut.request(
      'GET',
      `/api/v1/namespaces/${ns}/configmaps?watch=true&resourceVersion=1&timeoutSeconds=1`,
    );
    const ev = JSON.parse(old.body.trim().split('\n')[0]!);
    assert.equal(ev.type, 'ERROR');
    assert.equal(ev.object.code, 410);
  });

  test(
    'bookmarks arrive when asked for',
    { skip: !process.env.KUBECONFIG_UNDER_TEST ? false : 'bookmark interval is a minute on real clusters' },
    async () => {
      const list = await cut.request('GET', `/api/v1/namespaces/${ns}/configmaps`);
      const rv = list.json().metadata.resourceVersion;
      const r = await cut.request(
        'GET',
        `/api/v1/namespaces/${ns}/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=2`,
      );
      const events = r.body
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      assert.ok(events.some((e: { type: string }) => e.type === 'BOOKMARK'));
    },
  );
});

describe('authorization', () => {
  test('auth can-i --as alice flips after a RoleBinding', async () => {
    const before = await cut.kubectl(['-n', ns, 'auth', 'can-i', 'list', 'secrets', '--as', 'alice']);
    assert.equal(before.stdout.trim(), 'no');
    assert.notEqual(before.code, 0);
    await cut.k(['-n', ns, 'create', 'role', 'secret-reader', '--verb=get,list', '--resource=secrets']);
    await cut.k(['-n', ns, 'create', 'rolebinding', 'alice-reads', '--role=secret-reader', '--user=alice']);
    assert.equal((await cut.k(['-n', ns, 'auth', 'can-i', 'list', 'secrets', '--as', 'alice'])).trim(), 'yes');
    assert.equal(
      (await cut.kubectl(['-n', 'default', 'auth', 'can-i', 'list', 'secrets', '--as', 'alice'])).stdout.trim(),
      'no',
    );
    // impersonated request is really authorized as alice
    const denied = await cut.kubectl(['-n', ns, 'get', 'configmaps', '--as', 'alice']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /User "alice" cannot list resource "configmaps" in API group "" in the namespace/);
    await cut.k(['-n', ns, 'get', 'secrets', '--as', 'alice']);
  });

  test('auth whoami names the caller', async () => {
    const out = await cut.k(['auth', 'whoami', '-o', 'json']);
    const ssr = JSON.parse(out);
    assert.equal(ssr.kind, 'SelfSubjectReview');
    assert.ok(ssr.status.userInfo.username);
    const as = JSON.parse(await cut.k(['auth', 'whoami', '-o', 'json', '--as', 'bob', '--as-group', 'devs']));
    assert.equal(as.status.userInfo.username, 'bob');
    assert.ok(as.status.userInfo.groups.includes('devs'));
  });

  test('create token issues a ServiceAccount token that authenticates', async () => {
    await cut.k(['-n', ns, 'create', 'serviceaccount', 'robot']);
    const token = (await cut.k(['-n', ns, 'create', 'token', 'robot'])).trim();
    assert.equal(token.split('.').length, 3);
    const r = await cut.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
      anonymous: true,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
    });
    assert.equal(r.status, 201);
    assert.equal(r.json().status.userInfo.username, `system:serviceaccount:${ns}:robot`);
  });

  test('a bad bearer token is 401, anonymous is forbidden from resources', async () => {
    const bad = await cut.request('GET', '/api/v1/namespaces', {
      anonymous: true,
      headers: { authorization: 'Bearer not-a-token' },
    });
    assert.equal(bad.status, 401);
    assert.equal(bad.json().kind, 'Status');
    const anon = await cut.request('GET', '/api/v1/namespaces', { anonymous: true });
    assert.equal(anon.status, 403);
    assert.match(anon.json().message, /system:anonymous/);
  });
});

describe('consistency and errors', () => {
  test('a stale update gets 409 Conflict', async () => {
    await cut.k(['-n', ns, 'create', 'configmap', 'stale', '--from-literal=a=1']);
    const old = await cut.k(['-n', ns, 'get', 'cm', 'stale', '-o', 'json']);
    await cut.k(['-n', ns, 'patch', 'cm', 'stale', '-p', '{"data":{"a":"2"}}']);
    const r = await cut.kubectl(['replace', '-f', '-'], { stdin: old.replace('"a": "1"', '"a": "3"') });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again/,
    );
    const raw = await cut.request('PUT', `/api/v1/namespaces/${ns}/configmaps/stale`, {
      body: old,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(raw.status, 409);
    assert.equal(raw.json().reason, 'Conflict');
  });

  test('AlreadyExists, NotFound, Invalid have kube-apiserver Status shapes', async () => {
    await cut.k(['-n', ns, 'create', 'configmap', 'dup']);
    const dup = await cut.kubectl(['-n', ns, 'create', 'configmap', 'dup']);
    assert.match(dup.stderr, /configmaps "dup" already exists/);
    const nf = await cut.request('GET', `/api/v1/namespaces/${ns}/configmaps/nope`);
    assert.equal(nf.status, 404);
    assert.deepEqual(
      { ...nf.json(), metadata: undefined },
      {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: undefined,
        status: 'Failure',
        message: 'configmaps "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', kind: 'configmaps' },
        code: 404,
      },
    );
    const inv = await cut.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(inv.status, 422);
    assert.equal(inv.json().reason, 'Invalid');
    assert.match(
      inv.json().message,
      /ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    const nsMissing = await cut.request('POST', `/api/v1/namespaces/does-not-exist-x/configmaps`, {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(nsMissing.status, 404);
    assert.equal(nsMissing.json().message, 'namespaces "does-not-exist-x" not found');
  });

  test('malformed bodies, unknown kinds, oversized bodies and bad selectors are clean errors', async () => {
    const json = await cut.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: '{"apiVersion": "v1", "kind": ',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(json.status, 400);
    assert.equal(json.json().kind, 'Status');
    const yaml = await cut.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: 'a: [b\n  c: :',
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(yaml.status, 400);
    const unknown = await cut.kubectl(['apply', '-f', '-'], {
      stdin: 'apiVersion: example.com/v1\nkind: Nope\nmetadata:\n  name: x\n',
    });
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no matches for kind "Nope" in version "example.com\/v1"|resource mapping not found/);
    const big = await cut.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'big' },
        data: { a: 'x'.repeat(3 * 1024 * 1024 + 10) },
      }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(big.status, 413);
    assert.equal(big.json().reason, 'RequestEntityTooLarge');
    const sel = await cut.request(
      'GET',
      `/api/v1/namespaces/${ns}/configmaps?labelSelector=${encodeURIComponent('a in (b')}`,
    );
    assert.equal(sel.status, 400);
    assert.equal(sel.json().kind, 'Status');
    const fsel = await cut.request(
      'GET',
      `/api/v1/namespaces/${ns}/configmaps?fieldSelector=${encodeURIComponent('spec.nope=1')}`,
    );
    assert.equal(fsel.status, 400);
    assert.match(fsel.json().message, /field label not supported: spec.nope|"spec.nope" is not a known field selector/);
    const kbad = await cut.kubectl(['-n', ns, 'get', 'cm', '-l', 'a in (b']);
    assert.notEqual(kbad.code, 0);
    // the server still serves afterwards
    await cut.k(['get', 'ns', ns]);
  });
});

describe('selectors and pagination', () => {
  test('label selectors with every operator, field selectors, limit/continue', async () => {
    const core = cut.kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: {
          metadata: {
            name: `p${i}`,
            labels: { idx: String(i), parity: i % 2 ? 'odd' : 'even', ...(i < 3 ? { low: '' } : {}) },
          },
        },
      });
    }
    const names = async (sel: string): Promise<string[]> =>
      (await core.listNamespacedConfigMap({ namespace: ns, labelSelector: sel })).items.map((c) => c.metadata!.name!);
    assert.deepEqual(await names('parity=odd'), ['p1', 'p3', 'p5']);
    assert.deepEqual(await names('parity!=odd,idx'), ['p0', 'p2', 'p4', 'p6']);
    assert.deepEqual(await names('idx in (1,2),parity notin (even)'), ['p1']);
    assert.deepEqual(await names('low'), ['p0', 'p1', 'p2']);
    assert.deepEqual(await names('!low,idx'), ['p3', 'p4', 'p5', 'p6']);
    const byName = await core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'metadata.name=p4' });
    assert.deepEqual(
      byName.items.map((c) => c.metadata!.name),
      ['p4'],
    );

    const seen: string[] = [];
    let cont: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({
        namespace: ns,
        labelSelector: 'idx',
        limit: 3,
        _continue: cont,
      });
      seen.push(...page.items.map((c) => c.metadata!.name!));
      cont = page.metadata?._continue || undefined;
      pages++;
    } while (cont);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
    const chunked = await cut.k(['-n', ns, 'get', 'cm', '-l', 'idx', '--chunk-size=2', '-o', 'name']);
    assert.equal(chunked.trim().split('\n').length, 7);
  });
});

describe('CustomResourceDefinitions', () => {
  test('ManagedCluster CRD from the upstream sample serves objects that round-trip', async () => {
    const crd = await readFile(new URL('crds/managedcluster.yaml', SAMPLES), 'utf8');
    await cut.k(['apply', '-f', '-'], crd);
    await cut.k([
      'wait',
      '--for=condition=Established',
      'crd/managedclusters.cluster.open-cluster-management.io',
      '--timeout=30s',
    ]);
    const mc = `apiVersion: cluster.open-cluster-management.io/v1\nkind: ManagedCluster\nmetadata:\n  name: fid-cluster\n  labels: {env: test}\nspec:\n  hubAcceptsClient: true\n  leaseDurationSeconds: 60\n`;
    await cut.k(['apply', '-f', '-'], mc);
    const got = JSON.parse(await cut.k(['get', 'managedcluster', 'fid-cluster', '-o', 'json']));
    assert.equal(got.spec.hubAcceptsClient, true);
    assert.equal(got.metadata.labels.env, 'test');
    assert.equal(got.metadata.generation, 1);
    const custom = cut.kc.makeApiClient(CustomObjectsApi);
    const viaClient = (await custom.getClusterCustomObject({
      group: 'cluster.open-cluster-management.io',
      version: 'v1',
      plural: 'managedclusters',
      name: 'fid-cluster',
    })) as { spec: { hubAcceptsClient: boolean } };
    assert.equal(viaClient.spec.hubAcceptsClient, true);
    // status subresource: the main resource ignores status, /status takes it
    const status = {
      status: {
        conditions: [
          {
            type: 'ManagedClusterConditionAvailable',
            status: 'True',
            reason: 'Ok',
            message: 'ok',
            lastTransitionTime: '2026-01-01T00:00:00Z',
          },
        ],
      },
    };
    await cut.k(['patch', 'managedcluster', 'fid-cluster', '--type=merge', '-p', JSON.stringify(status)]);
    assert.equal(JSON.parse(await cut.k(['get', 'managedcluster', 'fid-cluster', '-o', 'json'])).status, undefined);
    await cut.k([
      'patch',
      'managedcluster',
      'fid-cluster',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
    const withStatus = JSON.parse(await cut.k(['get', 'managedcluster', 'fid-cluster', '-o', 'json']));
    assert.equal(withStatus.status.conditions[0].type, 'ManagedClusterConditionAvailable');
    const table = await cut.k(['get', 'managedclusters']);
    assert.match(table, /fid-cluster/);
    // schema validation
    const bad = await cut.kubectl(['apply', '-f', '-'], {
      stdin: mc.replace('leaseDurationSeconds: 60', 'leaseDurationSeconds: "sixty"'),
    });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /leaseDurationSeconds/);
    await cut.k(['delete', 'managedcluster', 'fid-cluster']);
  });
});

describe('discovery and OpenAPI', () => {
  test('api-resources and explain work', async () => {
    const res = await cut.k(['api-resources', '-o', 'name']);
    for (const r of [
      'configmaps',
      'namespaces',
      'deployments.apps',
      'roles.rbac.authorization.k8s.io',
      'leases.coordination.k8s.io',
      'apiservices.apiregistration.k8s.io',
      'customresourcedefinitions.apiextensions.k8s.io',
    ]) {
      assert.ok(res.split('\n').includes(r), `api-resources lists ${r}`);
    }
    const explain = await cut.k(['explain', 'configmap.data']);
    assert.match(explain, /FIELD:\s+data/);
    const explain2 = await cut.k(['explain', 'deployment.spec.template.spec.containers.env']);
    assert.match(explain2, /FIELD:\s+env/);
    const version = await cut.k(['version', '-o', 'json']);
    assert.ok(JSON.parse(version).serverVersion.gitVersion);
  });
});
