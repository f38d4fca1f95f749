import { useState } from 'react';
import { api, type Role, type User } from '../api';
import { Badge, ErrorBox, Time, useLoad } from '../ui';

interface Token {
  id: string;
  name: string;
  role: Role;
  created_at: string;
  expires_at: string | null;
  status: string;
}

/** UsersView (admin): console users (create with a one-time password, role, disable, reset, unlock) and API tokens. */
export function UsersView() {
  const users = useLoad(() => api<{ users: User[] }>('GET', '/users'), []);
  const tokens = useLoad(() => api<{ tokens: Token[] }>('GET', '/tokens'), []);
  const [form, setForm] = useState({ name: '', role: 'viewer' as Role });
  const [tokenForm, setTokenForm] = useState({ name: '', role: 'viewer' as Role, expires_in: '90d' });
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  async function run(fn: () => Promise<void>) {
    setError(undefined);
    try {
      await fn();
      users.reload();
      tokens.reload();
    } catch (e) {
      setError(e);
    }
  }
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users &amp; tokens</h1>
      <ErrorBox error={users.error ?? tokens.error ?? error} />
      {secret && (
        <div className="secret" role="status">
          <p>
            <strong>Shown this once</strong> — hand it over through a safe channel.
          </p>
          <code className="secret-value">{secret}</code>{' '}
          <button type="button" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      <h2>Console users</h2>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const r = await api<{ password: string }>('POST', '/users', form);
            setSecret(`temporary password of ${form.name}: ${r.password}`);
            setForm({ ...form, name: '' });
          });
        }}
      >
        <label>
          Name
          <input
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
            required
            pattern="[a-z][a-z0-9._\-]{0,31}"
          />
        </label>
        <label>
          Role
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })}>
            <option value="viewer">viewer</option>
            <option value="analyst">analyst</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" className="primary">
          Create user
        </button>
      </form>
      <table className="grid" aria-label="Users">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Status</th>
            <th>Last login</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.data?.users.map((u) => (
            <tr key={u.id}>
              <td>{u.name}</td>
              <td>
                <select
                  aria-label={`Role of ${u.name}`}
                  value={u.role}
                  onChange={(e) =>
                    void run(
                      async () => void (await api('PATCH', `/users/${u.id}`, { role: e.target.value })),
                    )
                  }
                >
                  <option value="viewer">viewer</option>
                  <option value="analyst">analyst</option>
                  <option value="admin">admin</option>
                </select>
              </td>
              <td>
                <Badge kind={u.status === 'active' ? 'ok' : 'warn'}>{u.status}</Badge>
                {u.must_change_password && <span className="muted small"> must change password</span>}
              </td>
              <td>
                <Time at={u.last_login_at} />
              </td>
              <td>
                {u.status === 'locked' && (
                  <button
                    type="button"
                    onClick={() =>
                      void run(async () => void (await api('POST', `/users/${u.id}/unlock`, {})))
                    }
                  >
                    Unlock
                  </button>
                )}{' '}
                <button
                  type="button"
                  onClick={() =>
                    void run(async () => {
                      const r = await api<{ password: string }>('POST', `/users/${u.id}/reset-password`, {});
                      setSecret(`temporary password of ${u.name}: ${r.password}`);
                    })
                  }
                >
                  Reset password
                </button>{' '}
                <button
                  type="button"
                  onClick={() =>
                    void run(
                      async () =>
                        void (await api('PATCH', `/users/${u.id}`, { disabled: u.status !== 'disabled' })),
                    )
                  }
                >
                  {u.status === 'disabled' ? 'Enable' : 'Disable'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>API tokens</h2>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const r = await api<{ secret: string }>('POST', '/tokens', tokenForm);
            setSecret(`API token ${tokenForm.name}: ${r.secret}`);
            setTokenForm({ ...tokenForm, name: '' });
          });
        }}
      >
        <label>
          Name
          <input
            value={tokenForm.name}
            onChange={(e) => setTokenForm({ ...tokenForm, name: e.target.value })}
            required
          />
        </label>
        <label>
          Role
          <select
            value={tokenForm.role}
            onChange={(e) => setTokenForm({ ...tokenForm, role: e.target.value as Role })}
          >
            <option value="viewer">viewer</option>
            <option value="analyst">analyst</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <label>
          Expires in
          <input
            value={tokenForm.expires_in}
            onChange={(e) => setTokenForm({ ...tokenForm, expires_in: e.target.value })}
            size={5}
          />
        </label>
        <button type="submit" className="primary">
          Create token
        </button>
      </form>
      <table className="grid" aria-label="API tokens">
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Status</th>
            <th>Created</th>
            <th>Expires</th>
            <th>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.tokens.map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>
                <Badge kind={t.status === 'active' ? 'ok' : 'muted'}>{t.status}</Badge>
              </td>
              <td>
                <Time at={t.created_at} />
              </td>
              <td>
                <Time at={t.expires_at} />
              </td>
              <td>
                {t.status === 'active' && (
                  <button
                    type="button"
                    className="danger"
                    onClick={() =>
                      void run(async () => void (await api('POST', `/tokens/${t.id}/revoke`, {})))
                    }
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
