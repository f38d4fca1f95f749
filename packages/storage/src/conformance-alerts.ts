import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALERT_EVIDENCE_CAP, type AlertEvidence, type NewAlert } from './alert-types.js';
import { batch, fileEvent, processEvent, T0, uniqueId } from './conformance-fixtures.js';
import { type OpenStorage, rejectsWith, seedFleet, withStorage } from './conformance-helpers.js';

/** evidenceFixture is one process-launch evidence item at `timeMs`. */
export function evidenceFixture(
  agentId: string,
  timeMs: number,
  over: Partial<AlertEvidence> = {},
): AlertEvidence {
  return {
    eventId: null,
    agentId,
    timeMs,
    classUid: 1007,
    activityId: 1,
    logsource: 'process_creation',
    ruleId: 'rule-1',
    process: {
      pid: 4242,
      startTimeMs: timeMs - 5,
      uid: '0',
      userName: 'root',
      path: '/tmp/x',
      cmdLine: '/tmp/x -c',
      name: 'x',
      processUid: 'p-4242',
    },
    parentProcess: null,
    file: null,
    network: null,
    rawData: null,
    ...over,
  };
}

/** newAlertFixture is an alert candidate of `ruleId` on `agentId` seen once at `timeMs`. */
export function newAlertFixture(agentId: string, over: Partial<NewAlert> = {}): NewAlert {
  const ruleId = over.ruleId ?? 'rule-1';
  const t = over.firstSeenMs ?? T0;
  return {
    id: uniqueId('alert'),
    agentId,
    hostname: 'web-1',
    ruleId,
    ruleTitle: 'Execution from /tmp',
    ruleKind: 'detection',
    ruleDescription: null,
    severity: 'high',
    tactics: ['execution'],
    techniques: ['T1059.004'],
    groupKey: `${agentId}|${ruleId}`,
    count: 1,
    firstSeenMs: t,
    lastSeenMs: over.lastSeenMs ?? t,
    evidence: [evidenceFixture(agentId, t, { ruleId })],
    droppedEvidence: 0,
    ...over,
  };
}

const HOUR = 3_600_000;

/**
 * alertConformance registers the tests of the detection cursor (compare-and-set, moved only with
 * its alerts), alert creation and folding (group key, window, resolved alerts start anew,
 * evidence cap), listing with filters and paging, triage updates, reading batches in commit
 * order, the lag, and events by id.
 */
