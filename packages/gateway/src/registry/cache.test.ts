// The ClusterCache with scripted informers: Secret add/update/delete become ClusterEvents stamped with
// hub resourceVersions, malformed Secrets are tracked (and reported once per reason), the OCM merge
// and dangling-Secret filter follow whether the ManagedCluster API is served, and the watch history
// replays from a version, expires below its floor and waits for versions it has not seen yet.

import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { ResyncDiff } from '../kube/informer.ts';
import { ClusterCache, ExpiredError, type ClusterEvent, type OptionalSource } from './cache.ts';
import type { ManagedClusterCondition, ManagedClusterLike, SecretLike } from './convert.ts';
import { LABEL_CREDENTIAL_TYPE, LABEL_ENDPOINT_TYPE, ANNOTATION_HEALTHY, type InvalidCluster } from './types.ts';
import { testPKI, type TestPKI } from './testdata/pki.ts';

const NS = 'vela-system';
const b64 = (s: string): string => Buffer.from(s).toString('base64');

type Meta = { name: string; namespace?: string; resourceVersion: string };
type SecretObj = SecretLike & { metadata: Meta };
type MCObj = ManagedClusterLike & { metadata: Meta };

/** An informer double: a keyed store whose changes are pushed to the handlers, as Informer does. */
class FakeSource<T extends { metadata: Meta }> implements OptionalSource<T> {
  served = true;
  synced = true;
  readonly #items = new Map<string, T>();
  readonly #add = new Set<(o: T) => void>();
  readonly #update = new Set<(old: T, o: T) => void>();
  readonly #delete = new Set<(o: T) => void>();
  readonly #resync = new Set<(d: ResyncDiff<T>) => void>();

  static key(o: { metadata: Meta }): string {
    return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
  }

