import type { AlertRecord } from '@palisade/storage';
import type { AlertBus } from '../detection/alert-bus.js';
import { toDetectionFinding } from '../detection/finding.js';
import type { PlaybookAlert } from './playbook-alert.js';
import type { PlaybookService } from './playbook-service.js';

/**
 * playbookAlert is what playbooks see of a stored alert: its rule, severity and tags (the rule's
 * ATT&CK tags as Sigma writes them: `attack.<tactic>`, `attack.<technique>`) and the alert's
 * Detection Finding (OCSF 2004) as the alerts API renders it, whose evidences name the processes
 * and files to act on and which webhooks send as it is.
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
    finding: toDetectionFinding(a),
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
