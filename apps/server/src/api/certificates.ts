import { CERT_WARNING_MS, type TlsHealth, tlsHealth } from '../fleet/certificate-health.js';
import type { ApiContext } from './context.js';

/**
 * certificateHealth is the certificate part of `GET /api/v1/health`: the server certificate and
 * the CAs with their expiry, how many active agents hold a certificate that expires within 30
 * days, and a warning for each of them (`warnings` is empty when all is well).
 */
export async function certificateHealth(
  ctx: ApiContext,
): Promise<Partial<TlsHealth> & { agent_certificates_expiring: number; warnings: string[] }> {
  const now = ctx.clock.now();
  const tls = ctx.tls ? tlsHealth(ctx.tls.material, now) : { warnings: [] };
  const expiring = await ctx.storage.countCertificatesExpiring(now + CERT_WARNING_MS);
  const warnings = [...tls.warnings];
  if (expiring > 0)
    warnings.push(
      `${expiring} agent certificate${expiring === 1 ? '' : 's'} expire${expiring === 1 ? 's' : ''} within 30 days: palisade agents list shows which`,
    );
  return { ...tls, agent_certificates_expiring: expiring, warnings };
}
