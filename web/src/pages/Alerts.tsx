// Alert rules: the list with each rule's state (polled), the enable switch (flips at
// once, rolls back with a toast when refused), create/edit with "evaluate now",
// history with filters and paging, silences.
import { useState } from 'react';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { notify } from '../state/notify';
import { api, ok, ApiError, type Schemas } from '../api/client';
import { keys, useMe } from '../api/hooks';
import { metricNameProblem } from '../lib/panelRules';
import { fromUtcInput, rangeProblem, utcInputValue } from '../lib/utcInput';
import { silenceRequest, type MatcherRow } from '../lib/silenceRules';
import { RuleOptions } from '../components/RuleOptions';
import { useKeepOnExpiry, useKeptEdits } from '../state/kept';
import { QueryEditor, RULE_AGGREGATIONS, fieldError, type QueryValue } from '../components/QueryEditor';

type Rule = Schemas['RuleView'];
type RuleRequest = Schemas['RuleRequest'];
const RULE_POLL_MS = 5_000;

function toRequest(r: Rule, patch: Partial<RuleRequest> = {}): RuleRequest {
  return {
    name: r.name,
    query: r.query,
    condition: r.condition,
    threshold: r.threshold,
    duration: r.duration,
    severity: r.severity,
    enabled: r.enabled,
    notification: r.notification,
    noData: r.noData,
    ...patch,
  };
}

function AlertsNav() {
  return (
    <nav className="toolbar" aria-label="Alerts">
      <Link to="/alerts">Rules</Link>
      <Link to="/alerts/history" search={{}}>
        History
      </Link>
      <Link to="/alerts/silences">Silences</Link>
    </nav>
  );
}

