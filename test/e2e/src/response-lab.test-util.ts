// Test-only: the response end-to-end lab. Three hosts in network namespaces this lab creates on
// one LAN (IPv4 and IPv6): "backend" runs a real `palisade server`, "endpoint" a real
// `palisade agent` (eBPF sensor included), "other" a TCP echo, a UDP echo and the DNS server both
// hosts use. Every process runs inside its namespace (`ip netns exec`); the machine's own
// namespace is never given a route, a link or a rule.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type LabHost, LabNode, NetLab, tempDir, waitFor } from '@palisade/testkit';
import { CLI, ROOT } from './processes.js';

/** BACKEND_NAME is the backend's host name; the agent resolves it through the other host's DNS. */
export const BACKEND_NAME = 'backend.palisade.test';
export const OTHER_TCP = 9000;
export const OTHER_UDP = 9001;
export const ENDPOINT_TCP = 9100;
export const ENDPOINT_UDP = 9101;
/** SELF_TEST_S is how long the agent waits for the backend through new rules before reverting. */
export const SELF_TEST_S = 5;

/** LabProc is a process in a lab host with its output kept for post-mortems. */
export interface LabProc {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** labProc wraps a lab process: its output kept, a stop that waits (SIGKILL after 10 s). */
export function labProc(child: ChildProcess): LabProc {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return {
    child,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        child.kill(signal);
      }),
  };
}

/** CliResult is how one `palisade` run ended. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** ResponseLab is the lab and its processes. */
export class ResponseLab {
  readonly lab = new NetLab();
  endpoint!: LabHost;
  backend!: LabHost;
  other!: LabHost;
  /** Probes from inside the endpoint (serves TCP ENDPOINT_TCP, UDP ENDPOINT_UDP). */
  en!: LabNode;
  /** Probes from inside the other host (its TCP/UDP echo and DNS run in the same node). */
  on!: LabNode;
  readonly dataDir = tempDir('palisade-e2e-resp-srv-');
  readonly stateDir = tempDir('palisade-e2e-resp-agent-');
  readonly configFile = join(tempDir('palisade-e2e-resp-cfg-'), 'agent.yaml');
  server: LabProc | undefined;
  agent: LabProc | undefined;
  agentId = '';

  /** start builds the hosts, the DNS, and starts the server (not the agent). */
  async start(): Promise<void> {
    try {
      this.endpoint = await this.lab.host('endpoint');
      this.backend = await this.lab.host('backend');
      this.other = await this.lab.host('other');
      await this.lab.lan([this.endpoint, this.backend, this.other]);
      this.on = await LabNode.start(this.lab, this.other, {
        tcp: OTHER_TCP,
        udp: OTHER_UDP,
        dns: 53,
        records: {
          [BACKEND_NAME]: [this.backend.v4, this.backend.v6],
          'other.palisade.test': [this.other.v4, this.other.v6],
        },
      });
      // Both hosts resolve through the other host's DNS server.
      for (const h of [this.endpoint, this.backend])
        this.lab.etcFile(h, 'resolv.conf', `nameserver ${this.other.v4}\n`);
      this.en = await LabNode.start(this.lab, this.endpoint, { tcp: ENDPOINT_TCP, udp: ENDPOINT_UDP });
      writeFileSync(
        this.configFile,
        `isolation: { selfTestTimeoutSeconds: ${SELF_TEST_S}, resolveIntervalSeconds: 5 }\nlogLevel: info\n`,
      );
      await this.startServer();
    } catch (err) {
      await this.lab.cleanup();
      throw err;
    }
  }

