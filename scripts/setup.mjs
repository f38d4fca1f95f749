#!/usr/bin/env node
// setup.mjs brings a fresh clone to a runnable state, installing only what is missing:
// Debian packages for the eBPF build (and, with --test, for the tests), npm packages, the
// TypeScript build and the eBPF sensor helper. It uses Node's standard library only, because it
// runs before `npm install`.
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const forTests = args.has('--test') || process.env.npm_lifecycle_event === 'test';

function step(msg) {
  process.stdout.write(`[setup] ${msg}\n`);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${argv.join(' ')} failed with exit code ${r.status}`);
  }
}

function hasDebPackage(name) {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

// Packages the eBPF sensor and journal reader builds need, and packages only the tests need (real sshd, su, sudo,
// rsyslog and systemd (journald, journalctl) for auth records, nftables, iproute2 and ping
// (iputils-ping) for isolation tests).
const BUILD_DEBS = [
  'clang',
  'llvm',
  'libbpf-dev',
  'bpftool',
  'libelf-dev',
  'zlib1g-dev',
  'make',
  'pkg-config',
  'libsystemd-dev',
];
const TEST_DEBS = [
  'openssh-server',
  'sudo',
  'iproute2',
  'nftables',
  'iputils-ping',
  'sshpass',
  'procps',
  'rsyslog',
  'systemd',
  'python3',
  // The console's browser tests drive Debian's Chromium with playwright-core (no browser download).
  'chromium',
];
// Only the endpoint-overhead benchmark needs auditd: it compares the agent with it side by side.
const BENCH_DEBS = ['auditd'];

function ensureDebs(list) {
  const missing = list.filter((p) => !hasDebPackage(p));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    step(
      `missing Debian packages ${missing.join(' ')}; run as root or install them: apt-get install ${missing.join(' ')}`,
    );
    return;
  }
  step(`installing Debian packages: ${missing.join(' ')}`);
  // Installing must not start services (openssh-server, rsyslog would start daemons on this host):
  // a policy-rc.d that forbids every action is Debian's documented way to prevent that.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    installDebs(missing);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

function installDebs(missing) {
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function ensureNodeModules() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && existsSync(lock) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  step('installing npm packages');
  run('npm', [existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund']);
}

/**
 * checkNativeModules loads each native module once: npm 11 may skip install scripts, and a module
 * without its binary fails only when first used, far from here. better-sqlite3 is built by its
 * install script (allowScripts in package.json); lz4-napi and bufferutil ship prebuilt binaries.
 */
function checkNativeModules() {
  const probe = `const Db = require('better-sqlite3'); new Db(':memory:').prepare('SELECT 1').get();
require('lz4-napi').compressSync(Buffer.from('x'));
require('bufferutil').mask(Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(4), 0, 4);`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`a native module does not load (run npm rebuild, then npm test again):\n${r.stderr}`);
  }
}

function build() {
  step('building TypeScript (tsc -b)');
  run(join(root, 'node_modules', '.bin', 'tsc'), ['-b', 'tsconfig.json']);
  // The web console (apps/console): type-checked, then bundled by Vite into apps/console/dist,
  // which the server serves on the registration listener.
  step('building the web console (vite build)');
  run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'apps/console/tsconfig.json']);
  run(join(root, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], {
    cwd: join(root, 'apps/console'),
  });
  if (existsSync(join(root, 'apps/agent/sensor-bpf/Makefile'))) {
    step('building the eBPF sensor helper');
    run('make', ['-s', '-C', 'apps/agent/sensor-bpf']);
  }
  if (existsSync(join(root, 'apps/agent/journal-reader/Makefile'))) {
    step('building the journal reader');
    run('make', ['-s', '-C', 'apps/agent/journal-reader']);
  }
}

try {
  if (!args.has('--build-only')) {
    ensureDebs([...BUILD_DEBS, ...(forTests ? TEST_DEBS : []), ...(args.has('--bench') ? BENCH_DEBS : [])]);
    ensureNodeModules();
    checkNativeModules();
  }
  build();
} catch (err) {
  process.stderr.write(`[setup] ${err.message}\n`);
  process.exit(1);
}
