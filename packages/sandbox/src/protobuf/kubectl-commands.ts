// Test support: the kubectl commands whose protobuf request bodies are captured as fixtures
// (scripts/capture-kubectl-protobuf.ts) and re-captured live by kube-protobuf.test.ts, with the
// request each one must send. Shared so the fixtures and the live check cannot disagree.

export interface KubectlCommand {
  name: string;
  args: string[];
  method: string;
  path: string;
}

export const KUBECTL_COMMANDS: readonly KubectlCommand[] = [
  {
    name: 'configmap',
    args: ['create', 'configmap', 'x', '--from-literal=a=1', '--dry-run=server'],
    method: 'POST',
    path: '/api/v1/namespaces/default/configmaps',
  },
  {
    name: 'secret',
    args: ['create', 'secret', 'generic', 's', '--from-literal=password=hunter2', '--type=Opaque'],
    method: 'POST',
    path: '/api/v1/namespaces/default/secrets',
  },
  {
    name: 'deployment',
    args: ['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=0', '--port=80'],
    method: 'POST',
    path: '/apis/apps/v1/namespaces/default/deployments',
  },
  {
    name: 'service',
    args: ['create', 'service', 'clusterip', 'web', '--tcp=80:http'],
    method: 'POST',
    path: '/api/v1/namespaces/default/services',
  },
  {
    name: 'quota',
    args: ['create', 'quota', 'q', '--hard=cpu=1500m,memory=1Gi,pods=10'],
    method: 'POST',
    path: '/api/v1/namespaces/default/resourcequotas',
  },
  {
    name: 'role',
    args: ['create', 'role', 'reader', '--verb=get,list', '--resource=pods,configmaps'],
    method: 'POST',
    path: '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles',
  },
  {
    name: 'selfsubjectaccessreview',
    args: ['auth', 'can-i', 'list', 'pods'],
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
  },
  {
    name: 'selfsubjectrulesreview',
    args: ['auth', 'can-i', '--list'],
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
  },
  {
    name: 'tokenrequest',
    args: ['create', 'token', 'default', '--duration=1h', '--audience=api'],
    method: 'POST',
    path: '/api/v1/namespaces/default/serviceaccounts/default/token',
  },
  {
    name: 'selfsubjectreview',
    args: ['auth', 'whoami'],
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
  },
];
