// The credential the gateway presents to a member for one request (upstream §3.4.1): the Secret's
// ServiceAccount token as `Authorization: Bearer`, its X509 client certificate in TLS, or what the
// `Dynamic` exec plugin issued (token or certificate), obtained lazily through the shared
// ExecCredentialProvider (single-flight, cached until shortly before expiry). An exec failure is a
// 503 naming the cluster and the plugin's error, never a hang for other clusters.

import { GatewayError, GROUP } from '../apiserver/errors.ts';
import type { ExecCredentialProvider } from '../registry/exec-credential.ts';
import type { Cluster } from '../registry/types.ts';
import type { MemberCredential } from './transport.ts';

export type ExecCredentials = Pick<ExecCredentialProvider, 'get' | 'invalidate'>;

export async function memberCredential(
  cluster: Cluster,
  exec: ExecCredentials,
  signal?: AbortSignal,
): Promise<MemberCredential> {
  const c = cluster.credential;
  const details = { name: cluster.name, group: GROUP, kind: 'clustergateways' };
  if (!c) {
    // upstream's wording (it answers 500 too: the cluster is unusable as configured)
    throw new GatewayError(
      500,
      'InternalError',
      `proxying cluster ${cluster.name} not support due to lacking credentials`,
      details,
    );
  }
  switch (c.type) {
    case 'ServiceAccountToken':
      return { token: c.token };
    case 'X509Certificate':
      return { cert: c.certificate, key: c.privateKey };
    case 'Dynamic': {
      try {
        const ep = cluster.endpoint;
        const issued = await exec.get(cluster.name, c.exec, signal, {
          server: ep.address,
          ...(ep.insecure ? { insecureSkipTLSVerify: true } : {}),
          ...(ep.caBundle?.length ? { certificateAuthorityData: ep.caBundle } : {}),
          ...(ep.proxyURL ? { proxyURL: ep.proxyURL } : {}),
        });
        return {
          token: issued.token,
          ...(issued.cert && issued.key ? { cert: issued.cert, key: issued.key } : {}),
        };
      } catch (e) {
        if (signal?.aborted) throw e;
        const why = e instanceof Error ? e.message : String(e);
        throw new GatewayError(
          503,
          'ServiceUnavailable',
          `cannot get credentials for cluster "${cluster.name}": getting credentials: ${why}`,
          details,
          { cause: e },
        );
      }
    }
  }
}
