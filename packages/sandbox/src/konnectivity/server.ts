// A Konnectivity (apiserver-network-proxy) proxy-server for tests and the sandbox: the gRPC frontend
// `/ProxyService/Proxy` over mTLS with its own CA, routing each DIAL_REQ by destination host (the
// Go server's destHost strategy, as OCM cluster-proxy configures it) to an in-process agent. An
// agent here is just a function that opens a byte stream to the destination (the sandbox member's
// TLS port: TLS stays end to end between the gateway and the member, as in the real deployment).
//
// Wire behaviour follows the Go proxy-server (pkg/server/server.go): one connection per stream;
// DIAL_RSP with `No backend available` and the stream ended when no agent serves the host; the
// agent's dial error in DIAL_RSP otherwise; DATA relayed both ways with backpressure; DIAL_CLS
// drops a pending dial; CLOSE_REQ closes the connection. Where Go ends the stream right after
// forwarding CLOSE_REQ (the client sees EOF), we first send CLOSE_RSP: both are valid for a client.

import net from 'node:net';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { createCA } from '../pki/pki.ts';
import { int64, proxyService, type OutPacket, type Packet } from './protocol.ts';

/** The Go server's ErrNotFound message (pkg/server/backend_manager.go). */
export const NO_BACKEND = 'No backend available';

/** Opens a connection to the destination (`address` is the DIAL_REQ's `host:port`). */
export type AgentDial = (address: string) => Promise<Duplex>;

export interface KonnectivityServerOptions {
  /** listen address (default 127.0.0.1); also a name in the serving certificate */
  host?: string;
  /** 0 = any free port */
  port?: number;
  /** first connectID handed out (default 1); tests start above 2^53 to prove ids stay exact */
  firstConnectID?: bigint;
}

export interface KonnectivityServerStats {
  /** Proxy streams accepted since start (one per dialed connection with a Go-like client) */
  streams: number;
  /** successful dials since start */
  dials: number;
  activeStreams: number;
  openConnections: number;
}

export interface KonnectivityServer {
  readonly host: string;
  readonly port: number;
  /** PEM CA that signed the serving and client certificates */
  readonly ca: string;
  /** PEM client certificate and key for the gateway (`--proxy-cert`, `--proxy-key`) */
  readonly clientCert: string;
  readonly clientKey: string;
  readonly stats: Readonly<KonnectivityServerStats>;
  /** Route dials for `host` to `dial`; returns the function that unregisters it. */
  registerAgent(host: string, dial: AgentDial): () => void;
  /** Abrupt death: every HTTP/2 session and agent connection torn down at once. */
  kill(): void;
  /** Listen again on the same port (after kill or stop), with the same certificates and agents. */
  restart(): Promise<void>;
  /** Graceful: CLOSE_RSP to every connection, end the streams, stop listening. */
  stop(): Promise<void>;
}

/** An agent that dials a TCP port (for the sandbox: a member cluster's API server). */
export function tcpAgent(host: string, port: number): AgentDial {
  return () =>
    new Promise<Duplex>((resolve, reject) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
}

/** Go's util.RemovePortFromHost: the host of `host:port`, or the input when it has no port. */
export function destinationHost(address: string): string {
  const m = /^\[([^\]]*)\]:\d*$/.exec(address) ?? /^([^:]*):\d*$/.exec(address);
  return m ? m[1]! : address;
}

interface Stream {
  finish(destroy: boolean): void;
  /** graceful stop: CLOSE_RSP with an error for the open connection, then end */
  shutdown(error: string): void;
}

