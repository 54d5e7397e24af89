// The sandbox's OpenAPI endpoints, built from the currently served ResourceInfo set the way
// kube-apiserver publishes them: `/openapi/v2` (Swagger 2.0, one document) and `/openapi/v3` (an index
// of per-group-version OpenAPI 3.0 documents addressed by content hash). kubectl reads these for
// `explain`, for strategic-merge patch metadata in `apply`, and to decide whether the server supports
// `fieldValidation` (it looks for that query parameter on the PATCH operation of the kind's path).

import { createHash } from 'node:crypto';
import type { ResourceInfo } from '../api/types.ts';
import {
  allDefinitions,
  definitionNameFor,
  listDefinitionNameFor,
  referencedDefinitions,
  schemaForKind,
  v3Definition,
  type JsonSchema,
  type SchemaLookup,
} from './schemas.ts';
import { encodeOpenApiV2Protobuf } from './v2-protobuf.ts';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const STATUS = `${META}.Status`;
const DELETE_OPTIONS = `${META}.DeleteOptions`;
const WATCH_EVENT = `${META}.WatchEvent`;
const PATCH = `${META}.Patch`;
const API_RESOURCE_LIST = `${META}.APIResourceList`;
const API_GROUP = `${META}.APIGroup`;
const API_GROUP_LIST = `${META}.APIGroupList`;
const API_VERSIONS = `${META}.APIVersions`;
const VERSION_INFO = 'io.k8s.apimachinery.pkg.version.Info';

const SERIALIZED = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const STREAMING = [...SERIALIZED, 'application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch'];
const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];
const CRD_PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

// ---- parameters (query/path), shared by both renderings ----------------------------------------

interface Param {
  name: string;
  in: 'query' | 'path';
  description: string;
  type: 'string' | 'boolean' | 'integer';
  required?: boolean;
}

const q = (name: string, type: Param['type'], description: string): Param => ({ name, in: 'query', type, description });

const P = {
  pretty: q(
    'pretty',
    'string',
    "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
  ),
  dryRun: q(
    'dryRun',
    'string',
    'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed',
  ),
  fieldManager: q(
    'fieldManager',
    'string',
    'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.',
  ),
  fieldManagerPatch: q(
    'fieldManager',
    'string',
    'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint. This field is required for apply requests (application/apply-patch) but optional for non-apply patch types (JsonPatch, MergePatch, StrategicMergePatch).',
  ),
  fieldValidation: q(
    'fieldValidation',
    'string',
    'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.',
  ),
  force: q(
    'force',
    'boolean',
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.',
  ),
  allowWatchBookmarks: q(
    'allowWatchBookmarks',
    'boolean',
    'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.',
  ),
  continue: q(
    'continue',
    'string',
    'The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize. If the specified continue value is no longer valid whether due to expiration (generally five to fifteen minutes) or a configuration change on the server, the server will respond with a 410 ResourceExpired error together with a continue token.',
  ),
  fieldSelector: q(
    'fieldSelector',
    'string',
    'A selector to restrict the list of returned objects by their fields. Defaults to everything.',
  ),
  labelSelector: q(
    'labelSelector',
    'string',
    'A selector to restrict the list of returned objects by their labels. Defaults to everything.',
  ),
  limit: q(
    'limit',
    'integer',
    'limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.',
  ),
  resourceVersion: q(
    'resourceVersion',
    'string',
    'resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset',
  ),
  resourceVersionMatch: q(
    'resourceVersionMatch',
    'string',
    'resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset',
  ),
  sendInitialEvents: q(
    'sendInitialEvents',
    'boolean',
    '`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic "Bookmark" event  will be sent.',
  ),
  timeoutSeconds: q(
    'timeoutSeconds',
    'integer',
    'Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.',
  ),
  watch: q(
    'watch',
    'boolean',
    'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.',
  ),
  gracePeriodSeconds: q(
    'gracePeriodSeconds',
    'integer',
    'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.',
  ),
  ignoreStoreReadError: q(
    'ignoreStoreReadErrorWithClusterBreakingPotential',
    'boolean',
    'if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error. A resource is considered corrupt if it can not be retrieved from the underlying storage successfully because of a) its data can not be transformed e.g. decryption failure, or b) it fails to decode into an object. NOTE: unsafe deletion ignores finalizer constraints, skips precondition checks, and removes the object from the storage. WARNING: This may potentially break the cluster if the workload associated with the resource being unsafe-deleted relies on normal deletion flow. Use only if you REALLY know what you are doing. The default value is false, and the user must opt in to enable it',
  ),
  orphanDependents: q(
    'orphanDependents',
    'boolean',
    'Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the "orphan" finalizer will be added to/removed from the object\'s finalizers list. Either this field or PropagationPolicy may be set, but not both.',
  ),
  propagationPolicy: q(
    'propagationPolicy',
    'string',
    "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
  ),
};

