// Test-only program: the services and probes of one NetLab host, run inside its namespace by
// LabNode (lab-node-client.linux.ts). Flags start services: a TCP echo (--tcp PORT), a UDP echo
// (--udp PORT) and a DNS responder on UDP and TCP (--dns PORT, answers --record NAME=IP[,IP...]
// for A and AAAA). Probes arrive on stdin as JSON lines ({id, op, ...}) and are answered on
// stdout ({id, ok, ...}); they travel over pipes, so isolating the host does not cut them.
import { type Socket as DgramSocket, createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIPv6, type Socket, connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    tcp: { type: 'string' },
    udp: { type: 'string' },
    dns: { type: 'string' },
    record: { type: 'string', multiple: true },
  },
});

const records = new Map<string, string[]>();
for (const r of values.record ?? []) {
  const [name, ips] = r.split('=');
  if (name && ips) records.set(name.toLowerCase(), ips.split(','));
}

function out(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

// --- services -----------------------------------------------------------------------------------

async function startServices(): Promise<void> {
  const waits: Promise<void>[] = [];
  if (values.tcp) {
    const srv = createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    waits.push(new Promise((r) => srv.listen({ port: Number(values.tcp), host: '::', ipv6Only: false }, r)));
  }
  if (values.udp) {
    const u = createSocket({ type: 'udp6', ipv6Only: false });
    u.on('message', (m, rinfo) => u.send(m, rinfo.port, rinfo.address));
    waits.push(new Promise((r) => u.bind(Number(values.udp), '::', r)));
  }
  if (values.dns) {
    const port = Number(values.dns);
    const u = createSocket({ type: 'udp6', ipv6Only: false });
    u.on('message', (m, rinfo) => {
      const a = dnsAnswer(m);
      if (a) u.send(a, rinfo.port, rinfo.address);
    });
    waits.push(new Promise((r) => u.bind(port, '::', r)));
    const t = createServer((s) => {
      s.on('error', () => {});
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + q.length);
          const a = dnsAnswer(q);
          if (a) {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(a.length);
            s.write(Buffer.concat([len, a]));
          }
        }
      });
    });
    waits.push(new Promise((r) => t.listen({ port, host: '::', ipv6Only: false }, r)));
  }
  await Promise.all(waits);
}

/** dnsAnswer answers one DNS query from `records` (A and AAAA; NXDOMAIN for other names). */
function dnsAnswer(q: Buffer): Buffer | undefined {
  if (q.length < 17) return undefined;
  let off = 12;
  const labels: string[] = [];
  while (off < q.length && q[off] !== 0) {
    const len = q[off]!;
    labels.push(q.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  off += 1;
  if (off + 4 > q.length) return undefined;
  const qtype = q.readUInt16BE(off);
  const question = q.subarray(12, off + 4);
  const name = labels.join('.').toLowerCase();
  const ips = records.get(name);
  const wanted = (ips ?? []).filter((ip) => (qtype === 28 ? isIPv6(ip) : qtype === 1 ? !isIPv6(ip) : false));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.readUInt16BE(0), 0);
  header.writeUInt16BE(ips ? 0x8180 : 0x8183, 2); // response, recursion available; NXDOMAIN when unknown
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(wanted.length, 6);
  const answers = wanted.map((ip) => {
    const rdata = qtype === 28 ? ipv6Bytes(ip) : Buffer.from(ip.split('.').map(Number));
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(5, 6); // a short TTL: tests change records
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...answers]);
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) b.writeUInt16BE(Number.parseInt(g || '0', 16), i * 2);
  return b;
}

function dnsQuery(name: string, type: 'A' | 'AAAA'): Buffer {
  const labels = name
    .split('.')
    .map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const tail = Buffer.from([0, 0, type === 'AAAA' ? 28 : 1, 0, 1]);
  return Buffer.concat([header, ...labels, tail]);
}

function answerCount(a: Buffer): number {
  return a.length >= 12 ? a.readUInt16BE(6) : 0;
}

// --- probes -------------------------------------------------------------------------------------

type Probe = { id: number; op: string } & Record<string, unknown>;
const held = new Map<number, { sock: Socket; error: string | null; closed: boolean }>();
let nextHold = 1;

function withTimeout<T>(ms: number, p: (done: (v: T) => void) => void, onTimeout: T): Promise<T> {
  return new Promise((resolve) => {
    let finished = false;
    const done = (v: T) => {
      if (finished) return;
      finished = true;
      clearTimeout(t);
      resolve(v);
    };
    const t = setTimeout(() => done(onTimeout), ms);
    p(done);
  });
}

type Result = { ok: boolean; error?: string } & Record<string, unknown>;

