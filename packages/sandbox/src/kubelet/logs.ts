// pods/log for sandbox containers. Every container "prints" one deterministic line per second since it
// started (`<RFC3339 time> <pod>/<container>: line <n>`), computed rather than stored, so logs cost no
// memory. Options behave as kube-apiserver + kubelet apply them: container selection and its errors,
// follow (streamed, flushed per line, ends with the container or the client), tailLines, sinceSeconds,
// sinceTime, timestamps (RFC3339Nano prefix), limitBytes and previous.

import type { KubeObject } from '../api/types.ts';
import { ApiError, errors } from '../errors/status.ts';
import type { RequestContext } from '../server/cluster.ts';
import type { Req, Res } from '../server/listener.ts';
import type { Kubelet, ContainerRuntime } from './kubelet.ts';
import { podSpec, rfc3339 } from './pod-status.ts';

export interface LogOptions {
  container: string | undefined;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines: number | undefined;
  sinceSeconds: number | undefined;
  /** epoch ms */
  sinceTime: number | undefined;
  limitBytes: number | undefined;
}

/** The n-th (1-based) line a container prints, and when. */
export function logLine(
  c: { podName: string; containerName: string; startedMs: number },
  n: number,
  intervalMs: number,
): { ms: number; text: string } {
  const ms = c.startedMs + (n - 1) * intervalMs;
  return { ms, text: `${rfc3339(ms)} ${c.podName}/${c.containerName}: line ${n}\n` };
}

/** The kubelet's timestamp prefix format: RFC 3339 with exactly nine fractional digits. */
export function rfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

