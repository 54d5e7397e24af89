// Builds the proxy handler from the completed gateway Config, the same way for `cluster-gateway
// apiserver` and the sandbox wiring: endpoint CIDR policy, --proxy-timeout, the configured
// requestheader names (stripped like X-Remote-*), the ClusterCache of a server created later, the
// Konnectivity dialer (--proxy-host), identity (ClientIdentityPenetration, exchange rules from
// --cluster-gateway-proxy-config and Secret annotations, the external exchanger webhook) and
// --authorize-proxy-subpath.

import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Dialer } from '../egress/types.ts';
import type { ExecCredentials } from './credentials.ts';
import type { IdentityResolver } from './identity-types.ts';
import { createProxyHandler, noImpersonation, type ClusterLookup, type GatewayProxyHandler } from './handler.ts';
import type { UserInfo } from '../auth/types.ts';
import { ExecCredentialProvider } from '../registry/exec-credential.ts';
import { createKonnectivityDialer } from '../egress/konnectivity.ts';
import { ProxyConfigFile } from './proxy-config-file.ts';
import { WebhookIdentityExchanger } from './identity-webhook.ts';
import { DefaultIdentityResolver } from './identity.ts';
import { authorizeSubpath, type SubpathAuthorizer } from './subpath-authz.ts';

export interface ProxyFromConfigOptions {
  config: Config;
  cache: () => ClusterLookup;
  metrics: Metrics;
  logger: Logger;
  execCredentials: ExecCredentials;
  identity?: IdentityResolver | undefined;
  konnectivity?: Dialer | undefined;
  authorizeSubpath?: (user: UserInfo, method: string, innerPath: string, signal?: AbortSignal) => Promise<void>;
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
    ...(o.authorizeSubpath ? { authorizeSubpath: o.authorizeSubpath } : {}),
    config: {
      timeoutMs: o.config.proxy.timeoutMs,
      deniedEndpointCidrs: o.config.proxy.deniedEndpointCidrs,
      allowedEndpointCidrs: o.config.proxy.allowedEndpointCidrs,
      identityHeaders,
    },
  });
}

export interface GatewayProxyOptions {
  config: Config;
  metrics: Metrics;
  logger: Logger;
  /** the server, once created (its cache and authorizer are read lazily, per request) */
  server: () => { cache: ClusterLookup; authorizer: SubpathAuthorizer };
  /** override identity resolution (tests); default: from the config */
  identity?: IdentityResolver | undefined;
}

export interface GatewayProxy {
  handler: GatewayProxyHandler;
  /** release what the handler does not own (proxy-config watcher, webhook client, tunnels) */
  close(): Promise<void>;
}

export async function gatewayProxy(o: GatewayProxyOptions): Promise<GatewayProxy> {
  const log = o.logger.child({ component: 'identity' });
  // a global config that cannot be read stops start-up, as upstream; later bad edits keep the last good rules
  const proxyConfig = o.config.proxy.globalConfig
    ? await ProxyConfigFile.load(o.config.proxy.globalConfig.file.path, log)
    : undefined;
  const webhook = new WebhookIdentityExchanger({ logger: log });
  const identity =
    o.identity ??
    new DefaultIdentityResolver({
      penetration: o.config.featureGates.ClientIdentityPenetration,
      globalRules: () => proxyConfig?.rules() ?? [],
      external: webhook,
      logger: log,
    });
  const konnectivity = createKonnectivityDialer(o.config, { metrics: o.metrics, logger: o.logger });
  const handler = proxyFromConfig({
    config: o.config,
    cache: () => o.server().cache,
    metrics: o.metrics,
    logger: o.logger,
    execCredentials: new ExecCredentialProvider(),
    identity,
    konnectivity,
    ...(o.config.proxy.authorizeSubpath
      ? {
          authorizeSubpath: (user: UserInfo, method: string, path: string, signal?: AbortSignal) =>
            authorizeSubpath(o.server().authorizer, user, method, path, signal),
        }
      : {}),
  });
  return {
    handler,
    async close() {
      proxyConfig?.close();
      await webhook.close();
      konnectivity?.close();
    },
  };
}
