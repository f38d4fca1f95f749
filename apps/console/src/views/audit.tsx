import { useState } from 'react';
import { api, qs } from '../api';
import { go } from '../router';
import { Empty, ErrorBox, Time, useLoad } from '../ui';

interface Entry {
  id: string;
  at: string;
  actor: { id: string | null; name: string };
  action: string;
  target: { type: string; id: string | null };
  remote_address: string;
  outcome: string;
  details: Record<string, unknown>;
}

/** AuditView searches the audit log (admin), newest first. */
export function AuditView({ params }: { params: URLSearchParams }) {
  const p = Object.fromEntries(params) as Record<string, string | undefined>;
  const [form, setForm] = useState({
    actor: p.actor ?? '',
    action: p.action ?? '',
    outcome: p.outcome ?? '',
  });
  const { data, error } = useLoad(
    () => api<{ entries: Entry[]; next_cursor: string | null }>('GET', `/audit${qs({ ...p, limit: 50 })}`),
    [params.toString()],
  );
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form
        className="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          go('/audit', {
            actor: form.actor || undefined,
            action: form.action || undefined,
            outcome: form.outcome || undefined,
          });
        }}
      >
        <label>
          Actor
          <input value={form.actor} onChange={(e) => setForm({ ...form, actor: e.target.value })} />
        </label>
        <label>
          Action
          <input
            value={form.action}
            onChange={(e) => setForm({ ...form, action: e.target.value })}
            placeholder="group, agent.isolate, …"
          />
        </label>
        <label>
          Outcome
          <select value={form.outcome} onChange={(e) => setForm({ ...form, outcome: e.target.value })}>
            <option value="">any</option>
            <option value="ok">ok</option>
            <option value="denied">denied</option>
          </select>
        </label>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      <ErrorBox error={error} />
      {data && data.entries.length === 0 ? (
        <Empty>No audit entries match.</Empty>
      ) : (
        <table className="grid" aria-label="Audit entries">
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Target</th>
              <th>Outcome</th>
              <th>From</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            {data?.entries.map((e) => (
              <tr key={e.id}>
                <td>
                  <Time at={e.at} />
                </td>
                <td>{e.actor.name}</td>
                <td>{e.action}</td>
                <td className="small">
                  {e.target.type} {e.target.id}
                </td>
                <td>{e.outcome}</td>
                <td>{e.remote_address}</td>
                <td className="small">
                  <code>{JSON.stringify(e.details)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data?.next_cursor && (
        <nav className="pager" aria-label="Pages">
          <button type="button" onClick={() => go('/audit', { ...p, cursor: data.next_cursor ?? undefined })}>
            Older entries
          </button>
        </nav>
      )}
    </section>
  );
}
