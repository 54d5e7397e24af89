// Property-based fuzzing (issue 9, item 5): the four places where outside input is parsed before any
// member cluster sees it: hub Secrets → clusters, identity-exchange rules, the proxied request path,
// and label/field selectors. Each property runs ≥ 10,000 generated inputs with a fixed seed (printed,
// so a failure can be replayed) and asserts no crash, rejections only as clean Status errors, and the
// invariant that makes the code safe (redaction, first-match, confinement, canonical round-trip).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify as toYAML } from 'yaml';
import {
  formatFieldSelector,
  formatLabelSelector,
  labelsMatch,
  matchesFields,
  parseFieldSelector,
  parseLabelSelector,
} from '@cluster-gateway/sandbox/machinery';
import { GatewayError } from '../../packages/gateway/src/apiserver/errors.ts';
import {
  EXTERNAL_EXCHANGER,
  exchangeIdentity,
  PRIVILEGED_EXCHANGER,
  STATIC_MAPPING_EXCHANGER,
} from '../../packages/gateway/src/auth/identity-exchange.ts';
import type { ExchangeResult } from '../../packages/gateway/src/auth/identity-exchange.ts';
import type { UserInfo } from '../../packages/gateway/src/auth/types.ts';
import { generateSelfSigned } from '../../packages/gateway/src/certs/self-signed.ts';
import { forwardQuery, joinTargetPath, parseProxyTarget } from '../../packages/gateway/src/proxy/path.ts';
import {
  convertSecret,
  MANAGED_CLUSTER_AVAILABLE,
  toClusterGateway,
} from '../../packages/gateway/src/registry/convert.ts';
import type { ConvertOptions, ManagedClusterLike, SecretLike } from '../../packages/gateway/src/registry/convert.ts';
import {
  ANNOTATION_HEALTHY,
  ANNOTATION_HEALTHY_REASON,
  ANNOTATION_PROXY_CONFIG,
  LABEL_CREDENTIAL_TYPE,
  LABEL_ENDPOINT_TYPE,
} from '../../packages/gateway/src/registry/types.ts';
import type { ExchangeRule } from '../../packages/gateway/src/registry/types.ts';

const NUM_RUNS = 10_000;
const SEEDS = { secret: 0x5eed_0001, identity: 0x5eed_0002, path: 0x5eed_0003, selectors: 0x5eed_0004 };
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Outcome counts per property: printed with the seed so the report shows what was exercised. */
const counts = new Map<string, Map<string, number>>();
function count(property: keyof typeof SEEDS, outcome: string): void {
  const m = counts.get(property) ?? new Map<string, number>();
  m.set(outcome, (m.get(outcome) ?? 0) + 1);
  counts.set(property, m);
}

/** Run one property with the suite's settings and report seed, runs, time and outcome counts. */
function check<Ts>(t: test.TestContext, name: keyof typeof SEEDS, prop: fc.IRawProperty<Ts, false>): void {
  const start = performance.now();
  fc.assert(prop, { numRuns: NUM_RUNS, seed: SEEDS[name], endOnFailure: true });
  const ms = Math.round(performance.now() - start);
  const outcomes = [...(counts.get(name) ?? new Map<string, number>())].map(([k, v]) => `${k}=${v}`).join(' ');
  t.diagnostic(`${name}: seed=${SEEDS[name]} runs=${NUM_RUNS} time=${ms}ms ${outcomes}`);
}

const b64 = (v: string | Uint8Array): string => Buffer.from(v).toString('base64');
const anyText = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));
const shortText = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 }));

// ---------------------------------------------------------------------------------------------------
// shared: identity-exchange rules (also embedded in proxy-configuration annotations)

