import { type ApiTarget, CliError, apiCall, withQuery } from '../client.js';
import { printJson } from '../output.js';
import { ago, formatTable } from '../table.js';

const enc = encodeURIComponent;

/** Command is a response command as the API returns it. */
export interface Command {
  id: string;
  agent_id: string;
  type: string;
  params: Record<string, unknown>;
  reason: string;
  requested_by: { id: string | null; name: string };
  state: 'pending' | 'delivered' | 'succeeded' | 'failed' | 'expired';
  created_at: string;
  expires_at: string | null;
  delivered_at: string | null;
  finished_at: string | null;
  error: string | null;
  result: Record<string, unknown> | null;
}

const FINAL = ['succeeded', 'failed', 'expired'];

/** describe is one line about a command's state, for people. */
export function describeCommand(c: Command): string {
  const what = `command ${c.id} (${c.type})`;
  switch (c.state) {
    case 'pending':
      return `${what} pending: the agent gets it when it is connected`;
    case 'delivered':
      return `${what} delivered: the agent is carrying it out`;
    case 'succeeded':
      return `${what} succeeded${c.result?.message ? `: ${String(c.result.message)}` : ''}`;
    default:
      return `${what} ${c.state}: ${c.error ?? 'no reason given'}`;
  }
}

/**
 * follow prints a command's state as it changes (to stderr, so --json output stays clean) until
 * it is final or `timeoutS` pass, and returns its last state. A failed or expired outcome, or
 * running out of time, sets a non-zero exit code.
 */
async function follow(target: ApiTarget, c: Command, timeoutS: number): Promise<Command> {
  let last = c.state;
  process.stderr.write(`${describeCommand(c)}\n`);
  const until = Date.now() + timeoutS * 1000;
  let cur = c;
  while (!FINAL.includes(cur.state) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    cur = (await apiCall<{ command: Command }>(target, 'GET', `/commands/${enc(c.id)}`)).command;
    if (cur.state !== last) {
      process.stderr.write(`${describeCommand(cur)}\n`);
      last = cur.state;
    }
  }
  if (!FINAL.includes(cur.state)) {
    process.stderr.write(
      `still ${cur.state} after ${timeoutS} s; follow it with: palisade commands show ${c.id}\n`,
    );
    process.exitCode = 3;
  } else if (cur.state !== 'succeeded') process.exitCode = 1;
  return cur;
}

/** ResponseFlags are the flags every response action takes. */
export interface ResponseFlags {
  json: boolean;
  reason?: string | undefined;
  wait?: boolean | undefined;
  timeout?: string | undefined;
}

/** act posts one response action and prints the command it became (following it with --wait). */
export async function act(
  target: ApiTarget,
  agentId: string,
  action: string,
  body: Record<string, unknown>,
  f: ResponseFlags,
): Promise<void> {
  const timeoutS = f.timeout === undefined ? 60 : Number(f.timeout);
  if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > 3600)
    throw new CliError('--timeout must be a whole number of seconds from 1 to 3600', 2);
  const res = await apiCall<{ command: Command }>(target, 'POST', `/agents/${enc(agentId)}/${action}`, {
    ...body,
    ...(f.reason !== undefined ? { reason: f.reason } : {}),
  });
  const c = f.wait ? await follow(target, res.command, timeoutS) : res.command;
  if (f.json) return printJson(c);
  if (!f.wait) process.stdout.write(`${describeCommand(c)}\n`);
  else process.stdout.write(`${c.id} ${c.state}\n`);
}

/** killBody checks kill-process flags: a pid and the process's start time or unique id. */
export function killBody(v: {
  pid?: string | undefined;
  'start-time'?: string | undefined;
  'process-uid'?: string | undefined;
  tree?: boolean | undefined;
}): Record<string, unknown> {
  if (!v.pid || !/^\d+$/.test(v.pid)) throw new CliError('kill-process needs --pid N', 2);
  if (!v['start-time'] && !v['process-uid']) {
    throw new CliError(
      'kill-process needs --start-time (process.created_time of its events: ms or ISO 8601) or --process-uid, so a reused pid is never killed',
      2,
    );
  }
  const st = v['start-time'];
  return {
    pid: Number(v.pid),
    ...(st ? { start_time: /^\d+$/.test(st) ? Number(st) : st } : {}),
    ...(v['process-uid'] ? { process_uid: v['process-uid'] } : {}),
    ...(v.tree ? { tree: true } : {}),
  };
}

/** restoreCode shows an agent's offline restore code once (or a new one with --rotate). */
export async function restoreCode(
  target: ApiTarget,
  agentId: string,
  rotate: boolean,
  json: boolean,
): Promise<void> {
  const res = await apiCall<{ code: string; code_id: string; created_at: string }>(
    target,
    'POST',
    `/agents/${enc(agentId)}/restore-code${rotate ? '/rotate' : ''}`,
    {},
  );
  if (json) return printJson(res);
  process.stdout.write(
    `offline restore code of agent ${agentId} (id ${res.code_id}; shown once, keep it safe):\n  ${res.code}\nat the host, as root: palisade-agent restore --code ${res.code}\n`,
  );
}

/** commandsList prints commands, newest first. */
export async function commandsList(
  target: ApiTarget,
  query: Record<string, string | undefined>,
  json: boolean,
): Promise<void> {
  const res = await apiCall<{ commands: Command[]; next_cursor: string | null }>(
    target,
    'GET',
    withQuery('/commands', query),
  );
  if (json) return printJson(res.commands);
  const rows = res.commands.map((c) => [
    c.id,
    c.agent_id,
    c.type,
    target0(c),
    c.state,
    ago(Date.parse(c.created_at)),
    c.requested_by.name,
    c.state === 'failed' || c.state === 'expired' ? (c.error ?? '') : c.reason,
  ]);
  process.stdout.write(
    `${formatTable(['ID', 'AGENT', 'TYPE', 'TARGET', 'STATE', 'ASKED', 'BY', 'REASON / ERROR'], rows)}\n`,
  );
  if (res.next_cursor) process.stdout.write(`more: --cursor ${res.next_cursor}\n`);
}

function target0(c: Command): string {
  const p = c.params;
  if (c.type === 'kill_process') return `pid ${p.pid}${p.tree ? ' (tree)' : ''}`;
  if (c.type === 'quarantine_file' || c.type === 'collect_file') return String(p.path);
  if (c.type === 'restore_file') return String(p.path ?? p.quarantine_id);
  return '-';
}

/** commandsShow prints one command as JSON (its result has nested facts). */
export async function commandsShow(target: ApiTarget, id: string): Promise<void> {
  const res = await apiCall<{ command: Command }>(target, 'GET', `/commands/${enc(id)}`);
  printJson(res.command);
}

/** Isolation is an agent's isolation as the API shows it. */
export interface Isolation {
  status: string;
  pending_since: string | null;
  desired: { isolated: boolean; reason: string; since: string | null };
  actual: { state: string; reason: string; since: string | null } | null;
}

/** isolationCell is the ISOLATION column: the status, and desired → actual when they differ. */
export function isolationCell(i: Isolation | undefined): string {
  if (!i || i.status === 'not_isolated') return '-';
  const want = i.desired.isolated ? 'isolated' : 'not_isolated';
  const is = i.actual?.state ?? 'unknown';
  const since =
    i.status === 'pending' && i.pending_since
      ? ` since ${ago(Date.parse(i.pending_since)).replace(' ago', '')}`
      : '';
  return want === is ? i.status : `${i.status}${since} (wants ${want}, is ${is})`;
}
