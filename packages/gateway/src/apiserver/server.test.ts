// GatewayServer against a sandbox hub, in process: what the end-to-end suites do not reach. The drain
// is bounded by --shutdown-drain-timeout (a request that never finishes is cut, stop() still returns),
// stop() is idempotent, and the router answers the wrong requests (paths, methods, upgrades, scopes)
// with the status codes and bodies a kube-apiserver would.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as tls from 'node:tls';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { Agent, request } from 'undici';
import { loadApiserverConfig, nodeCompleteEnv } from '../config/index.ts';
import { GatewayServer } from './server.ts';
import { startTestHub, type TestHub } from '../kube/testing.ts';

const GV = '/apis/cluster.core.oam.dev/v1alpha1';

let hub: TestHub;
let admin: Agent;

before(async () => {
  hub = await startTestHub();
  admin = new Agent({
    connect: { ca: hub.cluster.ca.cert, cert: hub.cluster.admin.cert, key: hub.cluster.admin.key },
  });
});

after(async () => {
  await admin.close();
  await hub.stop();
});

/** A gateway on port 0 serving with a hub-CA-signed certificate and trusting the hub's client CA. */
async function gateway(drainTimeout = '1s'): Promise<GatewayServer> {
  const clientCA = join(hub.dir, 'client-ca.crt');
  await writeFile(clientCA, hub.cluster.ca.cert);
  const pair = await hub.cluster.ca.issue({ commonName: 'gw', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const cert = join(hub.dir, 'gw.crt');
  const key = join(hub.dir, 'gw.key');
  await writeFile(cert, pair.cert);
  await writeFile(key, pair.key);
  const loaded = await loadApiserverConfig(
    [
      `--kubeconfig=${await hub.kubeconfig()}`,
      '--secure-port=0',
      '--bind-address=127.0.0.1',
      `--tls-cert-file=${cert}`,
      `--tls-private-key-file=${key}`,
      '--authentication-skip-lookup=true',
      `--client-ca-file=${clientCA}`,
      `--shutdown-drain-timeout=${drainTimeout}`,
    ],
    nodeCompleteEnv(),
  );
  if (loaded.kind !== 'config') throw new Error(JSON.stringify(loaded));
  const gw = new GatewayServer({ config: loaded.config, logger: pino({ level: 'silent' }) });
  await gw.start();
  const end = Date.now() + 10_000;
  while (!gw.ready) {
    if (Date.now() > end) throw new Error('gateway not ready');
    await new Promise((r) => setTimeout(r, 20));
  }
  return gw;
}

describe('GatewayServer lifecycle', () => {
  test('before start(): port and cache are not available', () => {
    const gw = new GatewayServer({
      config: {} as never,
      logger: pino({ level: 'silent' }),
    });
    assert.throws(() => gw.port, /not listening/);
    assert.throws(() => gw.cache, /not started/);
    assert.throws(() => gw.servingCertificate, /not started/);
    assert.equal(gw.ready, false);
  });

  test('the drain is bounded: a request that never finishes is cut after --shutdown-drain-timeout', async () => {
    const gw = await gateway('1s');
    const session = http2.connect(`https://127.0.0.1:${gw.port}`, {
      ca: hub.cluster.ca.cert,
      cert: hub.cluster.admin.cert,
      key: hub.cluster.admin.key,
    });
    session.on('error', () => undefined);
    // a PUT whose body never completes keeps one request in flight forever
    const stuck = session.request({ ':method': 'PUT', ':path': `${GV}/clustergateways/x/health` });
    stuck.on('error', () => undefined);
    let answered = false;
    stuck.on('response', () => (answered = true));
    stuck.write('{"status":');
    const closed = new Promise<void>((resolve) =>
      stuck.on('close', () => {
        resolve();
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const first = gw.stop();
    assert.equal(gw.stop(), first, 'stop() is idempotent: one shutdown');
    await first;
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 3000, `stop() took ${took} ms`);
    await closed;
    assert.equal(answered, false, 'the stuck request was cut, not answered');
    session.destroy();
  });

  test('with nothing in flight, stop() does not wait for idle connections', async () => {
    const gw = await gateway('10s');
    // an idle keep-alive HTTP/1.1 connection and an idle h2 session stay open on purpose
    const keep = new Agent({
      connect: { ca: hub.cluster.ca.cert, cert: hub.cluster.admin.cert, key: hub.cluster.admin.key },
    });
    const r = await request(`https://127.0.0.1:${gw.port}/livez`, { dispatcher: keep });
    await r.body.text();
    const session = http2.connect(`https://127.0.0.1:${gw.port}`, { ca: hub.cluster.ca.cert });
    session.on('error', () => undefined);
    await new Promise<void>((resolve) =>
      session.once('connect', () => {
        resolve();
      }),
    );
    const t0 = Date.now();
    await gw.stop();
    assert.ok(Date.now() - t0 < 1000, `stop() took ${Date.now() - t0} ms`);
    session.destroy();
    await keep.close();
  });
});

describe('GatewayServer routing', () => {
  let gw: GatewayServer;
  before(async () => {
    gw = await gateway();
  });
  after(async () => {
    await gw.stop();
  });

  const call = async (path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> => {
    const r = await request(`https://127.0.0.1:${gw.port}${path}`, {
      method: method as 'GET',
      dispatcher: admin,
    });
    return { status: r.statusCode, type: String(r.headers['content-type']), body: await r.body.text() };
  };

  const cases: { path: string; method?: string; status: number; match: RegExp }[] = [
    { path: '/version', status: 200, match: /"gitVersion":"v/ },
    { path: '/no/such/path', status: 404, match: /^404 page not found\n$/ },
    { path: '/healthz', method: 'POST', status: 405, match: /"reason":"MethodNotAllowed"/ },
    { path: '/healthz/nope', status: 404, match: /404 page not found/ },
    { path: '/livez/shutdown', status: 200, match: /^ok$/ },
    { path: `${GV}/foos`, status: 404, match: /"kind":"Status".*"code":404/ },
    { path: `${GV}/namespaces/default/clustergateways`, status: 404, match: /"code":404/ },
    { path: '/apis/cluster.core.oam.dev/v1/clustergateways', status: 404, match: /"code":404/ },
    { path: `${GV}/clustergateways/c1/status`, status: 404, match: /"code":404/ },
    { path: `${GV}/clustergateways/nope`, status: 404, match: /no such cluster nope/ },
    { path: `${GV}/clustergateways`, method: 'POST', status: 405, match: /"reason":"MethodNotAllowed"/ },
    { path: `${GV}/clustergateways/c1`, method: 'DELETE', status: 405, match: /"reason":"MethodNotAllowed"/ },
    { path: `${GV}/clustergateways?limit=x`, status: 400, match: /invalid limit/ },
    { path: `${GV}/clustergateways?fieldSelector=spec.x%3Dy`, status: 400, match: /field label not supported/ },
    { path: `${GV}/clustergateways?watch=1&resourceVersion=abc`, status: 400, match: /invalid resource version/ },
    // older than the kept history: the stream opens and says 410 Expired (kube's watch cache does so)
    {
      path: `${GV}/clustergateways?watch=1&resourceVersion=1`,
      status: 200,
      match: /^\{"type":"ERROR","object":\{.*"reason":"Expired".*"code":410\}\}\n$/,
    },
    // newer than this replica has seen (after ~3 s): 504, before any stream
    {
      path: `${GV}/clustergateways?watch=1&resourceVersion=999999999`,
      status: 504,
      match: /Too large resource version: 999999999/,
    },
  ];
  for (const c of cases) {
    test(`${c.method ?? 'GET'} ${c.path} → ${c.status}`, async () => {
      const r = await call(c.path, c.method);
      assert.equal(r.status, c.status, r.body);
      assert.match(r.body, c.match);
    });
  }

  test('an upgrade outside the proxy subresource is refused with a Status', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port: gw.port,
          ca: hub.cluster.ca.cert,
          cert: hub.cluster.admin.cert,
          key: hub.cluster.admin.key,
          ALPNProtocols: ['http/1.1'],
        },
        () => {
          s.write(`GET ${GV}/clustergateways HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
        },
      );
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (data += d));
      s.on('end', () => {
        resolve(data);
      });
      s.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(raw, /"kind":"Status"/);
    assert.match(raw, /only served by the clustergateways\/proxy subresource/);
  });
});
