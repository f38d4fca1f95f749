import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@palisade/common';
import { ensurePrivateDir, writePrivateFile } from '../fs-secure.js';
import { TLS_FILES, ensureCa, readCaSet } from './ca-files.js';
import { CERT_LIFETIME_MS, type CertificateAuthority, issueServerCertificate, splitPem } from './pki.js';

/** TlsMaterial is everything the listeners and the registration service need, at one moment. */
export interface TlsMaterial {
  /** The CA that signs agent (and self-made server) certificates; absent in a standby-only process. */
  signer?: CertificateAuthority;
  /** The Palisade CAs that verify agent client certificates (active, next, previous), PEM bundle. */
  clientCaPem: string;
  /**
   * The CAs agents pin to verify the server (PEM bundle): the operator's CA when it supplies the
   * server certificate, and the Palisade CAs (which also issued the agent's own certificate).
   */
  serverCaPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** The server certificate's expiry, ms. */
  serverCertNotAfter: number;
  /** Who renews the server certificate: the primary itself, or the operator (--tls-cert/--tls-key). */
  serverCertSource: 'self-made' | 'operator';
  /** Each CA certificate in the material and its role, for health. */
  cas: { role: 'active' | 'next' | 'previous' | 'operator'; certPem: string }[];
}

/** TlsFileOptions say where TLS material lives and which names the server certificate covers. */
export interface TlsFileOptions {
  dataDir: string;
  logger: Logger;
  /** primary: creates the CA on first start and renews its own server certificate; standby: reads only. */
  role: 'primary' | 'standby';
  publicHost?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  caCertFile?: string;
  /** Lifetime of the self-made server certificate. @default one year */
  certLifetimeMs?: number;
}

function serverNames(publicHost?: string): string[] {
  return ['localhost', '127.0.0.1', '::1', hostname(), ...(publicHost ? [publicHost] : [])];
}

function covers(cert: X509Certificate, name: string): boolean {
  return isIP(name) ? cert.checkIP(name) !== undefined : cert.checkHost(name) !== undefined;
}

/**
 * readServerPair reads a server certificate and its key and checks that they belong together,
 * naming the file that is wrong (a pair caught halfway through being replaced is refused too).
 */
export function readServerPair(
  certPath: string,
  keyPath: string,
): { certPem: string; keyPem: string; cert: X509Certificate } {
  let certPem: string;
  let keyPem: string;
  try {
    certPem = readFileSync(certPath, 'utf8');
    keyPem = readFileSync(keyPath, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the server certificate: ${(err as Error).message}`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`${certPath} is not a certificate (${(err as Error).message})`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`${keyPath} is not a private key (${(err as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) throw new Error(`${keyPath} is not the key of ${certPath}`);
  return { certPem, keyPem, cert };
}

/** bundle joins PEM certificates into one bundle, one block each, without duplicates. */
export function bundle(pems: string[]): string {
  return [...new Set(pems.flatMap(splitPem))].join('');
}

/** renewalDue tells whether a certificate has reached two thirds of `lifetimeMs` (a third or less left). */
export function renewalDue(notAfterMs: number, nowMs: number, lifetimeMs: number): boolean {
  return notAfterMs - nowMs <= lifetimeMs / 3;
}

/**
 * readTlsMaterial reads the CAs and the server certificate from `<dataDir>/tls/` (or the
 * operator's files). A primary creates the CA on the first start and (re-)issues its own server
 * certificate when it is missing, no longer covers the names agents use, was not issued by the
 * active CA (after a CA rotation) or has reached two thirds of its life; `nowMs` is the server's
 * clock. A standby-only process never needs the CA's private key: it reads `ca.pem` (and a
 * rotation's `ca-next.pem`/`ca-previous.pem`) and its server certificate, nothing else.
 */
export async function readTlsMaterial(o: TlsFileOptions, nowMs: number): Promise<TlsMaterial> {
  const dir = join(o.dataDir, 'tls');
  const primary = o.role === 'primary';
  if (primary) {
    ensurePrivateDir(dir);
    if (await ensureCa(dir, nowMs))
      o.logger.info({ path: join(dir, TLS_FILES.ca) }, 'created certificate authority');
  }
  const set = await readCaSet(dir, primary);
  const signer = set.active.key ? { certPem: set.active.certPem, key: set.active.key } : undefined;
  const palisadeCas = [
    { role: 'active' as const, certPem: set.active.certPem },
    ...(set.next ? [{ role: 'next' as const, certPem: set.next.certPem }] : []),
    ...(set.previous ? [{ role: 'previous' as const, certPem: set.previous.certPem }] : []),
  ];
  const clientCaPem = bundle(palisadeCas.map((c) => c.certPem));

  if (o.tlsCertFile || o.tlsKeyFile) {
    if (!o.tlsCertFile || !o.tlsKeyFile) {
      throw new Error('tlsCertFile and tlsKeyFile must be given together');
    }
    const pair = readServerPair(o.tlsCertFile, o.tlsKeyFile);
    const operatorCa = o.caCertFile ? bundle([readFileSync(o.caCertFile, 'utf8')]) : '';
    if (o.caCertFile && !operatorCa) throw new Error(`${o.caCertFile} holds no PEM certificate`);
    return {
      ...(signer ? { signer } : {}),
      clientCaPem,
      serverCaPem: bundle([operatorCa, clientCaPem]),
      serverCertPem: pair.certPem,
      serverKeyPem: pair.keyPem,
      serverCertNotAfter: Date.parse(pair.cert.validTo),
      serverCertSource: 'operator',
      cas: [...(operatorCa ? [{ role: 'operator' as const, certPem: operatorCa }] : []), ...palisadeCas],
    };
  }

  const certPath = join(dir, TLS_FILES.serverCert);
  const keyPath = join(dir, TLS_FILES.serverKey);
  const lifetime = o.certLifetimeMs ?? CERT_LIFETIME_MS;
  if (primary && signer) {
    const names = serverNames(o.publicHost);
    let why = '';
    if (!existsSync(certPath) || !existsSync(keyPath)) why = 'none yet';
    else {
      try {
        const { cert } = readServerPair(certPath, keyPath);
        const active = new X509Certificate(signer.certPem);
        if (!names.every((n) => covers(cert, n))) why = 'names changed';
        else if (!cert.verify(active.publicKey)) why = 'not issued by the active CA';
        else if (renewalDue(Date.parse(cert.validTo), nowMs, lifetime)) why = 'two thirds of its life passed';
      } catch (err) {
        why = (err as Error).message;
      }
    }
    if (why) {
      const pair = await issueServerCertificate(signer, names, nowMs, lifetime);
      // Key first: a reader that catches the pair halfway refuses the mismatch and keeps the old one.
      writePrivateFile(keyPath, pair.keyPem);
      writePrivateFile(certPath, pair.certPem);
      o.logger.info({ path: certPath, names, reason: why }, 'issued server certificate');
    }
  } else if (!existsSync(certPath) || !existsSync(keyPath)) {
    throw new Error(
      `standby-only: ${!existsSync(certPath) ? certPath : keyPath} is missing; the standby needs tls/ca.pem, tls/server.pem and tls/server-key.pem (or --tls-cert/--tls-key)`,
    );
  }
  const pair = readServerPair(certPath, keyPath);
  return {
    ...(signer ? { signer } : {}),
    clientCaPem,
    serverCaPem: clientCaPem,
    serverCertPem: pair.certPem,
    serverKeyPem: pair.keyPem,
    serverCertNotAfter: Date.parse(pair.cert.validTo),
    serverCertSource: 'self-made',
    cas: palisadeCas,
  };
}
