import { type Clock, type Logger, systemClock } from '@palisade/common';
import {
  type Event,
  type IsolationDesired,
  IsolationState,
  type IsolationStatus,
  IsolationStatusSchema,
  create,
} from '@palisade/protocol';
import { isolationEvent } from '../response/remediation-events.js';
import {
  type BackendHost,
  type Resolution,
  backendHosts,
  hostKey,
  resolveBackend,
} from './backend-endpoints.js';
import { type BackendAddress, type IsolationBackend, IsolationUnavailable } from './isolation-backend.js';
import {
  IsolationFileError,
  type IsolationStateName,
  type SavedIsolation,
  emptyIsolation,
  loadIsolation,
  saveIsolation,
} from './isolation-file.js';
import { isTestRun } from './test-run.js';
import { canonicalAddress } from './nft-ruleset.js';

/** REVERTED_PREFIX starts the reason of every reverted isolation (the server and people key on it). */
export const REVERTED_PREFIX = 'isolation reverted: backend unreachable through the isolation rules';

/** IsolationControllerOptions configure the agent's isolation state machine. */
export interface IsolationControllerOptions {
  stateDir: string;
  backend: IsolationBackend;
  /** Every backend endpoint URL the agent uses (registration, primary and standby telemetry, ...). */
  endpointUrls: () => string[];
  /**
   * selfTest proves the backend is reachable through the rules just applied: a real check-in
   * round trip on a new connection. It rejects with the reason when it is not.
   */
  selfTest: () => Promise<void>;
  /** How long the backend may take to answer through new rules before they are reverted. @default 30000 */
  selfTestTimeoutMs?: number;
  /** Pause between self-test attempts. @default 1000 */
  selfTestRetryMs?: number;
  /** How often backend host names are resolved again while isolated. @default 60000 */
  resolveIntervalMs?: number;
  /** Resolves backend host names. @default resolveBackend (the system resolver) */
  resolve?: (hosts: readonly BackendHost[]) => Promise<Resolution>;
  logger: Logger;
  clock?: Clock;
  /** Called after every change of the actual state, to report it. */
  onChange?: (s: IsolationStatus) => void;
  /** Receives the remediation events (OCSF 7004) of isolations and restores. */
  emit?: (e: Event) => void;
  /**
   * Test runs only (ignored unless PALISADE_ISOLATION_TEST=1): addresses to allow instead of the
   * resolved backend ones, to prove that isolation reverts when the backend is unreachable.
   */
  testBackendOverride?: string[];
}

const STATE_ENUM: Record<IsolationStateName, IsolationState> = {
  not_isolated: IsolationState.NOT_ISOLATED,
  applying: IsolationState.APPLYING,
  isolated: IsolationState.ISOLATED,
  failed: IsolationState.FAILED,
  reverted: IsolationState.REVERTED,
  unsupported: IsolationState.UNSUPPORTED,
};

function describe(addrs: readonly BackendAddress[]): string[] {
  return addrs.map((a) => `${a.address} ${a.port}`);
}

/**
 * IsolationController keeps the host in the isolation state the server wants, safely:
 * - the desired state is saved to disk before it is acted on, and applied first thing at start
 *   (before any sensor); the rules live in the kernel, so a crash leaves an isolated host isolated;
 * - a new isolation is proven by a real check-in round trip through the new rules within
 *   `selfTestTimeoutMs`; if that fails the rules are removed again ("reverted") and that revision
 *   is never retried on its own (the operator must isolate again);
 * - re-applying a proven isolation after a restart does not revert when the backend is down, so
 *   a backend outage never opens an isolated host;
 * - backend host names are resolved again every `resolveIntervalMs` and the rules follow;
 * - the offline restore code lifts isolation locally (liftLocally); that revision is never
 *   re-applied, and the lift is reported until the server acknowledges it with a newer revision.
 * All changes run one at a time, in order.
 */
