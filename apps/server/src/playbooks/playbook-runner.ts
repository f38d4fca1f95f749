import { randomUUID } from 'node:crypto';
import { type Clock, type Logger, PalisadeError } from '@palisade/common';
import type {
  PlaybookAction,
  PlaybookRecord,
  PlaybookRunRecord,
  PlaybookStep,
  Storage,
} from '@palisade/storage';
import { recordAuditAs } from '../audit/audit-log.js';
import type { Actor, ResponseAction } from '../response/response-service.js';
import { evidenceFile, evidenceProcess } from './evidence.js';
import type { AlertHost, PlaybookAlert } from './playbook-alert.js';
import { matches } from './playbook-match.js';
import type { PlaybookSecrets } from './playbook-secrets.js';
import type { WebhookSender } from './webhook-sender.js';

/** DEFAULT_FLEET_ISOLATIONS_PER_HOUR is how many hosts all playbooks together may isolate in an hour. */
export const DEFAULT_FLEET_ISOLATIONS_PER_HOUR = 10;

const HOUR = 3_600_000;
const MAX_QUEUED_ALERTS = 10_000;

/** Responder is the part of the response service a playbook uses. */
export interface Responder {
  issue(req: {
    agentId: string;
    action: ResponseAction;
    actor: Actor;
    source?: string;
  }): Promise<{ id: string }>;
}

/** PlaybookRunnerDeps are what running playbooks needs. */
export interface PlaybookRunnerDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  response: Responder;
  webhooks: WebhookSender;
  secrets: PlaybookSecrets;
  /** At most this many isolations per hour by all playbooks together. @default 10 */
  fleetIsolationsPerHour?: number;
}

function step(
  type: PlaybookStep['type'],
  status: PlaybookStep['status'],
  detail: string,
  commandId: string | null = null,
): PlaybookStep {
  return { type, status, detail, commandId, attempts: 0 };
}

/** origin is where a webhook goes, without its path and query (which may hold a token). */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(bad url)';
  }
}

/** RunSummary is what one alert caused (for tests and logs). */
export interface RunSummary {
  alertId: string;
  runs: PlaybookRunRecord[];
}

/**
 * PlaybookRunner runs the enabled playbooks that match each new alert, once per (playbook,
 * alert): alerts are handled one at a time, in order, so the rate limits (counted from the stored
 * runs of the last hour, which survive a restart) cannot be overrun by alerts arriving together.
 *
 * A run first checks the playbook's own run limit (max_runs_per_hour: beyond it, the whole run is
 * `rate_limited`), then takes each action: isolate (refused beyond the playbook's
 * max_isolations_per_hour or the fleet's limit), kill the evidence process, quarantine the
 * evidence file, each through the response service as "playbook <name>" (so validation, audit and
 * delivery are the API's), and queue the webhooks. A dry run records what each action would do
 * and does nothing. Every run is stored (visible on the alert) and audit-logged
 * (`playbook.run`); webhook outcomes are written to the run when they arrive.
 */
export class PlaybookRunner {
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private readonly fleetLimit: number;

  constructor(private readonly d: PlaybookRunnerDeps) {
    this.fleetLimit = d.fleetIsolationsPerHour ?? DEFAULT_FLEET_ISOLATIONS_PER_HOUR;
  }

  /**
   * onAlert queues `alert` for the playbooks (the alert hook calls it for each new alert; an alert
   * folded into an existing one is a no-op, since each playbook runs once per alert). Errors are
   * logged, never thrown into the caller.
   */
  onAlert(alert: PlaybookAlert): Promise<RunSummary | undefined> {
    if (this.queued >= MAX_QUEUED_ALERTS) {
      this.d.logger.error({ alertId: alert.id }, 'playbook queue full; alert not run through playbooks');
      return Promise.resolve(undefined);
    }
    this.queued++;
    const next = this.chain.then(() =>
      this.run(alert).catch((err: Error) => {
        this.d.logger.error({ alertId: alert.id, err: err.message }, 'playbooks failed for an alert');
        return undefined;
      }),
    );
    this.chain = next.finally(() => this.queued--);
    return next;
  }

  /** idle resolves when every queued alert has been handled. */
  async idle(): Promise<void> {
    while (this.queued > 0) await this.chain;
  }

