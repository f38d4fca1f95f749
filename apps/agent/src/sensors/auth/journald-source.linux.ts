import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Backoff, type Logger, rateLimitedLogger } from '@palisade/common';
import { AuthProvenance, type Event } from '@palisade/protocol';
import { checkHelperBinary } from '../binary-trust.linux.js';
import { UserNames } from '../bpf/users.js';
import { toAuthEvent } from './auth-event.js';
import {
  type AuthSource,
  type AuthSourceStats,
  type AuthSourceStatus,
  newSourceStats,
} from './auth-source.js';
import type { FollowStateStore, JournalPosition } from './follow-state.js';
import { LineFramer, type LineItem } from './framers.js';
import { JOURNAL_FIELDS, parseJournalEntry } from './journal-entry.js';
import { parseAuthMessage } from './parse-auth-line.js';
import { judgeSender, trustedPrograms } from './trusted-programs.js';

/** Where systemd-journald keeps the system journal: persistent, then volatile. */
export const SYSTEM_JOURNAL_DIRS = ['/var/log/journal', '/run/log/journal'];
/** The agent's own reader (apps/agent/journal-reader, libsystemd): 3 MB idle against journalctl's 7 MB. */
export const BUILT_READER = fileURLToPath(
  new URL('../../../journal-reader/build/palisade-journal', import.meta.url),
);
const JOURNALCTL_PATHS = ['/usr/bin/journalctl', '/bin/journalctl'];
/** syslog facilities auth (4) and authpriv (10): what rsyslog writes to auth.log / secure. */
const MATCHES = ['SYSLOG_FACILITY=4', 'SYSLOG_FACILITY=10'];
/** A reader that ran this long before it exited restarts without waiting long. */
const HEALTHY_RUN_MS = 10_000;

/** JournaldSourceOptions configure a JournaldSource. */
export interface JournaldSourceOptions {
  store: FollowStateStore;
  logger: Logger;
  /** A journal directory to read (`journalctl --directory`); unset: the system journal. */
  directory?: string;
  /**
   * The program that prints the journal as `journalctl --output=json` does, taking journalctl's
   * arguments. @default palisade-journal when built, else journalctl
   */
  readerPath?: string;
  /** How often it checks whether the journal exists and is wanted. @default 5000 */
  pollMs?: number;
  /** Longer reader output lines are skipped (counted as truncated). @default 65536 */
  maxLineBytes?: number;
  /** Whether the journal's records are wanted now (not while an auth log file is followed). */
  wanted?: () => boolean;
  /** Why it is not wanted, for the status. */
  standbyReason?: () => string;
  /** Delays between restarts of the reader. @default 1 s doubling to 60 s, jittered */
  backoff?: Backoff;
  /** How often the position is saved while entries arrive. @default 1000 */
  saveMs?: number;
  /** Overrides of DEFAULT_TRUSTED_PROGRAMS (trusted-programs.ts), per program. */
  trustedPrograms?: Record<string, readonly string[]>;
  /** Where the account names of forgers' uids come from. @default '/etc/passwd' */
  passwdPath?: string;
}

/**
 * JournaldSource reads authentication records (syslog facilities auth and authpriv, the lines
 * rsyslog would write to auth.log) from the systemd journal, through the agent's palisade-journal
 * (or `journalctl --follow --output=json` where that is not built), and turns them into the same
 * events as LogFileSource, with raw_data rendered as auth.log's line. Its position (the journal
 * cursor) is saved, so a restart neither loses nor repeats entries; a cursor the reader refuses
 * falls back to the saved time. The reader is restarted with backoff when it exits; its output is
 * validated line by line. Each record is checked against its sender as journald recorded it
 * (trusted-programs.ts): verified, unverified, or forged by an unprivileged process (reported
 * as such, counted in `forged`, and logged).
 */
export class JournaldSource implements AuthSource {
  readonly name = 'journald';
  readonly origin = 'journal' as const;
  private readonly counters = newSourceStats();
  private readonly key: string;
  private emit: (event: Event) => void = () => {};
  private child: ChildProcess | null = null;
  private framer: LineFramer;
  private timer: NodeJS.Timeout | null = null;
  private saveTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private last: JournalPosition | null = null;
  private cursorRefused = false;
  private readonly backoff: Backoff;
  private stopped = true;
  private current: AuthSourceStatus = { active: false, reason: 'not started' };
  /** Times the reader exited on its own and was started again. */
  restarts = 0;
  /** Reader output lines that were not journal entries. */
  malformed = 0;
  private readonly trusted: Map<string, Set<string>>;
  private readonly users: UserNames;
  /** For lines whose content comes from the journal (any local user can write there). */
  private readonly peerLog: Logger;

