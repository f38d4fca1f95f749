import type { TLSSocket } from 'node:tls';
import { PalisadeError } from '@palisade/common';
import type { AgentRecord, Storage } from '@palisade/storage';
import { certFingerprint } from '../tls/pki.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * authenticatePeer returns the agent behind a mutual-TLS connection. The client certificate must
 * chain to the agent CA (checked by TLS: `authorized`), name an agent by its CN, and be exactly
 * the certificate issued to that agent (sha256 fingerprint), which must not be revoked or
 * decommissioned. Every refusal is `invalid_credentials` (401); the message says which check failed
 * so that an operator can tell a revoked agent from a misconfigured one.
 */
export async function authenticatePeer(socket: TLSSocket, storage: Storage): Promise<AgentRecord> {
  const refuse = (why: string): PalisadeError =>
    new PalisadeError('invalid_credentials', `client certificate refused: ${why}`);
  const cert = socket.getPeerCertificate?.();
  if (!cert?.raw) throw refuse('no client certificate presented');
  if (!socket.authorized) throw refuse(`not issued by this server (${socket.authorizationError})`);
  const cn = Array.isArray(cert.subject?.CN) ? cert.subject.CN[0] : cert.subject?.CN;
  if (!cn || !UUID.test(cn)) throw refuse('certificate does not name an agent');
  const agent = await storage.getAgent(cn);
  if (!agent) throw refuse('unknown agent');
  if (agent.certFingerprint !== certFingerprint(cert.raw))
    throw refuse('not the certificate issued to this agent');
  if (agent.revokedAt !== null) throw refuse('agent credential revoked');
  if (agent.decommissionedAt !== null) throw refuse('agent decommissioned');
  return agent;
}
