import { createHash } from 'node:crypto';
import { PalisadeError } from '@palisade/common';
import { type Envelope, isSignedBy, keyIdOf, parseEnvelope, payloadOf, signDocument } from './signing.js';
import { isVersion } from './version.js';

/** RootDoc: the root of trust, version `seq`. Seq 1 signs itself; seq n+1 is signed by root n and by itself. */
export interface RootDoc {
  seq: number;
  publicKey: string;
  keyId: string;
  expiresAt: number;
}

/** SigningKeyDoc: a release-signing key certified by the current root until `expiresAt`. */
export interface SigningKeyDoc {
  publicKey: string;
  keyId: string;
  issuedAt: number;
  expiresAt: number;
  rootSeq: number;
}

/** RevocationsDoc: the keys (signing-key ids) the root has revoked; a higher seq replaces a lower one. */
export interface RevocationsDoc {
  seq: number;
  keyIds: string[];
  issuedAt: number;
}

/** ReleaseDoc: a release's signed metadata; it binds the version to the manifest's bytes. */
export interface ReleaseDoc {
  version: string;
  platform: string;
  arch: string;
  minKernel: string;
  manifestSha256: string;
  issuedAt: number;
  expiresAt: number;
}

/** TrustBundle is what the server holds and delivers at check-in: the root chain, signing keys, revocations. */
export interface TrustBundle {
  roots: Envelope[];
  signingKeys: Envelope[];
  revocations?: Envelope;
}

/** PinnedRoot is what an agent pins: the root it trusts now and the highest revocation list seen. */
export interface PinnedRoot {
  seq: number;
  publicKey: string;
  revocationsSeq: number;
}

/** Trust is a verified trust bundle, seen from a pinned root at a time. */
export interface Trust {
  root: RootDoc;
  signingKeys: SigningKeyDoc[];
  revoked: string[];
  revocationsSeq: number;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const fail = (why: string) => new PalisadeError('validation_failed', why);
const iso = (ms: number) => new Date(ms).toISOString();

function rootDoc(env: Envelope): RootDoc {
  const p = payloadOf(env, 'root');
  if (!num(p.seq) || p.seq < 1 || typeof p.publicKey !== 'string' || !num(p.expiresAt))
    throw fail('root: needs seq, publicKey, expiresAt');
  return { seq: p.seq, publicKey: p.publicKey, keyId: keyIdOf(p.publicKey), expiresAt: p.expiresAt };
}

/** makeRoot signs root `seq` with its own key and, from seq 2 on, with the previous root's key. */
export function makeRoot(
  seq: number,
  publicKey: string,
  expiresAt: number,
  keyPem: string,
  previousRootPem?: string,
): Envelope {
  if (seq > 1 && !previousRootPem) throw fail('a new root must be signed by the previous root');
  return signDocument(
    'root',
    { seq, publicKey, expiresAt },
    previousRootPem ? [previousRootPem, keyPem] : [keyPem],
  );
}

/** makeSigningKey certifies a release-signing key with the root, until `expiresAt`. */
export function makeSigningKey(
  publicKey: string,
  issuedAt: number,
  expiresAt: number,
  rootSeq: number,
  rootPem: string,
): Envelope {
  return signDocument('signing-key', { publicKey, issuedAt, expiresAt, rootSeq }, [rootPem]);
}

/** makeRevocations revokes signing keys by id (list `seq`, higher than every list before it). */
export function makeRevocations(seq: number, keyIds: string[], issuedAt: number, rootPem: string): Envelope {
  return signDocument('revocations', { seq, keyIds, issuedAt }, [rootPem]);
}

/** makeRelease signs a release's metadata with a signing key. */
export function makeRelease(doc: ReleaseDoc, signingPem: string): Envelope {
  return signDocument('release', doc, [signingPem]);
}

/** parseTrustBundle checks the JSON shape of a trust bundle. */
export function parseTrustBundle(v: unknown): TrustBundle {
  const o = v as Partial<TrustBundle> | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.roots) || !Array.isArray(o.signingKeys))
    throw fail('trust bundle: needs roots and signingKeys lists');
  if (o.roots.length > 64 || o.signingKeys.length > 64)
    throw fail('trust bundle: at most 64 roots and 64 signing keys');
  return {
    roots: o.roots.map((e, i) => parseEnvelope(e, `trust bundle roots[${i}]`)),
    signingKeys: o.signingKeys.map((e, i) => parseEnvelope(e, `trust bundle signingKeys[${i}]`)),
    ...(o.revocations ? { revocations: parseEnvelope(o.revocations, 'trust bundle revocations') } : {}),
  };
}

