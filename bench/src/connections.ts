// bench:connections — how many simulated agents one `palisade server` process holds connected
// over mutual-TLS WebSocket, with heartbeats, liveness pings answered and check-ins going on.
// Agents are registered for real (one shared key pair, one certificate each), then connected in
// steps from several loopback source addresses (127.0.0.x) so the ephemeral port range of one
// address is not the limit. Both processes get a raised open-file limit (re-exec under prlimit).
// Prints a table per step and ends with one JSON line.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent as HttpsAgent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SecureContext, createSecureContext } from 'node:tls';
import { parseArgs } from 'node:util';
import {
  CheckInRequestSchema,
  ClientFrameSchema,
  PROTOCOL_VERSION,
  RegisterRequestSchema,
  RegisterResponseSchema,
  ServerFrameSchema,
  create,
  fromBinary,
  toBinary,
} from '@palisade/protocol';
import { proofText, simulatedHost } from '@palisade/testkit';
import { LightWs } from './light-ws.js';
import { type BenchServer, startServerProcess } from './server-proc.js';
import { cpuSeconds, percentile, rssMb } from './proc-stats.js';
import { printTable, progress } from './table.js';

const { values: opts } = parseArgs({
  options: {
    agents: { type: 'string', default: '50000' },
    steps: { type: 'string', default: '5' },
    hold: { type: 'string', default: '30' },
    'checkin-rate': { type: 'string', default: '100' },
    'per-address': { type: 'string', default: '10000' },
    deadline: { type: 'string', default: '1200' },
  },
});
const REQUESTED = Number(opts.agents);
const STEPS = Number(opts.steps);
const HOLD_S = Number(opts.hold);
const CHECKIN_RATE = Number(opts['checkin-rate']);
const PER_ADDRESS = Number(opts['per-address']);
const DEADLINE = Date.now() + Number(opts.deadline) * 1000;
const HEARTBEAT_S = 30;

function openFileLimits(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const f = line?.split(/\s+/) ?? [];
  const n = (v: string | undefined) => (v === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(v ?? 0));
  return { soft: n(f[3]), hard: n(f[4]) };
}

// One descriptor per connection on each side, plus check-ins and the server's own files. Without
// CAP_SYS_RESOURCE the hard limit cannot be raised: then it is the ceiling, and it is reported.
const limits = openFileLimits();
const NOFILE = Math.min(REQUESTED + 10_000, limits.hard);
const FD_RESERVE = 400;
const TARGET = Math.min(REQUESTED, NOFILE - FD_RESERVE);
const LIMITED_BY =
  TARGET < REQUESTED
    ? `open-file limit: RLIMIT_NOFILE hard limit ${limits.hard} per process (cannot be raised here), ${FD_RESERVE} kept for check-ins and files`
    : null;

// setrlimit is not in Node: run this same script again under prlimit (fixed argument array).
if (limits.soft < NOFILE && !process.env.PALISADE_BENCH_PRLIMIT) {
  const r = spawnSync(
    'prlimit',
    [
      `--nofile=${NOFILE}:${NOFILE}`,
      '--',
      process.execPath,
      ...process.execArgv,
      process.argv[1]!,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env: { ...process.env, PALISADE_BENCH_PRLIMIT: '1' } },
  );
  process.exit(r.status ?? 1);
}
if (LIMITED_BY) progress(`${REQUESTED} agents requested, ${TARGET} attempted: ${LIMITED_BY}`);

function startServer(dataDir: string): Promise<BenchServer> {
  return startServerProcess(dataDir, {
    wrapper: ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, '--'],
    nodeFlags: ['--max-old-space-size=8192'],
    args: ['--heartbeat-interval', String(HEARTBEAT_S)],
  });
}

function post(
  url: string,
  body: Uint8Array,
  o: { agent?: HttpsAgent; ca?: string; secureContext?: SecureContext },
): Promise<{ status: number; body: Buffer }> {
  return new Promise((res, rej) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        timeout: 30_000,
        ...(o.agent ? { agent: o.agent } : { agent: false }),
        ...(o.ca ? { ca: o.ca } : {}),
        ...(o.secureContext ? { secureContext: o.secureContext, servername: 'localhost' } : {}),
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end(body);
  });
}

/** pool runs `fn(i)` for i in [from, to) with at most `n` in flight. */
async function pool(from: number, to: number, n: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < to && Date.now() < DEADLINE) await fn(next++);
    }),
  );
}

