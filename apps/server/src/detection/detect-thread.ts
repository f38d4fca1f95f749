import { parentPort, workerData } from 'node:worker_threads';
import { compileRuleSet, DetectionEngine } from '@palisade/detection';
import { readRuleFiles } from '@palisade/detection/files';
import { decodeEventBatch } from '@palisade/protocol';
import { type EventPosition, type Hit, hitOf } from './evidence.js';
import type { RulesConfig, ThreadReply, ThreadRequest } from './thread-protocol.js';

/**
 * The detection thread: it owns the compiled rules and the engine (correlation state), decodes
 * each batch with the one batch reader and returns the matches as plain Hits. It does no storage
 * I/O; the main thread reads batches and commits alerts with the cursor.
 */
function load(cfg: RulesConfig): {
  engine: DetectionEngine | undefined;
  summary: ThreadReply & { type: 'rules' };
} {
  const { files, errors } = readRuleFiles(cfg.paths);
  const set = compileRuleSet(files, { disabled: cfg.disabled });
  const statuses = set.statuses.map((s) => ({
    id: s.id,
    title: s.title ?? '',
    file: s.file,
    state: s.state,
    ...(s.reason ? { reason: s.reason } : {}),
  }));
  for (const e of errors)
    statuses.push({ id: e.path, title: '', file: e.path, state: 'error', reason: e.message });
  return { engine: new DetectionEngine(set), summary: { type: 'rules', statuses } };
}

let current = load(workerData as RulesConfig);
const port = parentPort!;
port.postMessage(current.summary);

port.on('message', (req: ThreadRequest) => {
  if (req.type === 'rules') {
    const next = load(req.config);
    if (current.engine && next.engine) current.engine.reload(next.engine.ruleSet);
    current = { engine: current.engine ?? next.engine, summary: next.summary };
    port.postMessage(next.summary);
    return;
  }
  const hits: Hit[] = [];
  const skipped: { batchId: number; reason: string }[] = [];
  const engine = current.engine!;
  const where = (m: { event: { ctx: object } }) => m.event.ctx as EventPosition;
  for (const b of req.batches) {
    if (!b.body) continue;
    let events: ReturnType<typeof decodeEventBatch>;
    try {
      events = decodeEventBatch(b.body);
    } catch (err) {
      skipped.push({ batchId: b.batchId, reason: (err as Error).message });
      continue;
    }
    for (let i = 0; i < events.length; i++) {
      const ctx: EventPosition = { agentId: b.agentId, hostname: b.hostname, batchId: b.batchId, index: i };
      for (const m of engine.evaluate(events[i]!, ctx)) {
        const h = hitOf(m, where);
        if (h) hits.push(h);
      }
    }
  }
  const reply: ThreadReply = { type: 'hits', hits, skipped, suspended: engine.stats().suspended };
  port.postMessage(reply);
});
