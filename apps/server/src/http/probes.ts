import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { healthOf } from '../api/health.js';
import type { ApiContext } from '../api/context.js';
import { NO_QUERY } from '../api/schema.js';

/** ReadinessCheck is one line of /readyz: its name, whether it passed, and why not. */
export interface ReadinessCheck {
  name: 'storage_writable' | 'ingest_writers' | 'certificates';
  ok: boolean;
  detail: string;
}

/**
 * dataDirWritable writes, fsyncs and removes a small file in the data directory (named
 * `.readyz-<random>`, gone before the answer): a read-only or full file system fails it.
 */
function dataDirWritable(dataDir: string): ReadinessCheck {
  const path = join(dataDir, `.readyz-${randomBytes(6).toString('hex')}`);
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, 'ok\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      unlinkSync(path);
    }
    return { name: 'storage_writable', ok: true, detail: `${dataDir} takes writes` };
  } catch (err) {
    return {
      name: 'storage_writable',
      ok: false,
      detail: `cannot write in ${dataDir}: ${(err as Error).message}`,
    };
  }
}

/**
 * readiness runs the checks of /readyz: the data directory takes a durable write and the storage
 * writer runs (storage writable), no telemetry listener's group commits are failing (writer
 * alive), the server certificate and the active CA are within their validity (certificates).
 */
export function readiness(ctx: ApiContext, dataDir: string | undefined): ReadinessCheck[] {
  const checks: ReadinessCheck[] = [];
  const store = ctx.storage.health();
  const disk = dataDir
    ? dataDirWritable(dataDir)
    : { name: 'storage_writable' as const, ok: true, detail: '' };
  checks.push(
    store.writer !== 'running'
      ? {
          name: 'storage_writable',
          ok: false,
          detail: `storage writer is ${store.writer}${store.lastError ? `: ${store.lastError}` : ''}`,
        }
      : disk.ok
        ? {
            name: 'storage_writable',
            ok: true,
            detail: `storage writer running${disk.detail ? `; ${disk.detail}` : ''}`,
          }
        : disk,
  );
  const { failing, body } = healthOf(ctx);
  const ingest = body.ingest as { last_error: string | null; failing_since: number | null };
  checks.push(
    failing
      ? {
          name: 'ingest_writers',
          ok: false,
          detail: `storing batches fails since ${new Date(ingest.failing_since ?? 0).toISOString()}: ${ingest.last_error ?? 'unknown error'}`,
        }
      : { name: 'ingest_writers', ok: true, detail: 'group-commit writers are storing' },
  );
  checks.push(certificatesValid(ctx));
  return checks;
}

function certificatesValid(ctx: ApiContext): ReadinessCheck {
  if (!ctx.tls) return { name: 'certificates', ok: true, detail: 'no TLS material in this process' };
  const m = ctx.tls.material;
  const now = ctx.clock.now();
  if (m.serverCertNotAfter !== null && m.serverCertNotAfter <= now)
    return {
      name: 'certificates',
      ok: false,
      detail: `server certificate expired on ${new Date(m.serverCertNotAfter).toISOString()}`,
    };
  return { name: 'certificates', ok: true, detail: 'server certificate is valid' };
}

/**
 * mountProbes adds the orchestrator probes beside /api/v1/health: `GET /healthz` (liveness: the
 * process answers; 200 always) and `GET /readyz` (200 when every readiness check passes, 503 with
 * the failing ones named otherwise). Both are public (ROUTE_ROLES) and say nothing about the fleet.
 */
export function mountProbes(app: FastifyInstance, ctx: ApiContext, dataDir: string | undefined): void {
  const started = Date.now();
  app.route({
    method: 'GET',
    url: '/healthz',
    schema: { querystring: NO_QUERY },
    handler: async (_req, reply) =>
      reply.code(200).send({ status: 'alive', uptime_s: Math.floor((Date.now() - started) / 1000) }),
  });
  app.route({
    method: 'GET',
    url: '/readyz',
    schema: { querystring: NO_QUERY },
    handler: async (_req, reply) => {
      const checks = readiness(ctx, dataDir);
      const failing = checks.filter((c) => !c.ok).map((c) => c.name);
      return reply
        .code(failing.length ? 503 : 200)
        .send({ status: failing.length ? 'not_ready' : 'ready', failing, checks });
    },
  });
}
