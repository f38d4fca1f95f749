// Every rule file of SigmaHQ's Linux rules (../shared/data/sigma) loads, or is reported with a
// precise reason; none crashes the loader. The test prints the count and the rest by reason.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { sharedDataDir } from '@palisade/testkit';
import { readRuleFiles } from '../files/index.js';
import { DEFAULT_RULES_DIR } from '../files/index.js';
import { DetectionEngine } from './engine.js';
import { compileRuleSet } from './rule-set.js';

const data = join(sharedDataDir('sigma/rules/linux'), 'sigma');
const dirs = ['rules', 'rules-emerging-threats', 'rules-threat-hunting'].map((d) => join(data, d));

test('every SigmaHQ Linux rule loads or is reported with its reason', () => {
  const { files, errors } = readRuleFiles(dirs);
  assert.deepEqual(errors, []);
  assert.ok(files.length >= 240, `expected the ~250 SigmaHQ Linux rule files, found ${files.length}`);
  const set = compileRuleSet(files);
  const statuses = set.statuses.filter((s) => s.kind !== 'file');
  // One status per rule document, none lost.
  assert.equal(statuses.length, files.length);
  const loaded = statuses.filter((s) => s.state === 'loaded');
  const rest = statuses.filter((s) => s.state !== 'loaded');
  const byReason = new Map<string, string[]>();
  for (const s of rest) {
    assert.ok(s.reason && s.reason.length > 10, `${s.file}: ${s.state} without a reason`);
    const key = `${s.state}: ${s.reason!.replace(/^log source [^:]+: /, '')}`;
    byReason.set(key, [...(byReason.get(key) ?? []), s.file.slice(data.length + 1)]);
  }
  console.log(`SigmaHQ Linux rules: ${loaded.length} of ${statuses.length} load`);
  for (const [reason, fs] of byReason) console.log(`  ${fs.length} ${reason}\n    ${fs.join('\n    ')}`);
  // No rule is an error: every one is valid Sigma; what does not load is unsupported here.
  assert.deepEqual(
    rest.filter((s) => s.state === 'error').map((s) => `${s.file}: ${s.reason}`),
    [],
  );
  assert.ok(loaded.length >= 230, `only ${loaded.length} load`);
  // Each unsupported reason is one of the kinds the loader proves.
  for (const s of rest) {
    assert.match(
      s.reason!,
      /not collected|can never match Palisade's events|Linux telemetry only|is not one Palisade collects/,
      s.file,
    );
  }
});

test('SigmaHQ rules and the default pack load together and evaluate an event', () => {
  const { files } = readRuleFiles([...dirs, DEFAULT_RULES_DIR]);
  const set = compileRuleSet(files);
  const errors = set.statuses.filter((s) => s.state === 'error');
  assert.deepEqual(
    errors.map((s) => `${s.file}:${s.errorLine ?? s.line} ${s.reason}`),
    [],
  );
  const engine = new DetectionEngine(set);
  const matches = engine.evaluateInput({
    kind: 'fields',
    logsource: { category: 'process_creation', product: 'linux' },
    fields: { Image: '/usr/bin/base64', CommandLine: 'base64 -d /tmp/x', ParentImage: '/bin/sh' },
    ctx: {},
  });
  assert.ok(matches.length >= 1, 'a base64 decode should match at least one rule');
});
