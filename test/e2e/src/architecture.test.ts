// The dependency rules of ARCHITECTURE.md, checked on every test run so that they cannot erode.
// `violations(root)` reads a source tree (package.json, tsconfig.json and src/**/*.ts(x) of every
// workspace) and lists every broken rule; the self-test below runs the same function over a small
// tree with real forbidden imports, so a broken check fails the test too.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * ALLOWED lists, per workspace, which of our packages its production code may import. Tests
 * (`*.test.ts` and their helpers) may also import TEST_EXTRA, to run the apps for real.
 */
const ALLOWED: Record<string, string[]> = {
  '@palisade/common': [],
  '@palisade/protocol': [],
  '@palisade/storage': ['@palisade/protocol', '@palisade/common'],
  // The detection engine (being added): a library like storage.
  '@palisade/detection': ['@palisade/protocol', '@palisade/common'],
  // Release bundles and their signing chain: a library shared by server, agent and CLI.
  '@palisade/release': ['@palisade/common'],
  '@palisade/storage-sqlite': ['@palisade/storage', '@palisade/protocol', '@palisade/common'],
  '@palisade/testkit': ['@palisade/protocol', '@palisade/common'],
  '@palisade/server': [
    '@palisade/protocol',
    '@palisade/common',
    '@palisade/storage',
    '@palisade/storage-sqlite',
    '@palisade/detection',
    '@palisade/release',
  ],
  '@palisade/agent': ['@palisade/protocol', '@palisade/common', '@palisade/release'],
  '@palisade/cli': [
    '@palisade/common',
    '@palisade/protocol',
    '@palisade/server',
    '@palisade/agent',
    '@palisade/detection',
  ],
  // The web console runs in a browser and talks to the server only over /api/v1.
  '@palisade/console': [],
  '@palisade/bench': ['*'],
  '@palisade/e2e': ['*'],
};
const TEST_EXTRA = [
  '@palisade/testkit',
  '@palisade/server',
  '@palisade/agent',
  '@palisade/storage-sqlite',
  '@palisade/storage',
];
/** Only an app's start-up modules (main.ts, start-server.ts, standby-server.ts) choose adapters. */
const ADAPTERS = ['@palisade/storage-sqlite'];
/**
 * EXTERNALS lists, for libraries whose core must stay pure, the only third-party packages their
 * production code may import, and the one folder allowed to use Node's I/O modules.
 */
const EXTERNALS: Record<string, { packages: string[]; ioFolder: string }> = {
  '@palisade/detection': { packages: ['yaml'], ioFolder: 'src/files/' },
};
/** Apps the CLI runs: it may load them only with a dynamic import(), so `palisade agent` never loads the server. */
const LAZY_IN_CLI = ['@palisade/server', '@palisade/agent', '@palisade/detection'];
/** Declared dependencies nothing imports, on purpose. */
const UNUSED_OK: Record<string, string> = {
  bufferutil: 'ws loads it at run time to mask frames natively',
  'reflect-metadata': "@peculiar/x509's dependency injection needs it loaded",
  vite: "the console's bundler: apps/console/vite.config.ts, run by the build",
  '@vitejs/plugin-react': 'loaded by apps/console/vite.config.ts (JSX transform)',
  '@types/react': 'types the JSX of apps/console/src, never imported by name',
  '@types/react-dom': 'types react-dom/client in apps/console/src',
};
/**
 * Modules that choose a platform implementation: besides `*.linux.ts` modules and a folder's
 * `index.ts`, only these may import a `*.linux.ts` module (with a value import).
 */
