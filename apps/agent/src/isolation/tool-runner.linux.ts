import { execFile } from 'node:child_process';

/** ToolResult is how a command-line tool ended. */
export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** ToolRunner runs a program with arguments (an argv array, never a shell string) and optional stdin. */
export type ToolRunner = (argv: readonly string[], input?: string) => Promise<ToolResult>;

/**
 * toolRunner runs programs in this process's network namespace, or, with `netns`, inside that
 * named namespace through `ip netns exec` (how tests drive isolation from outside). A program
 * that does not finish within `timeoutMs` is killed and reported as failed.
 */
export function toolRunner(netns?: string, timeoutMs = 15_000): ToolRunner {
  return (argv, input) => {
    const full = netns === undefined ? [...argv] : ['ip', 'netns', 'exec', netns, ...argv];
    return new Promise((resolve) => {
      const child = execFile(
        full[0]!,
        full.slice(1),
        { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
          let code = 0;
          if (e) code = typeof e.code === 'number' ? e.code : -1;
          const why =
            e && typeof e.code === 'string' ? `${e.code}: ${e.message}` : e?.killed ? 'timed out' : '';
          resolve({ code, stdout, stderr: stderr || why });
        },
      );
      child.stdin?.on('error', () => {});
      child.stdin?.end(input ?? '');
    });
  };
}
