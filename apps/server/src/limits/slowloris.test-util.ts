// Hostile loopback clients for the listener-limit tests, run in a child process of their own (an
// attacker is another process: its sockets, timers and TLS work do not share the test's event
// loop or descriptor table). Test-only.
import { type ChildProcess, fork } from 'node:child_process';
import { type Socket, connect as tcpConnect } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';

/** AttackSpec is one group of hostile connections. */
export interface AttackSpec {
  port: number;
  /** Connections to open. */
  count: number;
  /** 'silent': TCP only, never a TLS byte. 'trickle': a TLS handshake, then a request one byte at a time. */
  kind: 'silent' | 'trickle';
  /** What the trickled request starts with (its line and a header, never finished). */
  request?: string;
  /** A byte every this many ms. @default 200 */
  trickleMs?: number;
  /** Source address on loopback (127.0.0.0/8 is all ours). @default 127.0.0.1 */
  localAddress?: string;
}

/** Attack is a running set of hostile connections, counted as the server closes them. */
export interface Attack {
  /** Connections opened so far (as last reported by the attacker process). */
  opened(): number;
  /** Of those, closed: by the server, since the attacker never closes one itself. */
  closed(): number;
  /** add opens more connections. */
  add(spec: AttackSpec): void;
  /** counted resolves once the attacker has reported at least `n` connections opened. */
  counted(n: number): Promise<void>;
  /** stop ends every connection and the attacker process. */
  stop(): Promise<void>;
}

const DEFAULT_REQUEST = 'GET /v1/telemetry HTTP/1.1\r\nHost: palisade\r\nX-Padding: ';

/** slowloris starts an attacker process that opens `specs`; resolves once it runs. */
export async function slowloris(...specs: AttackSpec[]): Promise<Attack> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--attacker'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let counts = { opened: 0, closed: 0 };
  const waiters: Array<() => void> = [];
  child.on('message', (m: { opened: number; closed: number }) => {
    counts = m;
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  for (const s of specs) child.send(s);
  return {
    opened: () => counts.opened,
    closed: () => counts.closed,
    add: (s) => child.send(s),
    async counted(n) {
      while (counts.opened < n) await new Promise<void>((r) => waiters.push(r));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** attack opens the connections of one spec in this (the attacker) process. */
function attack(o: AttackSpec, sockets: Socket[], onClose: () => void): void {
  const localAddress = o.localAddress ?? '127.0.0.1';
  for (let i = 0; i < o.count; i++) {
    let s: Socket;
    if (o.kind === 'silent') {
      s = tcpConnect({ port: o.port, host: '127.0.0.1', localAddress });
    } else {
      // tls.connect hands localAddress to net.connect (its typings leave it out).
      const t = tlsConnect({
        port: o.port,
        host: '127.0.0.1',
        localAddress,
        rejectUnauthorized: false,
      } as ConnectionOptions);
      t.once('secureConnect', () => {
        t.write(o.request ?? DEFAULT_REQUEST);
        const timer = setInterval(() => {
          if (!t.destroyed) t.write('a');
        }, o.trickleMs ?? 200);
        t.once('close', () => clearInterval(timer));
      });
      s = t;
    }
    s.on('error', () => {});
    s.once('close', onClose);
    sockets.push(s);
  }
}

if (process.argv[2] === '--attacker' && process.send) {
  const sockets: Socket[] = [];
  let closed = 0;
  let dirty = true;
  process.on('message', (spec: AttackSpec) => {
    attack(spec, sockets, () => {
      closed++;
      dirty = true;
    });
    dirty = true;
  });
  setInterval(() => {
    if (!dirty) return;
    dirty = false;
    process.send?.({ opened: sockets.length, closed });
  }, 20);
  process.on('disconnect', () => process.exit(0));
}
