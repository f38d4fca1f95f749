/** printJson writes a value as pretty JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** isoTime renders epoch ms as ISO 8601, or '' when absent. */
export function isoTime(ms: unknown): string {
  return typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString() : '';
}
