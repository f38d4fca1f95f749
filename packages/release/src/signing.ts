import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { PalisadeError } from '@palisade/common';

/**
 * An Envelope is a signed document: its JSON payload as the exact bytes that were signed (base64),
 * its type, and signatures. What is signed is "palisade-release-v1\n" + type + "\n" + payload, so a
 * signature over one type of document never verifies as another.
 */
export interface Envelope {
  type: DocType;
  payload: string;
  signatures: { keyId: string; sig: string }[];
}

export type DocType = 'root' | 'signing-key' | 'revocations' | 'release';
const DOC_TYPES: readonly string[] = ['root', 'signing-key', 'revocations', 'release'];
const DOMAIN = 'palisade-release-v1\n';

/** An Ed25519KeyPair as the tools keep it: the private key as PKCS#8 PEM, the public key raw (base64). */
export interface Ed25519KeyPair {
  privateKeyPem: string;
  publicKey: string;
  keyId: string;
}

/** keyIdOf is a public key's id: the first 32 hex digits of sha256 over its 32 raw bytes. */
export function keyIdOf(publicKeyB64: string): string {
  return createHash('sha256').update(Buffer.from(publicKeyB64, 'base64')).digest('hex').slice(0, 32);
}

/** generateKeyPair makes a new ed25519 key pair. */
export function generateKeyPair(): Ed25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicKey: raw,
    keyId: keyIdOf(raw),
  };
}

function rawPublicKey(k: KeyObject): string {
  const jwk = k.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
    throw new PalisadeError('validation_failed', 'the key is not an ed25519 key');
  return Buffer.from(jwk.x, 'base64url').toString('base64');
}

/** loadPrivateKey reads a PKCS#8 PEM ed25519 private key and gives it with its public key and id. */
export function loadPrivateKey(pem: string): { key: KeyObject; publicKey: string; keyId: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new PalisadeError('validation_failed', `not a private key in PEM: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new PalisadeError('validation_failed', 'the key is not an ed25519 key');
  const publicKey = rawPublicKey(createPublicKey(key));
  return { key, publicKey, keyId: keyIdOf(publicKey) };
}

function publicKeyObject(publicKeyB64: string): KeyObject {
  const raw = Buffer.from(publicKeyB64, 'base64');
  if (raw.length !== 32) throw new PalisadeError('validation_failed', 'an ed25519 public key has 32 bytes');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

function signedBytes(type: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${DOMAIN}${type}\n`), payload]);
}

/** signDocument signs `doc` (JSON) as a document of `type` with every key given. */
export function signDocument(type: DocType, doc: object, privateKeyPems: string[]): Envelope {
  const payload = Buffer.from(JSON.stringify(doc));
  return {
    type,
    payload: payload.toString('base64'),
    signatures: privateKeyPems.map((pem) => {
      const k = loadPrivateKey(pem);
      return { keyId: k.keyId, sig: sign(null, signedBytes(type, payload), k.key).toString('base64') };
    }),
  };
}

/** isSignedBy tells whether the envelope carries a valid signature by the public key. */
export function isSignedBy(env: Envelope, publicKeyB64: string): boolean {
  const keyId = keyIdOf(publicKeyB64);
  const key = publicKeyObject(publicKeyB64);
  const bytes = signedBytes(env.type, Buffer.from(env.payload, 'base64'));
  return env.signatures.some(
    (s) => s.keyId === keyId && verify(null, bytes, key, Buffer.from(s.sig, 'base64')),
  );
}

/** parseEnvelope checks the shape of an envelope read from JSON. */
export function parseEnvelope(v: unknown, what: string): Envelope {
  const o = v as Partial<Envelope> | null;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    typeof o.type === 'string' &&
    DOC_TYPES.includes(o.type) &&
    typeof o.payload === 'string' &&
    Array.isArray(o.signatures) &&
    o.signatures.length <= 8 &&
    o.signatures.every((s) => typeof s?.keyId === 'string' && typeof s?.sig === 'string');
  if (!ok) throw new PalisadeError('validation_failed', `${what}: not a signed document`);
  return o as Envelope;
}

/** payloadOf decodes an envelope's JSON payload (the caller checks it is signed first). */
export function payloadOf(env: Envelope, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new PalisadeError('validation_failed', `${what}: the payload is not a JSON object`);
}
