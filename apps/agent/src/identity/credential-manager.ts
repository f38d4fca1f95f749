import { X509Certificate } from 'node:crypto';
import { Backoff, type Clock, type Logger } from '@palisade/common';
import type { CheckInResponse } from '@palisade/protocol';
import { HttpError, type TlsMaterial } from '../transport/https-client.js';
import { probeTls } from '../transport/reachability.js';
import {
  type Identity,
  certSha256,
  commitCandidate,
  discardCandidate,
  pairProblem,
  parseCaBundle,
  saveCaBundle,
  saveCandidate,
  saveMeta,
  saveNextKey,
} from './identity-store.js';
import { generateAgentKey } from './keys.js';
import { requestRenewal } from './renew.js';

/** RENEW_AT_FRACTION: a certificate is renewed once this fraction of its life has passed. */
export const RENEW_AT_FRACTION = 2 / 3;

/**
 * renewalDueAt is when a certificate should be renewed: two thirds of the way from when the agent
 * received it (or, for certificates from before renewal existed, its notBefore) to its notAfter.
 */
export function renewalDueAt(certPem: string, receivedAt?: number): number {
  const c = new X509Certificate(certPem);
  const notAfter = Date.parse(c.validTo);
  const start = Math.min(receivedAt ?? Date.parse(c.validFrom), notAfter);
  return start + RENEW_AT_FRACTION * (notAfter - start);
}

/** CredentialManagerOptions configure the agent's credential upkeep. */
export interface CredentialManagerOptions {
  stateDir: string;
  identity: Identity;
  clock: Clock;
  logger: Logger;
  /** The pair in use changed (renewed and confirmed, or reverted): reconnect telemetry with it. */
  onPairChanged?: () => void;
  /** Pause between failed renewal attempts. @default 1 min doubling to 1 h */
  retry?: Backoff;
}

/**
 * CredentialManager keeps the agent's credential alive (ADR 0015). It owns the TLS material every
 * connection uses (`tls`, changed in place) and, after each successful check-in:
 *
 * - confirms a renewed pair: the server accepted it, so it becomes the current one on disk
 *   (commitCandidate) and telemetry reconnects with it;
 * - takes a new CA bundle the server delivered over that mutual-TLS connection, if it shares a CA
 *   with the pinned set, still covers the agent's own certificate and verifies the server;
 * - renews the certificate at two thirds of its life (or at once when the server asks, after a CA
 *   rotation): a NEW key, saved before it is sent; the new certificate saved beside the current
 *   pair, then used. The current pair stays on disk until the server has accepted the new one, so
 *   a crash or a refusal at any step leaves an agent that can still authenticate.
 */
export class CredentialManager {
  /** What every connection presents and trusts; replaced field by field, never re-created. */
  readonly tls: TlsMaterial;
  private id: Identity;
  /** The pair in use is a candidate the server has not accepted yet. */
  private unconfirmed = false;
  private renewing: Promise<boolean> | undefined;
  private nextAttemptAt = 0;
  private readonly retry: Backoff;
  private rejectedBundle = '';
  private candidateRefusals = 0;

  constructor(private readonly o: CredentialManagerOptions) {
    this.id = o.identity;
    this.retry = o.retry ?? new Backoff({ initialMs: 60_000, maxMs: 60 * 60_000 });
    const use = this.id.candidate ?? this.id;
    this.unconfirmed = this.id.candidate !== undefined;
    this.tls = { ca: this.id.caPem, cert: use.certPem, key: use.keyPem };
    for (const n of this.id.notes ?? []) o.logger.warn({ stateDir: o.stateDir }, n);
    if (this.unconfirmed)
      o.logger.info({}, 'trying the renewed certificate first; the previous one is kept until it works');
  }

  get identity(): Identity {
    return this.id;
  }

  /** setEndpoints records new telemetry endpoints (from a check-in); returns whether they changed. */
  setEndpoints(primary: string, standby: string): boolean {
    if (primary === this.id.telemetryPrimaryUrl && standby === this.id.telemetryStandbyUrl) return false;
    this.id = { ...this.id, telemetryPrimaryUrl: primary, telemetryStandbyUrl: standby };
    saveMeta(this.o.stateDir, this.id);
    return true;
  }

  /** pinnedCaSha256 lists the CAs the agent pins (reported at check-in). */
  pinnedCaSha256(): string[] {
    try {
      return parseCaBundle(this.id.caPem).map((c) => c.fingerprint256.replaceAll(':', '').toLowerCase());
    } catch {
      return [];
    }
  }

  /** certNotAfter is the expiry of the certificate in use, ms. */
  certNotAfter(): number {
    return Date.parse(new X509Certificate(this.tls.cert ?? '').validTo);
  }

  /** renewalDue tells whether the certificate in use has reached two thirds of its life. */
  renewalDue(now = this.o.clock.now()): boolean {
    return now >= renewalDueAt(this.id.certPem, this.id.certReceivedAt);
  }

  /**
   * afterCheckIn runs after every successful check-in. Returns true when the agent should check in
   * again at once (a renewed certificate is waiting to be confirmed by a connection that uses it).
   */
  async afterCheckIn(res: CheckInResponse): Promise<boolean> {
    if (this.unconfirmed) this.confirm();
    if (res.caBundlePem) await this.maybePin(res.caBundlePem);
    if (res.renewCertificate || this.renewalDue()) return this.renew();
    return false;
  }

