import type { TLSSocket } from 'node:tls';
import { PalisadeError } from '@palisade/common';
import { CheckInRequestSchema, CheckInResponseSchema, create } from '@palisade/protocol';
import type { FastifyInstance } from 'fastify';
import { authenticatePeer } from '../http/peer-auth.js';
import { readProtobuf, sendProtobuf } from '../http/protobuf-body.js';
import type { RegistrationContext } from './context.js';
import { recordAudit } from '../audit/audit-log.js';
import { peerLogger } from '../peer-log.js';
import { hostChange } from './host-changes.js';
import { validateHostFacts } from './host-facts.js';
import { checkVersion } from './register.js';
import { capabilitiesFromWire, policyToWire, statsFromWire } from './wire-records.js';

/**
 * checkInRoute serves `POST /v1/checkin` over mutual TLS: it records what the agent reports (host
 * facts, capabilities, stats, policy revision, last seen), writes a change of host facts to the
 * audit log (`agent.host_changed`, actor "agent:<id>", before and after) and answers with its group's policy,
 * the endpoints and the heartbeat interval.
 */
export function checkInRoute(app: FastifyInstance, ctx: RegistrationContext): void {
  app.post('/v1/checkin', async (req, reply) => {
    const agent = await authenticatePeer(req.raw.socket as TLSSocket, ctx.storage);
    const body = readProtobuf(req, CheckInRequestSchema);
    checkVersion(body.protocolVersion);
    const host = body.host ? validateHostFacts(body.host) : undefined;
    const now = ctx.clock.now();
    const change = host && hostChange(agent.host, host);
    if (change) {
      // Written by the agent itself (its certificate authenticated it); a machine id change can
      // mean its identity was copied to another machine.
      // Its log line is the agent's doing: limited like other peer-triggered lines.
      await recordAudit(
        { ...ctx, logger: peerLogger(ctx.logger, agent.id) },
        req,
        { id: agent.id, name: `agent:${agent.id}` },
        {
          action: 'agent.host_changed',
          targetType: 'agent',
          targetId: agent.id,
          details: { ...change },
        },
      );
    }
    await ctx.storage.touchAgent(agent.id, {
      lastSeenAt: now,
      ...(host ? { host } : {}),
      // An empty list means "not reported this time", not "lost every capability".
      ...(body.capabilities.length ? { capabilities: capabilitiesFromWire(body.capabilities) } : {}),
      ...(body.stats ? { stats: statsFromWire(body.stats) } : {}),
      policyRevision: Number(body.policyRevision),
    });
    const group = await ctx.storage.getGroup(agent.groupId);
    if (!group) throw new PalisadeError('internal', `agent ${agent.id} is in a group that does not exist`);
    return sendProtobuf(
      reply,
      CheckInResponseSchema,
      create(CheckInResponseSchema, {
        agentId: agent.id,
        policy: policyToWire(group.policy),
        endpoints: ctx.endpoints(),
        serverTimeMs: BigInt(now),
        heartbeatIntervalS: ctx.heartbeatIntervalS,
      }),
    );
  });
}
