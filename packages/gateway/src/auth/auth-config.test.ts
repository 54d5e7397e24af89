import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCA } from '@cluster-gateway/sandbox';
import { DynamicAuthConfig, parseAuthConfigMap, requestHeaderFromFlags } from './auth-config.ts';
import type { ConfigMapLike, HubAuthApi } from './types.ts';

const ca1 = await createCA('one');
const ca2 = await createCA('two');

function cmData(rhCA: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'client-ca-file': ca1.cert,
    'requestheader-client-ca-file': rhCA,
    'requestheader-allowed-names': '["front-proxy-client"]',
    'requestheader-username-headers': '["X-Remote-User"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    'requestheader-uid-headers': '[]',
    ...extra,
  };
}

class FakeHub implements HubAuthApi {
  cm: ConfigMapLike | undefined;
  fail: { code: number } | undefined;
  reads = 0;
  createTokenReview(): Promise<never> {
    return Promise.reject(new Error('unused'));
  }
  createSubjectAccessReview(): Promise<never> {
    return Promise.reject(new Error('unused'));
  }
  getConfigMap(): Promise<ConfigMapLike | undefined> {
    this.reads++;
    if (this.fail) return Promise.reject(Object.assign(new Error(`boom ${this.fail.code}`), { code: this.fail.code }));
    return Promise.resolve(this.cm);
  }
}

test('parseAuthConfigMap reads kube keys, JSON arrays lower-cased', () => {
  const p = parseAuthConfigMap(cmData(ca2.cert));
  assert.deepEqual(p.errors, []);
  assert.equal(p.clientCA?.certs.length, 1);
  assert.deepEqual(p.requestHeader?.usernameHeaders, ['x-remote-user']);
  assert.deepEqual(p.requestHeader?.extraHeaderPrefixes, ['x-remote-extra-']);
  assert.deepEqual(p.requestHeader?.allowedNames, ['front-proxy-client']);
  assert.deepEqual(p.requestHeader?.uidHeaders, []);
});

const badCases: { name: string; data: Record<string, string>; part: string }[] = [
  { name: 'client CA garbage', data: { 'client-ca-file': 'nope' }, part: 'clientCA' },
  { name: 'requestheader CA garbage', data: { 'requestheader-client-ca-file': 'nope' }, part: 'requestHeader' },
  {
    name: 'allowed names not JSON',
    data: cmData(ca2.cert, { 'requestheader-allowed-names': 'front-proxy-client' }),
    part: 'requestHeader',
  },
  {
    name: 'headers not strings',
    data: cmData(ca2.cert, { 'requestheader-group-headers': '[1]' }),
    part: 'requestHeader',
  },
  {
    name: 'blank header',
    data: cmData(ca2.cert, { 'requestheader-username-headers': '[" "]' }),
    part: 'requestHeader',
  },
];
for (const c of badCases) {
  test(`parseAuthConfigMap reports ${c.name}`, () => {
    const p = parseAuthConfigMap(c.data);
    assert.equal(p.errors.length, 1);
    assert.equal(p.errors[0]!.part, c.part);
  });
}

test('no ConfigMap or no keys: nothing trusted', () => {
  assert.deepEqual(parseAuthConfigMap(undefined), { clientCA: undefined, requestHeader: undefined, errors: [] });
  assert.deepEqual(parseAuthConfigMap({}), { clientCA: undefined, requestHeader: undefined, errors: [] });
});