const LIST_PARAMS = [
  P.allowWatchBookmarks,
  P.continue,
  P.fieldSelector,
  P.labelSelector,
  P.limit,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
  P.watch,
];
const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const PATCH_PARAMS = [P.dryRun, P.fieldManagerPatch, P.fieldValidation, P.force];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.ignoreStoreReadError, P.orphanDependents, P.propagationPolicy];
const DELETE_COLLECTION_PARAMS = [
  P.continue,
  P.dryRun,
  P.fieldSelector,
  P.gracePeriodSeconds,
  P.ignoreStoreReadError,
  P.labelSelector,
  P.limit,
  P.orphanDependents,
  P.propagationPolicy,
  P.resourceVersion,
  P.resourceVersionMatch,
  P.sendInitialEvents,
  P.timeoutSeconds,
];
const LOG_PARAMS = [
  q(
    'container',
    'string',
    'The container for which to stream logs. Defaults to only container if there is one container in the pod.',
  ),
  q('follow', 'boolean', 'Follow the log stream of the pod. Defaults to false.'),
  q(
    'insecureSkipTLSVerifyBackend',
    'boolean',
    "insecureSkipTLSVerifyBackend indicates that the apiserver should not confirm the validity of the serving certificate of the backend it is connecting to.  This will make the HTTPS connection between the apiserver and the backend insecure. This means the apiserver cannot verify the log data it is receiving came from the real kubelet.  If the kubelet is configured to verify the apiserver's TLS credentials, it does not mean the connection to the real kubelet is vulnerable to a man in the middle attack (e.g. an attacker could not intercept the actual log data coming from the real kubelet).",
  ),
  q(
    'limitBytes',
    'integer',
    'If set, the number of bytes to read from the server before terminating the log output. This may not display a complete final line of logging, and may return slightly more or slightly less than the specified limit.',
  ),
  q('previous', 'boolean', 'Return previous terminated container logs. Defaults to false.'),
  q(
    'sinceSeconds',
    'integer',
    'A relative time in seconds before the current time from which to show logs. If this value precedes the time a pod was started, only logs since the pod start will be returned. If this value is in the future, no logs will be returned. Only one of sinceSeconds or sinceTime may be specified.',
  ),
  q(
    'stream',
    'string',
    'Specify which container log stream to return to the client. Acceptable values are "All", "Stdout" and "Stderr". If not specified, "All" is used, and both stdout and stderr are returned interleaved. Note that when "TailLines" is specified, "Stream" can only be set to nil or "All".',
  ),
  q(
    'tailLines',
    'integer',
    'If set, the number of lines from the end of the logs to show. If not specified, logs are shown from the creation of the container or sinceSeconds or sinceTime. Note that when "TailLines" is specified, "Stream" can only be set to nil or "All".',
  ),
  q(
    'timestamps',
    'boolean',
    'If true, add an RFC3339 or RFC3339Nano timestamp at the beginning of every line of log output. Defaults to false.',
  ),
];
const EXEC_PARAMS = [
  q('command', 'string', 'Command is the remote command to execute. argv array. Not executed within a shell.'),
  q(
    'container',
    'string',
    'Container in which to execute the command. Defaults to only container if there is only one container in the pod.',
  ),
  q('stderr', 'boolean', 'Redirect the standard error stream of the pod for this call.'),
  q('stdin', 'boolean', 'Redirect the standard input stream of the pod for this call. Defaults to false.'),
  q('stdout', 'boolean', 'Redirect the standard output stream of the pod for this call.'),
  q('tty', 'boolean', 'TTY if true indicates that a tty will be allocated for the exec call. Defaults to false.'),
];
const ATTACH_PARAMS = EXEC_PARAMS.filter((p) => p.name !== 'command');
const PORTFORWARD_PARAMS = [q('ports', 'integer', 'List of ports to forward Required when using WebSockets')];

function pathParam(name: string, description: string): Param {
  return { name, in: 'path', type: 'string', required: true, description };
}

// ---- operation model ---------------------------------------------------------------------------

type Method = 'get' | 'put' | 'post' | 'delete' | 'patch' | 'head' | 'options';

interface Operation {
  operationId: string;
  /** OpenAPI tag: the group-version the path lives in (`core_v1`, `apps_v1`) */
  tag: string;
  description: string;
  action: string;
  gvk: { group: string; version: string; kind: string };
  params: Param[];
  /** definition name of the request body; `Patch` bodies use PATCH_TYPES */
  body?: string;
  consumes: string[];
  produces: string[];
  /** status code → definition name, or 'string' for a raw string response */
  responses: Record<string, string>;
}

interface PathItem {
  params: Param[];
  ops: Partial<Record<Method, Operation>>;
}

/** operationId's group-version part: `CoreV1`, `AppsV1`, `RbacAuthorizationV1`, `ClusterOpenClusterManagementIoV1`. */
export function groupVersionId(group: string, version: string): string {
  const g = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '');
  const gid = g
    .split(/[.-]/)
    .filter(Boolean)
    .map((s) => s[0]!.toUpperCase() + s.slice(1))
    .join('');
  return gid + cap(version);
}

