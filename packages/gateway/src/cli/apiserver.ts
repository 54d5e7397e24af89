// `cluster-gateway apiserver`: run the aggregated apiserver until SIGTERM/SIGINT, then drain and
// exit 0 (the process exits non-zero only when start-up fails).

import type { Config } from '../config/index.ts';
import { createLogger } from '../observability/logger.ts';
import { GatewayServer, type GatewayServerOptions } from '../apiserver/server.ts';
import { createMetrics } from '../observability/metrics.ts';
import { ExecCredentialProvider } from '../registry/exec-credential.ts';
import { proxyFromConfig } from '../proxy/from-config.ts';
import { createKonnectivityDialer } from '../egress/konnectivity.ts';

export async function runApiserver(
  config: Config,
  warnings: readonly string[],
  extra: Partial<GatewayServerOptions> = {},
  signal?: AbortSignal,
): Promise<void> {
  const logger =
    extra.logger ??
    createLogger({
      level: config.logging.level,
      format: config.logging.format,
      base: { component: 'cluster-gateway' },
    });
  for (const w of [...warnings, ...config.warnings]) logger.warn(w);
  const metrics = extra.metrics ?? createMetrics();
  // --proxy-host & co.: one Konnectivity channel for every ClusterProxy cluster
  const konnectivity = extra.proxy ? undefined : createKonnectivityDialer(config, { metrics, logger });
  // the proxy reads the cluster cache the server builds on start
  const started: { server?: GatewayServer } = {};
  const proxy =
    extra.proxy ??
    proxyFromConfig({
      config,
      cache: () => {
        if (!started.server) throw new Error('gateway not started');
        return started.server.cache;
      },
      metrics,
      logger,
      execCredentials: new ExecCredentialProvider(),
      konnectivity,
    });
  const server = new GatewayServer({ config, logger, ...extra, metrics, proxy });
  started.server = server;
  await server.start();
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
  });
  await server.stop();
  konnectivity?.close();
}
