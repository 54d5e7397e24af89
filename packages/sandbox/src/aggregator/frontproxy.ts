// The front-proxy trust of one cluster: a requestheader CA of its own (separate from the cluster CA,
// as kubeadm sets it up) with the `front-proxy-client` certificate the aggregator presents to
// backends, and the kube-system/extension-apiserver-authentication ConfigMap through which extension
// apiservers learn whom to trust, written with the keys and JSON-array encoding of kube-apiserver's
// cluster-authentication-trust controller (existing content is merged, never dropped).

import { X509Certificate } from 'node:crypto';
import { createCA, type CertificateAuthority, type KeyPair } from '../pki/pki.ts';
import { EXTRA_PREFIX, GROUP_HEADER, UID_HEADER, USER_HEADER } from './headers.ts';

export const AUTH_CONFIGMAP_NAMESPACE = 'kube-system';
export const AUTH_CONFIGMAP_NAME = 'extension-apiserver-authentication';
export const FRONT_PROXY_CLIENT_CN = 'front-proxy-client';

export interface FrontProxyPKI {
  ca: CertificateAuthority;
  client: KeyPair;
}

export async function createFrontProxyPKI(clusterName: string): Promise<FrontProxyPKI> {
  const ca = await createCA(`${clusterName}-front-proxy-ca`);
  const client = await ca.issue({ commonName: FRONT_PROXY_CLIENT_CN, usage: 'client' });
  return { ca, client };
}

/** What this apiserver requires the ConfigMap to say (kube's ClusterAuthenticationInfo). */
export interface AuthenticationInfo {
  clientCA: string;
  requestHeaderCA: string;
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
  allowedNames: string[];
}

export function requiredAuthenticationInfo(
  clientCA: string,
  requestHeaderCA: string,
  sendUID: boolean,
): AuthenticationInfo {
  return {
    clientCA,
    requestHeaderCA,
    usernameHeaders: [USER_HEADER],
    // --requestheader-uid-headers is empty unless the RemoteRequestHeaderUID gate is on; kube still writes the key
    uidHeaders: sendUID ? [UID_HEADER] : [],
    groupHeaders: [GROUP_HEADER],
    extraHeaderPrefixes: [EXTRA_PREFIX],
    allowedNames: [FRONT_PROXY_CLIENT_CN],
  };
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Re-encode a bundle as kube does (one canonical PEM block per certificate), dropping duplicates and expired ones. */
function combineBundles(...bundles: string[]): string {
  const seen = new Set<string>();
  let out = '';
  const slack = Date.now() - 5 * 60_000;
  for (const b of bundles) {
    for (const block of b.match(PEM_BLOCK) ?? []) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block);
      } catch {
        continue;
      }
      if (new Date(cert.validTo).getTime() < slack) continue;
      const der = cert.raw.toString('base64');
      if (seen.has(der)) continue;
      seen.add(der);
      out += `-----BEGIN CERTIFICATE-----\n${der.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
    }
  }
  return out;
}

function unique(...lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

/** kube's jsonDeserializeStringSlice: unreadable content counts as absent (it is rewritten below). */
function parseList(s: string | undefined): string[] {
  if (!s) return [];
  try {
    const v = JSON.parse(s) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The ConfigMap `data` for `required` merged into `existing` (what other apiservers of the cluster put
 * there stays), with the keys kube-apiserver writes; keys are in Go's sorted map order.
 */
export function authenticationConfigMapData(
  required: AuthenticationInfo,
  existing: Record<string, string> = {},
): Record<string, string> {
  const clientCA = combineBundles(existing['client-ca-file'] ?? '', required.clientCA);
  const rhCA = combineBundles(existing['requestheader-client-ca-file'] ?? '', required.requestHeaderCA);
  const data: Record<string, string> = {};
  if (clientCA) data['client-ca-file'] = clientCA;
  if (rhCA) {
    data['requestheader-allowed-names'] = JSON.stringify(
      unique(parseList(existing['requestheader-allowed-names']), required.allowedNames),
    );
    data['requestheader-client-ca-file'] = rhCA;
    data['requestheader-extra-headers-prefix'] = JSON.stringify(
      unique(parseList(existing['requestheader-extra-headers-prefix']), required.extraHeaderPrefixes),
    );
    data['requestheader-group-headers'] = JSON.stringify(
      unique(parseList(existing['requestheader-group-headers']), required.groupHeaders),
    );
    data['requestheader-uid-headers'] = JSON.stringify(
      unique(parseList(existing['requestheader-uid-headers']), required.uidHeaders),
    );
    data['requestheader-username-headers'] = JSON.stringify(
      unique(parseList(existing['requestheader-username-headers']), required.usernameHeaders),
    );
  }
  return data;
}