function tag(group: string, version: string): string {
  const g = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '');
  const camel = g.split(/[.-]/).map((s, i) => (i === 0 ? s : s[0]!.toUpperCase() + s.slice(1)));
  return version ? `${camel.join('')}_${version}` : camel.join('');
}

export function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

const SUBRESOURCE_KIND: Record<string, { group: string; version: string; kind: string; def: string } | undefined> = {
  scale: { group: 'autoscaling', version: 'v1', kind: 'Scale', def: 'io.k8s.api.autoscaling.v1.Scale' },
  binding: { group: '', version: 'v1', kind: 'Binding', def: 'io.k8s.api.core.v1.Binding' },
  eviction: { group: 'policy', version: 'v1', kind: 'Eviction', def: 'io.k8s.api.policy.v1.Eviction' },
  token: {
    group: 'authentication.k8s.io',
    version: 'v1',
    kind: 'TokenRequest',
    def: 'io.k8s.api.authentication.v1.TokenRequest',
  },
};

function article(kind: string): string {
  return /^[AEIOU]/.test(kind) ? 'an' : 'a';
}

function cap(s: string): string {
  return s ? s[0]!.toUpperCase() + s.slice(1) : s;
}

/** All paths kube-apiserver would install for one served resource. */
function resourcePaths(r: ResourceInfo): Map<string, PathItem> {
  const paths = new Map<string, PathItem>();
  const gv = groupVersionId(r.group, r.version);
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const def = definitionNameFor(r);
  const listDef = listDefinitionNameFor(r);
  const ns = r.namespaced ? 'Namespaced' : '';
  const base = `/${gvPath(r.group, r.version)}`;
  const coll = r.namespaced ? `${base}/namespaces/{namespace}/${r.resource}` : `${base}/${r.resource}`;
  const item = `${coll}/{name}`;
  const nsParam = pathParam('namespace', 'object name and auth scope, such as for teams and projects');
  const scope = r.namespaced ? [nsParam] : [];
  const nameParam = (kind: string): Param => pathParam('name', `name of the ${kind}`);
  const verbs = new Set(r.verbs);
  const patchTypes = r.crd ? CRD_PATCH_TYPES : PATCH_TYPES;
  const opTag = tag(r.group, r.version);
  const add = (path: string, params: Param[], method: Method, op: Omit<Operation, 'tag'>): void => {
    let p = paths.get(path);
    if (!p) {
      p = { params, ops: {} };
      paths.set(path, p);
    }
    p.ops[method] = { ...op, tag: opTag };
  };
  const ok = (d: string): Record<string, string> => ({ '200': d, '401': '' });
  const created = (d: string): Record<string, string> => ({ '200': d, '201': d, '202': d, '401': '' });

  if (verbs.has('list')) {
    add(coll, [...scope, P.pretty], 'get', {
      operationId: `list${gv}${ns}${r.kind}`,
      description: `list or watch objects of kind ${r.kind}`,
      action: 'list',
      gvk,
      params: LIST_PARAMS,
      consumes: ['*/*'],
      produces: STREAMING,
      responses: ok(listDef),
    });
    if (r.namespaced) {
      add(`${base}/${r.resource}`, [...LIST_PARAMS, P.pretty], 'get', {
        operationId: `list${gv}${r.kind}ForAllNamespaces`,
        description: `list or watch objects of kind ${r.kind}`,
        action: 'list',
        gvk,
        params: [],
        consumes: ['*/*'],
        produces: STREAMING,
        responses: ok(listDef),
      });
    }
  }
  if (verbs.has('create')) {
    add(coll, [...scope, P.pretty], 'post', {
      operationId: `create${gv}${ns}${r.kind}`,
      description: `create ${article(r.kind)} ${r.kind}`,
      action: 'post',
      gvk,
      params: WRITE_PARAMS,
      body: def,
      consumes: ['*/*'],
      produces: SERIALIZED,
      responses: created(def),
    });
  }
  if (verbs.has('deletecollection')) {
    add(coll, [...scope, P.pretty], 'delete', {
      operationId: `delete${gv}Collection${ns}${r.kind}`,
      description: `delete collection of ${r.kind}`,
      action: 'deletecollection',
      gvk,
      params: DELETE_COLLECTION_PARAMS,
      body: DELETE_OPTIONS,
      consumes: ['*/*'],
      produces: SERIALIZED,
      responses: ok(STATUS),
    });
  }
  const itemParams = [nameParam(r.kind), ...scope, P.pretty];
  if (verbs.has('get')) {
    add(item, itemParams, 'get', {
      operationId: `read${gv}${ns}${r.kind}`,
      description: `read the specified ${r.kind}`,
      action: 'get',
      gvk,
      params: [],
      consumes: ['*/*'],
      produces: SERIALIZED,
      responses: ok(def),
    });
  }
  if (verbs.has('update')) {
    add(item, itemParams, 'put', {
      operationId: `replace${gv}${ns}${r.kind}`,
      description: `replace the specified ${r.kind}`,
      action: 'put',
      gvk,
      params: WRITE_PARAMS,
      body: def,
      consumes: ['*/*'],
      produces: SERIALIZED,
      responses: { '200': def, '201': def, '401': '' },
    });
  }
  if (verbs.has('patch')) {
    add(item, itemParams, 'patch', {
      operationId: `patch${gv}${ns}${r.kind}`,
      description: `partially update the specified ${r.kind}`,
      action: 'patch',
      gvk,
      params: PATCH_PARAMS,
      body: PATCH,
      consumes: patchTypes,
      produces: SERIALIZED,
      responses: { '200': def, '201': def, '401': '' },
    });
  }
  if (verbs.has('delete')) {
    add(item, itemParams, 'delete', {
      operationId: `delete${gv}${ns}${r.kind}`,
      description: `delete ${article(r.kind)} ${r.kind}`,
      action: 'delete',
      gvk,
      params: DELETE_PARAMS,
      body: DELETE_OPTIONS,
      consumes: ['*/*'],
      produces: SERIALIZED,
      responses: { '200': STATUS, '202': STATUS, '401': '' },
    });
  }
  if (verbs.has('watch')) {
    const watchBase = r.namespaced
      ? `${base}/watch/namespaces/{namespace}/${r.resource}`
      : `${base}/watch/${r.resource}`;
    add(watchBase, [...LIST_PARAMS, ...scope, P.pretty], 'get', {
      operationId: `watch${gv}${ns}${r.kind}List`,
      description: `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`,
      action: 'watchlist',
      gvk,
      params: [],
      consumes: ['*/*'],
      produces: STREAMING,
      responses: ok(WATCH_EVENT),
    });
    add(`${watchBase}/{name}`, [...LIST_PARAMS, nameParam(r.kind), ...scope, P.pretty], 'get', {
      operationId: `watch${gv}${ns}${r.kind}`,
      description: `watch changes to an object of kind ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter.`,
      action: 'watch',
      gvk,
      params: [],
      consumes: ['*/*'],
      produces: STREAMING,
      responses: ok(WATCH_EVENT),
    });
    if (r.namespaced) {
      add(`${base}/watch/${r.resource}`, [...LIST_PARAMS, P.pretty], 'get', {
        operationId: `watch${gv}${r.kind}ListForAllNamespaces`,
        description: `watch individual changes to a list of ${r.kind}. deprecated: use the 'watch' parameter with a list operation instead.`,
        action: 'watchlist',
        gvk,
        params: [],
        consumes: ['*/*'],
        produces: STREAMING,
        responses: ok(WATCH_EVENT),
      });
    }
  }

  for (const sub of r.subresources) {
    const subPath = `${item}/${sub}`;
    const S = cap(sub);
    switch (sub) {
      case 'status':
      case 'ephemeralcontainers':
      case 'scale': {
        const k = sub === 'scale' ? SUBRESOURCE_KIND.scale! : { ...gvk, def };
        const subGvk = { group: k.group, version: k.version, kind: k.kind };
        const params = [pathParam('name', `name of the ${k.kind}`), ...scope, P.pretty];
        add(subPath, params, 'get', {
          operationId: `read${gv}${ns}${r.kind}${S}`,
          description: `read ${sub} of the specified ${r.kind}`,
          action: 'get',
          gvk: subGvk,
          params: [],
          consumes: ['*/*'],
          produces: SERIALIZED,
          responses: ok(k.def),
        });
        add(subPath, params, 'put', {
          operationId: `replace${gv}${ns}${r.kind}${S}`,
          description: `replace ${sub} of the specified ${r.kind}`,
          action: 'put',
          gvk: subGvk,
          params: WRITE_PARAMS,
          body: k.def,
          consumes: ['*/*'],
          produces: SERIALIZED,
          responses: { '200': k.def, '201': k.def, '401': '' },
        });
        add(subPath, params, 'patch', {
          operationId: `patch${gv}${ns}${r.kind}${S}`,
          description: `partially update ${sub} of the specified ${r.kind}`,
          action: 'patch',
          gvk: subGvk,
          params: PATCH_PARAMS,
          body: PATCH,
          consumes: patchTypes,
          produces: SERIALIZED,
          responses: { '200': k.def, '201': k.def, '401': '' },
        });
        break;
      }
      case 'finalize': {
        add(subPath, [...WRITE_PARAMS, pathParam('name', `name of the ${r.kind}`), ...scope, P.pretty], 'put', {
          operationId: `replace${gv}${ns}${r.kind}Finalize`,
          description: `replace finalize of the specified ${r.kind}`,
          action: 'put',
          gvk,
          params: [],
          body: def,
          consumes: ['*/*'],
          produces: SERIALIZED,
          responses: { '200': def, '201': def, '401': '' },
        });
        break;
      }
      case 'binding':
      case 'eviction':
      case 'token': {
        const k = SUBRESOURCE_KIND[sub]!;
        add(subPath, [...WRITE_PARAMS, pathParam('name', `name of the ${k.kind}`), ...scope, P.pretty], 'post', {
          operationId: `create${gv}${ns}${r.kind}${S}`,
          description: `create ${sub} of ${article(r.kind)} ${r.kind}`,
          action: 'post',
          gvk: { group: k.group, version: k.version, kind: k.kind },
          params: [],
          body: k.def,
          consumes: ['*/*'],
          produces: SERIALIZED,
          responses: created(k.def),
        });
        break;
      }
      case 'log': {
        add(subPath, [...LOG_PARAMS, pathParam('name', `name of the ${r.kind}`), ...scope, P.pretty], 'get', {
          operationId: `read${gv}${ns}${r.kind}Log`,
          description: `read log of the specified ${r.kind}`,
          action: 'get',
          gvk,
          params: [],
          consumes: ['*/*'],
          produces: ['text/plain', 'application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'],
          responses: { '200': 'string', '401': '' },
        });
        break;
      }
      case 'exec':
      case 'attach':
      case 'portforward': {
        const optionsKind = `${r.kind}${sub === 'portforward' ? 'PortForward' : S}Options`;
        const qp = sub === 'exec' ? EXEC_PARAMS : sub === 'attach' ? ATTACH_PARAMS : PORTFORWARD_PARAMS;
        for (const m of ['get', 'post'] as const) {
          add(subPath, [...qp, pathParam('name', `name of the ${optionsKind}`), ...scope], m, {
            operationId: `connect${gv}${cap(m)}${ns}${r.kind}${sub === 'portforward' ? 'Portforward' : S}`,
            description: `connect ${m.toUpperCase()} requests to ${sub} of ${r.kind}`,
            action: 'connect',
            gvk: { group: r.group, version: r.version, kind: optionsKind },
            params: [],
            consumes: ['*/*'],
            produces: ['*/*'],
            responses: { '200': 'string', '401': '' },
          });
        }
        break;
      }
      case 'proxy': {
        const optionsKind = `${r.kind}ProxyOptions`;
        const pathQ = q(
          'path',
          'string',
          `Path is the URL path to use for the current proxy request to ${r.resource === 'nodes' ? 'node' : r.resource === 'services' ? 'service' : 'pod'}.`,
        );
        for (const [p, extra, suffix] of [
          [subPath, [pathQ], ''],
          [`${subPath}/{path}`, [pathParam('path', 'path to the resource')], 'WithPath'],
        ] as const) {
          for (const m of ['delete', 'get', 'head', 'options', 'patch', 'post', 'put'] as const) {
            add(p, [pathParam('name', `name of the ${optionsKind}`), ...scope, ...extra], m, {
              operationId: `connect${gv}${cap(m)}${ns}${r.kind}Proxy${suffix}`,
              description: `connect ${m.toUpperCase()} requests to proxy of ${r.kind}`,
              action: 'connect',
              gvk: { group: r.group, version: r.version, kind: optionsKind },
              params: [],
              consumes: ['*/*'],
              produces: ['*/*'],
              responses: { '200': 'string', '401': '' },
            });
          }
        }
        break;
      }
      default:
        // an unknown subresource: publish nothing rather than guess its shape
        break;
    }
  }
  return paths;
}

