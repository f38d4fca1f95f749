import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Identity is what a registered agent keeps in its state directory. */
export interface Identity {
  agentId: string;
  groupId: string;
  registrationUrl: string;
  telemetryPrimaryUrl: string;
  telemetryStandbyUrl: string;
  /** PKCS#8 PEM of the agent's private key; generated here and never sent anywhere. */
  keyPem: string;
  /** The client certificate the server issued for that key. */
  certPem: string;
  /** The server CA the agent pins. */
  caPem: string;
}

/** IdentityError says the identity in the state directory is missing a part, corrupt or tampered with. */
export class IdentityError extends Error {
  override name = 'IdentityError';
}

const KEY = 'agent.key';
const CERT = 'agent.crt';
const CA = 'ca.crt';
const META = 'identity.json';

/** ensureStateDir creates the state directory with mode 0700 (and tightens it if it exists). */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** hasIdentity tells whether the state directory holds an identity (complete or not). */
export function hasIdentity(dir: string): boolean {
  return existsSync(join(dir, META));
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

/**
 * saveIdentity writes the identity: the private key 0600, certificates 0644, identity.json last,
 * so a crash halfway leaves no identity.json and the next start registers again.
 */
export function saveIdentity(dir: string, id: Identity): void {
  ensureStateDir(dir);
  writeAtomic(join(dir, KEY), id.keyPem, 0o600);
  writeAtomic(join(dir, CERT), id.certPem, 0o644);
  writeAtomic(join(dir, CA), id.caPem, 0o644);
  const meta = {
    agentId: id.agentId,
    groupId: id.groupId,
    registrationUrl: id.registrationUrl,
    telemetryPrimaryUrl: id.telemetryPrimaryUrl,
    telemetryStandbyUrl: id.telemetryStandbyUrl,
  };
  writeAtomic(join(dir, META), `${JSON.stringify(meta, null, 2)}\n`, 0o600);
}

function read(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, name), 'utf8');
  } catch (err) {
    throw new IdentityError(
      `identity in ${dir} is incomplete: cannot read ${name} (${(err as Error).message})`,
    );
  }
}

/**
 * loadIdentity reads and checks the identity: the metadata parses, the key file is private, the
 * certificate was issued by the pinned CA and is for this very private key. Anything else is a
 * clear IdentityError naming the file, never a silent re-registration.
 */
export function loadIdentity(dir: string): Identity {
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(read(dir, META)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof IdentityError) throw err;
    throw new IdentityError(`${join(dir, META)} is not valid JSON (${(err as Error).message})`);
  }
  for (const f of ['agentId', 'registrationUrl'] as const) {
    if (typeof meta[f] !== 'string' || meta[f] === '')
      throw new IdentityError(`${join(dir, META)}: field ${f} is missing or not a string`);
  }
  const keyPath = join(dir, KEY);
  const keyPem = read(dir, KEY);
  if ((statSync(keyPath).mode & 0o077) !== 0) {
    throw new IdentityError(`${keyPath} is readable by group or others; it must be mode 0600`);
  }
  let cert: X509Certificate;
  let ca: X509Certificate;
  const certPem = read(dir, CERT);
  const caPem = read(dir, CA);
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new IdentityError(`${join(dir, CERT)} is not a valid certificate (${(err as Error).message})`);
  }
  try {
    ca = new X509Certificate(caPem);
  } catch (err) {
    throw new IdentityError(`${join(dir, CA)} is not a valid certificate (${(err as Error).message})`);
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new IdentityError(`${keyPath} is not a valid private key (${(err as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new IdentityError(`${join(dir, CERT)} does not belong to the private key in ${keyPath}`);
  }
  if (!cert.verify(ca.publicKey)) {
    throw new IdentityError(`${join(dir, CERT)} was not issued by the pinned CA in ${join(dir, CA)}`);
  }
  return {
    agentId: meta.agentId as string,
    groupId: typeof meta.groupId === 'string' ? meta.groupId : '',
    registrationUrl: meta.registrationUrl as string,
    telemetryPrimaryUrl: meta.telemetryPrimaryUrl as string,
    telemetryStandbyUrl: typeof meta.telemetryStandbyUrl === 'string' ? meta.telemetryStandbyUrl : '',
    keyPem,
    certPem,
    caPem,
  };
}

/** saveEndpoints updates the telemetry endpoints in identity.json after a check-in changed them. */
export function saveEndpoints(dir: string, id: Identity): void {
  saveIdentity(dir, id);
}