const PLATFORM_ENTRY_POINTS = [
  'apps/agent/src/sensors/auth/auth-sensor.ts',
  'apps/agent/src/identity/host-facts.ts',
  'apps/agent/src/state-lock.ts',
  // The server's start-up module picks what runs on this platform (the open-files limit check).
  'apps/server/src/start-server.ts',
  // The agent's isolation and response actions: the platform's mechanism is chosen here.
  'apps/agent/src/isolation/platform-backend.ts',
  'apps/agent/src/response/platform-actions.ts',
];
/**
 * LINUX_ONLY recognises code that uses what only Linux has: /proc and /sys paths, netlink,
 * nftables (`nft`), network namespaces (`ip netns`), eBPF (bpftool, the bpf syscall). Comments
 * are not looked at. Production code that matches lives in `*.linux.ts` files (or the C of
 * apps/agent/sensor-bpf, which is not TypeScript); tests and benchmarks (bench/, *.bench.ts)
 * measure and drive Linux on purpose and are not checked.
 */
const LINUX_ONLY: [RegExp, string][] = [
  [/['"`]\/proc\//, '/proc'],
  [/['"`]\/sys\//, '/sys'],
  [/\bnetlink\b|AF_NETLINK/i, 'netlink'],
  [/['"`]nft['"`]/, 'nft'],
  [/\bnetns\b/, 'ip netns'],
  [/['"`]bpftool['"`]|\bbpf\(/, 'bpf'],
];

interface Workspace {
  dir: string;
  name: string;
  deps: Set<string>;
  devDeps: Set<string>;
  /** Workspace folders its tsconfig.json references. */
  refs: Set<string>;
}

interface Import {
  spec: string;
  /** `import type ...` / `export type ...`: nothing is loaded at run time. */
  typeOnly: boolean;
  /** `import('...')` */
  dynamic: boolean;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function workspacesOf(root: string): Workspace[] {
  const dirs: string[] = [];
  for (const top of ['packages', 'apps']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(root, top));
    } catch {
      continue;
    }
    for (const n of names) dirs.push(`${top}/${n}`);
  }
  dirs.push('bench', 'test/e2e');
  const out: Workspace[] = [];
  for (const dir of dirs) {
    const pj = readJson(join(root, dir, 'package.json'));
    if (!pj || typeof pj.name !== 'string') continue;
    const ts = readJson(join(root, dir, 'tsconfig.json'));
    const refs = ((ts?.references as { path: string }[] | undefined) ?? []).map((r) =>
      relative(root, resolve(root, dir, r.path)),
    );
    out.push({
      dir,
      name: pj.name,
      deps: new Set(Object.keys({ ...(pj.dependencies as object), ...(pj.peerDependencies as object) })),
      devDeps: new Set(Object.keys((pj.devDependencies as object) ?? {})),
      refs: new Set(refs),
    });
  }
  return out;
}

function subpathsOf(root: string, workspaces: Workspace[]): Set<string> {
  const subpaths = new Set<string>();
  for (const w of workspaces) {
    const exp = (readJson(join(root, w.dir, 'package.json'))?.exports ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(exp)) if (key.startsWith('./')) subpaths.add(`${w.name}/${key.slice(2)}`);
  }
  return subpaths;
}

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'gen') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if ((name.endsWith('.ts') || name.endsWith('.tsx')) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE =
  /(?:^|[\s;])(import|export)\s+((?:type\s+)?[^'"]*?)from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[\s;])import\s+['"]([^'"]+)['"]/g;

/** withoutComments blanks out comments (not strings that merely contain //, such as URLs). */
function withoutComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function importsOf(src: string): Import[] {
  const out: Import[] = [];
  for (const m of withoutComments(src).matchAll(IMPORT_RE)) {
    if (m[3]) out.push({ spec: m[3], typeOnly: /^type\s/.test(m[2] ?? ''), dynamic: false });
    else if (m[4]) out.push({ spec: m[4], typeOnly: false, dynamic: true });
    else if (m[5]) out.push({ spec: m[5], typeOnly: false, dynamic: false });
  }
  return out;
}

function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function isBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!);
}

const isTestFile = (file: string) => /\.(test|bench|test-util|fixture)\.ts$/.test(file);
/** This file holds forbidden imports as text (the self-test's fixtures), and is not checked itself. */
const SELF = 'architecture.test.ts';

/** violations lists every import that breaks a rule in the tree at `root`, as "file: reason". */
export function violations(root: string): string[] {
  const workspaces = workspacesOf(root);
  const subpaths = subpathsOf(root, workspaces);
  const dirOf = new Map(workspaces.map((w) => [w.name, w.dir]));
  const bad: string[] = [];
  for (const w of workspaces) {
    const allowed = ALLOWED[w.name];
    if (!allowed) {
      bad.push(
        `${w.dir}: workspace ${w.name} has no entry in the dependency rules (add it to ARCHITECTURE.md and this test)`,
      );
      continue;
    }
    let files: string[] = [];
    try {
      files = walk(join(root, w.dir, 'src'), []);
    } catch {
      continue;
    }
    const usedByProd = new Set<string>();
    const usedByTests = new Set<string>();
    const refsNeeded = new Set<string>();
    for (const file of files) {
      if (basename(file) === SELF) continue;
      const rel = relative(root, file);
      const isTest = isTestFile(file);
      const src = readFileSync(file, 'utf8');
      if (!isTest && !file.endsWith('.linux.ts') && w.name !== '@palisade/bench') {
        // Module specifiers name files (`./netns.linux.js`); what the code does is the rest.
        const code = withoutComments(src).replace(
          /\bfrom\s*(['"])[^'"]*\1|import\(\s*(['"])[^'"]*\2\s*\)/g,
          'from ""',
        );
        for (const [re, what] of LINUX_ONLY) {
          if (re.test(code))
            bad.push(`${rel}: uses ${what}, which only Linux has: move that code to a *.linux.ts module`);
        }
      }
      for (const imp of importsOf(src)) {
        const spec = imp.spec;
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (!target.startsWith(`${join(root, w.dir)}/`))
            bad.push(`${rel}: relative import '${spec}' leaves its package`);
          if (
            /\.linux\.js$/.test(spec) &&
            !isTest &&
            !imp.typeOnly &&
            !file.endsWith('.linux.ts') &&
            basename(file) !== 'index.ts' &&
            !PLATFORM_ENTRY_POINTS.includes(rel)
          ) {
            bad.push(
              `${rel}: imports the Linux module '${spec}' but is neither *.linux.ts, a folder's index.ts nor a platform entry point`,
            );
          }
          continue;
        }
        const ext = EXTERNALS[w.name];
        if (ext && !isTest && !spec.startsWith('@palisade/')) {
          const inIo = relative(join(root, w.dir), file).startsWith(ext.ioFolder);
          const io = isBuiltin(spec);
          if (io ? !inIo : !ext.packages.includes(packageOf(spec))) {
            bad.push(
              `${rel}: ${w.name} may not import '${spec}' (its core imports only ${ext.packages.join(', ')}; Node I/O only under ${ext.ioFolder})`,
            );
          }
        }
        if (isBuiltin(spec)) continue;
        const name = packageOf(spec);
        (isTest ? usedByTests : usedByProd).add(name);
        if (name === w.name) continue;
        // Declared in package.json: production code in dependencies, tests in either.
        if (!w.deps.has(name) && !(isTest && w.devDeps.has(name))) {
          bad.push(
            `${rel}: imports ${name}, which ${w.dir}/package.json does not declare${isTest ? ' (devDependencies will do for a test)' : ' in dependencies'}`,
          );
        }
        if (!name.startsWith('@palisade/')) continue;
        const dep = dirOf.get(name);
        if (dep) {
          refsNeeded.add(dep);
          if (!w.refs.has(dep))
            bad.push(`${rel}: imports ${name}, but ${w.dir}/tsconfig.json has no reference to ${dep}`);
        }
        if (spec !== name && !subpaths.has(spec))
          bad.push(`${rel}: deep import '${spec}' (import the package's public root)`);
        if (spec.endsWith('/testing') && !isTest)
          bad.push(`${rel}: '${spec}' is test tooling; production code may not import it`);
        const ok = allowed.includes('*') || allowed.includes(name) || (isTest && TEST_EXTRA.includes(name));
        if (!ok) bad.push(`${rel}: ${w.name} may not import ${name}`);
        if (
          w.name === '@palisade/cli' &&
          LAZY_IN_CLI.includes(name) &&
          !isTest &&
          !imp.typeOnly &&
          !imp.dynamic
        ) {
          bad.push(
            `${rel}: the CLI must load ${name} with a dynamic import(), not a static import (palisade agent must not load server code)`,
          );
        }
        if (
          ADAPTERS.includes(name) &&
          !isTest &&
          !/\/(main|start-server|standby-server)\.ts$/.test(file) &&
          w.name !== '@palisade/bench'
        ) {
          bad.push(
            `${rel}: only an app's start-up module (main.ts, start-server.ts, standby-server.ts) chooses the storage adapter ${name}`,
          );
        }
      }
    }
    for (const d of w.deps) {
      if (usedByProd.has(d) || UNUSED_OK[d]) continue;
      bad.push(
        usedByTests.has(d)
          ? `${w.dir}/package.json: ${d} is in dependencies but only tests import it (make it a devDependency)`
          : `${w.dir}/package.json: declares ${d}, which nothing in ${w.dir}/src imports`,
      );
    }
    for (const d of w.devDeps) {
      if (!usedByTests.has(d) && !usedByProd.has(d) && !UNUSED_OK[d])
        bad.push(
          `${w.dir}/package.json: declares the devDependency ${d}, which nothing in ${w.dir}/src imports`,
        );
    }
    for (const r of w.refs) {
      if (!refsNeeded.has(r))
        bad.push(`${w.dir}/tsconfig.json: references ${r}, which nothing in ${w.dir}/src imports`);
    }
  }
  return bad;
}

test('every import in the tree follows the dependency rules in ARCHITECTURE.md', () => {
  assert.deepEqual(violations(repoRoot), []);
});

/** tree writes a small repository: `files` maps paths to contents (objects become JSON). */
function tree(files: Record<string, string | object>): string {
  const root = mkdtempSync(join(tmpdir(), 'palisade-arch-'));
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), typeof body === 'string' ? body : JSON.stringify(body));
  }
  return root;
}

const pkg = (
  name: string,
  dependencies: Record<string, string> = {},
  devDependencies: Record<string, string> = {},
) => ({
  name,
  dependencies,
  devDependencies,
});
const refs = (...paths: string[]) => ({ references: paths.map((path) => ({ path })) });

test('the dependency check finds real forbidden imports in a tree, and only those', (t) => {
  const root = tree({
    'packages/common/package.json': pkg('@palisade/common'),
    'packages/common/src/index.ts': "export const x = 1; // import { y } from '@palisade/server';\n",
    'packages/protocol/package.json': pkg('@palisade/protocol'),
    'packages/protocol/src/index.ts':
      "import { startServer } from '@palisade/server';\nexport { startServer };\n",
    'apps/server/package.json': pkg('@palisade/server', { '@palisade/common': '0.1.0' }),
    'apps/server/tsconfig.json': refs('../../packages/common'),
    'apps/server/src/index.ts':
      "import { x } from '@palisade/common';\nexport const startServer = () => x;\n",
    'apps/agent/package.json': pkg('@palisade/agent', { '@palisade/common': '0.1.0', yaml: '^2' }),
    'apps/agent/tsconfig.json': refs('../../packages/common', '../server'),
    'apps/agent/src/index.ts':
      "import { x } from '@palisade/common';\nimport { net } from './net.js';\nexport { x, net };\n",
    'apps/agent/src/net.ts':
      "import { readFileSync } from 'node:fs';\nexport const net = () => readFileSync('/proc/net/tcp', 'utf8');\n",
    'apps/agent/src/facts.ts':
      "import { f } from './facts.linux.js';\nimport type { T } from './types.linux.js';\nexport { f, type T };\n",
    'apps/agent/src/facts.linux.ts': "export const f = () => '/proc/self/stat'.length;\n",
    'apps/agent/src/facts.test.ts':
      "import { f } from './facts.linux.js';\nimport { SimulatedAgent } from '@palisade/testkit';\nf(); void SimulatedAgent;\n",
    'apps/cli/package.json': pkg('@palisade/cli', {
      '@palisade/server': '0.1.0',
      '@palisade/agent': '0.1.0',
    }),
    'apps/cli/tsconfig.json': refs('../server', '../agent'),
    'apps/cli/src/main.ts':
      "import { startServer } from '@palisade/server';\nimport type { x } from '@palisade/agent';\nexport const run = async () => { await import('@palisade/agent'); return startServer(); };\n",
    'packages/detection/package.json': pkg('@palisade/detection', {
      '@palisade/protocol': '0.1.0',
      yaml: '^2',
    }),
    'packages/detection/tsconfig.json': refs('../protocol'),
    'packages/detection/src/index.ts':
      "export type { Event } from '@palisade/protocol';\nexport { parse } from 'yaml';\n",
    'packages/detection/src/load.ts':
      "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
    'packages/detection/src/files/read.ts':
      "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const found = violations(root);
  const expect = (re: RegExp, what: string) =>
    assert.ok(
      found.some((v) => re.test(v)),
      `${what} is reported; got:\n${found.join('\n')}`,
    );
  expect(
    /^packages\/protocol\/src\/index\.ts: @palisade\/protocol may not import @palisade\/server$/,
    'a forbidden import',
  );
  expect(
    /^packages\/protocol\/src\/index\.ts: imports @palisade\/server, which packages\/protocol\/package\.json does not declare/,
    'an undeclared dependency',
  );
  expect(
    /^packages\/protocol\/src\/index\.ts: imports @palisade\/server, but packages\/protocol\/tsconfig\.json has no reference/,
    'a missing tsconfig reference',
  );
  expect(/^apps\/agent\/package\.json: declares yaml, which nothing/, 'a declared but unused dependency');
  expect(
    /^apps\/agent\/tsconfig\.json: references apps\/server, which nothing/,
    'an unused tsconfig reference',
  );
  expect(
    /^apps\/cli\/src\/main\.ts: the CLI must load @palisade\/server with a dynamic import/,
    'a static app import in the CLI',
  );
  expect(/^apps\/agent\/src\/net\.ts: uses \/proc/, 'Linux-only code outside *.linux.ts');
  expect(
    /^apps\/agent\/src\/facts\.ts: imports the Linux module '\.\/facts\.linux\.js'/,
    'a non-platform module importing *.linux.ts',
  );
  expect(
    /^apps\/agent\/src\/facts\.test\.ts: imports @palisade\/testkit, which apps\/agent\/package\.json does not declare \(devDependencies will do/,
    'an undeclared test dependency',
  );
  expect(
    /^packages\/detection\/src\/load\.ts: @palisade\/detection may not import 'node:fs'/,
    'Node I/O in the pure detection core',
  );
  // And nothing that is allowed: the type-only and dynamic imports in the CLI, the type import of
  // a Linux module, the Linux module itself, the test importing it, the comment in common, the
  // detection library importing protocol.
  const unexpected = found.filter(
    (v) =>
      (/@palisade\/agent/.test(v) && /cli/.test(v)) ||
      /types\.linux|facts\.linux\.ts:|facts\.test\.ts: imports the Linux|packages\/common|detection\/src\/(index|files)|detection\/package/.test(
        v,
      ),
  );
  assert.deepEqual(unexpected, []);
  assert.equal(found.length, 10, found.join('\n'));
});
