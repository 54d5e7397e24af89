// Builds the proxy handler from the completed gateway Config, the same way for `cluster-gateway
// apiserver` and the sandbox wiring: endpoint CIDR policy, --proxy-timeout, the configured
// requestheader names (stripped like X-Remote-*), and the ClusterCache of a server created later.

import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Dialer } from '../egress/types.ts';
import type { ExecCredentials } from './credentials.ts';
import type { IdentityResolver } from './identity-types.ts';
import { createProxyHandler, noImpersonation, type ClusterLookup, type GatewayProxyHandler } from './handler.ts';

export interface ProxyFromConfigOptions {
  config: Config;
  cache: () => ClusterLookup;
  metrics: Metrics;
  logger: Logger;
  execCredentials: ExecCredentials;
  identity?: IdentityResolver | undefined;
  konnectivity?: Dialer | undefined;
}

export function proxyFromConfig(o: ProxyFromConfigOptions): GatewayProxyHandler {
  const rh = o.config.authentication.requestHeader;
  const identityHeaders = rh
    ? [...rh.usernameHeaders, ...rh.groupHeaders, ...rh.uidHeaders, ...rh.extraHeaderPrefixes].map((h) =>
        h.toLowerCase(),
      )
    : [];
  return createProxyHandler({
    cache: o.cache,
    identity: o.identity ?? noImpersonation,
    metrics: o.metrics,
    logger: o.logger,
    execCredentials: o.execCredentials,
    konnectivity: o.konnectivity,
    config: {
      timeoutMs: o.config.proxy.timeoutMs,
      deniedEndpointCidrs: o.config.proxy.deniedEndpointCidrs,
      allowedEndpointCidrs: o.config.proxy.allowedEndpointCidrs,
      identityHeaders,
    },
  });
}