function tcpProbe(host: string, port: number, ms: number): Promise<Result> {
  return withTimeout<Result>(
    ms,
    (done) => {
      const s = connect({ host, port });
      s.on('connect', () => s.write('ping\n'));
      s.on('data', () => {
        done({ ok: true });
        s.destroy();
      });
      s.on('error', (e) => done({ ok: false, error: e.message }));
      setTimeout(() => s.destroy(), ms).unref();
    },
    { ok: false, error: 'timeout' },
  );
}

function udpProbe(host: string, port: number, ms: number): Promise<Result> {
  const u: DgramSocket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  return withTimeout<Result>(
    ms,
    (done) => {
      u.on('message', () => done({ ok: true }));
      u.on('error', (e) => done({ ok: false, error: e.message }));
      u.send('ping', port, host);
    },
    { ok: false, error: 'timeout' },
  ).finally(() => u.close());
}

function dnsProbe(
  server: string,
  name: string,
  type: 'A' | 'AAAA',
  tcp: boolean,
  ms: number,
): Promise<Result> {
  const q = dnsQuery(name, type);
  if (!tcp) {
    const u = createSocket(isIPv6(server) ? 'udp6' : 'udp4');
    return withTimeout<Result>(
      ms,
      (done) => {
        u.on('message', (m) => done({ ok: true, answers: answerCount(m) }));
        u.on('error', (e) => done({ ok: false, error: e.message }));
        u.send(q, 53, server);
      },
      { ok: false, error: 'timeout' },
    ).finally(() => u.close());
  }
  return withTimeout<Result>(
    ms,
    (done) => {
      const s = connect({ host: server, port: 53 });
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      s.on('connect', () => s.write(Buffer.concat([len, q])));
      s.on('data', (d: Buffer) => {
        done({ ok: true, answers: answerCount(d.subarray(2)) });
        s.destroy();
      });
      s.on('error', (e) => done({ ok: false, error: e.message }));
      setTimeout(() => s.destroy(), ms).unref();
    },
    { ok: false, error: 'timeout' },
  );
}

async function handle(p: Probe): Promise<Result> {
  const ms = Number(p.timeoutMs ?? 1000);
  switch (p.op) {
    case 'tcp':
      return tcpProbe(String(p.host), Number(p.port), ms);
    case 'udp':
      return udpProbe(String(p.host), Number(p.port), ms);
    case 'connect':
      return withTimeout<Result>(
        ms,
        (done) => {
          const s = connect({ host: String(p.host), port: Number(p.port) });
          s.on('connect', () => {
            done({ ok: true });
            s.destroy();
          });
          s.on('error', (e) => done({ ok: false, error: e.message }));
          setTimeout(() => s.destroy(), ms).unref();
        },
        { ok: false, error: 'timeout' },
      );
    case 'dns':
      return dnsProbe(String(p.server), String(p.name), p.type === 'AAAA' ? 'AAAA' : 'A', p.tcp === true, ms);
    case 'lookup':
      try {
        const r = await lookup(String(p.name), { all: true });
        return { ok: true, addresses: r.map((a) => a.address) };
      } catch (err) {
        return { ok: false, error: (err as Error).message };
      }
    case 'hold': {
      const r = await withTimeout<Result>(
        ms,
        (done) => {
          const sock = connect({ host: String(p.host), port: Number(p.port) });
          const id = nextHold++;
          const entry = { sock, error: null as string | null, closed: false };
          sock.on('error', (e) => {
            entry.error = (e as NodeJS.ErrnoException).code ?? e.message;
            done({ ok: false, error: e.message });
          });
          sock.on('close', () => {
            entry.closed = true;
          });
          sock.on('connect', () => {
            held.set(id, entry);
            done({ ok: true, hold: id });
          });
        },
        { ok: false, error: 'timeout' },
      );
      return r;
    }
    case 'exchange': {
      const h = held.get(Number(p.hold));
      if (!h) return { ok: false, error: 'no such held connection' };
      if (h.closed || h.sock.destroyed) return { ok: false, error: `closed (${h.error ?? 'no error'})` };
      return withTimeout<Result>(
        ms,
        (done) => {
          const onData = () => {
            h.sock.off('data', onData);
            done({ ok: true });
          };
          h.sock.on('data', onData);
          h.sock.once('close', () => done({ ok: false, error: `closed (${h.error ?? 'no error'})` }));
          h.sock.write('x\n');
        },
        { ok: false, error: 'timeout' },
      );
    }
    case 'held': {
      const h = held.get(Number(p.hold));
      if (!h) return { ok: false, error: 'no such held connection' };
      return { ok: true, closed: h.closed || h.sock.destroyed, ...(h.error ? { error: h.error } : {}) };
    }
    default:
      return { ok: false, error: `unknown op ${p.op}` };
  }
}

await startServices();
createInterface({ input: process.stdin }).on('line', (line) => {
  let p: Probe;
  try {
    p = JSON.parse(line) as Probe;
  } catch {
    return;
  }
  void handle(p).then((r) => out({ id: p.id, ...r }));
});
process.stdin.on('end', () => process.exit(0));
out({ ready: true });
