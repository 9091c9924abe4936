import { lazy, memo, Suspense, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import type { Layout } from 'react-grid-layout';
import { notify } from '../state/notify';
import { api, ok } from '../api/client';
import { keys, useDashboard, useInvalidate, useMe, useMetricTags, type Dashboard, type Panel } from '../api/hooks';
import { Dialog } from '../components/Dialog';
import { PanelView } from '../components/Panel';
import { StaticGrid } from '../components/StaticGrid';
import { RefreshPicker, TimeRangePicker } from '../components/TimeControls';
import { describeChange, diffLayout } from '../lib/layout';
import { REFRESH_MS } from '../lib/refresh';
import { isRelative, shiftRange, zoomOut, zoneLabel, type TimeZone } from '../lib/timerange';
import { ALL } from '../lib/variables';
import type { DashboardSearch } from '../router';
import { useEdit } from '../state/edit';
import { layoutOf, useLayoutSaver } from '../state/layoutSaver';
import { usePanelData, type PanelData } from '../state/panelData';
import { useTick } from '../state/tick';
import { panelRequests, settingsKeptKey, useViewState, type Variable } from '../state/dashboardView';
import { hasKeptEdits } from '../state/kept';

// Dialogs and the edit grid are code a dashboard view rarely needs: fetched on use.
const InspectDialog = lazy(() => import('../components/Inspect').then((m) => ({ default: m.InspectDialog })));
const VariableEditorDialog = lazy(() => import('../components/VariableEditor').then((m) => ({ default: m.VariableEditorDialog })));

type EditGridComponent = typeof import('../components/EditGrid').default;
let editGridLoaded: EditGridComponent | null = null;
const loadEditGrid = () =>
  import('../components/EditGrid').then((m) => {
    editGridLoaded = m.default;
    return m.default;
  });

/**
 * The grid to draw with: the static one until edit mode is first asked for, then the
 * drag-and-resize one for the rest of the view. The static grid stays on screen while
 * the edit grid loads, and the switch happens once (it mounts the panels anew).
 */
function useEditGrid(editing: boolean): EditGridComponent | null {
  const [grid, setGrid] = useState<EditGridComponent | null>(() => (editing ? editGridLoaded : null));
  useEffect(() => {
    if (!editing || grid) return;
    let live = true;
    loadEditGrid()
      .then((g) => live && setGrid(() => g))
      .catch((e: Error) => notify.error(`The grid editor could not be loaded: ${e.message}`));
    return () => {
      live = false;
    };
  }, [editing, grid]);
  return grid;
}

/** The content width of an element, measured before the first paint and on resize. */
function useWidth<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState<number | null>(null);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(Math.round(el.getBoundingClientRect().width));
    const observer = new ResizeObserver((entries) => {
      const w = Math.round(entries[entries.length - 1]!.contentRect.width);
      setWidth((prev) => (prev === w ? prev : w));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return { ref, width };
}

export function DashboardPage() {
  const { id } = useParams({ from: '/d/$id' });
  const dashboard = useDashboard(id);
  if (dashboard.isPending) return <p className="muted">Loading dashboard…</p>;
  if (dashboard.isError) return <p className="panel-error">{dashboard.error.message}</p>;
  return <DashboardView key={id} dashboard={dashboard.data} />;
}

type PanelAction = 'inspect' | 'duplicate' | 'delete';

interface DashboardPanelProps {
  panel: Panel;
  data: PanelData | undefined;
  loading: boolean;
  tz: TimeZone;
  syncKey: string;
  onZoom: (start: number, end: number) => void;
  editing: boolean;
  dashboardId: string;
  search: DashboardSearch;
  act: (kind: PanelAction, p: Panel) => void;
}

/** A panel of the grid with its header buttons; its x axis is the window of its data. */
const DashboardPanel = memo(function DashboardPanel({ panel: p, data, loading, tz, syncKey, onZoom, editing, dashboardId, search, act }: DashboardPanelProps) {
  return (
    <PanelView
      panel={p}
      data={data}
      loading={loading}
      range={null}
      tz={tz}
      syncKey={syncKey}
      onZoom={onZoom}
      actions={
        <>
          <button type="button" aria-label={`Inspect ${p.title}`} onClick={() => act('inspect', p)}>
            i
          </button>
          {editing && (
            <>
              <Link to="/d/$id/panel/$panelId" params={{ id: dashboardId, panelId: p.id }} search={search}>
                <button type="button" aria-label={`Edit ${p.title}`}>
                  ✎
                </button>
              </Link>
              <button type="button" aria-label={`Duplicate ${p.title}`} onClick={() => act('duplicate', p)}>
                ⧉
              </button>
              <button type="button" aria-label={`Delete ${p.title}`} onClick={() => act('delete', p)}>
                🗑
              </button>
            </>
          )}
        </>
      }
    />
  );
});

export function canEditDashboard(me: { id: string; role: string } | undefined, d: Dashboard): boolean {
  return !!me && (me.role === 'admin' || (me.role === 'editor' && d.ownerId === me.id));
}

function VariablePicker({ v, selected, onChange }: { v: Variable; selected: string[]; onChange: (values: string[]) => void }) {
  const tags = useMetricTags(v.metric);
  const values = tags.data?.[v.tagKey] ?? [];
  const label = v.label || v.name;
  return (
    <label className="variable">
      {label}
      <select
        aria-label={label}
        multiple={!!v.multi}
        value={v.multi ? selected : selected[0]}
        onChange={(e) => onChange([...e.target.selectedOptions].map((o) => o.value))}
      >
        {v.includeAll && <option value={ALL}>All</option>}
        {values.map((value) => (
          <option key={value} value={value}>
            {value}
          </option>
        ))}
      </select>
    </label>
  );
}

function DashboardView({ dashboard }: { dashboard: Dashboard }) {
  const search = useSearch({ from: '/d/$id' });
  const navigate = useNavigate({ from: '/d/$id' });
  const me = useMe();
  const invalidate = useInvalidate();
  const view = useViewState(dashboard, search);
  const tick = useTick(view.from, view.to, view.tz, REFRESH_MS[view.refresh] ?? 0);
  const { editing, setEditing } = useEdit();
  const saver = useLayoutSaver(dashboard);
  const [inspecting, setInspecting] = useState<Panel | null>(null);
  const [deleting, setDeleting] = useState<Panel | null>(null);
  const editable = canEditDashboard(me.data, dashboard);
  const [settingsOpen, setSettingsOpen] = useState(false);
  // Open again after a login when the session expired while the dialog was open, so
  // the edits it kept are offered back where they were made (until it is closed).
  const keptSettings = useMemo(() => editable && hasKeptEdits(settingsKeptKey(dashboard.id)), [editable, dashboard.id]);
  const [keptDismissed, setKeptDismissed] = useState(false);
  const showSettings = settingsOpen || (keptSettings && !keptDismissed);
  const { ref: containerRef, width } = useWidth<HTMLDivElement>();
  const EditGrid = useEditGrid(editing);

  const requests = useMemo(
    () => (tick.range ? panelRequests(dashboard.panels, tick.range.end - tick.range.start, view.selected) : []),
    [dashboard.panels, tick.range, view.selected],
  );
  const data = usePanelData(dashboard.id, requests, tick.range, isRelative(view.to), tick.seq);

  const setSearch = useCallback(
    (patch: Partial<DashboardSearch> & Record<string, unknown>) => void navigate({ search: (s: DashboardSearch) => ({ ...s, ...patch }) }),
    [navigate],
  );
  const zoomTo = useCallback((start: number, end: number) => setSearch({ from: String(start), to: String(end) }), [setSearch]);

  const duplicate = async (p: Panel) => {
    try {
      const bottom = Math.max(0, ...saver.layout.map((l) => l.y + l.h));
      await ok(
        api.POST('/api/v1/dashboards/{id}/panels', {
          params: { path: { id: dashboard.id } },
          body: { title: `${p.title} (copy)`, type: p.type, query: p.query, options: p.options, position: { ...p.position, x: 0, y: bottom } },
        }),
      );
      await invalidate(keys.dashboard(dashboard.id));
    } catch (e) {
      notify.error(`Could not duplicate ${p.title}: ${(e as Error).message}`);
    }
  };

  const remove = async (p: Panel) => {
    setDeleting(null);
    try {
      await ok(api.DELETE('/api/v1/dashboards/{id}/panels/{panelId}', { params: { path: { id: dashboard.id, panelId: p.id } } }));
      await invalidate(keys.dashboard(dashboard.id));
    } catch (e) {
      notify.error(`Could not delete ${p.title}: ${(e as Error).message}`);
    }
  };

  // Stable handlers for the memoised panels: the latest closures, reached through a ref.
  const duplicateLatest = useRef(duplicate);
  useLayoutEffect(() => {
    duplicateLatest.current = duplicate;
  });
  const act = useCallback((kind: PanelAction, p: Panel) => {
    if (kind === 'duplicate') void duplicateLatest.current(p);
    else if (kind === 'delete') setDeleting(p);
    else setInspecting(p);
  }, []);
  const fetching = data.isPending || data.isFetching;
  const items: { i: string; node: ReactNode }[] = dashboard.panels.map((p) => {
    const panelData = data.data?.get(p.id);
    return {
      i: p.id,
      node: (
        <DashboardPanel
          panel={p}
          data={panelData}
          // Only a panel with nothing to show yet shows that it is loading, so a refresh
          // does not re-render the panels that keep their picture.
          loading={!panelData && fetching}
          tz={view.tz}
          syncKey={`dashboard-${dashboard.id}`}
          onZoom={zoomTo}
          editing={editing}
          dashboardId={dashboard.id}
          search={search}
          act={act}
        />
      ),
    };
  });

  const onStop = (layout: Layout) => saver.change(layout.map(({ i, x, y, w, h }) => ({ i, x, y, w, h })));
  const title = (pid: string) => dashboard.panels.find((p) => p.id === pid)?.title ?? pid;

  return (
    <>
      <div className="toolbar">
        <h1>{dashboard.name}</h1>
        {view.variables.map((v) => (
          <VariablePicker
            key={v.name}
            v={v}
            selected={view.selected[v.name] ?? []}
            onChange={(values) => setSearch({ [`var-${v.name}`]: v.multi ? values : values[0] })}
          />
        ))}
        <span className="spacer" />
        <TimeRangePicker from={view.from} to={view.to} tz={view.tz} error={tick.error} onChange={(from, to) => setSearch({ from, to })} />
        <button type="button" aria-label="Zoom out" title="Zoom out" disabled={!tick.range} onClick={() => tick.range && zoomTo(zoomOut(tick.range, Date.now()).start, zoomOut(tick.range, Date.now()).end)}>
          ⊖
        </button>
        <button type="button" aria-label="Shift back" title="Shift back" disabled={!tick.range} onClick={() => tick.range && zoomTo(shiftRange(tick.range, -1).start, shiftRange(tick.range, -1).end)}>
          ◀
        </button>
        <button type="button" aria-label="Shift forward" title="Shift forward" disabled={!tick.range} onClick={() => tick.range && zoomTo(shiftRange(tick.range, 1).start, shiftRange(tick.range, 1).end)}>
          ▶
        </button>
        <button
          type="button"
          aria-label="Time zone"
          title="Switch between UTC and the dashboard's own zone"
          // From UTC back to the dashboard's zone (the browser's when the dashboard's is UTC).
          onClick={() => setSearch({ tz: view.tz !== 'utc' ? 'utc' : view.defaultTz === 'utc' ? 'browser' : undefined })}
        >
          {zoneLabel(view.tz)}
        </button>
        <RefreshPicker value={view.refresh} onChange={(refresh) => setSearch({ refresh: refresh as DashboardSearch['refresh'] })} />
        <button type="button" aria-label="Refresh now" onClick={tick.refresh}>
          ↻
        </button>
        <button type="button" aria-label="Kiosk mode" onClick={() => setSearch({ kiosk: true })}>
          Kiosk
        </button>
        {editable && !editing && (
          <button type="button" onPointerEnter={() => void loadEditGrid().catch(() => undefined)} onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
        {editable && editing && (
          <>
            <Link to="/d/$id/panel/$panelId" params={{ id: dashboard.id, panelId: 'new' }} search={search} className="button-link">
              <button type="button">Add panel</button>
            </Link>
            <button type="button" onClick={() => setSettingsOpen(true)}>
              Settings
            </button>
            <button
              type="button"
              className="primary"
              onClick={() => {
                saver.flush();
                setEditing(false);
              }}
            >
              Save
            </button>
          </>
        )}
        {saver.saving && <span className="muted">Saving…</span>}
      </div>
      {search.kiosk && (
        <button type="button" className="kiosk-exit" aria-label="Exit kiosk mode" onClick={() => setSearch({ kiosk: undefined })}>
          ✕
        </button>
      )}
      {data.isError && <p className="panel-error">{data.error.message}</p>}
      <div ref={containerRef} className="grid-host" data-testid="grid">
        {width !== null &&
          (EditGrid ? (
            <EditGrid width={width} layout={saver.layout} editing={editing} onStop={onStop} items={items} />
          ) : (
            <StaticGrid width={width} layout={saver.layout} items={items} />
          ))}
      </div>
      {dashboard.panels.length === 0 && <p className="muted">This dashboard has no panels yet{editable ? ': Edit, then Add panel.' : '.'}</p>}
      <Suspense fallback={null}>
        {showSettings && (
          <VariableEditorDialog
            dashboard={dashboard}
            onClose={() => {
              setSettingsOpen(false);
              setKeptDismissed(true);
            }}
          />
        )}
        {inspecting && <InspectDialog title={inspecting.title} metric={inspecting.query.query} data={data.data?.get(inspecting.id)} onClose={() => setInspecting(null)} />}
      </Suspense>
      {deleting && (
        <Dialog
          title={`Delete ${deleting.title}?`}
          onClose={() => setDeleting(null)}
          actions={
            <>
              <button type="button" onClick={() => setDeleting(null)}>
                Cancel
              </button>
              <button type="button" className="primary" onClick={() => void remove(deleting)}>
                Delete panel
              </button>
            </>
          }
        >
          <p>The panel is removed from the dashboard.</p>
        </Dialog>
      )}
      {saver.conflict && (
        <Dialog
          title="Someone else changed this dashboard"
          onClose={saver.takeTheirs}
          actions={
            <>
              <button type="button" onClick={saver.takeTheirs}>
                Take theirs
              </button>
              <button type="button" className="primary" onClick={saver.keepMine}>
                Keep mine
              </button>
            </>
          }
        >
          <p>
            Version {saver.conflict.theirs.version} was saved while you were editing. Your layout differs from it in:
          </p>
          <ul data-testid="conflict-changes">
            {diffLayout(layoutOf(saver.conflict.theirs), saver.conflict.mine).map((c) => (
              <li key={c.i}>{describeChange(c, title)}</li>
            ))}
          </ul>
        </Dialog>
      )}
      {saver.draft && !saver.conflict && (
        <Dialog
          title="Unsaved changes found"
          onClose={saver.discardDraft}
          actions={
            <>
              <button type="button" onClick={saver.discardDraft}>
                Discard draft
              </button>
              <button
                type="button"
                className="primary"
                onClick={() => {
                  setEditing(true);
                  saver.restoreDraft();
                }}
              >
                Restore draft
              </button>
            </>
          }
        >
          <p>A layout you changed at {new Date(saver.draft.savedAt).toLocaleTimeString()} was not saved. Restore it?</p>
        </Dialog>
      )}
    </>
  );
}
