import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, systemClock } from '@palisade/common';
import {
  type RestoreCodeVerifier,
  RestoreCodeVerifierSchema,
  checkVerifier,
  codeMatches,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';

const VERIFIER_FILE = 'restore-code.bin';
const ATTEMPTS_FILE = 'restore-attempts.json';

/** Wrong codes allowed before attempts are delayed, and the delay's first and largest value. */
export const FREE_ATTEMPTS = 5;
const FIRST_LOCK_MS = 60_000;
const MAX_LOCK_MS = 60 * 60_000;

/** AttemptResult is the outcome of one restore-code attempt. */
export type AttemptResult =
  | { ok: true; codeId: string }
  | { ok: false; code: 'no_code' | 'wrong_code' | 'locked'; message: string; retryAtMs?: number };

interface Attempts {
  failures: number;
  lastFailureAtMs: number;
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  writeFileSync(`${path}.tmp`, data, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}

/**
 * RestoreCodeStore keeps the agent's offline restore code verifier (never the code) and the count
 * of wrong codes, both in the state directory (root-only), and checks codes: after FREE_ATTEMPTS
 * wrong codes each further attempt waits 1 minute, doubling up to 1 hour after each wrong one,
 * across restarts; a right code resets the count. A lock applies to every attempt, right or wrong,
 * so waiting cannot be skipped by guessing.
 */
export class RestoreCodeStore {
  private current: RestoreCodeVerifier | undefined;
  private readonly clock: Clock;
  /** Attempts run one at a time, so two at once cannot both slip past the lock. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly stateDir: string,
    clock?: Clock,
  ) {
    this.clock = clock ?? systemClock;
    try {
      const v = fromBinary(RestoreCodeVerifierSchema, readFileSync(join(stateDir, VERIFIER_FILE)));
      if (!checkVerifier(v)) this.current = v;
    } catch {
      // none yet (or unreadable: the server sends it again at the next check-in)
    }
  }

  /** codeId names the code the agent holds ("" when none yet). */
  get codeId(): string {
    return this.current?.codeId ?? '';
  }

  /** failures is the number of wrong codes since the last right one. */
  get failures(): number {
    return this.attempts().failures;
  }

  /** setVerifier stores a verifier from the server; a malformed one is refused with the reason. */
  setVerifier(v: RestoreCodeVerifier): string | undefined {
    const bad = checkVerifier(v);
    if (bad) return bad;
    if (
      this.current &&
      this.current.codeId === v.codeId &&
      Buffer.from(this.current.hash).equals(Buffer.from(v.hash))
    ) {
      return undefined;
    }
    writeAtomic(
      join(this.stateDir, VERIFIER_FILE),
      toBinary(RestoreCodeVerifierSchema, create(RestoreCodeVerifierSchema, v)),
    );
    this.current = v;
    return undefined;
  }

  private attempts(): Attempts {
    try {
      const a = JSON.parse(readFileSync(join(this.stateDir, ATTEMPTS_FILE), 'utf8')) as Attempts;
      if (Number.isSafeInteger(a.failures) && a.failures >= 0 && Number.isSafeInteger(a.lastFailureAtMs))
        return a;
      // Tampered with or damaged: count it as the worst case rather than as a fresh start.
      return { failures: FREE_ATTEMPTS + 6, lastFailureAtMs: this.clock.now() };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { failures: 0, lastFailureAtMs: 0 };
      return { failures: FREE_ATTEMPTS + 6, lastFailureAtMs: this.clock.now() };
    }
  }

  /** lockedUntil is when the next attempt is allowed (0: now). */
  lockedUntil(): number {
    const a = this.attempts();
    if (a.failures < FREE_ATTEMPTS) return 0;
    const wait = Math.min(MAX_LOCK_MS, FIRST_LOCK_MS * 2 ** (a.failures - FREE_ATTEMPTS));
    return a.lastFailureAtMs + wait;
  }

  /** attempt checks a typed code, with the rate limit. */
  attempt(typed: string): Promise<AttemptResult> {
    const next = this.chain.then(() => this.check(typed));
    this.chain = next.catch(() => {});
    return next;
  }

  private async check(typed: string): Promise<AttemptResult> {
    const until = this.lockedUntil();
    if (until > this.clock.now()) {
      return {
        ok: false,
        code: 'locked',
        message: `too many wrong codes: try again after ${new Date(until).toISOString()}`,
        retryAtMs: until,
      };
    }
    if (!this.current) {
      return {
        ok: false,
        code: 'no_code',
        message: 'this agent has no restore code yet (it gets one at its first check-in)',
      };
    }
    if (await codeMatches(typed, this.current)) {
      writeAtomic(join(this.stateDir, ATTEMPTS_FILE), JSON.stringify({ failures: 0, lastFailureAtMs: 0 }));
      return { ok: true, codeId: this.current.codeId };
    }
    const a = this.attempts();
    const next = { failures: a.failures + 1, lastFailureAtMs: this.clock.now() };
    writeAtomic(join(this.stateDir, ATTEMPTS_FILE), JSON.stringify(next));
    const left = FREE_ATTEMPTS - next.failures;
    return {
      ok: false,
      code: 'wrong_code',
      message:
        left > 0
          ? `wrong restore code (${left} more before attempts are delayed)`
          : `wrong restore code; next attempt allowed after ${new Date(this.lockedUntil()).toISOString()}`,
    };
  }
}
