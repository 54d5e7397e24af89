// `cluster-gateway apiserver`: run the aggregated apiserver until SIGTERM/SIGINT, then drain and
// exit 0 (the process exits non-zero only when start-up fails).

import type { Config } from '../config/index.ts';
import { createLogger } from '../observability/logger.ts';
import { GatewayServer, type GatewayServerOptions } from '../apiserver/server.ts';

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
  const server = new GatewayServer({ config, logger, ...extra });
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
}