  /** cli runs `palisade ARGS` inside the backend host against the lab's server. */
  cli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
    const child = this.lab.spawn(this.backend, [process.execPath, CLI, ...args, '--data-dir', this.dataDir]);
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(t);
        resolve({ code: code ?? -1, stdout, stderr });
      });
    });
  }

  /** json runs `palisade ARGS --json` and parses its output; a failure throws with the output. */
  // biome-ignore lint/suspicious/noExplicitAny: tests probe the CLI's JSON freely
  async json(args: string[]): Promise<any> {
    const r = await this.cli([...args, '--json']);
    if (r.code !== 0) throw new Error(`palisade ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    return JSON.parse(r.stdout);
  }

  /** Extra `palisade server` flags and environment (a subclass's server options). */
  protected serverFlags: string[] = [];
  protected serverEnv: NodeJS.ProcessEnv = {};

  async startServer(): Promise<void> {
    const child = this.lab.spawn(
      this.backend,
      [
        process.execPath,
        CLI,
        'server',
        '--data-dir',
        this.dataDir,
        '--host',
        '::',
        '--public-host',
        BACKEND_NAME,
        '--registration-port',
        '7443',
        '--telemetry-port',
        '7444',
        '--standby-port',
        '7445',
        '--files-port',
        '7446',
        ...this.serverFlags,
      ],
      { env: this.serverEnv },
    );
    this.server = labProc(child);
    await waitFor(
      'the server to answer',
      async () => {
        if (child.exitCode !== null) throw new Error(`server exited: ${this.server?.output()}`);
        if (!existsSync(join(this.dataDir, 'client.json'))) return false;
        return (await this.cli(['agents', 'list', '--json'])).code === 0;
      },
      60_000,
    );
  }

  /** startAgent starts the agent in the endpoint host and waits until it is connected. */
  async startAgent(env: NodeJS.ProcessEnv = {}): Promise<void> {
    const key = readFileSync(join(this.dataDir, 'registration-key'), 'utf8').trim();
    const child = this.lab.spawn(
      this.endpoint,
      [
        join(ROOT, 'apps/cli/bin/palisade-agent'),
        '--server',
        `https://${BACKEND_NAME}:7443`,
        '--ca',
        join(this.dataDir, 'tls', 'ca.pem'),
        '--state-dir',
        this.stateDir,
        '--config',
        this.configFile,
      ],
      { env: { PALISADE_REGISTRATION_KEY: key, PALISADE_NODE: process.execPath, ...env } },
    );
    this.agent = labProc(child);
    const a = await waitFor(
      'the agent to connect',
      async () => {
        if (child.exitCode !== null) throw new Error(`agent exited: ${this.agent?.output()}`);
        const list = await this.json(['agents', 'list']);
        return list.find((x: { connection?: { state: string } }) => x.connection?.state === 'connected');
      },
      90_000,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\n--- agent ---\n${this.agent?.output()}\n--- server ---\n${this.server?.output()}`,
      );
    });
    this.agentId = a.id;
  }

  /** nftTables lists the endpoint's nftables tables. */
  tables(): Promise<string[]> {
    return this.lab.nftTables(this.endpoint);
  }

  /** reachesOther says whether the endpoint reaches the other host over TCP (v4). */
  async reachesOther(): Promise<boolean> {
    return (await this.en.tcp(this.other.v4, OTHER_TCP, 700)).ok;
  }

  /** ping runs one ping from `from` to `to` (ICMP or ICMPv6). */
  async ping(from: LabHost, to: string): Promise<boolean> {
    return (await this.lab.exec(from, ['ping', '-c', '1', '-W', '1', to])).code === 0;
  }

  /** agentRestore runs `palisade-agent restore --code CODE` at the endpoint's console. */
  agentRestore(code: string): Promise<{ code: number; out: string }> {
    return this.lab.exec(this.endpoint, [
      join(ROOT, 'apps/cli/bin/palisade-agent'),
      'restore',
      '--code',
      code,
      '--state-dir',
      this.stateDir,
    ]);
  }

  async cleanup(): Promise<void> {
    await this.agent?.stop('SIGKILL');
    await this.server?.stop();
    await this.lab.cleanup();
  }
}
