// A minimal HubAuthApi over undici for tests (and a template for the adapter around kube/'s
// HubClient): TokenReview, SubjectAccessReview and ConfigMap reads against a real apiserver, with
// call counters so tests can prove cache hits. Not used by production code.

import { Client } from 'undici';
import type {
  ConfigMapLike,
  HubAuthApi,
  SubjectAccessReviewResult,
  SubjectAccessReviewSpec,
  TokenReviewResult,
} from './types.ts';

export interface TestHubOptions {
  url: string;
  ca: string;
  /** client certificate (PEM) */
  cert?: string;
  key?: string;
  token?: string;
}

export class HubRequestError extends Error {
  readonly code: number;
  constructor(code: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HubRequestError';
    this.code = code;
  }
}

export interface CountingHubApi extends HubAuthApi {
  readonly calls: { tokenReviews: number; subjectAccessReviews: number; configMaps: number };
  /** make every call fail with this HTTP status (0 = transport failure) until cleared */
  failWith: number | undefined;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export function createTestHubApi(opts: TestHubOptions): CountingHubApi {
  const client = new Client(opts.url, {
    connect: { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: true },
  });
  const request = async (method: string, path: string, body?: unknown, signal?: AbortSignal) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let res;
    try {
      res = await client.request({
        method: method,
        path,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      throw new HubRequestError(0, `hub unreachable: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // keep text
    }
    return { status: res.statusCode, body: parsed };
  };
  const checked = async <T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> => {
    if (api.failWith !== undefined) throw new HubRequestError(api.failWith, `injected failure ${api.failWith}`);
    const r = await request(method, path, body, signal);
    if (r.status >= 300) {
      const msg = (r.body as { message?: string } | undefined)?.message ?? `HTTP ${r.status}`;
      throw new HubRequestError(r.status, msg);
    }
    return r.body as T;
  };
  const api: CountingHubApi = {
    calls: { tokenReviews: 0, subjectAccessReviews: 0, configMaps: 0 },
    failWith: undefined,
    async createTokenReview(token, audiences, signal): Promise<TokenReviewResult> {
      api.calls.tokenReviews++;
      const spec: { token: string; audiences?: string[] } = { token };
      if (audiences?.length) spec.audiences = audiences;
      return checked(
        'POST',
        '/apis/authentication.k8s.io/v1/tokenreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec },
        signal,
      );
    },
    async createSubjectAccessReview(spec: SubjectAccessReviewSpec, signal): Promise<SubjectAccessReviewResult> {
      api.calls.subjectAccessReviews++;
      return checked(
        'POST',
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
        signal,
      );
    },
    async getConfigMap(namespace, name, signal): Promise<ConfigMapLike | undefined> {
      api.calls.configMaps++;
      try {
        return await checked<ConfigMapLike>(
          'GET',
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`,
          undefined,
          signal,
        );
      } catch (e) {
        if (e instanceof HubRequestError && e.code === 404) return undefined;
        throw e;
      }
    },
    request: (method, path, body) => request(method, path, body),
    close: () => client.close(),
  };
  return api;
}
