import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { ApiError, setUnauthorizedHandler } from './api/client';
import { dashboardQuery, meQuery } from './api/hooks';
import { dashboardSearch, router } from './router';
import { markSessionLost } from './state/kept';
import { startOpening } from './state/opening';
import { ToastHost } from './components/Toasts';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

// An expired session: back to the login page, which returns here afterwards. Local
// drafts stay in localStorage and open forms keep their edits (state/kept.ts), so
// nothing unsaved is lost.
setUnauthorizedHandler(() => {
  const here = window.location.pathname + window.location.search;
  if (window.location.pathname === '/login') return;
  markSessionLost();
  queryClient.setQueryData(['me'], undefined);
  void router.navigate({ to: '/login', search: { redirect: here } });
});

// Opening a dashboard: the session, the dashboard and then its panels' first answer
// are asked for while the app renders, not after. The dashboard does not wait for the
// session: both are asked for at once, so the panels' query leaves one server round
// trip earlier (a logged-out visit gets a 401 for it too and goes to the login page,
// as it would for the session). The session is handed to the page only once that
// query has left (or after OPENING_WAIT_MS): the page's first full render is the
// longest piece of main-thread work of the visit, and it then overlaps the server's
// answer instead of holding the request back.
const OPENING_WAIT_MS = 300;
const opening = /^\/d\/([^/]+)\/?$/.exec(window.location.pathname);
const openingSent: Promise<unknown> = opening
  ? queryClient
      .fetchQuery(dashboardQuery(decodeURIComponent(opening[1]!)))
      .then((d) => {
        const search = dashboardSearch.safeParse(router.state.location.search);
        if (search.success) startOpening(d, search.data);
      })
      .catch(() => undefined)
  : Promise.resolve();
const me = meQuery();
void queryClient.prefetchQuery({
  ...me,
  queryFn: async (context) => {
    const session = await me.queryFn!(context);
    await Promise.race([openingSent, new Promise((done) => setTimeout(done, OPENING_WAIT_MS))]);
    return session;
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <ToastHost />
    </QueryClientProvider>
  </StrictMode>,
);
