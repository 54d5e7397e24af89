// HTTP plumbing shared by the sandbox's handlers: bounded body reading (3 MiB like kube-apiserver),
// body decoding by Content-Type (JSON, YAML, the patch types), content negotiation of `Accept`
// (JSON, Table, PartialObjectMetadata, aggregated discovery) and writing objects, Status errors and
// watch streams with the right framing on HTTP/1.1 and h2.

import { parse as parseYaml } from 'yaml';
import { errors, ApiError, isApiError } from '../errors/status.ts';
import { jsonOf } from '../store/store.ts';
import { decodeKubeProtobuf } from '../protobuf/kube-protobuf.ts';
import type { Req, Res } from './listener.ts';
import type { WatchSink } from '../api/rest.ts';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: Req, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) {
    req.resume();
    throw errors.tooLarge(`Request entity too large: limit is ${limit}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw errors.tooLarge(`Request entity too large: limit is ${limit}`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function patchTypeOf(contentType: string | undefined): PatchType {
  switch (mediaType(contentType)) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+cbor':
      return 'apply';
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
  }
}

/** Decode a request body; malformed input is a 400 with the decoder's message, as kube does. */
export function decodeBody(
  buf: Buffer,
  contentType: string | undefined,
  isPatch: boolean,
  expected?: { apiVersion: string; kind: string },
): unknown {
  const mt = mediaType(contentType);
  const text = buf.toString('utf8');
  if (text.trim() === '') {
    if (isPatch) throw errors.badRequest('the body of the request was empty');
    return undefined;
  }
  if (mt === 'application/vnd.kubernetes.protobuf') {
    if (isPatch) throw errors.unsupportedMediaType(contentType ?? '');
    return decodeKubeProtobuf(buf, expected).object;
  }
  const yamlish = mt === 'application/yaml' || mt === 'application/apply-patch+yaml' || mt === 'text/yaml';
  if (!isPatch && !yamlish && mt !== 'application/json' && mt !== '' && mt !== '*/*') {
    throw errors.unsupportedMediaType(contentType ?? '');
  }
  if (yamlish) {
    try {
      return parseYaml(text, { maxAliasCount: 100 }) as unknown;
    } catch (e) {
      throw errors.badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw errors.badRequest(`json: ${(e as Error).message}`);
  }
}

export interface Negotiated {
  /** as=Table / as=PartialObjectMetadata(List) / as=APIGroupDiscoveryList */
  as: '' | 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList' | 'APIGroupDiscoveryList';
  /** the media type to echo back (discovery v2 needs exact parameters) */
  contentType: string;
}

/**
 * Pick the first acceptable representation from the Accept header in order, as kube's negotiation
 * does. JSON is always possible; protobuf-only clients get 406.
 */
export function negotiate(accept: string | undefined): Negotiated {
  if (!accept) return { as: '', contentType: 'application/json' };
  const entries = accept
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const e of entries) {
    const [type, ...params] = e.split(';').map((s) => s.trim());
    const p = new Map(params.map((kv) => kv.split('=') as [string, string]));
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*' && type !== 'application/yaml')
      continue;
    const as = p.get('as');
    if (as === 'Table' && p.get('g') === 'meta.k8s.io' && (p.get('v') === 'v1' || p.get('v') === 'v1beta1')) {
      return { as: 'Table', contentType: 'application/json;as=Table;v=v1;g=meta.k8s.io' };
    }
    if ((as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') && p.get('g') === 'meta.k8s.io') {
      return { as, contentType: `application/json;as=${as};v=v1;g=meta.k8s.io` };
    }
    if (as === 'APIGroupDiscoveryList' && p.get('g') === 'apidiscovery.k8s.io' && p.get('v') === 'v2') {
      return {
        as: 'APIGroupDiscoveryList',
        contentType: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
      };
    }
    if (as !== undefined) continue;
    return { as: '', contentType: 'application/json' };
  }
  throw errors.notAcceptable(
    `only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
  );
}

export function writeJSON(
  res: Res,
  code: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
  contentType = 'application/json',
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(code, {
    'content-type': contentType,
    'content-length': String(data.length),
    'cache-control': 'no-cache, private',
    ...headers,
  });
  res.end(data);
}

/** A list response assembled from the cached JSON of each stored item (see store.jsonOf). */
export function writeListJSON(res: Res, list: { items?: unknown } & Record<string, unknown>): void {
  const { items, ...head } = list;
  const parts = Array.isArray(items) ? items.map((o) => jsonOf(o as object)) : [];
  const prefix = JSON.stringify(head).slice(0, -1);
  const data = Buffer.from(`${prefix}${prefix.length > 1 ? ',' : ''}"items":[${parts.join(',')}]}`);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': String(data.length),
    'cache-control': 'no-cache, private',
  });
  res.end(data);
}

export function writeError(res: Res, e: unknown): void {
  const err = isApiError(e) ? e : errors.internal(e instanceof Error ? e.message : String(e), e);
  const headers: Record<string, string> = {};
  if (err.code === 401) headers['www-authenticate'] = 'Basic realm="kubernetes-master"';
  writeJSON(res, err.code, err.toStatus(), headers);
}

/** `Warning: 299 - "message"` headers as kube-apiserver sends them. */
export function warningHeaders(warnings: string[] | undefined): Record<string, string[]> {
  if (!warnings?.length) return {};
  return { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) };
}

/** A watch response: newline-delimited JSON events, flushed one by one. */
export function watchSink(req: Req, res: Res, contentType = 'application/json'): WatchSink {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache, private' });
  const closers: (() => void)[] = [];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const c of closers) c();
  };
  res.on('close', close);
  req.on('aborted', close);
  // HTTP/1.1: send headers now so clients see the 200 before the first event
  (res as { flushHeaders?: () => void }).flushHeaders?.();
  return {
    send(type, object) {
      if (closed) return;
      res.write(`{"type":${JSON.stringify(type)},"object":${jsonOf(object as object)}}\n`);
    },
    end() {
      if (!closed) res.end();
      close();
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
  };
}
