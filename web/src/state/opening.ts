// The first answer of a dashboard being opened, asked for as soon as the dashboard
// itself has arrived, while the page's code is still being evaluated and rendered,
// instead of after the view's first render. The view then starts from the same
// range and takes this answer for its first query when it asks for the same panels.
import type { Dashboard } from '../api/hooks';
import { runQueries, type BatchResult } from '../api/query';
import { resolveRange, type AbsoluteRange } from '../lib/timerange';
import type { DashboardSearch } from '../router';
import { panelRequests, viewStateOf } from './dashboardView';

/** An opening answer not taken by then is left alone (the user went elsewhere). */
const FRESH_MS = 10_000;

interface Opening {
  dashboardId: string;
  /** from, to and zone as the URL gave them. */
  window: string;
  range: AbsoluteRange;
  signature: string;
  result: Promise<BatchResult>;
  at: number;
}

let opening: Opening | null = null;

const windowKey = (from: string, to: string, tz: string) => JSON.stringify([from, to, tz]);

export function startOpening(d: Dashboard, search: DashboardSearch): void {
  const view = viewStateOf(d, search);
  let range: AbsoluteRange;
  try {
    range = resolveRange(view.from, view.to, Date.now(), view.tz);
  } catch {
    return; // the view shows the parse error itself
  }
  const requests = panelRequests(d.panels, range.end - range.start, view.selected);
  if (requests.length === 0) return;
  const result = runQueries(
    requests.map((p) => ({ id: p.id, ...p.spec })),
    range.start,
    range.end,
  );
  // Whoever takes it sees a failure; nobody taking it must not be an unhandled one.
  result.catch(() => undefined);
  opening = { dashboardId: d.id, window: windowKey(view.from, view.to, view.tz), range, signature: JSON.stringify(requests), result, at: Date.now() };
}

/** The range the opening answer is for, to start the view's clock from it. */
export function openingRange(from: string, to: string, tz: string): AbsoluteRange | null {
  if (!opening || Date.now() - opening.at > FRESH_MS || opening.window !== windowKey(from, to, tz)) return null;
  return opening.range;
}

/** The opening answer when a view's first query is exactly the one already sent; once. */
export function takeOpening(signature: string, range: AbsoluteRange): Promise<BatchResult> | null {
  const o = opening;
  opening = null;
  if (!o || Date.now() - o.at > FRESH_MS || o.signature !== signature || o.range.start !== range.start || o.range.end !== range.end) return null;
  return o.result;
}
