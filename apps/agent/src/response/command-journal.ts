import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CommandResult, CommandResultSchema, create, fromBinary, toBinary } from '@palisade/protocol';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** JournalEntry is what the agent remembers of one response command. */
export type JournalEntry =
  | { state: 'started'; startedAtMs: number }
  | { state: 'done'; startedAtMs: number; result: CommandResult }
  /** The entry exists but cannot be read back: the command must not run again. */
  | { state: 'unreadable'; why: string };

/**
 * CommandJournal makes response commands idempotent across reconnects and restarts: before a
 * command runs it is written down as started, and its result when it is done, one file per
 * command id under `<state dir>/commands` (root-only). A command delivered again gets its stored
 * result; one that was started but never finished (the agent died in between) is not run again.
 * Entries older than `keepMs` are deleted (commands expire on the server after 14 days).
 */
export class CommandJournal {
  private readonly dir: string;

  constructor(
    stateDir: string,
    private readonly keepMs = 30 * 86_400_000,
  ) {
    this.dir = join(stateDir, 'commands');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.prune(Date.now());
  }

  /** validId tells whether `id` can name a journal entry (server command ids are UUIDs). */
  static validId(id: string): boolean {
    return UUID.test(id);
  }

  private file(id: string): string {
    if (!UUID.test(id)) throw new Error(`command id ${JSON.stringify(id)} is not a UUID`);
    return join(this.dir, `${id}.json`);
  }

  get(id: string): JournalEntry | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(id), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { state: 'unreadable', why: (err as Error).message };
    }
    try {
      const j = JSON.parse(text) as { state?: string; startedAtMs?: number; result?: string };
      if (j.state === 'started' && Number.isSafeInteger(j.startedAtMs))
        return { state: 'started', startedAtMs: j.startedAtMs! };
      if (j.state === 'done' && typeof j.result === 'string') {
        return {
          state: 'done',
          startedAtMs: j.startedAtMs ?? 0,
          result: fromBinary(CommandResultSchema, Buffer.from(j.result, 'base64')),
        };
      }
      return { state: 'unreadable', why: 'unknown entry layout' };
    } catch (err) {
      return { state: 'unreadable', why: (err as Error).message };
    }
  }

  private write(id: string, body: object): void {
    const path = this.file(id);
    writeFileSync(`${path}.tmp`, JSON.stringify(body), { mode: 0o600, flush: true });
    renameSync(`${path}.tmp`, path);
  }

  /** started records that command `id` is about to run. */
  started(id: string, atMs: number): void {
    this.write(id, { state: 'started', startedAtMs: atMs });
  }

  /** done records the command's final result. */
  done(id: string, startedAtMs: number, result: CommandResult): void {
    this.write(id, {
      state: 'done',
      startedAtMs,
      result: Buffer.from(toBinary(CommandResultSchema, create(CommandResultSchema, result))).toString(
        'base64',
      ),
    });
  }

  private prune(now: number): void {
    for (const name of readdirSync(this.dir)) {
      const p = join(this.dir, name);
      try {
        if (now - statSync(p).mtimeMs > this.keepMs) rmSync(p, { force: true });
      } catch {
        // raced with another prune
      }
    }
  }
}
