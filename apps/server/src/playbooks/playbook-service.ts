import { randomUUID } from 'node:crypto';
import { type Clock, type Logger, PalisadeError } from '@palisade/common';
import type { PlaybookRecord, Storage } from '@palisade/storage';
import { recordAuditAs } from '../audit/audit-log.js';
import type { Actor } from '../response/response-service.js';
import type { PlaybookAlert } from './playbook-alert.js';
import type { PlaybookRunner, RunSummary } from './playbook-runner.js';
import type { PlaybookSecrets } from './playbook-secrets.js';
import { checkSpec, type PlaybookSpec } from './playbook-spec.js';
import type { WebhookUrlPolicy } from './webhook-url.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** PlaybookServiceDeps are what managing playbooks needs. */
export interface PlaybookServiceDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  secrets: PlaybookSecrets;
  runner: PlaybookRunner;
  urls: WebhookUrlPolicy;
}

/**
 * PlaybookService manages playbooks (create, enable, disable, delete: each audit-logged with who
 * and from where) and hands alerts to the runner (`onAlert`, which the alert hook calls).
 */
export class PlaybookService {
  constructor(private readonly d: PlaybookServiceDeps) {}

  /** find resolves a playbook by id or name (`not_found` otherwise). */
  async find(ref: string): Promise<PlaybookRecord> {
    const p = UUID.test(ref)
      ? await this.d.storage.getPlaybook(ref.toLowerCase())
      : await this.d.storage.getPlaybookByName(ref);
    if (!p) throw new PalisadeError('not_found', `no playbook "${ref}"`);
    return p;
  }

  /**
   * create validates and stores a playbook. Its webhook secret (when it has a webhook) is
   * returned here only; the server keeps it sealed.
   */
  async create(
    spec: PlaybookSpec,
    actor: Actor,
    remote: string,
  ): Promise<{ playbook: PlaybookRecord; secret: string | null }> {
    const c = await checkSpec(this.d.storage, spec, this.d.urls);
    if (await this.d.storage.getPlaybookByName(c.name))
      throw new PalisadeError('conflict', `a playbook named "${c.name}" already exists`);
    const id = randomUUID();
    const hooks = c.actions.some((a) => a.type === 'webhook');
    const s = hooks ? this.d.secrets.make(id) : undefined;
    const now = this.d.clock.now();
    const p: PlaybookRecord = {
      id,
      ...c,
      webhookSecretSealed: s?.sealed ?? null,
      createdAt: now,
      createdBy: actor.name,
      updatedAt: now,
    };
    await this.d.storage.createPlaybook(p);
    await this.audit(actor, remote, 'playbook.create', p, {
      enabled: p.enabled,
      dry_run: p.dryRun,
      actions: p.actions.map((a) => a.type),
      match: p.match,
      max_isolations_per_hour: p.maxIsolationsPerHour,
      max_runs_per_hour: p.maxRunsPerHour,
    });
    return { playbook: p, secret: s?.secret ?? null };
  }

  /** setEnabled enables or disables a playbook, optionally switching dry run on or off. */
  async setEnabled(
    ref: string,
    enabled: boolean,
    dryRun: boolean | undefined,
    actor: Actor,
    remote: string,
  ): Promise<PlaybookRecord> {
    const p = await this.find(ref);
    const next = await this.d.storage.updatePlaybook(p.id, {
      enabled,
      ...(dryRun !== undefined ? { dryRun } : {}),
      updatedAt: this.d.clock.now(),
    });
    await this.audit(actor, remote, enabled ? 'playbook.enable' : 'playbook.disable', next, {
      dry_run: next.dryRun,
      was_enabled: p.enabled,
      was_dry_run: p.dryRun,
    });
    return next;
  }

  /** delete removes a playbook; its runs stay. */
  async delete(ref: string, actor: Actor, remote: string): Promise<PlaybookRecord> {
    const p = await this.find(ref);
    await this.d.storage.deletePlaybook(p.id);
    await this.audit(actor, remote, 'playbook.delete', p, {});
    return p;
  }

  /** onAlert runs the matching playbooks for a new alert (see PlaybookRunner). */
  onAlert(alert: PlaybookAlert): Promise<RunSummary | undefined> {
    return this.d.runner.onAlert(alert);
  }

  /** idle resolves when queued alerts have run and every webhook outcome is recorded. */
  async idle(): Promise<void> {
    await this.d.runner.idle();
    await this.d.runner.settled();
  }

  private audit(
    actor: Actor,
    remote: string,
    action: string,
    p: PlaybookRecord,
    details: Record<string, unknown>,
  ): Promise<void> {
    return recordAuditAs(this.d, actor, remote, {
      action,
      targetType: 'playbook',
      targetId: p.id,
      details: { name: p.name, ...details },
    });
  }
}
