// The `palisade` CLI as scripts and people use it, against a real server process fed by a
// simulated agent over real TLS: paging search results (--all, --jsonl), tables that hostile
// argv cannot forge, connection direction, and the API token taken from a file or stdin.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Event, EventSchema, create } from '@palisade/protocol';
import { SimulatedAgent, makeProcessEvent, removeTempDir, tempDir, waitFor } from '@palisade/testkit';
import { CLI, runCli, type ServerHandle, startServerProcess } from './processes.js';

// biome-ignore lint/suspicious/noExplicitAny: tests probe the CLI's JSON freely
type Json = Record<string, any>;

const MARK = `clipage${randomBytes(4).toString('hex')}`;
const COUNT = 23;

/** connection makes a TCP event as the agent's BPF sensor maps one (src = the initiator). */
function connection(direction: 1 | 2, i: number): Event {
  const local = { ip: '10.1.0.5', port: 40_000 + i };
  const remote = { ip: '10.1.0.9', port: 22 };
  return create(EventSchema, {
    classUid: 4001,
    activityId: 1,
    timeMs: BigInt(Date.now()),
    severityId: 1,
    process: { pid: 4242, name: 'ssh', path: '/usr/bin/ssh', cmdLine: `ssh ${MARK}`, argv: ['ssh', MARK] },
    srcEndpoint: direction === 1 ? remote : local,
    dstEndpoint: direction === 1 ? local : remote,
    connectionInfo: { protocolNum: 6, protocolName: 'tcp', directionId: direction, protocolVerId: 4 },
  });
}

/** cli runs `palisade` with stdin fed from `input`; resolves with exit code and output. */
function cli(args: string[], input = '', env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, PALISADE_TOKEN: '', PALISADE_TOKEN_FILE: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
    c.stdin.end(input);
  });
}