  constructor(private readonly o: JournaldSourceOptions) {
    this.key = `journal:${o.directory ?? 'system'}`;
    this.trusted = trustedPrograms(o.trustedPrograms);
    this.users = new UserNames(o.passwdPath);
    this.peerLog = rateLimitedLogger(o.logger, { burst: 10, perSecond: 10 / 60, maxChars: 300 });
    this.framer = new LineFramer(o.maxLineBytes ?? 64 * 1024);
    this.backoff = o.backoff ?? new Backoff({ initialMs: 1000, maxMs: 60_000 });
  }

  start(emit: (event: Event) => void): void {
    this.emit = emit;
    this.stopped = false;
    this.last = this.o.store.getJournal(this.key) ?? null;
    this.timer = setInterval(() => this.check(), this.o.pollMs ?? 5000);
    this.timer.unref();
    this.check();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.timer = this.retryTimer = null;
    this.kill();
    this.current = { active: false, reason: 'stopped' };
  }

  status(): AuthSourceStatus {
    return this.current;
  }

  stats(): AuthSourceStats {
    return { ...this.counters };
  }

  /** readerPath is the program it runs (or would run) to read the journal, if there is one. */
  get readerPath(): string | undefined {
    return this.o.readerPath ?? [BUILT_READER, ...JOURNALCTL_PATHS].find((p) => existsSync(p));
  }

  /** check starts or stops the reader as the journal's presence and the sensor's needs say. */
  private check(): void {
    if (this.stopped) return;
    if (this.o.wanted && !this.o.wanted()) {
      if (this.child)
        this.o.logger.info(
          { reason: this.o.standbyReason?.() },
          'auth log file found: journald reader standing by',
        );
      this.kill();
      // The log file has these entries; resuming later from here would repeat them.
      this.last = null;
      this.o.store.setJournal(this.key, null);
      this.current = { active: false, reason: `standing by: ${this.o.standbyReason?.() ?? 'not wanted'}` };
      return;
    }
    if (this.child || this.retryTimer) return;
    const reader = this.readerPath;
    if (!reader || !existsSync(reader)) {
      const what = reader ?? 'neither palisade-journal (not built) nor journalctl (package systemd)';
      this.current = { active: false, reason: `${what} not found` };
      return;
    }
    const dirs = this.o.directory ? [this.o.directory] : SYSTEM_JOURNAL_DIRS;
    if (!dirs.some(hasJournalFiles)) {
      this.current = { active: false, reason: `no journal files in ${dirs.join(' or ')}` };
      return;
    }
    // Checked at every start: fixing the file's owner or mode lets the next poll start it.
    const trust = checkHelperBinary(reader);
    if (!trust.ok) {
      const reason = `journal reader refused: ${trust.reason}`;
      if (this.current.reason !== reason) this.o.logger.error({ reader }, reason);
      this.current = { active: false, reason };
      return;
    }
    this.spawn(trust.path);
  }

