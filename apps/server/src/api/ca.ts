import { X509Certificate } from 'node:crypto';
import { PalisadeError } from '@palisade/common';
import type { AgentRecord } from '@palisade/storage';
import { tlsHealth } from '../fleet/certificate-health.js';
import { fleetLock } from '../fleet/fleet-lock.js';
import { activateNextCa, introduceNextCa, retirePreviousCa } from '../tls/ca-files.js';
import type { ServerTls } from '../tls/server-tls.js';
import type { ApiContext, ApiRoute } from './context.js';
import { auditRequest } from './route-guard.js';
import { NO_BODY, NO_QUERY, optionalBody } from './schema.js';

const sha = (pem: string) => new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
const active = (a: AgentRecord) => a.revokedAt === null && a.decommissionedAt === null;

function tlsOf(ctx: ApiContext): ServerTls {
  if (!ctx.tls) throw new PalisadeError('unavailable', 'this server process does not manage TLS material');
  return ctx.tls;
}

/** caStatus is the CA rotation state: each CA, and how far the fleet has followed. */
async function caStatus(ctx: ApiContext) {
  const tls = tlsOf(ctx);
  const m = tls.material;
  const now = ctx.clock.now();
  const health = tlsHealth(m, now);
  const byRole = (role: string) => m.cas.find((c) => c.role === role);
  const next = byRole('next');
  const activeCa = byRole('active');
  const previous = byRole('previous');
  const agents = (await ctx.storage.listAgents()).filter(active);
  const nextSha = next ? sha(next.certPem) : undefined;
  const activeSha = activeCa ? sha(activeCa.certPem) : undefined;
  return {
    phase: next ? 'next-ca-introduced' : previous ? 'previous-ca-trusted' : 'single-ca',
    certificate_authorities: health.certificate_authorities,
    warnings: health.warnings,
    agents: {
      active: agents.length,
      // Step 2 waits for these: agents that pin the next CA (they take it at their next check-in).
      pinning_next_ca: nextSha ? agents.filter((a) => a.pinnedCaSha256.includes(nextSha)).length : null,
      // Step 3 waits for these: agents whose certificate the active CA issued (they renew after step 2).
      certificates_from_active_ca: agents.filter((a) => a.certCaSha256 === activeSha).length,
    },
  };
}

const FORCE_BODY = optionalBody({
  force: { type: 'boolean', description: 'true to go on although agents have not followed yet' },
});

/**
 * CA_ROUTES rotate the certificate authority with an overlap (ADR 0015): `rotate` makes the next
 * CA, which agents are given to pin at their next check-in; `activate` makes it sign (the server
 * certificate is re-issued by it at once, agents are asked to renew); `retire` stops trusting the
 * previous CA. Each step refuses while the fleet has not followed (unless `force`), is audited, and
 * takes effect on every listener without a restart.
 */
export const CA_ROUTES: ApiRoute[] = [
  {
    method: 'GET',
    url: '/ca',
    schema: {
      summary: 'The certificate authorities and how far the fleet has followed a rotation',
      querystring: NO_QUERY,
    },
    async handler(_req, ctx) {
      return caStatus(ctx);
    },
  },
  {
    method: 'POST',
    url: '/ca/rotate',
    schema: { summary: 'Introduce the next CA (agents pin it at their next check-in)', body: NO_BODY },
    async handler(req, ctx) {
      const tls = tlsOf(ctx);
      await fleetLock(ctx.storage).run(async () => {
        const pem = await introduceNextCa(tls.dir, ctx.clock.now());
        await tls.check();
        await auditRequest(ctx, req, {
          action: 'ca.rotate',
          targetType: 'ca',
          targetId: sha(pem),
          details: { not_after: new Date(new X509Certificate(pem).validTo).toISOString() },
        });
      });
      return caStatus(ctx);
    },
  },
  {
    method: 'POST',
    url: '/ca/activate',
    schema: { summary: 'Make the next CA the one that signs', body: FORCE_BODY },
    async handler(req, ctx) {
      const tls = tlsOf(ctx);
      const force = (req.body as { force?: boolean } | null)?.force === true;
      await fleetLock(ctx.storage).run(async () => {
        const s = await caStatus(ctx);
        const next = tls.material.cas.find((c) => c.role === 'next');
        if (!next) throw new PalisadeError('conflict', 'there is no next CA to activate; rotate first');
        const behind = s.agents.active - (s.agents.pinning_next_ca ?? 0);
        if (behind > 0 && !force) {
          throw new PalisadeError(
            'conflict',
            `${behind} of ${s.agents.active} active agents do not pin the next CA yet (they take it at their next check-in); wait, or force it (those agents will need to be enrolled again)`,
          );
        }
        activateNextCa(tls.dir);
        await tls.check();
        await auditRequest(ctx, req, {
          action: 'ca.activate',
          targetType: 'ca',
          targetId: sha(next.certPem),
          details: { forced: force, agents_not_pinning: behind },
        });
      });
      return caStatus(ctx);
    },
  },
  {
    method: 'POST',
    url: '/ca/retire',
    schema: { summary: 'Stop trusting the previous CA', body: FORCE_BODY },
    async handler(req, ctx) {
      const tls = tlsOf(ctx);
      const force = (req.body as { force?: boolean } | null)?.force === true;
      await fleetLock(ctx.storage).run(async () => {
        const s = await caStatus(ctx);
        const previous = tls.material.cas.find((c) => c.role === 'previous');
        if (!previous) throw new PalisadeError('conflict', 'there is no previous CA to retire');
        const behind = s.agents.active - s.agents.certificates_from_active_ca;
        if (behind > 0 && !force) {
          throw new PalisadeError(
            'conflict',
            `${behind} of ${s.agents.active} active agents still hold a certificate from the previous CA (they renew at their next check-in); wait, or force it (those agents will need to be enrolled again)`,
          );
        }
        retirePreviousCa(tls.dir);
        await tls.check();
        await auditRequest(ctx, req, {
          action: 'ca.retire',
          targetType: 'ca',
          targetId: sha(previous.certPem),
          details: { forced: force, agents_not_renewed: behind },
        });
      });
      return caStatus(ctx);
    },
  },
];
