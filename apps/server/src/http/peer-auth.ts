import type { TLSSocket } from 'node:tls';
import { type Clock, type Logger, PalisadeError } from '@palisade/common';
import type { AgentRecord, Storage } from '@palisade/storage';
import { certFingerprint } from '../tls/pki.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** AuthenticatedPeer is an agent and the certificate it authenticated with. */
export interface AuthenticatedPeer {
  agent: AgentRecord;
  /** sha256 (hex) of the client certificate presented on this connection. */
  fingerprint: string;
  /** The certificate's DER. */
  certDer: Buffer;
  /** The certificate's expiry, ms. */
  notAfter: number;
}

/** credentialRefusal is the message of a revoked or decommissioned agent, or undefined when neither. */
export function credentialRefusal(
  a: Pick<AgentRecord, 'revokedAt' | 'decommissionedAt'> & {
    revocationReason?: string | null;
  },
): string | undefined {
  if (a.revokedAt !== null)
    return `agent credential revoked${a.revocationReason ? ` (${a.revocationReason})` : ''}`;
  if (a.decommissionedAt !== null) return 'agent decommissioned';
  return undefined;
}

/**
 * authenticatePeer returns the agent behind a mutual-TLS connection. The client certificate must
 * chain to a Palisade CA (checked by TLS: `authorized`), not be expired by the server's clock, name
 * an agent by its CN, and be exactly a certificate issued to that agent (sha256 fingerprint): its
 * current one or a renewed one it has not used before (pending), which must not be revoked or
 * decommissioned. The first use of a pending certificate makes it the agent's current one and
 * retires the one it replaces (ADR 0015). Every refusal is `invalid_credentials` (401); the message
 * says which check failed so that an operator can tell a revoked agent from a misconfigured one.
 */
export async function authenticatePeer(
  socket: TLSSocket,
  storage: Storage,
  clock: Clock,
  logger?: Logger,
): Promise<AuthenticatedPeer> {
  const refuse = (why: string): PalisadeError =>
    new PalisadeError('invalid_credentials', `client certificate refused: ${why}`);
  const cert = socket.getPeerCertificate?.();
  if (!cert?.raw) throw refuse('no client certificate presented');
  if (!socket.authorized) throw refuse(`not issued by this server (${socket.authorizationError})`);
  const notAfter = Date.parse(cert.valid_to);
  if (!(notAfter > clock.now())) throw refuse(`certificate expired on ${new Date(notAfter).toISOString()}`);
  const cn = Array.isArray(cert.subject?.CN) ? cert.subject.CN[0] : cert.subject?.CN;
  if (!cn || !UUID.test(cn)) throw refuse('certificate does not name an agent');
  let agent = await storage.getAgent(cn);
  if (!agent) throw refuse('unknown agent');
  const fingerprint = certFingerprint(cert.raw);
  const pending = agent.pendingCert?.fingerprint === fingerprint;
  if (agent.certFingerprint !== fingerprint && !pending)
    throw refuse('not the certificate issued to this agent');
  const refusal = credentialRefusal(agent);
  if (refusal) throw refuse(refusal);
  if (pending) {
    if (await storage.promoteCertificate(agent.id, fingerprint)) {
      logger?.info(
        { agentId: agent.id, retired: agent.certFingerprint.slice(0, 16), current: fingerprint.slice(0, 16) },
        'agent uses its renewed certificate; the previous one is retired',
      );
    }
    // Promoted here or by a concurrent connection; anything else (a newer renewal won) is refused.
    agent = await storage.getAgent(cn);
    if (agent?.certFingerprint !== fingerprint) throw refuse('not the certificate issued to this agent');
  }
  return { agent, fingerprint, certDer: cert.raw, notAfter };
}
