// The dashboard grid while viewing: panels placed where react-grid-layout would place
// them (its own vertical compaction and cell arithmetic), without its drag and resize
// machinery, which edit mode loads on demand.
import { useMemo, type ReactNode } from 'react';
import { calcGridItemPosition, getCompactor } from 'react-grid-layout/core';
import { GRID, type GridProps } from './gridConfig';

const compactor = getCompactor('vertical');

export function StaticGrid({ width, layout, items }: GridProps & { items: { i: string; node: ReactNode }[] }) {
  const placed = useMemo(() => {
    const compacted = compactor.compact(
      layout.map((l) => ({ ...l })),
      GRID.cols,
    );
    const params = { margin: GRID.margin, containerPadding: GRID.margin, containerWidth: width, cols: GRID.cols, rowHeight: GRID.rowHeight, maxRows: Infinity };
    const rows = compacted.reduce((m, l) => Math.max(m, l.y + l.h), 0);
    const height = rows * GRID.rowHeight + (rows - 1) * GRID.margin[1] + GRID.margin[1] * 2;
    const at = new Map(compacted.map((l) => [l.i, calcGridItemPosition(params, l.x, l.y, l.w, l.h)]));
    return { at, height };
  }, [layout, width]);
  return (
    <div className="static-grid" style={{ position: 'relative', height: placed.height }}>
      {items.map(({ i, node }) => {
        const p = placed.at.get(i);
        if (!p) return null;
        return (
          <div key={i} className="static-grid-item" style={{ position: 'absolute', transform: `translate(${p.left}px, ${p.top}px)`, width: p.width, height: p.height }}>
            {node}
          </div>
        );
      })}
    </div>
  );
}
