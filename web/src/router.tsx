// Every page and its URL state. Search params are validated with zod (its tree-shaken
// `mini` build), so the time range, refresh, time zone and variables of a dashboard
// are typed URL state. Pages load with their route: opening a dashboard downloads and
// evaluates neither the panel editor, alerts, admin, explore nor the grid editor.
import { createRootRoute, createRoute, createRouter, lazyRouteComponent, redirect } from '@tanstack/react-router';
import * as z from 'zod/mini';
import { Shell } from './pages/Shell';
import { LoginPage } from './pages/Login';

// The dashboard page is preloaded by index.html (vite.config.ts), so its chunk is
// fetched alongside the entry rather than after it.
const loadDashboard = () => import('./pages/Dashboard');
const loadAlerts = () => import('./pages/Alerts');
const loadAdmin = () => import('./pages/Admin');

const rootRoute = createRootRoute({ component: Shell });

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/login',
  validateSearch: z.object({ redirect: z.optional(z.string()) }),
  component: LoginPage,
});

const indexRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/',
  beforeLoad: () => {
    throw redirect({ to: '/dashboards' });
  },
});

const dashboardsRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/dashboards',
  validateSearch: z.object({ q: z.optional(z.string()) }),
  component: lazyRouteComponent(() => import('./pages/Dashboards'), 'DashboardsPage'),
});

export const REFRESH_CHOICES = ['off', '5s', '10s', '30s', '1m', '5m'] as const;

/** Dashboard URL state; `var-<name>` keys carry variable selections. */
export const dashboardSearch = z.looseObject({
  // An epoch-ms bound arrives as a number when typed into the URL by hand.
  from: z.optional(z.coerce.string()),
  to: z.optional(z.coerce.string()),
  refresh: z.catch(z.optional(z.enum(REFRESH_CHOICES)), undefined),
  tz: z.catch(z.optional(z.enum(['utc', 'browser'])), undefined),
  kiosk: z.catch(z.optional(z.boolean()), undefined),
});
export type DashboardSearch = z.infer<typeof dashboardSearch>;

export const dashboardRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/d/$id',
  validateSearch: dashboardSearch,
  component: lazyRouteComponent(loadDashboard, 'DashboardPage'),
});

export const panelEditorRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/d/$id/panel/$panelId',
  validateSearch: dashboardSearch,
  component: lazyRouteComponent(() => import('./pages/PanelEditorPage'), 'PanelEditorPage'),
});

export const exploreRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/explore',
  validateSearch: z.object({
    metric: z.optional(z.string()),
    aggregation: z.optional(z.string()),
    // The rest of the query, so a reload or a copied link shows the same one.
    tags: z.catch(z.optional(z.record(z.string(), z.string())), undefined),
    groupBy: z.catch(z.optional(z.array(z.string())), undefined),
    step: z.catch(z.optional(z.string()), undefined),
    from: z.optional(z.string()),
    to: z.optional(z.string()),
    tz: z.catch(z.optional(z.enum(['utc', 'browser'])), undefined),
  }),
  component: lazyRouteComponent(() => import('./pages/Explore'), 'ExplorePage'),
});

const alertsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/alerts', component: lazyRouteComponent(loadAlerts, 'AlertsPage') });
export const ruleFormRoute = createRoute({ getParentRoute: () => rootRoute, path: '/alerts/rules/$ruleId', component: lazyRouteComponent(loadAlerts, 'RuleFormPage') });
const historyRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/alerts/history',
  validateSearch: z.object({
    ruleId: z.optional(z.string()),
    page: z.catch(z.optional(z.int().check(z.minimum(0))), undefined),
    // Bounds of the events listed (RFC 3339, as the history API takes them); an
    // unreadable one in a hand-edited link is dropped rather than failing the page.
    from: z.catch(z.optional(z.iso.datetime({ offset: true })), undefined),
    to: z.catch(z.optional(z.iso.datetime({ offset: true })), undefined),
  }),
  component: lazyRouteComponent(loadAlerts, 'HistoryPage'),
});
const silencesRoute = createRoute({ getParentRoute: () => rootRoute, path: '/alerts/silences', component: lazyRouteComponent(loadAlerts, 'SilencesPage') });
const adminRoute = createRoute({ getParentRoute: () => rootRoute, path: '/admin', component: lazyRouteComponent(loadAdmin, 'AdminUsersPage') });
const adminTokensRoute = createRoute({ getParentRoute: () => rootRoute, path: '/admin/tokens', component: lazyRouteComponent(loadAdmin, 'AdminTokensPage') });
const adminHealthRoute = createRoute({ getParentRoute: () => rootRoute, path: '/admin/health', component: lazyRouteComponent(loadAdmin, 'AdminHealthPage') });

const routeTree = rootRoute.addChildren([
  loginRoute,
  indexRoute,
  dashboardsRoute,
  dashboardRoute,
  panelEditorRoute,
  exploreRoute,
  alertsRoute,
  historyRoute,
  silencesRoute,
  ruleFormRoute,
  adminRoute,
  adminTokensRoute,
  adminHealthRoute,
]);

export const router = createRouter({ routeTree, defaultPreload: false });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}
