// The one time-series chart: uPlot created once per panel and fed through setData on
// every refresh, so a refresh never removes the canvas (no flicker).
import { useEffect, useLayoutEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue } from '../lib/units';
import { formatTime, type TimeZone, zoneLabel } from '../lib/timerange';
import type { Series, Threshold } from '../lib/series';
import { useTheme } from '../state/theme';

export type ChartKind = 'line' | 'area' | 'bar';

export const PALETTE = ['#3b82f6', '#22c55e', '#f59e0b', '#ef4444', '#a855f7', '#06b6d4', '#ec4899', '#84cc16'];

interface Props {
  kind: ChartKind;
  series: Series[];
  labels: string[];
  hidden: ReadonlySet<string>;
  unit?: string;
  color?: string;
  thresholds?: Threshold[];
  range: { start: number; end: number };
  tz: TimeZone;
  syncKey: string;
  onZoom?: (start: number, end: number) => void;
  onDrawn?: () => void;
}

/** Joins the series onto one shared, sorted time axis (uPlot's data layout). */
function aligned(series: Series[]): uPlot.AlignedData {
  const times = [...new Set(series.flatMap((s) => s.times))].sort((a, b) => a - b);
  const index = new Map(times.map((t, k) => [t, k]));
  const columns = series.map((s) => {
    const col: (number | null)[] = new Array(times.length).fill(null);
    s.times.forEach((t, k) => (col[index.get(t)!] = s.values[k]!));
    return col;
  });
  return [times.map((t) => t / 1000), ...columns] as uPlot.AlignedData;
}

// Read once per theme: getComputedStyle in every chart's creation would force a style
// recalculation per panel while the dashboard first draws.
const themeColors = new Map<string, string>();
function themeColor(name: string, fallback: string): string {
  const key = `${document.documentElement.dataset.theme ?? ''}|${name}`;
  let v = themeColors.get(key);
  if (v === undefined) {
    v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    themeColors.set(key, v);
  }
  return v || fallback;
}

// Axis and grid colours are looked up at every draw, so a chart redrawn after a theme
// switch takes the new theme's colours without being rebuilt.
const axisStroke = () => themeColor('--fg-muted', '#888');
const grid = () => themeColor('--grid', 'rgba(128,128,128,0.15)');

// After a theme switch the charts redraw when the browser is idle, not inside the
// click: the switch itself only changes CSS variables. One idle callback serves every
// chart, redraws while the idle period lasts and leaves the rest to the next one, so
// a click arriving meanwhile waits for at most one chart's redraw.
const liveCharts = new Set<uPlot>();
const staleCharts = new Set<uPlot>();
let redrawPending = false;
const idle = (fn: (deadline?: IdleDeadline) => void) => (typeof requestIdleCallback === 'function' ? requestIdleCallback(fn, { timeout: 1000 }) : setTimeout(fn, 50));
function redrawStale(deadline?: IdleDeadline) {
  redrawPending = false;
  for (const u of staleCharts) {
    if (deadline && !deadline.didTimeout && deadline.timeRemaining() < 2) break;
    staleCharts.delete(u);
    u.redraw(false, false);
  }
  if (staleCharts.size > 0) {
    redrawPending = true;
    idle(redrawStale);
  }
}
useTheme.subscribe((now, before) => {
  if (now.theme === before.theme) return;
  liveCharts.forEach((u) => staleCharts.add(u));
  if (!redrawPending && staleCharts.size > 0) {
    redrawPending = true;
    idle(redrawStale);
  }
});

/**
 * The tooltip: the time under the cursor and each shown series' value there. The
 * cursor is synced across a dashboard's charts, so every chart shows its own tooltip
 * at the same time (a shared tooltip). Text only, never markup: labels are tag values.
 */
function tooltipHooks(p: Props): uPlot.Hooks.Arrays {
  let tip: HTMLDivElement | null = null;
  return {
    ready: [
      (u) => {
        tip = document.createElement('div');
        tip.className = 'chart-tooltip';
        tip.setAttribute('role', 'tooltip');
        tip.hidden = true;
        u.over.appendChild(tip);
      },
    ],
    setCursor: [
      (u) => {
        if (!tip) return;
        const idx = u.cursor.idx;
        const left = u.cursor.left ?? -1;
        if (idx == null || left < 0) {
          tip.hidden = true;
          return;
        }
        const rows: string[][] = [];
        u.series.forEach((s, k) => {
          if (k === 0 || !s.show) return;
          const v = u.data[k]?.[idx];
          rows.push([String(s.label ?? ''), v == null ? '–' : formatValue(v, p.unit)]);
        });
        const time = document.createElement('div');
        time.className = 'time';
        time.textContent = formatTime(u.data[0][idx]! * 1000, p.tz);
        const lines = rows.map(([label, value]) => {
          const line = document.createElement('div');
          line.textContent = `${label}: ${value}`;
          return line;
        });
        tip.replaceChildren(time, ...lines);
        tip.hidden = false;
        // Right of the cursor in the plot's left half, left of it in the right half: no
        // size is read, so moving over synced charts forces no layout.
        const half = u.bbox.width / uPlot.pxRatio / 2;
        const y = Math.max(0, (u.cursor.top ?? 0) - 10);
        tip.style.transform = left < half ? `translate(${left + 12}px, ${y}px)` : `translate(calc(${left - 12}px - 100%), ${y}px)`;
      },
    ],
  };
}