export function alertConformance(open: OpenStorage): void {
  describe('alerts and the detection cursor', () => {
    it('starts with the cursor at 0 and moves it only from where it is (compare and set)', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        assert.equal((await s.detectionCursor()).batchId, 0);
        const changes = await s.commitDetections({
          from: 0,
          to: 5,
          alerts: [newAlertFixture(a)],
          groupWindowMs: HOUR,
          at: T0 + 1,
        });
        assert.equal(changes.length, 1);
        assert.equal(changes[0]!.change, 'created');
        assert.equal(changes[0]!.alert.status, 'new');
        assert.deepEqual(await s.detectionCursor(), { batchId: 5, updatedAt: T0 + 1 });
        // A second pass from the old cursor (a duplicate worker, a replay) writes nothing.
        await rejectsWith(
          s.commitDetections({
            from: 0,
            to: 9,
            alerts: [newAlertFixture(a, { ruleId: 'other' })],
            groupWindowMs: HOUR,
            at: T0 + 2,
          }),
          'conflict',
          /cursor is at batch 5, not 0/,
        );
        assert.equal((await s.detectionCursor()).batchId, 5);
        assert.equal((await s.listAlerts({ limit: 10 })).alerts.length, 1);
        await rejectsWith(
          s.commitDetections({ from: 5, to: 4, alerts: [], groupWindowMs: HOUR, at: T0 }),
          'validation_failed',
          /forward/,
        );
      }));

    it('a bad alert in a pass writes nothing, not even the cursor', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        await rejectsWith(
          s.commitDetections({
            from: 0,
            to: 3,
            alerts: [newAlertFixture(a), newAlertFixture(a, { severity: 'catastrophic' as 'high' })],
            groupWindowMs: HOUR,
            at: T0,
          }),
          'bad_request',
          /severity "catastrophic"/,
        );
        assert.equal((await s.detectionCursor()).batchId, 0);
        assert.equal((await s.listAlerts({ limit: 10 })).alerts.length, 0);
      }));

    it('folds repeats of a group key within the window, keeps resolved alerts closed, caps evidence', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        const first = await s.commitDetections({
          from: 0,
          to: 1,
          alerts: [newAlertFixture(a, { firstSeenMs: T0 })],
          groupWindowMs: HOUR,
          at: T0,
        });
        const id = first[0]!.alert.id;
        const many = Array.from({ length: ALERT_EVIDENCE_CAP + 5 }, (_, i) =>
          evidenceFixture(a, T0 + 1000 + i),
        );
        const fold = await s.commitDetections({
          from: 1,
          to: 2,
          alerts: [
            newAlertFixture(a, {
              firstSeenMs: T0 + 1000,
              lastSeenMs: T0 + 2000,
              count: many.length,
              evidence: many,
            }),
          ],
          groupWindowMs: HOUR,
          at: T0 + 10,
        });
        assert.equal(fold[0]!.change, 'folded');
        assert.equal(fold[0]!.alert.id, id);
        const got = (await s.getAlert(id))!;
        assert.equal(got.count, 1 + many.length);
        assert.equal(got.firstSeenMs, T0);
        assert.equal(got.lastSeenMs, T0 + 2000);
        assert.equal(got.evidence.length, ALERT_EVIDENCE_CAP);
        assert.equal(got.droppedEvidence, many.length + 1 - ALERT_EVIDENCE_CAP);
        assert.equal(got.updatedAt, T0 + 10);
        assert.deepEqual(got.evidence[0]!.process, evidenceFixture(a, T0).process);

        // Another host, or another rule: a separate alert.
        const other = await s.commitDetections({
          from: 2,
          to: 3,
          alerts: [newAlertFixture(a, { ruleId: 'rule-2', firstSeenMs: T0 + 3000 })],
          groupWindowMs: HOUR,
          at: T0 + 20,
        });
        assert.equal(other[0]!.change, 'created');

        // Outside the window: a new alert.
        const late = await s.commitDetections({
          from: 3,
          to: 4,
          alerts: [newAlertFixture(a, { firstSeenMs: T0 + 3 * HOUR })],
          groupWindowMs: HOUR,
          at: T0 + 30,
        });
        assert.equal(late[0]!.change, 'created');
        const lateId = late[0]!.alert.id;

        // A resolved alert does not absorb repeats; a suppressed one does (and stays suppressed).
        await s.updateAlert(lateId, { status: 'resolved' }, T0 + 40);
        const afterResolve = await s.commitDetections({
          from: 4,
          to: 5,
          alerts: [newAlertFixture(a, { firstSeenMs: T0 + 3 * HOUR + 1 })],
          groupWindowMs: HOUR,
          at: T0 + 50,
        });
        assert.equal(afterResolve[0]!.change, 'created');
        await s.updateAlert(afterResolve[0]!.alert.id, { status: 'suppressed' }, T0 + 60);
        const intoSuppressed = await s.commitDetections({
          from: 5,
          to: 6,
          alerts: [newAlertFixture(a, { firstSeenMs: T0 + 3 * HOUR + 2 })],
          groupWindowMs: HOUR,
          at: T0 + 70,
        });
        assert.equal(intoSuppressed[0]!.change, 'folded');
        assert.equal(intoSuppressed[0]!.alert.status, 'suppressed');
        assert.equal((await s.listAlerts({ limit: 100 })).alerts.length, 4);
      }));

    it('lists newest first with filters and cursor paging', () =>
      withStorage(open, async (s) => {
        const [x, y] = (await seedFleet(s, 2)).agents.map((g) => g.id) as [string, string];
        const alerts = [
          newAlertFixture(x, { ruleId: 'r-a', severity: 'low', firstSeenMs: T0 }),
          newAlertFixture(x, { ruleId: 'r-b', severity: 'high', firstSeenMs: T0 + 10 * HOUR }),
          newAlertFixture(y, { ruleId: 'r-a', severity: 'critical', firstSeenMs: T0 + 20 * HOUR }),
          newAlertFixture(y, { ruleId: 'r-c', severity: 'medium', firstSeenMs: T0 + 30 * HOUR }),
        ];
        await s.commitDetections({ from: 0, to: 1, alerts, groupWindowMs: HOUR, at: T0 });
        const all = await s.listAlerts({ limit: 10 });
        assert.deepEqual(
          all.alerts.map((a) => a.ruleId),
          ['r-c', 'r-a', 'r-b', 'r-a'],
        );
        assert.equal(all.nextCursor, undefined);
        assert.deepEqual(
          (await s.listAlerts({ limit: 10, agentId: x })).alerts.map((a) => a.ruleId),
          ['r-b', 'r-a'],
        );
        assert.equal((await s.listAlerts({ limit: 10, ruleId: 'r-a' })).alerts.length, 2);
        assert.deepEqual(
          (await s.listAlerts({ limit: 10, severity: 'high' })).alerts.map((a) => a.ruleId),
          ['r-b'],
        );
        assert.deepEqual(
          (await s.listAlerts({ limit: 10, minSeverity: 'high' })).alerts.map((a) => a.severity),
          ['critical', 'high'],
        );
        assert.deepEqual(
          (await s.listAlerts({ limit: 10, fromMs: T0 + 10 * HOUR, toMs: T0 + 30 * HOUR })).alerts.map(
            (a) => a.severity,
          ),
          ['critical', 'high'],
        );
        await s.updateAlert(all.alerts[0]!.id, { status: 'in_progress' }, T0 + 1);
        assert.deepEqual(
          (await s.listAlerts({ limit: 10, status: 'in_progress' })).alerts.map((a) => a.ruleId),
          ['r-c'],
        );

        const p1 = await s.listAlerts({ limit: 3 });
        assert.equal(p1.alerts.length, 3);
        assert.ok(p1.nextCursor);
        const p2 = await s.listAlerts({ limit: 3, cursor: p1.nextCursor });
        assert.deepEqual(
          p2.alerts.map((a) => a.id),
          [all.alerts[3]!.id],
        );
        assert.equal(p2.nextCursor, undefined);

        await rejectsWith(s.listAlerts({ limit: 10, cursor: 'garbage' }), 'bad_request', /cursor/);
        await rejectsWith(s.listAlerts({ limit: 0 }), 'bad_request', /limit/);
        await rejectsWith(
          s.listAlerts({ limit: 5, severity: 'bad' as 'low' }),
          'bad_request',
          /severity "bad"/,
        );
        await rejectsWith(
          s.listAlerts({ limit: 5, status: 'gone' as 'new' }),
          'bad_request',
          /status "gone"/,
        );
      }));

    it('updates status, assignee and comment; an unknown alert is not_found', () =>
      withStorage(open, async (s) => {
        const a = (await seedFleet(s, 1)).agents[0]!.id;
        const [c] = await s.commitDetections({
          from: 0,
          to: 1,
          alerts: [newAlertFixture(a)],
          groupWindowMs: HOUR,
          at: T0,
        });
        const id = c!.alert.id;
        const u = await s.updateAlert(
          id,
          { status: 'in_progress', assignee: 'alice', comment: 'looking' },
          T0 + 5,
        );
        assert.equal(u.status, 'in_progress');
        assert.equal(u.assignee, 'alice');
        assert.equal(u.comment, 'looking');
        assert.equal(u.updatedAt, T0 + 5);
        const cleared = await s.updateAlert(id, { assignee: null }, T0 + 6);
        assert.equal(cleared.assignee, null);
        assert.equal(cleared.comment, 'looking');
        assert.equal(cleared.status, 'in_progress');
        await rejectsWith(s.updateAlert('nope', { status: 'resolved' }, T0), 'not_found', /alert "nope"/);
        await rejectsWith(s.updateAlert(id, { status: 'done' as 'new' }, T0), 'bad_request', /status "done"/);
        assert.equal(await s.getAlert('nope'), undefined);
      }));

    it('reads stored batches in commit order after a cursor, reports the lag, and reads events by id', () =>
      withStorage(open, async (s) => {
        const [x, y] = (await seedFleet(s, 2)).agents.map((g) => g.id) as [string, string];
        await s.storeBatches([batch(x, 1, [processEvent(1), processEvent(2)], T0 + 1)]);
        await s.storeBatches([batch(y, 1, [fileEvent(3, '/etc/shadow')], T0 + 2), batch(x, 2, [], T0 + 3)]);
        await s.storeBatches([batch(x, 3, [processEvent(4, { cmd: '/tmp/evil -x' })], T0 + 4)]);
        const all = await s.readBatchesAfter(0, 100, 1_000_000);
        assert.deepEqual(
          all.map((b) => [b.agentId, b.seq, b.eventCount]),
          [
            [x, 1n, 2],
            [y, 1n, 1],
            [x, 2n, 0],
            [x, 3n, 1],
          ],
        );
        for (let i = 1; i < all.length; i++) assert.ok(all[i]!.batchId > all[i - 1]!.batchId);
        assert.equal(all[2]!.body, null);
        assert.ok(all[0]!.body instanceof Uint8Array && all[0]!.body.length > 0);
        const after = await s.readBatchesAfter(all[1]!.batchId, 100, 1_000_000);
        assert.deepEqual(
          after.map((b) => b.batchId),
          [all[2]!.batchId, all[3]!.batchId],
        );
        // The event budget stops early, but always returns at least one batch.
        assert.equal((await s.readBatchesAfter(0, 100, 1)).length, 1);
        assert.equal((await s.readBatchesAfter(0, 2, 1_000_000)).length, 2);

        const lag = await s.detectionLag();
        assert.equal(lag.cursor, 0);
        assert.equal(lag.batches, 4);
        assert.equal(lag.events, 4);
        assert.equal(lag.newestBatchId, all[3]!.batchId);
        assert.equal(lag.oldestPendingReceivedAt, T0 + 1);
        await s.commitDetections({ from: 0, to: all[3]!.batchId, alerts: [], groupWindowMs: HOUR, at: T0 });
        const none = await s.detectionLag();
        assert.equal(none.batches, 0);
        assert.equal(none.events, 0);
        assert.equal(none.oldestPendingReceivedAt, null);

        const ids = [
          s.eventIdOf(all[3]!.batchId, 0),
          s.eventIdOf(all[0]!.batchId, 1),
          s.eventIdOf(all[0]!.batchId, 7),
        ];
        const evs = await s.getEvents(ids);
        assert.deepEqual(
          evs.map((e) => e.event.process?.cmdLine),
          ['/tmp/evil -x', processEvent(2).process!.cmdLine],
        );
        assert.equal(evs[0]!.id, ids[0]);
        assert.equal(evs[0]!.agentId, x);
        // The ids are the ones event search returns.
        const found = await s.searchEvents({ contains: '/tmp/evil', limit: 5 });
        assert.equal(found.events[0]!.id, ids[0]);
      }));
  });
}
