import { type PlaybookRecord, severityRank } from '@palisade/storage';
import type { AlertHost, PlaybookAlert } from './playbook-alert.js';

/**
 * matches tells whether playbook `p` answers `alert` raised on `host`: the alert is at least the
 * minimum severity, and every list the playbook fills holds the alert's value: its rule id (any
 * of `ruleIds`), one of its tags (any of `tags`), its agent's group, its host name or agent id.
 * Empty lists match everything. Disabled playbooks match nothing.
 */
export function matches(p: PlaybookRecord, alert: PlaybookAlert, host: AlertHost): boolean {
  if (!p.enabled) return false;
  const m = p.match;
  if (severityRank(alert.severity) < severityRank(m.minSeverity)) return false;
  if (m.ruleIds.length > 0 && !m.ruleIds.some((r) => r.toLowerCase() === alert.ruleId.toLowerCase()))
    return false;
  if (m.tags.length > 0 && !alert.tags.some((t) => m.tags.includes(t.toLowerCase()))) return false;
  if (m.groupIds.length > 0 && !m.groupIds.includes(host.groupId)) return false;
  if (m.hosts.length > 0) {
    const names = [host.hostname.toLowerCase(), host.agentId.toLowerCase()];
    if (!m.hosts.some((h) => names.includes(h))) return false;
  }
  return true;
}
