import type { AlertEvidence, AlertRecord } from '@palisade/storage';
import type { AlertBus } from '../detection/alert-bus.js';
import { severityRank } from '@palisade/storage';
import type { PlaybookAlert } from './playbook-alert.js';
import type { PlaybookService } from './playbook-service.js';

function evidenceOcsf(e: AlertEvidence): Record<string, unknown> {
  const p = e.process;
  return {
    ...(p
      ? {
          process: {
            pid: p.pid,
            name: p.name,
            cmd_line: p.cmdLine,
            file: { path: p.path },
            ...(p.startTimeMs !== null ? { created_time: p.startTimeMs } : {}),
            ...(p.processUid !== null ? { uid: p.processUid } : {}),
          },
        }
      : {}),
    ...(e.file ? { file: { path: e.file.newPath ?? e.file.path } } : {}),
    time: e.timeMs,
  };
}

/**
 * playbookAlert is what playbooks see of a stored alert: its rule, severity and tags (the rule's
 * ATT&CK tags as Sigma writes them: `attack.<tactic>`, `attack.<technique>`) and a Detection
 * Finding (OCSF 2004) made from the record, whose evidences name the processes and files.
 */
export function playbookAlert(a: AlertRecord): PlaybookAlert {
  const tags = [
    ...a.tactics.map((t) => `attack.${t.toLowerCase().replace(/\s+/g, '-')}`),
    ...a.techniques.map((t) => `attack.${t.toLowerCase()}`),
  ];
  return {
    id: a.id,
    agentId: a.agentId,
    ruleId: a.ruleId,
    ruleTitle: a.ruleTitle,
    tags,
    severity: a.severity,
    finding: {
      class_uid: 2004,
      category_uid: 2,
      activity_id: 1,
      type_uid: 200401,
      time: a.lastSeenMs,
      severity_id: severityRank(a.severity),
      count: a.count,
      finding_info: {
        uid: a.id,
        title: a.ruleTitle,
        analytic: { uid: a.ruleId, name: a.ruleTitle, type_id: 1 },
        first_seen_time: a.firstSeenMs,
        last_seen_time: a.lastSeenMs,
      },
      device: { uid: a.agentId, hostname: a.hostname },
      evidences: a.evidence.map(evidenceOcsf),
    },
  };
}

/**
 * subscribePlaybooks runs the playbooks for every alert detection creates (a fold into an
 * existing alert does not run them again: each playbook runs once per alert).
 */
export function subscribePlaybooks(bus: AlertBus, playbooks: PlaybookService): () => void {
  return bus.onAlert(async (change) => {
    if (change.change !== 'created') return;
    await playbooks.onAlert(playbookAlert(change.alert));
  });
}
