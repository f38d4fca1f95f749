import type { PlaybookRecord, PlaybookRunRecord } from '@palisade/storage';

const iso = (ms: number) => new Date(ms).toISOString();

/** playbookView is the API's JSON for a playbook (never its secret). */
export function playbookView(p: PlaybookRecord): object {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    enabled: p.enabled,
    dry_run: p.dryRun,
    match: {
      rule_ids: p.match.ruleIds,
      tags: p.match.tags,
      min_severity: p.match.minSeverity,
      groups: p.match.groupIds,
      hosts: p.match.hosts,
    },
    actions: p.actions,
    max_isolations_per_hour: p.maxIsolationsPerHour,
    max_runs_per_hour: p.maxRunsPerHour,
    has_webhook_secret: p.webhookSecretSealed !== null,
    created_at: iso(p.createdAt),
    created_by: p.createdBy,
    updated_at: iso(p.updatedAt),
  };
}

/** runView is the API's JSON for a playbook run. */
export function runView(r: PlaybookRunRecord): object {
  return {
    id: r.id,
    playbook_id: r.playbookId,
    playbook_name: r.playbookName,
    alert_id: r.alertId,
    agent_id: r.agentId,
    rule_id: r.ruleId,
    at: iso(r.at),
    dry_run: r.dryRun,
    isolated: r.isolated,
    acted: r.acted,
    steps: r.steps.map((s) => ({
      type: s.type,
      status: s.status,
      detail: s.detail,
      command_id: s.commandId,
      attempts: s.attempts,
    })),
  };
}
