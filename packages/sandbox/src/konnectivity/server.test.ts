// The sandbox proxy-server at the packet level, driven by a bare gRPC client speaking
// /ProxyService/Proxy the way the Go konnectivity-client does (one stream per connection).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { createCA } from '../pki/pki.ts';
import { NO_BACKEND, destinationHost, startKonnectivityServer, tcpAgent, type KonnectivityServer } from './server.ts';
import { proxyService, type Packet } from './protocol.ts';

/** What a client sends (the server's OutPacket is the other direction). */
interface ClientPacket {
  type: string;
  dialRequest?: { protocol: string; address: string; random: string };
  data?: { connectID: string; data: Buffer };
  closeRequest?: { connectID: string };
  closeDial?: { random: string };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Stream {
  readonly packets: Packet[] = [];
  status: grpc.StatusObject | undefined;
  readonly call: grpc.ClientDuplexStream<ClientPacket, Packet>;
  #waiters: (() => void)[] = [];
  constructor(client: grpc.Client) {
    const m = proxyService()['Proxy'] as MethodDefinition<ClientPacket, Packet>;
    this.call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
    this.call.on('data', (p: Packet) => {
      this.packets.push(p);
      this.#wake();
    });
    this.call.on('error', () => undefined);
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
      this.#wake();
    });
  }
  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
  send(p: ClientPacket): void {
    this.call.write(p);
  }
  async until<T>(f: () => T | undefined, ms = 3000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out; got ${JSON.stringify(this.packets.map((p) => p.type))}`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  next(type: string): Promise<Packet> {
    return this.until(() => this.packets.find((p) => p.type === type));
  }
  ended(): Promise<grpc.StatusObject> {
    return this.until(() => this.status);
  }
}

describe('sandbox Konnectivity proxy-server', () => {
  let ks: KonnectivityServer;
  let client: grpc.Client;
  let echo: net.Server;
  let echoPort: number;
  const FIRST = 2n ** 62n;

  before(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as net.AddressInfo).port;
    ks = await startKonnectivityServer({ firstConnectID: FIRST });
    ks.registerAgent('echo', tcpAgent('127.0.0.1', echoPort));
    client = new grpc.Client(
      `127.0.0.1:${ks.port}`,
      grpc.credentials.createSsl(Buffer.from(ks.ca), Buffer.from(ks.clientKey), Buffer.from(ks.clientCert)),
    );
  });
  after(async () => {
    client.close();
    await ks.stop();
    echo.close();
  });

  test('destinationHost strips the port like Go RemovePortFromHost', () => {
    const cases: [string, string][] = [
      ['cluster-2:443', 'cluster-2'],
      ['cluster-2', 'cluster-2'],
      ['10.0.0.1:6443', '10.0.0.1'],
      ['[::1]:443', '::1'],
      ['::1', '::1'],
      ['', ''],
    ];
    for (const [address, host] of cases) assert.equal(destinationHost(address), host, address);
  });

  test('dial, DATA both ways, CLOSE_REQ → CLOSE_RSP and the stream ends OK', async () => {
    const s = new Stream(client);
    s.send({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'echo:443', random: '9223372036854775807' } });
    const rsp = await s.next('DIAL_RSP');
    assert.equal(rsp.dialResponse?.error, '');
    assert.equal(rsp.dialResponse?.random, '9223372036854775807');
    const id = rsp.dialResponse.connectID;
    assert.ok(BigInt(id) >= FIRST);
    s.send({ type: 'DATA', data: { connectID: id, data: Buffer.from('ping') } });
    const data = await s.next('DATA');
    assert.equal(data.data?.connectID, id);
    assert.equal(data.data?.data.toString(), 'ping');
    s.send({ type: 'CLOSE_REQ', closeRequest: { connectID: id } });
    const close = await s.next('CLOSE_RSP');
    assert.deepEqual(close.closeResponse, { connectID: id, error: '' });
    assert.equal((await s.ended()).code, grpc.status.OK);
  });

  test('no agent for the host: DIAL_RSP "No backend available" and the stream ends', async () => {
    const s = new Stream(client);
    s.send({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'nowhere:443', random: '5' } });
    const rsp = await s.next('DIAL_RSP');
    assert.deepEqual(rsp.dialResponse, { error: NO_BACKEND, connectID: '0', random: '5' });
    assert.equal((await s.ended()).code, grpc.status.OK);
  });

  test('agent dial failure is returned in DIAL_RSP', async () => {
    ks.registerAgent('broken', () => Promise.reject(new Error('dial tcp 127.0.0.1:1: connect: connection refused')));
    const s = new Stream(client);
    s.send({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'broken:443', random: '6' } });
    const rsp = await s.next('DIAL_RSP');
    assert.equal(rsp.dialResponse?.error, 'dial tcp 127.0.0.1:1: connect: connection refused');
  });

  test('unsupported protocol is refused', async () => {
    const s = new Stream(client);
    s.send({ type: 'DIAL_REQ', dialRequest: { protocol: 'udp', address: 'echo:53', random: '8' } });
    assert.match((await s.next('DIAL_RSP')).dialResponse!.error, /unsupported protocol "udp"/);
  });

  test('DATA before a dial: CLOSE_RSP "backend not initialized" (as Go)', async () => {
    const s = new Stream(client);
    s.send({ type: 'DATA', data: { connectID: '3', data: Buffer.from('x') } });
    const close = await s.next('CLOSE_RSP');
    assert.deepEqual(close.closeResponse, { connectID: '3', error: 'backend not initialized' });
    assert.equal((await s.ended()).code, grpc.status.OK);
  });

  test('DIAL_CLS abandons a pending dial: the late connection is closed', async () => {
    let release!: (d: Duplex) => void;
    ks.registerAgent('slow', () => new Promise<Duplex>((r) => (release = r)));
    const s = new Stream(client);
    s.send({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'slow:443', random: '11' } });
    await sleep(50);
    s.send({ type: 'DIAL_CLS', closeDial: { random: '11' } });
    await sleep(50);
    const late = await tcpAgent('127.0.0.1', echoPort)('');
    release(late);
    await new Promise((r) => late.once('close', r));
    assert.equal(
      s.packets.find((p) => p.type === 'DIAL_RSP'),
      undefined,
    );
    s.call.end();
    await s.ended();
  });

  test('the member closing the connection sends CLOSE_RSP', async () => {
    const bye = net.createServer((c) => c.end('bye'));
    await new Promise<void>((r) => bye.listen(0, '127.0.0.1', r));
    ks.registerAgent('bye', tcpAgent('127.0.0.1', (bye.address() as net.AddressInfo).port));
    const s = new Stream(client);
    s.send({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'bye:443', random: '12' } });
    const id = (await s.next('DIAL_RSP')).dialResponse!.connectID;
    assert.equal((await s.next('DATA')).data?.data.toString(), 'bye');
    assert.equal((await s.next('CLOSE_RSP')).closeResponse?.connectID, id);
    assert.equal((await s.ended()).code, grpc.status.OK);
    bye.close();
  });

  test('the client cancelling its stream closes the member connection', async () => {
    let member: net.Socket | undefined;
    const srv = net.createServer((c) => (member = c));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    ks.registerAgent('held', tcpAgent('127.0.0.1', (srv.address() as net.AddressInfo).port));
    const s = new Stream(client);
    s.send({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'held:443', random: '13' } });
    await s.next('DIAL_RSP');
    await sleep(20);
    assert.ok(member);
    const closed = new Promise((r) => member!.once('close', r));
    s.call.cancel();
    await closed;
    srv.close();
  });

  test('mTLS: a client without a certificate signed by the server CA is refused', async () => {
    const other = await createCA('other');
    const pair = await other.issue({ commonName: 'intruder', usage: 'client' });
    const c = new grpc.Client(
      `127.0.0.1:${ks.port}`,
      grpc.credentials.createSsl(Buffer.from(ks.ca), Buffer.from(pair.key), Buffer.from(pair.cert)),
    );
    const s = new Stream(c);
    s.send({ type: 'DIAL_REQ', dialRequest: { protocol: 'tcp', address: 'echo:443', random: '14' } });
    assert.equal((await s.ended()).code, grpc.status.UNAVAILABLE);
    c.close();
  });

  test('stats count streams and dials; nothing stays open', async () => {
    await sleep(50);
    assert.equal(ks.stats.streams, 8); // the refused mTLS client never got one
    assert.equal(ks.stats.dials, 3);
    assert.equal(ks.stats.activeStreams, 0);
    assert.equal(ks.stats.openConnections, 0);
  });
});
