// The Linux sensor suite end to end (needs root: eBPF, users, namespaces, sshd): a real server
// process, a real agent process, real actions on this host, and every event found through the
// API / CLI with the fields a user relies on. Auth records come from Debian's own su and sshd
// through a private rsyslogd (its /dev/log exists only in a mount namespace the test makes).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createTestUser,
  freePort,
  inPty,
  removeTestUser,
  type Sshd,
  type SyslogNamespace,
  sshLogin,
  startSshd,
  startSyslogNamespace,
  type TestUser,
} from '@palisade/testkit';
import { runCli, type ServerHandle, startAgentProcess } from './processes.js';
import { exited, type Ocsf, type SensorStack, startSensorStack } from './sensor-stack.test-util.js';
import { removeTempDir, tempDir, waitFor } from '@palisade/testkit';

describe('sensor suite through the API (root)', { timeout: 300_000 }, () => {
  const tmp = tempDir('palisade-e2e-suite-');
  const cleanups: (() => unknown)[] = [];
  let stack: SensorStack;
  let server: ServerHandle;
  let agentId: string;
  let ns: SyslogNamespace;
  let sshd: Sshd;
  let alice: TestUser;
  let bob: TestUser;
  const events = (cls: string, contains: string, extra: string[] = []) => stack.events(cls, contains, extra);
  const until = (what: string, cls: string, contains: string, pred: (e: Ocsf) => boolean, ms = 15_000) =>
    stack.until(what, cls, contains, pred, ms);

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'this test needs root');
    cleanups.push(() => removeTempDir(tmp));
    ns = await startSyslogNamespace(tmp);
    cleanups.push(() => ns.stop());
    alice = await createTestUser();
    cleanups.push(() => removeTestUser(alice));
    bob = await createTestUser();
    cleanups.push(() => removeTestUser(bob));
    sshd = await startSshd(ns, tmp);
    cleanups.push(() => sshd.stop());
    // The tier comes from the group policy here, so that the tier test below can change it.
    stack = await startSensorStack({
      tmp,
      tier: 'workstation',
      agentConfig: `auth:\n  logPaths: [${ns.rfc3339Log}]\n  wtmpPath: null\n  btmpPath: null\n  auditLogPath: null\n`,
    });
    cleanups.push(() => stack.stop());
    server = stack.server;
    agentId = stack.agentId;
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('exec and exit, with the exit code', async () => {
    const marker = `palisade-exit-${randomBytes(4).toString('hex')}`;
    const sh = spawn('/bin/sh', ['-c', 'exit 3', marker], { stdio: 'ignore' });
    assert.equal(await exited(sh), 3);
    const launch = await until(
      'launch',
      'process',
      marker,
      (e) => e.activity_id === 1 && e.process.pid === sh.pid,
    );
    assert.equal(launch.process.path, realpathSync('/bin/sh'));
    assert.deepEqual(launch.unmapped['process.argv'], ['/bin/sh', '-c', 'exit 3', marker]);
    assert.equal(launch.process.parent_process.pid, process.pid);
    const exit = await until(
      'exit',
      'process',
      marker,
      (e) => e.activity_id === 2 && e.process.pid === sh.pid,
    );
    assert.equal(exit.exit_code, 3);
    assert.equal(exit.process.uid, launch.process.uid);
  });

  it('a TCP connection between two processes on loopback: connect, accept and close with both pids', async () => {
    const marker = `palisade-tcp-${randomBytes(4).toString('hex')}`;
    const port = await freePort();
    const listener = spawn(
      process.execPath,
      [
        '-e',
        `const s=require('net').createServer(c=>{c.on('data',d=>c.end(d));s.close()}).listen(${port},'127.0.0.1',()=>process.stdout.write('up'))`,
        marker,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((r) => listener.stdout!.once('data', r));
    const client = spawn(
      process.execPath,
      [
        '-e',
        `const c=require('net').connect(${port},'127.0.0.1',()=>c.write('x'.repeat(1000)));c.on('data',()=>c.end())`,
        marker,
      ],
      { stdio: 'ignore' },
    );
    assert.equal(await exited(client), 0);
    assert.equal(await exited(listener), 0);
    const connect = await until(
      'connect',
      'network',
      marker,
      // The marker alone is not enough: the CLI that polls for these events has it in its own
      // command line, and its connections to the API are outbound TCP opens too.
      (e) =>
        e.activity_id === 1 && e.connection_info.direction_id === 2 && e.actor.process.pid === client.pid,
    );
    assert.equal(connect.actor.process.pid, client.pid);
    assert.equal(connect.dst_endpoint.ip, '127.0.0.1');
    assert.equal(connect.dst_endpoint.port, port);
    assert.equal(connect.connection_info.protocol_num, 6);
    const accept = await until(
      'accept',
      'network',
      marker,
      (e) =>
        e.activity_id === 1 && e.connection_info.direction_id === 1 && e.actor.process.pid === listener.pid,
    );
    assert.equal(accept.actor.process.pid, listener.pid);
    assert.equal(accept.dst_endpoint.port, port, 'inbound: the local end is the destination');
    assert.equal(accept.src_endpoint.port, connect.src_endpoint.port);
    const closeClient = await until(
      'client close',
      'network',
      marker,
      (e) => e.activity_id === 2 && e.actor.process.pid === client.pid,
    );
    assert.equal(closeClient.traffic.bytes_out, 1000);
    await until(
      'listener close',
      'network',
      marker,
      (e) => e.activity_id === 2 && e.actor.process.pid === listener.pid,
    );
  });

  it('a DNS query to a resolver the test runs on loopback, with the name and the owning pid', async () => {
    const marker = `palisade-dns-${randomBytes(4).toString('hex')}`;
    const host = `127.53.${randomInt(1, 255)}.${randomInt(1, 255)}`;
    const name = `${marker}.example.test`;
    // A query for `name`, type A, class IN, sent to our own responder's address on port 53.
    const script = `const d=require('dgram').createSocket('udp4');const [n,h]=process.argv.slice(1);
const q=Buffer.concat([Buffer.from([0x12,0x34,1,0,0,1,0,0,0,0,0,0]),...n.split('.').map(l=>Buffer.concat([Buffer.from([l.length]),Buffer.from(l)])),Buffer.from([0,0,1,0,1])]);
d.send(q,53,h,()=>d.close());`;
    const responder = spawn(
      process.execPath,
      [
        '-e',
        `const s=require('dgram').createSocket('udp4');s.on('message',()=>s.close());s.bind(53,'${host}',()=>process.stdout.write('up'));setTimeout(()=>s.close(),20000).unref()`,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise((r) => responder.stdout!.once('data', r));
    const client = spawn(process.execPath, ['-e', script, name, host], { stdio: 'ignore' });
    assert.equal(await exited(client), 0);
    await exited(responder);
    const q = await until('the DNS query', 'dns', marker, (e) => e.query?.hostname === name);
    assert.equal(q.activity_id, 1);
    assert.equal(q.query.type, 'A');
    assert.equal(q.actor.process.pid, client.pid);
    assert.equal(q.dst_endpoint.ip, host);
    assert.equal(q.dst_endpoint.port, 53);
  });

  it('file create, rename and delete with absolute paths and the pid', async () => {
    const dir = join(tmp, `palisade-files-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir);
    const sh = spawn('/bin/sh', ['-c', 'echo hi > a.txt && mv a.txt b.txt && rm b.txt'], {
      cwd: dir,
      stdio: 'ignore',
    });
    assert.equal(await exited(sh), 0);
    const write = await until(
      'write',
      'file',
      dir,
      (e) => e.file.path === join(dir, 'a.txt') && [1, 3].includes(e.activity_id),
    );
    assert.ok(write.actor.process.pid > 0);
    const rename = await until('rename', 'file', dir, (e) => e.activity_id === 5);
    assert.equal(rename.file.path, join(dir, 'a.txt'));
    assert.equal(rename.file_result.path, join(dir, 'b.txt'));
    assert.equal(rename.actor.process.path, realpathSync('/bin/mv'));
    const del = await until('delete', 'file', dir, (e) => e.activity_id === 4);
    assert.equal(del.file.path, join(dir, 'b.txt'));
    assert.equal(del.actor.process.path, realpathSync('/bin/rm'));
  });

  it('su with a wrong and with a right password', async () => {
    const bad = await inPty(ns, 'wrong-password', [
      'runuser',
      '-u',
      alice.name,
      '--',
      'su',
      bob.name,
      '-c',
      'true',
    ]);
    assert.notEqual(bad.code, 0);
    const good = await inPty(ns, bob.password, [
      'runuser',
      '-u',
      alice.name,
      '--',
      'su',
      bob.name,
      '-c',
      'true',
    ]);
    assert.equal(good.code, 0, good.out);
    const failed = await until(
      'failed su',
      'auth',
      bob.name,
      (e) => e.service?.name === 'su' && e.status_id === 2,
    );
    assert.equal(failed.activity_id, 7);
    assert.equal(failed.user.name, bob.name);
    assert.equal(failed.actor.user.name, alice.name);
    assert.match(failed.raw_data, /su/);
    const ok = await until(
      'successful su',
      'auth',
      bob.name,
      (e) => e.service?.name === 'su' && e.status_id === 1,
    );
    assert.equal(ok.activity_id, 7);
    assert.equal(ok.actor.user.name, alice.name);
  });

  it('ssh to Debian openssh-server on loopback: a failed and an accepted password login', async () => {
    const bad = await sshLogin({ port: sshd.port, user: alice.name, password: 'wrong-password' });
    assert.notEqual(bad.code, 0);
    const good = await sshLogin({ port: sshd.port, user: alice.name, password: alice.password });
    assert.equal(good.code, 0, good.out);
    const failed = await until(
      'failed ssh',
      'auth',
      alice.name,
      (e) => e.service?.name === 'sshd' && e.status_id === 2 && /Failed password/.test(e.raw_data),
    );
    assert.equal(failed.activity_id, 1);
    assert.equal(failed.src_endpoint.ip, '127.0.0.1');
    assert.equal(failed.auth_protocol, 'password');
    assert.equal(failed.is_remote, true);
    const ok = await until(
      'accepted ssh',
      'auth',
      alice.name,
      (e) => e.service?.name === 'sshd' && e.status_id === 1,
    );
    assert.equal(ok.user.name, alice.name);
    assert.equal(ok.src_endpoint.ip, '127.0.0.1');
    assert.match(ok.raw_data, /Accepted password for/);
  });

  it('a tier change in the group policy changes what arrives, without restarting the agent', async () => {
    const r = await runCli([
      'groups',
      'set-policy',
      'default',
      '--tier',
      'server',
      '--data-dir',
      server.dataDir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(
      'the agent to run the new policy',
      async () => {
        const a = JSON.parse(
          (await runCli(['agents', 'get', agentId, '--json', '--data-dir', server.dataDir])).stdout,
        );
        return a.policy_up_to_date === true && a.policy_revision > 1 ? a : undefined;
        // The agent reports the revision it runs with its next heartbeat (every 30 s).
      },
      45_000,
    );
    await new Promise((res) => setTimeout(res, 1500));
    const marker = `palisade-tier-${randomBytes(4).toString('hex')}`;
    const sh = spawn('/bin/sh', ['-c', 'exit 4', marker], { stdio: 'ignore' });
    await exited(sh);
    await until(
      'launch in server tier',
      'process',
      marker,
      (e) => e.activity_id === 1 && e.process.pid === sh.pid,
    );
    // Give a terminate event every chance to arrive before concluding it was not collected.
    await new Promise((res) => setTimeout(res, 3000));
    const exits = (await events('process', marker)).filter((e) => e.activity_id === 2);
    assert.deepEqual(exits, [], 'the server tier collects no terminations');
    assert.equal(stack.agent.child.exitCode, null, 'the agent was not restarted');
  });

  it('driverless mode provides auth only and the capability report says why', async () => {
    const state = join(tmp, 'driverless-state');
    const driverless = startAgentProcess(server, state, ['--no-kernel-sensor']);
    cleanups.push(() => driverless.stop());
    const a = await waitFor(
      'the driverless agent to report its capabilities',
      async () => {
        const list = JSON.parse(
          (await runCli(['agents', 'list', '--json', '--data-dir', server.dataDir])).stdout,
        ) as Ocsf[];
        return list.find(
          (x) => x.id !== agentId && x.connection?.state === 'connected' && x.capabilities?.length,
        );
      },
      60_000,
    );
    const caps = Object.fromEntries(a.capabilities.map((c: Ocsf) => [c.kind, c]));
    for (const kind of ['process', 'netflow', 'filemod']) {
      assert.equal(caps[kind].active, false, kind);
      assert.match(caps[kind].reason, /kernel sensor/i);
    }
    assert.equal(caps.auth.active, true);
    const human = await runCli(['agents', 'list', '--data-dir', server.dataDir]);
    assert.match(human.stdout, /process inactive: .*kernel sensor/i);
    // An exec now is seen by the full agent but not by the driverless one.
    const marker = `palisade-driverless-${randomBytes(4).toString('hex')}`;
    const sh = spawn('/bin/sh', ['-c', 'true', marker], { stdio: 'ignore' });
    await exited(sh);
    await until('the full agent to see the exec', 'process', marker, (e) => e.process.pid === sh.pid);
    await new Promise((res) => setTimeout(res, 2000));
    const r = await runCli([
      'events',
      'search',
      '--agent',
      a.id,
      '--limit',
      '1000',
      '--json',
      '--data-dir',
      server.dataDir,
    ]);
    const classes = new Set((JSON.parse(r.stdout) as Ocsf[]).map((e) => e.class_uid));
    assert.ok(
      [...classes].every((c) => c === 3002),
      `driverless agent sent classes ${[...classes].join(', ')}`,
    );
    await driverless.stop();
  });
});
