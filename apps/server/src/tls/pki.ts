// @peculiar/x509 resolves its parts through tsyringe, which needs a Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { X509Certificate as NodeX509, createHash, webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
/** YEAR_MS is a year of 365 days, ms. */
export const YEAR_MS = 365 * 24 * 60 * 60 * 1000;
/** CERT_LIFETIME_MS is how long agent and server certificates are valid (renewed at two thirds of it). */
export const CERT_LIFETIME_MS = YEAR_MS;
/** CA_LIFETIME_MS is how long a certificate authority made by the server is valid. */
export const CA_LIFETIME_MS = 10 * YEAR_MS;
/** Certificates are valid from an hour before they are issued, so a peer whose clock is behind accepts them. */
const BACKDATE_MS = 60 * 60 * 1000;

/**
 * validity is the window of a certificate issued at `nowMs` (the server's clock) for `lifetimeMs`,
 * never beyond `capMs` (the issuing CA's own expiry). It never starts after the wall clock: TLS
 * peers check validity against the wall clock, and tests run the server's clock ahead of it to
 * move through years.
 */
function validity(nowMs: number, lifetimeMs: number, capMs = Number.POSITIVE_INFINITY) {
  return {
    notBefore: new Date(Math.min(nowMs, Date.now()) - BACKDATE_MS),
    notAfter: new Date(Math.min(nowMs + lifetimeMs, capMs)),
  };
}

function caNotAfter(ca: CertificateAuthority): number {
  return Date.parse(new NodeX509(ca.certPem).validTo);
}

/** CertificateAuthority is the server's CA: its certificate and the key that signs with it. */
export interface CertificateAuthority {
  certPem: string;
  key: CryptoKey;
}

/** KeyPairPem is a certificate with its private key, both PEM. */
export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`;
}

/** importCaKey reads a PKCS#8 PEM ECDSA P-256 private key for signing. */
export async function importCaKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error('CA key file holds no PEM block');
  return webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign']);
}

function serial(): string {
  // Positive 16-byte serial: clear the top bit.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] ?? 0) & 0x7f;
  return Buffer.from(b).toString('hex');
}

/** createCa makes a new ECDSA P-256 CA, valid for ten years by default. Returns the CA and its key as PEM. */
export async function createCa(
  nowMs: number,
  commonName = 'Palisade CA',
  lifetimeMs = CA_LIFETIME_MS,
): Promise<KeyPairPem> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    ...validity(nowMs, lifetimeMs),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}

/**
 * issueServerCertificate makes a TLS server certificate for `names` (DNS names or IPs), valid for
 * `lifetimeMs` (one year) but never beyond the CA's own expiry.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  names: string[],
  nowMs: number,
  lifetimeMs = CERT_LIFETIME_MS,
): Promise<KeyPairPem> {
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const unique = [...new Set(names.filter((n) => n))];
  const caCert = new x509.X509Certificate(ca.certPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${unique[0] ?? 'localhost'}`,
    issuer: caCert.subject,
    ...validity(nowMs, lifetimeMs, caNotAfter(ca)),
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        unique.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}

/** IssuedClientCertificate is an agent certificate with the facts the server stores about it. */
export interface IssuedClientCertificate {
  certPem: string;
  /** sha256 (hex) of the certificate's DER. */
  fingerprint: string;
  notAfter: number;
  /** sha256 (hex) of the issuing CA certificate's DER. */
  caSha256: string;
}

/**
 * issueClientCertificate certifies an agent's own public key (SPKI DER) with CN = agent id, valid
 * `lifetimeMs` (one year) but never beyond the CA's own expiry, for TLS client authentication
 * only. The agent's private key never reaches the server.
 */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  agentId: string,
  publicKeySpki: Uint8Array,
  nowMs: number,
  lifetimeMs = CERT_LIFETIME_MS,
): Promise<IssuedClientCertificate> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${agentId}, O=Palisade agents`,
    issuer: caCert.subject,
    ...validity(nowMs, lifetimeMs, caNotAfter(ca)),
    signingAlgorithm: SIGNING,
    publicKey: new Uint8Array(publicKeySpki),
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return {
    certPem: `${cert.toString('pem')}\n`,
    fingerprint: certFingerprint(new Uint8Array(cert.rawData)),
    notAfter: cert.notAfter.getTime(),
    caSha256: pemFingerprint(ca.certPem),
  };
}

/** certFingerprint is the hex sha256 of a certificate's DER encoding. */
export function certFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** pemFingerprint is certFingerprint of a PEM certificate (the first one in `pem`). */
export function pemFingerprint(pem: string): string {
  return certFingerprint(new NodeX509(pem).raw);
}

/** splitPem returns each certificate PEM block in `pem` (a bundle), normalised to end with a newline. */
export function splitPem(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map(
    (m) => `${m[0]}\n`,
  );
}
