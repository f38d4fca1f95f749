import { useState } from 'react';
import { api, type OcsfEvent, qs } from '../api';
import { go, href } from '../router';
import { Empty, ErrorBox, Time, useLoad } from '../ui';

const CLASSES = ['process', 'file', 'network', 'dns', 'auth'];

/** eventSummary is one line for an OCSF event: the process and what it did. */
export function eventSummary(e: OcsfEvent): string {
  const p = e.process ?? e.actor?.process;
  const parts = [e.activity_name ?? `activity ${e.activity_id}`];
  if (p?.cmd_line) parts.push(p.cmd_line);
  else if (p?.name) parts.push(p.name);
  const file = (e.file as { path?: string } | undefined)?.path;
  if (file) parts.push(file);
  const dst = e.dst_endpoint as { ip?: string; port?: number } | undefined;
  if (dst?.ip) parts.push(`→ ${dst.ip}${dst.port ? `:${dst.port}` : ''}`);
  const q = (e.query as { hostname?: string } | undefined)?.hostname;
  if (q) parts.push(q);
  const u = (e.user as { name?: string } | undefined)?.name;
  if (u) parts.push(`user ${u}`);
  return parts.join(' · ');
}

function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

/** EventsView searches stored events by class, activity, agent, time range and text, paged by cursor. */
export function EventsView({ params }: { params: URLSearchParams }) {
  const p = Object.fromEntries(params) as Record<string, string | undefined>;
  const [form, setForm] = useState({
    class: p.class ?? '',
    activity: p.activity ?? '',
    agent: p.agent ?? '',
    contains: p.contains ?? '',
    from: toLocalInput(p.from),
    to: toLocalInput(p.to),
  });
  const [open, setOpen] = useState<string | null>(null);
  const { data, error } = useLoad(
    () =>
      api<{ events: OcsfEvent[]; next_cursor: string | null }>(
        'GET',
        `/events${qs({ class: p.class, activity: p.activity, agent_id: p.agent, contains: p.contains, from: p.from, to: p.to, cursor: p.cursor, limit: 50 })}`,
      ),
    [params.toString()],
  );
  const submit = () =>
    go('/events', {
      class: form.class || undefined,
      activity: form.activity || undefined,
      agent: form.agent || undefined,
      contains: form.contains || undefined,
      from: form.from ? new Date(form.from).toISOString() : undefined,
      to: form.to ? new Date(form.to).toISOString() : undefined,
    });
  const field = (k: keyof typeof form) => ({
    value: form[k],
    onChange: (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value }),
  });
  return (
    <section aria-labelledby="ev-title">
      <h1 id="ev-title">Events</h1>
      <form
        className="filters"
        aria-label="Filters"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <label>
          Class
          <select {...field('class')}>
            <option value="">any</option>
            {CLASSES.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          Activity
          <input {...field('activity')} inputMode="numeric" size={4} />
        </label>
        <label>
          Agent id
          <input {...field('agent')} size={20} />
        </label>
        <label>
          Text
          <input type="search" {...field('contains')} />
        </label>
        <label>
          From
          <input type="datetime-local" {...field('from')} />
        </label>
        <label>
          To
          <input type="datetime-local" {...field('to')} />
        </label>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      <ErrorBox error={error} />
      {data && data.events.length === 0 ? (
        <Empty>No events match this search.</Empty>
      ) : (
        <table className="grid" aria-label="Events">
          <thead>
            <tr>
              <th>Time</th>
              <th>Host</th>
              <th>Class</th>
              <th>What</th>
              <th>
                <span className="sr-only">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data?.events.map((e) => (
              <EventRow
                key={e.metadata.uid}
                e={e}
                open={open === e.metadata.uid}
                toggle={() => setOpen(open === e.metadata.uid ? null : e.metadata.uid)}
              />
            ))}
          </tbody>
        </table>
      )}
      {data?.next_cursor && (
        <nav className="pager" aria-label="Pages">
          <button
            type="button"
            onClick={() => go('/events', { ...p, cursor: data.next_cursor ?? undefined })}
          >
            Older events
          </button>
        </nav>
      )}
    </section>
  );
}

function EventRow({ e, open, toggle }: { e: OcsfEvent; open: boolean; toggle: () => void }) {
  return (
    <>
      <tr>
        <td>
          <Time at={e.time} />
        </td>
        <td>
          <a href={href(`/agents/${e.device.uid}`)} title="Host timeline">
            {e.device.hostname ?? e.device.uid}
          </a>
        </td>
        <td>{e.class_name ?? e.class_uid}</td>
        <td className="what">{eventSummary(e)}</td>
        <td>
          <button type="button" aria-expanded={open} onClick={toggle}>
            {open ? 'Hide' : 'OCSF JSON'}
          </button>
        </td>
      </tr>
      {open && (
        <tr>
          <td colSpan={5}>
            <pre className="json">{JSON.stringify(e, null, 2)}</pre>
          </td>
        </tr>
      )}
    </>
  );
}
