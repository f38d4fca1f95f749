import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz } from '@palisade/testkit';
import { SPOOL_READER } from './spool-reader.fuzz.test-util.js';

test('fuzz: the spool reader counts damage and never throws anything but BatchRecordError (bounded budget)', async () => {
  const r = await fuzz(SPOOL_READER, 2000);
  assert.equal(r.accepted + r.refused, 2000);
  assert.ok(r.accepted > 0 && r.refused > 0, JSON.stringify(r));
});