export class IsolationController {
  private saved: SavedIsolation;
  /** False while the saved state was unreadable and no desired state has come from the server. */
  private desiredKnown = true;
  private chain: Promise<unknown> = Promise.resolve();
  private applied: BackendAddress[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(private readonly o: IsolationControllerOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.logger.child({ part: 'isolation' });
    this.saved = emptyIsolation(this.clock.now());
  }

  /**
   * start loads the saved state and brings the host into it (before sensors start). An unreadable
   * state file changes nothing (rules in the kernel stay) until the server's desired state arrives.
   */
  async start(): Promise<void> {
    this.load();
    await this.enqueue(() => this.reconcile(true));
    const every = this.o.resolveIntervalMs ?? 60_000;
    this.timer = setInterval(() => void this.enqueue(() => this.tick()), every);
    this.timer.unref();
  }

  /** load reads the saved state without acting on it (the offline restore command uses it alone). */
  load(): void {
    try {
      this.saved = loadIsolation(this.o.stateDir, this.clock.now());
    } catch (err) {
      if (!(err instanceof IsolationFileError)) throw err;
      this.desiredKnown = false;
      this.saved = emptyIsolation(this.clock.now());
      this.saved.actual = {
        state: 'failed',
        revision: 0,
        reason: `${err.message}; keeping whatever rules are in place until the server sends the desired state`,
        sinceMs: this.clock.now(),
      };
      this.log.error({ err: err.message }, 'isolation state unreadable');
    }
  }

  /** stop ends the timers. It never lifts isolation: the rules stay in the kernel. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.chain.catch(() => {});
  }

  /** desiredRevision is the newest desired revision known. */
  get desiredRevision(): number {
    return this.saved.desired.revision;
  }

  /**
   * setDesired takes a desired state from the server (check-in, Welcome or a command). Older
   * revisions are ignored; the state is saved before it is acted on. Resolves when acted on.
   */
  setDesired(d: IsolationDesired): Promise<void> {
    return this.enqueue(async () => {
      const revision = Number(d.revision);
      const cur = this.saved.desired;
      if (this.desiredKnown && revision < cur.revision) return;
      const same = this.desiredKnown && revision === cur.revision && d.isolated === cur.isolated;
      this.desiredKnown = true;
      if (!same) {
        this.saved.desired = { isolated: d.isolated, revision, commandId: d.commandId, reason: d.reason };
        // A newer revision supersedes the record of a local lift (the server has seen it).
        if (this.saved.localRestore && revision > this.saved.localRestore.revision)
          this.saved.localRestore = null;
        this.save();
        this.log.info(
          { revision, isolated: d.isolated, command: d.commandId },
          'desired isolation state received',
        );
      }
      await this.reconcile(false);
    });
  }

  /** status is the actual state, for check-ins, heartbeats and Hello. */
  status(extra: { restoreCodeId?: string; restoreCodeFailures?: number } = {}): IsolationStatus {
    const a = this.saved.actual;
    const lr = this.saved.localRestore;
    return create(IsolationStatusSchema, {
      state: STATE_ENUM[a.state],
      revision: BigInt(a.revision),
      reason: a.reason,
      sinceMs: BigInt(a.sinceMs),
      allowedAddresses: a.state === 'isolated' || a.state === 'applying' ? describe(this.applied) : [],
      ...(lr
        ? { localRestore: { revision: BigInt(lr.revision), atMs: BigInt(lr.atMs), codeId: lr.codeId } }
        : {}),
      restoreCodeId: extra.restoreCodeId ?? '',
      restoreCodeFailures: extra.restoreCodeFailures ?? 0,
    });
  }

  /** isIsolated tells whether the host is (being) isolated now. */
  get isolated(): boolean {
    const s = this.saved.actual.state;
    return s === 'isolated' || s === 'applying';
  }

  /**
   * liftLocally lifts isolation at the host (the offline restore code was checked by the caller):
   * the rules go, the revision is blocked so it is not re-applied, and the lift is reported.
   */
  liftLocally(codeId: string): Promise<{ lifted: boolean; message: string }> {
    return this.enqueue(async () => {
      const applied = await this.o.backend.isApplied();
      if (!applied && !this.isolated) return { lifted: false, message: 'the host is not isolated' };
      await this.o.backend.remove();
      const revision = this.saved.desired.revision;
      const now = this.clock.now();
      this.saved.blockedRevision = Math.max(this.saved.blockedRevision, revision);
      this.saved.localRestore = { revision, atMs: now, codeId };
      this.setActual('not_isolated', revision, 'isolation lifted at the host with the offline restore code');
      this.applied = [];
      this.o.emit?.(
        isolationEvent(false, {
          commandId: this.saved.desired.commandId,
          ok: true,
          code: 'local_restore',
          message: 'isolation lifted at the host with the offline restore code',
        }),
      );
      this.log.warn({ revision, codeId }, 'isolation lifted locally with the offline restore code');
      return {
        lifted: true,
        message: `isolation lifted (revision ${revision}); the server will be told when it is reachable`,
      };
    });
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private save(): void {
    try {
      saveIsolation(this.o.stateDir, this.saved);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'could not save the isolation state');
    }
  }

  private setActual(state: IsolationStateName, revision: number, reason: string): void {
    const a = this.saved.actual;
    if (a.state === state && a.revision === revision && a.reason === reason) return;
    this.saved.actual = { state, revision, reason, sinceMs: this.clock.now() };
    this.save();
    this.o.onChange?.(this.status());
  }

  private wantsIsolation(): boolean {
    const d = this.saved.desired;
    return d.isolated && d.revision > this.saved.blockedRevision;
  }

  /** reconcile brings the host to the desired state. */
  private async reconcile(atStart: boolean): Promise<void> {
    if (!this.desiredKnown || this.stopped) return;
    const d = this.saved.desired;
    const a = this.saved.actual;
    if (this.wantsIsolation()) {
      if (a.state === 'isolated' && a.revision === d.revision) {
        // Proven before: re-apply (after a restart, or if someone removed the table) without a
        // self-test that could open the host while the backend is down.
        if (atStart || !(await this.o.backend.isApplied())) await this.reapply(d.revision, 'restart');
        return;
      }
      await this.isolate(d.revision);
      return;
    }
    if (d.isolated) return; // blocked: reverted or lifted locally; reported as it is
    const applied = await this.o.backend.isApplied();
    if (applied) {
      try {
        await this.o.backend.remove();
      } catch (err) {
        this.setActual('failed', d.revision, `could not lift isolation: ${(err as Error).message}`);
        return;
      }
      this.applied = [];
      this.log.info({ revision: d.revision }, 'isolation lifted');
    }
    const wasIsolated = a.state === 'isolated' || a.state === 'applying' || applied;
    this.setActual('not_isolated', d.revision, '');
    if (wasIsolated || (d.commandId && a.revision !== d.revision)) {
      this.o.emit?.(
        isolationEvent(false, {
          commandId: d.commandId,
          ok: true,
          code: '',
          message: 'isolation lifted: the host can reach the network again',
          reason: d.reason,
        }),
      );
    }
  }

  /** tick re-resolves backend names while isolated, and retries an isolation that failed to apply. */
  private async tick(): Promise<void> {
    if (this.stopped || !this.desiredKnown) return;
    const a = this.saved.actual;
    if (a.state === 'isolated') {
      const addrs = await this.resolve();
      if (addrs.length && describe(addrs).sort().join() !== describe(this.applied).sort().join()) {
        this.log.info({ from: describe(this.applied), to: describe(addrs) }, 'backend addresses changed');
        await this.reapply(a.revision, 'addresses changed', addrs);
      }
    } else if (a.state === 'failed' && this.wantsIsolation()) {
      await this.isolate(this.saved.desired.revision);
    }
  }

  /** resolve returns the backend addresses to allow (the saved ones for hosts that do not resolve). */
  private async resolve(): Promise<BackendAddress[]> {
    const hosts = backendHosts(this.o.endpointUrls());
    const res = await (this.o.resolve ?? resolveBackend)(hosts);
    const out: BackendAddress[] = [];
    for (const h of hosts) {
      const key = hostKey(h);
      const fresh = res.resolved.get(key);
      if (fresh?.length) {
        this.saved.resolved[key] = fresh.map((a) => a.address);
        out.push(...fresh);
      } else {
        for (const address of this.saved.resolved[key] ?? [])
          out.push({ ...canonicalAddress(address), port: h.port });
      }
    }
    for (const f of res.failed) {
      this.log.warn(
        { host: f.host, err: f.error },
        'backend host did not resolve; keeping its last addresses',
      );
    }
    if (isTestRun() && this.o.testBackendOverride?.length) {
      const ports = [...new Set(out.map((a) => a.port))];
      this.log.warn(
        { override: this.o.testBackendOverride },
        'TEST RUN: allowing the override addresses instead of the backend',
      );
      return this.o.testBackendOverride.flatMap((addr) =>
        ports.map((port) => ({ ...canonicalAddress(addr), port })),
      );
    }
    return dedupe(out);
  }

  /** isolate applies a new revision and proves the backend is still reachable, or reverts. */
  private async isolate(revision: number): Promise<void> {
    this.setActual('applying', revision, '');
    const addrs = await this.resolve();
    this.save();
    if (addrs.length === 0) {
      this.fail(
        revision,
        'no backend address is known (the backend host names do not resolve); not isolating',
      );
      return;
    }
    let cut = 0;
    try {
      cut = (await this.o.backend.apply(addrs, revision)).cutConnections;
      this.applied = addrs;
    } catch (err) {
      // nft applies all or nothing; remove anyway so no partial state can remain.
      await this.o.backend.remove().catch(() => {});
      this.applied = [];
      const unsupported = err instanceof IsolationUnavailable;
      this.setActual(
        unsupported ? 'unsupported' : 'failed',
        revision,
        `could not isolate: ${(err as Error).message}`,
      );
      this.emitIsolate(
        false,
        unsupported ? 'unsupported' : 'error',
        `could not isolate: ${(err as Error).message}`,
      );
      this.log.error({ revision, err: (err as Error).message }, 'could not isolate');
      return;
    }
    this.log.info(
      { revision, allowed: describe(addrs), cut },
      'isolation rules applied; proving the backend is reachable',
    );
    const timeout = this.o.selfTestTimeoutMs ?? 30_000;
    const started = this.clock.now();
    let lastError = 'no attempt';
    let attempts = 0;
    while (!this.stopped) {
      attempts++;
      try {
        await this.o.selfTest();
        this.setActual('isolated', revision, '');
        this.log.info({ revision, attempts }, 'host isolated; the backend answers through the rules');
        this.emitIsolate(
          true,
          '',
          `host isolated: only the Palisade backend (${describe(addrs).join(', ')}), DNS, DHCP and IPv6 neighbour discovery are allowed; ${cut} connection(s) cut`,
        );
        return;
      } catch (err) {
        lastError = errorText(err);
      }
      if (this.clock.now() - started >= timeout) break;
      await new Promise((r) => setTimeout(r, this.o.selfTestRetryMs ?? 1000));
    }
    if (this.stopped) return; // stopping mid-test: keep the rules; the next start proves them again
    await this.o.backend
      .remove()
      .catch((err: Error) => this.log.error({ err: err.message }, 'could not remove the rules'));
    this.applied = [];
    this.saved.blockedRevision = Math.max(this.saved.blockedRevision, revision);
    const reason = `${REVERTED_PREFIX}: no check-in answered within ${timeout} ms (${attempts} attempts; last error: ${lastError}); allowed ${describe(addrs).join(', ')}`;
    this.setActual('reverted', revision, reason);
    this.emitIsolate(false, 'isolation_reverted', reason);
    this.log.error({ revision, reason }, 'isolation reverted');
  }

  /** reapply installs proven rules again (restart, or new backend addresses). */
  private async reapply(revision: number, why: string, known?: BackendAddress[]): Promise<void> {
    const addrs = known ?? (await this.resolve());
    this.save();
    if (addrs.length === 0) {
      this.log.error({ revision }, 'no backend address known; keeping the rules as they are');
      return;
    }
    try {
      await this.o.backend.apply(addrs, revision);
      this.applied = addrs;
      this.log.info({ revision, why, allowed: describe(addrs) }, 'isolation rules applied again');
      this.setActual('isolated', revision, '');
    } catch (err) {
      this.setActual(
        'failed',
        revision,
        `could not apply the isolation rules again: ${(err as Error).message}`,
      );
      this.log.error({ revision, err: (err as Error).message }, 'could not apply the isolation rules again');
    }
  }

  private fail(revision: number, reason: string): void {
    this.setActual('failed', revision, reason);
    this.emitIsolate(false, 'error', reason);
    this.log.error({ revision, reason }, 'could not isolate');
  }

  private emitIsolate(ok: boolean, code: string, message: string): void {
    const d = this.saved.desired;
    this.o.emit?.(isolationEvent(true, { commandId: d.commandId, ok, code, message, reason: d.reason }));
  }
}

/** errorText describes an error for people, also one that aggregates others (connection attempts). */
function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return err.errors.map(errorText).join('; ');
  const e = err as NodeJS.ErrnoException;
  return e?.message || e?.code || String(err);
}

function dedupe(addrs: BackendAddress[]): BackendAddress[] {
  const seen = new Set<string>();
  return addrs.filter((a) => {
    const k = `${a.address} ${a.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
