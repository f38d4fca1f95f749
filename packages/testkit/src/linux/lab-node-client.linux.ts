// Test-only: drives lab-node.js inside a NetLab host (services and probes over pipes).
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LabHost, NetLab } from './netns.linux.js';

const SCRIPT = fileURLToPath(new URL('./lab-node.js', import.meta.url));

/** LabNodeOptions say which services the host runs. */
export interface LabNodeOptions {
  tcp?: number;
  udp?: number;
  dns?: number;
  /** DNS records: name -> IPv4 and IPv6 addresses. */
  records?: Record<string, string[]>;
}

/** ProbeResult is a probe's answer: ok, or why not. */
export type ProbeResult = { ok: boolean; error?: string } & Record<string, unknown>;

/**
 * LabNode is lab-node.js running inside one lab host: it serves a TCP echo, a UDP echo and a DNS
 * responder as asked, and runs probes from inside the host (TCP, UDP, DNS, held connections) on
 * request. Probes travel over the child's stdin/stdout, so they work while the host is isolated.
 */
export class LabNode {
  private nextId = 1;
  private buf = '';
  private readonly waiting = new Map<number, (r: ProbeResult) => void>();
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  private constructor(
    readonly host: LabHost,
    lab: NetLab,
    opts: LabNodeOptions,
  ) {
    const args = [SCRIPT];
    if (opts.tcp) args.push('--tcp', String(opts.tcp));
    if (opts.udp) args.push('--udp', String(opts.udp));
    if (opts.dns) args.push('--dns', String(opts.dns));
    for (const [name, ips] of Object.entries(opts.records ?? {}))
      args.push('--record', `${name}=${ips.join(',')}`);
    this.child = lab.spawn(host, [process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lab node in ${host.ns} did not start`)), 10_000);
      this.child.once('exit', (code) => reject(new Error(`lab node in ${host.ns} exited with ${code}`)));
      this.child.stdout!.on('data', (d: Buffer) => {
        this.buf += d.toString();
        let nl = this.buf.indexOf('\n');
        while (nl >= 0) {
          const line = this.buf.slice(0, nl);
          this.buf = this.buf.slice(nl + 1);
          nl = this.buf.indexOf('\n');
          const msg = JSON.parse(line) as ProbeResult & { id?: number; ready?: boolean };
          if (msg.ready) {
            clearTimeout(timer);
            resolve();
          } else if (msg.id !== undefined) {
            this.waiting.get(msg.id)?.(msg);
            this.waiting.delete(msg.id);
          }
        }
      });
    });
  }

  /** start runs lab-node.js in `host` and waits until its services listen. */
  static async start(lab: NetLab, host: LabHost, opts: LabNodeOptions = {}): Promise<LabNode> {
    const n = new LabNode(host, lab, opts);
    await n.ready;
    return n;
  }

  private probe(op: string, args: Record<string, unknown>): Promise<ProbeResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = Number(args.timeoutMs ?? 1000) + 5000;
      const t = setTimeout(
        () => reject(new Error(`probe ${op} in ${this.host.ns} got no answer`)),
        timeoutMs,
      );
      this.waiting.set(id, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    });
  }

  /** tcp connects to host:port and exchanges one line with its echo. */
  tcp(host: string, port: number, timeoutMs = 1000): Promise<ProbeResult> {
    return this.probe('tcp', { host, port, timeoutMs });
  }
  /** connect opens a TCP connection to host:port (any service, TLS included) and closes it. */
  connect(host: string, port: number, timeoutMs = 1000): Promise<ProbeResult> {
    return this.probe('connect', { host, port, timeoutMs });
  }
  /** udp sends one datagram to host:port and waits for its echo. */
  udp(host: string, port: number, timeoutMs = 1000): Promise<ProbeResult> {
    return this.probe('udp', { host, port, timeoutMs });
  }
  /** dns asks `server` (port 53, UDP or TCP) for `name`; `answers` counts the records returned. */
  dns(
    server: string,
    name: string,
    type: 'A' | 'AAAA' = 'A',
    tcp = false,
    timeoutMs = 1000,
  ): Promise<ProbeResult> {
    return this.probe('dns', { server, name, type, tcp, timeoutMs });
  }
  /** lookup resolves `name` the way programs do (getaddrinfo: /etc/hosts, resolv.conf). */
  lookup(name: string, timeoutMs = 3000): Promise<ProbeResult> {
    return this.probe('lookup', { name, timeoutMs });
  }
  /** hold opens a TCP connection to an echo service and keeps it; `hold` in the result names it. */
  hold(host: string, port: number, timeoutMs = 1000): Promise<ProbeResult> {
    return this.probe('hold', { host, port, timeoutMs });
  }
  /** exchange sends a line on a held connection and waits for the echo. */
  exchange(hold: number, timeoutMs = 1000): Promise<ProbeResult> {
    return this.probe('exchange', { hold, timeoutMs });
  }
  /** held says whether a held connection was closed (and with which error). */
  held(hold: number): Promise<ProbeResult> {
    return this.probe('held', { hold });
  }
}