  private async run(alert: PlaybookAlert): Promise<RunSummary> {
    const agent = await this.d.storage.getAgent(alert.agentId);
    const host: AlertHost = {
      agentId: alert.agentId,
      hostname: agent?.host.hostname ?? '',
      groupId: agent?.groupId ?? '',
    };
    const runs: PlaybookRunRecord[] = [];
    for (const p of await this.d.storage.listPlaybooks()) {
      if (!matches(p, alert, host)) continue;
      const before = await this.d.storage.listPlaybookRuns({ playbookId: p.id, alertId: alert.id, limit: 1 });
      if (before.runs.length > 0) continue;
      runs.push(await this.runOne(p, alert, host));
    }
    return { alertId: alert.id, runs };
  }

  private async runOne(p: PlaybookRecord, alert: PlaybookAlert, host: AlertHost): Promise<PlaybookRunRecord> {
    const now = this.d.clock.now();
    const since = now - HOUR;
    const actor: Actor = { id: null, name: `playbook ${p.name}` };
    const runId = randomUUID();
    let steps: PlaybookStep[];
    let isolated = false;
    let acted = false;
    const runsLastHour = p.dryRun
      ? 0
      : await this.d.storage.countPlaybookRuns({ since, playbookId: p.id, acted: true });
    if (!p.dryRun && runsLastHour >= p.maxRunsPerHour) {
      const why = `playbook run limit reached: ${runsLastHour} runs in the last hour (max_runs_per_hour ${p.maxRunsPerHour})`;
      steps = p.actions.map((a) => step(a.type, 'rate_limited', why));
      this.d.logger.warn({ playbook: p.name, alertId: alert.id }, why);
    } else {
      acted = !p.dryRun;
      steps = [];
      for (const a of p.actions) {
        const s = await this.action(p, a, alert, host, actor, since);
        if (a.type === 'isolate' && s.status === 'issued') isolated = true;
        steps.push(s);
      }
    }
    const run: PlaybookRunRecord = {
      id: runId,
      playbookId: p.id,
      playbookName: p.name,
      alertId: alert.id,
      agentId: alert.agentId,
      ruleId: alert.ruleId,
      at: now,
      dryRun: p.dryRun,
      isolated,
      acted,
      steps,
    };
    await this.d.storage.createPlaybookRun(run);
    await recordAuditAs(this.d, actor, '', {
      action: 'playbook.run',
      targetType: 'alert',
      targetId: alert.id,
      outcome: steps.some((s) => s.status === 'rate_limited') ? 'denied' : 'ok',
      details: {
        playbook_id: p.id,
        run_id: runId,
        agent_id: alert.agentId,
        hostname: host.hostname,
        rule_id: alert.ruleId,
        dry_run: p.dryRun,
        steps: steps.map((s) => `${s.type}: ${s.status}${s.detail ? ` (${s.detail})` : ''}`),
      },
    });
    if (!p.dryRun && acted) this.sendWebhooks(p, run, alert, host);
    return run;
  }

  private reason(p: PlaybookRecord, alert: PlaybookAlert): string {
    return `playbook ${p.name}: alert ${alert.id} (rule ${alert.ruleId}: ${alert.ruleTitle})`.slice(0, 1000);
  }

  private async isolationLimit(p: PlaybookRecord, since: number): Promise<string> {
    const mine = await this.d.storage.countPlaybookRuns({ since, playbookId: p.id, isolated: true });
    if (mine >= p.maxIsolationsPerHour)
      return `playbook isolation limit reached: ${mine} isolations in the last hour (max_isolations_per_hour ${p.maxIsolationsPerHour})`;
    const all = await this.d.storage.countPlaybookRuns({ since, isolated: true });
    if (all >= this.fleetLimit)
      return `fleet isolation limit reached: playbooks isolated ${all} hosts in the last hour (the server allows ${this.fleetLimit})`;
    return '';
  }

