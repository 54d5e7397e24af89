// The contract between the proxy dispatcher and identity resolution: which identity (if any) the
// gateway asserts at the member cluster through Impersonate-* headers for one proxied request.

import type { UserInfo } from '../auth/types.ts';
import type { Cluster } from '../registry/types.ts';

export interface Impersonation {
  user: string;
  groups: string[];
  uid?: string;
  extra: Record<string, string[]>;
}

export interface IdentityDecision {
  /** undefined = no impersonation headers (the cluster credential acts as itself) */
  impersonate: Impersonation | undefined;
  /** for logs and audit: which rule decided ('default' penetration, a rule name, or 'none') */
  rule: string;
  source: 'none' | 'default' | 'cluster' | 'global' | 'external';
}

export interface IdentityResolver {
  /**
   * Decide the identity for a request of `user` to `cluster`; `impersonateRequested` is the
   * `?impersonate=true` switch. Throws a GatewayError (e.g. 503 from an external exchanger).
   */
  resolve(
    user: UserInfo,
    cluster: Cluster,
    impersonateRequested: boolean,
    signal?: AbortSignal,
  ): Promise<IdentityDecision>;
}
