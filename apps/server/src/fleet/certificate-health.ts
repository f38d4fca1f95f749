import { X509Certificate } from 'node:crypto';
import { DAY_MS } from '@palisade/common';
import type { AgentRecord } from '@palisade/storage';
import type { TlsMaterial } from '../tls/tls-files.js';

/** CERT_WARNING_MS: agent and server certificates are flagged this long before they expire. */
export const CERT_WARNING_MS = 30 * DAY_MS;
/**
 * CA_WARNING_MS: a CA is flagged a year before it expires, because rotating it takes an overlap in
 * which every agent checks in and pins the next CA (ADR 0015).
 */
export const CA_WARNING_MS = 365 * DAY_MS;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const daysLeft = (notAfter: number, now: number) => Math.floor((notAfter - now) / DAY_MS);

/** CertificateView is how the API shows one certificate's expiry. */
export interface CertificateView {
  not_after: string | null;
  days_left: number | null;
  /** A sentence when it expires within the warning period (or has expired); null otherwise. */
  warning: string | null;
}

function view(
  what: string,
  notAfter: number | null,
  now: number,
  warnMs: number,
  hint: string,
): CertificateView {
  if (notAfter === null) return { not_after: null, days_left: null, warning: null };
  const left = daysLeft(notAfter, now);
  let warning: string | null = null;
  if (notAfter <= now) warning = `${what} expired on ${iso(notAfter)}; ${hint}`;
  else if (notAfter - now <= warnMs) warning = `${what} expires in ${left} days (${iso(notAfter)}); ${hint}`;
  return { not_after: iso(notAfter), days_left: left, warning };
}

/**
 * agentCertificateView is an agent's certificate as the API shows it: expiry, a renewal issued and
 * not yet used, and a warning within 30 days of expiry (renewal starts at two thirds of the
 * certificate's life, so a warning means renewal has been failing).
 */
export function agentCertificateView(
  a: AgentRecord,
  now: number,
): CertificateView & { renewal_pending: boolean; pending_not_after: string | null } {
  const active = a.revokedAt === null && a.decommissionedAt === null;
  const v = view(
    'agent certificate',
    a.certNotAfter,
    now,
    CERT_WARNING_MS,
    'the agent renews it over mutual TLS at two thirds of its life: is it running and can it reach the server?',
  );
  return {
    ...v,
    warning: active ? v.warning : null,
    renewal_pending: a.pendingCert !== null,
    pending_not_after: iso(a.pendingCert?.notAfter ?? null),
  };
}

/** TlsHealth is the expiry of the server's own certificate and of its CAs, with warnings. */
export interface TlsHealth {
  server_certificate: CertificateView;
  certificate_authorities: (CertificateView & { role: string; subject: string; sha256: string })[];
  warnings: string[];
}

/** tlsHealth describes the certificates a server process uses now (health endpoint, `agents list`). */
export function tlsHealth(m: TlsMaterial, now: number): TlsHealth {
  const server = view(
    'server certificate',
    m.serverCertNotAfter,
    now,
    CERT_WARNING_MS,
    m.serverCertSource === 'self-made'
      ? 'the server renews it at two thirds of its life: see the server log'
      : 'replace the --tls-cert/--tls-key files; the server picks them up without a restart',
  );
  const cas = m.cas.map((c) => {
    const cert = new X509Certificate(c.certPem);
    const watched = c.role === 'active' || c.role === 'operator';
    const v = view(
      `${c.role} CA "${cert.subject.replace(/\n/g, ', ')}"`,
      Date.parse(cert.validTo),
      now,
      CA_WARNING_MS,
      c.role === 'operator'
        ? 'rotate it and give agents both CAs in --ca-cert'
        : 'rotate it: palisade ca rotate',
    );
    return {
      role: c.role,
      subject: cert.subject.replace(/\n/g, ', '),
      sha256: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
      ...v,
      warning: watched ? v.warning : null,
    };
  });
  const warnings = [server.warning, ...cas.map((c) => c.warning)].filter((w): w is string => w !== null);
  return { server_certificate: server, certificate_authorities: cas, warnings };
}
