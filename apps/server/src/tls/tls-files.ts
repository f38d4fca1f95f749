import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Clock, Logger } from '@palisade/common';
import { ensurePrivateDir, writePrivateFile } from '../fs-secure.js';
import { type CertificateAuthority, createCa, importCaKey, issueServerCertificate } from './pki.js';

/** TlsMaterial is everything the listeners and the registration service need. */
export interface TlsMaterial {
  /** The CA that signs agent client certificates and verifies them. */
  agentCa: CertificateAuthority;
  /** The CA agents pin to verify the server (the server's own, or the operator's). */
  serverCaPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

/** TlsFileOptions say where TLS material lives and which names the server certificate covers. */
export interface TlsFileOptions {
  dataDir: string;
  clock: Clock;
  logger: Logger;
  publicHost?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  caCertFile?: string;
}

const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;

function serverNames(publicHost?: string): string[] {
  return ['localhost', '127.0.0.1', '::1', hostname(), ...(publicHost ? [publicHost] : [])];
}

function covers(cert: X509Certificate, name: string): boolean {
  return isIP(name) ? cert.checkIP(name) !== undefined : cert.checkHost(name) !== undefined;
}

/**
 * loadOrCreateTls reads the CA and server certificate from `<dataDir>/tls/`, creating them on the
 * first start. The server certificate is re-issued when it no longer covers the names agents use
 * or is about to expire; the CA is never replaced, because agents pin it.
 */
export async function loadOrCreateTls(o: TlsFileOptions): Promise<TlsMaterial> {
  const dir = join(o.dataDir, 'tls');
  ensurePrivateDir(dir);
  const caPath = join(dir, 'ca.pem');
  const caKeyPath = join(dir, 'ca-key.pem');
  const now = o.clock.now();
  if (!existsSync(caPath) || !existsSync(caKeyPath)) {
    const ca = await createCa(now);
    writePrivateFile(caKeyPath, ca.keyPem);
    writePrivateFile(caPath, ca.certPem);
    o.logger.info({ path: caPath }, 'created certificate authority');
  }
  const agentCa: CertificateAuthority = {
    certPem: readFileSync(caPath, 'utf8'),
    key: await importCaKey(readFileSync(caKeyPath, 'utf8')),
  };

  if (o.tlsCertFile || o.tlsKeyFile) {
    if (!o.tlsCertFile || !o.tlsKeyFile) {
      throw new Error('tlsCertFile and tlsKeyFile must be given together');
    }
    return {
      agentCa,
      serverCaPem: o.caCertFile ? readFileSync(o.caCertFile, 'utf8') : agentCa.certPem,
      serverCertPem: readFileSync(o.tlsCertFile, 'utf8'),
      serverKeyPem: readFileSync(o.tlsKeyFile, 'utf8'),
    };
  }

  const certPath = join(dir, 'server.pem');
  const keyPath = join(dir, 'server-key.pem');
  const names = serverNames(o.publicHost);
  let fresh = existsSync(certPath) && existsSync(keyPath);
  if (fresh) {
    const cert = new X509Certificate(readFileSync(certPath));
    fresh = names.every((n) => covers(cert, n)) && Date.parse(cert.validTo) - now > RENEW_BEFORE_MS;
  }
  if (!fresh) {
    const pair = await issueServerCertificate(agentCa, names, now);
    writePrivateFile(keyPath, pair.keyPem);
    writePrivateFile(certPath, pair.certPem);
    o.logger.info({ path: certPath, names }, 'issued server certificate');
  }
  return {
    agentCa,
    serverCaPem: agentCa.certPem,
    serverCertPem: readFileSync(certPath, 'utf8'),
    serverKeyPem: readFileSync(keyPath, 'utf8'),
  };
}
