import { useRef, useState } from 'react';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { notify } from '../state/notify';
import { api, ok, ApiError } from '../api/client';
import { keys, useDashboards, useInvalidate, useMe, type DashboardSummary } from '../api/hooks';
import { Dialog } from '../components/Dialog';
import { download } from '../lib/download';

export function DashboardsPage() {
  const { q = '' } = useSearch({ from: '/dashboards' });
  const navigate = useNavigate({ from: '/dashboards' });
  const list = useDashboards();
  const me = useMe();
  const invalidate = useInvalidate();
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<DashboardSummary | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const canEdit = me.data?.role !== 'viewer';

  const shown = (list.data ?? []).filter((d) => d.name.toLowerCase().includes(q.toLowerCase()));

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      const created = await ok(api.POST('/api/v1/dashboards', { body: { name } }));
      await invalidate(keys.dashboards);
      setCreating(false);
      void navigate({ to: '/d/$id', params: { id: created.data.id }, search: {} });
    } catch (err) {
      setNameError(err instanceof ApiError ? (err.fieldErrors().name ?? err.message) : String(err));
    }
  };

  const remove = async (d: DashboardSummary) => {
    try {
      await ok(api.DELETE('/api/v1/dashboards/{id}', { params: { path: { id: d.id } } }));
      notify.success(`Deleted ${d.name}`);
    } catch (err) {
      notify.error(`Could not delete ${d.name}: ${(err as Error).message}`);
    }
    setDeleting(null);
    await invalidate(keys.dashboards);
  };

  const exportOne = async (d: DashboardSummary) => {
    try {
      const doc = await ok(api.GET('/api/v1/dashboards/{id}/export', { params: { path: { id: d.id } } }));
      download(`${d.name.replace(/[^\w.-]+/g, '_')}.json`, JSON.stringify(doc.data, null, 2));
    } catch (err) {
      notify.error(`Export failed: ${(err as Error).message}`);
    }
  };

  const importFile = async (file: File) => {
    try {
      const doc = JSON.parse(await file.text());
      const created = await ok(api.POST('/api/v1/dashboards/import', { body: doc }));
      await invalidate(keys.dashboards);
      notify.success(`Imported ${created.data.name}`);
    } catch (err) {
      notify.error(`Import failed: ${err instanceof SyntaxError ? 'the file is not JSON' : (err as Error).message}`);
    }
  };

  return (
    <>
      <div className="toolbar">
        <h1>Dashboards</h1>
        <input
          type="search"
          aria-label="Search dashboards"
          placeholder="Search dashboards"
          value={q}
          onChange={(e) => void navigate({ search: { q: e.target.value || undefined }, replace: true })}
        />
        <span className="spacer" />
        {canEdit && (
          <>
            <button type="button" onClick={() => fileInput.current?.click()}>
              Import
            </button>
            <input
              ref={fileInput}
              type="file"
              accept="application/json,.json"
              hidden
              data-testid="import-file"
              onChange={(e) => {
                const f = e.target.files?.[0];
                if (f) void importFile(f);
                e.target.value = '';
              }}
            />
            <button type="button" className="primary" onClick={() => (setCreating(true), setName(''), setNameError(null))}>
              New dashboard
            </button>
          </>
        )}
      </div>
      {list.isError && <p className="panel-error">{list.error.message}</p>}
      <div className="card-list">
        {shown.map((d) => (
          <div className="row" key={d.id} data-testid="dashboard-row">
            <Link to="/d/$id" params={{ id: d.id }} search={{}} className="grow">
              {d.name}
            </Link>
            <span className="badge">{d.isPublic ? 'public' : 'private'}</span>
            <span className="muted">{d.ownerId === me.data?.id ? 'owned by you' : `owner ${d.ownerEmail ?? d.ownerId.slice(0, 8)}`}</span>
            <span className="muted">{d.panelCount} panels</span>
            <button type="button" onClick={() => void exportOne(d)} aria-label={`Export ${d.name}`}>
              Export
            </button>
            {canEdit && (
              <button type="button" className="danger" onClick={() => setDeleting(d)} aria-label={`Delete ${d.name}`}>
                Delete
              </button>
            )}
          </div>
        ))}
        {list.isSuccess && shown.length === 0 && <p className="muted">No dashboards{q ? ` match “${q}”` : ''}.</p>}
      </div>
      {creating && (
        <Dialog
          title="New dashboard"
          onClose={() => setCreating(false)}
          actions={
            <>
              <button type="button" onClick={() => setCreating(false)}>
                Cancel
              </button>
              <button type="submit" form="new-dashboard" className="primary">
                Create
              </button>
            </>
          }
        >
          <form id="new-dashboard" onSubmit={create}>
            <label>
              Name
              <input value={name} onChange={(e) => setName(e.target.value)} aria-invalid={nameError ? true : undefined} />
            </label>
            {nameError && <span className="field-error">{nameError}</span>}
          </form>
        </Dialog>
      )}
      {deleting && (
        <Dialog
          title={`Delete ${deleting.name}?`}
          onClose={() => setDeleting(null)}
          actions={
            <>
              <button type="button" onClick={() => setDeleting(null)}>
                Cancel
              </button>
              <button type="button" className="primary" onClick={() => void remove(deleting)}>
                Delete dashboard
              </button>
            </>
          }
        >
          <p>The dashboard and its {deleting.panelCount} panels are deleted for everyone.</p>
        </Dialog>
      )}
    </>
  );
}
