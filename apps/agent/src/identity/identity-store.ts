import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { removeDurable, renameDurable, writeAtomic } from './atomic-file.js';

/** CredentialPair is a private key and the client certificate issued for it. */
export interface CredentialPair {
  keyPem: string;
  certPem: string;
  /** When the agent received the certificate, by its clock (the renewal schedule starts there). */
  receivedAt?: number;
}

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
  /** When certPem was received (ms, the agent's clock); absent for identities older than renewal. */
  certReceivedAt?: number;
  /** The server CAs the agent pins (PEM, one or more certificates). */
  caPem: string;
  /**
   * A renewed key and certificate the server has not yet seen in use: the agent tries it first and
   * keeps the current pair until it works (ADR 0015).
   */
  candidate?: CredentialPair;
  /** A new key made for a renewal whose certificate never arrived; the next attempt reuses it. */
  nextKeyPem?: string;
  /** What loading repaired or set aside (an interrupted commit finished, an unusable candidate). */
  notes?: string[];
}

/** IdentityError says the identity in the state directory is missing a part, corrupt or tampered with. */
export class IdentityError extends Error {
  override name = 'IdentityError';
}

/** The files of an identity in the state directory. */
export const IDENTITY_FILES = {
  key: 'agent.key',
  cert: 'agent.crt',
  ca: 'ca.crt',
  meta: 'identity.json',
  nextKey: 'agent.next.key',
  nextCert: 'agent.next.crt',
} as const;
const F = IDENTITY_FILES;

/** ensureStateDir creates the state directory with mode 0700 (and tightens it if it exists). */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** hasIdentity tells whether the state directory holds an identity (complete or not). */
export function hasIdentity(dir: string): boolean {
  return existsSync(join(dir, F.meta));
}

/** certSha256 is the hex sha256 of a PEM certificate's DER. */
export function certSha256(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/** parseCaBundle parses every certificate of a PEM bundle; each must be a CA certificate. */
export function parseCaBundle(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error('holds no PEM certificate');
  return blocks.map((b, i) => {
    let c: X509Certificate;
    try {
      c = new X509Certificate(b);
    } catch (err) {
      throw new Error(`certificate ${i + 1} does not parse (${(err as Error).message})`);
    }
    if (!c.ca) throw new Error(`certificate ${i + 1} (${c.subject.replace(/\n/g, ', ')}) is not a CA`);
    return c;
  });
}

/**
 * pairProblem says what is wrong with a certificate as this agent's credential with `keyPem`
 * (a phrase to follow the certificate's name), or undefined: it must parse, be for this very key,
 * name `agentId` and be issued by one of the pinned CAs.
 */
export function pairProblem(
  keyPem: string,
  certPem: string,
  cas: X509Certificate[],
  agentId: string,
): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return `is not a valid certificate (${(err as Error).message})`;
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return 'does not belong to the private key';
  } catch (err) {
    return `cannot be checked: its private key does not parse (${(err as Error).message})`;
  }
  const cn = /^CN=(.+)$/m.exec(cert.subject)?.[1];
  if (cn !== agentId) return `names ${JSON.stringify(cn)}, not agent ${agentId}`;
  if (!cas.some((ca) => cert.verify(ca.publicKey))) return 'was not issued by a pinned CA';
  return undefined;
}

interface Meta {
  agentId: string;
  groupId: string;
  registrationUrl: string;
  telemetryPrimaryUrl: string;
  telemetryStandbyUrl: string;
  /** When each certificate (by sha256) was received; at most the current one and a candidate. */
  certReceivedAt?: Record<string, number>;
}

function metaOf(id: Identity): Meta {
  const received: Record<string, number> = {};
  if (id.certReceivedAt !== undefined) received[certSha256(id.certPem)] = id.certReceivedAt;
  if (id.candidate?.receivedAt !== undefined)
    received[certSha256(id.candidate.certPem)] = id.candidate.receivedAt;
  return {
    agentId: id.agentId,
    groupId: id.groupId,
    registrationUrl: id.registrationUrl,
    telemetryPrimaryUrl: id.telemetryPrimaryUrl,
    telemetryStandbyUrl: id.telemetryStandbyUrl,
    certReceivedAt: received,
  };
}

/** saveMeta rewrites identity.json (endpoints, receive times); key and certificates stay as they are. */
export function saveMeta(dir: string, id: Identity): void {
  writeAtomic(join(dir, F.meta), `${JSON.stringify(metaOf(id), null, 2)}\n`, 0o600);
}

/**
 * saveIdentity writes a new identity (registration): the private key 0600, certificates 0644,
 * identity.json last, so a crash halfway leaves no identity.json and the next start registers again.
 */
export function saveIdentity(dir: string, id: Identity): void {
  ensureStateDir(dir);
  writeAtomic(join(dir, F.key), id.keyPem, 0o600);
  writeAtomic(join(dir, F.cert), id.certPem, 0o644);
  writeAtomic(join(dir, F.ca), id.caPem, 0o644);
  saveMeta(dir, id);
}

/** saveNextKey keeps the new key of a renewal (0600) before it is sent for certification. */
export function saveNextKey(dir: string, keyPem: string): void {
  writeAtomic(join(dir, F.nextKey), keyPem, 0o600);
}

/**
 * saveCandidate keeps a renewed certificate beside its key (agent.next.crt), then records when it
 * arrived. The current pair stays in place until commitCandidate.
 */
export function saveCandidate(dir: string, id: Identity, candidate: CredentialPair): void {
  writeAtomic(join(dir, F.nextCert), candidate.certPem, 0o644);
  saveMeta(dir, { ...id, candidate });
}

