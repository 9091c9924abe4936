// The dashboard settings dialog of edit mode: how the dashboard opens (default time
// range, refresh interval and time zone) and the template variables (name, the tag
// their values come from, multi-select, "All"), saved with the dashboard by one PUT.
// Errors, the form's own or the server's, are shown next to the field they name.
import { useId, useState } from 'react';
import { api, ApiError, ok } from '../api/client';
import { keys, useInvalidate, type Dashboard } from '../api/hooks';
import { toStored, variableProblems, MAX_VARIABLES } from '../lib/variableRules';
import { parseTime, TimeParseError } from '../lib/timerange';
import { extras, settingsKeptKey, type Variable } from '../state/dashboardView';
import { useKeepOnExpiry, useKeptEdits } from '../state/kept';
import { Dialog } from './Dialog';
import { MetricOptions, useSettledMetricTags, useTypedMetric } from './MetricOptions';
import { fieldError } from './QueryEditor';

/** The IANA zones this browser knows, for the dashboard's default zone. */
const ZONES: string[] = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC') : [];

interface RowProps {
  index: number;
  value: Variable;
  errors: Record<string, string>;
  onChange: (v: Variable, changed: string[]) => void;
  onRemove: () => void;
}

function Problem({ text }: { text: string | undefined }) {
  return text ? <span className="field-error">{text}</span> : null;
}

