// HTTP helpers of the gateway apiserver: bounded body reading, content negotiation (JSON, Table,
// aggregated discovery), Status errors and newline-delimited watch streams.

import { parse as parseYaml } from 'yaml';
import { errors, toGatewayError } from './errors.ts';
import type { Req, Res } from './listener.ts';
import type { WatchSink } from './clustergateways.ts';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: Req, limit = MAX_BODY_BYTES): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? '0') > limit) throw errors.tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw errors.tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function decodeJsonOrYaml(buf: Buffer, contentType: string | undefined): unknown {
  const mt = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  const text = buf.toString('utf8');
  if (text.trim() === '') throw errors.badRequest('the body of the request was empty');
  if (mt === 'application/yaml') {
    try {
      return parseYaml(text, { maxAliasCount: 100 }) as unknown;
    } catch (e) {
      throw errors.badRequest(`error converting YAML to JSON: ${(e as Error).message.split('\n')[0] ?? ''}`, e);
    }
  }
  if (
    ![
      'application/json',
      'application/merge-patch+json',
      'application/json-patch+json',
      'application/strategic-merge-patch+json',
      '*/*',
    ].includes(mt)
  ) {
    throw errors.unsupportedMediaType(contentType ?? '');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw errors.badRequest(`json: ${(e as Error).message}`, e);
  }
}

export type As = '' | 'Table' | 'APIGroupDiscoveryList';

/** First acceptable representation in the Accept header, in order; protobuf-only clients get 406. */
export function negotiate(accept: string | undefined): As {
  if (!accept) return '';
  for (const entry of accept.split(',')) {
    const [type, ...params] = entry.split(';').map((s) => s.trim());
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') continue;
    const p = new Map(params.map((kv) => kv.split('=') as [string, string]));
    const as = p.get('as');
    if (as === undefined) return '';
    if (as === 'Table' && p.get('g') === 'meta.k8s.io' && (p.get('v') === 'v1' || p.get('v') === 'v1beta1'))
      return 'Table';
    if (as === 'APIGroupDiscoveryList' && p.get('g') === 'apidiscovery.k8s.io' && p.get('v') === 'v2')
      return 'APIGroupDiscoveryList';
  }
  throw errors.notAcceptable();
}

export function writeJSON(
  res: Res,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
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

export function writeError(res: Res, e: unknown): number {
  const err = toGatewayError(e);
  if (res.headersSent) {
    res.destroy();
    return err.code;
  }
  const headers: Record<string, string> = {};
  if (err.code === 401) headers['www-authenticate'] = 'Basic realm="kubernetes-master"';
  if (err.details?.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.details.retryAfterSeconds);
  writeJSON(res, err.code, err.toStatus(), headers);
  return err.code;
}

export function writeText(res: Res, code: number, text: string): void {
  res.writeHead(code, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/** A watch response: one JSON event per line, written as it happens. */
export function watchSink(req: Req, res: Res, contentType: string): WatchSink {
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache, private' });
  (res as { flushHeaders?: () => void }).flushHeaders?.();
  const closers: (() => void)[] = [];
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const c of closers) c();
  };
  res.on('close', close);
  req.on('aborted', close);
  return {
    send(type, object) {
      if (!closed) res.write(`${JSON.stringify({ type, object })}\n`);
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
