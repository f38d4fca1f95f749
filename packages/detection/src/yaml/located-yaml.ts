import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';

/** Plain is a YAML value as the rule parser sees it: scalars, arrays and null-prototype maps. */
export type Plain = string | number | boolean | null | Plain[] | PlainMap;
/** PlainMap is a YAML mapping; its prototype is null so that keys like `__proto__` are just keys. */
export interface PlainMap {
  [key: string]: Plain;
}

interface Where {
  line: number;
  keys?: Map<string, number>;
  items?: number[];
}

/**
 * LocatedDocument is one YAML document of a rule file: its value and, for every map and list
 * in it, the line each key and item starts on, so that errors can name the line of a field.
 */
export interface LocatedDocument {
  value: Plain;
  /** First line of the document (1-based). */
  line: number;
  /** lineOf returns the line of `path` (keys and indexes from the document root), or the nearest parent's. */
  lineOf(path: (string | number)[]): number;
}

/** YamlError is a YAML syntax error with the line it was found on. */
export interface YamlError {
  message: string;
  line: number;
}

/** Limits applied while reading YAML: a rule file is untrusted input. */
export interface YamlLimits {
  /** Aliases expanded per document (the "billion laughs" defence). @default 100 */
  maxAliasCount: number;
  /** Nesting depth of maps and lists. @default 64 */
  maxDepth: number;
}

const DEFAULT_LIMITS: YamlLimits = { maxAliasCount: 100, maxDepth: 64 };

/**
 * parseLocatedYaml reads every document of `text`. A syntax error in any document is returned
 * instead of the documents, with its line; nothing is evaluated (no custom tags, no merge keys).
 */
export function parseLocatedYaml(
  text: string,
  limits: Partial<YamlLimits> = {},
): { docs: LocatedDocument[] } | { error: YamlError } {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const lc = new LineCounter();
  let parsed: ReturnType<typeof parseAllDocuments>;
  try {
    parsed = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true, merge: false, strict: true });
  } catch (err) {
    return { error: { message: (err as Error).message, line: 1 } };
  }
  const list = Array.isArray(parsed) ? parsed : [];
  if (!Array.isArray(parsed)) return { error: { message: 'not a YAML stream', line: 1 } };
  const docs: LocatedDocument[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const line = lc.linePos(err.pos[0]).line;
      return { error: { message: err.message.split('\n')[0] ?? err.message, line } };
    }
    const where = new WeakMap<object, Where>();
    const lineAt = (n: Node | null | undefined, fallback: number): number =>
      n?.range ? lc.linePos(n.range[0]).line : fallback;
    let aliases = 0;
    const convert = (n: unknown, depth: number, fallbackLine: number): Plain => {
      if (depth > lim.maxDepth) throw new Error(`nesting deeper than ${lim.maxDepth} levels`);
      if (n === null || n === undefined) return null;
      if (isAlias(n)) {
        aliases++;
        if (aliases > lim.maxAliasCount) throw new Error(`more than ${lim.maxAliasCount} YAML aliases`);
        return convert(n.resolve(doc), depth + 1, fallbackLine);
      }
      if (isScalar(n)) {
        const v = n.value;
        if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
        if (typeof v === 'number') return v;
        if (typeof v === 'bigint') return Number(v);
        if (v instanceof Date) return n.source ?? v.toISOString().slice(0, 10);
        return String(v);
      }
      if (isMap(n)) {
        const out = Object.create(null) as PlainMap;
        const keys = new Map<string, number>();
        where.set(out, { line: lineAt(n as Node, fallbackLine), keys });
        for (const pair of n.items) {
          if (!isPair(pair)) continue;
          const k = pair.key;
          const key = isScalar(k)
            ? String(k.value)
            : k === null
              ? ''
              : String(convert(k, depth + 1, fallbackLine));
          const kl = lineAt(k as Node, fallbackLine);
          keys.set(key, kl);
          out[key] = convert(pair.value, depth + 1, kl);
        }
        return out;
      }
      if (isSeq(n)) {
        const items: number[] = [];
        const out: Plain[] = [];
        where.set(out, { line: lineAt(n as Node, fallbackLine), items });
        for (const it of n.items) {
          const il = lineAt(it as Node, fallbackLine);
          items.push(il);
          out.push(convert(it, depth + 1, il));
        }
        return out;
      }
      return null;
    };
    const startLine = doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1;
    let value: Plain;
    try {
      value = convert(doc.contents, 0, startLine);
    } catch (e) {
      return { error: { message: (e as Error).message, line: startLine } };
    }
    docs.push({
      value,
      line: startLine,
      lineOf(path) {
        let cur: Plain = value;
        let line = startLine;
        for (const p of path) {
          if (cur === null || typeof cur !== 'object') break;
          const w = where.get(cur);
          if (typeof p === 'number' && Array.isArray(cur)) {
            line = w?.items?.[p] ?? line;
            cur = cur[p] ?? null;
          } else if (!Array.isArray(cur)) {
            line = w?.keys?.get(String(p)) ?? line;
            cur = (cur as PlainMap)[String(p)] ?? null;
          } else break;
        }
        return line;
      },
    });
  }
  return { docs };
}

/** isPlainMap tells a YAML mapping from the other values. */
export function isPlainMap(v: unknown): v is PlainMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
