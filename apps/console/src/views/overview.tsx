import { api } from '../api';
import { useLive } from '../live';
import { href } from '../router';
import { ErrorBox, Time, useLoad } from '../ui';

interface OverviewData {
  agents: { total: number; online: number; offline: number; stale: number; policy_out_of_date: number };
  isolation: { isolated: number; changes_pending: number };
  commands: { open: number };
  events: { stored: number; per_second: number | null };
  groups: number;
  at: string;
}

function Stat(props: { label: string; value: string | number; to: string; kind?: string }) {
  return (
    <a className={`stat ${props.kind ?? ''}`} href={props.to}>
      <span className="stat-value">{props.value}</span>
      <span className="stat-label">{props.label}</span>
    </a>
  );
}

/** Overview is the front page: each number links to the list it counts. */
export function Overview() {
  const { data, error, reload } = useLoad(() => api<OverviewData>('GET', '/overview'), []);
  useLive(() => reload());
  return (
    <section aria-labelledby="ov-title">
      <h1 id="ov-title">Overview</h1>
      <ErrorBox error={error} />
      {data && (
        <>
          <h2>Agents</h2>
          <div className="stats">
            <Stat
              label="online"
              value={data.agents.online}
              to={href('/agents', { presence: 'online' })}
              kind="ok"
            />
            <Stat
              label="offline"
              value={data.agents.offline}
              to={href('/agents', { presence: 'offline' })}
              kind="warn"
            />
            <Stat
              label="stale (24 h unseen)"
              value={data.agents.stale}
              to={href('/agents', { presence: 'stale' })}
              kind="muted"
            />
            <Stat
              label="policy out of date"
              value={data.agents.policy_out_of_date}
              to={href('/agents', { out_of_date: 'true' })}
            />
          </div>
          <h2>Response</h2>
          <div className="stats">
            <Stat
              label="isolated hosts"
              value={data.isolation.isolated}
              to={href('/agents', { isolated: 'true' })}
              kind="danger"
            />
            <Stat
              label="isolation changes pending"
              value={data.isolation.changes_pending}
              to={href('/agents', { isolated: 'true' })}
            />
            <Stat label="open commands" value={data.commands.open} to={href('/agents')} />
          </div>
          <h2>Telemetry</h2>
          <div className="stats">
            <Stat
              label="events/s (last minute)"
              value={data.events.per_second === null ? 'measuring…' : data.events.per_second.toFixed(1)}
              to={href('/events')}
            />
            <Stat label="events stored" value={data.events.stored.toLocaleString()} to={href('/events')} />
            <Stat label="groups" value={data.groups} to={href('/groups')} />
          </div>
          <p className="muted">
            As of <Time at={data.at} />. Alerts, detection lag and rollouts appear here once their APIs exist.
          </p>
        </>
      )}
    </section>
  );
}
