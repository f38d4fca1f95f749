// gen-golden regenerates every golden `*.out.yaml` from its `*.in.yaml`:
//   npm run gen:golden --workspace @palisade/detection
// Review the diff before committing: the out files are what the tests hold the engine to.
import { writeFileSync } from 'node:fs';
import { goldenInputs, runGolden } from './golden-run.test-util.js';

let failed = 0;
for (const inPath of goldenInputs()) {
  const { out, failures } = runGolden(inPath);
  writeFileSync(inPath.replace(/\.in\.yaml$/, '.out.yaml'), out);
  for (const f of failures) {
    failed++;
    console.error(`expectation failed: ${f}`);
  }
}
console.log(`golden files regenerated${failed ? `; ${failed} expectations failed` : ''}`);
process.exit(failed ? 1 : 0);
