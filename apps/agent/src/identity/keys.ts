import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
} from 'node:crypto';

/** generateAgentKey makes the agent's own EC P-256 key pair and returns the private key as PKCS#8 PEM. */
export function generateAgentKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** publicKeySpki returns the DER SubjectPublicKeyInfo of a private key's public half. */
export function publicKeySpki(privateKeyPem: string | KeyObject): Buffer {
  const key = typeof privateKeyPem === 'string' ? createPrivateKey(privateKeyPem) : privateKeyPem;
  return createPublicKey(key).export({ type: 'spki', format: 'der' }) as Buffer;
}

/**
 * proofOfPossession signs the registration statement defined in registration.proto with the
 * agent's private key (ECDSA P-256, SHA-256, DER signature), proving the key belongs to the caller.
 */
export function proofOfPossession(privateKeyPem: string, registrationKey: string, machineId: string): Buffer {
  const spki = publicKeySpki(privateKeyPem);
  const statement =
    'palisade-register-v1\n' +
    registrationKey +
    '\n' +
    machineId +
    '\n' +
    createHash('sha256').update(spki).digest('hex');
  return sign('sha256', Buffer.from(statement, 'utf8'), createPrivateKey(privateKeyPem));
}
