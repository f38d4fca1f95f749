import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { test } from 'node:test';
import { GOLDEN_DIR, goldenInputs, runGolden } from './golden-run.test-util.js';

const inputs = goldenInputs();

test('there are golden files', () => {
  assert.ok(inputs.length >= 10, `only ${inputs.length} golden inputs in ${GOLDEN_DIR}`);
});

for (const inPath of inputs) {
  test(`golden ${relative(GOLDEN_DIR, inPath)}`, () => {
    const outPath = inPath.replace(/\.in\.yaml$/, '.out.yaml');
    assert.ok(
      existsSync(outPath),
      `${outPath} is missing: run npm run gen:golden --workspace @palisade/detection`,
    );
    const { out, failures } = runGolden(inPath);
    assert.deepEqual(failures, [], 'events whose expected rules differ');
    assert.equal(
      out,
      readFileSync(outPath, 'utf8'),
      `${outPath} differs: regenerate with npm run gen:golden and review the diff`,
    );
  });
}
