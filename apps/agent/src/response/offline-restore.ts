import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Logger, silentLogger } from '@palisade/common';
import { IsolationController } from '../isolation/isolation-controller.js';
import { defaultIsolationBackend } from '../isolation/platform-backend.js';
import { Spool } from '../spool/index.js';
import { lockStateDir } from '../state-lock.js';
import { type ControlReply, askAgent } from './control-socket.js';
import { RestoreCodeStore } from './restore-code-store.js';

/**
 * restoreWithCode lifts isolation at the host when `code` is the agent's offline restore code
 * (rate-limited; see RestoreCodeStore). The lift is recorded in the isolation state (that
 * revision is not re-applied) and reported to the server when it is next reachable.
 */
export async function restoreWithCode(
  code: string,
  codes: RestoreCodeStore,
  isolation: IsolationController,
): Promise<ControlReply> {
  const r = await codes.attempt(code);
  if (!r.ok) return { ok: false, code: r.code, message: r.message };
  const lifted = await isolation.liftLocally(r.codeId);
  return { ok: true, code: lifted.lifted ? 'lifted' : 'not_isolated', message: lifted.message };
}

const USAGE = `usage: palisade-agent restore --code CODE [--state-dir DIR]
  lifts host isolation with the agent's offline restore code (shown to an admin by
  "palisade agents restore-code ID"); works without the server. Wrong codes are rate-limited.`;

/**
 * runRestoreCommand is `palisade agent restore --code CODE`: it asks the running agent over its
 * control socket, or, when no agent runs, takes the state lock and lifts isolation itself.
 * Exit code 0 when the code was right, 1 when not (wrong, locked), 2 for usage errors.
 */
export async function runRestoreCommand(
  argv: string[],
  defaultStateDir: string,
  logger: Logger = silentLogger,
): Promise<void> {
  let v: { code?: string; 'state-dir'?: string; help?: boolean };
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        code: { type: 'string' },
        'state-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!v.code) {
    process.stderr.write(`--code is required\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const stateDir = v['state-dir'] ?? defaultStateDir;
  if (!existsSync(join(stateDir, 'identity.json'))) {
    process.stderr.write(`no registered agent in ${stateDir} (use --state-dir)\n`);
    process.exitCode = 2;
    return;
  }
  let reply = await askAgent(stateDir, { op: 'restore', code: v.code });
  if (!reply) reply = await offline(stateDir, v.code, logger);
  (reply.ok ? process.stdout : process.stderr).write(`${reply.message}\n`);
  process.exitCode = reply.ok ? 0 : 1;
}

/** offline lifts isolation with no agent running (the state lock keeps one from starting meanwhile). */
async function offline(stateDir: string, code: string, logger: Logger): Promise<ControlReply> {
  const unlock = lockStateDir(stateDir);
  try {
    const spool = Spool.open({ dir: join(stateDir, 'spool'), logger });
    try {
      const isolation = new IsolationController({
        stateDir,
        backend: defaultIsolationBackend(),
        endpointUrls: () => [],
        selfTest: () => Promise.reject(new Error('not used offline')),
        logger,
        emit: (e) => spool.append(e),
      });
      isolation.load();
      return await restoreWithCode(code, new RestoreCodeStore(stateDir), isolation);
    } finally {
      spool.seal();
      spool.close();
    }
  } finally {
    unlock();
  }
}
