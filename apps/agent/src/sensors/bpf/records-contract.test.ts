// The record layout has one definition, apps/agent/sensor-bpf/src/records.h; records.ts decodes
// it. This test reads the header's constants and compiles it to read its struct offsets, and
// checks records.ts against both, so a change on one side without the other fails here (no root
// needed: a C compiler is, and the sensor build needs one anyway).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, after } from 'node:test';
import { removeTempDir, tempDir } from '@palisade/testkit';
import {
  DATA_OFFSET,
  EXEC_EXT,
  HEADER_SIZE,
  KIND_NAMES,
  Kind,
  NET_BODY,
  Outcome,
  REC_MAGIC,
  REC_VERSION,
} from './records.js';

const HEADER = fileURLToPath(new URL('../../../sensor-bpf/src/records.h', import.meta.url));
const text = readFileSync(HEADER, 'utf8');

function define(name: string): number {
  const m = text.match(new RegExp(`#define ${name}\\s+(0x[0-9a-fA-F]+|\\d+)`));
  assert.ok(m, `records.h defines ${name}`);
  return Number(m[1]);
}

function enumValues(prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(new RegExp(`\\b(${prefix}[A-Z_]+)\\s*=\\s*(\\d+)`, 'g')))
    out.set(m[1]!, Number(m[2]));
  return out;
}

/** compileAndRun compiles a program that includes records.h and runs `lines`; returns the numbers it prints. */
function compileAndRun(dir: string, name: string, lines: string[]): number[] {
  const src = join(dir, `${name}.c`);
  writeFileSync(
    src,
    `#include <stdio.h>\n#include <stddef.h>\n#include <linux/types.h>\n#include "${HEADER}"\nint main(void) {\n${lines.join('\n')}\nreturn 0;\n}\n`,
  );
  const bin = join(dir, name);
  const cc = spawnSync('cc', ['-o', bin, src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `cc: ${cc.stderr}`);
  return spawnSync(bin, { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
}

describe('records contract between records.h and records.ts', () => {
  const dir = tempDir('palisade-records-');
  after(() => removeTempDir(dir));

  it('has the same magic, version, sizes and kinds', () => {
    assert.equal(define('REC_MAGIC'), REC_MAGIC);
    assert.equal(define('REC_VERSION'), REC_VERSION);
    assert.equal(define('REC_DATA_OFFSET'), DATA_OFFSET);
    assert.equal(define('REC_DATA_OFFSET') - define('REC_BODY_SIZE'), HEADER_SIZE);
    const kinds = enumValues('K_');
    kinds.delete('K_MAX');
    for (const [name, n] of [...kinds, ...enumValues('H_')]) {
      const tsName = name
        .slice(2)
        .toLowerCase()
        .replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
      assert.equal(
        (Kind as Record<string, number>)[tsName],
        n,
        `${name} = ${n} in records.ts Kind.${tsName}`,
      );
      if (name.startsWith('K_')) assert.equal(KIND_NAMES[n], tsName.toLowerCase(), `KIND_NAMES[${n}]`);
    }
    assert.equal(Object.keys(KIND_NAMES).length, kinds.size, 'every kernel kind is named');
    for (const [name, v] of Object.entries(Outcome)) assert.equal(define(`O_${name.toUpperCase()}`), v);
  });

  it('has the same struct exec_ext offsets as the C compiler', () => {
    const fields = Object.keys(EXEC_EXT).filter((f) => f !== 'size');
    const out = compileAndRun(dir, 'exec', [
      'printf("%zu\\n", sizeof(struct exec_ext));',
      ...fields.map((f) => `printf("%zu\\n", offsetof(struct exec_ext, ${f === 'size_' ? 'size' : f}));`),
    ]);
    assert.equal(out[0], EXEC_EXT.size);
    assert.equal(define('EXEC_EXT_SIZE'), EXEC_EXT.size);
    for (const [i, f] of fields.entries()) {
      assert.equal(out[i + 1], (EXEC_EXT as Record<string, number>)[f], `exec_ext.${f}`);
    }
  });

  it('has the same struct net_body offsets as the C compiler', () => {
    const src = join(dir, 'offsets.c');
    const fields = Object.keys(NET_BODY);
    writeFileSync(
      src,
      `#include <stdio.h>
#include <stddef.h>
#include <linux/types.h>
#include "${HEADER}"
int main(void) {
  printf("%zu\\n", sizeof(struct rec_hdr));
${fields.map((f) => `  printf("%zu\\n", sizeof(struct rec_hdr) + offsetof(struct net_body, ${f}));`).join('\n')}
  printf("%zu\\n", sizeof(struct net_body));
  return 0;
}
`,
    );
    const bin = join(dir, 'offsets');
    const cc = spawnSync('cc', ['-o', bin, src], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `cc: ${cc.stderr}`);
    const out = spawnSync(bin, { encoding: 'utf8' }).stdout.trim().split('\n').map(Number);
    assert.equal(out[0], HEADER_SIZE);
    for (const [i, f] of fields.entries()) {
      assert.equal(out[i + 1], (NET_BODY as Record<string, number>)[f], `net_body.${f}`);
    }
    assert.equal(out[fields.length + 1], 64, 'net_body fills the body area');
  });
});