const USERS = ['alice', 'bob', 'Alice', 'system:admin', 'system:serviceaccount:ns:sa', ''];
const GROUPS = ['system:masters', 'system:authenticated', 'dev', 'ops', ''];
const CLUSTERS = ['cluster-1', 'cluster-2', 'prod-eu', ''];
const PATTERNS = [
  '.*',
  '^alice$',
  'system:.*',
  '(?i)ALICE',
  '(?is)a.b',
  '(?P<n>ali)ce',
  '(?U)a+',
  '(?z)x',
  '[',
  '(',
  '*',
  '+?',
  '\\',
  'a{2,1}',
  '(?i)',
  '\\p{L}+',
  '[[:alpha:]]+',
  '^$',
  '',
];
const pick = <T>(pool: readonly T[], other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: other });

const SOURCE_FIELDS = {
  user: pick(USERS, shortText),
  group: pick(GROUPS, shortText),
  uid: pick(['u-1', ''], shortText),
  cluster: pick(CLUSTERS, shortText),
  userPattern: pick(PATTERNS, shortText),
  groupPattern: pick(PATTERNS, shortText),
  clusterPattern: pick(PATTERNS, shortText),
};
type SourceField = keyof typeof SOURCE_FIELDS;
// mostly one or two conditions (so that rules do match), sometimes any combination
const sourceArb: fc.Arbitrary<ExchangeRule['source']> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .shuffledSubarray(Object.keys(SOURCE_FIELDS) as SourceField[], { maxLength: 2 })
      .chain((keys) => fc.record(Object.fromEntries(keys.map((k) => [k, SOURCE_FIELDS[k]])))),
  },
  { weight: 1, arbitrary: fc.record(SOURCE_FIELDS, { requiredKeys: [] }) },
);

const ruleArb: fc.Arbitrary<ExchangeRule> = fc.record(
  {
    name: shortText,
    type: pick([PRIVILEGED_EXCHANGER, STATIC_MAPPING_EXCHANGER, EXTERNAL_EXCHANGER], shortText),
    source: sourceArb,
    target: fc.record(
      {
        user: pick(USERS, shortText),
        groups: fc.array(pick(GROUPS, shortText), { maxLength: 3 }),
        uid: shortText,
      },
      { requiredKeys: [] },
    ),
    url: fc.webUrl(),
  },
  { requiredKeys: ['name', 'type'] },
);

// ---------------------------------------------------------------------------------------------------
// 1. Secret conversion

const pairA = await generateSelfSigned(['a.example']);
const pairB = await generateSelfSigned(['b.example']);
const BAD_CERT = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';

const endpointText = fc.oneof(
  fc.constantFrom(
    'https://10.0.0.1:6443',
    'https://h/k8s/clusters/c-x',
    'h.example:443',
    'http://[::1]:8080',
    'ftp://h',
    'https://h?x=1',
    'https://h#f',
    'https://',
    'https://h/\n',
    'https://h\n',
    'https://user:pw@h',
    'unix:///var/run/x',
    '//h',
    'https://h /x',
  ),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  anyText,
);
const caText = fc.constantFrom(
  pairA.cert,
  pairA.cert + pairB.cert,
  `junk\n${pairA.cert}junk`,
  BAD_CERT,
  pairA.cert + BAD_CERT,
  '',
  pairA.key,
);
const tlsCrtText = fc.constantFrom(pairA.cert, pairB.cert, pairA.cert + pairB.cert, BAD_CERT, pairA.key, '');
const tlsKeyText = fc.constantFrom(pairA.key, pairB.key, pairA.key.slice(0, 80), pairA.cert, 'not a key', '');
// tokens long and distinctive enough that finding one in a rendered object is a leak, not chance
const tokenText = fc
  .tuple(fc.stringMatching(/^[A-Za-z0-9._-]{24,40}$/), fc.constantFrom('', '\n', '\r\n', ' x', '\tx'))
  .map(([t, tail]) => `tok-${t}${tail}`);
