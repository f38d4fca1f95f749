// npm run bench:files — upload throughput of a 1 GiB file to the file receiver over loopback
// (a real `palisade server` process; the uploader is this process, running the agent's
// collectFile), side by side with this machine's raw limit in the same run: a plain Node TLS
// socket copying the same bytes to a null sink, and sha256 of the file. Peak RSS of both sides.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import { collectFile } from '@palisade/agent';
import { silentLogger } from '@palisade/common';
import { SimulatedAgent } from '@palisade/testkit';
import { rssMb } from './proc-stats.js';
import { startServerProcess } from './server-proc.js';
import { printTable, progress } from './table.js';
import { stopChild } from './agent-proc.js';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_FILES_MIB ?? 1024);

async function sha256Of(path: string): Promise<{ s: number; hex: string }> {
  const t0 = performance.now();
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(c as Buffer);
  const hex = h.digest('hex');
  return { s: (performance.now() - t0) / 1000, hex };
}

/** rawTls copies the file over a TLS socket on loopback to a sink that drops it; seconds. */
async function rawTls(path: string, key: string, cert: string): Promise<number> {
  const server = createServer({ key, cert }, (s) => {
    s.on('data', () => {});
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const c = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const rs = createReadStream(path, { highWaterMark: 4 * MiB });
      rs.pipe(c);
    });
    c.on('error', reject);
    c.on('data', () => {});
    c.on('close', () => resolve());
  });
  const s = (performance.now() - t0) / 1000;
  server.close();
  return s;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-files-'));
  const dataDir = join(dir, 'server');
  const stateDir = join(dir, 'agent');
  const file = join(dir, 'random.bin');
  try {
    progress(`writing ${SIZE_MIB} MiB of random bytes`);
    const fd = openSync(file, 'w');
    for (let i = 0; i < SIZE_MIB; i++) writeSync(fd, randomBytes(MiB));
    closeSync(fd);
    const srv = await startServerProcess(dataDir);
    const agent = await SimulatedAgent.register({
      registrationUrl: srv.client.registrationUrl,
      registrationKey: srv.key,
      caPem: srv.ca,
    });
    const filesUrl = agent.identity.endpoints?.filesUrl;
    if (!filesUrl) throw new Error('the server named no file receiver');
    const pid = srv.child.pid!;
    const before = { server: rssMb(pid).rss, agent: process.memoryUsage().rss / MiB };
    let agentPeak = before.agent;
    const tick = setInterval(() => {
      agentPeak = Math.max(agentPeak, process.memoryUsage().rss / MiB);
    }, 20);
    progress('uploading through the file receiver');
    const t0 = performance.now();
    const r = await collectFile({
      commandId: randomUUID(),
      path: file,
      maxBytes: SIZE_MIB * MiB,
      filesUrl: filesUrl.replace('localhost', '127.0.0.1'),
      tls: { ca: srv.ca, cert: agent.identity.certPem, key: agent.identity.keyPem },
      stateDir,
      logger: silentLogger,
    });
    const uploadS = (performance.now() - t0) / 1000;
    clearInterval(tick);
    const serverPeak = rssMb(pid).peak;
    await stopChild(srv.child);
    progress('measuring the raw limit: TLS copy to a null sink, sha256 of the file');
    const tlsS = await rawTls(
      file,
      readFileSync(join(dataDir, 'tls', 'server-key.pem'), 'utf8'),
      readFileSync(join(dataDir, 'tls', 'server.pem'), 'utf8'),
    );
    const sha = await sha256Of(file);
    const shaS = sha.s;
    const mibps = (s: number) => SIZE_MIB / s;
    // An upload must both move the bytes over TLS and hash them: the raw limit is the two in series.
    const rawS = tlsS + shaS;
    printTable(
      `file upload, ${SIZE_MIB} MiB over loopback (load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')})`,
      ['measurement', 'seconds', 'MiB/s'],
      [
        ['upload via file receiver', uploadS.toFixed(2), mibps(uploadS).toFixed(0)],
        ['raw: TLS copy to null sink', tlsS.toFixed(2), mibps(tlsS).toFixed(0)],
        ['raw: sha256 of the file', shaS.toFixed(2), mibps(shaS).toFixed(0)],
        ['raw limit (TLS + sha256)', rawS.toFixed(2), mibps(rawS).toFixed(0)],
      ],
    );
    printTable(
      'peak RSS, MiB',
      ['side', 'before', 'peak', 'growth'],
      [
        ['server', before.server.toFixed(0), serverPeak.toFixed(0), (serverPeak - before.server).toFixed(0)],
        [
          'agent (uploader)',
          before.agent.toFixed(0),
          agentPeak.toFixed(0),
          (agentPeak - before.agent).toFixed(0),
        ],
      ],
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'files',
        mib: SIZE_MIB,
        sha256_ok: r.sha256 === sha.hex,
        upload_mibps: Math.round(mibps(uploadS)),
        raw_limit_mibps: Math.round(mibps(rawS)),
        raw_tls_mibps: Math.round(mibps(tlsS)),
        sha256_mibps: Math.round(mibps(shaS)),
        of_raw_pct: Math.round((100 * rawS) / uploadS),
        server_rss_growth_mib: Math.round(serverPeak - before.server),
        agent_rss_growth_mib: Math.round(agentPeak - before.agent),
        load1: Number(loadavg()[0]?.toFixed(2)),
      })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
