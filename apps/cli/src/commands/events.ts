import { type ApiTarget, apiCall, CliError } from '../client.js';
import { isoTime } from '../output.js';
import { formatTable } from '../table.js';
import { safe } from '../terminal-text.js';

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

/** EventOutput is how results are printed: a table, a JSON array, or JSON lines; `all` follows cursors. */
export interface EventOutput {
  json?: boolean;
  jsonl?: boolean;
  all?: boolean;
}

type Ocsf = Record<string, any>;
type Page = {
  events: Ocsf[];
  next_cursor?: string | null;
  /** Stored batches the server could not decode (their events are missing from the page). */
  skipped?: { agent_id: string; seq: string; reason: string }[];
};

/**
 * connection renders a network event with the local endpoint first: `local -> remote` for a
 * connection the local process opened, `local <- remote` for one it accepted (an accept and the
 * matching connect on one host would otherwise print the same line), `src -> dst ?` when the
 * direction is unknown.
 */
export function connection(e: Ocsf): string {
  const ep = (x: Ocsf | undefined) => `${x?.ip}:${x?.port}`;
  const src = ep(e.src_endpoint);
  const dst = ep(e.dst_endpoint);
  // OCSF direction_id: 1 inbound (src is the remote peer), 2 outbound (src is this host).
  const dir = e.connection_info?.direction_id;
  if (dir === 1) return `${dst} <- ${src}`;
  if (dir === 2) return `${src} -> ${dst}`;
  return `${src} -> ${dst} ?`;
}

/** summary is the SUMMARY column: what happened, in one line. */
export function summary(e: Ocsf): string {
  const p = e.process ?? e.actor?.process;
  switch (e.class_uid) {
    case 1007:
      return e.activity_id === 2
        ? `exit ${e.exit_code ?? '?'} ${p?.cmd_line ?? ''}`
        : (p?.cmd_line ?? p?.path ?? '');
    case 1001:
      return e.file_result ? `${e.file?.path} -> ${e.file_result.path}` : (e.file?.path ?? '');
    case 4001:
      return connection(e);
    case 4003:
      return e.query?.hostname ?? '';
    case 3002:
      return `${e.status ?? ''} ${e.service?.name ?? ''} ${e.user?.name ?? ''} ${e.src_endpoint?.ip ?? ''}`.trim();
    default:
      return e.message ?? '';
  }
}

function queryOf(flags: EventSearchFlags): URLSearchParams {
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
  return q;
}

/**
 * Progress is the stderr line a long `--all` run keeps up to date: nothing for the first second,
 * then every second on a terminal (rewritten in place) or every 5 s otherwise, and a last line
 * with the totals if it said anything.
 */
export class Progress {
  private readonly started: number;
  private last = Number.NEGATIVE_INFINITY;
  private shown = false;

  constructor(
    private readonly write: (s: string) => void = (s) => process.stderr.write(s),
    private readonly tty = process.stderr.isTTY === true,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(events: number, pages: number): void {
    const now = this.now();
    if (now - this.started < 1000 || now - this.last < (this.tty ? 1000 : 5000)) return;
    this.last = now;
    this.shown = true;
    const text = `palisade: ${events} events in ${pages} pages so far ...`;
    this.write(this.tty ? `\r${text}` : `${text}\n`);
  }

  done(events: number, pages: number): void {
    if (!this.shown) return;
    const s = ((this.now() - this.started) / 1000).toFixed(1);
    this.write(`${this.tty ? '\r' : ''}palisade: ${events} events in ${pages} pages, ${s} s\n`);
  }
}

/** indent2 indents a pretty-printed JSON value by two spaces, as an element of a pretty array. */
const indent2 = (v: unknown) => `  ${JSON.stringify(v, null, 2).replaceAll('\n', '\n  ')}`;

/**
 * eventsSearch runs a search and prints it. One page by default: a table (the next cursor under
 * it), a JSON array (`--json`), or one event per line and a last line `{"next_cursor": ...}`
 * (`--jsonl`). `--all` follows cursors to the end: the table holds every row, `--json` prints one
 * array (streamed, so memory stays flat), `--jsonl` ends with `{"next_cursor": null}`; a run that
 * takes more than a second reports progress on stderr.
 */
export async function eventsSearch(
  target: ApiTarget,
  flags: EventSearchFlags,
  out: EventOutput,
): Promise<void> {
  if (flags.limit !== undefined && !/^\d+$/.test(flags.limit))
    throw new CliError(`--limit must be a whole number, got '${flags.limit}'`);
  if (out.json && out.jsonl) throw new CliError('--json and --jsonl cannot be combined', 2);
  // Following cursors, a bigger page means fewer round trips; --limit still sets it.
  const q = queryOf({ ...(out.all && flags.limit === undefined ? { limit: '1000' } : {}), ...flags });
  const progress = new Progress();
  const rows: unknown[][] = [];
  let count = 0;
  let pages = 0;
  let cursor: string | null = null;
  if (out.json && out.all) process.stdout.write('[');
  for (;;) {
    const page: Page = await apiCall<Page>(target, 'GET', `/events?${q.toString()}`);
    pages++;
    cursor = page.next_cursor ?? null;
    for (const sk of page.skipped ?? []) {
      process.stderr.write(
        safe`warning: stored batch ${sk.seq} of agent ${sk.agent_id} could not be read: ${sk.reason}\n`,
      );
    }
    if (out.jsonl) {
      let text = '';
      for (const e of page.events) text += `${JSON.stringify(e)}\n`;
      process.stdout.write(text);
    } else if (out.json) {
      if (!out.all) {
        process.stdout.write(`${JSON.stringify(page.events, null, 2)}\n`);
      } else if (page.events.length) {
        process.stdout.write(`${count ? ',' : ''}\n${page.events.map(indent2).join(',\n')}`);
      }
    } else {
      for (const e of page.events) {
        rows.push([
          isoTime(e.time),
          e.class_name,
          e.activity_name,
          e.device?.hostname,
          (e.process ?? e.actor?.process)?.pid,
          summary(e).slice(0, 120),
        ]);
      }
    }
    count += page.events.length;
    if (!out.all || cursor === null) break;
    q.set('cursor', cursor);
    progress.update(count, pages);
  }
  progress.done(count, pages);
  if (out.jsonl) process.stdout.write(`${JSON.stringify({ next_cursor: cursor })}\n`);
  else if (out.json && out.all) process.stdout.write(count ? '\n]\n' : ']\n');
  else if (!out.json) {
    process.stdout.write(`${formatTable(['TIME', 'CLASS', 'ACTIVITY', 'HOST', 'PID', 'SUMMARY'], rows)}\n`);
    if (cursor) process.stdout.write(safe`more results: --cursor ${cursor}\n`);
  }
}
