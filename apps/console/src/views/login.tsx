import { type FormEvent, useState } from 'react';
import { api, type SessionInfo } from '../api';
import { ErrorBox } from '../ui';

/** Login asks for user name and password; the server sets the session cookie. */
export function Login({ onLogin }: { onLogin: (s: SessionInfo) => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    try {
      onLogin(await api<SessionInfo>('POST', '/session', { name, password }));
    } catch (err) {
      setError(err);
      setPassword('');
    } finally {
      setBusy(false);
    }
  }
  return (
    <main className="login">
      <form onSubmit={submit} className="card" aria-labelledby="login-title">
        <h1 id="login-title">Palisade</h1>
        <p className="muted">Sign in to the console</p>
        <label>
          User name
          <input
            name="username"
            autoComplete="username"
            value={name}
            onChange={(e) => setName(e.target.value)}
            required
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <ErrorBox error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

/** ChangePassword is shown when the password must be changed (first login, reset), and from the user menu. */
export function ChangePassword({ onDone, forced }: { onDone: (s: SessionInfo) => void; forced: boolean }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<unknown>();
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (next !== again) {
      setError(new Error('the two new passwords differ'));
      return;
    }
    try {
      onDone(
        await api<SessionInfo>('POST', '/session/password', {
          current_password: current,
          new_password: next,
        }),
      );
    } catch (err) {
      setError(err);
    }
  }
  return (
    <main className="login">
      <form onSubmit={submit} className="card" aria-labelledby="pw-title">
        <h1 id="pw-title">Change your password</h1>
        {forced && (
          <p className="muted">
            This password was set for you; choose your own (at least 12 characters) to continue.
          </p>
        )}
        <label>
          Current password
          <input
            type="password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            required
          />
        </label>
        <label>
          New password
          <input
            type="password"
            autoComplete="new-password"
            value={next}
            onChange={(e) => setNext(e.target.value)}
            required
            minLength={12}
          />
        </label>
        <label>
          New password again
          <input
            type="password"
            autoComplete="new-password"
            value={again}
            onChange={(e) => setAgain(e.target.value)}
            required
            minLength={12}
          />
        </label>
        <ErrorBox error={error} />
        <button type="submit" className="primary">
          Change password
        </button>
      </form>
    </main>
  );
}
