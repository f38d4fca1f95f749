import type { TLSSocket } from 'node:tls';
import { PalisadeError } from '@palisade/common';
import { CheckInRequestSchema, CheckInResponseSchema, create } from '@palisade/protocol';
import type { FastifyInstance } from 'fastify';
import { authenticatePeer } from '../http/peer-auth.js';
import { readProtobuf, sendProtobuf } from '../http/protobuf-body.js';
import type { RegistrationContext } from './context.js';
import { validateHostFacts } from './host-facts.js';
import { checkVersion } from './register.js';
import { capabilitiesFromWire, policyToWire, statsFromWire } from './wire-records.js';

/**
 * checkInRoute serves `POST /v1/checkin` over mutual TLS: it records what the agent reports (host
 * facts, capabilities, stats, policy revision, last seen) and answers with its group's policy,
 * the endpoints and the heartbeat interval.
 */
export function checkInRoute(app: FastifyInstance, ctx: RegistrationContext): void {
  app.post('/v1/checkin', async (req, reply) => {
    const agent = await authenticatePeer(req.raw.socket as TLSSocket, ctx.storage);
    const body = readProtobuf(req, CheckInRequestSchema);
    checkVersion(body.protocolVersion);
    const host = body.host ? validateHostFacts(body.host) : undefined;
    const now = ctx.clock.now();
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
    // Isolation: record what the agent reports, answer with what it should be, and its restore code.
    let response = {};
    if (ctx.response) {
      await ctx.response.report(agent.id, { isolation: body.isolation, self: body.self });
      const [isolation, restoreCode] = await Promise.all([
        ctx.response.desiredFor(agent.id),
        ctx.response.verifierFor(agent.id),
      ]);
      response = { isolation, restoreCode };
    }
    return sendProtobuf(
      reply,
      CheckInResponseSchema,
      create(CheckInResponseSchema, {
        agentId: agent.id,
        policy: policyToWire(group.policy),
        endpoints: ctx.endpoints(),
        serverTimeMs: BigInt(now),
        heartbeatIntervalS: ctx.heartbeatIntervalS,
        ...response,
      }),
    );
  });
}
