// What every view of a dashboard derives from the URL and the dashboard's settings:
// the range expressions, refresh, zone and variable selections, and the panel queries
// with variables substituted and the step chosen.
import { useMemo } from 'react';
import type { Dashboard, Panel } from '../api/hooks';
import type { DashboardSearch } from '../router';
import { asTimeZone, type TimeZone } from '../lib/timerange';
import { chooseStep } from '../lib/step';
import { ALL, substitute } from '../lib/variables';
import type { PanelRequest } from './panelData';

export interface Variable {
  name: string;
  label?: string | null;
  metric: string;
  tagKey: string;
  multi?: boolean;
  includeAll?: boolean;
  default?: string[] | null;
}

interface Settings {
  timeRange?: { from?: string; to?: string };
  refresh?: string;
  timeZone?: string;
}

/** The dashboard's variables and settings, present once the server stores them. */
export function extras(d: Dashboard): { variables: Variable[]; settings: Settings } {
  const x = d as Dashboard & { variables?: Variable[]; settings?: Settings };
  return { variables: x.variables ?? [], settings: x.settings ?? {} };
}

export function useViewState(d: Dashboard | undefined, search: DashboardSearch) {
  return useMemo(() => viewStateOf(d, search), [d, search]);
}

/** The view state of a dashboard under a URL's search params (pure). */
export function viewStateOf(d: Dashboard | undefined, search: DashboardSearch) {
  const { variables, settings } = d ? extras(d) : { variables: [], settings: {} as Settings };
  const from = search.from ?? settings.timeRange?.from ?? 'now-6h';
  const to = search.to ?? settings.timeRange?.to ?? 'now';
  const refresh = search.refresh ?? (settings.refresh as DashboardSearch['refresh']) ?? '10s';
  // The dashboard's own zone (`utc`, `browser` or an IANA name) unless the link says.
  const defaultTz = asTimeZone(settings.timeZone);
  const tz: TimeZone = search.tz ?? defaultTz;
  const selected: Record<string, string[]> = {};
  for (const v of variables) {
    const raw = (search as Record<string, unknown>)[`var-${v.name}`];
    if (Array.isArray(raw)) selected[v.name] = raw.map(String);
    else if (typeof raw === 'string') selected[v.name] = [raw];
    else selected[v.name] = v.default && v.default.length > 0 ? v.default : [ALL];
  }
  // `var-<name>` in the URL applies even to a name the dashboard does not define,
  // so a link can narrow a `$name` filter on its own.
  for (const [key, raw] of Object.entries(search as Record<string, unknown>)) {
    const name = key.startsWith('var-') ? key.slice(4) : '';
    if (!name || name in selected) continue;
    if (Array.isArray(raw)) selected[name] = raw.map(String);
    else if (raw !== undefined && raw !== null) selected[name] = [String(raw)];
  }
  return { from, to, refresh, tz, defaultTz, variables, selected };
}

/** Points a panel should get: about one per pixel of a 24-column grid cell span. */
export function maxPointsFor(w: number): number {
  const width = typeof window === 'undefined' ? 1200 : window.innerWidth;
  return Math.max(100, Math.round((width * w) / 24));
}

export function panelRequests(
  panels: readonly Pick<Panel, 'id' | 'query' | 'position'>[],
  rangeMs: number,
  selected: Record<string, string[]>,
): PanelRequest[] {
  return panels.map((p) => {
    const { tags, matchers } = substitute(p.query.tags ?? {}, selected);
    return {
      id: p.id,
      spec: {
        query: p.query.query,
        aggregation: p.query.aggregation,
        step: chooseStep(p.query.step, rangeMs, maxPointsFor(p.position.w)),
        tags,
        groupBy: p.query.groupBy ?? undefined,
        matchers,
      },
    };
  });
}

/**
 * Where the settings dialog of dashboard `id` keeps its edits across an expired
 * session (state/kept.ts); here rather than with the dialog, which loads only in edit
 * mode, as the dashboard page reads it to open the dialog again.
 */
export const settingsKeptKey = (id: string) => `dashboard-settings:${id}`;
