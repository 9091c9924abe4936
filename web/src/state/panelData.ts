// The data of every panel of a view, fetched in one request per tick. When the range
// follows the clock and the batch endpoint is there, a refresh asks each query only
// for its tail (`since`) and merges it into what the panel already holds.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useRef } from 'react';
import type { ApiError } from '../api/client';
import { canIncrement, runQueries, type QueryMeta, type QuerySpec } from '../api/query';
import { heldUpTo, mergeIncremental, toSeries, type Answer, type Series } from '../lib/series';
import type { AbsoluteRange } from '../lib/timerange';
import { takeOpening } from './opening';

export interface PanelRequest {
  id: string;
  spec: Omit<QuerySpec, 'id' | 'since'>;
}

export interface PanelData {
  series: Series[];
  meta?: QueryMeta;
  error?: ApiError;
  request?: unknown;
  response?: unknown;
  /** The window this answer is for: the chart's x axis spans it. */
  range?: AbsoluteRange;
}

interface Held {
  signature: string;
  series: Series[];
}

export function usePanelData(scope: string, requests: PanelRequest[], range: AbsoluteRange | null, relative: boolean, seq: number) {
  const held = useRef(new Map<string, Held>());
  const signature = JSON.stringify(requests);
  return useQuery({
    queryKey: ['panel-data', scope, signature, range?.start, range?.end, seq],
    enabled: range !== null && requests.length > 0,
    placeholderData: keepPreviousData,
    retry: false,
    staleTime: Infinity,
    gcTime: 0,
    queryFn: async ({ signal }) => {
      const r = range!;
      const specs: QuerySpec[] = requests.map((p) => {
        const sig = JSON.stringify(p.spec);
        const prior = held.current.get(p.id);
        const since = relative && canIncrement() && prior?.signature === sig ? heldUpTo(prior.series) : undefined;
        return { id: p.id, ...p.spec, since };
      });
      const opened = seq === 0 ? takeOpening(signature, r) : null;
      const result = await (opened ?? runQueries(specs, r.start, r.end, signal));
      const out = new Map<string, PanelData>();
      for (const spec of specs) {
        const outcome = result.outcomes.get(spec.id);
        const sig = JSON.stringify(requests.find((p) => p.id === spec.id)!.spec);
        if (!outcome) {
          out.set(spec.id, { series: [], request: result.sentFor(spec.id), range: r });
          continue;
        }
        if (outcome.error) {
          held.current.delete(spec.id);
          out.set(spec.id, { series: [], error: outcome.error, request: result.sentFor(spec.id), response: outcome.error.details });
          continue;
        }
        const answer = toSeries((outcome.data ?? []) as Answer);
        const prior = held.current.get(spec.id);
        const series =
          spec.since !== undefined && prior ? mergeIncremental(prior.series, answer, spec.since, r.start) : answer;
        held.current.set(spec.id, { signature: sig, series });
        out.set(spec.id, { series, meta: outcome.meta, request: result.sentFor(spec.id), response: outcome.data, range: r });
      }
      return out;
    },
  });
}
