// These tests load real eBPF programs: they need root (CI runs as root). All traffic stays on
// loopback: TCP between two child processes, DNS to a resolver this test runs itself.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { Tier } from '@palisade/protocol';
import { type Collected, marker, run, sleep, startSensor } from './test-support.test-util.js';

const SERVER = `
const net = require('node:net');
const s = net.createServer((c) => { c.on('data', () => { c.end('pong'); }); c.on('close', () => s.close()); });
s.listen(0, process.argv[1], () => process.stdout.write(String(s.address().port) + '\\n'));`;

const CLIENT = `
const net = require('node:net');
const c = net.connect(Number(process.argv[2]), process.argv[1], () => c.write('hello'));
c.on('data', () => c.end());
c.on('close', () => process.exit(0));`;

/** startServer runs the TCP server child and resolves with it and its port. */
async function startServer(host: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', SERVER, host], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data', { signal: AbortSignal.timeout(10_000) })) as [Buffer];
  return { child, port: Number(line.toString().trim()) };
}

/** exitOf waits for a child to exit; a child still running after 10 s is killed and the test fails. */
async function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    await once(child, 'exit', { signal: AbortSignal.timeout(10_000) });
  } catch {
    child.kill('SIGKILL');
    throw new Error('the TCP server child did not finish its connection within 10 s');
  }
}

async function tcpRoundTrip(c: Collected, host: string, family: number): Promise<void> {
  const { child: server, port } = await startServer(host);
  const client = await run(process.execPath, ['-e', CLIENT, host, String(port)]);
  assert.equal(client.code, 0);
  await exitOf(server);

  const connect = await c.waitFor(
    (e) =>
      e.classUid === 4001 &&
      e.activityId === 1 &&
      e.process?.pid === client.pid &&
      e.dstEndpoint?.port === port,
    'connect event',
  );
  assert.equal(connect.connectionInfo?.directionId, 2);
  assert.equal(connect.connectionInfo?.protocolNum, 6);
  assert.equal(connect.connectionInfo?.protocolVerId, family);
  assert.equal(connect.dstEndpoint?.ip, host);
  assert.equal(connect.srcEndpoint?.ip, host);
  const clientPort = connect.srcEndpoint!.port;
  assert.ok(clientPort > 0);
  assert.equal(connect.process?.path, process.execPath);

  const accept = await c.waitFor(
    (e) =>
      e.classUid === 4001 &&
      e.activityId === 1 &&
      e.process?.pid === server.pid &&
      e.srcEndpoint?.port === clientPort,
    'accept event',
  );
  assert.equal(accept.connectionInfo?.directionId, 1);
  assert.equal(accept.dstEndpoint?.port, port);
  assert.equal(accept.srcEndpoint?.ip, host);

  const clientClose = await c.waitFor(
    (e) =>
      e.classUid === 4001 &&
      e.activityId === 2 &&
      e.process?.pid === client.pid &&
      e.dstEndpoint?.port === port,
    'client close event',
  );
  const serverClose = await c.waitFor(
    (e) =>
      e.classUid === 4001 &&
      e.activityId === 2 &&
      e.process?.pid === server.pid &&
      e.srcEndpoint?.port === clientPort,
    'server close event',
  );
  // 'hello' is 5 bytes and 'pong' 4; the kernel's receive count also includes the peer's FIN.
  assert.equal(clientClose.traffic?.bytesOut, 5n);
  assert.ok(clientClose.traffic!.bytesIn >= 4n);
  assert.equal(serverClose.traffic?.bytesOut, 4n);
  assert.ok(serverClose.traffic!.bytesIn >= 5n);
}

const DNS_CLIENT = `
const dgram = require('node:dgram');
const [host, name, mode] = process.argv.slice(1);
const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
const q = Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 28, 0, 1])]);
const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
s.on('message', () => { s.close(); process.exit(0); });
setTimeout(() => process.exit(2), 3000);
if (mode === 'connected') s.connect(53, host, () => s.send(q)); else s.send(q, 53, host);`;

/** startResolver answers any query with an empty response, on a random loopback address. */
async function startResolver(): Promise<{ sock: Socket; host: string }> {
  for (let i = 0; i < 5; i++) {
    const host = `127.53.${randomInt(1, 255)}.${randomInt(1, 255)}`;
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const reply = Buffer.from(msg);
      reply[2] = (reply[2] ?? 0) | 0x80;
      sock.send(reply, rinfo.port, rinfo.address);
    });
    try {
      sock.bind(53, host);
      await once(sock, 'listening', { signal: AbortSignal.timeout(5000) });
      return { sock, host };
    } catch {
      sock.close();
    }
  }
  throw new Error('no free loopback address for the test resolver');
}

describe('eBPF sensor: network (root, real kernel, loopback only)', () => {
  let c: Collected;
  before(async () => {
    c = await startSensor();
  });
  after(async () => {
    await c.sensor.stop();
  });

  test('TCP over IPv4: connect, accept and close with both pids and bytes', async () => {
    await tcpRoundTrip(c, '127.0.0.1', 4);
  });

  test('TCP over IPv6: connect, accept and close', async () => {
    await tcpRoundTrip(c, '::1', 6);
  });

  test('DNS query to port 53: query name, type and owning pid (sendto and connected send)', async () => {
    const { sock, host } = await startResolver();
    try {
      for (const mode of ['unconnected', 'connected']) {
        const name = `${marker()}.example.test`;
        const r = await run(process.execPath, ['-e', DNS_CLIENT, host, name, mode]);
        assert.equal(r.code, 0, `the ${mode} DNS client got its answer`);
        const q = await c.waitFor(
          (e) => e.classUid === 4003 && e.query?.hostname === name,
          `DNS query (${mode})`,
        );
        assert.equal(q.activityId, 1);
        assert.equal(q.query?.type, 'AAAA');
        assert.equal(q.query?.class, 'IN');
        assert.equal(q.process?.pid, r.pid);
        assert.equal(q.dstEndpoint?.ip, host);
        assert.equal(q.dstEndpoint?.port, 53);
        assert.equal(q.connectionInfo?.protocolNum, 17);
      }
    } finally {
      sock.close();
    }
  });

  test('server tier: connect still reported, close no longer', async () => {
    c.sensor.setTier(Tier.SERVER);
    assert.equal(await c.sensor.sync(), true);
    try {
      const { child: server, port } = await startServer('127.0.0.1');
      const client = await run(process.execPath, ['-e', CLIENT, '127.0.0.1', String(port)]);
      await exitOf(server);
      await c.waitFor(
        (e) => e.classUid === 4001 && e.activityId === 1 && e.process?.pid === client.pid,
        'connect in server tier',
      );
      await sleep(300);
      assert.equal(
        c.events.some((e) => e.classUid === 4001 && e.activityId === 2 && e.dstEndpoint?.port === port),
        false,
      );
    } finally {
      c.sensor.setTier(Tier.WORKSTATION);
    }
  });
});
