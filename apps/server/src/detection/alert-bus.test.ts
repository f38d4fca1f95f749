import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '@palisade/common';
import type { AlertChange } from '@palisade/storage';
import { newAlertFixture } from '@palisade/storage/testing';
import { AlertBus } from './alert-bus.js';

function recordingLogger(lines: string[]): Logger {
  const log = (_o: object, msg?: string) => {
    lines.push(msg ?? '');
  };
  const l: Logger = { debug: log, info: log, warn: log, error: log, child: () => l };
  return l;
}

function change(kind: AlertChange['change']): AlertChange {
  const a = newAlertFixture('agent-1');
  return {
    change: kind,
    alert: { ...a, status: 'new', assignee: null, comment: null, createdAt: 1, updatedAt: 1 },
  };
}

describe('AlertBus', () => {
  it('hands every change to every listener in order; unsubscribing stops delivery', () => {
    const bus = new AlertBus(recordingLogger([]));
    const seen: string[] = [];
    const off = bus.onAlert((c) => {
      seen.push(`a:${c.change}`);
    });
    bus.onAlert((c) => {
      seen.push(`b:${c.change}`);
    });
    bus.publish([change('created'), change('folded')]);
    assert.deepEqual(seen, ['a:created', 'b:created', 'a:folded', 'b:folded']);
    off();
    bus.publish([change('created')]);
    assert.deepEqual(seen.slice(4), ['b:created']);
    assert.equal(bus.size, 1);
  });

  it('a listener that throws or rejects is logged and the others still run', async () => {
    const lines: string[] = [];
    const bus = new AlertBus(recordingLogger(lines));
    let after = 0;
    bus.onAlert(() => {
      throw new Error('boom');
    });
    bus.onAlert(async () => {
      throw new Error('async boom');
    });
    bus.onAlert(() => {
      after++;
    });
    bus.publish([change('created')]);
    await new Promise((r) => setImmediate(r));
    assert.equal(after, 1);
    assert.deepEqual(lines, ['alert listener failed', 'alert listener failed']);
  });
});
