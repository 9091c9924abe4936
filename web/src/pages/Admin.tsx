// Administration (admins only): users, API tokens and ingest keys, and /health.
import { useState } from 'react';
import { Link } from '@tanstack/react-router';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { notify } from '../state/notify';
import { api, ApiError, ok, type Schemas } from '../api/client';
import { fromUtcInput } from '../lib/utcInput';
import { useMe } from '../api/hooks';

function AdminNav() {
  return (
    <nav className="toolbar" aria-label="Admin">
      <Link to="/admin">Users</Link>
      <Link to="/admin/tokens">Tokens</Link>
      <Link to="/admin/health">Health</Link>
    </nav>
  );
}

function AdminOnly({ children }: { children: React.ReactNode }) {
  const me = useMe();
  if (me.data?.role !== 'admin') return <p className="panel-error">Only administrators can see this page.</p>;
  return <>{children}</>;
}

const ROLES: Schemas['Role'][] = ['viewer', 'editor', 'admin'];

export function AdminUsersPage() {
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: async () => (await ok(api.GET('/api/v1/users'))).data });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Schemas['Role']>('viewer');
  const [error, setError] = useState<string | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['users'] });
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      await ok(api.POST('/api/v1/users', { body: { email, password, role } }));
      setEmail('');
      setPassword('');
      setError(null);
      await refresh();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const act = async (call: Promise<unknown>) => {
    try {
      await call;
    } catch (err) {
      notify.error((err as Error).message);
    }
    await refresh();
  };
  return (
    <AdminOnly>
      <div className="toolbar">
        <h1>Users</h1>
        <AdminNav />
      </div>
      <form className="toolbar" onSubmit={create} aria-label="New user">
        <input aria-label="New user email" placeholder="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        <input aria-label="New user password" placeholder="password (8+)" type="password" value={password} onChange={(e) => setPassword(e.target.value)} />
        <select aria-label="New user role" value={role} onChange={(e) => setRole(e.target.value as Schemas['Role'])}>
          {ROLES.map((r) => (
            <option key={r}>{r}</option>
          ))}
        </select>
        <button type="submit" className="primary">
          Create user
        </button>
        {error && <span className="field-error">{error}</span>}
      </form>
      {users.isError && (
        <p className="panel-error" role="alert">
          {users.error.message}
        </p>
      )}
      <table className="data" aria-label="Users">
        <tbody>
          {(users.data ?? []).map((u) => (
            <tr key={u.id}>
              <td>{u.email}</td>
              <td>
                <select
                  aria-label={`Role of ${u.email}`}
                  value={u.role}
                  onChange={(e) => void act(ok(api.PATCH('/api/v1/users/{id}', { params: { path: { id: u.id } }, body: { role: e.target.value as Schemas['Role'] } })))}
                >
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
              </td>
              <td>
                <button
                  type="button"
                  className="danger"
                  onClick={() => confirm(`Delete ${u.email}?`) && void act(ok(api.DELETE('/api/v1/users/{id}', { params: { path: { id: u.id } } })))}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </AdminOnly>
  );
}

export function AdminTokensPage() {
  const qc = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: async () => (await ok(api.GET('/api/v1/auth/tokens'))).data });
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Schemas['TokenKind']>('personal');
  const [expires, setExpires] = useState('');
  const [expiryError, setExpiryError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    const expiresAt = expires === '' ? null : fromUtcInput(expires);
    // The server's rule: an expiry, when given, lies in the future.
    if (expiresAt === undefined) return setExpiryError('not a date and time');
    if (expiresAt !== null && Date.parse(expiresAt) <= Date.now()) return setExpiryError('must be in the future');
    setExpiryError(null);
    try {
      const created = await ok(api.POST('/api/v1/auth/tokens', { body: { name, kind, expiresAt } }));
      setSecret(created.data.token);
      setName('');
      setExpires('');
      await qc.invalidateQueries({ queryKey: ['tokens'] });
    } catch (err) {
      if (err instanceof ApiError && err.fieldErrors().expiresAt) setExpiryError(err.message);
      else notify.error((err as Error).message);
    }
  };
  return (
    <AdminOnly>
      <div className="toolbar">
        <h1>Tokens</h1>
        <AdminNav />
      </div>
      <form className="toolbar" onSubmit={create} aria-label="New token">
        <input aria-label="Token name" placeholder="name" value={name} onChange={(e) => setName(e.target.value)} />
        <select aria-label="Token kind" value={kind} onChange={(e) => setKind(e.target.value as Schemas['TokenKind'])}>
          <option value="personal">personal API token</option>
          <option value="ingest">ingest key</option>
        </select>
        <label>
          Expires (UTC)
          <input type="datetime-local" step={1} aria-label="Token expiry" value={expires} onChange={(e) => setExpires(e.target.value)} aria-invalid={expiryError ? true : undefined} />
          <span className="muted">empty: until revoked</span>
          {expiryError && <span className="field-error">{expiryError}</span>}
        </label>
        <button type="submit" className="primary">
          Create token
        </button>
      </form>
      {secret && (
        <div className="row" role="status">
          <span className="grow">
            Copy it now, it is shown only once: <code data-testid="secret">{secret}</code>
          </span>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(secret).then(() => notify.success('Copied'))}>
            Copy
          </button>
        </div>
      )}
      {tokens.isError && (
        <p className="panel-error" role="alert">
          {tokens.error.message}
        </p>
      )}
      <table className="data" aria-label="Tokens">
        <tbody>
          {(tokens.data ?? []).map((t) => (
            <tr key={t.id}>
              <td>{t.name}</td>
              <td>{t.kind}</td>
              <td>
                <code>{t.prefix}…</code>
              </td>
              <td>{t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry'}</td>
              <td>{t.lastUsedAt ?? 'never used'}</td>
              <td>
                <button
                  type="button"
                  className="danger"
                  onClick={async () => {
                    await ok(api.DELETE('/api/v1/auth/tokens/{id}', { params: { path: { id: t.id } } })).catch((err: Error) => notify.error(err.message));
                    await qc.invalidateQueries({ queryKey: ['tokens'] });
                  }}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </AdminOnly>
  );
}

export function AdminHealthPage() {
  const health = useQuery({
    queryKey: ['health'],
    queryFn: async () => {
      let r: Response;
      try {
        r = await fetch('/health');
      } catch (e) {
        throw new Error(`The server could not be reached: ${(e as Error).message}`, { cause: e });
      }
      // An unhealthy server answers 503 with the same report, which is what to show.
      const body = (await r.json().catch(() => null)) as Schemas['HealthReport'] | null;
      if (!body?.checks) throw new Error(`/health answered ${r.status} without a report`);
      return body;
    },
    refetchInterval: 10_000,
  });
  return (
    <AdminOnly>
      <div className="toolbar">
        <h1>Health</h1>
        <AdminNav />
      </div>
      {health.isError && !health.data && (
        <p className="panel-error" role="alert">
          {health.error.message}
        </p>
      )}
      {health.data && (
        <>
          <p>
            Overall: <strong className={health.data.status === 'healthy' ? 'state-ok' : 'state-firing'}>{health.data.status}</strong>
          </p>
          <table className="data" aria-label="Dependencies">
            <tbody>
              {Object.entries(health.data.checks).map(([name, check]) => (
                <tr key={name}>
                  <td>{name}</td>
                  <td>
                    <pre className="code">{JSON.stringify(check, null, 1)}</pre>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </AdminOnly>
  );
}
