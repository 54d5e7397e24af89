// Test support: runs a real kubectl against a throwaway HTTPS server that answers just enough
// discovery for kubectl to resolve kinds, records every request body it receives, and answers writes
// with a plausible JSON object. It is how the protobuf fixtures in testdata/ were captured
// (scripts/capture-kubectl-protobuf.ts) and how the live test checks the decoder against whatever
// kubectl is on PATH. Not used by the server.

import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA } from '../pki/pki.ts';

export interface CapturedRequest {
  method: string;
  path: string;
  contentType: string;
  body: Buffer;
}

export interface CaptureResult {
  requests: CapturedRequest[];
  stdout: string;
  stderr: string;
}

interface Resource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
}

const RW = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const CREATE = ['create'];

/** The discovery the recorder serves: enough for `create`, `auth can-i` and `create role --resource`. */
const GROUPS: Record<string, Resource[]> = {
  v1: [
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true, verbs: RW },
    { name: 'namespaces', kind: 'Namespace', namespaced: false, verbs: RW },
    { name: 'pods', kind: 'Pod', namespaced: true, verbs: RW },
    { name: 'resourcequotas', kind: 'ResourceQuota', namespaced: true, verbs: RW },
    { name: 'secrets', kind: 'Secret', namespaced: true, verbs: RW },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, verbs: RW },
    { name: 'serviceaccounts/token', kind: 'TokenRequest', namespaced: true, verbs: CREATE },
    { name: 'services', kind: 'Service', namespaced: true, verbs: RW },
  ],
  'apps/v1': [{ name: 'deployments', kind: 'Deployment', namespaced: true, verbs: RW }],
  'batch/v1': [
    { name: 'cronjobs', kind: 'CronJob', namespaced: true, verbs: RW },
    { name: 'jobs', kind: 'Job', namespaced: true, verbs: RW },
  ],
  'policy/v1': [{ name: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true, verbs: RW }],
  'rbac.authorization.k8s.io/v1': [
    { name: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false, verbs: RW },
    { name: 'clusterroles', kind: 'ClusterRole', namespaced: false, verbs: RW },
    { name: 'rolebindings', kind: 'RoleBinding', namespaced: true, verbs: RW },
    { name: 'roles', kind: 'Role', namespaced: true, verbs: RW },
  ],
  'authentication.k8s.io/v1': [
    { name: 'selfsubjectreviews', kind: 'SelfSubjectReview', namespaced: false, verbs: CREATE },
    { name: 'tokenreviews', kind: 'TokenReview', namespaced: false, verbs: CREATE },
  ],
  'authorization.k8s.io/v1': [
    { name: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false, verbs: CREATE },
    { name: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview', namespaced: false, verbs: CREATE },
  ],
  'networking.k8s.io/v1': [{ name: 'ingresses', kind: 'Ingress', namespaced: true, verbs: RW }],
  'scheduling.k8s.io/v1': [{ name: 'priorityclasses', kind: 'PriorityClass', namespaced: false, verbs: RW }],
};

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function discovery(path: string): unknown {
  if (path === '/version') return { major: '1', minor: '32', gitVersion: 'v1.32.0', platform: 'linux/amd64' };
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  const groupVersions = Object.keys(GROUPS).filter((gv) => gv !== 'v1');
  if (path === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: groupVersions.map((gv) => {
        const [name, version] = gv.split('/') as [string, string];
        const v = { groupVersion: gv, version };
        return { name, versions: [v], preferredVersion: v };
      }),
    };
  }
  const gv = path === '/api/v1' ? 'v1' : path.startsWith('/apis/') ? path.slice(6) : undefined;
  const resources = gv === undefined ? undefined : GROUPS[gv];
  if (!resources) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv,
    resources: resources.map((r) => ({ ...r, singularName: '' })),
  };
}

/** What a write answers: the kind the URL's resource serves, with the status fields kubectl reads. */
function reply(path: string): unknown {
  const parts = path.split('?')[0]!.split('/').filter(Boolean);
  const gv = parts[0] === 'api' ? 'v1' : `${parts[1] ?? ''}/${parts[2] ?? ''}`;
  const rest = parts.slice(parts[0] === 'api' ? 2 : 3);
  const resource = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const name = resource.length >= 3 ? `${resource[0]!}/${resource[2]!}` : resource[0];
  const kind = GROUPS[gv]?.find((r) => r.name === name)?.kind ?? 'Status';
  const apiVersion = kind === 'TokenRequest' ? 'authentication.k8s.io/v1' : gv;
  return {
    apiVersion,
    kind,
    metadata: { name: 'captured', namespace: 'default', creationTimestamp: '2026-01-02T03:04:05Z' },
    status: {
      allowed: true,
      token: 'captured-token',
      expirationTimestamp: '2026-01-02T04:04:05Z',
      userInfo: { username: 'captured-user', groups: ['system:authenticated'] },
    },
  };
}

/**
 * Run `kubectl ...args` against a fresh recorder and return the requests that carried a body.
 * kubectl's exit status is not checked: the recorder's answers only need to get the request out.
 */
export async function captureKubectl(args: string[], kubectl = 'kubectl'): Promise<CaptureResult> {
  const ca = await createCA('protobuf-capture');
  const serving = await ca.issue({ commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const requests: CapturedRequest[] = [];
  const server = createServer({ cert: serving.cert, key: serving.key }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (req.method === 'GET') {
        const doc = discovery(path.split('?')[0]!);
        if (doc === undefined)
          sendJson(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound' });
        else sendJson(res, 200, doc);
        return;
      }
      const contentType = req.headers['content-type'] ?? '';
      requests.push({ method: req.method ?? '', path, contentType, body: Buffer.concat(chunks) });
      sendJson(res, 201, reply(path));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(join(tmpdir(), 'kubectl-capture-'));
  try {
    const { port } = server.address() as AddressInfo;
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'capture' } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'default' } }],
        'current-context': 'c',
      }),
    );
    const out = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
      execFile(
        kubectl,
        ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), ...args],
        { timeout: 30_000, env: { ...process.env, KUBECONFIG: kubeconfig } },
        (_err, stdout, stderr) => {
          resolve({ stdout, stderr });
        },
      );
    });
    return { requests, ...out };
  } finally {
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    await rm(dir, { recursive: true, force: true });
  }
}