const execDoc = fc.record(
  {
    apiVersion: pick(['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'], shortText),
    command: pick(['/bin/true', 'kubelogin', ''], anyText),
    args: fc.array(anyText, { maxLength: 3 }),
    env: fc.array(fc.record({ name: shortText, value: anyText }), { maxLength: 2 }),
    interactiveMode: pick(['Never', 'IfAvailable', 'Always'], shortText),
    provideClusterInfo: fc.boolean(),
  },
  { requiredKeys: [] },
);
const execText = fc.oneof(
  execDoc.map((d) => JSON.stringify(d)),
  execDoc.map((d) => toYAML(d)),
  fc.json(),
  anyText,
);
const proxyURLText = fc.oneof(
  fc.constantFrom('socks5://p:1080', 'socks5h://p', 'http://p:3128', 'https://p', 'ftp://p', 'socks5://', 'http://'),
  fc.webUrl(),
  anyText,
);

const DATA_KEYS = {
  endpoint: endpointText,
  'ca.crt': caText,
  ca: caText,
  'tls.crt': tlsCrtText,
  'tls.key': tlsKeyText,
  token: tokenText,
  exec: execText,
  'proxy-url': proxyURLText,
} as const;

/** a data value: base64 of a plausible value, base64 of random bytes, or not base64 at all */
const dataValue = (plausible: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: plausible.map(b64) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map(b64) },
    { weight: 1, arbitrary: anyText },
  );

const dataArb = fc.record(
  Object.fromEntries(Object.entries(DATA_KEYS).map(([k, arb]) => [k, dataValue(arb)])) as Record<
    keyof typeof DATA_KEYS,
    fc.Arbitrary<string>
  >,
  { requiredKeys: [] },
);

const proxyDoc = fc.record(
  {
    apiVersion: pick(['cluster.core.oam.dev/v1alpha1'], shortText),
    kind: pick(['ClusterGatewayProxyConfiguration'], shortText),
    spec: fc.record({ clientIdentityExchanger: fc.record({ rules: fc.array(ruleArb, { maxLength: 3 }) }) }),
  },
  { requiredKeys: [] },
);
const proxyConfigText = fc.oneof(
  proxyDoc.map((d) => JSON.stringify(d)),
  proxyDoc.map((d) => toYAML(d)),
  fc.json(),
  anyText,
);

const labelsArb = fc
  .tuple(
    fc.dictionary(shortText, shortText, { maxKeys: 3 }),
    fc.option(pick(['ServiceAccountToken', 'X509Certificate', 'Dynamic'], shortText), { nil: undefined }),
    fc.option(pick(['Const', 'ClusterProxy', ''], shortText), { nil: undefined }),
  )
  .map(([extra, cred, ep]) => {
    const labels: Record<string, string> = { ...extra };
    if (cred !== undefined) labels[LABEL_CREDENTIAL_TYPE] = cred;
    if (ep !== undefined) labels[LABEL_ENDPOINT_TYPE] = ep;
    return labels;
  });

const annotationsArb = fc
  .tuple(
    fc.dictionary(shortText, anyText, { maxKeys: 3 }),
    fc.option(pick(['true', 'false', '1', '0', 'T', 'maybe', ''], shortText), { nil: undefined }),
    fc.option(anyText, { nil: undefined }),
    fc.option(proxyConfigText, { nil: undefined }),
  )
  .map(([extra, healthy, reason, proxy]) => {
    const a: Record<string, string> = { ...extra };
    if (healthy !== undefined) a[ANNOTATION_HEALTHY] = healthy;
    if (reason !== undefined) a[ANNOTATION_HEALTHY_REASON] = reason;
    if (proxy !== undefined) a[ANNOTATION_PROXY_CONFIG] = proxy;
    return a;
  });