test('reload: change, unreadable part keeps the last good value, deletion fails closed', () => {
  const logs: string[] = [];
  const d = new DynamicAuthConfig({ log: (_l, m) => logs.push(m) });
  let changes = 0;
  d.onChange(() => changes++);
  assert.equal(d.reload(cmData(ca1.cert)).changed, true);
  assert.equal(d.current.requestHeader?.ca.pem, ca1.cert);
  assert.equal(d.reload(cmData(ca1.cert)).changed, false);
  const bad = d.reload(cmData('garbage'));
  assert.equal(bad.changed, false);
  assert.equal(bad.errors.length, 1);
  assert.equal(d.current.requestHeader?.ca.pem, ca1.cert);
  assert.match(logs.join('\n'), /keeping the previous value/);
  assert.equal(d.reload(cmData(ca2.cert)).changed, true);
  assert.equal(d.current.requestHeader?.ca.pem, ca2.cert);
  assert.equal(d.reload(undefined).changed, true);
  assert.equal(d.current.requestHeader, undefined);
  assert.equal(d.current.clientCA, undefined);
  assert.equal(changes, 3);
});

test('flags override the ConfigMap part by part', () => {
  const d = new DynamicAuthConfig({ requestHeader: { clientCA: ca2.cert, allowedNames: ['me'] } });
  d.reload(cmData(ca1.cert));
  assert.equal(d.current.requestHeader?.ca.pem, ca2.cert);
  assert.deepEqual(d.current.requestHeader?.allowedNames, ['me']);
  assert.deepEqual(d.current.requestHeader?.usernameHeaders, ['x-remote-user']);
  assert.equal(d.current.clientCA?.pem, ca1.cert, 'client CA still from the ConfigMap');
  assert.equal(d.needsLookup, true);
  assert.equal(new DynamicAuthConfig({ clientCA: ca1.cert, requestHeader: { clientCA: ca2.cert } }).needsLookup, false);
  assert.throws(() => new DynamicAuthConfig({ clientCA: 'garbage' }), /does not contain any valid/);
  assert.throws(() => requestHeaderFromFlags({ clientCA: ca1.cert, usernameHeaders: [''] }), /empty header/);
});

test('start: lookup, 404 tolerated, 403 fatal unless tolerated, skip', async () => {
  const ac = new AbortController();
  try {
    const hub = new FakeHub();
    hub.cm = { metadata: { resourceVersion: '1' }, data: cmData(ca1.cert) };
    const d = new DynamicAuthConfig({ hub, pollIntervalMs: 20 });
    await d.start(ac.signal);
    assert.equal(d.current.requestHeader?.ca.pem, ca1.cert);
    // rotation is picked up by polling
    hub.cm = { metadata: { resourceVersion: '2' }, data: cmData(ca2.cert) };
    await waitFor(() => d.current.requestHeader?.ca.pem === ca2.cert);
    // a failing poll keeps the last configuration
    hub.fail = { code: 500 };
    const before = hub.reads;
    await waitFor(() => hub.reads > before + 1);
    assert.equal(d.current.requestHeader?.ca.pem, ca2.cert);

    const missing = new FakeHub();
    const d2 = new DynamicAuthConfig({ hub: missing });
    await d2.start(ac.signal);
    assert.equal(d2.current.requestHeader, undefined);

    const forbidden = new FakeHub();
    forbidden.fail = { code: 403 };
    const logs: string[] = [];
    await assert.rejects(
      new DynamicAuthConfig({ hub: forbidden, log: (_l, m) => logs.push(m) }).start(ac.signal),
      /unable to load configmap based request-header-client-ca-file: boom 403/,
    );
    assert.match(logs.join('\n'), /--role=extension-apiserver-authentication-reader/);
    await new DynamicAuthConfig({ hub: forbidden, tolerateLookupFailure: true }).start(ac.signal);

    const skipped = new FakeHub();
    await new DynamicAuthConfig({ hub: skipped, skipLookup: true }).start(ac.signal);
    assert.equal(skipped.reads, 0);
    const flagsOnly = new FakeHub();
    await new DynamicAuthConfig({ hub: flagsOnly, clientCA: ca1.cert, requestHeader: { clientCA: ca2.cert } }).start(
      ac.signal,
    );
    assert.equal(flagsOnly.reads, 0);
  } finally {
    ac.abort();
  }
});

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
