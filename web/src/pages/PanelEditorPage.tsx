// The panel editor: query, type and options on the left, a live preview on the right.
import { useState } from 'react';
import { useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { api, ok, ApiError, type Schemas } from '../api/client';
import { keys, useDashboard, useInvalidate, type Dashboard } from '../api/hooks';
import { Preview, type PreviewPanel } from '../components/Preview';
import { QueryEditor, fieldError, localQueryErrors, type QueryValue } from '../components/QueryEditor';
import { foldThresholdErrors, panelProblems, parseThresholds } from '../lib/panelRules';
import { UNITS } from '../lib/units';
import { useViewState } from '../state/dashboardView';
import { useKeepOnExpiry, useKeptEdits } from '../state/kept';

type PanelType = Schemas['PanelType'];
const PANEL_TYPES: PanelType[] = ['line', 'area', 'bar', 'gauge', 'stat'];
const CALCULATIONS = ['last', 'avg', 'min', 'max', 'sum'] as const;

export function PanelEditorPage() {
  const { id, panelId } = useParams({ from: '/d/$id/panel/$panelId' });
  const dashboard = useDashboard(id);
  if (dashboard.isPending) return <p className="muted">Loading…</p>;
  if (dashboard.isError) return <p className="panel-error">{dashboard.error.message}</p>;
  return <PanelEditor key={panelId} dashboard={dashboard.data} panelId={panelId} />;
}

/** What the form holds: kept across an expired session. */
interface EditorFields {
  title: string;
  type: PanelType;
  query: QueryValue;
  unit: string;
  color: string;
  showLegend: boolean;
  calculation: string;
  min: string;
  max: string;
  thresholds: string;
}

function PanelEditor({ dashboard, panelId }: { dashboard: Dashboard; panelId: string }) {
  const search = useSearch({ from: '/d/$id/panel/$panelId' });
  const navigate = useNavigate();
  const invalidate = useInvalidate();
  const view = useViewState(dashboard, search);
  const existing = dashboard.panels.find((p) => p.id === panelId);
  const keptKey = `panel-editor:${dashboard.id}:${panelId}`;
  const { kept, discard: discardKept } = useKeptEdits<EditorFields>(keptKey);
  const o = existing?.options ?? {};
  const [title, setTitle] = useState(kept?.title ?? existing?.title ?? 'New panel');
  const [type, setType] = useState<PanelType>(kept?.type ?? existing?.type ?? 'line');
  const [query, setQuery] = useState<QueryValue>(
    kept?.query ?? {
      query: existing?.query.query ?? '',
      aggregation: existing?.query.aggregation ?? 'avg',
      tags: (existing?.query.tags as Record<string, string> | null) ?? {},
      groupBy: existing?.query.groupBy ?? [],
      step: existing?.query.step ?? '',
    },
  );
  const [unit, setUnit] = useState(kept?.unit ?? o.unit ?? 'short');
  const [color, setColor] = useState(kept?.color ?? o.color ?? '');
  const [showLegend, setShowLegend] = useState(kept?.showLegend ?? o.showLegend ?? true);
  const [calculation, setCalculation] = useState<string>(kept?.calculation ?? o.calculation ?? 'last');
  const [min, setMin] = useState(kept?.min ?? (o.min == null ? '' : String(o.min)));
  const [max, setMax] = useState(kept?.max ?? (o.max == null ? '' : String(o.max)));
  const [thresholds, setThresholds] = useState(kept?.thresholds ?? (o.thresholds ?? []).map((t) => `${t.value}:${t.color}`).join(', '));
  useKeepOnExpiry<EditorFields>(keptKey, { title, type, query, unit, color, showLegend, calculation, min, max, thresholds });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const parsedThresholds = parseThresholds(thresholds);
  const options: Schemas['PanelOptions'] = {
    unit,
    color: color || null,
    showLegend,
    thresholds: typeof parsedThresholds === 'string' ? [] : parsedThresholds,
    calculation: type === 'stat' || type === 'gauge' ? (calculation as Schemas['Calculation']) : null,
    min: min === '' ? null : Number(min),
    max: max === '' ? null : Number(max),
  };
  const preview: PreviewPanel = { id: existing?.id ?? 'preview', title: title || 'Preview', type, options, query };
  // Saved or cancelled: edits kept from an expired session are done with.
  const back = () => {
    discardKept();
    return navigate({ to: '/d/$id', params: { id: dashboard.id }, search });
  };

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    const local: Record<string, string> = { ...localQueryErrors(query), ...panelProblems({ title, metric: query.query, color, thresholds, min, max }) };
    setErrors(local);
    if (Object.keys(local).length > 0) return;
    const bottom = Math.max(0, ...dashboard.panels.map((p) => p.position.y + p.position.h));
    const body: Schemas['PanelInput'] = {
      title: title.trim(),
      type,
      query: {
        query: query.query.trim(),
        aggregation: query.aggregation,
        tags: Object.keys(query.tags).length ? query.tags : null,
        groupBy: query.groupBy.length ? query.groupBy : null,
        step: query.step.trim() || null,
      },
      options,
      position: existing?.position ?? { x: 0, y: bottom, w: 12, h: 8 },
    };
    setBusy(true);
    try {
      if (existing) {
        await ok(api.PUT('/api/v1/dashboards/{id}/panels/{panelId}', { params: { path: { id: dashboard.id, panelId: existing.id } }, body }));
      } else {
        await ok(api.POST('/api/v1/dashboards/{id}/panels', { params: { path: { id: dashboard.id } }, body }));
      }
      await invalidate(keys.dashboard(dashboard.id));
      await back();
    } catch (err) {
      if (err instanceof ApiError) {
        setErrors(foldThresholdErrors(err.fieldErrors()));
        setFormError(err.message);
      } else setFormError(String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="editor">
      <form onSubmit={save} noValidate aria-label="Panel editor">
        <h1>{existing ? `Edit ${existing.title}` : 'Add panel'}</h1>
        {kept && (
          <p className="muted" role="status">
            Your session had expired: the changes you had not saved are back in the form.
          </p>
        )}
        <label>
          Title
          <input aria-label="Title" value={title} onChange={(e) => setTitle(e.target.value)} aria-invalid={fieldError(errors, 'title') ? true : undefined} />
          {fieldError(errors, 'title') && <span className="field-error">{fieldError(errors, 'title')}</span>}
        </label>
        <label>
          Panel type
          <select aria-label="Panel type" value={type} onChange={(e) => setType(e.target.value as PanelType)}>
            {PANEL_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <QueryEditor value={query} onChange={setQuery} errors={errors} />
        <label>
          Unit
          <select aria-label="Unit" value={unit} onChange={(e) => setUnit(e.target.value)}>
            {UNITS.map((u) => (
              <option key={u} value={u}>
                {u}
              </option>
            ))}
          </select>
        </label>
        <label>
          Colour
          <input aria-label="Colour" value={color} placeholder="#3b82f6" onChange={(e) => setColor(e.target.value)} />
          {fieldError(errors, 'color') && <span className="field-error">{fieldError(errors, 'color')}</span>}
        </label>
        <label className="inline">
          <span>
            <input type="checkbox" checked={showLegend} onChange={(e) => setShowLegend(e.target.checked)} /> Legend
          </span>
        </label>
        <label>
          Thresholds
          <input aria-label="Thresholds" value={thresholds} placeholder="80:orange, 95:red" onChange={(e) => setThresholds(e.target.value)} />
          {fieldError(errors, 'thresholds') && <span className="field-error">{fieldError(errors, 'thresholds')}</span>}
        </label>
        {(type === 'stat' || type === 'gauge') && (
          <label>
            Calculation
            <select aria-label="Calculation" value={calculation} onChange={(e) => setCalculation(e.target.value)}>
              {CALCULATIONS.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        )}
        <div className="toolbar">
          <label>
            Min
            <input aria-label="Min" value={min} onChange={(e) => setMin(e.target.value)} inputMode="decimal" />
            {fieldError(errors, 'min') && <span className="field-error">{fieldError(errors, 'min')}</span>}
          </label>
          <label>
            Max
            <input aria-label="Max" value={max} onChange={(e) => setMax(e.target.value)} inputMode="decimal" />
            {fieldError(errors, 'max') && <span className="field-error">{fieldError(errors, 'max')}</span>}
          </label>
        </div>
        {formError && (
          <p className="field-error" role="alert">
            {formError}
          </p>
        )}
        <div className="toolbar">
          <button type="submit" className="primary" disabled={busy}>
            Save panel
          </button>
          <button type="button" onClick={() => void back()}>
            Cancel
          </button>
        </div>
      </form>
      <Preview panel={preview} from={view.from} to={view.to} tz={view.tz} />
    </div>
  );
}
