// TanStack Query hooks for the resources the pages read and write.
import { keepPreviousData, queryOptions, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ok, type Schemas } from './client';
import { metricFragment } from '../lib/panelRules';

export type Me = Schemas['Me'];
export type Dashboard = Schemas['Dashboard'];
export type Panel = Schemas['Panel'];
export type PanelInput = Schemas['PanelInput'];
export type DashboardSummary = Schemas['DashboardSummary'];

export const keys = {
  me: ['me'] as const,
  dashboards: ['dashboards'] as const,
  dashboard: (id: string) => ['dashboard', id] as const,
  metrics: ['metrics'] as const,
  tags: (name: string) => ['tags', name] as const,
  rules: ['rules'] as const,
  rule: (id: string) => ['rule', id] as const,
};

export const meQuery = () =>
  queryOptions({
    queryKey: keys.me,
    queryFn: async () => (await ok(api.GET('/api/v1/auth/me'))).data,
    retry: false,
    staleTime: 60_000,
  });

export function useMe() {
  return useQuery(meQuery());
}

// The largest page the server serves by default (`dashboards.max_page_size`); a
// smaller configured bound only means more pages.
const DASHBOARD_PAGE = 200;
// A bound on the pages read, so a server that never reports the end cannot loop us.
const MAX_DASHBOARD_PAGES = 100;

/**
 * Every dashboard the caller can see: the listing is paged (50 by default), and the
 * list page searches by name in the browser, so it needs all of them, not the newest.
 */
export async function allDashboards(): Promise<DashboardSummary[]> {
  // By id: a dashboard created while the pages are read shifts the newest-first order,
  // and one row then arrives on two pages.
  const out = new Map<string, DashboardSummary>();
  for (let page = 1; page <= MAX_DASHBOARD_PAGES; page++) {
    const body = await ok(api.GET('/api/v1/dashboards', { params: { query: { page, pageSize: DASHBOARD_PAGE } } }));
    for (const d of body.data) out.set(d.id, d);
    if (body.data.length === 0 || page * (body.meta.pageSize ?? DASHBOARD_PAGE) >= body.meta.total) break;
  }
  return [...out.values()];
}

export function useDashboards() {
  return useQuery({ queryKey: keys.dashboards, queryFn: allDashboards });
}

export const dashboardQuery = (id: string) =>
  queryOptions({
    queryKey: keys.dashboard(id),
    // The copy fetched while the page loads serves the view's first render; another
    // person's later change is caught by the version check when saving.
    staleTime: 5_000,
    queryFn: async () => (await ok(api.GET('/api/v1/dashboards/{id}', { params: { path: { id } } }))).data,
  });

export function useDashboard(id: string) {
  return useQuery(dashboardQuery(id));
}

/**
 * Metric names for a picker's type-ahead: the server filters by `contains`, so a name
 * past the listing's first page is offered too. Pass the debounced text.
 */
export function useMetricNames(typed = '') {
  const contains = metricFragment(typed);
  return useQuery({
    queryKey: [...keys.metrics, contains],
    queryFn: async () => {
      if (contains === null) return [];
      const query = contains === '' ? {} : { contains };
      return (await ok(api.GET('/api/v1/metrics', { params: { query } }))).data;
    },
    staleTime: 30_000,
    // The options of the previous text stay while the next ones load, so the list
    // does not empty and refill on every keystroke.
    placeholderData: keepPreviousData,
  });
}

export function useMetricTags(name: string) {
  return useQuery({
    queryKey: keys.tags(name),
    queryFn: async () => (await ok(api.GET('/api/v1/metrics/{name}/tags', { params: { path: { name } } }))).data,
    enabled: name.length > 0,
    staleTime: 30_000,
    retry: false,
  });
}

export function useInvalidate() {
  const qc = useQueryClient();
  return (key: readonly unknown[]) => qc.invalidateQueries({ queryKey: key });
}

export { useMutation, useQueryClient };
