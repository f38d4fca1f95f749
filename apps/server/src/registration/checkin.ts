import { X509Certificate } from 'node:crypto';
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

const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_PINNED_CAS = 8;

/** pinnedCas checks the CA fingerprints an agent reports pinning (at most 8 sha256 hex strings). */
function pinnedCas(list: string[]): string[] | undefined {
  if (list.length === 0) return undefined;
  if (list.length > MAX_PINNED_CAS)
    throw new PalisadeError('validation_failed', `pinned_ca_sha256: at most ${MAX_PINNED_CAS} entries`);
  for (const h of list) {
    if (!SHA256_HEX.test(h))
      throw new PalisadeError(
        'validation_failed',
        `pinned_ca_sha256: ${JSON.stringify(h.slice(0, 80))} is not a lowercase hex sha256`,
      );
  }
  return list;
}

let signerCache: { pem: string; cert: X509Certificate } | undefined;
/** signerCert parses the signing CA once per CA, not once per check-in. */
function signerCert(pem: string): X509Certificate {
  if (signerCache?.pem !== pem) signerCache = { pem, cert: new X509Certificate(pem) };
  return signerCache.cert;
}

/**
 * checkInRoute serves `POST /v1/checkin` over mutual TLS: it records what the agent reports (host
 * facts, capabilities, stats, policy revision, the CAs it pins, last seen), writes a change of host
 * facts to the audit log (`agent.host_changed`, actor "agent:<id>", before and after) and answers
 * with its group's policy, the endpoints, the heartbeat interval, the CAs to pin, and whether to
 * renew its certificate now (it was not issued by the CA that signs today, after a CA rotation).
 */
export function checkInRoute(app: FastifyInstance, ctx: RegistrationContext): void {
  app.post('/v1/checkin', async (req, reply) => {
    const peer = await authenticatePeer(req.raw.socket as TLSSocket, ctx.storage, ctx.clock, ctx.logger);
    const { agent } = peer;
    const body = readProtobuf(req, CheckInRequestSchema);
    checkVersion(body.protocolVersion);
    const host = body.host ? validateHostFacts(body.host) : undefined;
    const pinned = pinnedCas(body.pinnedCaSha256);
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
      ...(pinned ? { pinnedCaSha256: pinned } : {}),
      policyRevision: Number(body.policyRevision),
    });
    const group = await ctx.storage.getGroup(agent.groupId);
    if (!group) throw new PalisadeError('internal', `agent ${agent.id} is in a group that does not exist`);
    const tls = ctx.tls.material;
    const signer = tls.signer ? signerCert(tls.signer.certPem) : undefined;
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
        caBundlePem: tls.serverCaPem,
        renewCertificate: signer !== undefined && !new X509Certificate(peer.certDer).verify(signer.publicKey),
        ...response,
      }),
    );
  });
}