export async function startKonnectivityServer(opts: KonnectivityServerOptions = {}): Promise<KonnectivityServer> {
  const host = opts.host ?? '127.0.0.1';
  const ca = await createCA('konnectivity-ca');
  const isIP = net.isIP(host) !== 0;
  const serving = await ca.issue({
    commonName: 'konnectivity-proxy-server',
    dnsNames: ['localhost', ...(isIP ? [] : [host])],
    ipAddresses: ['127.0.0.1', '::1', ...(isIP && host !== '127.0.0.1' && host !== '::1' ? [host] : [])],
    usage: 'server',
  });
  const client = await ca.issue({ commonName: 'cluster-gateway', usage: 'client' });
  const agents = new Map<string, AgentDial>();
  const streams = new Set<Stream>();
  const stats: KonnectivityServerStats = { streams: 0, dials: 0, activeStreams: 0, openConnections: 0 };
  let nextConnectID = opts.firstConnectID ?? 1n;
  let server: grpc.Server | undefined;
  let port = opts.port ?? 0;

  function serve(call: grpc.ServerDuplexStream<Packet, OutPacket>): void {
    stats.streams++;
    stats.activeStreams++;
    let conn: { id: string; socket: Duplex } | undefined;
    let pending: { random: string; cancelled: boolean } | undefined;
    let closeSent = false;
    let finished = false;
    const send = (p: OutPacket): boolean => (finished || call.writableEnded ? true : call.write(p));
    const stream: Stream = {
      shutdown(error) {
        if (conn) closeResponse(conn.id, error);
        stream.finish(false);
      },
      finish(destroy) {
        if (finished) return;
        finished = true;
        streams.delete(stream);
        stats.activeStreams--;
        if (pending) pending.cancelled = true;
        if (conn) {
          stats.openConnections--;
          if (destroy) conn.socket.destroy();
          // flush what the client sent before CLOSE_REQ, then close (Go: conn.Close())
          else conn.socket.end(() => conn?.socket.destroy());
        }
        if (!call.writableEnded && !call.destroyed) call.end();
      },
    };
    streams.add(stream);
    const closeResponse = (connectID: string, error = ''): void => {
      if (closeSent) return;
      closeSent = true;
      send({ type: 'CLOSE_RSP', closeResponse: { connectID, error } });
    };

    const onDialRequest = (p: Packet): void => {
      const req = p.dialRequest;
      const random = int64(req?.random) ?? '0';
      if (conn || pending) {
        send({ type: 'DIAL_RSP', dialResponse: { random, error: 'this stream already carries a connection' } });
        return;
      }
      const address = req?.address ?? '';
      const agent = agents.get(destinationHost(address));
      if (!agent) {
        send({ type: 'DIAL_RSP', dialResponse: { random, error: NO_BACKEND } });
        stream.finish(true);
        return;
      }
      if (req?.protocol !== 'tcp') {
        send({
          type: 'DIAL_RSP',
          dialResponse: { random, error: `unsupported protocol ${JSON.stringify(req?.protocol)}` },
        });
        stream.finish(true);
        return;
      }
      const dial = { random, cancelled: false };
      pending = dial;
      agent(address).then(
        (socket) => {
          if (dial.cancelled || finished) {
            socket.destroy();
            return;
          }
          pending = undefined;
          const id = (nextConnectID++).toString();
          conn = { id, socket };
          stats.dials++;
          stats.openConnections++;
          send({ type: 'DIAL_RSP', dialResponse: { random, connectID: id } });
          socket.on('data', (chunk: Buffer) => {
            if (!send({ type: 'DATA', data: { connectID: id, data: chunk } })) {
              socket.pause();
              call.once('drain', () => socket.resume());
            }
          });
          // the Go agent answers the end of the remote connection with CLOSE_RSP
          socket.once('end', () => {
            closeResponse(id);
            stream.finish(false);
          });
          socket.once('close', () => {
            closeResponse(id);
            stream.finish(true);
          });
          socket.on('error', (err: Error) => {
            closeResponse(id, err.message);
            stream.finish(true);
          });
        },
        (err: unknown) => {
          if (dial.cancelled || finished) return;
          pending = undefined;
          send({ type: 'DIAL_RSP', dialResponse: { random, error: err instanceof Error ? err.message : String(err) } });
          stream.finish(true);
        },
      );
    };

    call.on('data', (p: Packet) => {
      if (finished) return;
      switch (p.type) {
        case 'DIAL_REQ':
          onDialRequest(p);
          return;
        case 'DATA': {
          const id = int64(p.data?.connectID) ?? '0';
          if (!conn) {
            send({ type: 'CLOSE_RSP', closeResponse: { connectID: id, error: 'backend not initialized' } });
            stream.finish(true);
            return;
          }
          if (id !== conn.id) return;
          const data = p.data?.data;
          if (data?.length && !conn.socket.write(data)) {
            call.pause();
            conn.socket.once('drain', () => call.resume());
          }
          return;
        }
        case 'CLOSE_REQ': {
          const id = int64(p.closeRequest?.connectID) ?? '0';
          if (!conn) {
            send({ type: 'CLOSE_RSP', closeResponse: { connectID: id, error: 'backend uninitialized' } });
            return;
          }
          if (id !== conn.id) return;
          closeResponse(id);
          stream.finish(false);
          return;
        }
        case 'DIAL_CLS':
          if (pending && int64(p.closeDial?.random) === pending.random) {
            pending.cancelled = true;
            pending = undefined;
          }
          return;
        default:
          return; // DRAIN and unknown types are ignored, as by the Go server
      }
    });
    call.on('end', () => {
      stream.finish(false);
    });
    call.on('cancelled', () => {
      stream.finish(true);
    });
    call.on('error', () => {
      stream.finish(true);
    });
  }

  async function listen(): Promise<void> {
    const s = new grpc.Server();
    s.addService(proxyService(), { Proxy: serve });
    const creds = grpc.ServerCredentials.createSsl(
      Buffer.from(ca.cert),
      [{ cert_chain: Buffer.from(serving.cert), private_key: Buffer.from(serving.key) }],
      true,
    );
    const addr = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    port = await new Promise<number>((resolve, reject) => {
      s.bindAsync(addr, creds, (err, p) => {
        if (err) reject(err);
        else resolve(p);
      });
    });
    server = s;
  }

  function dropStreams(destroy: boolean): void {
    for (const st of [...streams]) {
      if (destroy) st.finish(true);
      else st.shutdown('proxy-server stopping');
    }
  }

  await listen();
  return {
    host,
    get port() {
      return port;
    },
    ca: ca.cert,
    clientCert: client.cert,
    clientKey: client.key,
    stats,
    registerAgent(agentHost, dial) {
      agents.set(agentHost, dial);
      return () => {
        if (agents.get(agentHost) === dial) agents.delete(agentHost);
      };
    },
    kill() {
      const s = server;
      server = undefined;
      s?.forceShutdown();
      dropStreams(true);
    },
    async restart() {
      if (server) return;
      await listen();
    },
    async stop() {
      const s = server;
      server = undefined;
      dropStreams(false);
      if (!s) return;
      await new Promise<void>((resolve) => {
        s.tryShutdown(() => {
          resolve();
        });
      });
    },
  };
}
