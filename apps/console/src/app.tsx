import { useCallback, useEffect, useState } from 'react';
import { api, onSessionEnd, type SessionInfo, setCsrf } from './api';
import { startLive, stopLive } from './live';
import { href, useRoute } from './router';
import { can, Session } from './session';
import { AgentPage } from './views/agent';
import { AgentsView } from './views/agents';
import { AuditView } from './views/audit';
import { EventsView } from './views/events';
import { GroupsView } from './views/groups';
import { ChangePassword, Login } from './views/login';
import { Overview } from './views/overview';
import { UsersView } from './views/users';

type Theme = 'dark' | 'light';

function initialTheme(): Theme {
  const saved = localStorage.getItem('palisade-theme');
  if (saved === 'dark' || saved === 'light') return saved;
  return window.matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

const NAV: { path: string; label: string; admin?: boolean }[] = [
  { path: '/', label: 'Overview' },
  { path: '/agents', label: 'Agents' },
  { path: '/events', label: 'Events' },
  { path: '/groups', label: 'Groups & keys' },
  { path: '/audit', label: 'Audit log', admin: true },
  { path: '/users', label: 'Users & tokens', admin: true },
];

/** App checks for a session, then shows login, the forced password change, or the console. */
export function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [changing, setChanging] = useState(false);
  const route = useRoute();

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('palisade-theme', theme);
  }, [theme]);

  const accept = useCallback((s: SessionInfo) => {
    setCsrf(s.csrf_token);
    setSession(s);
    setChanging(false);
  }, []);

  useEffect(() => {
    onSessionEnd(() => {
      stopLive();
      setSession(null);
    });
    api<SessionInfo>('GET', '/session')
      .then(accept)
      .catch(() => setSession(null));
  }, [accept]);

  useEffect(() => {
    if (session && !session.user.must_change_password) startLive();
    return () => stopLive();
  }, [session]);

  const logout = useCallback(() => {
    api('DELETE', '/session')
      .catch(() => {})
      .finally(() => {
        stopLive();
        setSession(null);
        window.location.hash = '#/';
      });
  }, []);

  if (session === undefined) return <p className="empty">Loading…</p>;
  if (session === null) return <Login onLogin={accept} />;
  if (session.user.must_change_password || changing)
    return <ChangePassword forced={session.user.must_change_password} onDone={accept} />;

  const user = session.user;
  const p = route.path;
  let view: React.ReactNode;
  if (p === '/') view = <Overview />;
  else if (p === '/agents') view = <AgentsView params={route.params} />;
  else if (p.startsWith('/agents/')) view = <AgentPage id={p.slice('/agents/'.length)} />;
  else if (p === '/events') view = <EventsView params={route.params} />;
  else if (p === '/groups') view = <GroupsView />;
  else if (p === '/audit' && can(user, 'admin')) view = <AuditView params={route.params} />;
  else if (p === '/users' && can(user, 'admin')) view = <UsersView />;
  else view = <p className="empty">No page {p}.</p>;

  return (
    <Session.Provider value={{ user, logout }}>
      <button type="button" className="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <div className="shell">
        <nav className="sidebar" aria-label="Main">
          <div className="brand">Palisade</div>
          <ul>
            {NAV.filter((n) => !n.admin || can(user, 'admin')).map((n) => {
              const active = n.path === '/' ? p === '/' : p === n.path || p.startsWith(`${n.path}/`);
              return (
                <li key={n.path}>
                  <a href={href(n.path)} aria-current={active ? 'page' : undefined}>
                    {n.label}
                  </a>
                </li>
              );
            })}
          </ul>
          <div className="me">
            <div>
              <strong>{user.name}</strong> <span className="muted">({user.role})</span>
            </div>
            <button type="button" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}>
              {theme === 'dark' ? 'Light theme' : 'Dark theme'}
            </button>
            <button type="button" onClick={() => setChanging(true)}>
              Change password
            </button>
            <button type="button" onClick={logout}>
              Log out
            </button>
          </div>
        </nav>
        <main id="main" tabIndex={-1} className="content">
          {view}
        </main>
      </div>
    </Session.Provider>
  );
}
