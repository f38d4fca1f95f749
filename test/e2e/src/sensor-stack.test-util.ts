// The server + agent pair the kernel-sensor e2e suites run against (needs root: eBPF): a real
// server process, a real agent process with the eBPF sensor, and event search through the CLI
// with every result checked against the OCSF schema.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OcsfValidator, waitFor } from '@palisade/testkit';
import { type Proc, runCli, type ServerHandle, startAgentProcess, startServerProcess } from './processes.js';

// biome-ignore lint/suspicious/noExplicitAny: OCSF JSON is checked by the validator, read loosely.
export type Ocsf = Record<string, any>;

/** SensorStack is a running server and agent, and searches of what the agent sent. */
export interface SensorStack {
  server: ServerHandle;
  agent: Proc;
  agentId: string;
  /** events searches the agent's events of a class containing `contains`, OCSF-validated. */
  events(cls: string, contains: string, extra?: string[]): Promise<Ocsf[]>;
  /** until waits for an event of a class containing `contains` that `pred` accepts. */
  until(what: string, cls: string, contains: string, pred: (e: Ocsf) => boolean, ms?: number): Promise<Ocsf>;
  /** stop ends the agent and the server. */
  stop(): Promise<void>;
}

export interface SensorStackOptions {
  /** A directory of the test's (removed by the test). */
  tmp: string;
  /** The agent's YAML config text (written to tmp/agent.yaml). */
  agentConfig?: string;
  /** The default group's tier, set before the agent starts. @default workstation */
  tier?: 'server' | 'workstation';
}

const validator = new OcsfValidator();

/** exited resolves with a child's exit code once it has exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res(child.exitCode);
    child.once('exit', (code) => res(code));
  });
}

/** startSensorStack starts a server, sets the default tier and starts a connected agent. */
export async function startSensorStack(opts: SensorStackOptions): Promise<SensorStack> {
  const server = await startServerProcess();
  let agent: Proc | undefined;
  const stop = async () => {
    await agent?.stop();
    await server.stop();
  };
  try {
    const config = join(opts.tmp, 'agent.yaml');
    writeFileSync(config, opts.agentConfig ?? '{}\n');
    const policy = await runCli([
      'groups',
      'set-policy',
      'default',
      '--tier',
      opts.tier ?? 'workstation',
      '--data-dir',
      server.dataDir,
    ]);
    assert.equal(policy.code, 0, policy.stderr);
    const started = startAgentProcess(server, join(opts.tmp, 'agent-state'), ['--config', config]);
    agent = started;
    const connected = await waitFor(
      'the agent to connect',
      async () => {
        const r = await runCli(['agents', 'list', '--json', '--data-dir', server.dataDir]);
        return (JSON.parse(r.stdout) as Ocsf[]).find((a) => a.connection?.state === 'connected');
      },
      60_000,
    ).catch((err) => {
      throw new Error(`${err.message}\n--- agent ---\n${started.output()}`);
    });
    const agentId: string = connected.id;
    const events = async (cls: string, contains: string, extra: string[] = []): Promise<Ocsf[]> => {
      const r = await runCli([
        'events',
        'search',
        '--class',
        cls,
        '--contains',
        contains,
        '--agent',
        agentId,
        '--limit',
        '1000',
        '--json',
        '--data-dir',
        server.dataDir,
        ...extra,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const list = JSON.parse(r.stdout) as Ocsf[];
      for (const e of list)
        assert.deepEqual(validator.validate(e), [], `OCSF: ${JSON.stringify(e).slice(0, 300)}`);
      return list;
    };
    const until = (what: string, cls: string, contains: string, pred: (e: Ocsf) => boolean, ms = 15_000) =>
      waitFor(what, async () => (await events(cls, contains)).find(pred), ms);
    return { server, agent: started, agentId, events, until, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