function buildOptions(p: Props, width: number, height: number): uPlot.Options {
  const fmtTime = (secs: number) => formatTime(secs * 1000, p.tz).slice(11, 16);
  const seriesOpts: uPlot.Series[] = p.labels.map((label, k) => {
    const stroke = k === 0 && p.color ? p.color : PALETTE[k % PALETTE.length]!;
    const s: uPlot.Series = {
      label,
      stroke,
      width: 1.5,
      show: !p.hidden.has(label),
      value: (_u, v) => formatValue(v, p.unit),
      spanGaps: false,
      points: { show: false },
    };
    if (p.kind === 'area') s.fill = `${stroke}33`;
    if (p.kind === 'bar') {
      s.fill = `${stroke}aa`;
      s.paths = uPlot.paths.bars!({ size: [0.8, 40] });
    }
    return s;
  });
  return {
    width,
    height,
    legend: { show: false },
    cursor: {
      sync: { key: p.syncKey, setSeries: false },
      drag: { x: true, y: false, setScale: false },
    },
    scales: { x: { time: true, range: () => [p.range.start / 1000, p.range.end / 1000] } },
    axes: [
      {
        stroke: axisStroke,
        grid: { stroke: grid },
        ticks: { stroke: grid },
        values: (_u, splits) => splits.map(fmtTime),
        label: zoneLabel(p.tz),
        labelSize: 14,
        labelFont: '11px system-ui',
        font: '11px system-ui',
      },
      {
        stroke: axisStroke,
        grid: { stroke: grid },
        ticks: { stroke: grid },
        values: (_u, splits) => splits.map((v) => formatValue(v, p.unit)),
        size: 64,
        font: '11px system-ui',
      },
    ],
    series: [{ value: (_u, v) => (v == null ? '' : formatTime(v * 1000, p.tz)) }, ...seriesOpts],
    hooks: {
      ...tooltipHooks(p),
      draw: [
        (u) => {
          // Thresholds as dashed horizontal lines.
          const ctx = u.ctx;
          for (const t of p.thresholds ?? []) {
            const y = u.valToPos(t.value, 'y', true);
            if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
            ctx.save();
            ctx.strokeStyle = t.color;
            ctx.setLineDash([6, 4]);
            ctx.lineWidth = 1;
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
            ctx.restore();
          }
          p.onDrawn?.();
        },
      ],
      setSelect: [
        (u) => {
          if (u.select.width < 5) return;
          const start = u.posToVal(u.select.left, 'x') * 1000;
          const end = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          p.onZoom?.(Math.round(start), Math.round(end));
        },
      ],
    },
  };
}

export function UPlotChart(props: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;
  // What forces a new chart: a different set of series or a change of look. Data
  // alone never does.
  const shape = JSON.stringify([props.kind, props.labels, props.unit, props.color, props.thresholds, props.tz]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    let u: uPlot | null = null;
    // The chart is created in the first size report, which comes after layout for every
    // panel at once: reading each host's size here would force a layout per panel.
    const resize = new ResizeObserver((entries) => {
      const box = entries[entries.length - 1]!.contentRect;
      const size = { width: Math.max(100, Math.round(box.width)), height: Math.max(60, Math.round(box.height)) };
      if (u) {
        u.setSize(size);
        return;
      }
      const p = latest.current;
      const opts = buildOptions(
        {
          ...p,
          onZoom: (s, e) => latest.current.onZoom?.(s, e),
          onDrawn: () => latest.current.onDrawn?.(),
          get range() {
            return latest.current.range;
          },
        },
        size.width,
        size.height,
      );
      u = new uPlot(opts, aligned(p.series), el);
      liveCharts.add(u);
      plot.current = u;
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      if (u) {
        liveCharts.delete(u);
        staleCharts.delete(u);
        u.destroy();
      }
      plot.current = null;
    };
  }, [shape]);

  // New data only: the range changes with it (it belongs to the answer), and a layout
  // effect draws in the same frame as the rest of the panel (its legend) updates.
  // A different number of series is a new chart (the effect above, which runs after
  // this one), never new data for the old one: uPlot throws when handed fewer columns
  // than it has series (a variable narrowing a grouped panel, a host leaving the window).
  useLayoutEffect(() => {
    const u = plot.current;
    if (!u) return;
    const data = aligned(props.series);
    if (data.length === u.series.length) u.setData(data);
  }, [props.series]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    props.labels.forEach((label, k) => {
      const show = !props.hidden.has(label);
      if (u.series[k + 1]?.show !== show) u.setSeries(k + 1, { show });
    });
  }, [props.hidden, props.labels]);

  return <div ref={host} className="chart" data-testid="chart" />;
}
