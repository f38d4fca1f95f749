/**
 * Characters that change what a terminal shows instead of being shown: C0 and C1 controls (ESC
 * starts cursor-moving and colour sequences, CR/LF forge lines), DEL, the Unicode line and
 * paragraph separators, and the bidirectional overrides and isolates that reorder text.
 */
const CONTROL = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * escapeControl makes text from the server (argv, paths, DNS names, host names ...) safe to print
 * on a terminal: every control character becomes a visible escape (`\n`, `\x1b`, `\u202e`), so a
 * value can neither move the cursor, recolour the screen nor start a new table row.
 */
export function escapeControl(s: string): string {
  return s.replace(CONTROL, (c) => {
    const named = NAMED[c];
    if (named) return named;
    const code = c.codePointAt(0) ?? 0;
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** safe is a template tag that escapes every interpolated value with escapeControl (the literal text is ours). */
export function safe(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += escapeControl(v === null || v === undefined ? '' : String(v)) + (strings[i + 1] ?? '');
  });
  return out;
}
