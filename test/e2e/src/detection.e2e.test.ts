// Detection end to end (needs root: the eBPF sensor): a real server process with the default
// rule pack, a real agent on this host, real behaviours, and the alerts read back through
// `palisade alerts list --json` with their evidence; a benign workload raises none.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeTempDir, tempDir, waitFor } from '@palisade/testkit';
import { type Proc, runCli, type ServerHandle, startAgentProcess, startServerProcess } from './processes.js';

const EXEC_FROM_TMP = '7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e14';
const BASE64_SHELL = '7c1d2a10-5b1e-4c7a-9d2e-1a0f3b6c8e15';

// biome-ignore lint/suspicious/noExplicitAny: findings are read as JSON
type Finding = Record<string, any>;

describe('detection with a real agent (root)', { timeout: 120_000 }, () => {
  const tmp = tempDir('palisade-e2e-detect-');
  const cleanups: (() => unknown)[] = [];
  let server: ServerHandle;
  let agent: Proc;

  async function alerts(): Promise<Finding[]> {
    const r = await runCli(['alerts', 'list', '--json', '--limit', '1000', '--data-dir', server.dataDir]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Finding[];
  }

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'this test needs root');
    cleanups.push(() => removeTempDir(tmp));
    server = await startServerProcess();
    cleanups.push(() => server.stop());
    agent = startAgentProcess(server, join(tmp, 'agent-state'));
    cleanups.push(() => agent.stop());
    await waitFor(
      'the agent to connect',
      async () => {
        const r = await runCli(['agents', 'list', '--json', '--data-dir', server.dataDir]);
        return (JSON.parse(r.stdout) as Finding[]).find((a) => a.connection?.state === 'connected');
      },
      60_000,
    ).catch((err) => {
      throw new Error(`${err.message}\n--- agent ---\n${agent.output()}`);
    });
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('a benign workload raises no alert, then a copied binary run from /tmp and a base64 pipe to a shell do, with evidence', async () => {
    // A few hundred ordinary commands (no shell tricks, nothing run from /tmp).
    const benign = [
      ['ls', '-la', '/etc'],
      ['uname', '-a'],
      ['id'],
      ['date', '-u'],
      ['cat', '/etc/hostname'],
      ['grep', '-c', 'root', '/etc/group'],
      ['df', '-h'],
      ['ps', '-e'],
      ['git', '--version'],
      ['sort', '/etc/hostname'],
    ];
    for (let i = 0; i < 30; i++)
      for (const [cmd, ...args] of benign) spawnSync(cmd!, args, { stdio: 'ignore' });
    const dropped = join(tmp, 'palisade-dropped-true');
    assert.ok(dropped.startsWith('/tmp/'), `temp dir ${tmp} is not under /tmp`);
    copyFileSync('/bin/true', dropped);
    chmodSync(dropped, 0o755);
    spawnSync(dropped, ['--marker'], { stdio: 'ignore' });
    spawnSync('/bin/sh', ['-c', 'echo ZWNobyBwYWxpc2FkZS1iNjQ= | base64 -d | sh'], { stdio: 'ignore' });

    const found = await waitFor(
      'both alerts',
      async () => {
        const list = await alerts();
        const tmpAlert = list.find(
          (f) =>
            f.finding_info.analytic.uid === EXEC_FROM_TMP &&
            f.evidences.some((e: Finding) => e.process?.file?.path === dropped),
        );
        const b64 = list.find((f) => f.finding_info.analytic.uid === BASE64_SHELL);
        return tmpAlert && b64 && { tmpAlert, b64, list };
      },
      30_000,
    );
    const ev = found.tmpAlert.evidences.find((e: Finding) => e.process?.file?.path === dropped);
    assert.ok(ev.process.pid > 0);
    assert.equal(typeof ev.process.created_time, 'number');
    assert.equal(ev.process.user.uid, '0');
    assert.match(found.b64.evidences[0].process.cmd_line, /base64 -d \| sh/);
    // Nothing of the benign workload: every alert's evidence is one of the two behaviours.
    for (const f of found.list) {
      for (const e of f.evidences) {
        const line = String(e.process?.cmd_line ?? '');
        assert.ok(
          line.includes('palisade-dropped-true') || line.includes('base64'),
          `unexpected alert ${f.finding_info.title}: ${line}`,
        );
      }
    }
    const shown = await runCli([
      'alerts',
      'show',
      found.tmpAlert.finding_info.uid,
      '--data-dir',
      server.dataDir,
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.ok(JSON.parse(shown.stdout).events.length >= 1);
    const resolved = await runCli([
      'alerts',
      'resolve',
      found.tmpAlert.finding_info.uid,
      '--data-dir',
      server.dataDir,
    ]);
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.match(resolved.stdout, /Resolved/);
    const status = await runCli(['detection', 'status', '--data-dir', server.dataDir]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^detection: \d+ events/);
    const rules = await runCli(['rules', 'list', '--json', '--data-dir', server.dataDir]);
    assert.equal(rules.code, 0, rules.stderr);
    assert.ok(
      (JSON.parse(rules.stdout) as Finding[]).some((r) => r.id === EXEC_FROM_TMP && r.state === 'loaded'),
    );
  });
});
