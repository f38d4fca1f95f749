import { randomUUID } from 'node:crypto';
import { PalisadeError, type TokenBuckets } from '@palisade/common';
import {
  PROTOCOL_VERSION,
  ProtocolVersionError,
  RegisterRequestSchema,
  RegisterResponseSchema,
  checkProtocolVersion,
  create,
} from '@palisade/protocol';
import type { RegistrationKeyRecord } from '@palisade/storage';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readProtobuf, sendProtobuf } from '../http/protobuf-body.js';
import { peerLogger } from '../peer-log.js';
import { sha256Hex } from '../secrets.js';
import { issueClientCertificate } from '../tls/pki.js';
import type { RegistrationContext } from './context.js';
import { validateHostFacts } from './host-facts.js';
import { parseAgentPublicKey, proofMessage, verifyProofOfPossession } from './proof.js';

/** checkVersion turns a protocol mismatch into a client error that names both versions. */
export function checkVersion(v: number): void {
  try {
    checkProtocolVersion(v);
  } catch (err) {
    if (err instanceof ProtocolVersionError) {
      throw new PalisadeError(
        'unsupported_protocol_version',
        `agent speaks protocol version ${v}, server speaks ${PROTOCOL_VERSION}`,
      );
    }
    throw err;
  }
}

async function usableKey(ctx: RegistrationContext, secret: string): Promise<RegistrationKeyRecord> {
  if (secret === '' || secret.length > 256) {
    throw new PalisadeError('invalid_registration_key', 'registration key is unknown');
  }
  const key = await ctx.storage.findKeyBySecretHash(sha256Hex(secret));
  if (!key) throw new PalisadeError('invalid_registration_key', 'registration key is unknown');
  if (key.revokedAt !== null) {
    throw new PalisadeError('revoked_registration_key', `registration key ${key.prefix}… was revoked`);
  }
  if (ctx.clock.now() >= key.expiresAt) {
    throw new PalisadeError(
      'expired_registration_key',
      `registration key ${key.prefix}… expired on ${new Date(key.expiresAt).toISOString()}`,
    );
  }
  return key;
}

/**
 * registerRoute serves `POST /v1/register`: it checks the protocol version, the registration key,
 * the host facts, the agent's public key and its proof of possession, in that order, and only then
 * creates the agent and certifies its key. Any failure creates nothing. Each source address may
 * register `perAddress` allows (a token bucket); beyond it the answer is 429 `rate_limited` with
 * Retry-After, decided before the body is even read.
 */
export function registerRoute(
  app: FastifyInstance,
  ctx: RegistrationContext,
  perAddress?: TokenBuckets,
): void {
  const limit = async (req: FastifyRequest, reply: FastifyReply) => {
    const waitMs = perAddress?.take(req.ip) ?? 0;
    if (waitMs === 0) return;
    const s = Math.max(1, Math.ceil(waitMs / 1000));
    reply.header('retry-after', String(s));
    throw new PalisadeError('rate_limited', `too many registrations from ${req.ip}; retry in ${s} s`);
  };
  app.post('/v1/register', { onRequest: limit }, async (req, reply) => {
    const body = readProtobuf(req, RegisterRequestSchema);
    checkVersion(body.protocolVersion);
    const key = await usableKey(ctx, body.registrationKey);
    const host = validateHostFacts(body.host);
    const publicKey = parseAgentPublicKey(body.publicKeySpki);
    verifyProofOfPossession(
      publicKey,
      proofMessage(body.registrationKey, host.machineId, body.publicKeySpki),
      body.proofOfPossession,
    );
    const now = ctx.clock.now();
    const agentId = randomUUID();
    const signer = ctx.tls.material.signer;
    if (!signer) throw new PalisadeError('unavailable', 'this server process cannot issue certificates');
    const cert = await issueClientCertificate(signer, agentId, body.publicKeySpki, now);
    const previous = await ctx.storage.findAgentsByMachineId(host.machineId);
    await ctx.storage.createAgent({
      id: agentId,
      groupId: key.groupId,
      keyId: key.id,
      host,
      certFingerprint: cert.fingerprint,
      publicKeyFingerprint: sha256Hex(body.publicKeySpki),
      certNotAfter: cert.notAfter,
      certCaSha256: cert.caSha256,
      pendingCert: null,
      registeredAt: now,
      lastSeenAt: null,
      revokedAt: null,
      revocationReason: null,
      decommissionedAt: null,
      policyRevision: 0,
      capabilities: [],
      stats: {},
      pinnedCaSha256: [],
    });
    peerLogger(ctx.logger, req.ip).info(
      {
        agentId,
        hostname: host.hostname,
        machineId: host.machineId,
        keyId: key.id,
        ip: req.ip,
        ...(previous.length ? { previousAgentIds: previous.map((a) => a.id) } : {}),
      },
      previous.length ? 'agent registered again from a known machine' : 'agent registered',
    );
    return sendProtobuf(
      reply,
      RegisterResponseSchema,
      create(RegisterResponseSchema, {
        agentId,
        certificatePem: cert.certPem,
        caPem: ctx.tls.material.serverCaPem,
        groupId: key.groupId,
        endpoints: ctx.endpoints(),
      }),
    );
  });
}
