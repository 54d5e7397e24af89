import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isApiError } from '../errors/status.ts';
import { Store } from '../store/store.ts';
import {
  LEGACY_INVALID_SINCE_LABEL,
  ServiceAccountTokens,
  createTokenRequest,
  populateTokenSecret,
} from './serviceaccount-tokens.ts';
import { put } from './testing.ts';

function setup(now = Date.now()) {
  let clock = now;
  const store = new Store();
  const tokens = new ServiceAccountTokens({ store, now: () => clock });
  const sa = put(store, 'serviceaccounts', {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'bot', namespace: 'ci' },
  });
  return {
    store,
    tokens,
    sa,
    uid: sa.metadata.uid!,
    advance(seconds: number) {
      clock += seconds * 1000;
    },
  };
}

function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('bound tokens', () => {
  test('claims match kube', () => {
    const { tokens, uid } = setup(1_700_000_000_000);
    const { token, expirationTimestamp, jti } = tokens.issue({
      namespace: 'ci',
      name: 'bot',
      uid,
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      expirationSeconds: 3600,
    });
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(header, { alg: 'RS256', kid: tokens.keyId });
    const claims = decodeClaims(token);
    assert.deepEqual(Object.keys(claims), ['aud', 'exp', 'iat', 'iss', 'jti', 'kubernetes.io', 'nbf', 'sub']);
    assert.deepEqual(claims, {
      aud: ['https://kubernetes.default.svc.cluster.local'],
      exp: 1_700_003_600,
      iat: 1_700_000_000,
      iss: 'https://kubernetes.default.svc.cluster.local',
      jti,
      'kubernetes.io': { namespace: 'ci', serviceaccount: { name: 'bot', uid } },
      nbf: 1_700_000_000,
      sub: 'system:serviceaccount:ci:bot',
    });
    assert.equal(expirationTimestamp, '2023-11-14T23:13:20Z');
    assert.equal(tokens.jwks().keys[0]!.kid, tokens.keyId);
  });

  test('verify: ok, user info with credential id', () => {
    const { tokens, uid } = setup();
    const { token, jti } = tokens.issue({
      namespace: 'ci',
      name: 'bot',
      uid,
      audiences: tokens.apiAudiences,
      expirationSeconds: 600,
    });
    const r = tokens.verify(token);
    assert.deepEqual(r, {
      kind: 'ok',
      user: {
        username: 'system:serviceaccount:ci:bot',
        uid,
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci'],
        extra: { 'authentication.kubernetes.io/credential-id': [`JTI=${jti}`] },
      },
      audiences: tokens.apiAudiences,
    });
  });

  const failures: {
    name: string;
    act: (s: ReturnType<typeof setup>, token: string) => string;
    want: string | RegExp;
  }[] = [
    {
      name: 'expired (past the 60s leeway)',
      act: (s, t) => {
        s.advance(600 + 61);
        return t;
      },
      want: 'service account token has expired',
    },
    {
      name: 'within leeway still valid → deleted SA fails instead',
      act: (s, t) => {
        s.advance(600 + 30);
        s.store.remove('serviceaccounts', 'ci', 'bot');
        return t;
      },
      want: 'serviceaccounts "bot" not found',
    },
    {
      name: 'recreated SA (new uid)',
      act: (s, t) => {
        s.store.remove('serviceaccounts', 'ci', 'bot');
        put(s.store, 'serviceaccounts', {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'bot', namespace: 'ci' },
        });
        return t;
      },
      want: /^service account UID \(.+\) does not match claim \(.+\)$/,
    },
    {
      name: 'tampered payload',
      act: (_s, t) => {
        const [h, p, sig] = t.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
        claims.sub = 'system:serviceaccount:kube-system:admin';
        return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`;
      },
      want: 'go-jose/go-jose: error in cryptographic primitive',
    },
    {
      name: 'signed by another cluster',
      act: (s) => {
        const other = new ServiceAccountTokens({ store: s.store });
        return other.issue({
          namespace: 'ci',
          name: 'bot',
          uid: s.uid,
          audiences: other.apiAudiences,
          expirationSeconds: 600,
        }).token;
      },
      want: 'go-jose/go-jose: error in cryptographic primitive',
    },
  ];
  for (const f of failures) {
    test(`verify fails: ${f.name}`, () => {
      const s = setup();
      const { token } = s.tokens.issue({
        namespace: 'ci',
        name: 'bot',
        uid: s.uid,
        audiences: s.tokens.apiAudiences,
        expirationSeconds: 600,
      });
      const r = s.tokens.verify(f.act(s, token));
      assert.equal(r.kind, 'error');
      if (r.kind === 'error') {
        if (typeof f.want === 'string') assert.equal(r.message, f.want);
        else assert.match(r.message, f.want);
      }
    });
  }

  test('wrong audience', () => {
    const { tokens, uid } = setup();
    const { token } = tokens.issue({ namespace: 'ci', name: 'bot', uid, audiences: ['vault'], expirationSeconds: 600 });
    assert.deepEqual(tokens.verify(token), {
      kind: 'error',
      message:
        'token audiences ["vault"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]',
    });
    assert.equal(tokens.verify(token, ['vault']).kind, 'ok');
  });

  test('not ours: ignored', () => {
    const { tokens } = setup();
    assert.deepEqual(tokens.verify('abc'), { kind: 'ignored' });
    const foreign = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"iss":"https://accounts.google.com"}').toString('base64url')}.`;
    assert.deepEqual(tokens.verify(foreign), { kind: 'ignored' });
  });

  test('pod-bound token dies with the pod', () => {
    const s = setup();
    const pod = put(s.store, 'pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ci' },
      spec: { serviceAccountName: 'bot', nodeName: 'n1' },
    });
    const req = createTokenRequest(s.tokens, 'ci', 'bot', {
      spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } },
    });
    const token = (req.status as { token: string }).token;
    const claims = decodeClaims(token);
    assert.deepEqual(claims['kubernetes.io'], {
      namespace: 'ci',
      node: { name: 'n1' },
      pod: { name: 'p', uid: pod.metadata.uid },
      serviceaccount: { name: 'bot', uid: s.uid },
    });
    const ok = s.tokens.verify(token);
    assert.equal(ok.kind, 'ok');
    if (ok.kind === 'ok') {
      assert.deepEqual(Object.keys(ok.user.extra ?? {}), [
        'authentication.kubernetes.io/credential-id',
        'authentication.kubernetes.io/node-name',
        'authentication.kubernetes.io/pod-name',
        'authentication.kubernetes.io/pod-uid',
      ]);
    }
    s.store.remove('pods', 'ci', 'p');
    assert.deepEqual(s.tokens.verify(token), { kind: 'error', message: 'service account token has been invalidated' });
  });
});

