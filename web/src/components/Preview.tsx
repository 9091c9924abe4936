// A live panel fed by the same data path as dashboards: used by the panel editor
// and explore.
import { useMemo } from 'react';
import type { Panel } from '../api/hooks';
import { chooseStep } from '../lib/step';
import { isRelative, type TimeZone } from '../lib/timerange';
import { usePanelData } from '../state/panelData';
import { useTick } from '../state/tick';
import { PanelView } from './Panel';
import type { QueryValue } from './QueryEditor';

export type PreviewPanel = Pick<Panel, 'id' | 'title' | 'type' | 'options'> & { query: QueryValue };

export function usePreviewData(scope: string, panel: PreviewPanel, from: string, to: string, tz: TimeZone, selected?: Record<string, string[]>) {
  const tick = useTick(from, to, tz, 0);
  const requests = useMemo(() => {
    if (!tick.range || !panel.query.query.trim()) return [];
    const tags = Object.fromEntries(Object.entries(panel.query.tags).filter(([, v]) => v !== '' && !(selected && v.startsWith('$'))));
    return [
      {
        id: panel.id,
        spec: {
          query: panel.query.query.trim(),
          aggregation: panel.query.aggregation,
          step: chooseStep(panel.query.step || null, tick.range.end - tick.range.start, 800),
          tags,
          groupBy: panel.query.groupBy,
        },
      },
    ];
  }, [panel.id, panel.query, tick.range, selected]);
  const data = usePanelData(scope, requests, tick.range, isRelative(to), tick.seq);
  return { tick, data };
}

export function Preview({ panel, from, to, tz }: { panel: PreviewPanel; from: string; to: string; tz: TimeZone }) {
  const { tick, data } = usePreviewData('preview', panel, from, to, tz);
  const asPanel = { ...panel, query: { ...panel.query, step: panel.query.step || null } };
  return (
    <div className="preview">
      <PanelView
        panel={asPanel}
        data={data.data?.get(panel.id) ?? (data.isError ? { series: [], error: data.error as never } : undefined)}
        loading={data.isFetching}
        range={tick.range}
        tz={tz}
        syncKey="preview"
      />
    </div>
  );
}
