import { type ApiTarget, apiCall } from '../client.js';
import { printJson } from '../output.js';
import { ago, formatTable } from '../table.js';

const enc = encodeURIComponent;

/** Finding is an alert as the API returns it (an OCSF Detection Finding); only what the CLI reads. */
export interface Finding {
  count: number;
  status: string;
  severity: string;
  time: number;
  device: { uid: string; hostname: string };
  finding_info: { uid: string; title: string; analytic: { uid: string }; first_seen_time: number };
  evidences: { process?: { pid: number; file: { path: string } }; file?: { path: string } }[];
}

function evidenceCell(f: Finding): string {
  const e = f.evidences[0];
  if (!e) return '-';
  if (e.process) return `pid ${e.process.pid} ${e.process.file.path}`;
  return e.file?.path ?? '-';
}

/** alertsList prints alerts, newest first (`--json`: the findings as a JSON array). */
export async function alertsList(
  target: ApiTarget,
  query: Record<string, string | undefined>,
  json: boolean,
): Promise<void> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
  const qs = q.toString();
  const res = await apiCall<{ alerts: Finding[]; next_cursor: string | null }>(
    target,
    'GET',
    `/alerts${qs ? `?${qs}` : ''}`,
  );
  if (json) return printJson(res.alerts);
  const rows = res.alerts.map((f) => [
    f.finding_info.uid,
    f.severity,
    f.status,
    f.device.hostname,
    String(f.count),
    ago(f.time),
    f.finding_info.title,
    evidenceCell(f),
  ]);
  process.stdout.write(
    `${formatTable(['ID', 'SEVERITY', 'STATUS', 'HOST', 'COUNT', 'LAST', 'RULE', 'EVIDENCE'], rows)}\n`,
  );
  if (res.next_cursor) process.stdout.write(`more: --cursor ${res.next_cursor}\n`);
}

/** alertsShow prints one alert with its evidence events as JSON. */
export async function alertsShow(target: ApiTarget, id: string): Promise<void> {
  printJson(await apiCall(target, 'GET', `/alerts/${enc(id)}`));
}

/** alertsUpdate changes an alert's status, assignee or comment (`alerts resolve ID`). */
export async function alertsUpdate(
  target: ApiTarget,
  id: string,
  body: { status?: string; assignee?: string; comment?: string },
  json: boolean,
): Promise<void> {
  const res = await apiCall<{ alert: Finding }>(target, 'PATCH', `/alerts/${enc(id)}`, body);
  if (json) return printJson(res.alert);
  process.stdout.write(`alert ${res.alert.finding_info.uid}: ${res.alert.status}\n`);
}

/** detectionStatus prints how far detection is behind ingest. */
export async function detectionStatus(target: ApiTarget, json: boolean): Promise<void> {
  const s = await apiCall<{ lag_batches: number; lag_events: number; lag_ms: number; cursor: number }>(
    target,
    'GET',
    '/detection/status',
  );
  if (json) return printJson(s);
  process.stdout.write(
    `detection: ${s.lag_events} events in ${s.lag_batches} batches waiting (oldest ${Math.round(s.lag_ms / 1000)} s), cursor at batch ${s.cursor}\n`,
  );
}

interface RuleRow {
  id: string;
  title: string;
  file: string;
  state: string;
  reason?: string;
}

/** rulesList prints every rule the server loaded or could not load (`reload`: load them again first). */
export async function rulesList(target: ApiTarget, json: boolean, reload = false): Promise<void> {
  const res = reload
    ? await apiCall<{ rules: RuleRow[] }>(target, 'POST', '/rules/reload')
    : await apiCall<{ rules: RuleRow[] }>(target, 'GET', '/rules');
  if (json) return printJson(res.rules);
  const rows = res.rules.map((r) => [r.state, r.id, r.title, r.reason ?? '', r.file]);
  process.stdout.write(`${formatTable(['STATE', 'ID', 'TITLE', 'REASON', 'FILE'], rows)}\n`);
  const loaded = res.rules.filter((r) => r.state === 'loaded').length;
  process.stdout.write(`${loaded} of ${res.rules.length} loaded\n`);
}