// ---- rendering -------------------------------------------------------------------------------------

function v2Param(p: Param): JsonSchema {
  const out: JsonSchema = { description: p.description, in: p.in, name: p.name };
  if (p.required) out.required = true;
  out.type = p.type;
  out.uniqueItems = true;
  return out;
}

function v3Param(p: Param): JsonSchema {
  const out: JsonSchema = { name: p.name, in: p.in, description: p.description };
  if (p.required) out.required = true;
  out.schema = { type: p.type, uniqueItems: true };
  return out;
}

function v2Operation(op: Operation): JsonSchema {
  const params: JsonSchema[] = [];
  if (op.body) params.push({ in: 'body', name: 'body', required: true, schema: { $ref: `#/definitions/${op.body}` } });
  params.push(...op.params.map(v2Param));
  const responses: JsonSchema = {};
  for (const [code, d] of Object.entries(op.responses)) {
    if (code === '401') responses[code] = { description: 'Unauthorized' };
    else
      responses[code] = {
        description: code === '200' ? 'OK' : code === '201' ? 'Created' : 'Accepted',
        schema: d === 'string' ? { type: 'string' } : { $ref: `#/definitions/${d}` },
      };
  }
  const out: JsonSchema = { consumes: op.consumes, description: op.description, operationId: op.operationId };
  if (params.length) out.parameters = params;
  Object.assign(out, {
    produces: op.produces,
    responses,
    schemes: ['https'],
    tags: [op.tag],
    'x-kubernetes-action': op.action,
    'x-kubernetes-group-version-kind': op.gvk,
  });
  return out;
}

