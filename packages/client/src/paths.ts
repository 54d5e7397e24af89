// URL arithmetic for the gateway: where a cluster's proxy lives under a hub server, and the checks
// that keep a cluster name from smuggling extra path segments into that URL. Everything else in the
// SDK builds URLs through here, so a sub-path on the hub server (Rancher-style
// `https://host/k8s/clusters/c-x`) is preserved in exactly one place.

export const DEFAULT_GROUP = 'cluster.core.oam.dev';
export const DEFAULT_VERSION = 'v1alpha1';
export const RESOURCE = 'clustergateways';

/** Where the gateway API lives; both default to upstream's `cluster.core.oam.dev/v1alpha1`. */
export interface GatewayPathOptions {
  /** API group of the gateway (upstream allows a build-time override, e.g. `gateway.open-cluster-management.io`) */
  group?: string;
  version?: 'v1alpha1';
}

/** A cluster name (or group) that cannot be a ClusterGateway name; thrown before any request is made. */
export class InvalidNameError extends TypeError {
  override readonly name = 'InvalidNameError';
}

/** A hub `server:` URL the SDK cannot build gateway URLs from. */
export class InvalidServerError extends TypeError {
  override readonly name = 'InvalidServerError';
}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN = new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`);
const VERSION = /^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$/;

/**
 * ClusterGateway names are Secret names: RFC 1123 subdomains. Anything else ("..", "a/b", "%2F",
 * upper case) is refused here because it would change the URL's meaning, not just fail later.
 */
export function validateClusterName(name: string): void {
  if (typeof name !== 'string' || name === '') throw new InvalidNameError('cluster name must be a non-empty string');
  if (name.length > 253)
    throw new InvalidNameError(`invalid cluster name ${JSON.stringify(name)}: must be no more than 253 characters`);
  if (!DNS1123_SUBDOMAIN.test(name))
    throw new InvalidNameError(
      `invalid cluster name ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case ` +
        `alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character ` +
        `(e.g. 'example.com', regex used for validation is '${DNS1123_LABEL}(\\.${DNS1123_LABEL})*')`,
    );
}

function groupVersion(opts: GatewayPathOptions): string {
  const group = opts.group ?? DEFAULT_GROUP;
  const version: string = opts.version ?? DEFAULT_VERSION;
  if (group.length > 253 || !DNS1123_SUBDOMAIN.test(group))
    throw new InvalidNameError(`invalid API group ${JSON.stringify(group)}: must be a lowercase RFC 1123 subdomain`);
  if (!VERSION.test(version)) throw new InvalidNameError(`invalid API version ${JSON.stringify(version)}`);
  return `/apis/${group}/${version}`;
}

/** `/apis/<group>/<version>/clustergateways` */
export function clusterGatewaysPath(opts: GatewayPathOptions = {}): string {
  return `${groupVersion(opts)}/${RESOURCE}`;
}

/** `/apis/<group>/<version>/clustergateways/<cluster>[/<subresource>]` */
export function clusterGatewayPath(cluster: string, subresource?: 'health' | 'proxy', opts: GatewayPathOptions = {}) {
  validateClusterName(cluster);
  return `${clusterGatewaysPath(opts)}/${cluster}${subresource ? `/${subresource}` : ''}`;
}

/** `/apis/<group>/<version>/clustergateways/<cluster>/proxy` (no trailing slash, see gatewayServerURL) */
export function proxyPath(cluster: string, opts: GatewayPathOptions = {}): string {
  return clusterGatewayPath(cluster, 'proxy', opts);
}

/**
 * The hub server as a base every client-node helper can append `/api/...` to: http(s) only, no
 * query, fragment or userinfo (client-node concatenates `server + path`, so any of those would end
 * up in the wrong place), trailing slashes dropped so the join never yields `//`.
 */
export function normalizeServer(server: string): string {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new InvalidServerError(`hub server ${JSON.stringify(server)} is not an absolute URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new InvalidServerError(`hub server ${JSON.stringify(server)}: scheme must be https or http`);
  if (u.username || u.password) throw new InvalidServerError('hub server URL must not carry credentials');
  if (u.search || u.hash || server.includes('?') || server.includes('#'))
    throw new InvalidServerError(`hub server ${JSON.stringify(server)} must not have a query or fragment`);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol}//${u.host}${path}`;
}

/**
 * The `server:` that makes every client-node helper talk to `cluster` through the gateway:
 * `<hub server>/apis/<group>/<version>/clustergateways/<cluster>/proxy`. No trailing slash, unlike
 * the Go kubeconfig trick: client-node appends paths that start with `/`.
 */
export function gatewayServerURL(hubServer: string, cluster: string, opts: GatewayPathOptions = {}): string {
  return normalizeServer(hubServer) + proxyPath(cluster, opts);
}

/**
 * Re-target a request URL built against the hub base onto the cluster's proxy (the TypeScript form of
 * upstream's ClusterGatewayRoundTripper path rewrite). A URL outside the hub base is refused: routing
 * it anyway would send hub credentials somewhere unexpected.
 */
export function routeURL(requestURL: string, hubBase: string, cluster: string, opts: GatewayPathOptions = {}): string {
  const base = normalizeServer(hubBase);
  const rest = requestURL.slice(base.length);
  if (!requestURL.startsWith(base) || (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')))
    throw new InvalidServerError(`request URL is not under the hub server ${base}`);
  return base + proxyPath(cluster, opts) + rest;
}
