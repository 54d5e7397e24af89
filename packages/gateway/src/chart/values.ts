// The values of the `charts/cluster-gateway` Helm chart as a zod schema: the single source of
// `values.schema.json` (Helm validates `--set`/`-f` input against it) and of the validation our
// own renderer does. Upstream's value names and defaults are kept (`image`, `tag`, `replicas`,
// `secretNamespace`, `ocmIntegration.*`, `featureGate.*`, upstream §12.1) so an upstream
// values file keeps working; everything else is new and documented in docs/deploy.md.

import { z } from 'zod';

const quantity = z.union([
  z.string().regex(/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/),
  z.number(),
]);
const resourceList = z.record(z.string(), quantity);
const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/);
const pemOrEmpty = z.union([z.literal(''), z.string().regex(/-----BEGIN [A-Z ]+-----/)]);
const openObject = z.record(z.string(), z.unknown());

export const valuesSchema = z
  .object({
    image: z.string().min(1).describe('image repository (upstream: oamdev/cluster-gateway)'),
    tag: z.string().describe('image tag; empty means the chart appVersion'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
    imagePullSecrets: z.array(z.object({ name: z.string().min(1) }).strict()),
    replicas: z.int().min(0),
    secretNamespace: dnsLabel.describe('namespace holding the cluster Secrets (--secret-namespace)'),
    createSecretNamespace: z
      .boolean()
      .describe('render the secret namespace (kept on uninstall) when it differs from the release namespace'),
    ocmIntegration: z
      .object({
        enabled: z.boolean().describe('--ocm-integration: read endpoint and CA from OCM ManagedClusters'),
        clusterProxy: z
          .object({
            enabled: z.boolean().describe('reach clusters through the OCM cluster-proxy (Konnectivity)'),
            endpoint: z
              .object({
                host: z.string().min(1),
                port: z.int().min(1).max(65535),
              })
              .strict(),
          })
          .strict(),
      })
      .strict(),
    featureGate: z
      .object({
        healthiness: z.boolean().describe('HealthinessCheck'),
        secretCache: z.boolean().describe('SecretCache (always on; accepted for compatibility)'),
        clientIdentityPenetration: z.boolean().describe('ClientIdentityPenetration'),
      })
      .strict(),
    extraArgs: z.array(z.string()).describe('more `cluster-gateway apiserver` flags'),
    resources: z.object({ requests: resourceList.optional(), limits: resourceList.optional() }).strict(),
    podDisruptionBudget: z
      .object({
        enabled: z.boolean(),
        maxUnavailable: z.union([z.int().min(0), z.string().regex(/^\d+%$/)]),
      })
      .strict(),
    service: z.object({ port: z.int().min(1).max(65535) }).strict(),
    tls: z
      .object({
        crt: pemOrEmpty.describe('PEM serving certificate (cluster-gateway certs → tls.crt)'),
        key: pemOrEmpty.describe('PEM private key (tls.key)'),
        caBundle: pemOrEmpty.describe('PEM CA that signed tls.crt, written to the APIService caBundle (ca.crt)'),
        existingSecret: z.union([z.literal(''), dnsSubdomain]).describe('kubernetes.io/tls Secret to mount instead'),
      })
      .strict(),
    apiService: z
      .object({
        create: z.boolean(),
        insecureSkipTLSVerify: z
          .boolean()
          .describe('upstream default (true) is insecure; false requires tls.caBundle unless create is false'),
        groupPriorityMinimum: z.int().min(1).max(20000),
        versionPriority: z.int().min(1).max(1000),
      })
      .strict(),
    rbac: z
      .object({
        proxyAccessRole: z
          .object({ create: z.boolean(), name: dnsSubdomain.or(z.string().regex(/^[a-z0-9:._-]+$/)) })
          .strict(),
      })
      .strict(),
    podAnnotations: z.record(z.string(), z.string()),
    podLabels: z.record(z.string(), z.string()),
    nodeSelector: z.record(z.string(), z.string()),
    tolerations: z.array(openObject),
    affinity: openObject,
    priorityClassName: z.string(),
  })
  .strict();

export type ChartValues = z.infer<typeof valuesSchema>;

/** values.schema.json, as JSON Schema draft-07: the draft every Helm 3 release validates. */
export function valuesJSONSchema(): Record<string, unknown> {
  return z.toJSONSchema(valuesSchema, { target: 'draft-07' });
}

/** Every problem in `values`, as `path: message` lines (empty when valid). */
export function checkValues(values: unknown): string[] {
  const r = valuesSchema.safeParse(values);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
}