/**
 * commitCandidate makes the candidate the current pair once the server accepted it: the receive
 * time is recorded first, then the key and the certificate are renamed into place. A crash between
 * the two renames leaves the new key beside the old certificate and the new certificate in
 * agent.next.crt; loadIdentity finishes the commit.
 */
export function commitCandidate(dir: string, id: Identity): Identity {
  const c = id.candidate;
  if (!c) return id;
  saveMeta(dir, id);
  renameDurable(join(dir, F.nextKey), join(dir, F.key));
  renameDurable(join(dir, F.nextCert), join(dir, F.cert));
  const next: Identity = { ...id, keyPem: c.keyPem, certPem: c.certPem };
  delete next.candidate;
  delete next.nextKeyPem;
  if (c.receivedAt !== undefined) next.certReceivedAt = c.receivedAt;
  else delete next.certReceivedAt;
  saveMeta(dir, next);
  return next;
}

/** discardCandidate removes a candidate the server refused; the current pair stays. */
export function discardCandidate(dir: string, id: Identity): Identity {
  removeDurable(join(dir, F.nextCert));
  removeDurable(join(dir, F.nextKey));
  const next = { ...id };
  delete next.candidate;
  delete next.nextKeyPem;
  saveMeta(dir, next);
  return next;
}

/** saveCaBundle replaces the pinned CAs (a CA rotation delivered them over mutual TLS). */
export function saveCaBundle(dir: string, caPem: string): void {
  writeAtomic(join(dir, F.ca), caPem, 0o644);
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

function readIfPresent(dir: string, name: string): string | undefined {
  return existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : undefined;
}

function checkPrivate(path: string): void {
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new IdentityError(`${path} is readable by group or others; it must be mode 0600`);
  }
}

/**
 * loadIdentity reads and checks the identity: the metadata parses, the key files are private, the
 * certificate is for this very private key, names this agent and was issued by a pinned CA.
 * Anything else is a clear IdentityError naming the file, never a silent re-registration. A commit
 * that a crash interrupted is finished; a renewed pair waiting to be confirmed is returned as the
 * candidate, and one that does not check out is set aside (its key kept for the next renewal).
 */
export function loadIdentity(dir: string): Identity {
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(read(dir, F.meta)) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof IdentityError) throw err;
    throw new IdentityError(`${join(dir, F.meta)} is not valid JSON (${(err as Error).message})`);
  }
  for (const f of ['agentId', 'registrationUrl'] as const) {
    if (typeof meta[f] !== 'string' || meta[f] === '')
      throw new IdentityError(`${join(dir, F.meta)}: field ${f} is missing or not a string`);
  }
  const agentId = meta.agentId as string;
  const received =
    meta.certReceivedAt && typeof meta.certReceivedAt === 'object'
      ? (meta.certReceivedAt as Record<string, unknown>)
      : {};
  const receivedAt = (pem: string): number | undefined => {
    try {
      const v = received[certSha256(pem)];
      return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
    } catch {
      return undefined;
    }
  };
  const notes: string[] = [];
  const caPem = read(dir, F.ca);
  let cas: X509Certificate[];
  try {
    cas = parseCaBundle(caPem);
  } catch (err) {
    throw new IdentityError(`${join(dir, F.ca)} is not a valid CA bundle: ${(err as Error).message}`);
  }
  const keyPath = join(dir, F.key);
  const keyPem = read(dir, F.key);
  checkPrivate(keyPath);
  let certPem = read(dir, F.cert);
  let problem = pairProblem(keyPem, certPem, cas, agentId);
  const nextCertPem = readIfPresent(dir, F.nextCert);
  if (problem && nextCertPem !== undefined && !pairProblem(keyPem, nextCertPem, cas, agentId)) {
    // The key was renamed into place, the certificate not yet: finish the commit.
    renameDurable(join(dir, F.nextCert), join(dir, F.cert));
    certPem = nextCertPem;
    problem = undefined;
    notes.push('finished a certificate renewal that was interrupted');
  }
  if (problem) {
    const where = problem.startsWith('does not belong') ? ` in ${keyPath}` : '';
    throw new IdentityError(`${join(dir, F.cert)} ${problem}${where} (pinned CAs: ${join(dir, F.ca)})`);
  }
  const id: Identity = {
    agentId,
    groupId: typeof meta.groupId === 'string' ? meta.groupId : '',
    registrationUrl: meta.registrationUrl as string,
    telemetryPrimaryUrl: meta.telemetryPrimaryUrl as string,
    telemetryStandbyUrl: typeof meta.telemetryStandbyUrl === 'string' ? meta.telemetryStandbyUrl : '',
    keyPem,
    certPem,
    caPem,
    notes,
  };
  const at = receivedAt(certPem);
  if (at !== undefined) id.certReceivedAt = at;
  const nextKeyPath = join(dir, F.nextKey);
  const nextKeyPem = readIfPresent(dir, F.nextKey);
  if (nextKeyPem !== undefined) {
    checkPrivate(nextKeyPath);
    id.nextKeyPem = nextKeyPem;
    const nextCert = existsSync(join(dir, F.nextCert)) ? read(dir, F.nextCert) : undefined;
    if (nextCert !== undefined) {
      const p = pairProblem(nextKeyPem, nextCert, cas, agentId);
      if (p) notes.push(`set aside the renewed certificate ${join(dir, F.nextCert)}: it ${p}`);
      else {
        const candidateAt = receivedAt(nextCert);
        id.candidate = {
          keyPem: nextKeyPem,
          certPem: nextCert,
          ...(candidateAt !== undefined ? { receivedAt: candidateAt } : {}),
        };
      }
    }
  }
  return id;
}
