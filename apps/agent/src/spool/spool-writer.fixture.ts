// A child process for the kill -9 test: appends numbered events forever, printing each sealed
// batch's sequence number after it is durable. The test kills it with SIGKILL mid-stream.
import { Spool } from './spool.js';
import { makeEvent } from './spool-fixtures.test-util.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: spool-writer.fixture.js <dir>');
const spool = Spool.open({ dir, batchMaxEvents: 100 });
spool.onSealed((seq) => process.stdout.write(`${seq}\n`));
let n = 0;
function burst(): void {
  for (let i = 0; i < 250; i++) spool.append(makeEvent(n++));
  setImmediate(burst);
}
burst();