describe('legacy tokens', () => {
  function withSecret() {
    const s = setup();
    const secret = put(s.store, 'secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bot-token', namespace: 'ci', annotations: { 'kubernetes.io/service-account.name': 'bot' } },
      type: 'kubernetes.io/service-account-token',
    });
    const filled = populateTokenSecret(
      s.tokens,
      secret,
      '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n',
    )!;
    put(s.store, 'secrets', filled);
    const token = Buffer.from((filled.data as Record<string, string>).token!, 'base64').toString();
    return { ...s, token };
  }

  test('claims and verification', () => {
    const { tokens, token, uid } = withSecret();
    assert.deepEqual(decodeClaims(token), {
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': 'ci',
      'kubernetes.io/serviceaccount/secret.name': 'bot-token',
      'kubernetes.io/serviceaccount/service-account.name': 'bot',
      'kubernetes.io/serviceaccount/service-account.uid': uid,
      sub: 'system:serviceaccount:ci:bot',
    });
    const r = tokens.verify(token);
    assert.equal(r.kind, 'ok');
    if (r.kind === 'ok') {
      assert.deepEqual(r.user, {
        username: 'system:serviceaccount:ci:bot',
        uid,
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci'],
      });
      assert.deepEqual(r.audiences, tokens.apiAudiences);
    }
  });

  test('secret deleted → invalidated', () => {
    const { tokens, token, store } = withSecret();
    store.remove('secrets', 'ci', 'bot-token');
    assert.deepEqual(tokens.verify(token), { kind: 'error', message: 'Token has been invalidated' });
  });

  test('SA deleted → not found', () => {
    const { tokens, token, store } = withSecret();
    store.remove('serviceaccounts', 'ci', 'bot');
    assert.deepEqual(tokens.verify(token), { kind: 'error', message: 'serviceaccounts "bot" not found' });
  });

  test('marked invalid by the cleaner', () => {
    const { tokens, token, store } = withSecret();
    const secret = structuredClone(store.get('secrets', 'ci', 'bot-token')!);
    secret.metadata.labels = { [LEGACY_INVALID_SINCE_LABEL]: '2024-01-01' };
    store.put('secrets', secret, 'MODIFIED');
    const r = tokens.verify(token);
    assert.equal(r.kind, 'error');
    if (r.kind === 'error') assert.match(r.message, /has been marked invalid/);
  });

  test('token not the one stored', () => {
    const { tokens, uid } = withSecret();
    const other = tokens.legacyToken({ namespace: 'ci', name: 'bot', uid, secretName: 'bot-token' });
    // same claims → same signature input; change a claim to get a different token for the same secret
    const forged = tokens.legacyToken({ namespace: 'ci', name: 'bot', uid: `${uid}x`, secretName: 'bot-token' });
    assert.equal(tokens.verify(other).kind, 'ok');
    assert.deepEqual(tokens.verify(forged), { kind: 'error', message: "Token does not match server's copy" });
  });

  test('populateTokenSecret ignores other secrets and unknown SAs', () => {
    const { tokens } = setup();
    const base = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ci' } };
    assert.equal(populateTokenSecret(tokens, { ...base, type: 'Opaque' }, ''), undefined);
    assert.equal(
      populateTokenSecret(
        tokens,
        {
          ...base,
          type: 'kubernetes.io/service-account-token',
          metadata: { ...base.metadata, annotations: { 'kubernetes.io/service-account.name': 'nobody' } },
        },
        '',
      ),
      undefined,
    );
  });
});