/**
 * resolveTrust walks the bundle's root chain from the pinned root: root n+1 counts only when root
 * n and root n+1 both signed it (an expired root may still hand over to its successor, so expiry
 * never strands a fleet that reconnects late); the last root reached must not have expired. Signing
 * keys count when that root signed them; revocations when that root signed them and their seq is
 * not lower than the pinned one (no rolling back a revocation). Throws with the reason when the
 * chain is broken or the root has expired.
 */
export function resolveTrust(pinned: PinnedRoot, bundle: TrustBundle, now: number): Trust {
  let current: RootDoc = {
    seq: pinned.seq,
    publicKey: pinned.publicKey,
    keyId: keyIdOf(pinned.publicKey),
    expiresAt: 0,
  };
  let sawCurrent = false;
  const bySeq = new Map<number, { env: Envelope; doc: RootDoc }>();
  for (const env of bundle.roots) {
    if (env.type !== 'root') throw fail('trust bundle: a roots entry is not a root document');
    const doc = rootDoc(env);
    bySeq.set(doc.seq, { env, doc });
  }
  const same = bySeq.get(current.seq);
  if (same && same.doc.publicKey === current.publicKey && isSignedBy(same.env, current.publicKey)) {
    current = same.doc;
    sawCurrent = true;
  }
  for (;;) {
    const next = bySeq.get(current.seq + 1);
    if (!next) break;
    if (!isSignedBy(next.env, current.publicKey))
      throw fail(`root ${next.doc.seq} is not signed by root ${current.seq} (key ${current.keyId})`);
    if (!isSignedBy(next.env, next.doc.publicKey))
      throw fail(`root ${next.doc.seq} is not signed by its own key`);
    current = next.doc;
    sawCurrent = true;
  }
  if (!sawCurrent)
    throw fail(`trust bundle: no root document for the pinned root ${pinned.seq} (key ${current.keyId})`);
  if (current.expiresAt <= now)
    throw fail(`root ${current.seq} (key ${current.keyId}) expired at ${iso(current.expiresAt)}`);
  const signingKeys: SigningKeyDoc[] = [];
  for (const env of bundle.signingKeys) {
    if (env.type !== 'signing-key' || !isSignedBy(env, current.publicKey)) continue;
    const p = payloadOf(env, 'signing key');
    if (typeof p.publicKey !== 'string' || !num(p.issuedAt) || !num(p.expiresAt) || !num(p.rootSeq)) continue;
    signingKeys.push({
      publicKey: p.publicKey,
      keyId: keyIdOf(p.publicKey),
      issuedAt: p.issuedAt,
      expiresAt: p.expiresAt,
      rootSeq: p.rootSeq,
    });
  }
  let revoked: string[] = [];
  let revocationsSeq = pinned.revocationsSeq;
  if (bundle.revocations) {
    const env = bundle.revocations;
    if (env.type !== 'revocations' || !isSignedBy(env, current.publicKey))
      throw fail(`revocations: not signed by root ${current.seq}`);
    const p = payloadOf(env, 'revocations');
    if (!num(p.seq) || !Array.isArray(p.keyIds) || !p.keyIds.every((k) => typeof k === 'string'))
      throw fail('revocations: needs seq and keyIds');
    if (p.seq < pinned.revocationsSeq)
      throw fail(`revocations: list ${p.seq} is older than list ${pinned.revocationsSeq} already seen`);
    revoked = p.keyIds as string[];
    revocationsSeq = p.seq;
  } else if (pinned.revocationsSeq > 0) {
    throw fail(`revocations: the bundle has none but list ${pinned.revocationsSeq} was seen`);
  }
  return { root: current, signingKeys, revoked, revocationsSeq };
}

/** pinnedFrom is what to pin after accepting `trust`: its root and revocation list. */
export function pinnedFrom(trust: Trust): PinnedRoot {
  return { seq: trust.root.seq, publicKey: trust.root.publicKey, revocationsSeq: trust.revocationsSeq };
}

/**
 * verifyRelease checks a release's signed metadata against trust at `now`, and that it describes
 * exactly these manifest bytes. Refused, with the reason: an unknown signing key, a revoked or
 * expired one, one not yet valid, expired metadata, a different manifest.
 */
