import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { PalisadeError } from '@palisade/common';
import type { BundleSource } from './bundle-build.js';

/** AGENT_ENTRY is the bundle's entry point: it runs the agent command with the process's arguments. */
export const AGENT_ENTRY = 'bin/palisade-agent.js';
export const AGENT_ENTRY_SOURCE = `import { runAgentCommand } from '../apps/agent/dist/index.js';
await runAgentCommand(process.argv.slice(2));
`;

const NOT_SHIPPED = /\.(test|test-util|fixture|bench)\.js$|\.d\.ts$|\.map$|\.tsbuildinfo$/;

function walk(dir: string, skip: (p: string) => boolean, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (skip(p)) continue;
    const st = statSync(p); // follows links: a bundle holds regular files
    if (st.isDirectory()) walk(p, skip, out);
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** resolvePackage finds a dependency's folder the way Node does: nested first, then up to the root. */
function resolvePackage(name: string, fromDir: string, root: string): string | undefined {
  for (let d = fromDir; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return p;
    if (d === root || dirname(d) === d) return undefined;
  }
}

/**
 * collectAgentFiles lists what an agent bundle holds, from a built repository: the agent's
 * JavaScript (no tests, benchmarks, declarations or source maps), @palisade/common and
 * @palisade/protocol, every production dependency reachable from them (with optional ones that
 * are installed, such as native builds for this platform), the eBPF helper and its BTF, and the
 * journal reader. Paths mirror the repository, so the agent finds its helpers where it looks.
 */
export function collectAgentFiles(repoRoot: string): BundleSource[] {
  const out: BundleSource[] = [];
  const add = (abs: string, path: string) => out.push({ path, source: abs });
  const agent = join(repoRoot, 'apps/agent');
  for (const need of [
    'dist/index.js',
    'sensor-bpf/build/palisade-sensor',
    'journal-reader/build/palisade-journal',
  ]) {
    if (!existsSync(join(agent, need)))
      throw new PalisadeError(
        'validation_failed',
        `agent bundle: ${need} is missing: build the agent first (npm run build)`,
      );
  }
  add(join(agent, 'package.json'), 'apps/agent/package.json');
  for (const f of walk(join(agent, 'dist'), (p) => NOT_SHIPPED.test(p))) add(f, relative(repoRoot, f));
  add(join(agent, 'sensor-bpf/build/palisade-sensor'), 'apps/agent/sensor-bpf/build/palisade-sensor');
  const btf = join(agent, 'sensor-bpf/build/btf');
  if (existsSync(btf)) for (const f of walk(btf, () => false)) add(f, relative(repoRoot, f));
  add(
    join(agent, 'journal-reader/build/palisade-journal'),
    'apps/agent/journal-reader/build/palisade-journal',
  );

  const seen = new Set<string>();
  const queue: { name: string; from: string }[] = [];
  const enqueueDeps = (pkgDir: string) => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<
      string,
      Record<string, string>
    >;
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies }))
      queue.push({ name, from: pkgDir });
  };
  enqueueDeps(agent);
  while (queue.length > 0) {
    const { name, from } = queue.shift() as { name: string; from: string };
    const dir = resolvePackage(name, from, repoRoot);
    if (!dir) continue; // an optional dependency for another platform
    const real = realpathSync(dir);
    if (seen.has(real)) continue;
    seen.add(real);
    const target = `node_modules/${name}`;
    const workspace = !real.includes(`${'/'}node_modules${'/'}`);
    if (workspace) {
      add(join(real, 'package.json'), `${target}/package.json`);
      for (const f of walk(join(real, 'dist'), (p) => NOT_SHIPPED.test(p)))
        add(f, `${target}/${relative(real, f)}`);
    } else {
      for (const f of walk(real, (p) => p.endsWith('/node_modules')))
        add(f, `${target}/${relative(real, f)}`);
    }
    enqueueDeps(real);
  }
  return out;
}
