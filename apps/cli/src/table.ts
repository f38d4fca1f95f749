import { escapeControl } from './terminal-text.js';

/**
 * formatTable renders rows as aligned columns with a header, for people. Cells are escaped
 * (escapeControl): a value cannot move the cursor or start a row of its own.
 */
export function formatTable(columns: string[], rows: unknown[][]): string {
  const cells = rows.map((r) => r.map((c) => escapeControl(c === null || c === undefined ? '' : String(c))));
  const widths = columns.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** ago renders a past time as "12s ago", "5m ago", ... */
export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
