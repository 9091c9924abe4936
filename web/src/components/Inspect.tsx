// Panel inspect: the request sent, the answer, the meta (tiers, cache), and a CSV.
import type { PanelData } from '../state/panelData';
import { Dialog } from './Dialog';
import { download } from '../lib/download';

/** The panel's series as CSV; an ungrouped series is named by `metric`. */
export function toCsv(data: PanelData, metric: string): string {
  const rows = ['series,time,value'];
  for (const s of data.series) {
    const name = s.key || metric;
    const label = name.includes(',') || name.includes('"') ? `"${name.replace(/"/g, '""')}"` : name;
    s.times.forEach((t, k) => rows.push(`${label},${new Date(t).toISOString()},${s.values[k]}`));
  }
  return rows.join('\n') + '\n';
}

export function InspectDialog({ title, metric, data, onClose }: { title: string; metric: string; data: PanelData | undefined; onClose: () => void }) {
  return (
    <Dialog
      title={`Inspect: ${title}`}
      onClose={onClose}
      actions={
        <>
          <button type="button" disabled={!data} onClick={() => data && download(`${title.replace(/[^\w.-]+/g, '_')}.csv`, toCsv(data, metric), 'text/csv')}>
            Download CSV
          </button>
          <button type="button" onClick={onClose}>
            Close
          </button>
        </>
      }
    >
      <h3>Meta</h3>
      <pre className="code" data-testid="inspect-meta">{JSON.stringify(data?.meta ?? data?.error?.message ?? null, null, 2)}</pre>
      <h3>Request</h3>
      <pre className="code" data-testid="inspect-request">{JSON.stringify(data?.request ?? null, null, 2)}</pre>
      <h3>Response</h3>
      <pre className="code">{JSON.stringify(data?.response ?? null, null, 2)?.slice(0, 20_000)}</pre>
    </Dialog>
  );
}
