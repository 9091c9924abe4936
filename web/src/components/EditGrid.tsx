// The drag-and-resize grid of edit mode (react-grid-layout). Loaded only when a
// dashboard enters edit mode: viewing draws the same positions with StaticGrid.
import { GridLayout, type Layout } from 'react-grid-layout';
import 'react-grid-layout/css/styles.css';
import type { ReactNode } from 'react';
import { GRID, type GridProps } from './gridConfig';

export default function EditGrid({ width, layout, editing, onStop, items }: GridProps & { editing: boolean; onStop: (layout: Layout) => void; items: { i: string; node: ReactNode }[] }) {
  return (
    <GridLayout
      width={width}
      layout={layout}
      gridConfig={{ cols: GRID.cols, rowHeight: GRID.rowHeight, margin: GRID.margin }}
      dragConfig={{ enabled: editing, handle: '.drag-handle' }}
      resizeConfig={{ enabled: editing }}
      onDragStop={onStop}
      onResizeStop={onStop}
    >
      {items.map(({ i, node }) => (
        <div key={i}>{node}</div>
      ))}
    </GridLayout>
  );
}