/** Go's strconv.ParseBool. */
export function parseBool(name: string, v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw errors.badRequest(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

function parseInt64(v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (!Number.isSafeInteger(n))
    throw errors.badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  return n;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function invalidLogOptions(name: string, field: string, message: string): ApiError {
  const body = field ? `${field}: ${message}` : `: ${message}`;
  return new ApiError(422, 'Invalid', `PodLogOptions "${name}" is invalid: ${body}`, {
    name,
    group: '',
    kind: 'PodLogOptions',
    causes: [{ type: message.startsWith('Forbidden') ? 'FieldValueForbidden' : 'FieldValueInvalid', message, field }],
  });
}

/** Decode and validate PodLogOptions from the query (400 for undecodable values, 422 for invalid ones). */
export function parseLogOptions(q: URLSearchParams, name: string): LogOptions {
  const bool = (k: string): boolean => {
    const v = q.get(k);
    return v === null ? false : parseBool(k, v);
  };
  const int = (k: string): number | undefined => {
    const v = q.get(k);
    return v === null ? undefined : parseInt64(v);
  };
  let sinceTime: number | undefined;
  const st = q.get('sinceTime');
  if (st !== null) {
    const ms = RFC3339.test(st) ? Date.parse(st) : NaN;
    if (!Number.isFinite(ms))
      throw errors.badRequest(
        `parsing time ${JSON.stringify(st)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(st)} as "2006"`,
      );
    sinceTime = ms;
  }
  const opts: LogOptions = {
    container: q.get('container') ?? undefined,
    follow: bool('follow'),
    previous: bool('previous'),
    timestamps: bool('timestamps'),
    tailLines: int('tailLines'),
    sinceSeconds: int('sinceSeconds'),
    sinceTime,
    limitBytes: int('limitBytes'),
  };
  if (opts.container === '') opts.container = undefined;
  if (opts.tailLines !== undefined && opts.tailLines < 0)
    throw invalidLogOptions(name, 'tailLines', `Invalid value: ${opts.tailLines}: must be greater than or equal to 0`);
  if (opts.limitBytes !== undefined && opts.limitBytes < 1)
    throw invalidLogOptions(name, 'limitBytes', `Invalid value: ${opts.limitBytes}: must be greater than 0`);
  if (opts.sinceSeconds !== undefined && opts.sinceTime !== undefined)
    throw invalidLogOptions(name, '', 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified');
  if (opts.sinceSeconds !== undefined && opts.sinceSeconds < 1)
    throw invalidLogOptions(name, 'sinceSeconds', `Invalid value: ${opts.sinceSeconds}: must be greater than 0`);
  return opts;
}

function names(cs: { name: string }[] | undefined): string[] {
  return (cs ?? []).map((c) => c.name);
}

/**
 * The container a log/exec/attach request addresses, validated as kube-apiserver does: defaulted when
 * the pod has exactly one container, otherwise it must be named and exist.
 */
export function selectContainer(pod: KubeObject, container: string | undefined): string {
  const spec = pod.spec as
    | { containers?: { name: string }[]; initContainers?: { name: string }[]; ephemeralContainers?: { name: string }[] }
    | undefined;
  const name = pod.metadata.name ?? '';
  const all = [...names(spec?.initContainers), ...names(spec?.containers), ...names(spec?.ephemeralContainers)];
  if (!container) {
    const cs = names(spec?.containers);
    if (cs.length === 1) return cs[0]!;
    if (cs.length === 0) throw errors.badRequest(`a container name must be specified for pod ${name}`);
    throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.join(' ')}]`);
  }
  if (!all.includes(container)) throw errors.badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

export function handleLogs(k: Kubelet, ctx: RequestContext, req: Req, res: Res): boolean {
  const ri = ctx.info;
  if (
    !ri.isResourceRequest ||
    ri.apiGroup !== '' ||
    ri.apiVersion !== 'v1' ||
    ri.resource !== 'pods' ||
    ri.subresource !== 'log' ||
    !ri.name
  )
    return false;
  if (req.method !== 'GET' && req.method !== 'HEAD')
    throw errors.methodNotAllowed('the server does not allow this method on the requested resource');
  const opts = parseLogOptions(ctx.url.searchParams, ri.name);
  const pod = k.cluster.store.get('pods', ri.namespace, ri.name);
  if (!pod) throw errors.notFound({ group: '', resource: 'pods' }, ri.name);
  const cname = selectContainer(pod, opts.container);
  const spec = podSpec(pod);
  // not scheduled yet: kube-apiserver has no kubelet to ask and answers with an empty body
  if (!spec.nodeName || spec.nodeName !== k.nodeName) {
    writeHead(res);
    res.end();
    return true;
  }
  if (opts.previous) throw errors.badRequest(`previous terminated container "${cname}" in pod "${ri.name}" not found`);
  const isInit = names(spec.initContainers).includes(cname);
  const rt = k.runtime(pod);
  const c = rt?.running ? rt.containers.get(cname) : undefined;
  if (!c || !rt) {
    if (isInit && rt?.running) {
      // init containers completed before the app containers started and printed nothing
      writeHead(res);
      res.end();
      return true;
    }
    throw errors.badRequest(`container "${cname}" in pod "${ri.name}" is waiting to start: ContainerCreating`);
  }
  streamLogs(c, () => rt.stoppedMs, rt.stop.signal, opts, k.logIntervalMs, res);
  return true;
}

function writeHead(res: Res): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
}

/** Write the selected lines; with follow, keep writing each new line as it is produced. */
export function streamLogs(
  c: ContainerRuntime,
  stoppedAt: () => number | undefined,
  stopped: AbortSignal,
  opts: LogOptions,
  interval: number,
  res: Res,
): void {
  writeHead(res);
  (res as { flushHeaders?: () => void }).flushHeaders?.();
  let bytes = 0;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const produced = (): number => {
    const end = stoppedAt() ?? Date.now();
    return end < c.startedMs ? 0 : Math.floor((end - c.startedMs) / interval) + 1;
  };
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    stopped.removeEventListener('abort', onStop);
    if (!res.writableEnded) res.end();
  };
  const emit = (n: number): void => {
    if (done) return;
    const l = logLine(c, n, interval);
    let data = Buffer.from(opts.timestamps ? `${rfc3339Nano(l.ms)} ${l.text}` : l.text);
    if (opts.limitBytes !== undefined && bytes + data.length >= opts.limitBytes) {
      data = data.subarray(0, opts.limitBytes - bytes);
      if (data.length) res.write(data);
      finish();
      return;
    }
    bytes += data.length;
    res.write(data);
  };
  const count = produced();
  let next = 1;
  if (opts.tailLines !== undefined) next = Math.max(1, count - opts.tailLines + 1);
  const since = opts.sinceTime ?? (opts.sinceSeconds !== undefined ? Date.now() - opts.sinceSeconds * 1000 : undefined);
  if (since !== undefined) next = Math.max(next, Math.ceil((since - c.startedMs) / interval) + 1);
  const catchUp = (): void => {
    const upTo = produced();
    for (; next <= upTo && !done; next++) emit(next);
  };
  catchUp();
  if (!opts.follow || stoppedAt() !== undefined || done) {
    finish();
    return;
  }
  const schedule = (): void => {
    const due = c.startedMs + (next - 1) * interval;
    timer = setTimeout(
      () => {
        catchUp();
        if (!done) schedule();
      },
      Math.max(1, due - Date.now() + 1),
    );
  };
  function onStop(): void {
    catchUp();
    finish();
  }
  stopped.addEventListener('abort', onStop, { once: true });
  // the response's close is the client going away (a request's close only means its body was read)
  res.on('close', finish);
  schedule();
}