const managedClusterArb: fc.Arbitrary<ManagedClusterLike> = fc.record(
  {
    metadata: fc.record(
      { name: pick(['cluster-1'], shortText), resourceVersion: pick(['1', '99999999999999999999'], shortText) },
      { requiredKeys: [] },
    ),
    spec: fc.record({
      managedClusterClientConfigs: fc.array(
        fc.record({ url: endpointText, caBundle: fc.oneof(caText.map(b64), anyText) }, { requiredKeys: [] }),
        { maxLength: 2 },
      ),
    }),
    status: fc.record({
      conditions: fc.array(
        fc.record(
          {
            type: pick([MANAGED_CLUSTER_AVAILABLE], shortText),
            status: pick(['True', 'False', 'Unknown'], shortText),
            reason: shortText,
            message: anyText,
          },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
    }),
  },
  { requiredKeys: [] },
);

const randomSecretArb: fc.Arbitrary<SecretLike> = fc.record(
  {
    metadata: fc.record(
      {
        name: pick(['cluster-1', 'c'], anyText),
        uid: shortText,
        resourceVersion: pick(['1', '42', '99999999999999999999'], shortText),
        creationTimestamp: fc.oneof(
          fc.constant(null),
          fc.date({ noInvalidDate: false }),
          pick(['2024-01-01T00:00:00Z'], shortText),
        ),
        labels: fc.oneof({ weight: 9, arbitrary: labelsArb }, { weight: 1, arbitrary: fc.constant(null) }),
        annotations: fc.oneof({ weight: 9, arbitrary: annotationsArb }, { weight: 1, arbitrary: fc.constant(null) }),
      },
      { requiredKeys: ['labels'] },
    ),
    data: fc.oneof({ weight: 19, arbitrary: dataArb }, { weight: 1, arbitrary: fc.constant(null) }),
  },
  { requiredKeys: [] },
);

// A Secret that is valid but for the odd field, so the accept path (and redaction) is exercised often.
const usually = <T>(good: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: other });
const validEndpoint = fc.oneof(
  fc.constantFrom('https://10.0.0.1:6443', 'https://h/k8s/clusters/c-x', 'h.example:443', 'http://[::1]:8080\n'),
  fc.webUrl(),
);
const nearValidSecretArb: fc.Arbitrary<SecretLike> = fc
  .record({
    name: usually(fc.constantFrom('cluster-1', 'c', 'prod.eu'), anyText),
    credType: fc.constantFrom('ServiceAccountToken', 'X509Certificate', 'Dynamic'),
    endpointType: usually(fc.constantFrom('Const', 'Const', 'ClusterProxy', ''), shortText),
    endpoint: usually(validEndpoint.map(b64), dataValue(endpointText)),
    ca: fc.option(usually(fc.constantFrom(pairA.cert, pairA.cert + pairB.cert).map(b64), dataValue(caText)), {
      nil: undefined,
    }),
    token: usually(tokenText.map(b64), dataValue(tokenText)),
    tlsCrt: usually(fc.constant(b64(pairA.cert)), dataValue(tlsCrtText)),
    tlsKey: usually(fc.constant(b64(pairA.key)), dataValue(tlsKeyText)),
    exec: usually(
      fc.constant(b64(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/true' }))),
      dataValue(execText),
    ),
    proxyURL: fc.option(dataValue(proxyURLText), { nil: undefined, freq: 3 }),
    annotations: annotationsArb,
    extraLabels: fc.dictionary(shortText, shortText, { maxKeys: 2 }),
  })
  .map((v) => {
    const data: Record<string, string> = { endpoint: v.endpoint, token: v.token, exec: v.exec };
    data['tls.crt'] = v.tlsCrt;
    data['tls.key'] = v.tlsKey;
    if (v.ca !== undefined) data['ca.crt'] = v.ca;
    if (v.proxyURL !== undefined) data['proxy-url'] = v.proxyURL;
    const labels: Record<string, string> = { ...v.extraLabels };
    labels[LABEL_CREDENTIAL_TYPE] = v.credType;
    labels[LABEL_ENDPOINT_TYPE] = v.endpointType;
    return { metadata: { name: v.name, uid: 'u', resourceVersion: '7', labels, annotations: v.annotations }, data };
  });

const secretArb = fc.oneof(randomSecretArb, nearValidSecretArb);

const optsArb: fc.Arbitrary<ConvertOptions> = fc.record({
  managedCluster: fc.oneof(
    { weight: 5, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: managedClusterArb },
  ),
  featureGates: fc.record({ HealthinessCheck: fc.boolean(), ClientIdentityPenetration: fc.boolean() }),
  insecureWithoutCA: fc.boolean(),
});

test('Secret conversion: never throws, one well-formed outcome, reads never carry the credential', (t) => {
  check(
    t,
    'secret',
    fc.property(secretArb, optsArb, (secret, opts) => {
      const r = convertSecret(secret, opts);
      const labels = secret.metadata?.labels ?? {};
      const outcomes = ['cluster', 'invalid', 'notACluster'].filter((k) => k in r);
      assert.equal(outcomes.length, 1, `exactly one outcome, got ${outcomes.join(',')}`);
      count('secret', 'notACluster' in r ? 'notACluster' : r.ok ? `ok-${r.cluster.credential?.type}` : 'invalid');
      if ('notACluster' in r) {
        assert.equal(r.ok, false);
        assert.equal(r.notACluster, true);
        assert.equal(labels[LABEL_CREDENTIAL_TYPE], undefined);
        return;
      }
      assert.notEqual(labels[LABEL_CREDENTIAL_TYPE], undefined, 'a labelled Secret is a cluster or invalid');
      if (!r.ok) {
        assert.equal(typeof r.invalid.reason, 'string');
        assert.ok(r.invalid.reason.length > 0, 'invalid needs a reason');
        return;
      }
      const c = r.cluster;
      assert.ok(c.name.length > 0);
      assert.ok(c.credential, 'a served cluster has a credential');
      assert.equal(c.credential.type, labels[LABEL_CREDENTIAL_TYPE]);
      if (c.endpoint.type === 'ClusterProxy') assert.equal(c.endpoint.address, `https://${c.name}`);
      else {
        const u = new URL(c.endpoint.address);
        assert.ok(u.protocol === 'https:' || u.protocol === 'http:', c.endpoint.address);
        assert.ok(u.hostname.length > 0 && !u.search && !u.hash, c.endpoint.address);
        assert.ok(!CONTROL.test(c.endpoint.address) && !/\s/.test(c.endpoint.address));
      }
      if (c.endpoint.proxyURL !== undefined) assert.doesNotThrow(() => new URL(c.endpoint.proxyURL!));

      const cg = toClusterGateway(c, { exposeCredentials: false });
      const json = JSON.stringify(cg);
      const cred = c.credential;
      if (cred.type === 'ServiceAccountToken') {
        assert.ok(!CONTROL.test(cred.token) && !/\s/.test(cred.token));
        assert.equal(cg.spec.access.credential?.serviceAccountToken, '<redacted>');
        // short tokens (random bytes) may occur in labels by chance; generated ones are ≥ 28 chars
        if (cred.token.length >= 16) assert.ok(!json.includes(cred.token), 'token leaked into the ClusterGateway');
      } else if (cred.type === 'X509Certificate') {
        assert.equal(cg.spec.access.credential?.x509?.privateKey, undefined);
        assert.ok(!json.includes(cred.privateKey.toString('base64')), 'private key leaked');
        const body = cred.privateKey.toString('utf8').split('\n')[1] ?? '';
        assert.ok(body.length < 16 || !json.includes(body), 'private key PEM leaked');
        assert.ok(!json.includes('PRIVATE KEY'), 'private key PEM leaked');
      }
    }),
  );
});

// ---------------------------------------------------------------------------------------------------
// 2. Identity exchange

const userArb: fc.Arbitrary<UserInfo> = fc.record(
  {
    username: pick(USERS, shortText),
    uid: pick(['u-1', ''], shortText),
    groups: fc.array(pick(GROUPS, shortText), { maxLength: 4 }),
    extra: fc.dictionary(shortText, fc.array(shortText, { maxLength: 2 }), { maxKeys: 2 }),
  },
  { requiredKeys: ['username', 'groups'] },
);

type Outcome = { value: ExchangeResult } | { error: { code: number; reason: string; message: string } };

function exchange(user: UserInfo, cluster: string, cr: ExchangeRule[], gr: ExchangeRule[]): Outcome {
  try {
    return { value: exchangeIdentity(user, cluster, cr, gr) };
  } catch (e) {
    assert.ok(e instanceof GatewayError, `not a GatewayError: ${String(e)}`);
    const s = e.toStatus();
    assert.equal(s.kind, 'Status');
    assert.ok(s.code >= 400 && s.code < 600 && s.message.length > 0);
    return { error: { code: e.code, reason: e.reason, message: e.message } };
  }
}

test('identity exchange: only GatewayErrors, first match wins', (t) => {
  check(
    t,
    'identity',
    fc.property(
      userArb,
      pick(CLUSTERS, shortText),
      fc.array(ruleArb, { maxLength: 4 }),
      fc.array(ruleArb, { maxLength: 4 }),
      fc.uuid(),
      ruleArb,
      fc.constantFrom(PRIVILEGED_EXCHANGER, STATIC_MAPPING_EXCHANGER, EXTERNAL_EXCHANGER, 'Bogus'),
      (user, cluster, cr, gr, fresh, extra, neverType) => {
        fc.pre(user.username !== fresh);
        const base = exchange(user, cluster, cr, gr);
        count('identity', 'error' in base ? `error-${base.error.code}` : base.value.source);
        // a rule that cannot match, whatever its type, is invisible in either list
        const never: ExchangeRule = { name: fresh, type: neverType, source: { user: fresh } };
        assert.deepEqual(exchange(user, cluster, [never, ...cr], gr), base);
        assert.deepEqual(exchange(user, cluster, cr, [never, ...gr]), base);
        if ('error' in base) {
          // the error came from an earlier match: later rules change nothing
          assert.deepEqual(exchange(user, cluster, cr, [...gr, extra]), base);
          return;
        }
        const v = base.value;
        if (v.source === 'default') {
          assert.equal(v.rule, undefined);
          assert.equal(v.impersonate?.user, user.username);
          assert.deepEqual(v.impersonate.groups, user.groups);
        } else {
          const list = v.source === 'cluster' ? cr : gr;
          assert.ok(
            list.some((r) => r.name === v.rule),
            'the matching rule is from the list named',
          );
          assert.deepEqual(exchange(user, cluster, cr, [...gr, extra]), base);
          if (v.source === 'cluster') assert.deepEqual(exchange(user, cluster, [...cr, extra], gr), base);
        }
      },
    ),
  );
});

// ---------------------------------------------------------------------------------------------------
// 3. Proxy path confinement

const GVP = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/';
const SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e.',
  '%2e',
  '%2F',
  'a%2fb',
  '%5C',
  '%5c..',
  '\\',
  '..\\..',
  '',
  '%00',
  '%0d%0a',
  '\r\n',
  '\n',
  'http:',
  'https:',
  'evil.com',
  'evil.com:443',
  'user@evil',
  'api',
  'v1',
  'pods',
  'namespaces',
  'default',
  '%',
  '%zz',
  '%C3%A9',
  'é',
  '日本',
  '\u202e',
  '#frag',
  ';x',
  '..;',
  '%252e%252e',
  '%u002e',
  'http://evil',
  '//evil.com',
];
const segmentArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);
const restArb = fc
  .tuple(fc.array(segmentArb, { maxLength: 8 }), fc.constantFrom('', '/'))
  .map(([segs, tail]) => (segs.length ? `/${segs.join('/')}${tail}` : tail));
const SAFE_SEG = fc.stringMatching(/^[a-z0-9-]{1,6}$/);
const endpointPathArb = fc.oneof(
  fc.constantFrom('', '/', '/k8s/clusters/c-x', '/k8s/clusters/c-x/', '//a//b/', '/./a'),
  fc.array(SAFE_SEG, { maxLength: 3 }).map((s) => `/${s.join('/')}`),
);
const pathCluster = fc.constantFrom('cluster-1', 'c.x', 'a b', 'é');

test('proxy path: clean 400 or a target confined to the endpoint path', (t) => {
  check(
    t,
    'path',
    fc.property(
      pathCluster,
      fc.oneof(
        { weight: 6, arbitrary: fc.constant('') },
        { weight: 1, arbitrary: fc.constantFrom('raw', '..', '%2e%2e', 'other', '') },
      ),
      fc.constantFrom(GVP, GVP.replace('/clustergateways/', '//clustergateways//'), '/apis/x/v1/clustergateways/'),
      restArb,
      fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      endpointPathArb,
      (cluster, nameMode, prefix, rest, query, endpointPath) => {
        const nameInURL = nameMode === '' ? encodeURIComponent(cluster) : nameMode === 'raw' ? cluster : nameMode;
        const raw = `${prefix}${nameInURL}/proxy${rest}${query === undefined ? '' : `?${query}`}`;
        let target;
        try {
          target = parseProxyTarget(raw, cluster);
        } catch (e) {
          assert.ok(e instanceof GatewayError, `not a GatewayError: ${String(e)}`);
          assert.equal(e.code, 400);
          assert.equal(e.toStatus().reason, 'BadRequest');
          count('path', 'rejected');
          return;
        }
        assert.ok(!CONTROL.test(raw), 'control characters must be refused');
        const base = endpointPath.split('/').filter((s) => s !== '' && s !== '.');
        const root = `/${base.join('/')}`;
        const path = joinTargetPath(endpointPath, target.segments);
        count('path', target.segments.length ? 'accepted' : 'accepted-empty');
        assert.ok(path === root || path.startsWith(root === '/' ? '/' : `${root}/`), `${path} escapes ${root}`);
        for (const seg of path.split('/').slice(1)) {
          const d = decodeURIComponent(seg);
          assert.ok(d !== '.' && d !== '..', `dot segment in ${path}`);
          assert.ok(!d.includes('/') && !d.includes('\\'), `encoded slash in ${path}`);
        }
        assert.ok(!/%2f|%5c|\\/i.test(path), `encoded slash or backslash in ${path}`);
        assert.ok(!CONTROL.test(decodeURIComponent(path)));
        const q = forwardQuery(target.rawQuery);
        assert.ok(q.search === '' || q.search.startsWith('?'));
        // what the dialer will request: the member's origin and path prefix must survive URL resolution
        const u = new URL(`${path}${q.search}`, 'https://member.invalid');
        assert.equal(u.host, 'member.invalid');
        assert.ok(u.pathname === root || u.pathname.startsWith(root === '/' ? '/' : `${root}/`), u.pathname);
      },
    ),
  );
});

// ---------------------------------------------------------------------------------------------------
// 4. Selector parsing

const LABEL_KEYS = ['a', 'app', 'example.com/x', 'tier', 'x.y'];
const LABEL_VALUES = ['', 'v', '1', '-1', '10', 'prod', 'a'];
const labelKeyArb = pick(
  [...LABEL_KEYS, '-bad', 'a/b/c', '/x', 'A'.repeat(64), 'in', 'notin', 'Example.com/x'],
  fc.string({ maxLength: 5 }),
);
const labelValueArb = pick(
  [...LABEL_VALUES, '99999999999999999999', 'a_b', '-x', 'a'.repeat(64)],
  fc.string({ maxLength: 4 }),
);
const labelRequirementArb = fc
  .tuple(
    fc.constantFrom('', '', '!'),
    labelKeyArb,
    fc.constantFrom('=', '==', '!=', ' in ', ' notin ', '>', '<', '', ' = '),
    fc.oneof(
      labelValueArb,
      fc.array(labelValueArb, { maxLength: 3 }).map((vs) => `(${vs.join(',')})`),
      fc.constantFrom('(', ')', '(a', 'a)', '(,)', '(a,,b)'),
    ),
  )
  .map(([neg, k, op, v]) => (op === '' ? `${neg}${k}` : `${neg}${k}${op}${v}`));
const joined = (part: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .array(fc.tuple(part, fc.constantFrom(',', ',', ', ', ' ,', ',,', ' ', '')), { maxLength: 4 })
    .map((parts) => parts.map(([p, sep], i) => (i ? sep + p : p)).join(''));
const labelSelectorText = fc.oneof(
  { weight: 4, arbitrary: joined(labelRequirementArb) },
  { weight: 1, arbitrary: anyText },
);
const labelMapArb = fc.dictionary(fc.constantFrom(...LABEL_KEYS), fc.constantFrom(...LABEL_VALUES), { maxKeys: 4 });

const FIELDS = ['metadata.name', 'metadata.namespace', 'status.phase', 'spec.nodeName', 'a'];
const fieldValueArb = pick(['', 'x', 'Running', '\\,', '\\=', '\\\\', ',', '=', '\\x', 'a\\', 'a\\,b'], shortText);
const fieldTermArb = fc
  .tuple(pick(FIELDS, shortText), fc.constantFrom('=', '==', '!=', '', '!'), fieldValueArb)
  .map(([f, op, v]) => `${f}${op}${v}`);
const fieldSelectorText = fc.oneof({ weight: 4, arbitrary: joined(fieldTermArb) }, { weight: 1, arbitrary: anyText });
const fieldMapArb = fc.dictionary(fc.constantFrom(...FIELDS), pick(['', 'x', 'Running', ',', '='], shortText), {
  maxKeys: 3,
});

/** parse, or check the failure is a clean 400 Status; undefined on failure */
function parseOr400<T>(parse: (s: string) => T, s: string): T | undefined {
  try {
    return parse(s);
  } catch (e) {
    const status = (e as { toStatus?: () => { kind: string; code: number; reason: string } }).toStatus?.();
    assert.ok(status, `not a Status error for ${JSON.stringify(s)}: ${String(e)}`);
    assert.equal(status.kind, 'Status');
    assert.equal(status.code, 400);
    assert.equal(status.reason, 'BadRequest');
    return undefined;
  }
}

test('selectors: a value or a 400 Status; the canonical form re-parses to the same selector', (t) => {
  check(
    t,
    'selectors',
    fc.property(
      labelSelectorText,
      fieldSelectorText,
      fc.array(labelMapArb, { minLength: 3, maxLength: 3 }),
      fc.array(fieldMapArb, { minLength: 3, maxLength: 3 }),
      (ls, fs, labelMaps, fieldMaps) => {
        const sel = parseOr400(parseLabelSelector, ls);
        count('selectors', sel ? 'label-valid' : 'label-400');
        if (sel) {
          const canonical = formatLabelSelector(sel);
          const again = parseLabelSelector(canonical);
          assert.equal(formatLabelSelector(again), canonical, 'canonical form is a fixed point');
          for (const m of labelMaps) {
            assert.equal(labelsMatch(again, m), labelsMatch(sel, m), `${ls} vs ${canonical} on ${JSON.stringify(m)}`);
          }
        }
        const fsel = parseOr400(parseFieldSelector, fs);
        count('selectors', fsel ? 'field-valid' : 'field-400');
        if (fsel) {
          const again = parseFieldSelector(formatFieldSelector(fsel));
          for (const m of fieldMaps) {
            assert.equal(matchesFields(again, m), matchesFields(fsel, m), `${fs} on ${JSON.stringify(m)}`);
          }
        }
      },
    ),
  );
});
