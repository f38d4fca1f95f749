// The kernel sensor's former blind spots end to end (needs root: eBPF, namespaces): failed and
// refused connects, listeners, UDP flows, fileless and staged execution, executable hashes —
// each done for real on this host (or in a network namespace the test makes, so that nothing
// leaves the machine) and found through the CLI as OCSF events that validate.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, NetLab, removeTempDir, run, tempDir, waitFor } from '@palisade/testkit';
import { exited, type SensorStack, startSensorStack } from './sensor-stack.test-util.js';

const node = process.execPath;

describe('kernel sensor blind spots through the API (root)', { timeout: 240_000 }, () => {
  const tmp = tempDir('palisade-e2e-blind-');
  const lab = new NetLab();
  let stack: SensorStack;

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'this test needs root');
    stack = await startSensorStack({
      tmp,
      agentConfig: 'sensor:\n  udpFlowIntervalSeconds: 2\n  noisyRecordsPerSecond: 500\n',
    });
  });

  after(async () => {
    await lab.cleanup();
    await stack?.stop();
    removeTempDir(tmp);
  });

  it('a refused connect to a closed port on 127.0.0.1 is Network Activity Refuse with ECONNREFUSED', async () => {
    const marker = `palisade-refused-${randomBytes(4).toString('hex')}`;
    const port = await freePort();
    const client = spawn(
      node,
      [
        '-e',
        `require('net').connect(${port},'127.0.0.1').on('error',e=>process.exit(e.code==='ECONNREFUSED'?0:1))`,
        marker,
      ],
      { stdio: 'ignore' },
    );
    assert.equal(await exited(client), 0);
    const e = await stack.until(
      'the refused connect',
      'network',
      marker,
      (x) => x.actor.process.pid === client.pid,
    );
    assert.equal(e.activity_id, 5);
    assert.equal(e.activity_name, 'Refuse');
    assert.equal(e.status_id, 2);
    assert.equal(e.status_code, 'ECONNREFUSED');
    assert.equal(e.dst_endpoint.ip, '127.0.0.1');
    assert.equal(e.dst_endpoint.port, port);
    assert.equal(e.connection_info.direction_id, 2);
  });

  it('a timed-out and an unreachable connect inside a network namespace are Network Activity Fail with the errno', async () => {
    const host = await lab.host('blind');
    // Only loopback: 198.51.100.0/24 (documentation) is routed into lo, where the SYNs die
    // unanswered (not local, no forwarding); 192.0.2.0/24 has no route at all.
    const setup = await lab.exec(host, ['ip', 'route', 'add', '198.51.100.0/24', 'dev', 'lo']);
    assert.equal(setup.code, 0, setup.out);
    const retries = await lab.exec(host, ['sysctl', '-qw', 'net.ipv4.tcp_syn_retries=1']);
    assert.equal(retries.code, 0, retries.out);
    const marker = `palisade-fail-${randomBytes(4).toString('hex')}`;
    const script = `const net=require('net');let n=0;const out=[];
for(const h of ['198.51.100.7','192.0.2.1'])net.connect(81,h).on('error',e=>{out.push(h+'='+e.code);if(++n===2){console.log(out.sort().join(' '));}});`;
    const client = lab.spawn(host, [node, '-e', script, marker]);
    let out = '';
    client.stdout?.on('data', (d) => {
      out += d;
    });
    assert.equal(await exited(client), 0);
    assert.equal(out.trim(), '192.0.2.1=ENETUNREACH 198.51.100.7=ETIMEDOUT');
    const timedOut = await stack.until(
      'the timed-out connect',
      'network',
      marker,
      (x) => x.actor.process.pid === client.pid && x.dst_endpoint.ip === '198.51.100.7',
    );
    assert.equal(timedOut.activity_id, 4);
    assert.equal(timedOut.status_id, 2);
    assert.equal(timedOut.status_code, 'ETIMEDOUT');
    assert.equal(timedOut.dst_endpoint.port, 81);
    const unreachable = await stack.until(
      'the unreachable connect',
      'network',
      marker,
      (x) => x.actor.process.pid === client.pid && x.dst_endpoint.ip === '192.0.2.1',
    );
    assert.equal(unreachable.activity_id, 4);
    assert.equal(unreachable.status_code, 'ENETUNREACH');
    assert.match(unreachable.status_detail, /unreachable/i);
  });

  it('a socket that starts listening is Network Activity Listen with its process and port', async () => {
    const marker = `palisade-listen-${randomBytes(4).toString('hex')}`;
    const port = await freePort();
    const listener = spawn(
      node,
      ['-e', `const s=require('net').createServer().listen(${port},'127.0.0.1',()=>s.close())`, marker],
      { stdio: 'ignore' },
    );
    assert.equal(await exited(listener), 0);
    const e = await stack.until('the listener', 'network', marker, (x) => x.activity_id === 7);
    assert.equal(e.activity_name, 'Listen');
    assert.equal(e.actor.process.pid, listener.pid);
    assert.equal(e.dst_endpoint.ip, '127.0.0.1');
    assert.equal(e.dst_endpoint.port, port);
    assert.equal(e.connection_info.protocol_num, 6);
  });

  it('a UDP exchange on loopback: the first datagram of each flow, then one Traffic event with the bytes', async () => {
    const marker = `palisade-udp-${randomBytes(4).toString('hex')}`;
    const port = await freePort();
    // The server echoes every datagram; the client sends 1 datagram of 100 bytes, then 4 more,
    // and stays up past the 2 s flow interval so the flow's traffic is reported.
    const server = spawn(
      node,
      [
        '-e',
        `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',(m,r)=>{s.send(m,r.port,r.address);if(++n===5)setTimeout(()=>s.close(),3500)});s.bind(${port},'127.0.0.1',()=>process.stdout.write('up'))`,
        marker,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((r) => server.stdout?.once('data', r));
    const client = spawn(
      node,
      [
        '-e',
        `const c=require('dgram').createSocket('udp4');let n=0;c.on('message',()=>{if(++n===1)for(let i=0;i<4;i++)c.send(Buffer.alloc(100,1),${port},'127.0.0.1');if(n===5)setTimeout(()=>c.close(),3500)});c.send(Buffer.alloc(100),${port},'127.0.0.1')`,
        marker,
      ],
      { stdio: 'ignore' },
    );
    assert.equal(await exited(client), 0);
    assert.equal(await exited(server), 0);
    const first = await stack.until(
      'the client flow',
      'network',
      marker,
      (x) => x.actor.process.pid === client.pid && x.activity_id === 1,
    );
    assert.equal(first.connection_info.protocol_num, 17);
    assert.equal(first.connection_info.direction_id, 2);
    assert.equal(first.dst_endpoint.port, port);
    assert.equal(first.traffic.bytes_out, 100);
    const inbound = await stack.until(
      'the server flow',
      'network',
      marker,
      (x) => x.actor.process.pid === server.pid && x.activity_id === 1,
    );
    assert.equal(inbound.connection_info.direction_id, 1);
    assert.equal(inbound.dst_endpoint.port, port);
    assert.equal(inbound.src_endpoint.port, first.src_endpoint.port);
    const traffic = await stack.until(
      'the client flow traffic',
      'network',
      marker,
      (x) => x.actor.process.pid === client.pid && x.activity_id === 6,
    );
    assert.equal(traffic.activity_name, 'Traffic');
    assert.equal(traffic.traffic.bytes_out, 400);
    assert.equal(traffic.traffic.bytes_in, 500);
    assert.equal(traffic.traffic.packets, 9);
    const all = (await stack.events('network', marker)).filter((x) => x.actor.process.pid === client.pid);
    assert.equal(all.length, 2, 'one Open and one Traffic event for the whole exchange');
  });

  const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

  it('an exec of a memfd_create file says memfd:NAME, no file on disk, with the hash of what ran', async () => {
    const name = `palisade-memfd-${randomBytes(4).toString('hex')}`;
    const sleep = realpathSync('/bin/sleep');
    const script = `import os,sys
fd=os.memfd_create(sys.argv[1])
os.write(fd,open(sys.argv[2],'rb').read())
os.execve('/proc/self/fd/%d'%fd,['fileless','1'],{})`;
    const py = spawn('python3', ['-c', script, name, sleep], { stdio: 'ignore' });
    assert.equal(await exited(py), 0);
    const e = await stack.until(
      'the memfd exec',
      'process',
      `memfd:${name}`,
      (x) => x.activity_id === 1 && x.process.path === `memfd:${name}`,
    );
    assert.equal(e.process.pid, py.pid);
    assert.equal(e.unmapped['process.file.no_file_on_disk'], true);
    assert.deepEqual(e.process.file.hashes, [
      { algorithm_id: 3, algorithm: 'SHA-256', value: sha256(sleep) },
    ]);
  });

  it('an executable deleted while its process runs is flagged deleted when the process ends', async () => {
    const marker = `palisade-deleted-${randomBytes(4).toString('hex')}`;
    const copy = join(tmp, marker);
    copyFileSync(realpathSync('/bin/sleep'), copy);
    chmodSync(copy, 0o755);
    const p = spawn(copy, ['1'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    unlinkSync(copy);
    assert.equal(await exited(p), 0);
    const exit = await stack.until(
      'the exit of the deleted executable',
      'process',
      marker,
      (x) => x.activity_id === 2 && x.process.pid === p.pid,
    );
    assert.equal(exit.process.path, copy);
    assert.equal(exit.process.file.is_deleted, true);
    const launch = await stack.until('its launch', 'process', marker, (x) => x.activity_id === 1);
    assert.equal(launch.process.file.is_deleted, undefined, 'not deleted yet when it started');
  });

  it('a write and an exec under /dev/shm are reported', async () => {
    const marker = `palisade-shm-${randomBytes(4).toString('hex')}`;
    const staged = join('/dev/shm', marker);
    try {
      const sh = spawn('/bin/sh', ['-c', `cp /bin/true ${staged} && chmod +x ${staged} && ${staged}`], {
        stdio: 'ignore',
      });
      assert.equal(await exited(sh), 0);
      const write = await stack.until('the staged write', 'file', staged, (x) => x.file.path === staged);
      assert.equal(write.activity_id, 1);
      const run = await stack.until(
        'the staged exec',
        'process',
        staged,
        (x) => x.process.path === staged && x.activity_id === 1,
      );
      assert.equal(run.process.file.hashes[0].value, sha256('/bin/true'));
    } finally {
      rmSync(staged, { force: true });
    }
  });

  it('each exec carries the SHA-256 of its executable', async () => {
    const marker = `palisade-hash-${randomBytes(4).toString('hex')}`;
    const sh = spawn('/bin/sh', ['-c', 'true', marker], { stdio: 'ignore' });
    assert.equal(await exited(sh), 0);
    const e = await stack.until(
      'the exec',
      'process',
      marker,
      (x) => x.activity_id === 1 && x.process.pid === sh.pid,
    );
    const expected = sha256(realpathSync('/bin/sh'));
    assert.deepEqual(e.process.file.hashes, [{ algorithm_id: 3, algorithm: 'SHA-256', value: expected }]);
    // The hash is searchable.
    const found = await stack.events('process', expected);
    assert.ok(found.some((x) => x.process.pid === sh.pid));
  });

  it('processes in new pid, mount and network namespaces carry their namespace ids', async () => {
    const marker = `palisade-ns-${randomBytes(4).toString('hex')}`;
    const inner = `readlink /proc/self/ns/pid /proc/self/ns/mnt /proc/self/ns/net; exec /bin/sh -c 'sleep 0.2' ${marker}`;
    const u = spawn('unshare', ['--pid', '--fork', '--mount', '--net', '/bin/sh', '-c', inner], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    u.stdout?.on('data', (d) => {
      out += d;
    });
    assert.equal(await exited(u), 0);
    const [pid, mnt, net] = out
      .trim()
      .split('\n')
      .map((l) => Number(/\[(\d+)\]/.exec(l)?.[1]));
    const host = Number(/\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1]);
    assert.notEqual(pid, host, 'a new pid namespace');
    const e = await stack.until(
      'the namespaced exec',
      'process',
      marker,
      (x) => x.activity_id === 1 && x.process.cmd_line.includes('sleep 0.2'),
    );
    assert.deepEqual(e.unmapped['process.namespaces'], { pid, mnt, net });
  });

  it('a process in a container-runtime-shaped cgroup carries the cgroup path and the container', async () => {
    const mount = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' '))
      .find((f) => f[2] === 'cgroup2')?.[1];
    assert.ok(mount, 'a cgroup v2 hierarchy is mounted');
    const id = randomBytes(32).toString('hex');
    const slice = join(mount, `palisade-test-${randomBytes(4).toString('hex')}.slice`);
    const scope = join(slice, `docker-${id}.scope`);
    mkdirSync(scope, { recursive: true });
    try {
      const marker = `palisade-cg-${randomBytes(4).toString('hex')}`;
      const sh = spawn(
        '/bin/sh',
        ['-c', `echo $$ > ${scope}/cgroup.procs && exec /bin/sh -c 'true' ${marker}`],
        { stdio: 'ignore' },
      );
      assert.equal(await exited(sh), 0);
      const e = await stack.until(
        'the exec in the container cgroup',
        'process',
        marker,
        (x) => x.activity_id === 1 && x.process.pid === sh.pid,
      );
      assert.equal(e.unmapped['process.cgroup_path'], scope.slice(mount.length));
      assert.deepEqual(e.process.container, { uid: id, name: id.slice(0, 12), runtime: 'docker' });
      assert.ok(e.metadata.profiles.includes('container'));
      const found = await stack.events('process', id);
      assert.ok(
        found.some((x) => x.process.pid === sh.pid),
        'searchable by container id',
      );
    } finally {
      rmdirSync(scope);
      rmdirSync(slice);
    }
  });

  it('ptrace attach and pokes, process_vm_writev and a /proc/PID/mem write open between two test processes are Process Activity Inject', async () => {
    const target = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    try {
      const marker = `palisade-inject-${randomBytes(4).toString('hex')}`;
      // The injector writes back the bytes it read, so the target is not harmed.
      const script = `import ctypes,os,sys
pid=int(sys.argv[1])
libc=ctypes.CDLL(None,use_errno=True)
libc.ptrace.restype=ctypes.c_long
libc.ptrace.argtypes=[ctypes.c_long,ctypes.c_long,ctypes.c_void_p,ctypes.c_void_p]
addr=[int(l.split('-')[0],16) for l in open('/proc/%d/maps'%pid) if ' rw-p ' in l][0]
assert libc.ptrace(16,pid,None,None)==0
os.waitpid(pid,0)
w=libc.ptrace(2,pid,ctypes.c_void_p(addr),None)
assert libc.ptrace(5,pid,ctypes.c_void_p(addr),ctypes.c_void_p(w&0xffffffffffffffff))==0
assert libc.ptrace(17,pid,None,None)==0
class iov(ctypes.Structure): _fields_=[('base',ctypes.c_void_p),('len',ctypes.c_size_t)]
buf=ctypes.create_string_buffer(64)
l=iov(ctypes.cast(buf,ctypes.c_void_p),64); r=iov(ctypes.c_void_p(addr),64)
assert libc.process_vm_readv(pid,ctypes.byref(l),1,ctypes.byref(r),1,0)==64
assert libc.process_vm_writev(pid,ctypes.byref(l),1,ctypes.byref(r),1,0)==64
open('/proc/%d/mem'%pid,'r+b').close()`;
      const py = spawn('python3', ['-c', script, String(target.pid), marker], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      py.stderr?.on('data', (d) => {
        err += d;
      });
      assert.equal(await exited(py), 0, err);
      const injections = async () =>
        (await stack.events('process', marker)).filter(
          (x) => x.activity_id === 4 && x.actor.process.pid === py.pid,
        );
      const seen = await waitFor('the injections', async () => {
        const list = await injections();
        const types = new Set(list.map((x) => x.injection_type));
        return ['ptrace_attach', 'ptrace_poke', 'process_vm_writev', 'proc_mem_write'].every((t) =>
          types.has(t),
        )
          ? list
          : undefined;
      });
      for (const e of seen) {
        assert.equal(e.activity_name, 'Inject');
        assert.equal(e.process.pid, target.pid);
        assert.equal(e.process.path, realpathSync('/bin/sleep'));
        assert.equal(e.injection_type_id, 99);
      }
      assert.equal(
        seen.filter((x) => x.injection_type === 'ptrace_poke').length,
        1,
        'one poke event, not one per word',
      );
      assert.equal(target.exitCode, null, 'the target survived');
    } finally {
      target.kill('SIGKILL');
    }
  });

  it('a setuid helper the test builds, run by an unprivileged user, is Process Activity Set User ID with before and after', async () => {
    const dir = join(tmp, 'setuid');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    const src = join(dir, 'helper.c');
    writeFileSync(src, '#include <unistd.h>\nint main(void) { return setuid(0) == 0 ? 0 : 1; }\n');
    const marker = `palisade-setuid-${randomBytes(4).toString('hex')}`;
    const bin = join(dir, marker);
    const cc = await run('cc', ['-o', bin, src]);
    assert.equal(cc.code, 0, cc.out);
    chownSync(bin, 0, 0);
    chmodSync(bin, 0o4755);
    const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', bin]);
    assert.equal(r.code, 0, r.out);
    const changes = await waitFor('both changes', async () => {
      const list = (await stack.events('process', marker)).filter((x) => x.activity_id === 5);
      return list.length >= 2 ? list : undefined;
    });
    const exec = changes.find((x) => /exec of a setuid/.test(x.message ?? ''));
    assert.ok(exec, 'the setuid exec');
    assert.equal(exec.activity_name, 'Set User ID');
    assert.equal(exec.unmapped.credentials_before.uid, 65534);
    assert.equal(exec.unmapped.credentials_before.euid, 65534);
    assert.equal(exec.unmapped.credentials_after.uid, 65534);
    assert.equal(exec.unmapped.credentials_after.euid, 0);
    const call = changes.find((x) => /syscall/.test(x.message ?? ''));
    assert.ok(call, 'the setuid() call');
    assert.equal(call.unmapped.credentials_before.uid, 65534);
    assert.equal(call.unmapped.credentials_after.uid, 0);
    assert.equal(call.unmapped.credentials_after.suid, 0);
    assert.equal(call.process.path, bin);
  });

  it('a file storm from an unprivileged user is rate limited in the kernel while 1,000 execs are all reported', async () => {
    const marker = `palisade-storm-${randomBytes(4).toString('hex')}`;
    const dir = join(tmp, marker);
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    chmodSync(tmp, 0o755);
    // Two shells of nobody's open files for writing as fast as they can (bounded: 30,000 each).
    const storm = `i=0; while [ $i -lt 30000 ]; do : > f$((i % 64)); i=$((i + 1)); done`;
    const storms = [0, 1].map(() =>
      spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', '-c', storm], {
        cwd: dir,
        stdio: 'ignore',
      }),
    );
    try {
      await new Promise((r) => setTimeout(r, 300));
      const execs = spawn(
        '/bin/sh',
        ['-c', `i=0; while [ $i -lt 1000 ]; do /bin/true ${marker}; i=$((i + 1)); done`],
        {
          stdio: 'ignore',
        },
      );
      assert.equal(await exited(execs), 0);
      const stormRunning = storms.some((s) => s.exitCode === null);
      const launches = await waitFor(
        'all 1,000 execs',
        async () => {
          const list = (await stack.events('process', marker, ['--all'])).filter(
            (x) => x.activity_id === 1 && x.process.parent_process?.pid === execs.pid,
          );
          return list.length >= 1000 ? list : undefined;
        },
        60_000,
      );
      assert.equal(new Set(launches.map((x) => x.process.pid)).size, 1000);
      for (const s of storms) assert.equal(await exited(s), 0);
      assert.ok(stormRunning || launches.length === 1000, 'the storm overlapped the execs');
      // 60,000 opens were made; at 500 per process and second far fewer can have been sent.
      await new Promise((r) => setTimeout(r, 1000));
      const files = await stack.events('file', dir, ['--all']);
      assert.ok(files.length > 0, 'the storm was seen');
      assert.ok(files.length < 30_000, `${files.length} file events of 60,000 opens: the rate limit held`);
    } finally {
      for (const s of storms) if (s.exitCode === null) s.kill('SIGKILL');
    }
  });
});
