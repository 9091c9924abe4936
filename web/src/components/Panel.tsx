// One panel: a region named by its title whose `data-state` says what it shows
// (loading, painted once the chart has drawn, empty, error).
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Panel as PanelModel } from '../api/hooks';
import type { PanelData } from '../state/panelData';
import { reduce, type Calculation, type Series } from '../lib/series';
import { formatValue } from '../lib/units';
import type { TimeZone } from '../lib/timerange';
import { ErrorBoundary } from './ErrorBoundary';
import { Gauge } from './Gauge';
import { Stat } from './Stat';
import { PALETTE, UPlotChart, type ChartKind } from './UPlotChart';

export type PanelState = 'loading' | 'painted' | 'empty' | 'error';

interface Props {
  panel: Pick<PanelModel, 'id' | 'title' | 'type' | 'query' | 'options'>;
  data: PanelData | undefined;
  loading: boolean;
  /** The x axis when the data carries no window of its own. */
  range: { start: number; end: number } | null;
  tz: TimeZone;
  syncKey: string;
  onZoom?: (start: number, end: number) => void;
  actions?: ReactNode;
}

export function seriesLabel(s: Series, metric: string): string {
  return s.key === '' ? metric : s.key;
}

function Legend({ series, labels, hidden, toggle, unit }: { series: Series[]; labels: string[]; hidden: Set<string>; toggle: (l: string) => void; unit?: string }) {
  return (
    <div className="legend" data-testid="legend">
      <table>
        <thead>
          <tr>
            <th>Series</th>
            <th>Min</th>
            <th>Max</th>
            <th>Mean</th>
            <th>Last</th>
          </tr>
        </thead>
        <tbody>
          {series.map((s, k) => {
            const label = labels[k]!;
            return (
              <tr key={label} className={hidden.has(label) ? 'hidden' : undefined} data-series={label}>
                <td>
                  <button type="button" onClick={() => toggle(label)} aria-pressed={!hidden.has(label)} title="Show or hide this series">
                    <span className="swatch" style={{ background: PALETTE[k % PALETTE.length] }} />
                    {label}
                  </button>
                </td>
                <td data-stat="min">{formatValue(reduce(s.values, 'min'), unit)}</td>
                <td data-stat="max">{formatValue(reduce(s.values, 'max'), unit)}</td>
                <td data-stat="mean">{formatValue(reduce(s.values, 'avg'), unit)}</td>
                <td data-stat="last">{formatValue(reduce(s.values, 'last'), unit)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function PanelBody({ panel, data, range, tz, syncKey, onZoom, onDrawn }: Props & { onDrawn: () => void }) {
  const [hidden, setHidden] = useState<Set<string>>(() => new Set());
  const series = useMemo(() => data?.series ?? [], [data]);
  const labels = useMemo(() => series.map((s) => seriesLabel(s, panel.query.query)), [series, panel.query.query]);
  const options = panel.options ?? {};
  const thresholds = options.thresholds ?? undefined;
  const toggle = useCallback((l: string) => {
    setHidden((h) => {
      const next = new Set(h);
      if (next.has(l)) next.delete(l);
      else next.add(l);
      return next;
    });
  }, []);

  if (panel.type === 'stat' || panel.type === 'gauge') {
    const first = series[0];
    const value = first ? reduce(first.values, (options.calculation ?? 'last') as Calculation) : null;
    return (
      <StaticDrawn onDrawn={onDrawn} data={series}>
        {panel.type === 'stat' ? (
          <Stat value={value} values={first?.values ?? []} unit={options.unit ?? undefined} thresholds={thresholds} color={options.color ?? undefined} />
        ) : (
          <Gauge value={value} min={options.min} max={options.max} unit={options.unit ?? undefined} thresholds={thresholds} color={options.color ?? undefined} />
        )}
      </StaticDrawn>
    );
  }
  return (
    <>
      <UPlotChart
        kind={panel.type as ChartKind}
        series={series}
        labels={labels}
        hidden={hidden}
        unit={options.unit ?? undefined}
        color={options.color ?? undefined}
        thresholds={thresholds}
        range={data?.range ?? range ?? { start: 0, end: 1 }}
        tz={tz}
        syncKey={syncKey}
        onZoom={onZoom}
        onDrawn={onDrawn}
      />
      {options.showLegend !== false && <Legend series={series} labels={labels} hidden={hidden} toggle={toggle} unit={options.unit ?? undefined} />}
    </>
  );
}

/** Reports a draw once per new data, as the chart's draw hook does. */
function StaticDrawn({ children, onDrawn, data }: { children: ReactNode; onDrawn: () => void; data: unknown }) {
  useEffect(() => onDrawn(), [data, onDrawn]);
  return <>{children}</>;
}

/**
 * A panel. Memoised: a refresh re-renders only the panels whose answer changed, and a
 * redraw of the chart does not re-render the panel at all: the draw count and its
 * `panel:painted` mark are written straight onto the element. Only the first draw is
 * React state, as it turns `data-state` to `painted`.
 */
export const PanelView = memo(function PanelView(props: Props) {
  const { panel, data, loading } = props;
  const [drawn, setDrawn] = useState(false);
  const [crashed, setCrashed] = useState(false);
  const section = useRef<HTMLElement>(null);
  const draws = useRef(0);
  const hasPoints = (data?.series ?? []).some((s) => s.times.length > 0);
  const onDrawn = useCallback(() => {
    draws.current++;
    const el = section.current;
    if (!el) return;
    el.setAttribute('data-draws', String(draws.current));
    // The first draw is marked once the element says `painted` (the effect below).
    if (el.getAttribute('data-state') === 'painted') performance.mark(`panel:painted:${panel.id}`);
    else setDrawn(true);
  }, [panel.id]);

  let state: PanelState;
  if (crashed || data?.error) state = 'error';
  else if (!data) state = loading ? 'loading' : 'empty';
  else if (!hasPoints) state = 'empty';
  else state = drawn ? 'painted' : 'loading';

  useLayoutEffect(() => {
    if (state === 'painted') performance.mark(`panel:painted:${panel.id}`);
  }, [state, panel.id]);

  return (
    <section ref={section} className="panel" aria-label={panel.title} data-state={state} data-draws={draws.current} data-panel-id={panel.id}>
      <header>
        <span className="title drag-handle">{panel.title}</span>
        {props.actions}
      </header>
      <div className="body">
        {data?.error ? (
          <div className="panel-error" role="alert">
            {data.error.message}
          </div>
        ) : (
          <ErrorBoundary onError={() => setCrashed(true)}>
            {/* No chart before the first answer: it would be built for no series and rebuilt
                for the real ones, and building it delays the request itself. */}
            {!data ? null : !hasPoints ? <div className="empty">No data in this range</div> : <PanelBody {...props} onDrawn={onDrawn} />}
          </ErrorBoundary>
        )}
        {!data && loading && <div className="loading-overlay">Loading…</div>}
      </div>
    </section>
  );
});
