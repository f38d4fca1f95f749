// Test-only: network namespaces for end-to-end tests of traffic (isolation, link failures). Every
// namespace, link and process a NetLab makes lives inside namespaces it created; nothing is added
// to the machine's own (root) network namespace, so a test cannot cut this machine off.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './run.js';

/** NETNS_PREFIX starts the name of every namespace tests create (`palisade-t-<pid>-<random>-<role>`). */
export const NETNS_PREFIX = 'palisade-t-';

/**
 * ISOLATION_TEST_ENV marks a test run. The agent's isolation refuses to apply nftables rules in the
 * root network namespace while it is set (see apps/agent/src/isolation/netns-guard.linux.ts), so a
 * test that forgets its namespace fails instead of cutting the machine off. Importing this module
 * sets it for this process and every process it starts.
 */
export const ISOLATION_TEST_ENV = 'PALISADE_ISOLATION_TEST';
process.env[ISOLATION_TEST_ENV] = '1';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

async function ip(args: string[]): Promise<string> {
  const r = await run('ip', args, { timeoutMs: 15_000 });
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.code}): ${r.out.trim()}`);
  return r.out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * sweepStaleNamespaces deletes test namespaces (and their /etc/netns files) left behind by test
 * processes that died before their cleanup ran (the name carries the creating pid).
 */
export async function sweepStaleNamespaces(): Promise<void> {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^palisade-t-(\d+)-/.exec(n);
    if (!m || alive(Number(m[1]))) continue;
    await run('ip', ['netns', 'del', n]);
    rmSync(join('/etc/netns', n), { recursive: true, force: true });
  }
}

/** LabHost is one namespaced host of a NetLab. */
export interface LabHost {
  /** The namespace name. */
  readonly ns: string;
  readonly role: string;
  /** The host's IPv4 and IPv6 address on the lab's LAN (set by NetLab.lan). */
  v4: string;
  v6: string;
}

/** LanOptions configure NetLab.lan: one /24 and one /64 shared by the hosts, through a bridge. */
export interface LanOptions {
  /** First three octets. @default '10.77.0' */
  v4Prefix?: string;
  /** IPv6 /64 prefix without the host part. @default 'fd77::' */
  v6Prefix?: string;
}

/**
 * NetLab builds throw-away network namespaces: hosts joined by a bridge that lives in a namespace
 * of its own, IPv4 and IPv6 on every link (IPv6 without duplicate address detection), processes
 * run inside a host, and a cleanup that ends those processes and deletes every namespace, link
 * and /etc/netns file even when the test failed. Nothing touches the root namespace.
 */
export class NetLab {
  private readonly id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private closed = false;

  /** host creates a namespace for a host with loopback up. */
  async host(role: string): Promise<LabHost> {
    if (!NAME.test(role)) throw new Error(`bad host role ${JSON.stringify(role)}`);
    if (this.namespaces.length === 0) await sweepStaleNamespaces();
    const ns = `${NETNS_PREFIX}${this.id}-${role}`;
    await ip(['netns', 'add', ns]);
    this.namespaces.push(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return { ns, role, v4: '', v6: '' };
  }

  /**
   * lan joins `hosts` on one Ethernet segment: a bridge in a namespace of its own, and a veth pair
   * per host (its end is `eth0`). Host i (from 0) gets `<v4Prefix>.<i+1>/24` and `<v6Prefix><i+1>/64`.
   */
  async lan(hosts: LabHost[], opts: LanOptions = {}): Promise<void> {
    const v4 = opts.v4Prefix ?? '10.77.0';
    const v6 = opts.v6Prefix ?? 'fd77::';
    const sw = await this.host('switch');
    await ip(['-n', sw.ns, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0']);
    await ip(['-n', sw.ns, 'link', 'set', 'br0', 'up']);
    for (const [i, h] of hosts.entries()) {
      const port = `p${i}`;
      // Created inside the switch namespace with its peer inside the host's: never in the root one.
      await ip(['-n', sw.ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
      await ip(['-n', sw.ns, 'link', 'set', port, 'master', 'br0', 'up']);
      h.v4 = `${v4}.${i + 1}`;
      h.v6 = `${v6}${i + 1}`;
      await ip(['-n', h.ns, 'addr', 'add', `${h.v4}/24`, 'dev', 'eth0']);
      await ip(['-n', h.ns, 'addr', 'add', `${h.v6}/64`, 'dev', 'eth0', 'nodad']);
      await ip(['-n', h.ns, 'link', 'set', 'eth0', 'up']);
    }
  }

  /**
   * etcFile puts a file that `ip netns exec` mounts over /etc/<name> inside the host
   * (resolv.conf, hosts); it is removed at cleanup.
   */
  etcFile(h: LabHost, name: 'resolv.conf' | 'hosts', text: string): void {
    const dir = join('/etc/netns', h.ns);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, name), text, { mode: 0o644 });
  }

  /** spawn starts `argv` inside the host (never through a shell); cleanup ends it. */
  spawn(h: LabHost, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    if (this.closed) throw new Error('NetLab is cleaned up');
    if (!this.namespaces.includes(h.ns)) throw new Error(`${h.ns} is not a namespace of this lab`);
    const child = spawn('ip', ['netns', 'exec', h.ns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...opts,
      env: { ...process.env, ...opts.env, [ISOLATION_TEST_ENV]: '1' },
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** exec runs `argv` inside the host to completion. */
  exec(h: LabHost, argv: string[], timeoutMs = 30_000): Promise<{ code: number; out: string }> {
    if (!this.namespaces.includes(h.ns)) throw new Error(`${h.ns} is not a namespace of this lab`);
    return run('ip', ['netns', 'exec', h.ns, ...argv], { timeoutMs });
  }

  /** nftTables lists the nftables tables of a host (`inet palisade_isolation`, ...). */
  async nftTables(h: LabHost): Promise<string[]> {
    const r = await this.exec(h, ['nft', 'list', 'tables']);
    if (r.code !== 0) throw new Error(`nft list tables in ${h.ns}: ${r.out}`);
    return r.out
      .split('\n')
      .map((l) => l.replace(/^table\s+/, '').trim())
      .filter(Boolean);
  }

  /** cleanup ends every process it started (SIGKILL after 3 s) and deletes every namespace. */
  async cleanup(): Promise<void> {
    this.closed = true;
    await Promise.all(
      [...this.children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => c.kill('SIGKILL'), 3000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    // Deleting a namespace ends its links (veth pairs, the bridge) and its nftables tables.
    for (const ns of this.namespaces.reverse()) {
      // Processes that outlive their `ip netns exec` parent keep the namespace alive: end them.
      const pids = await run('ip', ['netns', 'pids', ns]);
      for (const pid of pids.out.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      await run('ip', ['netns', 'del', ns]);
      const etc = join('/etc/netns', ns);
      if (existsSync(etc) && statSync(etc).isDirectory()) rmSync(etc, { recursive: true, force: true });
    }
    this.namespaces.length = 0;
  }
}