const dataDir = mkdtempSync(join(tmpdir(), 'palisade-bench-conn-'));
const srv = await startServer(dataDir);
const pid = srv.child.pid!;
const telemetry = new URL(srv.client.telemetryUrl);
const t0 = Date.now();

// 1. Register TARGET agents: one key pair shared (the server issues a certificate per agent).
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = publicKey.export({ type: 'spki', format: 'der' });
const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const certs: string[] = new Array(TARGET);
const regAgent = new HttpsAgent({ keepAlive: true, maxSockets: 16, ca: srv.ca });
let regFailures = 0;
let regError = '';
await pool(0, TARGET, 16, async (i) => {
  const host = simulatedHost({ hostname: `conn-${i}` });
  const req = create(RegisterRequestSchema, {
    protocolVersion: PROTOCOL_VERSION,
    registrationKey: srv.key,
    host,
    publicKeySpki: spki,
    proofOfPossession: sign('sha256', Buffer.from(proofText(srv.key, host.machineId, spki)), privateKey),
  });
  try {
    const r = await post(`${srv.client.registrationUrl}/v1/register`, toBinary(RegisterRequestSchema, req), {
      agent: regAgent,
      ca: srv.ca,
    });
    if (r.status !== 200) throw new Error(`HTTP ${r.status} ${r.body.toString().slice(0, 200)}`);
    certs[i] = fromBinary(RegisterResponseSchema, r.body).certificatePem;
  } catch (err) {
    regFailures++;
    regError = (err as Error).message;
  }
  if (i % 5000 === 4999) progress(`registered ${i + 1}`);
});
regAgent.destroy();
const registered = certs.filter(Boolean).length;
const registerS = (Date.now() - t0) / 1000;
progress(
  `registered ${registered} agents in ${registerS.toFixed(0)} s (${regFailures} failures ${regError})`,
);

// 2. Connect in steps; heartbeats every HEARTBEAT_S per agent, spread evenly; pings answered.
const conns: LightWs[] = [];
const contexts: SecureContext[] = [];
const hello = toBinary(
  ClientFrameSchema,
  create(ClientFrameSchema, {
    kind: { case: 'hello', value: { protocolVersion: PROTOCOL_VERSION, agentVersion: '0.1.0-conn' } },
  }),
);
let heartbeats = 0;
let hbCursor = 0;
const hbTimer = setInterval(() => {
  const frame = toBinary(
    ClientFrameSchema,
    create(ClientFrameSchema, { kind: { case: 'heartbeat', value: { timeMs: BigInt(Date.now()) } } }),
  );
  const k = Math.ceil(conns.length / (HEARTBEAT_S * 10));
  for (let j = 0; j < k && conns.length; j++) {
    const c = conns[hbCursor++ % conns.length]!;
    if (!c.closed) {
      c.send(frame);
      heartbeats++;
    }
  }
}, 100);
const errors = new Map<string, number>();
let connectFailures = 0;
const baseRss = rssMb(pid).rss;
const rows: (string | number)[][] = [];
let cpuBefore = cpuSeconds(pid);
let maxConnected = 0;
let maxRss = baseRss;
let stopReason = LIMITED_BY ?? 'target reached';
for (let step = 1; step <= STEPS; step++) {
  const upTo = Math.min(registered, Math.round((TARGET * step) / STEPS));
  const from = conns.length;
  const s0 = Date.now();
  const failuresBefore = connectFailures;
  await pool(from, upTo, 64, async (i) => {
    const cert = certs[i];
    if (!cert) return;
    const ctx = createSecureContext({ key: keyPem, cert, ca: srv.ca });
    const ws = new LightWs();
    try {
      const first = await ws.open(
        {
          host: '127.0.0.1',
          port: Number(telemetry.port),
          path: telemetry.pathname,
          localAddress: `127.0.0.${2 + Math.floor(i / PER_ADDRESS)}`,
          secureContext: ctx,
          timeoutMs: 30_000,
        },
        hello,
      );
      if (fromBinary(ServerFrameSchema, first).kind.case !== 'welcome') throw new Error('no Welcome');
      conns.push(ws);
      contexts.push(ctx);
    } catch (err) {
      connectFailures++;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message.slice(0, 60);
      errors.set(code, (errors.get(code) ?? 0) + 1);
    }
  });
  await new Promise((r) => setTimeout(r, 2000));
  const open = conns.filter((c) => !c.closed).length;
  const rss = rssMb(pid).rss;
  const cpu = cpuSeconds(pid);
  maxConnected = Math.max(maxConnected, open);
  maxRss = Math.max(maxRss, rss);
  rows.push([
    upTo,
    open,
    ((upTo - from) / ((Date.now() - s0 - 2000) / 1000)).toFixed(0),
    rss.toFixed(0),
    open ? (((rss - baseRss) * 1024) / open).toFixed(1) : '-',
    (cpu - cpuBefore).toFixed(1),
    (process.memoryUsage().rss / 1048576).toFixed(0),
    connectFailures - failuresBefore,
  ]);
  cpuBefore = cpu;
  progress(`step ${step}: ${open} connected, server RSS ${rss.toFixed(0)} MiB`);
  if (connectFailures - failuresBefore > (upTo - from) * 0.01) {
    stopReason = `connect failures: ${[...errors].map(([k, v]) => `${k} ×${v}`).join(', ')}`;
    break;
  }
  if (Date.now() > DEADLINE) {
    stopReason = 'deadline';
    break;
  }
}