function VariableRow({ index, value, errors, onChange, onRemove }: RowProps) {
  const metricsList = useId();
  const settled = useTypedMetric(value.metric);
  const tags = useSettledMetricTags(settled);
  const tagKeys = Object.keys(tags.data ?? {}).sort();
  if (value.tagKey && !tagKeys.includes(value.tagKey)) tagKeys.unshift(value.tagKey);
  const at = `variables[${index}]`;
  const err = (name: string) => fieldError(errors, `${at}.${name}`);
  const set = (patch: Partial<Variable>) => onChange({ ...value, ...patch }, Object.keys(patch).map((k) => `${at}.${k}`));
  return (
    <fieldset className="variable-row" aria-label={`Variable ${index + 1}`}>
      <label>
        Name
        <input aria-label="Name" value={value.name} onChange={(e) => set({ name: e.target.value })} aria-invalid={err('name') ? true : undefined} />
        <Problem text={err('name')} />
      </label>
      <label>
        Label
        <input aria-label="Label" value={value.label ?? ''} onChange={(e) => set({ label: e.target.value })} aria-invalid={err('label') ? true : undefined} />
        <Problem text={err('label')} />
      </label>
      <label>
        Metric
        <input aria-label="Metric" list={metricsList} value={value.metric} onChange={(e) => set({ metric: e.target.value, tagKey: '' })} aria-invalid={err('metric') ? true : undefined} autoComplete="off" />
        <MetricOptions id={metricsList} settled={settled} />
        <Problem text={err('metric')} />
      </label>
      <label>
        Tag key
        <select aria-label="Tag key" value={value.tagKey} onChange={(e) => set({ tagKey: e.target.value })} aria-invalid={err('tagKey') ? true : undefined}>
          <option value="">(choose)</option>
          {tagKeys.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <Problem text={err('tagKey')} />
      </label>
      <label className="check">
        <input type="checkbox" aria-label="Multi-select" checked={!!value.multi} onChange={(e) => set({ multi: e.target.checked })} />
        Multi-select
      </label>
      <label className="check">
        <input type="checkbox" aria-label="Include All" checked={!!value.includeAll} onChange={(e) => set({ includeAll: e.target.checked })} />
        Include All
      </label>
      <Problem text={err('default')} />
      <button type="button" aria-label={`Remove variable ${index + 1}`} onClick={onRemove}>
        Remove
      </button>
    </fieldset>
  );
}

const REFRESHES = ['off', '5s', '10s', '30s', '1m', '5m'] as const;
type Refresh = (typeof REFRESHES)[number];

/** The form's own check of a default range end (the server applies the same syntax). */
function timeProblem(text: string): string | undefined {
  try {
    parseTime(text, Date.now(), 'utc');
    return undefined;
  } catch (e) {
    return e instanceof TimeParseError ? e.message : String(e);
  }
}

/** What the dialog holds: kept across an expired session. */
interface SettingsFields {
  from: string;
  to: string;
  refresh: Refresh;
  timeZone: string;
  variables: Variable[];
}

export function VariableEditorDialog({ dashboard, onClose: close }: { dashboard: Dashboard; onClose: () => void }) {
  const initial = extras(dashboard).settings;
  const keptKey = settingsKeptKey(dashboard.id);
  const { kept, discard: discardKept } = useKeptEdits<SettingsFields>(keptKey);
  const [from, setFrom] = useState(kept?.from ?? initial.timeRange?.from ?? 'now-6h');
  const [to, setTo] = useState(kept?.to ?? initial.timeRange?.to ?? 'now');
  const [refresh, setRefresh] = useState<Refresh>(kept?.refresh ?? (REFRESHES.includes(initial.refresh as Refresh) ? (initial.refresh as Refresh) : '10s'));
  const [timeZone, setTimeZone] = useState(kept?.timeZone ?? initial.timeZone ?? 'browser');
  const [variables, setVariables] = useState<Variable[]>(() => kept?.variables ?? extras(dashboard).variables.map((v) => ({ ...v })));
  useKeepOnExpiry<SettingsFields>(keptKey, { from, to, refresh, timeZone, variables });
  // Saved or cancelled: edits kept from an expired session are done with.
  const onClose = () => {
    discardKept();
    close();
  };
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const invalidate = useInvalidate();

  const save = async () => {
    const stored = variables.map(toStored);
    const local = variableProblems(stored);
    const fromProblem = timeProblem(from);
    const toProblem = timeProblem(to);
    if (fromProblem) local['settings.timeRange.from'] = fromProblem;
    if (toProblem) local['settings.timeRange.to'] = toProblem;
    setErrors(local);
    setFailure(null);
    if (Object.keys(local).length > 0) return;
    setSaving(true);
    try {
      await ok(api.PUT('/api/v1/dashboards/{id}', { params: { path: { id: dashboard.id } }, body: { version: dashboard.version, variables: stored, settings: { timeRange: { from: from.trim(), to: to.trim() }, refresh, timeZone } } }));
      await invalidate(keys.dashboard(dashboard.id));
      onClose();
    } catch (e) {
      if (e instanceof ApiError) {
        const fields = e.fieldErrors();
        setErrors(fields);
        // Field errors are shown at their fields; only the rest needs words here.
        if (e.status === 409) setFailure('Someone else changed this dashboard meanwhile: close, reload and try again.');
        else if (Object.keys(fields).length === 0) setFailure(e.message);
      } else setFailure((e as Error).message);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Dialog
      title="Dashboard settings"
      onClose={onClose}
      actions={
        <>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="primary" disabled={saving} onClick={() => void save()}>
            Save settings
          </button>
        </>
      }
    >
      {kept && (
        <p className="muted" role="status">
          Your session had expired: the changes you had not saved are back in the form.
        </p>
      )}
      <h3>When it opens</h3>
      <p className="muted">What the dashboard shows when its link carries no range, refresh or zone of its own.</p>
      <div className="variable-row">
        <label>
          Default from
          <input aria-label="Default from" value={from} onChange={(e) => setFrom(e.target.value)} placeholder="now-6h" />
          <Problem text={fieldError(errors, 'settings.timeRange.from') ?? fieldError(errors, 'settings.timeRange')} />
        </label>
        <label>
          Default to
          <input aria-label="Default to" value={to} onChange={(e) => setTo(e.target.value)} placeholder="now" />
          <Problem text={fieldError(errors, 'settings.timeRange.to')} />
        </label>
        <label>
          Default refresh
          <select aria-label="Default refresh" value={refresh} onChange={(e) => setRefresh(e.target.value as Refresh)}>
            {REFRESHES.map((r) => (
              <option key={r} value={r}>
                {r === 'off' ? 'Off' : r}
              </option>
            ))}
          </select>
        </label>
        <label>
          Default time zone
          <select aria-label="Default time zone" value={timeZone} onChange={(e) => setTimeZone(e.target.value)}>
            <option value="browser">Browser</option>
            <option value="utc">UTC</option>
            {timeZone !== 'browser' && timeZone !== 'utc' && !ZONES.includes(timeZone) && <option value={timeZone}>{timeZone}</option>}
            {ZONES.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
          <Problem text={fieldError(errors, 'settings.timeZone')} />
        </label>
      </div>
      <h3>Variables</h3>
      <p className="muted">A panel's tag filter uses a variable as <code>$name</code>.</p>
      {variables.length === 0 && <p className="muted">No variables yet.</p>}
      {variables.map((v, i) => (
        <VariableRow
          key={i}
          index={i}
          value={v}
          errors={errors}
          onChange={(next, changed) => {
            setVariables((vs) => vs.map((x, k) => (k === i ? next : x)));
            // An edited field's error no longer applies to what it holds.
            setErrors((es) => Object.fromEntries(Object.entries(es).filter(([k]) => !changed.includes(k))));
          }}
          onRemove={() => {
            setVariables((vs) => vs.filter((_, k) => k !== i));
            setErrors({});
          }}
        />
      ))}
      <Problem text={fieldError(errors, 'variables')} />
      <button type="button" disabled={variables.length >= MAX_VARIABLES} onClick={() => setVariables((vs) => [...vs, { name: '', metric: '', tagKey: '', multi: false, includeAll: true }])}>
        Add variable
      </button>
      {failure && (
        <p className="panel-error" role="alert">
          {failure}
        </p>
      )}
    </Dialog>
  );
}
