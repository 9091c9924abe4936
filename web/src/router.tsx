// Every page and its URL state. Search params are validated with zod, so the time
// range, refresh, time zone and variables of a dashboard are typed URL state.
import { createRootRoute, createRoute, createRouter, redirect } from '@tanstack/react-router';
import { z } from 'zod';
import { Shell } from './pages/Shell';
import { LoginPage } from './pages/Login';
import { DashboardsPage } from './pages/Dashboards';
import { DashboardPage } from './pages/Dashboard';
import { PanelEditorPage } from './pages/PanelEditorPage';
import { ExplorePage } from './pages/Explore';
import { AlertsPage, RuleFormPage, HistoryPage, SilencesPage } from './pages/Alerts';
import { AdminHealthPage, AdminTokensPage, AdminUsersPage } from './pages/Admin';

const rootRoute = createRootRoute({ component: Shell });

const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/login',
  validateSearch: z.object({ redirect: z.string().optional() }),
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
  validateSearch: z.object({ q: z.string().optional() }),
  component: DashboardsPage,
});

export const REFRESH_CHOICES = ['off', '5s', '10s', '30s', '1m', '5m'] as const;

/** Dashboard URL state; `var-<name>` keys carry variable selections. */
export const dashboardSearch = z.looseObject({
  // An epoch-ms bound arrives as a number when typed into the URL by hand.
  from: z.coerce.string().optional(),
  to: z.coerce.string().optional(),
  refresh: z.enum(REFRESH_CHOICES).optional().catch(undefined),
  tz: z.enum(['utc', 'browser']).optional().catch(undefined),
  kiosk: z.boolean().optional().catch(undefined),
});
export type DashboardSearch = z.infer<typeof dashboardSearch>;

export const dashboardRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/d/$id',
  validateSearch: dashboardSearch,
  component: DashboardPage,
});

export const panelEditorRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/d/$id/panel/$panelId',
  validateSearch: dashboardSearch,
  component: PanelEditorPage,
});

export const exploreRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/explore',
  validateSearch: z.object({
    metric: z.string().optional(),
    aggregation: z.string().optional(),
    from: z.string().optional(),
    to: z.string().optional(),
    tz: z.enum(['utc', 'browser']).optional().catch(undefined),
  }),
  component: ExplorePage,
});

const alertsRoute = createRoute({ getParentRoute: () => rootRoute, path: '/alerts', component: AlertsPage });
export const ruleFormRoute = createRoute({ getParentRoute: () => rootRoute, path: '/alerts/rules/$ruleId', component: RuleFormPage });
const historyRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/alerts/history',
  validateSearch: z.object({ ruleId: z.string().optional(), page: z.number().int().min(0).optional().catch(undefined) }),
  component: HistoryPage,
});
const silencesRoute = createRoute({ getParentRoute: () => rootRoute, path: '/alerts/silences', component: SilencesPage });
const adminRoute = createRoute({ getParentRoute: () => rootRoute, path: '/admin', component: AdminUsersPage });
const adminTokensRoute = createRoute({ getParentRoute: () => rootRoute, path: '/admin/tokens', component: AdminTokensPage });
const adminHealthRoute = createRoute({ getParentRoute: () => rootRoute, path: '/admin/health', component: AdminHealthPage });

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
