import { chmodSync, rmSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '@palisade/common';

/** CONTROL_SOCKET is the agent's local control socket in its (root-only, 0700) state directory. */
export const CONTROL_SOCKET = 'control.sock';
const MAX_REQUEST = 4096;

/** ControlReply is the agent's answer to a local request. */
export interface ControlReply {
  ok: boolean;
  /** Machine-readable outcome: lifted, not_isolated, wrong_code, locked, no_code, bad_request, error. */
  code: string;
  message: string;
}

/** ControlHandlers are what a person at the console can ask the running agent. */
export interface ControlHandlers {
  /** restore lifts isolation with the offline restore code. */
  restore(code: string): Promise<ControlReply>;
}

/**
 * startControlSocket listens on `<state dir>/control.sock` (mode 0600 in a 0700 directory: root
 * only) for one-line JSON requests, one per connection: `{"op":"restore","code":"..."}`. It is
 * how `palisade-agent restore` reaches a running agent without any network.
 */
export async function startControlSocket(
  stateDir: string,
  h: ControlHandlers,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const path = join(stateDir, CONTROL_SOCKET);
  // The state lock is held, so a socket file left here is a dead agent's.
  rmSync(path, { force: true });
  const server: Server = createServer((sock: Socket) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('error', () => {});
    const answer = (r: ControlReply) => sock.end(`${JSON.stringify(r)}\n`);
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_REQUEST) {
        answer({ ok: false, code: 'bad_request', message: 'request too large' });
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let req: { op?: unknown; code?: unknown };
      try {
        req = JSON.parse(buf.slice(0, nl)) as typeof req;
      } catch {
        answer({ ok: false, code: 'bad_request', message: 'request is not JSON' });
        return;
      }
      if (req.op !== 'restore' || typeof req.code !== 'string') {
        answer({
          ok: false,
          code: 'bad_request',
          message: 'unknown request (op must be "restore" with a code)',
        });
        return;
      }
      h.restore(req.code).then(answer, (err: Error) =>
        answer({ ok: false, code: 'error', message: err.message }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  logger.debug({ path }, 'control socket listening');
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(path, { force: true });
      }),
  };
}

/**
 * askAgent sends one request to a running agent's control socket. It resolves undefined when no
 * agent listens there (no socket, or nobody accepting).
 */
export function askAgent(
  stateDir: string,
  req: object,
  timeoutMs = 30_000,
): Promise<ControlReply | undefined> {
  return new Promise((resolve, reject) => {
    const sock = connect(join(stateDir, CONTROL_SOCKET));
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the running agent did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (d: string) => {
      buf += d;
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf) as ControlReply);
      } catch {
        reject(new Error(`the running agent answered something unreadable: ${buf.slice(0, 200)}`));
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(undefined);
      else reject(err);
    });
  });
}