describe('palisade CLI for scripts and people', () => {
  let server: ServerHandle;
  const empty = tempDir('palisade-e2e-no-client-');
  let remote: string[];
  let token: string;
  before(async () => {
    server = await startServerProcess();
    token = readFileSync(server.client.tokenFile, 'utf8').trim();
    // Flags as for a remote server: no local client.json to fall back on.
    remote = ['--data-dir', empty, '--server', server.client.apiUrl, '--ca', server.client.caFile];
    const agent = await SimulatedAgent.register({
      registrationUrl: server.client.registrationUrl,
      registrationKey: readFileSync(join(server.dataDir, 'registration-key'), 'utf8').trim(),
      caPem: readFileSync(server.client.caFile, 'utf8'),
    });
    await agent.connect();
    await agent.sendBatch(Array.from({ length: COUNT }, (_, i) => makeProcessEvent(i, { marker: MARK })));
    await agent.sendBatch([
      makeProcessEvent(100, { marker: `${MARK} \x1b[2J\x1b[H\nFORGED ROW` }),
      connection(2, 1),
      connection(1, 2),
    ]);
    await agent.close();
  });
  after(async () => {
    await server?.stop();
    removeTempDir(empty);
  });

  const search = (...more: string[]) => [
    'events',
    'search',
    '--contains',
    MARK,
    ...more,
    '--token-file',
    server.client.tokenFile,
    ...remote,
  ];

  test('--all --json follows the cursors and prints one JSON array of every event', async () => {
    const r = await cli(search('--class', 'process', '--limit', '7', '--all', '--json'));
    assert.equal(r.code, 0, r.stderr);
    const events = JSON.parse(r.stdout) as Json[];
    assert.equal(events.length, COUNT + 1);
    assert.equal(
      new Set(events.map((e) => e.metadata?.uid ?? JSON.stringify(e))).size,
      COUNT + 1,
      'no event twice',
    );
    // Without --all, --json is one page, as before.
    const one = await cli(search('--class', 'process', '--limit', '7', '--json'));
    assert.equal((JSON.parse(one.stdout) as Json[]).length, 7);
  });

  test('--jsonl prints one event per line and then the next cursor; following it pages through', async () => {
    let cursor: string | null = null;
    const seen: Json[] = [];
    for (let page = 0; page < 10; page++) {
      const r = await cli(
        search('--class', 'process', '--limit', '10', '--jsonl', ...(cursor ? ['--cursor', cursor] : [])),
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Json);
      const last = lines.pop()!;
      assert.deepEqual(Object.keys(last), ['next_cursor']);
      seen.push(...lines);
      cursor = last.next_cursor;
      if (cursor === null) break;
      assert.equal(lines.length, 10);
    }
    assert.equal(cursor, null, 'the last page says there is no next one');
    assert.equal(seen.length, COUNT + 1);
    const all = await cli(search('--class', 'process', '--limit', '5', '--all', '--jsonl'));
    const lines = all.stdout.trimEnd().split('\n');
    assert.equal(lines.length, COUNT + 2);
    assert.equal(lines.at(-1), '{"next_cursor":null}');
  });

  test('the table escapes hostile argv (one line per event, no escape sequences) and shows connection direction', async () => {
    const r = await cli(search());
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2 + COUNT + 3, r.stdout);
    assert.ok(!r.stdout.includes('\x1b'), 'no ESC reaches the terminal');
    assert.ok(!lines.some((l) => l.startsWith('FORGED ROW')), 'a newline in argv did not start a row');
    assert.ok(lines.some((l) => l.includes('\\x1b[2J\\x1b[H\\nFORGED ROW')));
    assert.ok(
      lines.some((l) => l.includes('10.1.0.5:40001 -> 10.1.0.9:22')),
      'outbound: local -> remote',
    );
    assert.ok(
      lines.some((l) => l.includes('10.1.0.5:40002 <- 10.1.0.9:22')),
      'inbound: local <- remote',
    );
  });

  test('the token comes from --token-file, stdin (-) or PALISADE_TOKEN_FILE; --token works but warns', async () => {
    const list = ['agents', 'list', '--json', ...remote];
    const fromFile = await cli([...list, '--token-file', server.client.tokenFile]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(fromFile.stderr, '');
    const fromStdin = await cli([...list, '--token-file', '-'], `${token}\n`);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const fromEnv = await cli(list, '', { PALISADE_TOKEN_FILE: server.client.tokenFile });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const inArgv = await cli([...list, '--token', token]);
    assert.equal(inArgv.code, 0, inArgv.stderr);
    assert.match(inArgv.stderr, /warning: --token puts the API token on the command line/);
    const both = await cli([...list, '--token', token, '--token-file', '-'], token);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--token and --token-file cannot be combined/);
    const emptyStdin = await cli([...list, '--token-file', '-'], '');
    assert.equal(emptyStdin.code, 1);
    assert.match(emptyStdin.stderr, /no API token in stdin/);
    // A token file others can read is a warning, not a refusal.
    const loose = join(empty, 'loose-token');
    writeFileSync(loose, token);
    chmodSync(loose, 0o644);
    const warned = await cli([...list, '--token-file', loose]);
    assert.equal(warned.code, 0);
    assert.match(warned.stderr, /can be read by other users; chmod 600 it/);
  });

  test('tokens create --expires-in and keys create --max-uses show up in their listings', async () => {
    const admin = ['--token-file', server.client.tokenFile, ...remote];
    const made = await runCli([
      'tokens',
      'create',
      `ci-${MARK}`,
      '--role',
      'viewer',
      '--expires-in',
      '30d',
      ...admin,
    ]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /expires \d{4}-\d{2}-\d{2}T/);
    const tokens = await runCli(['tokens', 'list', ...admin]);
    assert.match(tokens.stdout, /EXPIRES/);
    assert.match(
      tokens.stdout,
      new RegExp(`ci-${MARK}\\s+viewer\\s+\\S+\\s+\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}\\s+active`),
    );
    const key = await runCli(['keys', 'create', '--max-uses', '5', '--json', ...admin]);
    assert.equal(key.code, 0, key.stderr);
    const id = JSON.parse(key.stdout).key.id as string;
    await waitFor('the key listing', async () =>
      (await runCli(['keys', 'list', ...admin])).stdout.includes(id),
    );
    const keys = await runCli(['keys', 'list', ...admin]);
    assert.match(keys.stdout, new RegExp(`${id}.*active\\s+0/5`));
    const bad = await runCli(['keys', 'create', '--max-uses', 'lots', ...admin]);
    assert.equal(bad.code, 2);
  });
});