describe('createTokenRequest', () => {
  test('accepts the store as an explicit argument', () => {
    const { tokens, store } = setup();
    assert.equal(createTokenRequest(tokens, store, 'ci', 'bot', {}).kind, 'TokenRequest');
  });

  test('defaults like kube', () => {
    const { tokens, uid } = setup();
    const out = createTokenRequest(tokens, 'ci', 'bot', {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: { audiences: null, expirationSeconds: null, boundObjectRef: null },
      status: { token: '', expirationTimestamp: null },
    });
    assert.equal(out.kind, 'TokenRequest');
    assert.deepEqual(out.metadata.name, 'bot');
    assert.deepEqual(out.metadata.uid, uid);
    assert.deepEqual(out.spec, {
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      expirationSeconds: 3600,
      boundObjectRef: null,
    });
    const status = out.status as { token: string; expirationTimestamp: string };
    assert.match(status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(tokens.verify(status.token).kind, 'ok');
  });

  const bad: { name: string; sa?: string; body: unknown; code: number; message: string | RegExp }[] = [
    { name: 'missing SA', sa: 'nope', body: {}, code: 404, message: 'serviceaccounts "nope" not found' },
    {
      name: 'too short',
      body: { spec: { expirationSeconds: 599 } },
      code: 422,
      message:
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
    },
    {
      name: 'too long',
      body: { spec: { expirationSeconds: 2 ** 32 + 1 } },
      code: 422,
      message: /may not specify a duration larger than 2\^32 seconds$/,
    },
    {
      name: 'name mismatch',
      body: { metadata: { name: 'other' } },
      code: 422,
      message:
        'TokenRequest.authentication.k8s.io "bot" is invalid: metadata.name: Invalid value: "other": must match the service account name if specified',
    },
    {
      name: 'wrong type',
      body: { spec: { expirationSeconds: 'soon' } },
      code: 400,
      message:
        'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal string into Go struct field TokenRequest.spec.expirationSeconds of type int64',
    },
    {
      name: 'wrong apiVersion',
      body: { apiVersion: 'v1' },
      code: 400,
      message: 'the API version in the data (v1) does not match the expected API version (authentication.k8s.io/v1)',
    },
    {
      name: 'unsupported bound kind',
      body: { spec: { boundObjectRef: { kind: 'ConfigMap', apiVersion: 'v1', name: 'c' } } },
      code: 400,
      message: 'cannot bind token to object of type /v1, Kind=ConfigMap',
    },
    {
      name: 'bound pod missing',
      body: { spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } } },
      code: 404,
      message: 'pods "p" not found',
    },
    { name: 'not an object', body: 'x', code: 400, message: /cannot be handled as a TokenRequest/ },
  ];
  for (const b of bad) {
    test(`rejects: ${b.name}`, () => {
      const { tokens } = setup();
      assert.throws(
        () => createTokenRequest(tokens, 'ci', b.sa ?? 'bot', b.body),
        (e: unknown) => {
          assert.ok(isApiError(e));
          assert.equal(e.code, b.code);
          if (typeof b.message === 'string') assert.equal(e.message, b.message);
          else assert.match(e.message, b.message);
          return true;
        },
      );
    });
  }

  test('pod with a different service account', () => {
    const { tokens, store } = setup();
    put(store, 'pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'ci' },
      spec: { serviceAccountName: 'default' },
    });
    assert.throws(
      () =>
        createTokenRequest(tokens, 'ci', 'bot', {
          spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } },
        }),
      /cannot bind token for serviceaccount "bot" to pod running with different serviceaccount name\./,
    );
  });
});
