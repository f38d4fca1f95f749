import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CliError } from '../client.js';

/** RulesTestOptions are the flags of `palisade rules test`. */
export interface RulesTestOptions {
  events?: string;
  json: boolean;
  placeholders?: string;
}

interface Result {
  i: number;
  line: number;
  matches: Set<string>;
  titles: Map<string, string>;
  error?: string;
}

/**
 * rulesTest evaluates rule files or directories offline against a JSON-lines file of events
 * (OCSF events, one per line or as the JSON array `events search --json` prints, or
 * `{"logsource": ..., "event": ...}` in Sigma field names) and prints, per event in input order, the ids of the rules that match. For
 * correlation rules the order of the lines is the stream order; windows still open at the end
 * are closed after the last event. Bad lines are reported with their line number and the rest
 * is still evaluated (the exit code is then 1).
 */
export async function rulesTest(paths: string[], o: RulesTestOptions): Promise<void> {
  if (paths.length === 0) throw new CliError('rules test needs at least one rule file or directory', 2);
  if (!o.events) throw new CliError('rules test needs --events FILE.jsonl', 2);
  // Loaded only for this command, like the server and agent code.
  const { compileRuleSet, DetectionEngine, parseEventLine } = await import('@palisade/detection');
  const { readRuleFiles } = await import('@palisade/detection/files');
  const { files, errors } = readRuleFiles(paths);
  if (errors.length) throw new CliError(errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  let placeholders: Record<string, string[]> = {};
  if (o.placeholders) {
    try {
      placeholders = JSON.parse(o.placeholders);
    } catch (e) {
      throw new CliError(
        `--placeholders must be JSON such as {"Admins":["root"]}: ${(e as Error).message}`,
        2,
      );
    }
  }
  const set = compileRuleSet(files, { placeholders });
  const notLoaded = set.statuses.filter((s) => s.state !== 'loaded');
  const loaded = set.statuses.length - notLoaded.length;
  process.stderr.write(
    `${loaded} rule${loaded === 1 ? '' : 's'} loaded from ${files.length} file${files.length === 1 ? '' : 's'}\n`,
  );
  for (const s of notLoaded) {
    process.stderr.write(
      `  ${s.state}: ${s.file}:${s.errorLine ?? s.line}${s.field ? ` (${s.field})` : ''}: ${s.reason}\n`,
    );
  }
  if (loaded === 0) throw new CliError('no rule loaded');

  const engine = new DetectionEngine(set);
  const results: Result[] = [];
  const byInput = new Map<unknown, Result>();
  let lineNo = 0;
  let bad = 0;
  const stream = createReadStream(o.events, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(new CliError(`${o.events}: ${e.message}`)));
  });
  await opened;
  const note = (r: Result, m: { rule: { id: string; title: string } }) => {
    r.matches.add(m.rule.id);
    r.titles.set(m.rule.id, m.rule.title);
  };
  const evaluate = (text: string, where: string, line: number) => {
    const r: Result = { i: results.length, line, matches: new Set(), titles: new Map() };
    results.push(r);
    const parsed = parseEventLine(text);
    if (!parsed.ok) {
      r.error = `${where}: ${parsed.error}`;
      bad++;
      return;
    }
    byInput.set(parsed.input, r);
    for (const m of engine.evaluateInput(parsed.input)) note(r, m);
  };
  let arrayMode = false;
  for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo++;
    if (raw.trim() === '') continue;
    if (results.length === 0 && raw.trimStart().startsWith('[')) {
      // `palisade events search --json` prints a JSON array: take its elements as the events.
      arrayMode = true;
      break;
    }
    evaluate(raw, `line ${lineNo}`, lineNo);
  }
  if (arrayMode) {
    stream.destroy();
    let list: unknown;
    try {
      list = JSON.parse(await readFile(o.events, 'utf8'));
    } catch (e) {
      throw new CliError(`${o.events}: not a JSON array of events: ${(e as Error).message}`);
    }
    if (!Array.isArray(list)) throw new CliError(`${o.events}: not a JSON array of events`);
    list.forEach((item, n) => {
      evaluate(JSON.stringify(item), `element ${n}`, n + 1);
    });
  }
  // Close every correlation window still open: the stream has ended.
  for (const m of engine.expire(Number.MAX_SAFE_INTEGER)) {
    const last = m.kind === 'correlation' ? m.contributors[m.contributors.length - 1] : m;
    let r: Result | undefined;
    let cur = last;
    while (cur && cur.kind === 'correlation') cur = cur.contributors[cur.contributors.length - 1];
    if (cur) r = byInput.get(cur.event);
    if (r) note(r, m);
  }
  for (const r of results) {
    const ids = [...r.matches].sort();
    if (o.json) {
      process.stdout.write(
        `${JSON.stringify(r.error ? { i: r.i, error: r.error } : { i: r.i, matches: ids })}\n`,
      );
    } else if (r.error) {
      process.stdout.write(`${r.i}\tline ${r.line}\terror: ${r.error}\n`);
    } else if (ids.length) {
      for (const id of ids) process.stdout.write(`${r.i}\tline ${r.line}\t${id}\t${r.titles.get(id)}\n`);
    }
  }
  if (!o.json) {
    const hit = results.filter((r) => r.matches.size).length;
    process.stdout.write(`${results.length} events, ${hit} with matches${bad ? `, ${bad} bad lines` : ''}\n`);
  }
  if (bad) {
    for (const r of results) if (r.error) process.stderr.write(`palisade: ${o.events}: ${r.error}\n`);
    process.exitCode = 1;
  }
}