  list(): T[] {
    return [...this.#items.values()];
  }
  get(key: string): T | undefined {
    return this.#items.get(key);
  }
  hasSynced(): boolean {
    return this.synced;
  }
  onAdd(fn: (o: T) => void): () => void {
    this.#add.add(fn);
    return () => this.#add.delete(fn);
  }
  onUpdate(fn: (old: T, o: T) => void): () => void {
    this.#update.add(fn);
    return () => this.#update.delete(fn);
  }
  onDelete(fn: (o: T) => void): () => void {
    this.#delete.add(fn);
    return () => this.#delete.delete(fn);
  }
  onResync(fn: (d: ResyncDiff<T>) => void): () => void {
    this.#resync.add(fn);
    return () => this.#resync.delete(fn);
  }
  get handlers(): number {
    return this.#add.size + this.#update.size + this.#delete.size + this.#resync.size;
  }

  /** fill the store without telling anyone (state before the cache exists) */
  seed(o: T): void {
    this.#items.set(FakeSource.key(o), o);
  }
  put(o: T): void {
    const k = FakeSource.key(o);
    const old = this.#items.get(k);
    this.#items.set(k, o);
    if (old) for (const h of this.#update) h(old, o);
    else for (const h of this.#add) h(o);
  }
  remove(o: T): void {
    this.#items.delete(FakeSource.key(o));
    for (const h of this.#delete) h(o);
  }
  /** a re-list: replace everything, emit per-object events, then the difference (as Informer.#replace) */
  relist(next: T[]): void {
    const prev = new Map(this.#items);
    this.#items.clear();
    for (const o of next) this.#items.set(FakeSource.key(o), o);
    const d: ResyncDiff<T> = { added: [], updated: [], deleted: [] };
    for (const [k, o] of prev) if (!this.#items.has(k)) d.deleted.push(o);
    for (const [k, o] of this.#items) {
      const old = prev.get(k);
      if (!old) d.added.push(o);
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) d.updated.push({ old, obj: o });
    }
    for (const o of d.deleted) for (const h of this.#delete) h(o);
    for (const o of d.added) for (const h of this.#add) h(o);
    for (const u of d.updated) for (const h of this.#update) h(u.old, u.obj);
    for (const h of this.#resync) h(d);
  }
}

let pki: TestPKI;
before(async () => {
  pki = await testPKI();
});

interface SecretSpec {
  rv: string;
  credType?: string | null;
  endpoint?: string;
  token?: string | null;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

function secret(name: string, s: SecretSpec): SecretObj {
  const labels: Record<string, string> = { [LABEL_ENDPOINT_TYPE]: 'Const', ...(s.labels ?? {}) };
  if (s.credType !== null) labels[LABEL_CREDENTIAL_TYPE] = s.credType ?? 'ServiceAccountToken';
  const data: Record<string, string> = { endpoint: b64(s.endpoint ?? `https://${name}.example:6443`) };
  data['ca.crt'] = b64(pki.caCert);
  if (s.token !== null) data.token = b64(s.token ?? 'tok');
  return {
    metadata: {
      name,
      namespace: NS,
      resourceVersion: s.rv,
      uid: `uid-${name}`,
      labels,
      ...(s.annotations ? { annotations: s.annotations } : {}),
    },
    data,
  };
}

function managedCluster(
  name: string,
  rv: string,
  opts: { url?: string; ca?: string; available?: string; noConfigs?: boolean } = {},
): MCObj {
  const conditions: ManagedClusterCondition[] = opts.available
    ? [{ type: 'ManagedClusterConditionAvailable', status: opts.available, reason: 'Probe', message: 'probed' }]
    : [];
  return {
    metadata: { name, resourceVersion: rv },
    spec: {
      managedClusterClientConfigs: opts.noConfigs
        ? []
        : [{ url: opts.url ?? `https://mc-${name}.example:6443`, ...(opts.ca ? { caBundle: b64(opts.ca) } : {}) }],
    },
    status: { conditions },
  };
}

interface Harness {
  secrets: FakeSource<SecretObj>;
  mcs: FakeSource<MCObj> | undefined;
  cache: ClusterCache;
  events: ClusterEvent[];
  invalid: InvalidCluster[];
  /** events as `TYPE name@rv` */
  log(): string[];
}

function harness(
  o: {
    ocm?: boolean;
    allowStandalone?: boolean;
    historySize?: number;
    pollMs?: number;
    seed?: (s: Harness) => void;
  } = {},
): Harness {
  const secrets = new FakeSource<SecretObj>();
  const mcs = o.ocm ? new FakeSource<MCObj>() : undefined;
  const events: ClusterEvent[] = [];
  const invalid: InvalidCluster[] = [];
  const h = { secrets, mcs, events, invalid } as Harness;
  o.seed?.(h);
  h.cache = new ClusterCache({
    secrets,
    ...(mcs ? { managedClusters: mcs } : {}),
    secretNamespace: NS,
    convert: { featureGates: { HealthinessCheck: true, ClientIdentityPenetration: false }, insecureWithoutCA: true },
    allowStandaloneSecrets: o.allowStandalone ?? false,
    ...(o.historySize !== undefined ? { historySize: o.historySize } : {}),
    managedClusterApiPollMs: o.pollMs ?? 0,
    onInvalid: (i) => invalid.push(i),
    onChange: (ev) => events.push(ev),
  });
  h.log = () => events.map((e) => `${e.type} ${e.cluster.name}@${e.rv}`);
  return h;
}

describe('ClusterCache: Secrets', () => {
  test('add, update and delete become ADDED, MODIFIED and DELETED at the hub resourceVersion', () => {
    const h = harness();
    h.secrets.put(secret('c1', { rv: '10' }));
    assert.equal(h.cache.get('c1')?.resourceVersion, '10');
    assert.equal(h.cache.resourceVersion, 10);
    h.secrets.put(secret('c1', { rv: '12', endpoint: 'https://moved.example:6443' }));
    assert.equal(h.cache.get('c1')?.endpoint.address, 'https://moved.example:6443');
    h.secrets.remove(secret('c1', { rv: '15' }));
    assert.equal(h.cache.get('c1'), undefined);
    assert.deepEqual(h.log(), ['ADDED c1@10', 'MODIFIED c1@12', 'DELETED c1@15']);
    const [, modified, deleted] = h.events;
    assert.equal(modified?.previous?.endpoint.address, 'https://c1.example:6443');
    assert.equal(deleted?.cluster.resourceVersion, '15', 'the deleted object carries the deletion version');
    assert.equal(h.cache.size, 0);
  });

  test('an update that changes nothing the gateway reads is no event, but advances the version', () => {
    const h = harness();
    h.secrets.put(secret('c1', { rv: '10' }));
    h.secrets.put(secret('c1', { rv: '11', labels: {} }));
    assert.deepEqual(h.log(), ['ADDED c1@10']);
    assert.equal(h.cache.resourceVersion, 11);
    // what a GET shows must be what the watch delivered
    assert.equal(h.cache.get('c1')?.resourceVersion, '10');
  });

  test('Secrets without the credential-type label are not clusters; removing the label deletes it', () => {
    const h = harness();
    h.secrets.put(secret('plain', { rv: '5', credType: null }));
    assert.equal(h.cache.get('plain'), undefined);
    assert.equal(h.cache.invalid('plain'), undefined);
    h.secrets.put(secret('c1', { rv: '6' }));
    h.secrets.put(secret('c1', { rv: '7', credType: null }));
    assert.deepEqual(h.log(), ['ADDED c1@6', 'DELETED c1@7']);
  });

  test('the cluster list is sorted by name and its version is the newest change', () => {
    const h = harness();
    for (const [n, rv] of [
      ['zeta', '3'],
      ['alpha', '4'],
      ['mid', '2'],
    ] as const)
      h.secrets.put(secret(n, { rv }));
    assert.deepEqual(
      h.cache.list().map((c) => c.name),
      ['alpha', 'mid', 'zeta'],
    );
    assert.equal(h.cache.resourceVersion, 4);
    // the version never goes back, even when a lagging event carries an older one
    assert.equal(h.events.at(-1)?.rv, 4);
  });

  test('health annotations flow into the cluster (HealthinessCheck on)', () => {
    const h = harness();
    h.secrets.put(secret('c1', { rv: '1' }));
    h.secrets.put(secret('c1', { rv: '2', annotations: { [ANNOTATION_HEALTHY]: 'true' } }));
    assert.equal(h.cache.get('c1')?.healthy, true);
    assert.deepEqual(h.log(), ['ADDED c1@1', 'MODIFIED c1@2']);
  });

  test('relist differences are applied (added, updated and deleted Secrets)', () => {
    const h = harness();
    h.secrets.put(secret('keep', { rv: '1' }));
    h.secrets.put(secret('gone', { rv: '2' }));
    h.secrets.put(secret('changed', { rv: '3' }));
    h.events.length = 0;
    h.secrets.relist([
      secret('keep', { rv: '1' }),
      secret('changed', { rv: '8', endpoint: 'https://new.example:6443' }),
      secret('new', { rv: '9' }),
    ]);
    // each difference is one event (the resync report repeats them: no duplicates), and versions
    // never go backwards even though a re-list delivers them out of order
    assert.deepEqual(h.log(), ['DELETED gone@3', 'ADDED new@9', 'MODIFIED changed@9']);
    assert.deepEqual(
      h.cache.list().map((c) => c.name),
      ['changed', 'keep', 'new'],
    );
  });

  test('stop() detaches from the informers', () => {
    const h = harness({ ocm: true });
    assert.ok(h.secrets.handlers > 0);
    h.cache.stop();
    assert.equal(h.secrets.handlers, 0);
    assert.equal(h.mcs?.handlers, 0);
    h.secrets.put(secret('c1', { rv: '1' }));
    assert.equal(h.cache.get('c1'), undefined);
  });
});

describe('ClusterCache: malformed Secrets', () => {
  test('tracked with a reason, reported once per reason, never hiding others', () => {
    const h = harness();
    h.secrets.put(secret('ok', { rv: '1' }));
    h.secrets.put(secret('bad', { rv: '2', token: null }));
    assert.equal(h.cache.get('bad'), undefined);
    assert.match(h.cache.invalid('bad')?.reason ?? '', /missing secret data key: token/);
    assert.equal(h.cache.invalidClusters().length, 1);
    assert.ok(h.cache.get('ok'), 'a broken Secret does not hide the others');
    // same problem again (e.g. an unrelated edit): not reported twice
    h.secrets.put(secret('bad', { rv: '3', token: null, labels: { x: 'y' } }));
    assert.equal(h.invalid.length, 1);
    // a different problem is reported
    h.secrets.put(secret('bad', { rv: '4', token: null, endpoint: 'ftp://x' }));
    assert.equal(h.invalid.length, 2);
    assert.match(h.invalid[1]!.reason, /must be an https/);
    // fixed: it becomes a cluster and leaves the invalid set
    h.secrets.put(secret('bad', { rv: '5' }));
    assert.equal(h.cache.invalid('bad'), undefined);
    assert.ok(h.cache.get('bad'));
    assert.deepEqual(h.log(), ['ADDED ok@1', 'ADDED bad@5']);
  });

  test('a served cluster that turns invalid is DELETED; deleting an invalid Secret forgets it', () => {
    const h = harness();
    h.secrets.put(secret('c1', { rv: '1' }));
    h.secrets.put(secret('c1', { rv: '2', credType: 'Bogus' }));
    assert.match(h.cache.invalid('c1')?.reason ?? '', /unrecognized secret credential type Bogus/);
    assert.deepEqual(h.log(), ['ADDED c1@1', 'DELETED c1@2']);
    h.secrets.remove(secret('c1', { rv: '3', credType: 'Bogus' }));
    assert.equal(h.cache.invalid('c1'), undefined);
    assert.deepEqual(h.cache.invalidClusters(), []);
    assert.equal(h.events.length, 2, 'no event for forgetting an invalid Secret');
  });
});

describe('ClusterCache: OCM ManagedClusters', () => {
  test('merge: address and CA come from the ManagedCluster, health from its Available condition', () => {
    const h = harness({ ocm: true });
    h.mcs!.put(managedCluster('c1', '5', { url: 'https://ocm.example:443', ca: pki.caCert, available: 'True' }));
    h.secrets.put(secret('c1', { rv: '6', endpoint: 'https://secret.example:6443' }));
    const c = h.cache.get('c1')!;
    assert.equal(c.endpoint.address, 'https://ocm.example:443');
    assert.equal(c.endpoint.caBundle?.toString(), pki.caCert);
    assert.equal(c.healthy, true);
    assert.deepEqual(c.source, { secretResourceVersion: '6', managedClusterResourceVersion: '5' });
  });

  test('a ManagedCluster change re-emits MODIFIED at its version', () => {
    const h = harness({ ocm: true });
    h.mcs!.put(managedCluster('c1', '5', { available: 'True' }));
    h.secrets.put(secret('c1', { rv: '6' }));
    h.mcs!.put(managedCluster('c1', '9', { available: 'False' }));
    assert.equal(h.cache.get('c1')?.healthy, false);
    assert.match(h.cache.get('c1')?.healthyReason ?? '', /ManagedClusterConditionAvailable=False/);
    h.mcs!.put(managedCluster('c1', '11', { available: 'False', url: 'https://elsewhere.example:6443' }));
    assert.equal(h.cache.get('c1')?.endpoint.address, 'https://elsewhere.example:6443');
    assert.deepEqual(h.log(), ['ADDED c1@6', 'MODIFIED c1@9', 'MODIFIED c1@11']);
  });

  test('a ManagedCluster without client configs makes the cluster invalid (no endpoint)', () => {
    const h = harness({ ocm: true });
    h.mcs!.put(managedCluster('c1', '5', { noConfigs: true }));
    h.secrets.put(secret('c1', { rv: '6' }));
    assert.match(h.cache.invalid('c1')?.reason ?? '', /no spec.managedClusterClientConfigs\[0\].url/);
  });

  const dangling = [
    { title: 'served API, standalone not allowed: filtered out', served: true, allow: false, listed: false },
    { title: 'served API, --ocm-allow-standalone-secrets: kept', served: true, allow: true, listed: true },
    { title: 'API not served: kept (Secret-only conversion)', served: false, allow: false, listed: true },
  ];
  for (const c of dangling) {
    test(`a Secret without ManagedCluster (dangling), ${c.title}`, () => {
      const h = harness({
        ocm: true,
        allowStandalone: c.allow,
        seed: (s) => {
          s.mcs!.served = c.served;
        },
      });
      h.secrets.put(secret('lonely', { rv: '3' }));
      assert.equal(h.cache.get('lonely') !== undefined, c.listed);
      assert.equal(h.cache.invalid('lonely'), undefined, 'dangling is not "invalid"');
      if (c.listed) assert.equal(h.cache.get('lonely')?.endpoint.address, 'https://lonely.example:6443');
    });
  }

  test('deleting the ManagedCluster filters the cluster out, or falls back to the Secret when allowed', () => {
    for (const allow of [false, true]) {
      const h = harness({ ocm: true, allowStandalone: allow });
      h.mcs!.put(managedCluster('c1', '5', { available: 'True' }));
      h.secrets.put(secret('c1', { rv: '6' }));
      h.mcs!.remove(managedCluster('c1', '8', { available: 'True' }));
      if (allow) {
        assert.equal(h.cache.get('c1')?.endpoint.address, 'https://c1.example:6443');
        assert.deepEqual(h.log(), ['ADDED c1@6', 'MODIFIED c1@8']);
      } else {
        assert.equal(h.cache.get('c1'), undefined);
        assert.deepEqual(h.log(), ['ADDED c1@6', 'DELETED c1@8']);
      }
    }
  });

  test('the ManagedCluster API appearing or going away re-evaluates every Secret', () => {
    const h = harness({
      ocm: true,
      seed: (s) => {
        s.mcs!.served = false;
      },
    });
    h.secrets.put(secret('c1', { rv: '1' }));
    h.secrets.put(secret('c2', { rv: '2' }));
    assert.equal(h.cache.size, 2, 'no ManagedCluster API: Secret-only clusters');
    // CRD installed: the informer starts (served) and lists (synced) with no objects at all
    h.mcs!.served = true;
    h.mcs!.synced = false;
    h.cache.refreshManagedClusterAPI();
    assert.equal(h.cache.size, 2, 'nothing is dropped before the ManagedCluster list arrived');
    h.mcs!.synced = true;
    h.cache.refreshManagedClusterAPI();
    assert.equal(h.cache.size, 0, 'both Secrets are dangling now');
    h.mcs!.put(managedCluster('c1', '7', { available: 'True' }));
    assert.deepEqual(
      h.cache.list().map((c) => c.name),
      ['c1'],
    );
    // CRD removed: the informer reports its objects deleted after it stopped being served
    h.mcs!.served = false;
    h.mcs!.remove(managedCluster('c1', '9'));
    h.cache.refreshManagedClusterAPI();
    assert.deepEqual(
      h.cache.list().map((c) => c.name),
      ['c1', 'c2'],
    );
    assert.equal(h.cache.get('c1')?.endpoint.address, 'https://c1.example:6443');
  });

  test('the ManagedCluster API check runs by itself (polled), and stops with the cache', async () => {
    const h = harness({
      ocm: true,
      pollMs: 5,
      seed: (s) => {
        s.mcs!.served = false;
      },
    });
    h.secrets.put(secret('c1', { rv: '1' }));
    h.mcs!.served = true;
    const end = Date.now() + 2000;
    while (h.cache.size !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.cache.size, 0);
    h.cache.stop();
    h.mcs!.served = false;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(h.cache.size, 0, 'no longer polled after stop()');
  });

  test('hasSynced waits for both informers', () => {
    const h = harness({ ocm: true });
    h.mcs!.synced = false;
    assert.equal(h.cache.hasSynced(), false);
    h.mcs!.synced = true;
    h.secrets.synced = false;
    assert.equal(h.cache.hasSynced(), false);
    h.secrets.synced = true;
    assert.equal(h.cache.hasSynced(), true);
    assert.equal(harness().cache.hasSynced(), true);
  });
});

describe('ClusterCache: rebuild and watch history', () => {
  test('rebuild() builds the model from informers filled before the cache existed', () => {
    const h = harness({
      ocm: true,
      seed: (s) => {
        s.secrets.seed(secret('c1', { rv: '20' }));
        s.secrets.seed(secret('c2', { rv: '21' }));
        s.mcs!.seed(managedCluster('c1', '22', { available: 'True' }));
        s.mcs!.seed(managedCluster('nosecret', '23'));
      },
    });
    assert.equal(h.cache.size, 0);
    h.cache.rebuild();
    assert.deepEqual(
      h.cache.list().map((c) => c.name),
      ['c1'],
      'c2 is dangling; a ManagedCluster without Secret is no cluster',
    );
    assert.equal(h.cache.get('c1')?.healthy, true);
    assert.equal(h.cache.resourceVersion, 22);
    // the history floor is the rebuild version: nothing older can be replayed
    assert.throws(() => h.cache.watch(5, () => undefined), ExpiredError);
    assert.doesNotThrow(() => {
      h.cache.watch(22, () => undefined)();
    });
  });

  test('no clusters at sync: versions before the sync version are expired, not "complete"', () => {
    const h = harness();
    h.cache.observe('150');
    h.cache.rebuild();
    assert.throws(() => h.cache.watch(1, () => undefined), ExpiredError);
    assert.doesNotThrow(() => {
      h.cache.watch(150, () => undefined)();
    });
  });

  test('watch replays history after the version, then streams live events', () => {
    const h = harness();
    h.secrets.put(secret('a', { rv: '1' }));
    h.secrets.put(secret('b', { rv: '2' }));
    h.secrets.put(secret('a', { rv: '3', endpoint: 'https://a2.example:6443' }));
    const got: string[] = [];
    const stop = h.cache.watch(1, (ev) => got.push(`${ev.type} ${ev.cluster.name}@${ev.rv}`));
    assert.deepEqual(got, ['ADDED b@2', 'MODIFIED a@3']);
    h.secrets.remove(secret('b', { rv: '4' }));
    assert.deepEqual(got.at(-1), 'DELETED b@4');
    stop();
    h.secrets.put(secret('c', { rv: '5' }));
    assert.equal(got.length, 3, 'no events after unsubscribing');
    const all: string[] = [];
    h.cache.watch(0, (ev) => all.push(ev.type))();
    assert.equal(all.length, 5, 'from 0 with full history: everything');
  });

  test('a version older than the kept history is Expired (410 for clients)', () => {
    const h = harness({ historySize: 2 });
    for (let i = 1; i <= 5; i++) h.secrets.put(secret(`c${i}`, { rv: String(i * 10) }));
    // kept: 40 and 50; complete only after 30
    assert.throws(
      () => h.cache.watch(20, () => undefined),
      (e: unknown) => {
        assert.ok(e instanceof ExpiredError);
        assert.match(e.message, /too old resource version: 20 \(30\)/);
        return true;
      },
    );
    const got: number[] = [];
    h.cache.watch(30, (ev) => got.push(ev.rv))();
    assert.deepEqual(got, [40, 50]);
  });

  test('waitForResourceVersion: at once when caught up, on progress, false on timeout or abort', async () => {
    const h = harness();
    h.secrets.put(secret('c1', { rv: '10' }));
    assert.equal(await h.cache.waitForResourceVersion(10, 10), true);
    const waiting = h.cache.waitForResourceVersion(15, 2000);
    h.cache.observe('12');
    h.secrets.put(secret('c2', { rv: '15' }));
    assert.equal(await waiting, true);
    assert.equal(await h.cache.waitForResourceVersion(99, 30), false);
    const ac = new AbortController();
    const aborted = h.cache.waitForResourceVersion(99, 10_000, ac.signal);
    ac.abort();
    assert.equal(await aborted, false);
    // bookmarks (observe) move the version without events; junk versions are ignored
    h.cache.observe('40');
    h.cache.observe('not-a-number');
    h.cache.observe(30);
    assert.equal(h.cache.resourceVersion, 40);
  });
});
