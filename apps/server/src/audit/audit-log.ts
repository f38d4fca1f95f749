import type { Clock, Logger } from '@palisade/common';
import type { ApiTokenRecord, NewAuditRecord, Storage } from '@palisade/storage';
import type { FastifyRequest } from 'fastify';

/** AuditDeps are what writing an audit entry needs. */
export interface AuditDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
}

/** AuditFacts are the parts of an audit entry the caller knows; who, when and from where are filled in. */
export type AuditFacts = Pick<NewAuditRecord, 'action' | 'targetType' | 'targetId'> &
  Partial<Pick<NewAuditRecord, 'outcome' | 'details'>>;

/** AuditActor is who acted: an API token, or an agent (`{ id: agentId, name: "agent:<id>" }`). */
export type AuditActor = Pick<ApiTokenRecord, 'id' | 'name'>;

/**
 * recordAudit appends one entry to the audit log: who (the API token or agent, by id and name;
 * "system" when `req` is null), what, on what, when (the server clock) and from where (the request's address).
 * A failure to write it is logged as an error and does not undo the action, which already happened.
 */
export async function recordAudit(
  d: AuditDeps,
  req: FastifyRequest | null,
  actor: AuditActor | undefined | null,
  facts: AuditFacts,
): Promise<void> {
  return recordAuditAs(
    d,
    { id: actor?.id ?? null, name: actor?.name ?? (req ? 'anonymous' : 'system') },
    req?.ip ?? '',
    facts,
  );
}

/**
 * recordAuditAs is recordAudit for actors that are not API tokens of a request: a playbook, the
 * server itself, a person at an agent's console (offline restore code).
 */
export async function recordAuditAs(
  d: AuditDeps,
  actor: { id: string | null; name: string },
  remoteAddress: string,
  facts: AuditFacts,
): Promise<void> {
  const entry: NewAuditRecord = {
    at: d.clock.now(),
    actorId: actor.id,
    actorName: actor.name,
    remoteAddress,
    outcome: 'ok',
    details: {},
    ...facts,
  };
  try {
    await d.storage.appendAudit(entry);
  } catch (err) {
    d.logger.error({ err, action: entry.action, target: entry.targetId }, 'could not write the audit log');
  }
  d.logger.info(
    {
      audit: entry.action,
      actor: entry.actorName,
      target: entry.targetId,
      outcome: entry.outcome,
      ip: entry.remoteAddress,
    },
    'audit',
  );
}
