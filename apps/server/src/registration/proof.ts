import { type KeyObject, createHash, createPublicKey, verify } from 'node:crypto';
import { PalisadeError } from '@palisade/common';

/** proofMessage is the exact text an agent signs at registration (see registration.proto). */
export function proofMessage(registrationKey: string, machineId: string, publicKeySpki: Uint8Array): string {
  const keyHash = createHash('sha256').update(publicKeySpki).digest('hex');
  return `palisade-register-v1\n${registrationKey}\n${machineId}\n${keyHash}`;
}

/**
 * renewProofMessage is the exact text an agent signs with its NEW key to renew its certificate
 * (see RenewRequest in registration.proto): it names the agent and the certificate being renewed.
 */
export function renewProofMessage(
  agentId: string,
  currentCertSha256: string,
  publicKeySpki: Uint8Array,
): string {
  const keyHash = createHash('sha256').update(publicKeySpki).digest('hex');
  return `palisade-renew-v1\n${agentId}\n${currentCertSha256}\n${keyHash}`;
}

/**
 * parseAgentPublicKey accepts an SPKI DER public key that is EC P-256 or Ed25519, the two key
 * types agents may use; anything else is refused with the reason.
 */
export function parseAgentPublicKey(spki: Uint8Array): KeyObject {
  if (spki.byteLength === 0 || spki.byteLength > 1024) {
    throw new PalisadeError('validation_failed', 'public_key_spki is missing or too large');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    throw new PalisadeError('validation_failed', 'public_key_spki is not a DER SubjectPublicKeyInfo');
  }
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return key;
  if (type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return key;
  throw new PalisadeError(
    'validation_failed',
    `public key type ${type} is not supported (use EC P-256 or Ed25519)`,
  );
}

/**
 * verifyProofOfPossession checks the signature over proofMessage: ECDSA-SHA256 (DER signature) for
 * P-256 keys, pure Ed25519 for Ed25519 keys.
 */
export function verifyProofOfPossession(key: KeyObject, message: string, signature: Uint8Array): void {
  let ok = false;
  try {
    const algorithm = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
    ok = verify(algorithm, Buffer.from(message), key, Buffer.from(signature));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new PalisadeError(
      'validation_failed',
      'proof_of_possession does not verify: sign the documented message with the private key of public_key_spki',
    );
  }
}
