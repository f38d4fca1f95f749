// The dependency rules of ARCHITECTURE.md, checked on every test run so that they cannot erode.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Workspace folder → package name, from each package.json. */
const workspaces = new Map<string, string>();
for (const top of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, top))) {
    const pj = join(root, top, name, 'package.json');
    try {
      workspaces.set(`${top}/${name}`, JSON.parse(readFileSync(pj, 'utf8')).name);
    } catch {
      // not a workspace
    }
  }
}
workspaces.set('bench', '@palisade/bench');

workspaces.set('test/e2e', '@palisade/e2e');

/**
 * ALLOWED lists, per workspace, which of our packages its production code may import. Tests
 * (`*.test.ts`) may additionally import @palisade/testkit and, for integration tests, the apps.
 */
const ALLOWED: Record<string, string[]> = {
  '@palisade/common': [],
  '@palisade/protocol': [],
  '@palisade/storage': ['@palisade/protocol', '@palisade/common'],
  '@palisade/storage-sqlite': ['@palisade/storage', '@palisade/protocol', '@palisade/common'],
  '@palisade/detection': ['@palisade/protocol', '@palisade/common'],
  '@palisade/testkit': ['@palisade/protocol', '@palisade/common'],
  '@palisade/server': [
    '@palisade/protocol',
    '@palisade/common',
    '@palisade/storage',
    '@palisade/storage-sqlite',
  ],
  '@palisade/agent': ['@palisade/protocol', '@palisade/common'],
  '@palisade/cli': [
    '@palisade/common',
    '@palisade/protocol',
    '@palisade/server',
    '@palisade/agent',
    '@palisade/detection',
  ],
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
/**
 * EXTERNALS lists, for libraries whose core must stay pure, the only third-party packages their
 * production code may import, and the one folder allowed to use Node's I/O modules.
 */
const EXTERNALS: Record<string, { packages: string[]; ioFolder: string }> = {
  '@palisade/detection': { packages: ['yaml'], ioFolder: 'src/files/' },
};

/** exportedSubpaths lists the subpaths (`./files`) a workspace's package.json exports. */
const exportedSubpaths = new Map<string, string[]>();
for (const [dir, name] of workspaces) {
  try {
    const ex = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).exports ?? {};
    exportedSubpaths.set(
      name,
      Object.keys(ex)
        .filter((k) => k !== '.')
        .map((k) => k.replace(/^\.\//, '')),
    );
  } catch {
    // no package.json
  }
}

/** Only an app's start-up modules (main.ts, start-server.ts, standby-server.ts) choose adapters. */
const ADAPTERS = ['@palisade/storage-sqlite'];

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'gen') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE =
  /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of src.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** violations lists every import that breaks a rule, as "file: reason". */
function violations(): string[] {
  const bad: string[] = [];
  for (const [dir, pkg] of workspaces) {
    const allowed = ALLOWED[pkg];
    if (!allowed) {
      bad.push(
        `${dir}: workspace ${pkg} has no entry in the dependency rules (add it to ARCHITECTURE.md and this test)`,
      );
      continue;
    }
    const srcDir = join(root, dir, 'src');
    let files: string[] = [];
    try {
      files = walk(srcDir, []);
    } catch {
      continue;
    }
    for (const file of files) {
      const rel = relative(root, file);
      const isTest = /\.(test|bench|test-util|fixture)\.ts$/.test(file);
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          if (!target.startsWith(join(root, dir) + '/'))
            bad.push(`${rel}: relative import '${spec}' leaves its package`);
          continue;
        }
        const ext = EXTERNALS[pkg];
        if (ext && !isTest && !spec.startsWith('@palisade/')) {
          const inIo = relative(join(root, dir), file).startsWith(ext.ioFolder);
          const bare = spec.startsWith('node:')
            ? spec
            : spec
                .split('/')
                .slice(0, spec.startsWith('@') ? 2 : 1)
                .join('/');
          if (spec.startsWith('node:') ? !inIo : !ext.packages.includes(bare)) {
            bad.push(
              `${rel}: ${pkg} may not import '${spec}' (its core imports only ${ext.packages.join(', ')}; Node I/O only under ${ext.ioFolder})`,
            );
          }
        }
        if (!spec.startsWith('@palisade/')) continue;
        const name = spec.split('/').slice(0, 2).join('/');
        const sub = spec.slice(name.length + 1);
        if (spec !== name && !(exportedSubpaths.get(name) ?? []).includes(sub)) {
          bad.push(
            `${rel}: deep import '${spec}' (import the package's public root or a subpath its package.json exports)`,
          );
        }
        if (spec.endsWith('/testing') && !isTest)
          bad.push(`${rel}: '${spec}' is test tooling; production code may not import it`);
        if (name === pkg) continue;
        const ok = allowed.includes('*') || allowed.includes(name) || (isTest && TEST_EXTRA.includes(name));
        if (!ok) bad.push(`${rel}: ${pkg} may not import ${name}`);
        if (
          ADAPTERS.includes(name) &&
          !isTest &&
          !/\/(main|start-server|standby-server)\.ts$/.test(file) &&
          pkg !== '@palisade/bench'
        ) {
          bad.push(
            `${rel}: only an app's start-up module (main.ts, start-server.ts, standby-server.ts) chooses the storage adapter ${name}`,
          );
        }
      }
    }
  }
  return bad;
}

test('every import in the tree follows the dependency rules in ARCHITECTURE.md', () => {
  assert.deepEqual(violations(), []);
});

test('the dependency check notices a forbidden import', () => {
  // The rule table itself: the agent must never reach server storage, protocol imports nothing of ours.
  assert.ok(!ALLOWED['@palisade/agent']!.includes('@palisade/storage'));
  assert.ok(!ALLOWED['@palisade/agent']!.includes('@palisade/server'));
  assert.deepEqual(ALLOWED['@palisade/protocol'], []);
  const sample =
    "import { x } from '@palisade/server';\nconst y = await import('@palisade/storage-sqlite');\n";
  const found = [...sample.matchAll(IMPORT_RE)].map((m) => m[1] ?? m[2] ?? m[3]);
  assert.deepEqual(found, ['@palisade/server', '@palisade/storage-sqlite']);
  // The detection library is pure: no Node I/O outside its files/ entry, no other packages.
  assert.deepEqual(ALLOWED['@palisade/detection'], ['@palisade/protocol', '@palisade/common']);
  assert.deepEqual(EXTERNALS['@palisade/detection']?.packages, ['yaml']);
  assert.deepEqual(exportedSubpaths.get('@palisade/detection'), ['files']);
});
