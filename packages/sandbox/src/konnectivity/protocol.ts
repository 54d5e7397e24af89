// The Konnectivity frontend protocol for the sandbox proxy-server, loaded from this folder's copy of
// the reference `.proto` (the gateway keeps its own copy; a gateway test checks both are identical,
// since the package boundary forbids sharing the file). int64 ids stay decimal strings
// (`longs: String`): numbers would round ids above 2^53.

import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import type { MethodDefinition, ServiceDefinition } from '@grpc/proto-loader';

export const PROTO_PATH = fileURLToPath(new URL('./konnectivity.proto', import.meta.url));

export type PacketType = 'DIAL_REQ' | 'DIAL_RSP' | 'CLOSE_REQ' | 'CLOSE_RSP' | 'DATA' | 'DIAL_CLS' | 'DRAIN';

/** A packet as proto-loader decodes it (defaults filled, `payload` names the oneof member set). */
export interface Packet {
  type: PacketType | number;
  payload?: string;
  dialRequest?: { protocol: string; address: string; random: string };
  dialResponse?: { error: string; connectID: string; random: string };
  data?: { connectID: string; error: string; data: Buffer };
  closeRequest?: { connectID: string };
  closeResponse?: { error: string; connectID: string };
  closeDial?: { random: string };
  drain?: Record<string, never>;
}

/** What the server sends (unset fields take their proto3 defaults). */
export interface OutPacket {
  type: PacketType;
  dialResponse?: { error?: string; connectID?: string; random: string };
  data?: { connectID: string; error?: string; data?: Buffer };
  closeResponse?: { error?: string; connectID: string };
  closeDial?: { random: string };
  drain?: Record<string, never>;
}

let cached: ServiceDefinition | undefined;

export function proxyService(): ServiceDefinition {
  if (cached) return cached;
  const def = protoLoader.loadSync(PROTO_PATH, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const svc = def['ProxyService'] as ServiceDefinition | undefined;
  const m = svc?.['Proxy'] as MethodDefinition<Packet, OutPacket> | undefined;
  if (!svc || m?.path !== '/ProxyService/Proxy') throw new Error(`${PROTO_PATH}: ProxyService.Proxy not found`);
  cached = svc;
  return svc;
}

/** Canonical decimal int64, so ids compare as the Go server compares int64s. */
export function int64(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  try {
    const n = BigInt(v);
    return n === BigInt.asIntN(64, n) ? n.toString() : undefined;
  } catch {
    return undefined;
  }
}
