// Ad-hoc queries with the dashboard's editor and chart, a table view, and "add to
// dashboard".
import { useState } from 'react';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { notify } from '../state/notify';
import { api, ok } from '../api/client';
import { useDashboards, useMe } from '../api/hooks';
import { PanelView } from '../components/Panel';
import { usePreviewData, type PreviewPanel } from '../components/Preview';
import { QueryEditor, type QueryValue } from '../components/QueryEditor';
import { TimeRangePicker } from '../components/TimeControls';
import { formatTime } from '../lib/timerange';

export function ExplorePage() {
  const search = useSearch({ from: '/explore' });
  const navigate = useNavigate({ from: '/explore' });
  const from = search.from ?? 'now-1h';
  const to = search.to ?? 'now';
  const tz = search.tz ?? 'browser';
  const [query, setQuery] = useState<QueryValue>({
    query: search.metric ?? '',
    aggregation: search.aggregation ?? 'avg',
    tags: search.tags ?? {},
    groupBy: search.groupBy ?? [],
    step: search.step ?? '',
  });
  const [view, setView] = useState<'chart' | 'table'>('chart');
  const [target, setTarget] = useState('');
  const dashboards = useDashboards();
  const me = useMe();
  // Only dashboards the server lets this user add a panel to.
  const targets = (dashboards.data ?? []).filter((d) => me.data && (me.data.role === 'admin' || (me.data.role === 'editor' && d.ownerId === me.data.id)));
  const panel: PreviewPanel = { id: 'explore', title: query.query || 'Explore', type: 'line', options: {}, query };
  const { tick, data } = usePreviewData('explore', panel, from, to, tz);
  const result = data.data?.get('explore');

  const addToDashboard = async () => {
    if (!target) return;
    try {
      await ok(
        api.POST('/api/v1/dashboards/{id}/panels', {
          params: { path: { id: target } },
          body: {
            title: query.query,
            type: 'line',
            query: { query: query.query, aggregation: query.aggregation, tags: query.tags, groupBy: query.groupBy.length ? query.groupBy : null, step: query.step || null },
            options: {},
            position: { x: 0, y: 1000, w: 12, h: 8 },
          },
        }),
      );
      notify.success('Added to the dashboard');
      await navigate({ to: '/d/$id', params: { id: target }, search: {} });
    } catch (e) {
      notify.error(`Could not add the panel: ${(e as Error).message}`);
    }
  };

  return (
    <>
      <div className="toolbar">
        <h1>Explore</h1>
        <span className="spacer" />
        <TimeRangePicker from={from} to={to} tz={tz} error={tick.error} onChange={(f, t) => void navigate({ search: (s) => ({ ...s, from: f, to: t }) })} />
        <button type="button" onClick={tick.refresh}>
          Run query
        </button>
      </div>
      <div className="editor">
        <form onSubmit={(e) => e.preventDefault()} aria-label="Query">
          <QueryEditor
            value={query}
            onChange={(q) => {
              setQuery(q);
              void navigate({
                search: (s) => ({
                  ...s,
                  metric: q.query || undefined,
                  aggregation: q.aggregation,
                  tags: Object.keys(q.tags).length > 0 ? q.tags : undefined,
                  groupBy: q.groupBy.length > 0 ? q.groupBy : undefined,
                  step: q.step || undefined,
                }),
                replace: true,
              });
            }}
            errors={{}}
          />
          {targets.length > 0 && (
            <div className="toolbar">
              <select aria-label="Dashboard" value={target} onChange={(e) => setTarget(e.target.value)}>
                <option value="">Choose a dashboard…</option>
                {targets.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name}
                  </option>
                ))}
              </select>
              <button type="button" disabled={!target || !query.query} onClick={() => void addToDashboard()}>
                Add to dashboard
              </button>
            </div>
          )}
        </form>
        <div>
          <div className="toolbar" role="tablist">
            <button type="button" role="tab" aria-selected={view === 'chart'} onClick={() => setView('chart')}>
              Chart
            </button>
            <button type="button" role="tab" aria-selected={view === 'table'} onClick={() => setView('table')}>
              Table
            </button>
          </div>
          {view === 'chart' ? (
            <div className="preview">
              <PanelView panel={{ ...panel, query: { ...query, step: query.step || null } }} data={result} loading={data.isFetching} range={tick.range} tz={tz} syncKey="explore" />
            </div>
          ) : (
            <table className="data" aria-label="Result">
              <thead>
                <tr>
                  <th>Series</th>
                  <th>Time</th>
                  <th>Value</th>
                </tr>
              </thead>
              <tbody>
                {(result?.series ?? []).flatMap((s) =>
                  s.times.map((t, k) => (
                    <tr key={`${s.key}-${t}`}>
                      <td>{s.key || query.query}</td>
                      <td>{formatTime(t, tz)}</td>
                      <td>{s.values[k]}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          )}
          {result?.error && <p className="panel-error">{result.error.message}</p>}
        </div>
      </div>
    </>
  );
}