  /**
   * onRefused is told that the server refused the credential in use (401/403). When that was a
   * renewed pair not yet confirmed, the agent goes back to the previous pair (still on disk) and
   * returns true: try again at once. Otherwise false: the credential itself is refused.
   */
  onRefused(): boolean {
    if (!this.unconfirmed || !this.id.candidate) return false;
    this.o.logger.warn(
      {},
      'the server refused the renewed certificate; going back to the previous one and renewing again later',
    );
    this.id = discardCandidate(this.o.stateDir, this.id);
    this.unconfirmed = false;
    this.use(this.id);
    // Renew again at once the first time; if that one is refused too, back off.
    if (this.candidateRefusals++ > 0) this.nextAttemptAt = Date.now() + this.retry.next();
    return true;
  }

  /** use switches the pair every new connection presents (open ones keep theirs). */
  private use(p: { keyPem: string; certPem: string }): void {
    this.tls.cert = p.certPem;
    this.tls.key = p.keyPem;
  }

  private confirm(): void {
    this.id = commitCandidate(this.o.stateDir, this.id);
    this.unconfirmed = false;
    this.retry.reset();
    this.candidateRefusals = 0;
    const notAfter = new Date(Date.parse(new X509Certificate(this.id.certPem).validTo)).toISOString();
    this.o.logger.info({ notAfter }, 'renewed certificate in use; the previous key and certificate are gone');
    // Reconnect telemetry: its open session still authenticates with the retired certificate.
    this.o.onPairChanged?.();
  }

  /** renew runs one renewal attempt unless one is running or the last failure is too recent. */
  renew(): Promise<boolean> {
    if (this.unconfirmed) return Promise.resolve(false);
    if (Date.now() < this.nextAttemptAt) return Promise.resolve(false);
    this.renewing ??= this.renewOnce().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async renewOnce(): Promise<boolean> {
    const log = this.o.logger;
    try {
      let keyPem = this.id.nextKeyPem;
      if (!keyPem) {
        keyPem = generateAgentKey();
        saveNextKey(this.o.stateDir, keyPem);
        this.id = { ...this.id, nextKeyPem: keyPem };
      }
      const res = await requestRenewal(this.id.registrationUrl, this.tls, this.id.agentId, keyPem);
      if (res.caBundlePem) await this.maybePin(res.caBundlePem);
      const problem = pairProblem(keyPem, res.certificatePem, parseCaBundle(this.id.caPem), this.id.agentId);
      if (problem) throw new Error(`the renewed certificate ${problem}`);
      const candidate = { keyPem, certPem: res.certificatePem, receivedAt: this.o.clock.now() };
      saveCandidate(this.o.stateDir, this.id, candidate);
      this.id = { ...this.id, candidate };
      this.unconfirmed = true;
      this.use(candidate);
      log.info(
        { notAfter: new Date(Number(res.notAfterMs)).toISOString() },
        'certificate renewed; using the new one (the previous one is kept until the server accepts it)',
      );
      return true;
    } catch (err) {
      const wait = this.retry.next();
      this.nextAttemptAt = Date.now() + wait;
      const e = err as Error;
      log.error(
        {
          err: e.message,
          ...(err instanceof HttpError ? { status: err.status, code: err.code } : {}),
          retryInS: Math.round(wait / 1000),
          notAfter: new Date(this.certNotAfter()).toISOString(),
        },
        'certificate renewal failed; the current certificate stays in use',
      );
      return false;
    }
  }

  /**
   * maybePin takes the CA bundle the server delivered, when it differs from the pinned one and
   * checks out; otherwise it keeps the pinned one and says why (once per bundle).
   */
  private async maybePin(bundle: string): Promise<void> {
    const norm = (pem: string) =>
      (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).join('\n');
    if (norm(bundle) === norm(this.id.caPem) || bundle === this.rejectedBundle) return;
    const why = await this.bundleProblem(bundle);
    if (why) {
      this.rejectedBundle = bundle;
      this.o.logger.warn(
        { reason: why },
        'keeping the pinned CAs: the CA bundle from the server does not check out',
      );
      return;
    }
    saveCaBundle(this.o.stateDir, bundle);
    this.id = { ...this.id, caPem: bundle };
    this.tls.ca = bundle;
    this.o.logger.info({ cas: this.pinnedCaSha256().map((h) => h.slice(0, 16)) }, 'pinned CAs updated');
  }

  private async bundleProblem(bundle: string): Promise<string | undefined> {
    let next: X509Certificate[];
    try {
      next = parseCaBundle(bundle);
    } catch (err) {
      return `it ${(err as Error).message}`;
    }
    const pinned = new Set(this.pinnedCaSha256());
    if (!next.some((c) => pinned.has(c.fingerprint256.replaceAll(':', '').toLowerCase())))
      return 'it shares no CA with the pinned ones (a rotation keeps an overlap)';
    for (const pair of [this.id, ...(this.id.candidate ? [this.id.candidate] : [])]) {
      const p = pairProblem(pair.keyPem, pair.certPem, next, this.id.agentId);
      if (p) return `this agent's certificate ${certSha256(pair.certPem).slice(0, 16)} ${p} in it`;
    }
    const ok = await probeTls(this.id.registrationUrl, { ...this.tls, ca: bundle }, 5000);
    if (!ok) return 'it does not verify the server certificate';
    return undefined;
  }
}