function v3Operation(op: Operation): JsonSchema {
  const out: JsonSchema = { tags: [op.tag], description: op.description, operationId: op.operationId };
  if (op.params.length) out.parameters = op.params.map(v3Param);
  if (op.body) {
    const types = op.body === PATCH ? op.consumes : ['*/*'];
    out.requestBody = {
      content: Object.fromEntries(types.map((t) => [t, { schema: { $ref: `#/components/schemas/${op.body!}` } }])),
      required: true,
    };
  }
  const responses: JsonSchema = {};
  for (const [code, d] of Object.entries(op.responses)) {
    if (code === '401') {
      responses[code] = { description: 'Unauthorized' };
      continue;
    }
    const schema = d === 'string' ? { type: 'string' } : { $ref: `#/components/schemas/${d}` };
    responses[code] = {
      description: code === '200' ? 'OK' : code === '201' ? 'Created' : 'Accepted',
      content: Object.fromEntries(op.produces.map((t) => [t, { schema }])),
    };
  }
  out.responses = responses;
  out['x-kubernetes-action'] = op.action;
  out['x-kubernetes-group-version-kind'] = op.gvk;
  return out;
}

const METHOD_ORDER: Method[] = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

function sortedEntries<T>(m: Map<string, T>): [string, T][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function groupPaths(resources: readonly ResourceInfo[]): Map<string, Map<string, PathItem>> {
  const byGv = new Map<string, Map<string, PathItem>>();
  for (const r of resources) {
    const key = gvPath(r.group, r.version);
    let m = byGv.get(key);
    if (!m) {
      m = new Map();
      byGv.set(key, m);
    }
    for (const [p, item] of resourcePaths(r)) {
      const existing = m.get(p);
      if (existing) Object.assign(existing.ops, item.ops);
      else m.set(p, item);
    }
  }
  return byGv;
}

function discoveryPath(
  path: string,
  op: string,
  def: string,
  description: string,
  tagName: string,
): [string, PathItem] {
  const get: Operation = {
    operationId: op,
    tag: tagName,
    description,
    action: '',
    gvk: { group: '', version: '', kind: '' },
    params: [],
    consumes: SERIALIZED,
    produces: SERIALIZED,
    responses: { '200': def, '401': '' },
  };
  return [path, { params: [], ops: { get } }];
}

const INFO = { title: 'Kubernetes', version: 'v1.32.0' };
const SECURITY_V2 = {
  BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' },
};
const SECURITY_V3 = {
  BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' },
};

/** `/openapi/v2`: one Swagger 2.0 document of everything served. */
export function buildV2(resources: readonly ResourceInfo[]): JsonSchema {
  const definitions = allDefinitions(resources);
  const paths: Record<string, JsonSchema> = {};
  const all = new Map<string, PathItem>();
  for (const [, m] of groupPaths(resources)) for (const [p, item] of m) all.set(p, item);
  for (const [p, item] of discoveryEntries(resources)) all.set(p, item);
  for (const [p, item] of sortedEntries(all)) {
    const o: JsonSchema = {};
    for (const m of METHOD_ORDER) {
      const op = item.ops[m];
      if (!op) continue;
      const rendered = v2Operation(op);
      if (!op.action) {
        delete rendered['x-kubernetes-action'];
        delete rendered['x-kubernetes-group-version-kind'];
      }
      o[m] = rendered;
    }
    if (item.params.length) o.parameters = item.params.map(v2Param);
    paths[p] = o;
  }
  return {
    definitions: sortObject(definitions),
    info: INFO,
    paths,
    security: [{ BearerToken: [] }],
    securityDefinitions: SECURITY_V2,
    swagger: '2.0',
  };
}

function discoveryEntries(resources: readonly ResourceInfo[]): [string, PathItem][] {
  const out: [string, PathItem][] = [
    discoveryPath('/api/', 'getCoreAPIVersions', API_VERSIONS, 'get available API versions', 'core'),
    discoveryPath('/apis/', 'getAPIVersions', API_GROUP_LIST, 'get available API versions', 'apis'),
    discoveryPath(
      '/version/',
      'getCodeVersion',
      VERSION_INFO,
      'get the version information for this server',
      'version',
    ),
  ];
  const groups = new Set<string>();
  const gvs = new Set<string>();
  for (const r of resources) {
    if (r.group) groups.add(r.group);
    gvs.add(`${r.group}/${r.version}`);
  }
  for (const g of groups) {
    out.push(
      discoveryPath(
        `/apis/${g}/`,
        `get${groupVersionId(g, '')}APIGroup`,
        API_GROUP,
        'get information of a group',
        tag(g, ''),
      ),
    );
  }
  for (const key of gvs) {
    const [g, v] = key.split('/') as [string, string];
    out.push(
      discoveryPath(
        `/${gvPath(g, v)}/`,
        `get${groupVersionId(g, v)}APIResources`,
        API_RESOURCE_LIST,
        'get available resources',
        tag(g, v),
      ),
    );
  }
  return out;
}

function sortObject<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** One OpenAPI 3.0 document for a `/openapi/v3/<gvPath>` entry (`api/v1`, `apis/apps/v1`, `apis`, `api`, `apis/apps`, `version`). */
/** Work shared by all v3 documents of one resource set (built once per set by OpenApiService). */
export interface V3Context {
  definitions: Record<string, JsonSchema>;
  byGv: Map<string, Map<string, PathItem>>;
  v3defs: Map<string, JsonSchema>;
}

export function v3Context(resources: readonly ResourceInfo[]): V3Context {
  return { definitions: allDefinitions(resources), byGv: groupPaths(resources), v3defs: new Map() };
}

export function buildV3(
  resources: readonly ResourceInfo[],
  path: string,
  ctx: V3Context = v3Context(resources),
): JsonSchema | undefined {
  const { definitions, byGv } = ctx;
  const items = new Map<string, PathItem>();
  let gvTag = path.replace(/\//g, '_');
  const gvResources = byGv.get(path);
  if (gvResources) {
    const r0 = resources.find((r) => gvPath(r.group, r.version) === path)!;
    gvTag = tag(r0.group, r0.version);
    for (const [p, item] of gvResources) items.set(p, item);
    const [p, d] = discoveryPath(
      `/${path}/`,
      `get${groupVersionId(r0.group, r0.version)}APIResources`,
      API_RESOURCE_LIST,
      'get available resources',
      gvTag,
    );
    items.set(p, d);
  } else if (path === 'api') {
    const [p, d] = discoveryPath('/api/', 'getCoreAPIVersions', API_VERSIONS, 'get available API versions', 'core');
    items.set(p, d);
    gvTag = 'core';
  } else if (path === 'apis') {
    const [p, d] = discoveryPath('/apis/', 'getAPIVersions', API_GROUP_LIST, 'get available API versions', 'apis');
    items.set(p, d);
  } else if (path === 'version') {
    const [p, d] = discoveryPath(
      '/version/',
      'getCodeVersion',
      VERSION_INFO,
      'get the version information for this server',
      'version',
    );
    items.set(p, d);
  } else if (path.startsWith('apis/') && path.split('/').length === 2) {
    const g = path.slice(5);
    if (!resources.some((r) => r.group === g)) return undefined;
    const [p, d] = discoveryPath(
      `/${path}/`,
      `get${groupVersionId(g, '')}APIGroup`,
      API_GROUP,
      'get information of a group',
      g,
    );
    items.set(p, d);
    gvTag = tag(g, '');
  } else {
    return undefined;
  }
  const paths: JsonSchema = {};
  for (const [p, item] of sortedEntries(items)) {
    const o: JsonSchema = {};
    for (const m of METHOD_ORDER) {
      const op = item.ops[m];
      if (!op) continue;
      const rendered = v3Operation(op);
      if (!op.action) {
        delete rendered['x-kubernetes-action'];
        delete rendered['x-kubernetes-group-version-kind'];
      }
      o[m] = rendered;
    }
    if (item.params.length) o.parameters = item.params.map(v3Param);
    paths[p] = o;
  }
  const names = referencedDefinitions([paths], (n) => definitions[n]);
  const schemas: Record<string, unknown> = {};
  for (const n of [...names].sort()) {
    const d = definitions[n];
    if (!d) continue;
    let v3 = ctx.v3defs.get(n);
    if (!v3) {
      v3 = v3Definition(n, d);
      ctx.v3defs.set(n, v3);
    }
    schemas[n] = v3;
  }
  return {
    openapi: '3.0.0',
    info: INFO,
    paths,
    components: { schemas, securitySchemes: SECURITY_V3 },
  };
}

/** The `/openapi/v3` index keys for a resource set (without hashes). */
export function v3Paths(resources: readonly ResourceInfo[]): string[] {
  const set = new Set<string>(['api', 'apis', 'version']);
  for (const r of resources) {
    set.add(gvPath(r.group, r.version));
    if (r.group) set.add(`apis/${r.group}`);
  }
  return [...set].sort();
}

function hashOf(data: string): string {
  // kube uses an upper-case hex SHA-512 prefix; clients treat it as opaque
  return createHash('sha512').update(data).digest('hex').slice(0, 128).toUpperCase();
}

function fingerprint(resources: readonly ResourceInfo[]): string {
  const parts = resources
    .map((r) =>
      JSON.stringify([
        r.group,
        r.version,
        r.resource,
        r.kind,
        r.listKind,
        r.namespaced,
        r.verbs,
        r.subresources,
        r.crd ?? null,
      ]),
    )
    .sort();
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

interface V3Entry {
  doc: JsonSchema;
  body: Buffer;
  hash: string;
}

interface V2Entry {
  doc: JsonSchema;
  body: Buffer;
  etag: string;
  protobuf?: Buffer;
}

/**
 * Cached OpenAPI documents for the served resource set. Documents are rebuilt only when the set
 * (including CRD schemas) changes; call `invalidate()` after CRD changes or rely on `update()`.
 */
export class OpenApiService {
  #getResources: () => readonly ResourceInfo[];
  #getGeneration: (() => number) | undefined;
  #generation = -1;
  #fingerprint = '';
  #resources: readonly ResourceInfo[] = [];
  #v2: V2Entry | undefined;
  #v3 = new Map<string, V3Entry>();
  #ctx: V3Context | undefined;
  #index: { paths: Record<string, { serverRelativeURL: string }> } | undefined;

  /**
   * @param getResources the currently served resources
   * @param getGeneration optional counter that changes whenever the resource set may have changed;
   *   while it stays the same the set is not even re-fingerprinted
   */
  constructor(getResources: () => readonly ResourceInfo[], getGeneration?: () => number) {
    this.#getResources = getResources;
    this.#getGeneration = getGeneration;
  }

  /** Drop all cached documents (the next call rebuilds). */
  invalidate(): void {
    this.#fingerprint = '';
    this.#generation = -1;
    this.#v2 = undefined;
    this.#v3.clear();
    this.#ctx = undefined;
    this.#index = undefined;
  }

  #refresh(): void {
    const gen = this.#getGeneration?.();
    if (gen !== undefined && this.#fingerprint && gen === this.#generation) return;
    const resources = this.#getResources();
    const fp = fingerprint(resources);
    if (fp !== this.#fingerprint) {
      this.invalidate();
      this.#fingerprint = fp;
      this.#resources = resources.slice();
    }
    this.#generation = gen ?? -1;
  }

  /** `/openapi/v2` body (JSON). */
  v2(): Buffer {
    return this.#v2Entry().body;
  }

  /** Entity tag of the current `/openapi/v2` document, unquoted (the caller quotes it for the header). */
  v2ETag(): string {
    return this.#v2Entry().etag;
  }

  /**
   * `/openapi/v2` body in gnostic's protobuf form (encoded once per document version). Its entity
   * tag is `v2ETag()`: kube-openapi tags both forms with the hash of the JSON.
   */
  v2Protobuf(): Buffer {
    const entry = this.#v2Entry();
    entry.protobuf ??= encodeOpenApiV2Protobuf(entry.doc);
    return entry.protobuf;
  }

  #v2Entry(): V2Entry {
    this.#refresh();
    if (!this.#v2) {
      const doc = buildV2(this.#resources);
      const body = Buffer.from(JSON.stringify(doc));
      this.#v2 = { doc, body, etag: hashOf(body.toString('utf8')) };
    }
    return this.#v2;
  }

  #v3Entry(path: string): V3Entry | undefined {
    this.#refresh();
    const hit = this.#v3.get(path);
    if (hit) return hit;
    this.#ctx ??= v3Context(this.#resources);
    const doc = buildV3(this.#resources, path, this.#ctx);
    if (!doc) return undefined;
    const body = Buffer.from(JSON.stringify(doc));
    const entry = { doc, body, hash: hashOf(body.toString('utf8')) };
    this.#v3.set(path, entry);
    return entry;
  }

  /** `/openapi/v3` index: `{paths: {"api/v1": {serverRelativeURL: "/openapi/v3/api/v1?hash=…"}}}`. */
  v3Index(): { paths: Record<string, { serverRelativeURL: string }> } {
    this.#refresh();
    if (!this.#index) {
      const paths: Record<string, { serverRelativeURL: string }> = {};
      for (const p of v3Paths(this.#resources)) {
        const e = this.#v3Entry(p);
        if (e) paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${e.hash}` };
      }
      this.#index = { paths };
    }
    return this.#index;
  }

  /** The OpenAPI 3.0 document of one index entry (`api/v1`, `apis/apps/v1`…), or undefined if not served. */
  v3(path: string): JsonSchema | undefined {
    return this.#v3Entry(stripSlashes(path))?.doc;
  }

  /**
   * Serialized v3 document with its hash: the `?hash=` a client must ask for (kube answers a stale
   * hash with a 301 to the current URL) and the ETag (unquoted) of the body.
   */
  v3Body(path: string): { body: Buffer; hash: string } | undefined {
    const e = this.#v3Entry(stripSlashes(path));
    return e ? { body: e.body, hash: e.hash } : undefined;
  }

  /** v3 schema + resolver of a served kind (builtin or CRD). */
  schemaForKind(group: string, version: string, kind: string): SchemaLookup | undefined {
    this.#refresh();
    return schemaForKind(group, version, kind, this.#resources);
  }
}

function stripSlashes(p: string): string {
  return p.replace(/^\/+|\/+$/g, '');
}

/** True when an `If-None-Match` header value matches `etag` (weak or strong, lists, `*`). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v.replace(/^W\//, '') === bare;
  });
}

export {
  definitionNameFor,
  listDefinitionNameFor,
  schemaForKind,
  unknownFields,
  unknownObjectFields,
  type JsonSchema,
  type SchemaLookup,
} from './schemas.ts';
