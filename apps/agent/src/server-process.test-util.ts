import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteStorage } from '@palisade/storage-sqlite';

const agentDir = fileURLToPath(new URL('..', import.meta.url));
// A fixed program (no input in it): run `palisade server` from @palisade/server with argv flags.
const SERVER_MAIN = "import('@palisade/server').then((m) => m.runServerCommand(process.argv.slice(1)))";

/** serverProcess runs `palisade server <flags>` as a real child process (stderr inherited). */
export function serverProcess(flags: string[]): ChildProcess {
  // CommonJS -e with a dynamic import: --input-type would be inherited by the storage worker thread.
  return spawn(process.execPath, ['-e', SERVER_MAIN, '--', '--log-level', 'warn', ...flags], {
    cwd: agentDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** stopProcess sends `signal` and waits until the process has exited (at most 20 s). */
export async function stopProcess(p: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
}

type StoredEvents = Pick<Awaited<ReturnType<typeof openSqliteStorage>>, 'searchEvents'>;

/**
 * countByCommandLine pages through every stored event of `agentId` and counts them by process
 * command line (the TestSensor's `${marker}-${i}`).
 */
export async function countByCommandLine(
  storage: StoredEvents,
  agentId: string,
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  let cursor: string | undefined;
  for (let p = 0; p < 500; p++) {
    const page = await storage.searchEvents({ agentId, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const e of page.events) {
      const l = e.event.process?.cmdLine ?? '';
      seen.set(l, (seen.get(l) ?? 0) + 1);
    }
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return seen;
}

/** countStored is countByCommandLine over the server's SQLite file in `dataDir`. */
export async function countStored(dataDir: string, agentId: string): Promise<Map<string, number>> {
  const storage = await openSqliteStorage({ path: join(dataDir, 'palisade.db'), writerThread: false });
  try {
    return await countByCommandLine(storage, agentId);
  } finally {
    await storage.close();
  }
}
