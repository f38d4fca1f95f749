import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecordStream } from './record-stream.js';
import {
  type BpfRecord,
  DATA_OFFSET,
  decodeRecord,
  type FileRecord,
  Kind,
  type NetRecord,
  normalize,
  REC_MAGIC,
} from './records.js';

/** fileRecord builds a kernel rename record the way palisade.bpf.c lays it out. */
function renameRecord(n1: string, d1: string[], n2: string, d2: string[], flags = 0): Buffer {
  const parts = [
    n1 ? `${n1}\0` : '',
    d1.map((c) => `${c}\0`).join(''),
    n2 ? `${n2}\0` : '',
    d2.map((c) => `${c}\0`).join(''),
  ];
  const data = Buffer.from(parts.join(''));
  const b = Buffer.alloc(DATA_OFFSET + data.length);
  b.writeUInt16LE(REC_MAGIC, 0);
  b.writeUInt16LE(Kind.Rename, 2);
  b.writeUInt32LE(b.length, 4);
  b.writeUInt32LE(1234, 24);
  b.writeUInt32LE(flags, 44);
  b.write('mv', 48);
  b.writeUInt16LE(Buffer.byteLength(parts[0]!), 68);
  b.writeUInt16LE(Buffer.byteLength(parts[1]!), 70);
  b.writeUInt16LE(Buffer.byteLength(parts[2]!), 72);
  b.writeUInt16LE(Buffer.byteLength(parts[3]!), 74);
  data.copy(b, DATA_OFFSET);
  return b;
}

describe('records', () => {
  test('a rename resolves relative names against the walked directories', () => {
    const r = decodeRecord(renameRecord('a.txt', ['work', 'tmp'], '../b.txt', ['work', 'tmp'])) as FileRecord;
    assert.equal(r.kind, Kind.Rename);
    assert.equal(r.pid, 1234);
    assert.equal(r.comm, 'mv');
    assert.equal(r.path, '/tmp/work/a.txt');
    assert.equal(r.newPath, '/tmp/b.txt');
  });

  test('absolute names are used as given (normalised)', () => {
    const r = decodeRecord(renameRecord('/etc//x/./y', [], '/etc/z', [], 16 | 32)) as FileRecord;
    assert.equal(r.path, '/etc/x/y');
    assert.equal(r.newPath, '/etc/z');
  });

  test('lengths that run past the record are an error naming the field', () => {
    const b = renameRecord('a', ['d'], 'b', ['d']);
    b.writeUInt16LE(5000, 70);
    assert.throws(() => decodeRecord(b), /file directory runs past the end/);
    const unknown = renameRecord('a', [], 'b', []);
    unknown.writeUInt16LE(77, 2);
    assert.throws(() => decodeRecord(unknown), /unknown record kind 77/);
  });

  test('IPv6 addresses are compressed; IPv4-mapped ones are shown as IPv4', () => {
    const net = (raddr: number[]) => {
      const b = Buffer.alloc(DATA_OFFSET);
      b.writeUInt16LE(REC_MAGIC, 0);
      b.writeUInt16LE(Kind.Connect, 2);
      b.writeUInt32LE(b.length, 4);
      b.writeUInt16LE(10, 64);
      Buffer.from(raddr).copy(b, 88);
      return decodeRecord(b) as NetRecord;
    };
    assert.equal(net([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).remoteIp, '::1');
    assert.equal(net([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3]).remoteIp, '10.1.2.3');
    assert.equal(
      net([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42]).remoteIp,
      '2001:db8::42',
    );
  });

  test('normalize handles dot segments and climbing above the root', () => {
    assert.equal(normalize('/a/b/../../../c'), '/c');
    assert.equal(normalize('/'), '/');
  });
});

describe('RecordStream', () => {
  test('records split across chunks are reassembled', () => {
    const got: BpfRecord[] = [];
    const s = new RecordStream((r) => got.push(r));
    const one = renameRecord('a', ['x'], 'b', ['x']);
    const both = Buffer.concat([one, one]);
    for (let i = 0; i < both.length; i += 7) s.push(both.subarray(i, i + 7));
    assert.equal(got.length, 2);
    assert.equal(s.pending, 0);
  });

  test('garbage between records is skipped and counted; the stream resyncs on the next record', () => {
    const got: BpfRecord[] = [];
    const errors: string[] = [];
    const s = new RecordStream(
      (r) => got.push(r),
      (m) => errors.push(m),
    );
    const rec = renameRecord('a', ['x'], 'b', ['x']);
    const garbage = Buffer.from('this is not a record at all, AP but not magic enough');
    s.push(Buffer.concat([rec, garbage, rec]));
    assert.equal(got.length, 2);
    assert.equal(s.stats.resyncs, 1);
    assert.ok(s.stats.skippedBytes >= garbage.length);
    assert.match(errors[0] ?? '', /bad frame/);
  });

  test('an oversized length is garbage, not a reason to buffer forever', () => {
    const s = new RecordStream(() => {});
    const b = Buffer.alloc(16);
    b.writeUInt16LE(REC_MAGIC, 0);
    b.writeUInt32LE(0x7fffffff, 4);
    s.push(b);
    assert.equal(s.stats.resyncs, 1);
    assert.ok(s.pending <= 1);
  });

  test('a frame that fails to decode is dropped and counted; a throwing handler is contained', () => {
    const bad = renameRecord('a', [], 'b', []);
    bad.writeUInt16LE(9000, 68);
    let calls = 0;
    const s = new RecordStream(() => {
      calls++;
      throw new Error('handler bug');
    });
    s.push(Buffer.concat([bad, renameRecord('a', [], 'b', [])]));
    assert.equal(calls, 1);
    assert.equal(s.stats.badRecords, 2);
    assert.equal(s.stats.records, 1);
  });
});
