// Running a dashboard's queries: one POST to the batch endpoint per refresh (with
// `since` tails when the range follows the clock), or, on a server without it, one
// /api/v1/query per distinct query behind the same function.
import { ApiError, api, errorOf } from './client';
import type { Matcher } from '../lib/variables';

export interface QuerySpec {
  id: string;
  query: string;
  aggregation: string;
  step?: string;
  tags?: Record<string, string>;
  groupBy?: string[];
  matchers?: Matcher[];
  since?: number;
}

export interface QueryMeta {
  tiers?: string[];
  table?: string;
  resolution?: string;
  cached?: boolean;
  step?: string;
  since?: number;
  [k: string]: unknown;
}

export type QueryOutcome =
  | { id: string; data: unknown; meta: QueryMeta; error?: undefined }
  | { id: string; error: ApiError; data?: undefined; meta?: undefined };

export interface BatchResult {
  outcomes: Map<string, QueryOutcome>;
  /** What was sent, for panel inspect. */
  request: unknown;
  /** What was sent for one query: the shared range with that query's fields. */
  sentFor: (id: string) => unknown;
  batched: boolean;
}

let batchAvailable: boolean | null = null;

function singleBody(q: QuerySpec, start: number, end: number) {
  const body: Record<string, unknown> = { query: q.query, aggregation: q.aggregation, start, end };
  if (q.step) body.step = q.step;
  if (q.tags && Object.keys(q.tags).length > 0) body.tags = q.tags;
  if (q.groupBy && q.groupBy.length > 0) body.groupBy = q.groupBy;
  if (q.matchers && q.matchers.length > 0) body.matchers = q.matchers;
  return body;
}

async function runSingles(queries: QuerySpec[], start: number, end: number, signal?: AbortSignal): Promise<BatchResult> {
  // Identical queries are sent once.
  const distinct = new Map<string, Promise<QueryOutcome>>();
  const outcomes = new Map<string, QueryOutcome>();
  const requests: unknown[] = [];
  const sent = new Map<string, unknown>();
  await Promise.all(
    queries.map(async (q) => {
      const body = singleBody(q, start, end);
      const key = JSON.stringify(body);
      sent.set(q.id, body);
      if (!distinct.has(key)) {
        requests.push(body);
        distinct.set(
          key,
          (async (): Promise<QueryOutcome> => {
            const r = await fetch('/api/v1/query', {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: key,
              credentials: 'same-origin',
              signal,
            });
            const json = await r.json().catch(() => null);
            if (!r.ok) return { id: q.id, error: await errorOf(r, json) };
            return { id: q.id, data: json.data, meta: json.meta ?? {} };
          })(),
        );
      }
      const outcome = await distinct.get(key)!;
      outcomes.set(q.id, { ...outcome, id: q.id } as QueryOutcome);
    }),
  );
  return { outcomes, request: requests, sentFor: (id) => sent.get(id), batched: false };
}

export async function runQueries(queries: QuerySpec[], start: number, end: number, signal?: AbortSignal): Promise<BatchResult> {
  if (queries.length === 0) return { outcomes: new Map(), request: null, sentFor: () => undefined, batched: batchAvailable === true };
  if (batchAvailable === false) return runSingles(queries.map(({ since: _s, ...q }) => q), start, end, signal);
  const request = {
    start,
    end,
    queries: queries.map((q) => ({ id: q.id, ...singleBody(q, start, end), start: undefined, end: undefined, since: q.since })),
  };
  const r = await fetch('/api/v1/query/batch', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
    credentials: 'same-origin',
    signal,
  });
  if (r.status === 404 || r.status === 405) {
    batchAvailable = false;
    return runSingles(queries.map(({ since: _s, ...q }) => q), start, end, signal);
  }
  const json = await r.json().catch(() => null);
  if (!r.ok) throw await errorOf(r, json);
  batchAvailable = true;
  const outcomes = new Map<string, QueryOutcome>();
  for (const item of (json?.data ?? []) as { id: string; data?: unknown; meta?: QueryMeta; error?: { error: string; code: string; details?: unknown } }[]) {
    if (item.error) outcomes.set(item.id, { id: item.id, error: new ApiError(200, item.error.code, item.error.error, item.error.details) });
    else outcomes.set(item.id, { id: item.id, data: item.data, meta: item.meta ?? {} });
  }
  const sentFor = (id: string) => {
    const q = request.queries.find((x) => x.id === id);
    return q && { ...q, start, end };
  };
  return { outcomes, request, sentFor, batched: true };
}

/** Whether the last call could use the batch endpoint (and so `since` tails). */
export function canIncrement(): boolean {
  return batchAvailable === true;
}

export { api };
