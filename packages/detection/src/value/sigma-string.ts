/**
 * A Sigma string value, parsed: plain text, the `*` and `?` wildcards and (with the `expand`
 * modifier) `%name%` placeholders. The escape rules are the specification's: `\*` and `\?` are
 * plain wildcard characters, `\\` is one backslash, and a backslash before anything else is itself.
 */
export const STAR = 0;
export const QMARK = 1;
/** Part of a Sigma string: text, a wildcard, or a placeholder to expand. */
export type Part = string | typeof STAR | typeof QMARK | { placeholder: string };

/** SigmaString is a parsed string value: its parts, and whether the text holds raw bytes. */
export interface SigmaString {
  parts: Part[];
}

function pushText(parts: Part[], s: string): void {
  if (!s) return;
  const last = parts[parts.length - 1];
  if (typeof last === 'string') parts[parts.length - 1] = last + s;
  else parts.push(s);
}

/** parseSigmaString reads a rule value; `placeholders` turns `%name%` into placeholders (`\%` stays a percent sign). */
export function parseSigmaString(s: string, placeholders = false): SigmaString {
  const parts: Part[] = [];
  let text = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      if (n === '*' || n === '?' || n === '\\' || (placeholders && n === '%')) {
        text += n;
        i++;
      } else text += c;
    } else if (c === '*' || c === '?') {
      pushText(parts, text);
      text = '';
      parts.push(c === '*' ? STAR : QMARK);
    } else if (c === '%' && placeholders) {
      const end = s.indexOf('%', i + 1);
      const name = end > i + 1 ? s.slice(i + 1, end) : '';
      if (end < 0 || !/^[A-Za-z0-9_.-]+$/.test(name)) {
        text += c;
        continue;
      }
      pushText(parts, text);
      text = '';
      parts.push({ placeholder: name });
      i = end;
    } else text += c;
  }
  pushText(parts, text);
  return { parts };
}

/** hasWildcards tells whether a value has `*` or `?` (or placeholders) in it. */
export function hasSpecial(v: SigmaString): boolean {
  return v.parts.some((p) => typeof p !== 'string');
}

/** plainText is the text of a value without specials (callers check hasSpecial first). */
export function plainText(v: SigmaString): string {
  return v.parts.map((p) => (typeof p === 'string' ? p : '')).join('');
}

/** withStar puts a `*` at the start and/or the end of a value, unless one is there already. */
export function withStar(v: SigmaString, start: boolean, end: boolean): SigmaString {
  const parts = [...v.parts];
  if (start && parts[0] !== STAR) parts.unshift(STAR);
  if (end && parts[parts.length - 1] !== STAR) parts.push(STAR);
  return { parts };
}

/** mapText rewrites every text part (for encodings that keep wildcards, such as utf16). */
export function mapText(v: SigmaString, f: (s: string) => string): SigmaString {
  return { parts: v.parts.map((p) => (typeof p === 'string' ? f(p) : p)) };
}

/** literals lists the text runs between wildcards: each must occur in a matching value. */
export function literals(v: SigmaString): string[] {
  return v.parts.filter((p): p is string => typeof p === 'string');
}

/** display renders a value back in Sigma notation (for error messages and golden files). */
export function display(v: SigmaString): string {
  return v.parts
    .map((p) =>
      p === STAR
        ? '*'
        : p === QMARK
          ? '?'
          : typeof p === 'string'
            ? p.replace(/[*?\\]/g, '\\$&')
            : `%${p.placeholder}%`,
    )
    .join('');
}
