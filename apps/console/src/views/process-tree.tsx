import type { OcsfEvent, OcsfProcess } from '../api';
import { Time } from '../ui';

interface Node {
  pid: number;
  proc: OcsfProcess;
  time: number;
  eventId: string;
  children: Node[];
}

/**
 * buildTree links process launches (OCSF 1007, activity 1) by parent pid: each exec is a node,
 * its parent the latest earlier exec of the parent pid, or (when that exec is not in the events)
 * a root made from the parent the event names.
 */
export function buildTree(events: OcsfEvent[]): Node[] {
  const execs = events
    .filter((e) => e.class_uid === 1007 && e.activity_id === 1 && e.process)
    .sort((a, b) => a.time - b.time);
  const byPid = new Map<number, Node>();
  const roots: Node[] = [];
  const synthetic = new Map<number, Node>();
  for (const e of execs) {
    const p = e.process!;
    const node: Node = { pid: p.pid, proc: p, time: e.time, eventId: e.metadata.uid, children: [] };
    const ppid = p.parent_process?.pid;
    const parent = ppid === undefined ? undefined : byPid.get(ppid);
    if (parent && parent !== node) parent.children.push(node);
    else if (ppid !== undefined) {
      let s = synthetic.get(ppid);
      if (!s) {
        s = { pid: ppid, proc: p.parent_process!, time: e.time, eventId: '', children: [] };
        synthetic.set(ppid, s);
        roots.push(s);
      }
      s.children.push(node);
    } else roots.push(node);
    byPid.set(p.pid, node);
  }
  return roots;
}

function NodeView({ n, highlight }: { n: Node; highlight?: number | undefined }) {
  const cmd = n.proc.cmd_line || n.proc.file?.path || n.proc.name || '';
  return (
    <li>
      <div className={`proc ${highlight === n.pid ? 'proc-hl' : ''}`}>
        <span className="pid">{n.pid}</span> <code>{cmd || '(unknown)'}</code>{' '}
        {n.eventId && (
          <span className="muted small">
            <Time at={n.time} />
          </span>
        )}
      </div>
      {n.children.length > 0 && (
        <ul>
          {n.children.map((c) => (
            <NodeView key={`${c.pid}-${c.eventId}`} n={c} highlight={highlight} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** ProcessTree shows parent → children with command lines. */
export function ProcessTree({ events, highlight }: { events: OcsfEvent[]; highlight?: number }) {
  const roots = buildTree(events);
  if (roots.length === 0) return <p className="empty">No process launches in this window.</p>;
  return (
    <ul className="tree" aria-label="Process tree">
      {roots.map((r) => (
        <NodeView key={`${r.pid}-${r.eventId}`} n={r} highlight={highlight} />
      ))}
    </ul>
  );
}
