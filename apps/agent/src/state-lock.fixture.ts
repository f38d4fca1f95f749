// Takes the state-directory lock and holds it until killed: used by state-lock.linux.test.ts.
//   node state-lock.fixture.js STATE_DIR [--with-child]
// Prints "locked <pid>" (and "child <pid>" for a long-lived child, as the agent has helpers), or
// "refused: <message>" and exits 2.
import { spawn } from 'node:child_process';
import { lockStateDir, StateLockError } from './state-lock.js';

const [dir, flag] = process.argv.slice(2);
try {
  lockStateDir(dir!);
} catch (err) {
  if (!(err instanceof StateLockError)) throw err;
  process.stdout.write(`refused: ${err.message}\n`);
  process.exit(2);
}
process.stdout.write(`locked ${process.pid}\n`);
if (flag === '--with-child') {
  const c = spawn('sleep', ['60'], { stdio: 'ignore', detached: true });
  c.unref();
  process.stdout.write(`child ${c.pid}\n`);
}
setInterval(() => {}, 60_000);
