// CIDR parsing for `--denied-endpoint-cidrs` / `--allowed-endpoint-cidrs`. Validation happens at
// start-up; the egress layer enforces the ranges with a `net.BlockList` built from these values.

import { BlockList, isIP } from 'node:net';

export interface Cidr {
  readonly text: string;
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

export type CidrResult = { ok: true; cidr: Cidr } | { ok: false; error: string };

export function parseCidr(text: string): CidrResult {
  const bad: CidrResult = { ok: false, error: `invalid CIDR address: ${text}` };
  const slash = text.indexOf('/');
  if (slash < 0) return bad;
  const address = text.slice(0, slash);
  const p = text.slice(slash + 1);
  const v = isIP(address);
  if (v === 0 || !/^\d{1,3}$/.test(p)) return bad;
  const prefix = Number(p);
  if (prefix > (v === 4 ? 32 : 128)) return bad;
  return { ok: true, cidr: { text, address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' } };
}

/** A BlockList holding the ranges (for `check(address, family)`). */
export function toBlockList(cidrs: readonly Cidr[]): BlockList {
  const bl = new BlockList();
  for (const c of cidrs) bl.addSubnet(c.address, c.prefix, c.family);
  return bl;
}
