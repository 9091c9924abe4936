import { Link, Outlet, useNavigate, useRouterState } from '@tanstack/react-router';
import { useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { useMe } from '../api/hooks';
import { useTheme } from '../state/theme';

export function Shell() {
  const location = useRouterState({ select: (s) => s.location });
  const onLogin = location.pathname === '/login';
  const me = useMe();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const { theme, toggle } = useTheme();
  const kiosk = (location.search as { kiosk?: boolean }).kiosk === true;

  useEffect(() => {
    if (!onLogin && me.isError) {
      void navigate({ to: '/login', search: { redirect: location.href }, replace: true });
    }
  }, [onLogin, me.isError, navigate, location.href]);

  if (onLogin) return <Outlet />;
  if (me.isPending) return <main className="muted">Loading…</main>;
  if (me.isError) return null;

  const logout = async () => {
    await api.POST('/api/v1/auth/logout');
    // Leave the page first, so nothing still mounted refetches without a session.
    await navigate({ to: '/login', search: {} });
    qc.clear();
  };

  return (
    <div className={kiosk ? 'kiosk' : undefined}>
      <header className="topbar">
        <Link to="/dashboards" className="brand">
          Vigil
        </Link>
        <nav aria-label="Main">
          <Link to="/dashboards">Dashboards</Link>
          <Link to="/explore">Explore</Link>
          <Link to="/alerts">Alerts</Link>
          {me.data.role === 'admin' && <Link to="/admin">Admin</Link>}
        </nav>
        <span className="spacer" />
        <button type="button" onClick={toggle} aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}>
          {theme === 'dark' ? '☀' : '☾'}
        </button>
        <span className="muted" data-testid="whoami">
          {me.data.email} ({me.data.role})
        </span>
        <button type="button" onClick={logout}>
          Log out
        </button>
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}
