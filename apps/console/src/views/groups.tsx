import { useState } from 'react';
import { api, type Group, type Key } from '../api';
import { can, useSession } from '../session';
import { Badge, Confirm, Empty, ErrorBox, Time, useLoad } from '../ui';

/** Secret shows a secret the API returns once, with a copy button. */
function Secret({ label, value, onClose }: { label: string; value: string; onClose: () => void }) {
  return (
    <div className="secret" role="status">
      <p>
        <strong>{label}</strong> — shown this once; store it now.
      </p>
      <code className="secret-value">{value}</code>{' '}
      <button type="button" onClick={() => void navigator.clipboard?.writeText(value)}>
        Copy
      </button>{' '}
      <button type="button" onClick={onClose}>
        Done
      </button>
    </div>
  );
}

/** GroupsView: groups with their policy and registration keys (expiry dates), key create/rotate/revoke, policy tier and channel. */
export function GroupsView() {
  const { user } = useSession();
  const admin = can(user, 'admin');
  const groups = useLoad(() => api<{ groups: Group[] }>('GET', '/groups'), []);
  const keys = useLoad(
    () => (admin ? api<{ keys: Key[] }>('GET', '/keys') : Promise.resolve({ keys: [] as Key[] })),
    [admin],
  );
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<{ label: string; value: string } | null>(null);
  const [error, setError] = useState<unknown>();
  const [revoking, setRevoking] = useState<Key | null>(null);
  const reload = () => {
    groups.reload();
    keys.reload();
  };
  async function run(fn: () => Promise<void>) {
    setError(undefined);
    try {
      await fn();
      reload();
    } catch (e) {
      setError(e);
    }
  }
  const createGroup = () =>
    run(async () => {
      const r = await api<{ name: string; registration_key: { secret: string } }>('POST', '/groups', {
        name,
      });
      setSecret({ label: `Registration key of the new group ${r.name}`, value: r.registration_key.secret });
      setName('');
    });
  const createKey = (g: Group) =>
    run(async () => {
      const r = await api<{ secret: string }>('POST', '/keys', { group: g.id });
      setSecret({ label: `New registration key for ${g.name}`, value: r.secret });
    });
  const rotateKey = (k: Key, g: Group) =>
    run(async () => {
      const r = await api<{ secret: string }>('POST', '/keys', { group: g.id });
      await api('POST', `/keys/${k.id}/revoke`, {});
      setSecret({
        label: `Replacement for key ${k.prefix}… of ${g.name} (the old one is revoked)`,
        value: r.secret,
      });
    });
  const setPolicy = (g: Group, patch: Record<string, string>) =>
    run(async () => {
      await api('PATCH', `/groups/${g.id}/policy`, patch);
    });
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Groups &amp; keys</h1>
      <ErrorBox error={groups.error ?? keys.error ?? error} />
      {secret && <Secret label={secret.label} value={secret.value} onClose={() => setSecret(null)} />}
      {admin && (
        <form
          className="filters"
          onSubmit={(e) => {
            e.preventDefault();
            void createGroup();
          }}
        >
          <label>
            New group
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={64} />
          </label>
          <button type="submit" className="primary">
            Create group
          </button>
        </form>
      )}
      {groups.data?.groups.length === 0 && <Empty>No groups.</Empty>}
      {groups.data?.groups.map((g) => {
        const mine = (keys.data?.keys ?? []).filter((k) => k.group_id === g.id);
        return (
          <div className="card" key={g.id}>
            <h2>
              {g.name} <span className="muted small">{g.agent_count} agents</span>
            </h2>
            <div className="filters">
              <label>
                Tier
                <select
                  value={g.policy.tier}
                  disabled={!admin}
                  onChange={(e) => void setPolicy(g, { tier: e.target.value })}
                  aria-label={`Tier of ${g.name}`}
                >
                  <option value="server">server</option>
                  <option value="workstation">workstation</option>
                </select>
              </label>
              <label>
                Channel
                <select
                  value={g.policy.channel}
                  disabled={!admin}
                  onChange={(e) => void setPolicy(g, { channel: e.target.value })}
                  aria-label={`Channel of ${g.name}`}
                >
                  <option value="stable">stable</option>
                  <option value="preview">preview</option>
                  <option value="beta">beta</option>
                </select>
              </label>
              <span className="muted small">policy revision {g.policy.revision}</span>
              {admin && (
                <button type="button" onClick={() => void createKey(g)}>
                  New key
                </button>
              )}
            </div>
            {admin &&
              (mine.length === 0 ? (
                <Empty>No registration keys.</Empty>
              ) : (
                <table className="grid" aria-label={`Registration keys of ${g.name}`}>
                  <thead>
                    <tr>
                      <th>Key</th>
                      <th>Status</th>
                      <th>Created</th>
                      <th>Expires</th>
                      <th>Registrations</th>
                      <th>
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {mine.map((k) => (
                      <tr key={k.id}>
                        <td>
                          <code>{k.prefix}…</code>
                        </td>
                        <td>
                          <Badge kind={k.status === 'active' ? 'ok' : 'muted'}>{k.status}</Badge>
                        </td>
                        <td>
                          <Time at={k.created_at} />
                        </td>
                        <td className="expiry">
                          <Time at={k.expires_at} />
                        </td>
                        <td>{String(k.registrations ?? 0)}</td>
                        <td>
                          {k.status === 'active' && (
                            <>
                              <button type="button" onClick={() => void rotateKey(k, g)}>
                                Rotate
                              </button>{' '}
                              <button type="button" className="danger" onClick={() => setRevoking(k)}>
                                Revoke
                              </button>
                            </>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ))}
          </div>
        );
      })}
      {revoking && (
        <Confirm
          title={`Revoke key ${revoking.prefix}…?`}
          confirmLabel="Revoke key"
          danger
          onCancel={() => setRevoking(null)}
          onConfirm={() => {
            const k = revoking;
            setRevoking(null);
            void run(async () => {
              await api('POST', `/keys/${k.id}/revoke`, {});
            });
          }}
        >
          <p>New registrations with this key are refused. Agents already registered keep working.</p>
        </Confirm>
      )}
    </section>
  );
}