  private async action(
    p: PlaybookRecord,
    a: PlaybookAction,
    alert: PlaybookAlert,
    host: AlertHost,
    actor: Actor,
    since: number,
  ): Promise<PlaybookStep> {
    let action: ResponseAction;
    let target: string;
    switch (a.type) {
      case 'webhook':
        return step(
          'webhook',
          p.dryRun ? 'would_run' : 'queued',
          p.dryRun ? `would POST to ${origin(a.url)}` : origin(a.url),
        );
      case 'isolate': {
        const limited = await this.isolationLimit(p, since);
        if (limited && p.dryRun) {
          const who = host.hostname || alert.agentId;
          return step(
            'isolate',
            'would_run',
            `would isolate host ${who}, but a live run would be refused now: ${limited}`,
          );
        }
        if (limited) {
          this.d.logger.error({ playbook: p.name, alertId: alert.id, agentId: alert.agentId }, limited);
          return step('isolate', 'rate_limited', limited);
        }
        action = { type: 'isolate', reason: this.reason(p, alert) };
        target = `host ${host.hostname || alert.agentId}`;
        break;
      }
      case 'kill_process': {
        const proc = evidenceProcess(alert.finding);
        if (!proc)
          return step(
            'kill_process',
            'skipped',
            'the alert evidence names no process with a pid and a start time or uid',
          );
        action = {
          type: 'kill_process',
          pid: proc.pid,
          ...(proc.startTimeMs !== undefined ? { startTimeMs: proc.startTimeMs } : {}),
          ...(proc.uid !== undefined ? { processUid: proc.uid } : {}),
          tree: a.tree,
          reason: this.reason(p, alert),
        };
        target = `pid ${proc.pid}${proc.name ? ` (${proc.name})` : ''}${a.tree ? ' and its descendants' : ''}`;
        break;
      }
      case 'quarantine_file': {
        const path = evidenceFile(alert.finding);
        if (!path) return step('quarantine_file', 'skipped', 'the alert evidence names no file');
        action = { type: 'quarantine_file', path, reason: this.reason(p, alert) };
        target = path;
        break;
      }
    }
    if (p.dryRun) return step(a.type, 'would_run', `would ${a.type.replace('_', ' ')} ${target}`);
    try {
      const c = await this.d.response.issue({
        agentId: alert.agentId,
        action,
        actor,
        source: `playbook:${p.id}`,
      });
      return step(a.type, 'issued', target, c.id);
    } catch (err) {
      if (err instanceof PalisadeError) return step(a.type, 'refused', `${err.code}: ${err.message}`);
      throw err;
    }
  }

  private sendWebhooks(
    p: PlaybookRecord,
    run: PlaybookRunRecord,
    alert: PlaybookAlert,
    host: AlertHost,
  ): void {
    const hooks = run.steps
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => s.type === 'webhook' && s.status === 'queued');
    if (hooks.length === 0) return;
    let secret: string;
    try {
      secret = this.d.secrets.open(p);
    } catch (err) {
      for (const { i } of hooks)
        run.steps[i] = { ...run.steps[i]!, status: 'failed', detail: `not sent: ${(err as Error).message}` };
      void this.saveSteps(run);
      return;
    }
    const payload = {
      type: 'palisade.playbook.alert',
      playbook: { id: p.id, name: p.name },
      run_id: run.id,
      alert_id: alert.id,
      agent: { id: alert.agentId, hostname: host.hostname },
      actions: run.steps
        .filter((s) => s.type !== 'webhook')
        .map((s) => ({ type: s.type, status: s.status, detail: s.detail, command_id: s.commandId })),
      finding: alert.finding,
    };
    for (const { s, i } of hooks) {
      const a = p.actions[i];
      if (a?.type !== 'webhook') continue;
      this.d.webhooks.send({
        url: a.url,
        secret,
        payload,
        done: (o) => {
          run.steps[i] = {
            ...run.steps[i]!,
            status: o.ok ? 'sent' : 'failed',
            detail: `${s.detail}: ${o.detail}`,
            attempts: o.attempts,
          };
          void this.saveSteps(run);
        },
      });
    }
  }

  /** saveSteps writes a run's steps; writes of one run are serialized so the last outcome wins. */
  private readonly saving = new Map<string, Promise<void>>();
  private saveSteps(run: PlaybookRunRecord): Promise<void> {
    const prev = this.saving.get(run.id) ?? Promise.resolve();
    const next = prev
      .then(() => this.d.storage.updatePlaybookRunSteps(run.id, [...run.steps]))
      .catch((err: Error) =>
        this.d.logger.error({ run: run.id, err: err.message }, 'could not record a webhook outcome'),
      );
    this.saving.set(run.id, next);
    void next.finally(() => {
      if (this.saving.get(run.id) === next) this.saving.delete(run.id);
    });
    return next;
  }

  /** settled resolves when every webhook outcome so far is written. */
  async settled(): Promise<void> {
    await this.d.webhooks.drained();
    await Promise.all([...this.saving.values()]);
  }
}
