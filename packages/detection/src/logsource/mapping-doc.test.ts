import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { renderMappingTable } from './mapping-doc.js';
import { MAPPING } from './mapping.js';

const DOC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../docs/detection.md');

test('docs/detection.md shows the mapping table exactly as the code defines it', () => {
  const doc = readFileSync(DOC, 'utf8');
  assert.ok(
    doc.includes(renderMappingTable()),
    'docs/detection.md is out of date: paste renderMappingTable() output between the mapping markers',
  );
});

test('every mapped log source has fields and keyword fields that exist', () => {
  for (const d of MAPPING) {
    const names = new Set(d.fields.map((f) => f.name));
    assert.equal(names.size, d.fields.length, `${d.id} lists a field twice`);
    for (const k of d.keywords) assert.ok(names.has(k), `${d.id}: keyword field ${k} is not a field`);
    assert.ok(d.typeUids.length > 0, d.id);
  }
});