export function AlertsPage() {
  const qc = useQueryClient();
  const me = useMe();
  const rules = useQuery({
    queryKey: keys.rules,
    queryFn: async () => (await ok(api.GET('/api/v1/alerts/rules'))).data,
    refetchInterval: RULE_POLL_MS,
    refetchIntervalInBackground: false,
  });
  const toggle = useMutation({
    mutationFn: async (r: Rule) =>
      ok(api.PUT('/api/v1/alerts/rules/{id}', { params: { path: { id: r.id } }, body: toRequest(r, { enabled: !r.enabled }) })),
    onMutate: async (r: Rule) => {
      await qc.cancelQueries({ queryKey: keys.rules });
      const before = qc.getQueryData<Rule[]>(keys.rules);
      qc.setQueryData<Rule[]>(keys.rules, (list) => list?.map((x) => (x.id === r.id ? { ...x, enabled: !r.enabled } : x)));
      return { before };
    },
    onError: (e, r, context) => {
      qc.setQueryData(keys.rules, context?.before);
      notify.error(`Could not ${r.enabled ? 'disable' : 'enable'} ${r.name}: ${(e as Error).message}`);
    },
    onSettled: () => qc.invalidateQueries({ queryKey: keys.rules }),
  });
  const canWrite = me.data?.role !== 'viewer';

  return (
    <>
      <div className="toolbar">
        <h1>Alerts</h1>
        <AlertsNav />
        <span className="spacer" />
        {canWrite && (
          <Link to="/alerts/rules/$ruleId" params={{ ruleId: 'new' }}>
            <button type="button" className="primary">
              New rule
            </button>
          </Link>
        )}
      </div>
      {rules.isError && <p className="panel-error">{rules.error.message}</p>}
      <table className="data" aria-label="Alert rules">
        <thead>
          <tr>
            <th>Enabled</th>
            <th>Name</th>
            <th>State</th>
            <th>Condition</th>
            <th>Severity</th>
            <th>Notification</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(rules.data ?? []).map((r) => (
            <tr key={r.id} data-testid="rule-row" data-rule={r.name}>
              <td>
                <button
                  type="button"
                  role="switch"
                  aria-checked={r.enabled}
                  aria-label="Enabled"
                  className="switch"
                  disabled={!canWrite}
                  onClick={() => toggle.mutate(r)}
                />
              </td>
              <td>
                <Link to="/alerts/rules/$ruleId" params={{ ruleId: r.id }}>
                  {r.name}
                </Link>
              </td>
              <td className={`state-${r.state}`} data-testid="rule-state">
                {r.state}
              </td>
              <td>
                {r.query.aggregation ?? 'avg'}({r.query.query}) {r.condition} {r.threshold} for {r.duration}
              </td>
              <td>{r.severity}</td>
              <td>
                {r.notification.type}: {r.notification.target}
              </td>
              <td>
                <Link to="/alerts/history" search={{ ruleId: r.id }} aria-label={`History of ${r.name}`}>
                  History
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {rules.isSuccess && rules.data.length === 0 && <p className="muted">No alert rules yet.</p>}
    </>
  );
}

const CONDITIONS: Schemas['Condition'][] = ['gt', 'gte', 'lt', 'lte', 'eq', 'ne'];
const SEVERITIES: Schemas['Severity'][] = ['info', 'warning', 'critical'];

export function RuleFormPage() {
  const { ruleId } = useParams({ from: '/alerts/rules/$ruleId' });
  const isNew = ruleId === 'new';
  const rule = useQuery({
    queryKey: keys.rule(ruleId),
    queryFn: async () => (await ok(api.GET('/api/v1/alerts/rules/{id}', { params: { path: { id: ruleId } } }))).data,
    enabled: !isNew,
  });
  if (!isNew && rule.isPending) return <p className="muted">Loading…</p>;
  if (!isNew && rule.isError) return <p className="panel-error">{rule.error.message}</p>;
  return <RuleForm key={ruleId} rule={isNew ? undefined : rule.data} />;
}

/** What the rule form holds: kept across an expired session. */
interface RuleFields {
  name: string;
  query: QueryValue;
  window: string;
  condition: Schemas['Condition'];
  threshold: string;
  duration: string;
  severity: Schemas['Severity'];
  channel: Schemas['Channel'];
  target: string;
  noData: Schemas['NoDataPolicy'];
  enabled: boolean;
}

function RuleForm({ rule }: { rule?: Rule }) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const keptKey = `rule-form:${rule?.id ?? 'new'}`;
  const { kept, discard: discardKept } = useKeptEdits<RuleFields>(keptKey);
  const [name, setName] = useState(kept?.name ?? rule?.name ?? '');
  const [query, setQuery] = useState<QueryValue>(
    kept?.query ?? {
      query: rule?.query.query ?? '',
      aggregation: rule?.query.aggregation ?? 'avg',
      tags: rule?.query.tags ?? {},
      groupBy: rule?.query.groupBy ?? [],
      step: '',
    },
  );
  const [window, setWindow] = useState(kept?.window ?? rule?.query.window ?? '');
  const [condition, setCondition] = useState<Schemas['Condition']>(kept?.condition ?? rule?.condition ?? 'gt');
  const [threshold, setThreshold] = useState(kept?.threshold ?? (rule ? String(rule.threshold) : ''));
  const [duration, setDuration] = useState(kept?.duration ?? rule?.duration ?? '1m');
  const [severity, setSeverity] = useState<Schemas['Severity']>(kept?.severity ?? rule?.severity ?? 'warning');
  const [channel, setChannel] = useState<Schemas['Channel']>(kept?.channel ?? rule?.notification.type ?? 'webhook');
  const [target, setTarget] = useState(kept?.target ?? rule?.notification.target ?? '');
  const [noData, setNoData] = useState<Schemas['NoDataPolicy']>(kept?.noData ?? rule?.noData ?? 'ok');
  const [enabled, setEnabled] = useState(kept?.enabled ?? rule?.enabled ?? true);
  useKeepOnExpiry<RuleFields>(keptKey, { name, query, window, condition, threshold, duration, severity, channel, target, noData, enabled });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [evaluation, setEvaluation] = useState<Schemas['Evaluation'] | null>(null);

  const body = (): RuleRequest | null => {
    const local: Record<string, string> = {};
    if (!name.trim()) local.name = 'must not be empty';
    const metric = metricNameProblem(query.query.trim());
    if (metric) local['query.query'] = metric;
    if (threshold.trim() === '' || Number.isNaN(Number(threshold))) local.threshold = 'must be a number';
    if (!/^\d+(ms|s|m|h|d)$/.test(duration.trim())) local.duration = 'a duration such as 0s, 1m or 5m';
    if (!target.trim()) local['notification.target'] = channel === 'email' ? 'an email address' : 'a URL';
    setErrors(local);
    if (Object.keys(local).length > 0) return null;
    return {
      name: name.trim(),
      query: { query: query.query.trim(), aggregation: query.aggregation, tags: query.tags, groupBy: query.groupBy, window: window.trim() || null },
      condition,
      threshold: Number(threshold),
      duration: duration.trim(),
      severity,
      enabled,
      notification: { type: channel, target: target.trim() },
      noData,
    };
  };

  const showServerError = (err: unknown) => {
    if (err instanceof ApiError) {
      setErrors(err.fieldErrors());
      setFormError(err.message);
    } else setFormError(String(err));
  };

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    const b = body();
    if (!b) return;
    try {
      if (rule) await ok(api.PUT('/api/v1/alerts/rules/{id}', { params: { path: { id: rule.id } }, body: b }));
      else await ok(api.POST('/api/v1/alerts/rules', { body: b }));
      discardKept();
      await qc.invalidateQueries({ queryKey: keys.rules });
      await navigate({ to: '/alerts' });
    } catch (err) {
      showServerError(err);
    }
  };

  // Evaluates the rule as written in the form (saved or not), as a new rule would start.
  const evaluate = async () => {
    const b = body();
    if (!b) return;
    try {
      setEvaluation((await ok(api.POST('/api/v1/alerts/rules/evaluate', { body: b }))).data);
    } catch (err) {
      showServerError(err);
    }
  };

  const remove = async () => {
    if (!rule || !confirm(`Delete the rule ${rule.name}?`)) return;
    try {
      await ok(api.DELETE('/api/v1/alerts/rules/{id}', { params: { path: { id: rule.id } } }));
      await qc.invalidateQueries({ queryKey: keys.rules });
      await navigate({ to: '/alerts' });
    } catch (err) {
      showServerError(err);
    }
  };

  const err = (f: string) => fieldError(errors, f) && <span className="field-error">{fieldError(errors, f)}</span>;

  return (
    <form className="editor-form" onSubmit={save} noValidate aria-label="Alert rule">
      <h1>{rule ? `Edit ${rule.name}` : 'New rule'}</h1>
      {kept && (
        <p className="muted" role="status">
          Your session had expired: the changes you had not saved are back in the form.
        </p>
      )}
      <div className="form-grid">
        <label>
          Name
          <input aria-label="Name" value={name} onChange={(e) => setName(e.target.value)} />
          {err('name')}
        </label>
        <QueryEditor value={query} onChange={setQuery} errors={errors} showStep={false} aggregations={RULE_AGGREGATIONS} />
        <label>
          Window
          <input aria-label="Window" value={window} placeholder="as For, at least 1m" onChange={(e) => setWindow(e.target.value)} />
          {err('window')}
        </label>
        <label>
          Condition
          <select aria-label="Condition" value={condition} onChange={(e) => setCondition(e.target.value as Schemas['Condition'])}>
            {CONDITIONS.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Threshold
          <input aria-label="Threshold" value={threshold} inputMode="decimal" onChange={(e) => setThreshold(e.target.value)} />
          {err('threshold')}
        </label>
        <label>
          For
          <input aria-label="For" value={duration} onChange={(e) => setDuration(e.target.value)} />
          {err('duration')}
        </label>
        <label>
          Severity
          <select aria-label="Severity" value={severity} onChange={(e) => setSeverity(e.target.value as Schemas['Severity'])}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Notification type
          <select aria-label="Notification type" value={channel} onChange={(e) => setChannel(e.target.value as Schemas['Channel'])}>
            <option value="webhook">webhook</option>
            <option value="email">email</option>
          </select>
        </label>
        <label>
          Target
          <input aria-label="Target" value={target} onChange={(e) => setTarget(e.target.value)} placeholder={channel === 'email' ? 'oncall@example.com' : 'https://hooks.example.com/vigil'} />
          {err('target')}
        </label>
        <label>
          No data
          <select aria-label="No data" value={noData} onChange={(e) => setNoData(e.target.value as Schemas['NoDataPolicy'])}>
            <option value="ok">ok</option>
            <option value="alerting">alerting</option>
            <option value="keep">keep</option>
          </select>
        </label>
        <label>
          <span>
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled on save
          </span>
        </label>
      </div>
      {formError && (
        <p className="field-error" role="alert">
          {formError}
        </p>
      )}
      <div className="toolbar">
        <button type="submit" className="primary">
          Save rule
        </button>
        <button type="button" onClick={() => void evaluate()}>
          Evaluate now
        </button>
        {rule && (
          <button type="button" className="danger" onClick={() => void remove()}>
            Delete rule
          </button>
        )}
        <button type="button" onClick={() => (discardKept(), void navigate({ to: '/alerts' }))}>
          Cancel
        </button>
      </div>
      {evaluation && (
        <table className="data" aria-label="Evaluation">
          <thead>
            <tr>
              <th>Labels</th>
              <th>Value</th>
              <th>Condition met</th>
              <th>State now</th>
              <th>Would be</th>
            </tr>
          </thead>
          <tbody>
            {evaluation.instances.map((i, k) => (
              <tr key={k}>
                <td>{JSON.stringify(i.labels)}</td>
                <td>{i.value ?? 'no data'}</td>
                <td>{i.conditionMet === null || i.conditionMet === undefined ? '–' : i.conditionMet ? 'yes' : 'no'}</td>
                <td>{i.state}</td>
                <td>{i.wouldBe}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </form>
  );
}

const HISTORY_PAGE = 50;

export function HistoryPage() {
  const search = useSearch({ from: '/alerts/history' });
  const navigate = useNavigate({ from: '/alerts/history' });
  const rules = useQuery({ queryKey: keys.rules, queryFn: async () => (await ok(api.GET('/api/v1/alerts/rules'))).data });
  const [state, setState] = useState('');
  // The pages read so far belong to one set of filters: a filter changed in the form
  // or by Back/Forward through the URL starts again at the newest page.
  const filters = JSON.stringify([search.ruleId, state, search.from, search.to]);
  const [paged, setPaged] = useState<{ filters: string; cursors: number[] }>({ filters, cursors: [] });
  const cursors = paged.filters === filters ? paged.cursors : [];
  const setCursors = (next: number[]) => setPaged({ filters, cursors: next });
  const cursor = cursors[cursors.length - 1];
  const badRange = rangeProblem(search.from, search.to);
  const history = useQuery({
    queryKey: ['history', search.ruleId, state, search.from, search.to, cursor],
    queryFn: async () =>
      ok(
        api.GET('/api/v1/alerts/history', {
          params: { query: { ruleId: search.ruleId, state: state || undefined, from: search.from, to: search.to, cursor, limit: HISTORY_PAGE } },
        }),
      ),
    // An empty range would list nothing; the form says why instead.
    enabled: badRange === null,
  });
  const setBound = (bound: 'from' | 'to', value: string) => {
    void navigate({ search: (prev) => ({ ...prev, [bound]: fromUtcInput(value) }) });
  };
  return (
    <>
      <div className="toolbar">
        <h1>Alert history</h1>
        <AlertsNav />
        <label>
          Rule
          <select
            aria-label="Rule"
            value={search.ruleId ?? ''}
            onChange={(e) => {
              void navigate({ search: (prev) => ({ ...prev, ruleId: e.target.value || undefined }) });
            }}
          >
            <RuleOptions rules={rules.data}>
              {search.ruleId && !rules.data?.some((r) => r.id === search.ruleId) && <option value={search.ruleId}>{search.ruleId.slice(0, 8)}</option>}
            </RuleOptions>
          </select>
        </label>
        <label>
          State
          <select aria-label="State" value={state} onChange={(e) => setState(e.target.value)}>
            <option value="">any</option>
            <option value="firing">firing</option>
            <option value="resolved">resolved</option>
          </select>
        </label>
        <label>
          From (UTC)
          <input type="datetime-local" step={1} aria-label="From" value={utcInputValue(search.from)} onChange={(e) => setBound('from', e.target.value)} />
        </label>
        <label>
          To (UTC)
          <input type="datetime-local" step={1} aria-label="To" value={utcInputValue(search.to)} onChange={(e) => setBound('to', e.target.value)} aria-invalid={badRange ? true : undefined} />
          {badRange && <span className="field-error">{badRange}</span>}
        </label>
      </div>
      {history.isError && <p className="panel-error">{history.error.message}</p>}
      <table className="data" aria-label="Alert history">
        <thead>
          <tr>
            <th>At</th>
            <th>Rule</th>
            <th>State</th>
            <th>Value</th>
            <th>Labels</th>
            <th>Notification</th>
          </tr>
        </thead>
        <tbody>
          {(history.data?.data ?? []).map((e) => (
            <tr key={e.id}>
              <td>{e.at}</td>
              <td>{e.ruleName}</td>
              <td className={`state-${e.state}`}>{e.state}</td>
              <td>{e.value ?? '–'}</td>
              <td>{JSON.stringify(e.labels)}</td>
              <td>{e.silenced ? 'silenced' : (e.notification ?? '')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="toolbar">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={!history.data?.meta.nextCursor}
          onClick={() => history.data?.meta.nextCursor && setCursors([...cursors, history.data.meta.nextCursor])}
        >
          Older
        </button>
      </div>
    </>
  );
}

export function SilencesPage() {
  const qc = useQueryClient();
  const silences = useQuery({ queryKey: ['silences'], queryFn: async () => (await ok(api.GET('/api/v1/alerts/silences'))).data });
  const rules = useQuery({ queryKey: keys.rules, queryFn: async () => (await ok(api.GET('/api/v1/alerts/rules'))).data });
  const [ruleId, setRuleId] = useState('');
  const [matchers, setMatchers] = useState<MatcherRow[]>([]);
  const [starts, setStarts] = useState('');
  const [hours, setHours] = useState('2');
  const [comment, setComment] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    const built = silenceRequest({ ruleId, matchers, starts, hours, comment }, Date.now());
    setError(null);
    if ('errors' in built) {
      setErrors(built.errors);
      return;
    }
    setErrors({});
    try {
      await ok(api.POST('/api/v1/alerts/silences', { body: built.body }));
      setMatchers([]);
      setStarts('');
      setComment('');
      await qc.invalidateQueries({ queryKey: ['silences'] });
    } catch (err) {
      const fields = err instanceof ApiError ? err.fieldErrors() : {};
      setErrors(fields);
      // Field errors are shown at their fields; only the rest needs words here.
      if (Object.keys(fields).length === 0) setError((err as Error).message);
    }
  };
  const expire = async (id: string) => {
    try {
      await ok(api.DELETE('/api/v1/alerts/silences/{id}', { params: { path: { id } } }));
    } catch (err) {
      notify.error((err as Error).message);
    }
    await qc.invalidateQueries({ queryKey: ['silences'] });
  };
  const setMatcher = (index: number, patch: Partial<MatcherRow>) => setMatchers((ms) => ms.map((m, k) => (k === index ? { ...m, ...patch } : m)));
  const problem = (field: string) => errors[field] && <span className="field-error">{errors[field]}</span>;
  return (
    <>
      <div className="toolbar">
        <h1>Silences</h1>
        <AlertsNav />
      </div>
      <form onSubmit={create} aria-label="New silence">
        <div className="toolbar">
          <label>
            Rule
            <select aria-label="Rule" value={ruleId} onChange={(e) => setRuleId(e.target.value)}>
              <RuleOptions rules={rules.data} />
            </select>
          </label>
          <label>
            Starts (UTC)
            <input type="datetime-local" step={1} aria-label="Starts" value={starts} onChange={(e) => setStarts(e.target.value)} aria-invalid={errors.startsAt ? true : undefined} />
            <span className="muted">empty: now</span>
            {problem('startsAt')}
          </label>
          <label>
            Hours
            <input aria-label="Hours" value={hours} onChange={(e) => setHours(e.target.value)} inputMode="decimal" aria-invalid={errors.endsAt ? true : undefined} />
            {problem('endsAt')}
          </label>
          <label>
            Comment
            <input aria-label="Comment" value={comment} onChange={(e) => setComment(e.target.value)} aria-invalid={errors.comment ? true : undefined} />
            {problem('comment')}
          </label>
        </div>
        <fieldset className="tags">
          <legend className="muted">Label matchers (all must be equal; the alert's labels plus alertname and severity)</legend>
          {matchers.map((m, i) => (
            <div key={i} className="toolbar">
              <input aria-label={`Matcher label ${i + 1}`} placeholder="label" value={m.key} onChange={(e) => setMatcher(i, { key: e.target.value })} />
              <span>=</span>
              <input aria-label={`Matcher value ${i + 1}`} placeholder="value" value={m.value} onChange={(e) => setMatcher(i, { value: e.target.value })} />
              <button type="button" aria-label={`Remove matcher ${i + 1}`} onClick={() => setMatchers((ms) => ms.filter((_, k) => k !== i))}>
                ✕
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setMatchers((ms) => [...ms, { key: '', value: '' }])}>
            Add matcher
          </button>
          {problem('matchers')}
        </fieldset>
        <div className="toolbar">
          <button type="submit" className="primary">
            Create silence
          </button>
          {error && <span className="field-error">{error}</span>}
        </div>
      </form>
      {silences.isError && (
        <p className="panel-error" role="alert">
          {silences.error.message}
        </p>
      )}
      <table className="data" aria-label="Silences">
        <thead>
          <tr>
            <th>Rule</th>
            <th>Matchers</th>
            <th>From</th>
            <th>Until</th>
            <th>Comment</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(silences.data ?? []).map((s) => (
            <tr key={s.id}>
              <td>{rules.data?.find((r) => r.id === s.ruleId)?.name ?? (s.ruleId ? s.ruleId.slice(0, 8) : 'every rule')}</td>
              <td>
                {Object.entries(s.matchers)
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ')}
              </td>
              <td>{s.startsAt}</td>
              <td>{s.endsAt}</td>
              <td>{s.comment}</td>
              <td>
                <button type="button" onClick={() => void expire(s.id)}>
                  Expire
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
