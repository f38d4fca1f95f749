import type { LogSource } from '../rule/rule-types.js';
import { type LogSourceDef, MAPPING, NOT_COLLECTED } from './mapping.js';

/** Partition key of a source used for `product: linux` rules that name no category or service. */
export const genericKey = (def: LogSourceDef): string => `linux@${def.id}`;

/**
 * resolveRuleLogSource finds the partitions (log sources) a rule runs in, or why none: another
 * product, a log source Palisade does not collect, one it does not know.
 */
export function resolveRuleLogSource(
  ls: LogSource,
): { keys: string[]; notes: string[] } | { reason: string } {
  const product = ls.product?.toLowerCase();
  if (product && product !== 'linux') {
    return { reason: `product '${ls.product}': Palisade collects Linux telemetry only` };
  }
  const cat = ls.category?.toLowerCase();
  const svc = ls.service?.toLowerCase();
  const notes: string[] = [];
  if (!cat && !svc) {
    const defs = MAPPING.filter((d) => d.generic);
    return {
      keys: defs.map(genericKey),
      notes: [`product 'linux' alone: evaluated on ${defs.map((d) => d.id).join(' and ')} events`],
    };
  }
  const defs = MAPPING.filter(
    (d) => (!cat || d.category === cat) && (!svc || d.service === svc) && (cat || svc),
  );
  if (defs.length === 0) {
    const nc = NOT_COLLECTED.find(
      (n) => (n.category && n.category === cat) || (n.service && n.service === svc),
    );
    if (nc) return { reason: `log source ${describe(ls)}: ${nc.reason}` };
    const known = MAPPING.map((d) => d.category ?? `service ${d.service}`).join(', ');
    return { reason: `log source ${describe(ls)} is not one Palisade collects (it maps: ${known})` };
  }
  for (const d of defs) if (d.note) notes.push(`${d.id}: ${d.note}`);
  return { keys: defs.map((d) => d.id), notes };
}

/** IMPLIED lists the log sources an event of a source also belongs to (an sshd line is an auth line). */
const IMPLIED: Record<string, string[]> = {
  sshd: ['auth', 'syslog'],
  sudo: ['auth', 'syslog'],
  su: ['auth', 'syslog'],
  auth: ['syslog'],
  syslog: ['auth'],
};

/**
 * resolveEventLogSource finds the partitions an event given as Sigma fields with a logsource
 * (`rules test` input) is evaluated in: its own source, those it implies, and the `product:
 * linux` rules when it is one of their sources.
 */
export function resolveEventLogSource(ls: LogSource): { keys: string[] } | { reason: string } {
  const product = ls.product?.toLowerCase();
  if (product && product !== 'linux') return { reason: `product '${ls.product}' is not Linux` };
  const cat = ls.category?.toLowerCase();
  const svc = ls.service?.toLowerCase();
  if (!cat && !svc) return { keys: MAPPING.filter((d) => d.generic).map(genericKey) };
  const own = MAPPING.filter((d) => (!cat || d.category === cat) && (!svc || d.service === svc));
  if (own.length === 0) return { reason: `no Palisade log source is ${describe(ls)}` };
  const ids = new Set(own.map((d) => d.id));
  for (const d of own) for (const x of IMPLIED[d.id] ?? []) ids.add(x);
  const keys = [...ids];
  for (const id of ids) {
    const d = MAPPING.find((x) => x.id === id)!;
    if (d.generic) keys.push(genericKey(d));
  }
  return { keys };
}

export function describe(ls: LogSource): string {
  return Object.entries(ls)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}
