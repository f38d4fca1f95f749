import { useState } from 'react';
import { type Agent, api, type Group, qs } from '../api';
import { useLive } from '../live';
import { go, href } from '../router';
import { Badge, Empty, ErrorBox, Time, useLoad } from '../ui';

const PAGE = 25;

export function presenceBadge(a: Agent) {
  return (
    <Badge kind={a.presence === 'online' ? 'ok' : a.presence === 'offline' ? 'warn' : 'muted'}>
      {a.presence}
    </Badge>
  );
}

export function isolationBadge(a: Agent) {
  const s = a.isolation.status;
  if (s === 'not_isolated') return <span className="muted">no</span>;
  return <Badge kind={s === 'isolated' ? 'danger' : 'warn'}>{s.replace('_', ' ')}</Badge>;
}

/** AgentsView is the agents table: search, filters and sort in the URL, paged by the server. */
export function AgentsView({ params }: { params: URLSearchParams }) {
  const p = Object.fromEntries(params) as Record<string, string | undefined>;
  const offset = Number(p.offset ?? 0);
  const [search, setSearch] = useState(p.search ?? '');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const groups = useLoad(() => api<{ groups: Group[] }>('GET', '/groups'), []);
  const q = { ...p, limit: PAGE, offset, sort: p.sort ?? 'hostname', order: p.order ?? 'asc' };
  const { data, error, reload } = useLoad(
    () => api<{ agents: Agent[]; total: number }>('GET', `/agents${qs(q)}`),
    [params.toString()],
  );
  useLive((c) => {
    if (c.agents.length) reload();
  });
  const set = (k: string, v: string | undefined) => go('/agents', { ...p, [k]: v, offset: undefined });
  const sortBy = (k: string) =>
    go('/agents', { ...p, sort: k, order: q.sort === k && q.order === 'asc' ? 'desc' : 'asc' });
  const th = (k: string, label: string) => (
    <th aria-sort={q.sort === k ? (q.order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="link" onClick={() => sortBy(k)}>
        {label} {q.sort === k ? (q.order === 'asc' ? '▲' : '▼') : ''}
      </button>
    </th>
  );
  const rows = data?.agents ?? [];
  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    setSelected(s);
  };
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      <form
        className="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          set('search', search || undefined);
        }}
      >
        <label>
          Search
          <input
            type="search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="host, id or address"
          />
        </label>
        <label>
          Group
          <select value={p.group ?? ''} onChange={(e) => set('group', e.target.value || undefined)}>
            <option value="">all</option>
            {groups.data?.groups.map((g) => (
              <option key={g.id} value={g.name}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Presence
          <select value={p.presence ?? ''} onChange={(e) => set('presence', e.target.value || undefined)}>
            <option value="">all</option>
            <option value="online">online</option>
            <option value="offline">offline</option>
            <option value="stale">stale</option>
          </select>
        </label>
        <label>
          Isolation
          <select value={p.isolated ?? ''} onChange={(e) => set('isolated', e.target.value || undefined)}>
            <option value="">all</option>
            <option value="true">isolated</option>
            <option value="false">not isolated</option>
          </select>
        </label>
        <label>
          Version
          <input
            value={p.version ?? ''}
            onChange={(e) => set('version', e.target.value || undefined)}
            size={8}
          />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={error} />
      {selected.size > 0 && (
        <p className="bulk" aria-live="polite">
          {selected.size} selected —{' '}
          <button type="button" className="link" onClick={() => setSelected(new Set())}>
            clear
          </button>
        </p>
      )}
      {data && rows.length === 0 ? (
        <Empty>
          No agents match. Register one with the key from Groups &amp; keys (palisade agent --server …
          --registration-key-file …).
        </Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>
                <span className="sr-only">Select</span>
              </th>
              {th('hostname', 'Host')}
              <th>Presence</th>
              {th('group', 'Group')}
              {th('version', 'Version')}
              <th>Isolation</th>
              <th>Policy</th>
              {th('last_seen', 'Last seen')}
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${a.hostname}`}
                    checked={selected.has(a.id)}
                    onChange={() => toggle(a.id)}
                  />
                </td>
                <td>
                  <a href={href(`/agents/${a.id}`)}>{a.hostname}</a>
                  <div className="muted small">{a.ip_addresses.slice(0, 2).join(', ')}</div>
                </td>
                <td>{presenceBadge(a)}</td>
                <td>{a.group}</td>
                <td>{a.version}</td>
                <td>{isolationBadge(a)}</td>
                <td>{a.policy_up_to_date ? 'current' : <Badge kind="warn">out of date</Badge>}</td>
                <td>
                  <Time at={a.last_seen_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && data.total > PAGE && (
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            disabled={offset === 0}
            onClick={() => go('/agents', { ...p, offset: String(Math.max(0, offset - PAGE)) })}
          >
            Previous
          </button>
          <span>
            {offset + 1}–{Math.min(offset + PAGE, data.total)} of {data.total}
          </span>
          <button
            type="button"
            disabled={offset + PAGE >= data.total}
            onClick={() => go('/agents', { ...p, offset: String(offset + PAGE) })}
          >
            Next
          </button>
        </nav>
      )}
      {data && <p className="muted small">{data.total} agents</p>}
    </section>
  );
}
