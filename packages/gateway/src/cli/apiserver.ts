// `cluster-gateway apiserver`: run the aggregated apiserver until SIGTERM/SIGINT, then drain and
// exit 0 (the process exits non-zero only when start-up fails).

import type { Config } from '../config/index.ts';
import { createLogger } from '../observability/logger.ts';
import { GatewayServer, type GatewayServerOptions } from '../apiserver/server.ts';
import { createMetrics } from '../observability/metrics.ts';
import { gatewayProxy } from '../proxy/from-config.ts';

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
  // the proxy reads the cluster cache and authorizer of the server it is handed to
  const ref: { server?: GatewayServer } = {};
  const proxy = extra.proxy
    ? undefined
    : await gatewayProxy({
        config,
        metrics,
        logger,
        server: () => {
          if (!ref.server) throw new Error('gateway not started');
          return ref.server;
        },
      });
  const server = new GatewayServer({ config, logger, ...extra, metrics, ...(proxy ? { proxy: proxy.handler } : {}) });
  ref.server = server;
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
  await proxy?.close();
}
