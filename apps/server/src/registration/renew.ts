import type { TLSSocket } from 'node:tls';
import { PalisadeError } from '@palisade/common';
import { RenewRequestSchema, RenewResponseSchema, create } from '@palisade/protocol';
import type { FastifyInstance } from 'fastify';
import { authenticatePeer } from '../http/peer-auth.js';
import { readProtobuf, sendProtobuf } from '../http/protobuf-body.js';
import { sha256Hex } from '../secrets.js';
import { issueClientCertificate } from '../tls/pki.js';
import type { RegistrationContext } from './context.js';
import { parseAgentPublicKey, renewProofMessage, verifyProofOfPossession } from './proof.js';
import { checkVersion } from './register.js';

/** RENEW_MIN_INTERVAL_MS: a second renewal for a different new key within this time is refused. */
export const RENEW_MIN_INTERVAL_MS = 60_000;

/**
 * renewRoute serves `POST /v1/renew` over mutual TLS (ADR 0015). The agent authenticates with its
 * current certificate and sends a NEW public key with a proof of possession bound to itself and to
 * that certificate. The server certifies the new key and records the new certificate as pending:
 * both are accepted until the agent connects with the new one, which then retires the old one, so
 * an agent that crashes between getting and using its new certificate is never locked out. Checks,
 * in order: credential (expired, foreign, revoked → 401), body, protocol version, key (type; it
 * must differ from the current key), proof; any failure changes nothing.
 */
export function renewRoute(app: FastifyInstance, ctx: RegistrationContext): void {
  app.post('/v1/renew', async (req, reply) => {
    const peer = await authenticatePeer(req.raw.socket as TLSSocket, ctx.storage, ctx.clock, ctx.logger);
    const body = readProtobuf(req, RenewRequestSchema);
    checkVersion(body.protocolVersion);
    const { agent } = peer;
    const publicKey = parseAgentPublicKey(body.publicKeySpki);
    const keyHash = sha256Hex(body.publicKeySpki);
    if (keyHash === agent.publicKeyFingerprint) {
      throw new PalisadeError(
        'validation_failed',
        'public_key_spki is the key of the current certificate: renewal needs a new key pair',
      );
    }
    verifyProofOfPossession(
      publicKey,
      renewProofMessage(agent.id, peer.fingerprint, body.publicKeySpki),
      body.proofOfPossession,
    );
    const now = ctx.clock.now();
    const last = agent.pendingCert;
    if (last && last.publicKeyFingerprint !== keyHash && now - last.issuedAt < RENEW_MIN_INTERVAL_MS) {
      throw new PalisadeError(
        'rate_limited',
        `a certificate was issued to this agent ${Math.round((now - last.issuedAt) / 1000)} s ago; use it or retry later`,
      );
    }
    const signer = ctx.tls.material.signer;
    if (!signer) throw new PalisadeError('unavailable', 'this server process cannot issue certificates');
    const cert = await issueClientCertificate(signer, agent.id, body.publicKeySpki, now);
    await ctx.storage.setPendingCertificate(agent.id, {
      fingerprint: cert.fingerprint,
      publicKeyFingerprint: keyHash,
      issuedAt: now,
      notAfter: cert.notAfter,
      caSha256: cert.caSha256,
    });
    ctx.logger.info(
      {
        agentId: agent.id,
        hostname: agent.host.hostname,
        notAfter: new Date(cert.notAfter).toISOString(),
        current: peer.fingerprint.slice(0, 16),
        pending: cert.fingerprint.slice(0, 16),
      },
      'renewed agent certificate issued; the current one stays valid until the agent uses the new one',
    );
    return sendProtobuf(
      reply,
      RenewResponseSchema,
      create(RenewResponseSchema, {
        certificatePem: cert.certPem,
        caBundlePem: ctx.tls.material.serverCaPem,
        notAfterMs: BigInt(cert.notAfter),
      }),
    );
  });
}
