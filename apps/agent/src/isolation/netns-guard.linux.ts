import { readFileSync, readdirSync, statSync } from 'node:fs';
import { IsolationRefused } from './isolation-backend.js';
import { isTestRun, TEST_RUN_ENV } from './test-run.js';

export { isTestRun, TEST_RUN_ENV };

function nsId(path: string): string {
  const s = statSync(path);
  return `${s.dev}:${s.ino}`;
}

const PF_KTHREAD = 0x00200000;

/**
 * rootNetns identifies the machine's own network namespace: pid 1's, or, where pid 1 cannot be
 * inspected (a sandbox without ptrace rights over it), a kernel thread's, since kernel threads
 * always live in the initial namespace.
 */
function rootNetns(): string {
  try {
    return nsId('/proc/1/ns/net');
  } catch {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
        const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
        if ((flags & PF_KTHREAD) !== 0) return nsId(`/proc/${d}/ns/net`);
      } catch {
        // gone, or not readable: try the next
      }
    }
    throw new Error('neither pid 1 nor a kernel thread shows its network namespace');
  }
}

/**
 * assertIsolationAllowed throws IsolationRefused during a test run when the network namespace the
 * rules would go into is the machine's own (pid 1's, or a kernel thread's). `netns` names the namespace when
 * commands run through `ip netns exec` (it must exist under /run/netns); otherwise it is this
 * process's own. Outside test runs it allows everything: isolating the host is the point.
 */
export function assertIsolationAllowed(netns?: string, env: NodeJS.ProcessEnv = process.env): void {
  if (netns !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(netns)) {
    throw new IsolationRefused(`network namespace name ${JSON.stringify(netns)} is not valid`);
  }
  if (!isTestRun(env)) return;
  let target: string;
  let root: string;
  try {
    target = nsId(netns === undefined ? '/proc/self/ns/net' : `/run/netns/${netns}`);
    root = rootNetns();
  } catch (err) {
    throw new IsolationRefused(
      `test run: cannot tell which network namespace isolation would change (${(err as Error).message}); refusing`,
    );
  }
  if (target === root) {
    throw new IsolationRefused(
      `test run (${TEST_RUN_ENV}=1): refusing to change nftables in the machine's own network namespace; run the agent inside a namespace the test created (ip netns exec)`,
    );
  }
}
