// The grid layout as the server stores it ({i, x, y, w, h}) and the difference between
// two layouts: what a save sends and what a conflict shows. Pure: unit-tested.

export interface LayoutItem {
  i: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LayoutChange {
  i: string;
  before?: LayoutItem;
  after?: LayoutItem;
}

const same = (a: LayoutItem, b: LayoutItem) => a.x === b.x && a.y === b.y && a.w === b.w && a.h === b.h;

export function normalise(items: readonly LayoutItem[]): LayoutItem[] {
  return items
    .map(({ i, x, y, w, h }) => ({ i, x, y, w, h }))
    .sort((a, b) => a.i.localeCompare(b.i));
}

/** Panels moved, resized, added or removed between `before` and `after`. */
export function diffLayout(before: readonly LayoutItem[], after: readonly LayoutItem[]): LayoutChange[] {
  const old = new Map(before.map((item) => [item.i, item]));
  const changes: LayoutChange[] = [];
  for (const item of normalise(after)) {
    const prior = old.get(item.i);
    if (!prior) changes.push({ i: item.i, after: item });
    else if (!same(prior, item)) changes.push({ i: item.i, before: normalise([prior])[0]!, after: item });
    old.delete(item.i);
  }
  for (const gone of normalise([...old.values()])) changes.push({ i: gone.i, before: gone });
  return changes;
}

export function describeChange(change: LayoutChange, title: (id: string) => string): string {
  const name = title(change.i);
  if (!change.before) return `${name} added`;
  if (!change.after) return `${name} removed`;
  const b = change.before;
  const a = change.after;
  const moved = b.x !== a.x || b.y !== a.y;
  const resized = b.w !== a.w || b.h !== a.h;
  const parts = [];
  if (moved) parts.push(`moved from (${b.x}, ${b.y}) to (${a.x}, ${a.y})`);
  if (resized) parts.push(`resized from ${b.w}×${b.h} to ${a.w}×${a.h}`);
  return `${name} ${parts.join(' and ')}`;
}