export function verifyRelease(
  env: Envelope,
  manifestBytes: Uint8Array,
  trust: Trust,
  now: number,
): ReleaseDoc {
  if (env.type !== 'release') throw fail('release signature: not a release document');
  const ids = env.signatures.map((s) => s.keyId);
  const key = trust.signingKeys.find((k) => ids.includes(k.keyId) && isSignedBy(env, k.publicKey));
  if (!key) throw fail(`release signature: signed by an unknown key (${ids.join(', ') || 'no signature'})`);
  if (trust.revoked.includes(key.keyId)) throw fail(`release signature: signing key ${key.keyId} is revoked`);
  if (key.expiresAt <= now)
    throw fail(`release signature: signing key ${key.keyId} expired at ${iso(key.expiresAt)}`);
  if (key.issuedAt > now)
    throw fail(`release signature: signing key ${key.keyId} is valid only from ${iso(key.issuedAt)}`);
  const p = payloadOf(env, 'release');
  if (
    typeof p.version !== 'string' ||
    !isVersion(p.version) ||
    typeof p.platform !== 'string' ||
    typeof p.arch !== 'string' ||
    typeof p.minKernel !== 'string' ||
    typeof p.manifestSha256 !== 'string' ||
    !num(p.issuedAt) ||
    !num(p.expiresAt)
  )
    throw fail(
      'release metadata: needs version, platform, arch, minKernel, manifestSha256, issuedAt, expiresAt',
    );
  if (p.expiresAt <= now) throw fail(`release metadata for ${p.version} expired at ${iso(p.expiresAt)}`);
  const sha = createHash('sha256').update(manifestBytes).digest('hex');
  if (sha !== p.manifestSha256) throw fail('release metadata: the manifest does not match its signed hash');
  return p as unknown as ReleaseDoc;
}

/** ExpiryWarning is a root or signing key that expires within the warning period (or has expired). */
export interface ExpiryWarning {
  kind: 'root' | 'signing-key';
  keyId: string;
  expiresAt: number;
  expired: boolean;
  message: string;
}

/** WARN_BEFORE_MS: the server warns 30 days before a root or signing key expires. */
export const WARN_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** expiryWarnings lists the keys of a trust bundle that expire within `warnMs` of `now`. */
export function expiryWarnings(bundle: TrustBundle, now: number, warnMs = WARN_BEFORE_MS): ExpiryWarning[] {
  const out: ExpiryWarning[] = [];
  const roots = bundle.roots.map(rootDoc).sort((a, b) => b.seq - a.seq);
  const root = roots[0];
  const say = (kind: ExpiryWarning['kind'], keyId: string, expiresAt: number) => {
    if (expiresAt - now > warnMs) return;
    const expired = expiresAt <= now;
    const days = Math.ceil((expiresAt - now) / 86_400_000);
    out.push({
      kind,
      keyId,
      expiresAt,
      expired,
      message: expired
        ? `${kind} ${keyId} expired at ${iso(expiresAt)}: agents refuse what it signs; rotate it`
        : `${kind} ${keyId} expires in ${days} days (${iso(expiresAt)}); rotate it before then`,
    });
  };
  if (root) say('root', root.keyId, root.expiresAt);
  let revoked: string[] = [];
  if (bundle.revocations) {
    const p = payloadOf(bundle.revocations, 'revocations');
    if (Array.isArray(p.keyIds)) revoked = p.keyIds as string[];
  }
  // A signing key is worth a warning only while no other usable key outlives the warning period
  // (once a successor is certified, the old key's expiry strands no one).
  const usable: { id: string; expiresAt: number }[] = [];
  for (const env of bundle.signingKeys) {
    const p = payloadOf(env, 'signing key');
    if (typeof p.publicKey !== 'string' || !num(p.expiresAt)) continue;
    const id = keyIdOf(p.publicKey);
    if (revoked.includes(id)) continue;
    if (root && p.rootSeq !== root.seq) continue;
    usable.push({ id, expiresAt: p.expiresAt });
  }
  const covered = usable.some((k) => k.expiresAt - now > warnMs);
  if (usable.length === 0) {
    out.push({
      kind: 'signing-key',
      keyId: '',
      expiresAt: now,
      expired: true,
      message: 'no usable signing key: certify one with the root',
    });
  } else if (!covered) {
    for (const k of usable) say('signing-key', k.id, k.expiresAt);
  }
  return out;
}
