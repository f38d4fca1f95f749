/** printTable prints rows under a header with aligned columns. */
export function printTable(title: string, columns: string[], rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map(String));
  const widths = columns.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  process.stdout.write(`\n${title}\n${line(columns)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of cells) process.stdout.write(`${line(r)}\n`);
}

/** progress writes a transient progress line to stderr. */
export function progress(msg: string): void {
  process.stderr.write(`  … ${msg}\n`);
}