// 3. Hold: heartbeats continue, liveness pings are answered, check-ins at CHECKIN_RATE/s.
const checkinLat: number[] = [];
let checkinFailures = 0;
const holdEnd = Date.now() + HOLD_S * 1000;
const cpuHold0 = cpuSeconds(pid);
const checkinBody = toBinary(
  CheckInRequestSchema,
  create(CheckInRequestSchema, { protocolVersion: PROTOCOL_VERSION }),
);
const inflight = new Set<Promise<void>>();
for (let k = 0; Date.now() < holdEnd; k++) {
  const due = (k / CHECKIN_RATE) * 1000 - (HOLD_S * 1000 - (holdEnd - Date.now()));
  if (due > 0) await new Promise((r) => setTimeout(r, due));
  if (!contexts.length || inflight.size > 200) continue;
  const ctx = contexts[Math.floor(Math.random() * contexts.length)]!;
  const c0 = performance.now();
  const p = post(`${srv.client.registrationUrl}/v1/checkin`, checkinBody, { secureContext: ctx }).then(
    (r) => {
      if (r.status === 200) checkinLat.push(performance.now() - c0);
      else checkinFailures++;
    },
    () => {
      checkinFailures++;
    },
  );
  inflight.add(p);
  void p.finally(() => inflight.delete(p));
}
await Promise.all(inflight);
const held = conns.filter((c) => !c.closed).length;
const holdCpu = cpuSeconds(pid) - cpuHold0;
const finalRss = rssMb(pid);
clearInterval(hbTimer);
checkinLat.sort((a, b) => a - b);

printTable(
  `bench:connections — one server process, ${TARGET} of ${REQUESTED} agents attempted (heartbeat every ${HEARTBEAT_S} s)`,
  [
    'agents',
    'connected',
    'conn/s',
    'server RSS MiB',
    'KiB/conn',
    'server CPU s',
    'loadgen RSS MiB',
    'failures',
  ],
  rows,
);
printTable(
  `hold ${HOLD_S} s`,
  [
    'held',
    'heartbeats sent',
    'check-ins',
    'check-in p50 ms',
    'check-in p99 ms',
    'check-in failures',
    'server CPU %',
  ],
  [
    [
      held,
      heartbeats,
      checkinLat.length,
      percentile(checkinLat, 50).toFixed(1),
      percentile(checkinLat, 99).toFixed(1),
      checkinFailures,
      ((holdCpu / HOLD_S) * 100).toFixed(0),
    ],
  ],
);
process.stdout.write(
  `registration: ${registered} agents in ${registerS.toFixed(0)} s; stop: ${stopReason}; peak server RSS ${finalRss.peak.toFixed(0)} MiB\n`,
);
for (const c of conns) c.close();
srv.child.kill('SIGTERM');
await new Promise((r) => {
  const t = setTimeout(() => {
    srv.child.kill('SIGKILL');
    r(undefined);
  }, 30_000);
  srv.child.once('exit', () => {
    clearTimeout(t);
    r(undefined);
  });
});
rmSync(dataDir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({
    bench: 'connections',
    requested: REQUESTED,
    target: TARGET,
    registered,
    maxConnected,
    heldAfterHold: held,
    serverRssMiB: Math.round(maxRss),
    serverRssKiBPerConnection: maxConnected
      ? Number((((maxRss - baseRss) * 1024) / maxConnected).toFixed(1))
      : null,
    heartbeats,
    checkins: checkinLat.length,
    checkinP50Ms: Number(percentile(checkinLat, 50).toFixed(1)),
    checkinP99Ms: Number(percentile(checkinLat, 99).toFixed(1)),
    checkinFailures,
    connectFailures,
    stop: stopReason,
  })}\n`,
);
process.exit(0);
