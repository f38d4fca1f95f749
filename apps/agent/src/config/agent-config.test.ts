import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from './agent-config.js';

function write(t: { after(fn: () => void): void }, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-cfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const p = join(dir, 'agent.yaml');
  writeFileSync(p, text);
  return p;
}

test('a valid config file is read', (t) => {
  const p = write(
    t,
    'server: https://127.0.0.1:7443\ntier: server\nspool:\n  maxBytes: 1000000\n  maxAgeDays: 2\n',
  );
  assert.deepEqual(loadConfig(p), {
    server: 'https://127.0.0.1:7443',
    tier: 'server',
    spool: { maxBytes: 1_000_000, maxAgeDays: 2 },
  });
});

test('bad config files are clear errors naming the file and the key', (t) => {
  const cases: [string, RegExp][] = [
    ['servre: x\n', /agent\.yaml: unknown key "servre"/],
    ['spool:\n  maxBites: 3\n', /unknown key "spool\.maxBites"/],
    ['tier: laptop\n', /"tier" must be "server" or "workstation", got "laptop"/],
    ['kernelSensor: maybe\n', /"kernelSensor" must be true or false/],
    ['spool:\n  maxBytes: -1\n', /"spool\.maxBytes" must be a positive number/],
    ['- a\n- b\n', /must be a mapping of keys/],
    ['server: [unclosed\n', /not valid YAML/],
    ['auth: yes\n', /"auth" must be a mapping/],
    ['auth:\n  logPaths: [relative.log]\n', /"auth\.logPaths" must be a list of absolute paths/],
    ['auth:\n  wtmpPath: 3\n', /"auth\.wtmpPath" must be an absolute path or null/],
    ['auth:\n  journal: true\n', /unknown key "auth\.journal"/],
    ['auth:\n  trustedPrograms: [/usr/sbin/sshd]\n', /"auth\.trustedPrograms" must be a mapping/],
    ['auth:\n  trustedPrograms: { "ss hd": [/usr/sbin/sshd] }\n', /"ss hd" is not a program name/],
    [
      'auth:\n  trustedPrograms: { sshd: /usr/sbin/sshd }\n',
      /"auth\.trustedPrograms\.sshd" must be a list of absolute paths/,
    ],
    [
      'auth:\n  trustedPrograms: { sshd: [sbin/sshd] }\n',
      /"auth\.trustedPrograms\.sshd" must be a list of absolute paths/,
    ],
  ];
  for (const [text, re] of cases) assert.throws(() => loadConfig(write(t, text)), re, text);
  assert.throws(
    () => loadConfig('/nonexistent/agent.yaml'),
    /cannot read config file \/nonexistent\/agent\.yaml/,
  );
});

test('auth.trustedPrograms names the executables of each authentication program', (t) => {
  const cfg = loadConfig(
    write(t, 'auth:\n  trustedPrograms:\n    sshd: [/opt/openssh/sbin/sshd]\n    gdm-password: []\n'),
  );
  assert.deepEqual(cfg.auth, { trustedPrograms: { sshd: ['/opt/openssh/sbin/sshd'], 'gdm-password': [] } });
});

test('the auth sensor sources can be set, and a source turned off with null', (t) => {
  const cfg = loadConfig(write(t, 'auth:\n  logPaths: [/srv/log/auth.log]\n  btmpPath: null\n'));
  assert.deepEqual(cfg.auth, { logPaths: ['/srv/log/auth.log'], btmpPath: null });
});

test('the journal directory is an absolute path or null', (t) => {
  const cfg = loadConfig(write(t, 'auth:\n  journalDirectory: /srv/journal\n'));
  assert.deepEqual(cfg.auth, { journalDirectory: '/srv/journal' });
  assert.deepEqual(loadConfig(write(t, 'auth:\n  journalDirectory: null\n')).auth, {
    journalDirectory: null,
  });
  assert.throws(
    () => loadConfig(write(t, 'auth:\n  journalDirectory: journal\n')),
    /"auth\.journalDirectory" must be an absolute path or null/,
  );
});
