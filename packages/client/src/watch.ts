// Typed watch of ClusterGateways on the hub (the gateway serves watch with bookmarks, selectors and
// resourceVersion resumption; upstream does not), built on client-node's Watch so it reuses the
// hub's authentication and TLS settings.

import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { clusterGatewaysPath, type GatewayPathOptions } from './paths.ts';
import type { ClusterGateway } from './clustergateways.ts';

export type ClusterGatewayEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchClusterGatewaysOptions extends GatewayPathOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** resume after this resourceVersion (a 410 ends the watch with an error: list again) */
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

/**
 * Watch ClusterGateways. `onEvent` gets every event; `onDone` is called once when the watch ends
 * (undefined on a normal end). Returns a function that stops the watch.
 */
export async function watchClusterGateways(
  hub: KubeConfig,
  onEvent: (type: ClusterGatewayEventType, gateway: ClusterGateway) => void,
  onDone: (err?: unknown) => void,
  opts: WatchClusterGatewaysOptions = {},
): Promise<() => void> {
  const query: Record<string, string | number | boolean> = {};
  if (opts.labelSelector) query.labelSelector = opts.labelSelector;
  if (opts.fieldSelector) query.fieldSelector = opts.fieldSelector;
  if (opts.resourceVersion) query.resourceVersion = opts.resourceVersion;
  if (opts.allowWatchBookmarks) query.allowWatchBookmarks = true;
  if (opts.timeoutSeconds !== undefined) query.timeoutSeconds = opts.timeoutSeconds;
  let done = false;
  const finish = (err?: unknown): void => {
    if (done) return;
    done = true;
    onDone(err);
  };
  const controller = await new Watch(hub).watch(
    clusterGatewaysPath(opts),
    query,
    (type: string, obj: unknown) => {
      onEvent(type as ClusterGatewayEventType, obj as ClusterGateway);
    },
    (err?: unknown) => {
      finish(err ?? undefined);
    },
  );
  return () => {
    done = true;
    controller.abort();
  };
}
