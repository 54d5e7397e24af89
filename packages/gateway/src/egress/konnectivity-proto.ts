// The Konnectivity frontend wire protocol (`proto/konnectivity.proto`) loaded through
// @grpc/proto-loader, with TypeScript shapes for its packets. int64 ids (random, connectID) are kept
// as decimal strings end to end (`longs: String`): JavaScript numbers would round ids above 2^53,
// and a real proxy-server hands out whatever int64 its agents choose.

import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { MethodDefinition, PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';

export const PROXY_METHOD = '/ProxyService/Proxy';
export const PROTO_PATH = fileURLToPath(new URL('./proto/konnectivity.proto', import.meta.url));

export type PacketType = 'DIAL_REQ' | 'DIAL_RSP' | 'CLOSE_REQ' | 'CLOSE_RSP' | 'DATA' | 'DIAL_CLS' | 'DRAIN';

export interface DialRequest {
  protocol: string;
  address: string;
  random: string;
}
export interface DialResponse {
  error: string;
  connectID: string;
  random: string;
}
export interface CloseRequest {
  connectID: string;
}
export interface CloseResponse {
  error: string;
  connectID: string;
}
export interface CloseDial {
  random: string;
}
export interface Data {
  connectID: string;
  error: string;
  data: Buffer;
}

/**
 * A decoded packet. `type` is a number when the peer sends an enum value this definition does not
 * know (a newer proxy-server); such packets are ignored.
 */
export interface Packet {
  type: PacketType | number;
  payload?: 'dialRequest' | 'dialResponse' | 'data' | 'closeRequest' | 'closeResponse' | 'closeDial' | 'drain';
  dialRequest?: DialRequest;
  dialResponse?: DialResponse;
  data?: Data;
  closeRequest?: CloseRequest;
  closeResponse?: CloseResponse;
  closeDial?: CloseDial;
  drain?: Record<string, never>;
}

/** What we send: unset scalar fields take their proto3 defaults. */
export interface OutPacket {
  type: PacketType;
  dialRequest?: DialRequest;
  dialResponse?: Partial<DialResponse>;
  data?: Partial<Data> & { connectID: string };
  closeRequest?: CloseRequest;
  closeResponse?: Partial<CloseResponse> & { connectID: string };
  closeDial?: CloseDial;
  drain?: Record<string, never>;
}

export interface KonnectivityProtocol {
  readonly packageDefinition: PackageDefinition;
  readonly service: ServiceDefinition;
  readonly method: MethodDefinition<OutPacket, Packet>;
  serialize(p: OutPacket): Buffer;
  deserialize(b: Buffer): Packet;
}

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let cached: KonnectivityProtocol | undefined;

/** Parses the .proto once per process (start-up only: proto-loader reads the file synchronously). */
export function loadKonnectivityProtocol(): KonnectivityProtocol {
  if (cached) return cached;
  const packageDefinition = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
  const service = packageDefinition['ProxyService'] as ServiceDefinition | undefined;
  const method = service?.['Proxy'] as MethodDefinition<OutPacket, Packet> | undefined;
  if (!service || !method || method.path !== PROXY_METHOD || !method.requestStream || !method.responseStream)
    throw new Error(`${PROTO_PATH}: ProxyService.Proxy bidi stream not found`);
  cached = {
    packageDefinition,
    service,
    method,
    serialize: (p) => method.requestSerialize(p),
    deserialize: (b) => method.responseDeserialize(b),
  };
  return cached;
}

/** Canonical decimal form of an int64 id, so "007" and "7" compare equal; undefined when not an int64. */
export function int64(v: string | number | bigint | undefined): string | undefined {
  if (v === undefined) return undefined;
  try {
    const n = BigInt(v);
    return n === BigInt.asIntN(64, n) ? n.toString() : undefined;
  } catch {
    return undefined;
  }
}
