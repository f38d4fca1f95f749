import { type ApiTarget, apiCall, CliError } from '../client.js';
import { isoTime, printJson } from '../output.js';
import { formatTable } from '../table.js';

/** EventSearchFlags are the filters `palisade events search` takes. */
export interface EventSearchFlags {
  class?: string;
  activity?: string;
  agent?: string;
  contains?: string;
  from?: string;
  to?: string;
  limit?: string;
  cursor?: string;
}

type Ocsf = Record<string, any>;

function summary(e: Ocsf): string {
  const p = e.process ?? e.actor?.process;
  switch (e.class_uid) {
    case 1007:
      return e.activity_id === 2
        ? `exit ${e.exit_code ?? '?'} ${p?.cmd_line ?? ''}`
        : (p?.cmd_line ?? p?.path ?? '');
    case 1001:
      return e.file_result ? `${e.file?.path} -> ${e.file_result.path}` : (e.file?.path ?? '');
    case 4001:
      return `${e.src_endpoint?.ip}:${e.src_endpoint?.port} -> ${e.dst_endpoint?.ip}:${e.dst_endpoint?.port}`;
    case 4003:
      return e.query?.hostname ?? '';
    case 3002:
      return `${e.status ?? ''} ${e.service?.name ?? ''} ${e.user?.name ?? ''} ${e.src_endpoint?.ip ?? ''}`.trim();
    default:
      return e.message ?? '';
  }
}

/** eventsSearch runs one search page and prints it: a table, or a JSON array with --json. */
export async function eventsSearch(target: ApiTarget, flags: EventSearchFlags, json: boolean): Promise<void> {
  const q = new URLSearchParams();
  const map: [keyof EventSearchFlags, string][] = [
    ['class', 'class'],
    ['activity', 'activity'],
    ['agent', 'agent_id'],
    ['contains', 'contains'],
    ['from', 'from'],
    ['to', 'to'],
    ['limit', 'limit'],
    ['cursor', 'cursor'],
  ];
  for (const [flag, param] of map) {
    const v = flags[flag];
    if (v !== undefined) q.set(param, v);
  }
  if (flags.limit !== undefined && !/^\d+$/.test(flags.limit))
    throw new CliError(`--limit must be a whole number, got '${flags.limit}'`);
  const res = await apiCall<{
    events: Ocsf[];
    next_cursor?: string;
    skipped?: { agent_id: string; seq: string; reason: string }[];
  }>(target, 'GET', `/events?${q.toString()}`);
  if (json) return printJson(res.events);
  const rows = res.events.map((e) => [
    isoTime(e.time),
    e.class_name,
    e.activity_name,
    e.device?.hostname,
    (e.process ?? e.actor?.process)?.pid,
    summary(e).slice(0, 120),
  ]);
  process.stdout.write(`${formatTable(['TIME', 'CLASS', 'ACTIVITY', 'HOST', 'PID', 'SUMMARY'], rows)}\n`);
  if (res.next_cursor) process.stdout.write(`more results: --cursor ${res.next_cursor}\n`);
  for (const b of res.skipped ?? []) {
    process.stderr.write(
      `warning: stored batch ${b.seq} of agent ${b.agent_id} could not be read: ${b.reason}\n`,
    );
  }
}
