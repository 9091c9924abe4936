// The dashboard grid's geometry, shared by the view grid and the edit grid so a panel
// sits on the same pixels in both.
import type { LayoutItem } from '../lib/layout';

export const GRID = { cols: 24, rowHeight: 30, margin: [8, 8] as [number, number] };

export interface GridProps {
  width: number;
  layout: LayoutItem[];
}
