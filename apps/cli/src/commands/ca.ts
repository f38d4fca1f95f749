import { type ApiTarget, apiCall } from '../client.js';
import { printJson } from '../output.js';
import { formatTable } from '../table.js';

interface CaStatus {
  phase: string;
  certificate_authorities: {
    role: string;
    subject: string;
    sha256: string;
    not_after: string;
    days_left: number;
  }[];
  warnings: string[];
  agents: { active: number; pinning_next_ca: number | null; certificates_from_active_ca: number };
}

const NEXT_STEP: Record<string, string> = {
  'single-ca': 'to rotate: palisade ca rotate',
  'next-ca-introduced':
    'next: wait until every active agent pins the next CA (PINNING NEXT = ACTIVE), then palisade ca activate',
  'previous-ca-trusted':
    'next: wait until every active agent renewed from the active CA (FROM ACTIVE = ACTIVE), then palisade ca retire',
};

function print(s: CaStatus): void {
  const rows = s.certificate_authorities.map((c) => [
    c.role,
    c.subject,
    c.sha256.slice(0, 16),
    c.not_after,
    String(c.days_left),
  ]);
  process.stdout.write(`${formatTable(['ROLE', 'SUBJECT', 'SHA256', 'NOT AFTER', 'DAYS LEFT'], rows)}\n`);
  const a = s.agents;
  process.stdout.write(
    `active agents: ${a.active}; pinning the next CA: ${a.pinning_next_ca ?? '-'}; certificate from the active CA: ${a.certificates_from_active_ca}\n`,
  );
  for (const w of s.warnings) process.stdout.write(`warning: ${w}\n`);
  process.stdout.write(`${NEXT_STEP[s.phase] ?? ''}\n`);
}

/** caCommand is `palisade ca status|rotate|activate|retire [--force]` (ADR 0015). */
export async function caCommand(
  target: ApiTarget,
  sub: string,
  force: boolean,
  json: boolean,
): Promise<void> {
  const s =
    sub === 'status'
      ? await apiCall<CaStatus>(target, 'GET', '/ca')
      : await apiCall<CaStatus>(target, 'POST', `/ca/${sub}`, sub === 'rotate' ? {} : force ? { force } : {});
  if (json) return printJson(s);
  print(s);
}
