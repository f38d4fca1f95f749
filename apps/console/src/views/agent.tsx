import { useState } from 'react';
import { type Agent, api, type Command, type OcsfEvent, qs } from '../api';
import { useLive } from '../live';
import { href } from '../router';
import { can, useSession } from '../session';
import { Badge, Confirm, Empty, ErrorBox, Time, useLoad } from '../ui';
import { isolationBadge, presenceBadge } from './agents';
import { eventSummary } from './events';
import { ProcessTree } from './process-tree';

/** AgentPage: host facts, capabilities, channel, spool, policy, isolation (desired vs actual), commands, timeline. */
export function AgentPage({ id }: { id: string }) {
  const { user } = useSession();
  const agent = useLoad(() => api<Agent>('GET', `/agents/${encodeURIComponent(id)}`), [id]);
  const commands = useLoad(
    () => api<{ commands: Command[] }>('GET', `/commands${qs({ agent_id: id, limit: 20 })}`),
    [id],
  );
  const [windowMin, setWindowMin] = useState(60);
  const [find, setFind] = useState('');
  const [contains, setContains] = useState('');
  const events = useLoad(
    () =>
      api<{ events: OcsfEvent[] }>(
        'GET',
        `/events${qs({ agent_id: id, contains, from: new Date(Date.now() - windowMin * 60_000).toISOString(), limit: 500 })}`,
      ),
    [id, windowMin, contains],
  );
  const [confirm, setConfirm] = useState<'isolate' | 'restore' | null>(null);
  const [reason, setReason] = useState('');
  const [actionError, setActionError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  useLive((c) => {
    if (c.agents.includes(id)) agent.reload();
    if (c.commands.some((x) => x.agent_id === id)) {
      commands.reload();
      agent.reload();
    }
  });
  const a = agent.data;
  async function act(kind: 'isolate' | 'restore') {
    setConfirm(null);
    setActionError(undefined);
    try {
      await api('POST', `/agents/${id}/${kind}`, { reason: reason || `${kind} from the console` });
      setNotice(`${kind === 'isolate' ? 'Isolation' : 'Restore'} requested; waiting for the agent.`);
      setReason('');
      agent.reload();
      commands.reload();
    } catch (e) {
      setActionError(e);
    }
  }
  if (agent.error) return <ErrorBox error={agent.error} />;
  if (!a) return <p className="empty">Loading…</p>;
  const spool = Object.entries(a.stats).filter(([k]) => /spool|drop|queue/i.test(k));
  const desired = a.isolation.desired;
  return (
    <section aria-labelledby="agent-title">
      <p>
        <a href={href('/agents')}>← Agents</a>
      </p>
      <h1 id="agent-title">
        {a.hostname} {presenceBadge(a)}
      </h1>
      <div className="cols">
        <div className="card">
          <h2>Host</h2>
          <dl className="facts">
            <dt>Agent id</dt>
            <dd>
              <code>{a.id}</code>
            </dd>
            <dt>OS</dt>
            <dd>
              {a.os} {a.os_version} ({a.arch}), kernel {a.kernel}
            </dd>
            <dt>Addresses</dt>
            <dd>{a.ip_addresses.join(', ') || '—'}</dd>
            <dt>Version</dt>
            <dd>{a.version}</dd>
            <dt>Group</dt>
            <dd>
              {a.group} (policy rev {a.policy_revision}
              {a.policy_up_to_date ? ', current' : `, group is at ${a.group_policy_revision}`})
            </dd>
            <dt>Channel</dt>
            <dd>
              {a.connection.state === 'connected'
                ? `${a.connection.channel ?? '?'} since `
                : 'not connected, last seen '}
              <Time at={a.connection.state === 'connected' ? a.connection.since : a.last_seen_at} />
            </dd>
            <dt>Registered</dt>
            <dd>
              <Time at={a.registered_at} />
            </dd>
            <dt>Spool</dt>
            <dd>
              {spool.length ? spool.map(([k, v]) => `${k}: ${v}`).join(', ') : 'no spool figures reported'}
            </dd>
          </dl>
        </div>
        <div className="card">
          <h2>Isolation</h2>
          <dl className="facts">
            <dt>Status</dt>
            <dd>{isolationBadge(a)}</dd>
            <dt>Desired</dt>
            <dd>
              {desired?.isolated ? 'isolated' : 'not isolated'} (rev {desired?.revision ?? 0}
              {desired?.by ? `, by ${desired.by}` : ''})
            </dd>
            <dt>Actual</dt>
            <dd>
              {a.isolation.actual
                ? `${a.isolation.actual.state} (rev ${a.isolation.actual.revision})`
                : 'not reported yet'}
            </dd>
          </dl>
          {can(user, 'analyst') ? (
            <div className="actions">
              <label>
                Reason
                <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={256} />
              </label>
              {desired?.isolated ? (
                <button type="button" onClick={() => setConfirm('restore')}>
                  Restore network
                </button>
              ) : (
                <button type="button" className="danger" onClick={() => setConfirm('isolate')}>
                  Isolate host
                </button>
              )}
            </div>
          ) : (
            <p className="muted small">Your role ({user.role}) cannot isolate or restore hosts.</p>
          )}
          <ErrorBox error={actionError} />
          {notice && (
            <p role="status" className="notice">
              {notice}
            </p>
          )}
        </div>
      </div>
      {confirm && (
        <Confirm
          title={confirm === 'isolate' ? `Isolate ${a.hostname}?` : `Restore ${a.hostname}?`}
          confirmLabel={confirm === 'isolate' ? `Isolate ${a.hostname}` : `Restore ${a.hostname}`}
          danger={confirm === 'isolate'}
          onCancel={() => setConfirm(null)}
          onConfirm={() => act(confirm)}
        >
          {confirm === 'isolate' ? (
            <p>
              <strong>{a.hostname}</strong> will lose all network access except to this server until it is
              restored.
            </p>
          ) : (
            <p>
              <strong>{a.hostname}</strong> gets its network back.
            </p>
          )}
        </Confirm>
      )}
      <div className="card">
        <h2>Capabilities</h2>
        {a.capabilities.length === 0 ? (
          <Empty>None reported.</Empty>
        ) : (
          <ul className="caps">
            {a.capabilities.map((c) => (
              <li key={c.kind}>
                <Badge kind={c.active ? 'ok' : 'muted'}>{c.active ? 'active' : 'inactive'}</Badge> {c.kind}{' '}
                <span className="muted small">
                  {c.source}
                  {c.reason ? ` — ${c.reason}` : ''}
                </span>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="card">
        <h2>Response commands</h2>
        <ErrorBox error={commands.error} />
        {commands.data && commands.data.commands.length === 0 ? (
          <Empty>No commands sent to this host.</Empty>
        ) : (
          <table className="grid" aria-label="Command history">
            <thead>
              <tr>
                <th>Type</th>
                <th>State</th>
                <th>Reason</th>
                <th>By</th>
                <th>Created</th>
                <th>Finished</th>
              </tr>
            </thead>
            <tbody>
              {commands.data?.commands.map((c) => (
                <tr key={c.id}>
                  <td>{c.type}</td>
                  <td>
                    <Badge
                      kind={
                        c.state === 'succeeded'
                          ? 'ok'
                          : c.state === 'failed' || c.state === 'expired'
                            ? 'danger'
                            : 'warn'
                      }
                    >
                      {c.state}
                    </Badge>
                    {c.error && <div className="small">{c.error}</div>}
                  </td>
                  <td>{c.reason}</td>
                  <td>{(c.requested_by as { name: string } | undefined)?.name}</td>
                  <td>
                    <Time at={c.created_at} />
                  </td>
                  <td>
                    <Time at={c.finished_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div className="card">
        <h2>Timeline</h2>
        <label>
          Window{' '}
          <select value={windowMin} onChange={(e) => setWindowMin(Number(e.target.value))}>
            <option value={15}>last 15 minutes</option>
            <option value={60}>last hour</option>
            <option value={1440}>last 24 hours</option>
          </select>
        </label>{' '}
        <form
          className="filters"
          aria-label="Timeline filter"
          onSubmit={(e) => {
            e.preventDefault();
            if (find === contains) events.reload();
            else setContains(find);
          }}
        >
          <label>
            Find in timeline
            <input
              type="search"
              value={find}
              onChange={(e) => setFind(e.target.value)}
              placeholder="command line, path, name"
            />
          </label>
          <button type="submit">Refresh</button>
        </form>
        <ErrorBox error={events.error} />
        <h3>Process tree</h3>
        {events.data && <ProcessTree events={events.data.events} />}
        <h3>Recent events</h3>
        {events.data && events.data.events.length === 0 ? (
          <Empty>No events from this host in this window.</Empty>
        ) : (
          <ol className="timeline">
            {events.data?.events.slice(0, 100).map((e) => (
              <li key={e.metadata.uid}>
                <Time at={e.time} /> <span className="cls">{e.class_name ?? e.class_uid}</span>{' '}
                {eventSummary(e)}
              </li>
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}
