// How the proxy reaches a managed cluster's API server: a Dialer yields a raw byte stream to the
// member (a TCP socket, an HTTP CONNECT / SOCKS5 tunnel through `proxy-url`, or a Konnectivity
// tunnel); TLS to the member then runs on top of it. Both the keep-alive HTTP pools and the upgrade
// (exec/attach/port-forward) path dial through the same interface, so every egress works for both.

import type { Duplex } from 'node:stream';

export interface DialTarget {
  /** cluster name (Konnectivity routes on `{cluster}:443`) */
  cluster: string;
  /** endpoint host and port of the member API server (direct and proxy-url egress) */
  host: string;
  port: number;
  /** `proxy-url` of the cluster, if any (http, https, socks5, socks5h) */
  proxyURL: string | undefined;
}

export interface Dialer {
  /** open a byte stream to the member; rejects with an Error whose message names the cause */
  dial(target: DialTarget, signal?: AbortSignal): Promise<Duplex>;
}