  private spawn(reader: string): void {
    const args = [
      '--output=json',
      `--output-fields=${JOURNAL_FIELDS.join(',')}`,
      '--all',
      '--follow',
      '--no-pager',
      '--quiet',
    ];
    if (this.o.directory) args.push(`--directory=${this.o.directory}`);
    if (this.last && !this.cursorRefused) {
      args.push(`--after-cursor=${this.last.cursor}`, '--lines=all');
    } else if (this.last) {
      // The same second again: entries of it already read come twice rather than none.
      args.push(`--since=@${Math.floor(this.last.realtimeUs / 1e6)}`, '--lines=all');
    } else {
      args.push('--lines=0');
    }
    args.push(...MATCHES);
    // Only what a reader needs from the environment: nothing of the agent's passes on.
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
    const child = spawn(reader, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    this.o.logger.debug({ reader, args }, 'reading the journal');
    this.child = child;
    this.framer = new LineFramer(this.o.maxLineBytes ?? 64 * 1024);
    let stderr = '';
    const startedAt = Date.now();
    child.stdout?.on('data', (chunk: Buffer) => {
      // After a kill, what it still printed is read again from the saved cursor next time.
      if (this.child !== child) return;
      this.onItems(this.framer.push(chunk));
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + String(d)).slice(-2048);
    });
    child.on('spawn', () => {
      if (this.child === child) this.current = { active: true, reason: '' };
    });
    child.on('error', (err) => {
      stderr += `${err.message}\n`;
    });
    child.on('close', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.saveNow();
      if (this.stopped) return;
      const why = stderr.trim().split('\n').pop() || `exit ${code ?? signal}`;
      if (/cursor/i.test(stderr) && this.last && !this.cursorRefused) {
        this.cursorRefused = true;
        this.o.logger.warn(
          { err: why },
          'the journal reader refused the saved cursor: resuming from its time',
        );
      }
      if (Date.now() - startedAt >= HEALTHY_RUN_MS) this.backoff.reset();
      const retryMs = this.backoff.next();
      this.restarts++;
      const name = basename(reader);
      this.current = { active: false, reason: `${name} exited (${code ?? signal}): ${why}` };
      this.o.logger.warn(
        { reader: name, code, signal, err: why, retryMs },
        'the journal reader exited; restarting',
      );
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.check();
      }, retryMs);
      this.retryTimer.unref();
    });
  }

  private onItems(items: LineItem[]): void {
    for (const item of items) {
      this.counters.read++;
      if (item.truncated) {
        this.counters.truncated++;
        this.counters.ignored++;
        continue;
      }
      const entry = parseJournalEntry(item.text);
      if (entry instanceof Error) {
        this.counters.ignored++;
        this.malformed++;
        this.peerLog.warn(
          { err: entry.message, line: item.text },
          'the journal reader printed a line that is not a journal entry',
        );
        continue;
      }
      this.last = { cursor: entry.cursor, realtimeUs: entry.realtimeUs };
      this.cursorRefused = false;
      const record = parseAuthMessage(entry.envelope);
      if (!record) {
        this.counters.ignored++;
        continue;
      }
      this.counters.events++;
      const { timeMs, program } = entry.envelope;
      const s = entry.sender;
      const verdict = judgeSender(record.service, s, this.trusted);
      const forged = verdict.provenance === AuthProvenance.FORGED;
      if (forged) {
        this.counters.forged++;
        this.peerLog.warn(
          { claims: record.service, uid: s.uid, pid: s.pid, exe: s.exe, comm: s.comm, line: entry.line },
          'a local process forged an authentication record: reported as forged, not as a login',
        );
      }
      this.emit(
        toAuthEvent(record, {
          timeMs,
          // The pid journald saw, not the one the sender wrote into its tag.
          pid: s.pid ?? entry.envelope.pid,
          program: forged ? (s.comm ?? '') : program,
          raw: entry.line,
          provenance: verdict.provenance,
          ...(verdict.why ? { provenanceWhy: verdict.why } : {}),
          ...(s.exe ? { path: s.exe } : {}),
          ...(forged && s.uid !== undefined ? { sender: { uid: s.uid, name: this.users.name(s.uid) } } : {}),
        }),
      );
    }
    if (!this.saveTimer) {
      this.saveTimer = setTimeout(() => this.saveNow(), this.o.saveMs ?? 1000);
      this.saveTimer.unref();
    }
  }

  private saveNow(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    if (!this.last) return;
    try {
      this.o.store.setJournal(this.key, this.last);
    } catch (err) {
      this.o.logger.warn({ err: String(err) }, 'cannot save the journal position');
    }
  }

  private kill(): void {
    const c = this.child;
    this.child = null;
    this.saveNow();
    if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  }
}

/** hasJournalFiles tells whether `dir` or one of its subdirectories (per machine id) has journals. */
function hasJournalFiles(dir: string): boolean {
  const journals = (d: string) => {
    try {
      return readdirSync(d, { withFileTypes: true });
    } catch {
      return [];
    }
  };
  for (const e of journals(dir)) {
    if (e.isFile() && e.name.endsWith('.journal')) return true;
    if (e.isDirectory() && journals(join(dir, e.name)).some((f) => f.isFile() && f.name.endsWith('.journal')))
      return true;
  }
  return false;
}
