import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PalisadeError } from '@palisade/common';
import { writePrivateFile } from '../fs-secure.js';
import { type CertificateAuthority, createCa, importCaKey } from './pki.js';

/**
 * TLS_FILES are the files of `<dataDir>/tls/`. The CA the server signs with is `ca.pem` with its
 * key `ca-key.pem`. During a CA rotation (ADR 0015) `ca-next.pem` (and its key) is a CA that agents
 * are given to pin before it signs anything, and after the switch `ca-previous.pem` is the CA that
 * signed until then, still trusted for agent certificates until it is retired.
 */
export const TLS_FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  next: 'ca-next.pem',
  nextKey: 'ca-next-key.pem',
  previous: 'ca-previous.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
} as const;

/** CaSet is the CAs of a data directory: the active one, and during a rotation the next or previous one. */
export interface CaSet {
  /** The CA that signs; `key` is absent when the set was read without keys (standby-only). */
  active: { certPem: string; key?: CertificateAuthority['key'] };
  next?: { certPem: string };
  previous?: { certPem: string };
}

function readCert(path: string): string {
  const pem = readFileSync(path, 'utf8');
  try {
    const cert = new X509Certificate(pem);
    if (!cert.ca) throw new Error('not a CA certificate (basicConstraints CA:FALSE)');
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  return pem;
}

function keyMatches(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/**
 * recoverActivation finishes an activation that a crash interrupted between its two renames (the
 * new key is in place as ca-key.pem, its certificate still ca-next.pem): it rolls forward.
 */
function recoverActivation(dir: string): void {
  const [ca, key, next] = [TLS_FILES.ca, TLS_FILES.caKey, TLS_FILES.next].map((f) => join(dir, f)) as [
    string,
    string,
    string,
  ];
  if (!existsSync(next) || !existsSync(key) || !existsSync(ca)) return;
  const keyPem = readFileSync(key, 'utf8');
  if (!keyMatches(readFileSync(ca, 'utf8'), keyPem) && keyMatches(readFileSync(next, 'utf8'), keyPem)) {
    renameSync(next, ca);
    rmSync(join(dir, TLS_FILES.nextKey), { force: true });
  }
}

/**
 * ensureCa creates the CA on the first start (both files missing). One file without the other is
 * an error: a new CA would be one no enrolled agent trusts.
 */
export async function ensureCa(dir: string, nowMs: number): Promise<boolean> {
  recoverActivation(dir);
  const ca = join(dir, TLS_FILES.ca);
  const key = join(dir, TLS_FILES.caKey);
  const [hasCa, hasKey] = [existsSync(ca), existsSync(key)];
  if (hasCa && hasKey) return false;
  if (hasCa !== hasKey) {
    throw new Error(
      `${hasCa ? key : ca} is missing but ${hasCa ? ca : key} exists: restore it from a backup (a new CA would be one no enrolled agent trusts)`,
    );
  }
  const made = await createCa(nowMs);
  writePrivateFile(key, made.keyPem);
  writePrivateFile(ca, made.certPem);
  return true;
}

/**
 * readCaSet reads the CAs of `dir`. With `withKey` the active CA's key is read and checked against
 * its certificate (the primary signs with it); a standby-only process reads certificates only.
 */
export async function readCaSet(dir: string, withKey: boolean): Promise<CaSet> {
  const path = (f: string) => join(dir, f);
  if (withKey) recoverActivation(dir);
  const activePem = readCert(path(TLS_FILES.ca));
  const set: CaSet = { active: { certPem: activePem } };
  if (withKey) {
    const keyPem = readFileSync(path(TLS_FILES.caKey), 'utf8');
    if (!keyMatches(activePem, keyPem))
      throw new Error(`${path(TLS_FILES.caKey)} is not the key of ${path(TLS_FILES.ca)}`);
    set.active.key = await importCaKey(keyPem);
  }
  if (existsSync(path(TLS_FILES.next))) set.next = { certPem: readCert(path(TLS_FILES.next)) };
  if (existsSync(path(TLS_FILES.previous))) set.previous = { certPem: readCert(path(TLS_FILES.previous)) };
  return set;
}

/** introduceNextCa makes the next CA (step 1 of a rotation); agents are given it to pin from now on. */
export async function introduceNextCa(dir: string, nowMs: number): Promise<string> {
  const path = (f: string) => join(dir, f);
  if (existsSync(path(TLS_FILES.next)))
    throw new PalisadeError('conflict', 'a next CA exists already; activate it or remove it first');
  if (existsSync(path(TLS_FILES.previous)))
    throw new PalisadeError(
      'conflict',
      'the previous CA is still trusted; retire it before starting another rotation',
    );
  const made = await createCa(nowMs, `Palisade CA ${new Date(nowMs).toISOString().slice(0, 10)}`);
  writePrivateFile(path(TLS_FILES.nextKey), made.keyPem);
  writePrivateFile(path(TLS_FILES.next), made.certPem);
  return made.certPem;
}

/**
 * activateNextCa makes the next CA the one that signs (step 2): the active CA becomes the previous
 * one (certificate only: it never signs again, its key is deleted). Crash-safe: the previous
 * certificate is written first, then the key and the certificate are renamed into place, and an
 * interrupted switch is rolled forward on the next read (recoverActivation).
 */
export function activateNextCa(dir: string): void {
  const path = (f: string) => join(dir, f);
  if (!existsSync(path(TLS_FILES.next)) || !existsSync(path(TLS_FILES.nextKey)))
    throw new PalisadeError('conflict', 'there is no next CA to activate; rotate first');
  if (!keyMatches(readFileSync(path(TLS_FILES.next), 'utf8'), readFileSync(path(TLS_FILES.nextKey), 'utf8')))
    throw new PalisadeError(
      'conflict',
      `${path(TLS_FILES.nextKey)} is not the key of ${path(TLS_FILES.next)}`,
    );
  writePrivateFile(path(TLS_FILES.previous), readFileSync(path(TLS_FILES.ca), 'utf8'));
  renameSync(path(TLS_FILES.nextKey), path(TLS_FILES.caKey));
  renameSync(path(TLS_FILES.next), path(TLS_FILES.ca));
}

/** retirePreviousCa stops trusting the previous CA (step 3): certificates it issued are refused from now on. */
export function retirePreviousCa(dir: string): void {
  const path = join(dir, TLS_FILES.previous);
  if (!existsSync(path)) throw new PalisadeError('conflict', 'there is no previous CA to retire');
  rmSync(path);
}
