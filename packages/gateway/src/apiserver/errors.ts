// The gateway's one error registry: every failure a client sees is a GatewayError rendered as a
// Kubernetes `Status` (kind, reason, code, details) with kube-apiserver's wording, so kubectl and
// client libraries handle it. Wrap underlying errors with `cause`; never concatenate messages.

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Expired'
  | 'Invalid'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'Timeout'
  | 'ServiceUnavailable'
  | 'InternalError'
  | 'BadGateway';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: StatusReason | '';
  details?: StatusDetails;
  code: number;
}

export const GROUP = 'cluster.core.oam.dev';

export class GatewayError extends Error {
  readonly code: number;
  readonly reason: StatusReason;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: StatusReason, message: string, details?: StatusDetails, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Status {
    const s: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}

/** Any thrown value as a GatewayError (unknown errors become 500 InternalError, cause kept). */
export function toGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  // errors of the shared machinery (selectors, patches) already carry a Kubernetes Status
  if (e instanceof Error && typeof (e as { toStatus?: unknown }).toStatus === 'function') {
    const s = (e as Error & { toStatus(): Status }).toStatus();
    return new GatewayError(s.code, s.reason || 'InternalError', s.message, s.details, { cause: e });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new GatewayError(500, 'InternalError', `Internal error occurred: ${msg}`, undefined, { cause: e });
}

export const errors = {
  /** upstream answers 404 naming `secrets` or 500 "no such cluster"; we name the resource and keep the phrase */
  noSuchCluster(name: string): GatewayError {
    return new GatewayError(404, 'NotFound', `clustergateways.${GROUP} "${name}" not found: no such cluster ${name}`, {
      name,
      group: GROUP,
      kind: 'clustergateways',
    });
  },
  notFound(resource: string, name: string, group = GROUP): GatewayError {
    return new GatewayError(404, 'NotFound', `${group ? `${resource}.${group}` : resource} "${name}" not found`, {
      name,
      group,
      kind: resource,
    });
  },
  /** a path this server does not serve, as kube words it */
  notFoundPath(): GatewayError {
    return new GatewayError(404, 'NotFound', 'the server could not find the requested resource', {});
  },
  notImplemented(message: string): GatewayError {
    return new GatewayError(501, 'InternalError', message);
  },
  badRequest(message: string, cause?: unknown): GatewayError {
    return new GatewayError(400, 'BadRequest', message, undefined, { cause });
  },
  invalid(kind: string, name: string, causes: StatusCause[]): GatewayError {
    const list = [...new Set(causes.map((c) => (c.field ? `${c.field}: ${c.message ?? ''}` : (c.message ?? ''))))];
    return new GatewayError(
      422,
      'Invalid',
      `${kind}.${GROUP} "${name}" is invalid: ${list.length === 1 ? list[0]! : `[${list.join(', ')}]`}`,
      { name, group: GROUP, kind, causes },
    );
  },
  unauthorized(message = 'Unauthorized'): GatewayError {
    return new GatewayError(401, 'Unauthorized', message);
  },
  forbidden(message: string, details?: StatusDetails): GatewayError {
    return new GatewayError(403, 'Forbidden', message, details);
  },
  methodNotAllowed(): GatewayError {
    return new GatewayError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  },
  conflict(resource: string, name: string, why: string): GatewayError {
    return new GatewayError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${resource}.${GROUP} "${name}": ${why}`,
      { name, group: GROUP, kind: resource },
    );
  },
  expired(message: string): GatewayError {
    return new GatewayError(410, 'Expired', message);
  },
  tooLarge(limit: number): GatewayError {
    return new GatewayError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
  },
  unsupportedMediaType(contentType: string): GatewayError {
    return new GatewayError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml; got ${JSON.stringify(contentType)}`,
    );
  },
  notAcceptable(): GatewayError {
    return new GatewayError(
      406,
      'NotAcceptable',
      'only the following media types are accepted: application/json, application/yaml',
    );
  },
  /** the cluster's Secret exists but cannot be turned into a usable ClusterGateway */
  invalidCluster(name: string, why: string, cause?: unknown): GatewayError {
    return new GatewayError(
      500,
      'InternalError',
      `cluster "${name}" is misconfigured: ${why}`,
      { name, group: GROUP, kind: 'clustergateways' },
      { cause },
    );
  },
  unavailable(message: string, retryAfterSeconds?: number, cause?: unknown): GatewayError {
    return new GatewayError(
      503,
      'ServiceUnavailable',
      message,
      retryAfterSeconds === undefined ? undefined : { retryAfterSeconds },
      { cause },
    );
  },
  badGateway(message: string, cause?: unknown): GatewayError {
    return new GatewayError(502, 'BadGateway', message, undefined, { cause });
  },
  gatewayTimeout(message: string, cause?: unknown): GatewayError {
    return new GatewayError(504, 'Timeout', message, undefined, { cause });
  },
  internal(message: string, cause?: unknown): GatewayError {
    return new GatewayError(500, 'InternalError', `Internal error occurred: ${message}`, undefined, { cause });
  },
};
