import { createHash, createPrivateKey, sign } from 'node:crypto';
import {
  PROTOCOL_VERSION,
  RenewRequestSchema,
  type RenewResponse,
  RenewResponseSchema,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import { type TlsMaterial, postProtobuf } from '../transport/https-client.js';
import { certSha256 } from './identity-store.js';
import { publicKeySpki } from './keys.js';

/**
 * renewProof signs the renewal statement of RenewRequest (registration.proto) with the NEW key:
 * "palisade-renew-v1\n" + agent id + "\n" + sha256 of the certificate being renewed + "\n" +
 * sha256 of the new public key.
 */
export function renewProof(newKeyPem: string, agentId: string, currentCertPem: string): Buffer {
  const spki = publicKeySpki(newKeyPem);
  const statement = `palisade-renew-v1\n${agentId}\n${certSha256(currentCertPem)}\n${createHash('sha256')
    .update(spki)
    .digest('hex')}`;
  return sign('sha256', Buffer.from(statement, 'utf8'), createPrivateKey(newKeyPem));
}

/**
 * requestRenewal POSTs a RenewRequest for `newKeyPem` to `<registrationUrl>/v1/renew` over mutual
 * TLS with the pair in `tls` (the certificate being renewed). A refusal is an HttpError.
 */
export async function requestRenewal(
  registrationUrl: string,
  tls: TlsMaterial,
  agentId: string,
  newKeyPem: string,
  timeoutMs = 15_000,
): Promise<RenewResponse> {
  if (!tls.cert) throw new Error('renewal needs the current client certificate');
  const req = create(RenewRequestSchema, {
    protocolVersion: PROTOCOL_VERSION,
    publicKeySpki: publicKeySpki(newKeyPem),
    proofOfPossession: renewProof(newKeyPem, agentId, tls.cert),
  });
  const url = `${registrationUrl.replace(/\/+$/, '')}/v1/renew`;
  const body = await postProtobuf(url, toBinary(RenewRequestSchema, req), { tls, timeoutMs });
  return fromBinary(RenewResponseSchema, body);
}
