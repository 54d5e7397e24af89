// What a client sees when the member cannot be reached or misbehaves: a Kubernetes `Status` naming
// the cluster and the cause in the words Go users know (`dial tcp 127.0.0.1:1234: connect: connection
// refused`, `tls: failed to verify certificate: x509: certificate signed by unknown authority`), with
// a real status code: 503 when nothing answers (as kube-aggregator's "error trying to reach
// service"), 502 when something answered wrongly (TLS failure, broken proxy, connection dropped),
// 504 on timeouts, 403 when the endpoint policy forbids the address. Upstream writes all of these as
// 500 and counts them as 200 in its metrics.

import { GatewayError, GROUP, isGatewayError } from '../apiserver/errors.ts';
import { DialError } from '../egress/direct.ts';

/** A TLS failure towards a member (handshake, verification, handshake timeout). */
export class MemberTLSError extends Error {
  readonly timeout: boolean;
  constructor(message: string, opts: { timeout?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MemberTLSError';
    this.timeout = opts.timeout ?? false;
  }
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/** Node's TLS error as Go's crypto/tls words it (node's own reason kept in parentheses). */
export function describeTLSError(e: unknown, host: string): string {
  const err = e as { code?: string; message?: string; reason?: string };
  const code = err.code ?? '';
  const detail = `${code ? `${code}: ` : ''}${err.reason ?? err.message ?? String(e)}`;
  if (UNKNOWN_AUTHORITY.has(code)) {
    return `tls: failed to verify certificate: x509: certificate signed by unknown authority (${detail})`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return `tls: failed to verify certificate: x509: certificate has expired or is not yet valid (${detail})`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `tls: failed to verify certificate: x509: certificate is not valid for ${host} (${detail})`;
  }
  if (code.startsWith('CERT_') || code.startsWith('UNABLE_TO_')) return `tls: failed to verify certificate: ${detail}`;
  return `tls: ${detail}`;
}

const UNDICI_TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Turn any failure towards cluster `cluster` into the GatewayError the client gets. */
export function backendError(cluster: string, e: unknown): GatewayError {
  if (isGatewayError(e)) return e;
  const details = { name: cluster, group: GROUP, kind: 'clustergateways' };
  const reach = (why: string): string => `error trying to reach cluster "${cluster}": ${why}`;
  if (e instanceof DialError) {
    switch (e.kind) {
      case 'policy':
        return new GatewayError(403, 'Forbidden', reach(e.message), details, { cause: e });
      case 'timeout':
        return new GatewayError(504, 'Timeout', reach(e.message), details, { cause: e });
      case 'proxy':
        return new GatewayError(502, 'BadGateway', reach(e.message), details, { cause: e });
      default:
        return new GatewayError(503, 'ServiceUnavailable', reach(e.message), details, { cause: e });
    }
  }
  if (e instanceof MemberTLSError) {
    return e.timeout
      ? new GatewayError(504, 'Timeout', reach(e.message), details, { cause: e })
      : new GatewayError(502, 'BadGateway', reach(e.message), details, { cause: e });
  }
  const err = e as { code?: string; name?: string; message?: string };
  if (err.name === 'TimeoutError' || UNDICI_TIMEOUTS.has(err.code ?? '')) {
    return new GatewayError(504, 'Timeout', reach('the cluster did not answer in time'), details, { cause: e });
  }
  if (err.code === 'UND_ERR_SOCKET' || err.code === 'ECONNRESET' || err.code === 'EPIPE') {
    return new GatewayError(502, 'BadGateway', reach('the connection was closed by the cluster'), details, {
      cause: e,
    });
  }
  if (err.code === 'UND_ERR_INVALID_ARG' || err.code === 'ERR_INVALID_CHAR' || err.code === 'ERR_INVALID_HTTP_TOKEN') {
    return new GatewayError(
      400,
      'BadRequest',
      `invalid request for cluster "${cluster}": ${err.message ?? ''}`,
      details,
      {
        cause: e,
      },
    );
  }
  const message = e instanceof Error ? e.message : String(e);
  return new GatewayError(502, 'BadGateway', reach(message), details, { cause: e });
}
